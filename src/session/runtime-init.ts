/**
 * Makes the runtime tree (src/runtime/layout.ts) with its owners and modes.
 * /run is a tmpfs, empty after every boot, and none of the accounts that
 * write there may create it: root does, once at boot and again before every
 * reaper round (`leash runtime init`, from a systemd unit or cron's @reboot
 * and every minute; install.sh runs it at install). Idempotent: an existing
 * directory gets its owner and mode put right; anything else in its place
 * (a symlink, a file) is refused.
 */
import { chmodSync, chownSync, lstatSync, mkdirSync } from 'node:fs';
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

function ensure(path: string, uid: number, gid: number, mode: number): MadeDir {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new LeashError('SESSION_REGISTRY_UNAVAILABLE', `cannot create ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const st = lstatSync(path);
  if (!st.isDirectory()) throw new LeashError('SESSION_REGISTRY_UNAVAILABLE', `${path} exists and is not a directory (a symlink or a file): remove it`);
  chownSync(path, uid, gid);
  chmodSync(path, mode);
  return { path, uid, gid, mode };
}

/** Creates or repairs every directory of the runtime tree; returns what it made. */
export function initRuntime(runtimeDir: string, owners: RuntimeOwners): MadeDir[] {
  const v = owners.verifier ?? { uid: 0, gid: 0 };
  const g = owners.writersGid;
  return [
    ensure(runtimeDir, 0, 0, 0o755),
    ensure(verifyStateDir(runtimeDir), v.uid, v.gid, 0o700),
    ensure(loginsDir(runtimeDir), v.uid, v.gid, 0o700),
    // Group (or anyone) may create files; sticky: nobody removes another's; sessions/ cannot be listed.
    ensure(sessionsDir(runtimeDir), 0, g ?? 0, g === null ? 0o1733 : 0o1730),
    ensure(runningDir(runtimeDir), 0, g ?? 0, g === null ? 0o1777 : 0o1770),
  ];
}
