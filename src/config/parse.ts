import { dirname, join } from 'node:path';
import { LeashError } from '../errors.js';
import { sourceStamp, type CompiledSource } from './compiled-config.js';
import { PROFILE_NAME, leashConfigPath } from './dir.js';
import {
  EXPIRATION_POLICIES,
  ISSUER_URL,
  PRINCIPAL_NAME,
  defaultLeashConfig,
  type ExpirationPolicy,
  type GrantConfig,
  type LeashConfig,
  type ProviderConfig,
} from './types.js';
import { readConfigFile } from '../trust/config-file.js';
import { YamlReader, parseDuration, type YamlNode } from './yaml-reader.js';

const TOP_KEYS = ['providers', 'grants', 'deny', 'audit_log', 'default_profile', 'jwks_cache_dir', 'runtime_dir', 'max_stale', 'recordings_log', 'max_concurrent_commands', 'max_grant_ttl'] as const;
const PROVIDER_KEYS = ['issuer', 'client_id', 'expiration', 'jwks_file'] as const;
const GRANT_KEYS = ['identity', 'issuer', 'principals', 'profile', 'max_session'] as const;

/**
 * Reads and validates <config-dir>/leash.yaml; null when it does not exist.
 * The source stamp is taken before reading, for the compiled cache.
 */
export function loadLeashConfigFromYaml(configDir: string): { config: LeashConfig; source: CompiledSource } | null {
  const file = leashConfigPath(configDir);
  let stamp = 'unreadable';
  try {
    stamp = sourceStamp(file);
  } catch {
    /* readConfigFile below reports why */
  }
  let text: string;
  try {
    text = readConfigFile(file);
  } catch (err) {
    if (err instanceof LeashError && err.code === 'CONFIG_MISSING' && err.message.startsWith(`${file}:`)) return null;
    throw err;
  }
  return { config: parseLeashConfig(file, text), source: { path: file, stamp } };
}

/** Validates leash.yaml's text. Throws one ConfigError (file:line:column: reason) that carries every problem found. */
export function parseLeashConfig(file: string, text: string): LeashConfig {
  return YamlReader.readAll(file, text, (y) => leashConfigFrom(y, file));
}

function leashConfigFrom(y: YamlReader, file: string): LeashConfig {
  const config: LeashConfig = { ...defaultLeashConfig(), file };
  if (y.root === null) return config; // an empty file is all defaults
  const top = y.map(y.root, 'leash.yaml', TOP_KEYS);
  const at = (node: YamlNode): string => `${file}:${y.where(node).line}`;

  const absolute = (node: YamlNode, what: string): string => {
    const p = y.string(node, what);
    if (!p.startsWith('/') || p.includes('\0')) y.fail(node, `${what} must be an absolute path`);
    return p;
  };
  const duration = (node: YamlNode, what: string): number => {
    const s = parseDuration(y.string(node, what));
    if (s === null) y.fail(node, `${what} must be a duration like 30m, 4h, 7d`);
    return s;
  };

  const providers = top.get('providers');
  if (providers) {
    for (const [i, node] of y.seq(providers.value, 'providers').entries()) {
      const what = `providers[${i}]`;
      const m = y.map(node, what, PROVIDER_KEYS, ['issuer', 'client_id', 'expiration']);
      const expiration = y.string(m.get('expiration')!.value, `${what}.expiration`);
      if (!(EXPIRATION_POLICIES as readonly string[]).includes(expiration)) {
        y.fail(m.get('expiration')!.value, `${what}.expiration must be one of ${EXPIRATION_POLICIES.join(', ')}`);
      }
      const issuer = y.string(m.get('issuer')!.value, `${what}.issuer`);
      if (!ISSUER_URL.test(issuer)) y.fail(m.get('issuer')!.value, `${what}.issuer must be an https URL`);
      if (config.providers.some((p) => p.issuer === issuer)) y.fail(m.get('issuer')!.value, `${what}: issuer ${issuer} is listed twice`);
      const provider: ProviderConfig = {
        issuer,
        clientId: y.string(m.get('client_id')!.value, `${what}.client_id`),
        expiration: expiration as ExpirationPolicy,
        source: at(node),
      };
      const jwks = m.get('jwks_file');
      if (jwks) provider.jwksFile = absolute(jwks.value, `${what}.jwks_file`);
      config.providers.push(provider);
    }
  }

  const grants = top.get('grants');
  if (grants) {
    for (const [i, node] of y.seq(grants.value, 'grants').entries()) {
      const what = `grants[${i}]`;
      const m = y.map(node, what, GRANT_KEYS, ['identity', 'issuer', 'principals', 'profile']);
      const principals = y.strings(m.get('principals')!.value, `${what}.principals`);
      if (principals.length === 0) y.fail(m.get('principals')!.value, `${what}.principals must name at least one local user`);
      for (const p of principals) if (!PRINCIPAL_NAME.test(p)) y.fail(m.get('principals')!.value, `${what}.principals: "${p}" is not a valid local user name`);
      const profile = y.string(m.get('profile')!.value, `${what}.profile`);
      if (!PROFILE_NAME.test(profile)) y.fail(m.get('profile')!.value, `${what}.profile must match ${PROFILE_NAME.source}`);
      const grant: GrantConfig = {
        identity: y.string(m.get('identity')!.value, `${what}.identity`),
        issuer: y.string(m.get('issuer')!.value, `${what}.issuer`),
        principals,
        profile,
        source: at(node),
      };
      const max = m.get('max_session');
      if (max) grant.maxSession = duration(max.value, `${what}.max_session`);
      config.grants.push(grant);
    }
  }

  const deny = top.get('deny');
  if (deny && deny.value !== null) {
    const m = y.map(deny.value, 'deny', ['identities', 'users']);
    const ids = m.get('identities');
    if (ids) config.deny.identities = y.strings(ids.value, 'deny.identities');
    const users = m.get('users');
    if (users) config.deny.users = y.strings(users.value, 'deny.users');
  }

  const audit = top.get('audit_log');
  if (audit) config.auditLog = absolute(audit.value, 'audit_log');
  const cache = top.get('jwks_cache_dir');
  if (cache) config.jwksCacheDir = absolute(cache.value, 'jwks_cache_dir');
  const runtime = top.get('runtime_dir');
  if (runtime) config.runtimeDir = absolute(runtime.value, 'runtime_dir');
  const stale = top.get('max_stale');
  if (stale) config.maxStale = duration(stale.value, 'max_stale');
  // Sessions and CA mode (docs/sessions.md, docs/ca.md).
  const recordings = top.get('recordings_log');
  config.recordingsLog = recordings ? absolute(recordings.value, 'recordings_log') : join(dirname(config.auditLog), 'recordings.jsonl');
  const concurrent = top.get('max_concurrent_commands');
  if (concurrent) {
    const n = y.int(concurrent.value, 'max_concurrent_commands');
    if (n < 1 || n > 1000) y.fail(concurrent.value, 'max_concurrent_commands must be a whole number from 1 to 1000');
    config.maxConcurrentCommands = n;
  }
  const ttl = top.get('max_grant_ttl');
  if (ttl) config.maxGrantTtl = duration(ttl.value, 'max_grant_ttl');
  const def = top.get('default_profile');
  if (def) {
    const name = y.string(def.value, 'default_profile');
    if (!PROFILE_NAME.test(name)) y.fail(def.value, `default_profile must match ${PROFILE_NAME.source}`);
    config.defaultProfile = name;
  }
  return config;
}
