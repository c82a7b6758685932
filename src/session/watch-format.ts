/**
 * `leash watch`: one line per audit event for a person at a terminal. Every
 * value is attacker-influenced (identities, commands, certificate fields,
 * recorded output) and goes through printable(): no byte outside printable
 * ASCII reaches the terminal unescaped. Colour only names the event kind.
 */
import { printable } from '../encoding/printable.js';
import { identityNamed } from './identity-label.js';

export interface WatchFilter {
  session?: string | undefined;
  /** As namedIdentity() keeps it (identity-label.ts). */
  identity?: string | undefined;
  user?: string | undefined;
}

export type AuditRecord = Record<string, unknown>;

/** Parses one audit line; null when it is not a JSON object (shown as a warning by the caller). */
export function parseAuditLine(line: string): AuditRecord | null {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as AuditRecord) : null;
  } catch {
    return null;
  }
}

export function matches(e: AuditRecord, f: WatchFilter): boolean {
  return (f.session === undefined || e['session'] === f.session) && (f.identity === undefined || (typeof e['identity'] === 'string' && identityNamed(f.identity, e['identity']))) && (f.user === undefined || e['user'] === f.user);
}

const COLOURS = { red: '\x1b[31m', green: '\x1b[32m', yellow: '\x1b[33m', dim: '\x1b[2m', reset: '\x1b[0m' } as const;

function colourOf(event: string): keyof typeof COLOURS {
  if (/\.(denied|refused|killed|abandoned)$/.test(event)) return 'red';
  if (/\.(timeout|expired|revoked|unrevoked|output_limit)$/.test(event)) return 'yellow';
  if (/\.(allowed|accepted|finished)$/.test(event)) return 'green';
  return 'dim';
}

const text = (v: unknown, max = 300): string => printable(typeof v === 'string' ? v : JSON.stringify(v) ?? '', max);

/** The fields shown in the line's head or body; everything else follows as key=value. */
const SHOWN = new Set(['ts', 'event', 'session', 'identity', 'user', 'seq', 'command', 'reason', 'detail', 'exit', 'duration_ms', 'profile', 'client']);

export function formatEvent(e: AuditRecord, colour: boolean): string {
  const c = (name: keyof typeof COLOURS, s: string): string => (colour ? `${COLOURS[name]}${s}${COLOURS.reset}` : s);
  const event = text(e['event'] ?? '?', 40);
  const ts = typeof e['ts'] === 'string' ? text(e['ts'], 40).replace(/^\d{4}-\d\d-\d\dT/, '').replace(/Z$/, '') : '?';
  const session = typeof e['session'] === 'string' ? text(e['session'], 64).slice(0, 8) : '-';
  const who = `${text(e['identity'] ?? '-', 100)} as ${text(e['user'] ?? '?', 40)}`;
  const parts = [c('dim', ts), c(colourOf(event), event.padEnd(16)), session, who];
  if (e['seq'] !== undefined) parts.push(`#${text(e['seq'], 12)}`);
  if (e['command'] !== undefined) parts.push(`$ ${text(e['command'], 500)}`);
  if (e['exit'] !== undefined) parts.push(`exit ${text(e['exit'], 12)}${e['duration_ms'] !== undefined ? ` (${text(e['duration_ms'], 12)} ms)` : ''}`);
  if (e['reason'] !== undefined && e['reason'] !== 'ALLOWED') parts.push(c(colourOf(event), text(e['reason'], 60)));
  if (e['detail'] !== undefined) parts.push(text(e['detail'], 300));
  const rest = Object.keys(e).filter((k) => !SHOWN.has(k) && e[k] !== undefined && e[k] !== null);
  if (rest.length > 0) parts.push(c('dim', rest.map((k) => `${text(k, 40)}=${text(e[k], 120)}`).join(' ')));
  return parts.join('  ');
}

/** Recorded output, one screen line per output line, under its command. */
export function formatOutput(session: string | null, seq: unknown, stream: string, line: string, colour: boolean): string {
  const head = `    ${text(session ?? '-', 64).slice(0, 8)} #${text(seq ?? '?', 12)} ${stream === 'stderr' ? 'err' : 'out'}|`;
  return `${colour ? `${COLOURS.dim}${head}${COLOURS.reset}` : head} ${printable(line, 2000)}`;
}
