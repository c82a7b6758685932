/**
 * `leash sessions` output: the JSON objects (stable field names, for tools)
 * and the table (for people; every text field escaped, since identities,
 * client addresses and commands may come from the session user).
 */
import { printable } from '../encoding/printable.js';
import { sessionPids, type SessionView } from './registry-read.js';

export interface SessionJson {
  session: string;
  identity: string | null;
  user: string | null;
  profile: string | null;
  client: string | null;
  started: string | null;
  expires: string | null;
  state: string;
  commands: number;
  denied: number;
  pids: number[];
  current: { seq: number | null; command: string | null; pids: number[] }[];
  connection: { monitor: number; pids: number[] } | null;
  source: 'login' | 'claim';
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function sessionJson(v: SessionView): SessionJson {
  return {
    session: v.session,
    identity: v.identity,
    user: v.user,
    profile: v.profile,
    client: v.client,
    started: iso(v.started),
    expires: iso(v.expires === null ? null : v.expires * 1000),
    state: v.state,
    commands: v.commands,
    denied: v.denied,
    pids: sessionPids(v),
    current: v.running.map((r) => ({ seq: r.seq, command: r.command, pids: r.pids })),
    connection: v.connection ? { monitor: v.connection.monitor.pid, pids: v.connection.children.map((c) => c.pid) } : null,
    source: v.source,
  };
}

/** One line per session (and one per running command under it), aligned. */
export function sessionTable(views: readonly SessionView[], nowMs: number): string {
  const head = ['SESSION', 'IDENTITY', 'USER', 'PROFILE', 'CLIENT', 'STARTED', 'EXPIRES', 'STATE', 'CMDS', 'DENIED'];
  const rows = views.map((v) => [
    printable(v.session.slice(0, 12), 48),
    printable(v.identity ?? '-', 64),
    printable(v.user ?? `uid ${v.uid ?? '?'}`, 32),
    printable(v.profile ?? '-', 32),
    printable(v.client ?? '-', 48),
    v.started === null ? '-' : ago(nowMs - v.started),
    v.expires === null ? '-' : ago(nowMs - v.expires * 1000),
    v.state,
    String(v.commands),
    String(v.denied),
  ]);
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(width[i]!)).join('  ').trimEnd();
  const out = [line(head)];
  views.forEach((v, i) => {
    out.push(line(rows[i]!));
    for (const r of v.running) out.push(`    #${r.seq ?? '?'} ${printable(r.command ?? '?', 200)}  (pids ${r.pids.join(' ')})`);
  });
  return `${out.join('\n')}\n`;
}

/** "5m ago" for the past, "in 2h" for the future. */
function ago(deltaMs: number): string {
  const s = Math.round(Math.abs(deltaMs) / 1000);
  const text = s < 90 ? `${s}s` : s < 5400 ? `${Math.round(s / 60)}m` : s < 129600 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86400)}d`;
  return deltaMs >= 0 ? `${text} ago` : `in ${text}`;
}
