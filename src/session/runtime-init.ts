/**
 * Makes the runtime tree (src/runtime/layout.ts) with its owners and modes.
 * /run is a tmpfs, empty after every boot, and none of the accounts that
 * write there may create it: root does, once at boot and again before every
 * reaper round (`leash runtime init`, from a systemd unit or cron's @reboot
 * and every minute; install.sh runs it at install). Idempotent: an existing
 * directory of root's (or of its owner's) gets its owner and mode put right;
 * anything else in its place (a symlink, a file, another account's directory)
 * is refused.
 */
import { closeSync, constants, fchmodSync, fchownSync, fstatSync, lstatSync, mkdirSync, openSync } from 'node:fs';
import { LeashError } from '../errors.js';
import { loginsDir, runningDir, sessionsDir, verifyStateDir } from '../runtime/layout.js';

export interface RuntimeOwners {
  /** The AuthorizedKeysCommandUser's uid and gid (verify/ and logins/); null: root keeps them (no verifier). */
  verifier: { uid: number; gid: number } | null;
  /** The group every session user and the verifier are in (the audit group); null: any account may write (sticky). */
  writersGid: number | null;
}

export interface MadeDir {
  path: string;
  uid: number;
  gid: number;
  mode: number;
}

const refuse = (path: string, why: string): LeashError => new LeashError('SESSION_REGISTRY_UNAVAILABLE', `${path} ${why}`);

/**
 * Makes `path` (or takes the one there) and gives it its owner and mode,
 * through a descriptor of the directory itself: opened without following a
 * symlink, so a name swapped between the checks and the chown (by an account
 * that can write the parent) can never turn root's chown onto another file.
 * A directory root did not make is never adopted: one owned by any account
 * other than root and `uid` is refused, as is anything that is not a directory.
 */
function ensure(path: string, uid: number, gid: number, mode: number): MadeDir {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw refuse(path, `cannot be created: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    throw refuse(path, `exists and is not a directory (a symlink or a file: ${(err as NodeJS.ErrnoException).code ?? String(err)}): remove it`);
  }
  try {
    const st = fstatSync(fd);
    if (st.uid !== 0 && st.uid !== uid) throw refuse(path, `belongs to uid ${st.uid}, not root: another account made it, remove it`);
    fchownSync(fd, uid, gid);
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
  return { path, uid, gid, mode };
}

/** Whether a name is there at all (a dangling symlink is). */
function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Creates or repairs every directory of the runtime tree; returns what it made. */
export function initRuntime(runtimeDir: string, owners: RuntimeOwners): MadeDir[] {
  const v = owners.verifier ?? { uid: 0, gid: 0 };
  const g = owners.writersGid;
  const made = [
    ensure(runtimeDir, 0, 0, 0o755),
    ensure(verifyStateDir(runtimeDir), v.uid, v.gid, 0o700),
    ensure(loginsDir(runtimeDir), v.uid, v.gid, 0o700),
  ];
  // running/ is made while sessions/ is closed, so nobody else can have put
  // that name there first; sessions/ opens only once it exists. (A running/
  // already there is checked like any directory: root's, or refused.)
  if (!present(runningDir(runtimeDir))) ensure(sessionsDir(runtimeDir), 0, 0, 0o700);
  const running = ensure(runningDir(runtimeDir), 0, g ?? 0, g === null ? 0o1777 : 0o1770);
  // The group (or anyone) may create files; sticky: nobody removes another's; sessions/ cannot be listed.
  made.push(ensure(sessionsDir(runtimeDir), 0, g ?? 0, g === null ? 0o1733 : 0o1730), running);
  return made;
}
