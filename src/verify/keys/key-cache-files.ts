import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { readFileChecked } from '../../trust/checked-read.js';
import { unsafeReason } from '../../trust/ownership.js';
import { LeashError } from '../../errors.js';
import { writeFileAtomic } from '../../trust/atomic-write.js';

/** Cache files hold a key set (MAX_RESPONSE_BYTES) plus a few fields; bigger is not ours. */
export const MAX_CACHE_FILE_BYTES = 512 * 1024;

/**
 * Who may have written a cache file or directory: root (e.g. a manual
 * `leash jwks refresh` as root) or the user leash runs as (the
 * AuthorizedKeysCommandUser, which is also the refresh timer's user). Group-
 * or world-writable means anyone else could have put keys there.
 */
function untrustedOwner(path: string, st: { uid: number; mode: number }): string | null {
  return unsafeReason(path, st, process.geteuid?.() ?? -1);
}

/**
 * Whether the cache directory may be used at all. Returns a LeashError
 * (JWKS_CACHE_UNSAFE, or JWKS_CACHE_UNWRITABLE when it is missing) instead of
 * throwing: a bad cache dir degrades to fetching in memory, it never blocks
 * a login on its own.
 */
export function cacheDirProblem(dir: string): LeashError | null {
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    return new LeashError('JWKS_CACHE_UNWRITABLE', `cache directory ${dir}: ${(err as NodeJS.ErrnoException).code ?? 'cannot stat'}`);
  }
  if (!st.isDirectory()) return new LeashError('JWKS_CACHE_UNSAFE', `cache directory ${dir} is not a directory (or is a symbolic link)`);
  const why = untrustedOwner(dir, st);
  return why ? new LeashError('JWKS_CACHE_UNSAFE', why) : null;
}

/**
 * Reads dir/name, or returns null if it does not exist. Opened without
 * following a symlink and checked through the descriptor, so what is checked
 * is what is read. Throws JWKS_CACHE_UNSAFE for anything leash did not write.
 */
export function readCacheFile(dir: string, name: string): string | null {
  const path = join(dir, name);
  return readFileChecked(path, MAX_CACHE_FILE_BYTES, (st) => untrustedOwner(path, st), {
    unsafe: 'JWKS_CACHE_UNSAFE',
    unreadable: 'JWKS_CACHE_UNSAFE',
    tooLarge: 'JWKS_CACHE_UNSAFE',
  });
}

/**
 * Replaces dir/name atomically (see trust/atomic-write.ts), so a concurrent
 * login sees the old set or the new one, never half of it. Throws
 * JWKS_CACHE_UNWRITABLE.
 */
export function writeCacheFileAtomic(dir: string, name: string, text: string): void {
  const path = join(dir, name);
  try {
    writeFileAtomic(path, text, 0o644);
  } catch (err) {
    throw new LeashError('JWKS_CACHE_UNWRITABLE', `cannot write ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}
