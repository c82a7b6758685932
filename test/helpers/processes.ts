/**
 * Looking at real processes from a test: whether one is alive, its children,
 * its /proc/PID/stat fields, and waiting for a condition to hold.
 */
import { readFileSync } from 'node:fs';

/** True while `pid` exists and is not a zombie. */
export function alive(pid: number): boolean {
  try {
    return procStat(pid).state !== 'Z';
  } catch {
    return false;
  }
}

/** The fields of /proc/PID/stat that tests look at (the command name may contain spaces and parentheses). */
export function procStat(pid: number): { comm: string; state: string; ppid: number; pgrp: number; session: number } {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  return { comm: text.slice(text.indexOf('(') + 1, close), state: fields[0] as string, ppid: Number(fields[1]), pgrp: Number(fields[2]), session: Number(fields[3]) };
}

/** The direct children of `pid`. */
export function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Polls `condition` every 20 ms until it holds or `timeoutMs` passes; resolves either way (the caller asserts). */
export async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (condition()) return true;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}
