/**
 * `<config-dir>/revoked.krl` (sshd's RevokedKeys in CA mode), derived from
 * the revocation list every time it changes: what sshd must refuse from the
 * next authentication on, even with leash not running.
 *   - `serial N`           -> serial N (for every CA)
 *   - `session SID` of a grant (32 hex digits) -> the serial its first 16 digits
 *     name (src/ca/grant.ts makes session ids that way)
 *   - `key SHA256:…`       -> that key's hash (the key and all its certificates)
 * Identity and user entries have no KRL form: leash verify and leash shell
 * refuse them.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../trust/atomic-write.js';
import type { Revocation } from '../session/revocations.js';
import { buildKrl, krlVersionOf, type KrlContent } from './krl.js';

export const KRL_FILE = 'revoked.krl';

export function krlPath(configDir: string): string {
  return join(configDir, KRL_FILE);
}

const GRANT_SESSION = /^[0-9a-f]{32}$/;

export function krlContent(entries: readonly Revocation[], now: number): KrlContent {
  const serials: bigint[] = [];
  const keyHashes: Buffer[] = [];
  for (const e of entries) {
    if (e.until !== null && e.until <= now) continue;
    if (e.kind === 'serial') serials.push(BigInt(e.value));
    else if (e.kind === 'session' && GRANT_SESSION.test(e.value)) {
      const serial = BigInt(`0x${e.value.slice(0, 16)}`);
      if (serial > 0n) serials.push(serial);
    } else if (e.kind === 'key') keyHashes.push(Buffer.from(e.value.slice('SHA256:'.length), 'base64'));
  }
  return { serials, keyHashes };
}

/**
 * Rewrites the KRL from `entries` (atomically, root:root 0644, a higher
 * version than the file it replaces). With `create` false it does nothing on
 * a host without one (CA mode not installed).
 */
export function writeKrl(configDir: string, entries: readonly Revocation[], now: number, create = false): boolean {
  const path = krlPath(configDir);
  if (!create && !existsSync(path)) return false;
  const version = krlVersionOf(path) + 1n;
  writeFileAtomic(path, buildKrl(krlContent(entries, now), version, now), 0o644);
  return true;
}
