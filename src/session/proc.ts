import { readFileSync, readdirSync } from 'node:fs';

/**
 * What leash reads about a process from /proc: enough to follow ancestry,
 * find process groups, and tell a process from a later one that got the same
 * pid (`start`, the start time in clock ticks since boot, never repeats for a
 * pid within one boot).
 */
export interface ProcInfo {
  pid: number;
  ppid: number;
  pgrp: number;
  /** Start time since boot, in clock ticks (/proc/PID/stat field 22). */
  start: number;
  /** The kernel's short name (at most 15 bytes; any process can change its own). */
  comm: string;
  /** Real, effective and saved uid (/proc/PID/status). */
  uid: number;
  euid: number;
  suid: number;
  /** Z (zombie) or X (dead): it has exited and only waits to be reaped. */
  exited: boolean;
}

/** One process, or null when it does not exist (or vanished while being read). */
export function readProc(pid: number): ProcInfo | null {
  if (!Number.isSafeInteger(pid) || pid < 1) return null;
  let stat: string;
  let status: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    status = readFileSync(`/proc/${pid}/status`, 'latin1');
  } catch {
    return null;
  }
  return parseProc(pid, stat, status);
}

/**
 * Parses /proc/PID/stat and /proc/PID/status. The name in stat stands in
 * parentheses and may itself contain ") ", so the fields are read after the
 * last ')'.
 */
export function parseProc(pid: number, stat: string, status: string): ProcInfo | null {
  const open = stat.indexOf('(');
  const close = stat.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const f = stat.slice(close + 2).split(' ');
  // f[0] is field 3 (state): field N is f[N - 3].
  const ppid = Number(f[1]);
  const pgrp = Number(f[2]);
  const start = Number(f[19]);
  const uids = /^Uid:\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(status);
  if (!uids || ![ppid, pgrp, start].every(Number.isSafeInteger)) return null;
  return { pid, ppid, pgrp, start, comm: stat.slice(open + 1, close), uid: Number(uids[1]), euid: Number(uids[2]), suid: Number(uids[3]), exited: f[0] === 'Z' || f[0] === 'X' };
}

/**
 * A process's title: the first NUL-separated word of /proc/PID/cmdline,
 * where sshd writes what it is doing ("sshd: alice [priv]"); null when it
 * cannot be read. Any process may write anything there about itself.
 */
export function processTitle(pid: number): string | null {
  try {
    return (readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0] ?? '').trimEnd();
  } catch {
    return null;
  }
}

/** The kernel's USER_HZ: /proc start times count these per second (100 on every architecture Debian runs on). */
export const CLOCK_TICKS_PER_SECOND = 100;

/** When the host booted, unix milliseconds (/proc/stat btime, whole seconds); null when unreadable. */
export function bootTimeMs(): number | null {
  try {
    const m = /^btime\s+(\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'));
    return m ? Number(m[1]) * 1000 : null;
  } catch {
    return null;
  }
}

/** The start time of `pid`, or null when it is not running (an exited, unreaped process is not). */
export function startTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (f[0] === 'Z' || f[0] === 'X') return null;
    const start = Number(f[19]);
    return Number.isSafeInteger(start) ? start : null;
  } catch {
    return null;
  }
}

/** True when `pid` runs and is the process that had start time `start`. */
export function isSameProcess(pid: number, start: number): boolean {
  return startTime(pid) === start;
}

/** Every live process on the host, by pid (a snapshot: processes come and go while it is taken); exited ones are left out. */
export function processTable(): Map<number, ProcInfo> {
  const table = new Map<number, ProcInfo>();
  for (const name of readdirSync('/proc')) {
    if (!/^[1-9][0-9]*$/.test(name)) continue;
    const p = readProc(Number(name));
    if (p && !p.exited) table.set(p.pid, p);
  }
  return table;
}

/** `pid` and every process below it in the table, parents before children. */
export function descendants(table: ReadonlyMap<number, ProcInfo>, pid: number): ProcInfo[] {
  const children = new Map<number, ProcInfo[]>();
  for (const p of table.values()) {
    const list = children.get(p.ppid);
    if (list) list.push(p);
    else children.set(p.ppid, [p]);
  }
  const out: ProcInfo[] = [];
  const root = table.get(pid);
  if (!root) return out;
  const queue = [root];
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p.pid) ?? []));
  }
  return out;
}
