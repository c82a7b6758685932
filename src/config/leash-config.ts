import { join } from 'node:path';
import { DEFAULT_AUDIT_LOG } from '../audit/log.js';
import { LeashError } from '../errors.js';
import { readCompiled, writeCompiled } from './compiled-cache.js';

export const EXPIRATION_POLICIES = ['12h', '24h', '48h', '1week', 'oidc', 'oidc_refreshed', 'never'] as const;
export type ExpirationPolicy = (typeof EXPIRATION_POLICIES)[number];

export interface ProviderConfig {
  issuer: string;
  clientId: string;
  expiration: ExpirationPolicy;
  /** Pinned JWKS file: never fetched (air-gapped hosts). */
  jwksFile?: string;
  /** Where the provider entry came from, for messages: file:line. */
  source: string;
}

export interface GrantConfig {
  /** email, sub, `oidc:<claim>:<value>` or `oidc-match-end:email:<suffix>` */
  identity: string;
  issuer: string;
  principals: string[];
  profile: string;
  /** Seconds; caps the session below the provider's expiry. */
  maxSession?: number;
  source: string;
}

export interface LeashConfig {
  /** The file this came from, or null when absent and defaults apply. */
  file: string | null;
  providers: ProviderConfig[];
  grants: GrantConfig[];
  deny: { identities: string[]; users: string[] };
  auditLog: string;
  defaultProfile?: string;
  jwksCacheDir: string;
  /** Seconds a cached JWKS may be used when the provider is unreachable. */
  maxStale: number;
}

export const DEFAULT_JWKS_CACHE_DIR = '/var/cache/leash';
export const DEFAULT_MAX_STALE = 7 * 86400;

/** Local user names as leash will write them into an authorized_keys line. */
export const PRINCIPAL_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;

export function leashConfigPath(configDir: string): string {
  return join(configDir, 'leash.yaml');
}

/** leash.yaml's settings when the file does not exist (only the shell may run on them). */
export function defaultLeashConfig(): LeashConfig {
  return { file: null, providers: [], grants: [], deny: { identities: [], users: [] }, auditLog: DEFAULT_AUDIT_LOG, jwksCacheDir: DEFAULT_JWKS_CACHE_DIR, maxStale: DEFAULT_MAX_STALE };
}

/**
 * Loads <config-dir>/leash.yaml. `required` decides what a missing file means:
 * the verifier cannot work without providers and grants, while the shell can
 * run on defaults (a host that uses ForceCommand without the verifier). From
 * the compiled cache when it is current (see compiled-cache.ts), otherwise
 * parsed and validated from the YAML.
 */
export async function loadLeashConfig(configDir: string, required: boolean): Promise<LeashConfig> {
  const cached = readCompiled(configDir, 'leash');
  if (cached !== null) return cached as LeashConfig;
  const { loadLeashConfigFromYaml } = await import('./leash-config-parse.js');
  const loaded = loadLeashConfigFromYaml(configDir);
  if (loaded === null) {
    if (required) throw new LeashError('CONFIG_MISSING', `${leashConfigPath(configDir)}: no such file`);
    return defaultLeashConfig();
  }
  return loaded.config;
}

/** Validates leash.yaml and writes its compiled cache (root only). Returns the cache path, or null without a leash.yaml. */
export async function compileLeashConfig(configDir: string): Promise<string | null> {
  const { loadLeashConfigFromYaml } = await import('./leash-config-parse.js');
  const loaded = loadLeashConfigFromYaml(configDir);
  return loaded === null ? null : writeCompiled(configDir, 'leash', [loaded.source], loaded.config);
}

