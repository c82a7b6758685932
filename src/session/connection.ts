/**
 * An SSH connection as /proc shows it. sshd forks, per connection, a
 * privileged monitor (root, "sshd: USER [priv]") and below it the
 * connection's own process, running as the user ("sshd: USER@notty"), which
 * holds the TCP connection and is the parent of every session channel's
 * command (each ControlMaster channel included). Killing the user's process
 * closes the connection; killing only the monitor does not (measured with
 * OpenSSH 9.2). OpenSSH ≥ 9.8 names these processes sshd-session.
 */
import { LeashError } from '../errors.js';
import { bootTimeMs, CLOCK_TICKS_PER_SECOND, processTitle, readProc, type ProcInfo } from './proc.js';

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
 * Whether `p` is the privileged monitor of a connection of `user`: root's
 * sshd process — real and saved uid 0 (its effective uid is the
 * AuthorizedKeysCommandUser's while sshd runs that command) — titled
 * "sshd: USER [priv]" ("sshd-session: USER [priv]" from OpenSSH 9.8), which
 * sshd sets as soon as it knows the user. Neither the listener ("sshd: …
 * [listener] …") nor the connection's own process (the user's) ever is.
 */
export function isMonitorOf(p: ProcInfo, title: string | null, user: string): boolean {
  return p.uid === 0 && p.suid === 0 && isSshd(p) && title === `${p.comm}: ${user} [priv]`;
}

/**
 * The monitor of the connection `leash verify` runs for (sshd runs the
 * AuthorizedKeysCommand as the monitor's child), or null when the parent is
 * no sshd (verify run by hand, or a parent /proc hides). A parent that is
 * an sshd but not recognisably the monitor of `user`'s connection refuses
 * the login (SESSION_REGISTRY_UNAVAILABLE): a login leash cannot find again
 * is one it cannot close.
 */
export function monitorOfParent(ppid: number, user: string, read: (pid: number) => ProcInfo | null = readProc, title: (pid: number) => string | null = processTitle): ProcRef | null {
  const p = read(ppid);
  if (p === null || !isSshd(p)) return null;
  const t = title(p.pid);
  if (!isMonitorOf(p, t, user)) {
    throw new LeashError('SESSION_REGISTRY_UNAVAILABLE', `the parent process ${p.pid} (${JSON.stringify((t ?? '?').slice(0, 80))}, uid ${p.uid}/${p.euid}/${p.suid}) is not the sshd monitor of a connection of ${user}: the login could not be closed later`);
  }
  return { pid: p.pid, start: p.start };
}

/** A connection whose processes are still the ones named, verified against the table. */
export interface LiveConnection {
  monitor: ProcInfo;
  /** The connection's processes running as the session user (normally one; none while it authenticates). */
  children: ProcInfo[];
}

/** The monitor's sshd children that run as `uid` (real and effective), or only `child` when named. */
function userProcesses(monitor: ProcInfo, uid: number, table: ReadonlyMap<number, ProcInfo>, child: ProcRef | null): ProcInfo[] {
  return [...table.values()].filter(
    (p) => p.ppid === monitor.pid && p.uid === uid && p.euid === uid && isSshd(p) && (child === null || (p.pid === child.pid && p.start === child.start)),
  );
}

/**
 * Root's check of a connection the session user claims (its journal) before
 * acting on it: the monitor is still that root-owned sshd process, and the
 * connection's processes are its children that run as `uid` (real and
 * effective). A claim written by the session user therefore never leads
 * root to another user's connection: `uid` is the claimant's own uid. When
 * the claim names the child, only that child counts.
 */
export function verifyConnection(claim: ConnectionRef, uid: number, table: ReadonlyMap<number, ProcInfo>): LiveConnection | null {
  const monitor = table.get(claim.monitor.pid);
  if (!monitor || monitor.start !== claim.monitor.start || monitor.uid !== 0 || !isSshd(monitor)) return null;
  const children = userProcesses(monitor, uid, table, claim.child);
  return children.length > 0 ? { monitor, children } : null;
}

/**
 * sshd's default LoginGraceTime: a connection that has not authenticated
 * within it is dropped, so the AuthorizedKeysCommand of a login runs within
 * it of the monitor's start.
 */
export const LOGIN_GRACE_MS = 120_000;
/** Slack between a process's start (boot time, in whole seconds, plus ticks) and a file's ctime. */
const CLOCK_SLACK_MS = 5_000;

/** What a login entry (logins/, written by the AuthorizedKeysCommandUser) says about its connection. */
export interface LoginClaim {
  monitor: ProcRef;
  user: string;
  /** The entry file's ctime, unix milliseconds: set by the kernel, which its writer cannot move back. */
  written: number;
}

/**
 * Root's check of the verifier's login entry. The entry's writer may be
 * compromised (it is the account that parses hostile certificates), and the
 * entry may name a connection that has not authenticated yet (no user
 * process to check), so it is believed only for the monitor of a connection
 * of the user it names (isMonitorOf: never the listener, nor another user's
 * connection) whose monitor started at most LOGIN_GRACE_MS before the entry
 * was written: the connection was authenticating then.
 */
export function verifyLoginConnection(
  login: LoginClaim,
  uid: number,
  table: ReadonlyMap<number, ProcInfo>,
  title: (pid: number) => string | null = processTitle,
  bootMs: number | null = bootTimeMs(),
): LiveConnection | null {
  const monitor = table.get(login.monitor.pid);
  if (!monitor || monitor.start !== login.monitor.start || bootMs === null || !isMonitorOf(monitor, title(monitor.pid), login.user)) return null;
  const started = bootMs + (monitor.start * 1000) / CLOCK_TICKS_PER_SECOND;
  if (login.written < started - CLOCK_SLACK_MS || login.written > started + LOGIN_GRACE_MS + CLOCK_SLACK_MS) return null;
  return { monitor, children: userProcesses(monitor, uid, table, null) };
}
