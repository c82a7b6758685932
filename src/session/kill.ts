/**
 * Ends a session: its running commands (every process below each leash, and
 * every member of their process groups) and its connection (the session
 * user's sshd process and everything below it, then the monitor if it is
 * still there). Everything gets SIGKILL: nothing the session runs can catch
 * it, delay it or fork past it, because the scan repeats until nothing of
 * the session is left or the deadline passes.
 *
 * Only processes verified against /proc are signalled: the session user's
 * (`view.uid`, real and effective), found below a verified leash or
 * connection, and the connection's root-owned monitor. A claim in the
 * registry can thus never make root signal anything its writer could not
 * signal itself, and a reused pid (other start time) is never signalled.
 */
import type { SessionView } from './registry-read.js';
import { descendants, processTable, type ProcInfo } from './proc.js';

export interface KillResult {
  /** Every pid that got SIGKILL. */
  killed: number[];
  /** True when nothing of the session was left at the end. */
  gone: boolean;
  connectionClosed: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What to kill in the current table: process groups to signal whole, and single processes. */
function targets(view: SessionView, table: ReadonlyMap<number, ProcInfo>, seen: ReadonlyMap<number, number>): { groups: Set<number>; procs: ProcInfo[] } {
  const uid = view.uid;
  const procs = new Map<number, ProcInfo>();
  const mine = (p: ProcInfo): boolean => p.uid === uid && p.euid === uid;
  const add = (p: ProcInfo | undefined): void => {
    if (p && mine(p)) procs.set(p.pid, p);
  };
  for (const r of view.running) {
    const leash = table.get(r.pid);
    if (leash && leash.start === r.start) for (const d of descendants(table, r.pid)) add(d);
  }
  for (const child of view.connection?.children ?? []) {
    const c = table.get(child.pid);
    if (c && c.start === child.start) for (const d of descendants(table, c.pid)) add(d);
  }
  // Processes killed earlier but still there (not yet reaped by their parent) and their re-parented children.
  for (const [pid, start] of seen) {
    const p = table.get(pid);
    if (p && p.start === start) for (const d of descendants(table, pid)) add(d);
  }
  // A process group is killed whole only when every member is the session user's.
  const groups = new Set<number>();
  for (const p of procs.values()) {
    const members = [...table.values()].filter((q) => q.pgrp === p.pgrp);
    if (p.pgrp > 1 && members.length > 0 && members.every(mine)) {
      groups.add(p.pgrp);
      for (const m of members) procs.set(m.pid, m);
    }
  }
  return { groups, procs: [...procs.values()] };
}

function signal(pid: number): boolean {
  try {
    process.kill(pid, 'SIGKILL');
    return true;
  } catch {
    return false; // ESRCH: already gone
  }
}

/** Kills `view`'s commands and connection; gives up at `deadlineMs` (default 900 ms from now). */
export async function killSession(view: SessionView, deadlineMs = Date.now() + 900): Promise<KillResult> {
  const killed = new Set<number>();
  const seen = new Map<number, number>();
  let table: ReadonlyMap<number, ProcInfo> = processTable();
  for (;;) {
    const { groups, procs } = targets(view, table, seen);
    const monitor = view.connection?.monitor;
    const monitorAlive = monitor !== undefined && table.get(monitor.pid)?.start === monitor.start;
    if (procs.length === 0 && !monitorAlive) return { killed: [...killed].sort((a, b) => a - b), gone: true, connectionClosed: view.connection !== null };
    if (Date.now() > deadlineMs) return { killed: [...killed].sort((a, b) => a - b), gone: false, connectionClosed: false };
    // Groups first (one kill(2) reaches every member, even one forked a moment ago), then the rest.
    for (const g of groups) if (signal(-g)) killed.add(g);
    for (const p of procs) {
      seen.set(p.pid, p.start);
      if (signal(p.pid)) killed.add(p.pid);
    }
    // The monitor exits by itself once the user's process is gone; one still there with nothing of the
    // session left (or still authenticating, with no user process yet) is killed: that ends the connection.
    if (monitorAlive && procs.length === 0 && signal(monitor.pid)) killed.add(monitor.pid);
    await sleep(15);
    table = processTable();
  }
}
