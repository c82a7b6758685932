import { readdirSync, readFileSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_CONFIG_DIR, leashConfigPath } from '../config/dir.js';
import { loadLeashConfigFromYaml } from '../config/parse.js';
import { readCompiled } from '../config/compiled-config.js';
import type { GrantConfig, LeashConfig, ProviderConfig } from '../config/types.js';
import { asLeashError, LeashError } from '../errors.js';
import { binaryStatus } from '../policy/binary.js';
import { realFs } from '../policy/fs-view.js';
import { loadProfileFromYaml } from '../policy/parse.js';
import { readFileChecked } from '../trust/checked-read.js';
import { unsafeReason } from '../trust/ownership.js';
import { discoverJwks } from '../verify/keys/discovery.js';
import { MAX_CACHE_FILE_BYTES } from '../verify/keys/key-cache-files.js';
import { FUTURE_SLACK, REFRESH_AGE, cacheFileStem, parseCacheRecord, readPinnedJwks } from '../verify/keys/provider-keys.js';
import { loadOpksshFiles } from '../verify/grants/opkssh-files.js';
import { SETUP, chainFix, checkAuditLog, checkCaKey, checkClock, checkKrl, checkProviderKeys, checkRevocations, checkRuntimeDir, checkSshd, mayAccess, type Account, type CacheFacts, type CheckResult } from './checks.js';

import { caPaths, DEFAULT_CA_DIR } from '../ca/ca-key.js';
import { readKrlVersion } from '../ca/krl.js';
import { loginsDir, runningDir, sessionsDir, verifyStateDir } from '../runtime/layout.js';
import { readRevocations } from '../session/revocations.js';
import { account, appendOnly, chain, groupName, ntpSynchronized, sshdT, stat } from './host-facts.js';

/**
 * Every check of `leash doctor`, in the order printed: this file gathers the
 * facts (host-facts.ts, the configuration, the provider), checks.ts judges
 * them. `selfPath` is the running leash, used when sshd names no
 * AuthorizedKeysCommand.
 */
export async function doctorChecks(configDir: string, selfPath: string): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const add = (r: CheckResult | CheckResult[]): void => void results.push(...(Array.isArray(r) ? r : [r]));

  // sshd, and through it which binary and user sshd really uses.
  const sshdOut = sshdT();
  const sshdTText = sshdOut.ok ? sshdOut.text : '';
  const sshd = checkSshd(sshdOut, configDir, DEFAULT_CONFIG_DIR);
  const bin = sshd.akc?.program ?? selfPath;
  const akcUserName = sshd.akc?.user ?? 'leash';
  const akcUser = account(akcUserName);

  const binary = binaryStatus(bin, realFs);
  add(binary.ok ? { name: 'binary', status: 'ok', detail: `${bin}: root-owned, not group/world-writable, and so is every directory above it` } : { name: 'binary', status: 'fail', detail: binary.detail, fix: binary.code === 'BINARY_MISSING' ? `run ${SETUP}` : chainFix(binary.detail) });
  add(sshd.result);
  if (akcUser === null && sshd.akc) add({ name: 'sshd', status: 'fail', detail: `AuthorizedKeysCommandUser ${akcUserName} does not exist`, fix: `run ${SETUP} (it creates the user)` });

  // leash.yaml (+ opkssh files), with the same trust rules leash verify applies.
  let config: LeashConfig | null = null;
  let providers: ProviderConfig[] = [];
  let grants: GrantConfig[] = [];
  try {
    // The YAML itself, not the compiled cache: the doctor checks what the operator wrote.
    const loaded = loadLeashConfigFromYaml(configDir);
    if (loaded === null) throw new LeashError('CONFIG_MISSING', `${leashConfigPath(configDir)}: no such file`);
    config = loaded.config;
    const migrated = loadOpksshFiles(configDir, config);
    providers = [...config.providers, ...migrated.providers];
    grants = [...config.grants, ...migrated.grants];
    const file = leashConfigPath(configDir);
    const readable = akcUser === null || mayAccess(stat(file)!, akcUser, 4);
    if (!readable) add({ name: 'config', status: 'fail', detail: `${akcUserName} cannot read ${file}`, fix: `chmod 0644 ${file}` });
    else if (migrated.problems.length > 0) add({ name: 'config', status: 'warn', detail: `${file}: ${migrated.problems.join('; ')}` });
    else if (providers.length === 0 || grants.length === 0) add({ name: 'config', status: 'warn', detail: `${file} loads, but has ${providers.length} provider(s) and ${grants.length} grant(s): every login is refused`, fix: `add a provider and a grant to ${file}` });
    else add({ name: 'config', status: 'ok', detail: `${file}: ${providers.length} provider(s), ${grants.length} grant(s)` });
  } catch (err) {
    const e = asLeashError(err);
    add({ name: 'config', status: 'fail', detail: `${e.code}: ${e.message}`, fix: e.code === 'CONFIG_UNSAFE' ? chainFix(e.message) : `fix ${leashConfigPath(configDir)} (leash verify --explain shows the same error), or run ${SETUP} to create it` });
  }

  add(checkPolicies(configDir, grants));

  // Provider keys.
  const now = Math.floor(Date.now() / 1000);
  if (config) {
    const cacheDir = config.jwksCacheDir;
    const st = stat(cacheDir);
    if (st === null || !st.isDirectory || st.isSymlink) add({ name: 'keys cache', status: 'fail', detail: `${cacheDir} is not a directory`, fix: `install -d -o ${akcUserName} -g ${akcUserName} -m 0755 ${cacheDir}` });
    else if (unsafeReason(cacheDir, st, akcUser?.uid) !== null) {
      add({ name: 'keys cache', status: 'fail', detail: `${cacheDir} must be owned by ${akcUserName} and not group/world-writable (uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}): leash ignores it`, fix: `chown ${akcUserName}: ${cacheDir} && chmod 0755 ${cacheDir}` });
    } else if (st.uid !== akcUser?.uid) {
      add({ name: 'keys cache', status: 'warn', detail: `${cacheDir} is owned by root: leash verify (as ${akcUserName}) cannot save the keys it fetches`, fix: `chown ${akcUserName}: ${cacheDir}` });
    } else add({ name: 'keys cache', status: 'ok', detail: `${cacheDir}: owned by ${akcUserName}, mode ${(st.mode & 0o7777).toString(8)}` });
    for (const p of providers) {
      const facts = await providerFacts(p, cacheDir, now);
      add(checkProviderKeys(facts, { now, refreshAge: REFRESH_AGE, maxStale: config.maxStale, akcUid: akcUser?.uid ?? null, akcUser: akcUserName, bin }));
    }

    // The audit log: the verifier's user and every local user a grant names must append.
    const principals = [...new Set(grants.flatMap((g) => g.principals))];
    const writers: Account[] = akcUser ? [akcUser] : [];
    const unknown: string[] = [];
    for (const p of principals) {
      const a = account(p);
      if (a) writers.push(a);
      else unknown.push(p);
    }
    const path = config.auditLog;
    add(
      checkAuditLog({
        path,
        file: stat(path),
        appendOnly: appendOnly(path),
        dirChain: chain(dirname(path)),
        writers,
        unknownPrincipals: unknown,
        groupName: groupName(stat(path)?.gid),
      }),
    );
  }

  // Sessions and CA mode: the runtime tree, the revocation list, sshd's KRL, a CA key kept here.
  if (config) {
    const r = config.runtimeDir;
    add(checkRuntimeDir({ runtimeDir: r, dirs: [r, verifyStateDir(r), loginsDir(r), sessionsDir(r), runningDir(r)].map((d) => [d, stat(d)] as const), akcUid: akcUser?.uid ?? null }, `${bin} --config-dir ${configDir} runtime init --verify-user ${akcUserName}`));
  }
  try {
    add(checkRevocations(null, readRevocations(configDir).length));
  } catch (err) {
    add(checkRevocations(asLeashError(err).message, 0));
  }
  const krl = /^revokedkeys (.+)$/m.exec(sshdTText)?.[1]?.trim();
  if (krl !== undefined && krl !== 'none') {
    let problem: string | null = null;
    try {
      readKrlVersion(readFileSync(krl));
    } catch (err) {
      problem = err instanceof LeashError ? err.message : `cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`;
    }
    add(checkKrl({ path: krl, file: stat(krl), problem }));
  }
  const caKey = caPaths(DEFAULT_CA_DIR).key;
  const ca = checkCaKey(caKey, stat(caKey));
  if (ca) add(ca);

  add(checkClock(now, ntpSynchronized()));

  return results;
}

/** Every profile in policies/ loads (with its trust rules) and its pinned binaries are installed and safe; every granted profile exists. */
function checkPolicies(configDir: string, grants: readonly GrantConfig[]): CheckResult[] {
  const dir = join(configDir, 'policies');
  let names: string[];
  try {
    names = readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => basename(f, '.yaml')).sort();
  } catch (err) {
    return [{ name: 'policies', status: 'fail', detail: `cannot list ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, fix: `run ${SETUP} (it installs the shipped profiles)` }];
  }
  const results: CheckResult[] = [];
  const loaded = new Set<string>();
  for (const name of names) {
    const what = `profile ${name}`;
    try {
      // The YAML itself, not the compiled cache: the doctor checks what the operator wrote.
      const { profile } = loadProfileFromYaml(configDir, name);
      loaded.add(name);
      const unsafe: string[] = [];
      const missing: string[] = [];
      const specs: [string, string][] = [...profile.commands].map(([cmd, spec]) => [cmd, spec.binary]);
      if (profile.sftp) specs.push(['sftp', profile.sftp.binary]);
      for (const [cmd, binary] of specs) {
        const st = binaryStatus(binary, realFs);
        if (st.ok) continue;
        if (st.code === 'BINARY_MISSING') missing.push(cmd);
        else unsafe.push(`${cmd}: ${st.detail}`);
      }
      if (unsafe.length > 0) results.push({ name: what, status: 'fail', detail: `unsafe binaries (denied until fixed): ${unsafe.join('; ')}`, fix: 'make each binary and its directories root-owned and not group/world-writable, or point the profile at a safe one' });
      else results.push({ name: what, status: 'ok', detail: `${specs.length - missing.length} command(s) available${missing.length ? `; not installed here: ${missing.join(', ')}` : ''}` });
    } catch (err) {
      const e = asLeashError(err);
      results.push({ name: what, status: 'fail', detail: `${e.code}: ${e.message}`, fix: e.code === 'CONFIG_UNSAFE' ? chainFix(e.message) : `fix the profile (leash policy check ${join(dir, `${name}.yaml`)})` });
    }
  }
  for (const g of grants) {
    if (!loaded.has(g.profile) && !names.includes(g.profile)) {
      results.push({ name: 'policies', status: 'fail', detail: `${g.source}: grant for ${g.identity} names profile ${g.profile}, which is not in ${dir}`, fix: `create ${join(dir, `${g.profile}.yaml`)} or change the grant` });
    }
  }
  if (names.length === 0) results.push({ name: 'policies', status: 'fail', detail: `no profiles in ${dir}`, fix: `run ${SETUP} (it installs the shipped profiles)` });
  // Without a current compiled cache logins still work, but parse YAML three times per login.
  const stale = [...names.filter((n) => loaded.has(n) && readCompiled(configDir, `policies.${n}`) === null).map((n) => `${n}.yaml`), ...(readCompiled(configDir, 'leash') === null ? ['leash.yaml'] : [])];
  if (stale.length > 0) results.push({ name: 'compiled cache', status: 'warn', detail: `not current for ${stale.join(', ')}: logins parse the YAML (slower)`, fix: `leash --config-dir ${configDir} policy check` });
  else if (names.length > 0) results.push({ name: 'compiled cache', status: 'ok', detail: 'current for leash.yaml and every profile' });
  return results;
}

async function providerFacts(p: ProviderConfig, cacheDir: string, now: number): Promise<CacheFacts> {
  const file = join(cacheDir, `${cacheFileStem(p.issuer)}.json`);
  const facts: CacheFacts = { issuer: p.issuer, file, state: null };
  if (p.jwksFile !== undefined) {
    try {
      facts.pinned = { ok: true, keys: readPinnedJwks(p).length };
    } catch (err) {
      facts.pinned = { ok: false, error: asLeashError(err).message };
    }
    return facts;
  }
  try {
    let owner: Stats | undefined;
    // Any owner is read here; checkProviderKeys judges the owner as leash verify would.
    const text = readFileChecked(file, MAX_CACHE_FILE_BYTES, (st) => ((owner = st), null), { unsafe: 'JWKS_CACHE_UNSAFE', unreadable: 'JWKS_CACHE_UNSAFE', tooLarge: 'JWKS_CACHE_UNSAFE' });
    if (text !== null && owner) facts.state = { ok: true, fetchedAt: parseCacheRecord(text, p.issuer).fetchedAt, uid: owner.uid, mode: owner.mode };
  } catch (err) {
    facts.state = { ok: false, error: err instanceof SyntaxError ? 'not JSON' : err instanceof LeashError ? err.message : 'not a cache file for this issuer' };
  }
  const fresh = facts.state?.ok === true && now - facts.state.fetchedAt <= REFRESH_AGE && now - facts.state.fetchedAt >= -FUTURE_SLACK;
  if (!fresh) {
    try {
      await discoverJwks(p.issuer);
      facts.reachable = { ok: true };
    } catch (err) {
      facts.reachable = { ok: false, error: asLeashError(err).message };
    }
  }
  return facts;
}

