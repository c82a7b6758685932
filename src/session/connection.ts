/**
 * An SSH connection as /proc shows it. sshd forks, per connection, a
 * privileged monitor (root, "sshd: USER [priv]") and below it the
 * connection's own process, running as the user ("sshd: USER@notty"), which
 * holds the TCP connection and is the parent of every session channel's
 * command (each ControlMaster channel included). Killing the user's process
 * closes the connection; killing only the monitor does not (measured with
 * OpenSSH 9.2). OpenSSH ≥ 9.8 names these processes sshd-session.
 */
import { readProc, type ProcInfo } from './proc.js';

export const SSHD_NAMES: readonly string[] = ['sshd', 'sshd-session'];

/** A process named by pid and start time, so a later process with the same pid is never mistaken for it. */
export interface ProcRef {
  pid: number;
  start: number;
}

export interface ConnectionRef {
  /** The privileged monitor (root). */
  monitor: ProcRef;
  /** The connection's process (the session user); null when not known yet (at authentication). */
  child: ProcRef | null;
}

function isSshd(p: ProcInfo): boolean {
  return SSHD_NAMES.includes(p.comm);
}

/**
 * The connection `pid` runs in: walks up from `pid` to the first root-owned
 * sshd process (the monitor); the process just below it on the way is the
 * connection's own. Null when there is no sshd above (leash run by hand or by
 * a test). At most 32 steps.
 */
export function findConnection(pid: number, read: (pid: number) => ProcInfo | null = readProc): ConnectionRef | null {
  let below: ProcInfo | null = null;
  let p = read(pid);
  for (let i = 0; p !== null && i < 32; i++) {
    if (p.uid === 0 && p.euid === 0 && isSshd(p)) {
      return { monitor: { pid: p.pid, start: p.start }, child: below && isSshd(below) ? { pid: below.pid, start: below.start } : null };
    }
    if (p.ppid <= 1) return null;
    below = p;
    p = read(p.ppid);
  }
  return null;
}

/**
 * The monitor process of the AuthorizedKeysCommand's connection: sshd runs
 * the command as a child of the monitor, so it is the parent, if that is a
 * root-owned sshd. Null otherwise (verify run by hand).
 */
export function monitorOfParent(ppid: number, read: (pid: number) => ProcInfo | null = readProc): ProcRef | null {
  const p = read(ppid);
  return p && p.uid === 0 && p.euid === 0 && isSshd(p) ? { pid: p.pid, start: p.start } : null;
}

/** A connection whose processes are still the ones named, verified against the table. */
export interface LiveConnection {
  monitor: ProcInfo;
  /** The connection's processes running as the session user (normally one). */
  children: ProcInfo[];
}

/**
 * Root's check of a connection claim before acting on it: the monitor is
 * still that root-owned sshd process, and the connection's processes are its
 * children that run as `uid` (real and effective). A claim written by the
 * session user therefore never leads root to another user's connection:
 * `uid` is the claimant's own uid. When the claim names the child, only that
 * child counts. `trustedMonitor` (the verifier's login entry, written by the
 * AuthorizedKeysCommandUser) accepts a monitor with no user process yet.
 */
export function verifyConnection(claim: ConnectionRef, uid: number, table: ReadonlyMap<number, ProcInfo>, trustedMonitor = false): LiveConnection | null {
  const monitor = table.get(claim.monitor.pid);
  if (!monitor || monitor.start !== claim.monitor.start || monitor.uid !== 0 || !isSshd(monitor)) return null;
  const children = [...table.values()].filter(
    (p) => p.ppid === monitor.pid && p.uid === uid && p.euid === uid && isSshd(p) && (claim.child === null || (p.pid === claim.child.pid && p.start === claim.child.start)),
  );
  // The verifier's own record may name a connection still authenticating (no user process yet).
  return children.length > 0 || trustedMonitor ? { monitor, children } : null;
}
