/**
 * A complete configuration directory for `leash verify` run as a command
 * (in-process runVerify, or dist/leash as a real user), laid out as
 * install.sh lays out the host, under a root-owned trusted temp dir:
 *
 *   <dir>/leash.yaml        root 0644
 *   <dir>/jwks.json         root 0644, the pinned key set (a localIssuer's), if given
 *   <dir>/cache/            the JWKS cache: owner `cacheOwner` (default root), 0755
 *   <dir>/run/              runtime_dir: root 0755
 *   <dir>/run/verify/       the verifier's state: owner `stateOwner`, 0700 (absent with stateOwner 'none')
 *   <dir>/audit.jsonl       0666 (verify events from whichever user runs it)
 *
 * Needs root. Returns the paths and a reader for the audit events.
 */
import { readFileSync } from 'node:fs';
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Test } from 'tap';
import { leashYaml, type TestGrant } from './leash-yaml.js';
import { trustedTempDir } from './tmp.js';

export interface Owner {
  uid: number;
  gid: number;
}

export interface VerifierConfigOptions {
  issuer: string;
  clientId: string;
  grants: TestGrant[];
  /** The pinned JWK Set text (LocalIssuer.jwksFileText); without it the provider is fetched. */
  jwksFileText?: string;
  expiration?: string;
  denyUsers?: string[];
  /** Who owns <run>/verify; 'none': it does not exist. Default root. */
  stateOwner?: Owner | 'none';
  cacheOwner?: Owner;
  cacheMode?: number;
}

export interface VerifierConfig {
  dir: string;
  audit: string;
  cacheDir: string;
  runtimeDir: string;
  stateDir: string;
  /** Every audit event written so far, parsed. */
  events: () => Record<string, unknown>[];
}

export async function verifierConfig(t: Test, o: VerifierConfigOptions): Promise<VerifierConfig> {
  const tmp = await trustedTempDir('verifier-');
  t.teardown(tmp.cleanup);
  const dir = tmp.path;
  const audit = join(dir, 'audit.jsonl');
  const cacheDir = join(dir, 'cache');
  const runtimeDir = join(dir, 'run');
  const stateDir = join(runtimeDir, 'verify');
  await mkdir(cacheDir, { mode: 0o755 });
  await chown(cacheDir, o.cacheOwner?.uid ?? 0, o.cacheOwner?.gid ?? 0);
  await chmod(cacheDir, o.cacheMode ?? 0o755);
  await mkdir(runtimeDir, { mode: 0o755 });
  await chmod(runtimeDir, 0o755);
  if (o.stateOwner !== 'none') {
    await mkdir(stateDir, { mode: 0o700 });
    await chown(stateDir, o.stateOwner?.uid ?? 0, o.stateOwner?.gid ?? 0);
    await chmod(stateDir, 0o700);
  }
  await writeFile(audit, '', { mode: 0o666 });
  await chmod(audit, 0o666);
  let jwksFile: string | undefined;
  if (o.jwksFileText !== undefined) {
    jwksFile = join(dir, 'jwks.json');
    await writeFile(jwksFile, o.jwksFileText, { mode: 0o644 });
  }
  const yaml = leashYaml({
    issuer: o.issuer,
    clientId: o.clientId,
    grants: o.grants,
    auditLog: audit,
    jwksCacheDir: cacheDir,
    runtimeDir,
    ...(o.expiration === undefined ? {} : { expiration: o.expiration }),
    ...(o.denyUsers === undefined ? {} : { denyUsers: o.denyUsers }),
    ...(jwksFile === undefined ? {} : { jwksFile }),
  });
  await writeFile(join(dir, 'leash.yaml'), yaml, { mode: 0o644 });
  await chmod(join(dir, 'leash.yaml'), 0o644);
  const events = (): Record<string, unknown>[] =>
    readFileSync(audit, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { dir, audit, cacheDir, runtimeDir, stateDir, events };
}
