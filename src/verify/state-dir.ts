import { lstatSync } from 'node:fs';
import { LeashError, asLeashError } from '../errors.js';
import { verifyStateDir } from '../runtime/layout.js';
import { assertTrustedParents } from '../trust/ownership.js';

/**
 * `<runtime_dir>/verify`, the verifier's own state (the memo of sshd's first
 * call, the provider-key fetch throttle), if this process may use it: a real
 * directory (not a symlink) owned by the user leash runs as (sshd's
 * AuthorizedKeysCommandUser) with no permission for group or others, under a
 * `<runtime_dir>` that is root-owned and not group/world-writable all the
 * way up. Then only that user and root can have put anything there. Returns
 * the directory, or VERIFY_STATE_UNUSABLE saying why it must not be used;
 * callers then do without (no memo; no provider-key fetch on the login path,
 * whose throttle lives here). Only lstat calls: this is on the memo's hit path.
 */
export function usableVerifyState(runtimeDir: string, euid: number): { dir: string } | { problem: LeashError } {
  const dir = verifyStateDir(runtimeDir);
  const unusable = (why: string): { problem: LeashError } => ({ problem: new LeashError('VERIFY_STATE_UNUSABLE', `${dir}: ${why}`) });
  try {
    assertTrustedParents(runtimeDir);
  } catch (err) {
    return unusable(asLeashError(err).message);
  }
  let st;
  try {
    st = lstatSync(dir);
  } catch (err) {
    return unusable((err as NodeJS.ErrnoException).code ?? 'cannot stat');
  }
  if (!st.isDirectory()) return unusable('not a directory (or a symbolic link)');
  if (st.uid !== euid) return unusable(`owned by uid ${st.uid}, not by uid ${euid} that leash runs as`);
  if ((st.mode & 0o077) !== 0) return unusable(`mode ${(st.mode & 0o7777).toString(8)} gives group or others access (0700 expected)`);
  return { dir };
}
