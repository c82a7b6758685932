/**
 * What of the demo still runs: every process of its accounts (their uids
 * were unused when the demo made them, so all that runs as them is the
 * demo's), every process below its sshd, and every process whose command
 * line names the demo's directory (ssh clients, sshd itself, leash verify
 * and leash shell). `sweep()` kills them until none is left.
 */
import { readFileSync } from 'node:fs';
import { descendants, processTable, type ProcInfo } from '../session/proc.js';
import { sleep } from './processes.js';

export interface DemoMarks {
  /** The demo's accounts. */
  uids: readonly number[];
  /** The demo's directory: no other process names it. */
  dir: string;
  /** Processes whose descendants are the demo's too (sshd's listener), with their start times. */
  roots: readonly { pid: number; start: number }[];
  /** leash demo itself, never a leftover. */
  self: number;
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** The demo's processes in a fresh process table. */
export function demoProcesses(m: DemoMarks): ProcInfo[] {
  const table = processTable();
  const found = new Map<number, ProcInfo>();
  for (const r of m.roots) {
    if (table.get(r.pid)?.start === r.start) for (const p of descendants(table, r.pid)) found.set(p.pid, p);
  }
  for (const p of table.values()) {
    if (m.uids.includes(p.uid) || m.uids.includes(p.euid) || commandLine(p.pid).includes(m.dir)) found.set(p.pid, p);
  }
  found.delete(m.self);
  return [...found.values()];
}

/** SIGKILLs the demo's processes until none is left or `timeoutMs` passed; returns what is left, as "pid name" lines. */
export async function sweep(m: DemoMarks, timeoutMs = 5000): Promise<string[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const left = demoProcesses(m);
    if (left.length === 0) return [];
    if (Date.now() > end) return left.map((p) => `${p.pid} ${p.comm}`);
    for (const p of left) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
    await sleep(50);
  }
}
