/**
 * The revocation list: `<config-dir>/revoked.json`, written only by `leash
 * revoke` / `leash unrevoke` (root, atomic replace), read by `leash verify`
 * at every login and by `leash shell` before every command.
 *
 *   {"version":1,"entries":[
 *     {"identity":"alice@example.com","reason":"left","by":"root","at":1767312000,"until":null}, …]}
 *
 * Each entry names exactly one of: session, identity, user, serial (a CA
 * certificate serial, decimal), key (a SHA256:… key fingerprint). `until`
 * (unix seconds) ends it by itself; null means until unrevoked.
 *
 * Fail closed: an absent file means nothing is revoked (a fresh install), but
 * a file that is present and unsafe, unreadable, too large or malformed in
 * any way makes readRevocations throw, and callers refuse everyone.
 */
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { PRINCIPAL_NAME } from '../config/types.js';
import { LeashError } from '../errors.js';
import { identityNamed, namedIdentity } from './identity-label.js';
import { SESSION_NAME } from './session-name.js';
import { readConfigFile } from '../trust/config-file.js';
import { writeFileAtomic } from '../trust/atomic-write.js';

export const REVOCATIONS_FILE = 'revoked.json';

export const REVOCATION_KINDS = ['session', 'identity', 'user', 'serial', 'key'] as const;
export type RevocationKind = (typeof REVOCATION_KINDS)[number];

export interface Revocation {
  kind: RevocationKind;
  value: string;
  reason: string;
  /** Who ran `leash revoke`. */
  by: string;
  /** Unix seconds. */
  at: number;
  /** Unix seconds, or null: until unrevoked. */
  until: number | null;
}

/** What is being checked: a login (no session yet for an unknown one) or a command of a session. */
export interface RevocationSubject {
  session?: string | undefined;
  identity?: string | undefined;
  user?: string | undefined;
}

/** The value rule of each kind but identity (identity-label.ts): nothing else is ever stored, so nothing else can be matched. */
const VALUE: Record<Exclude<RevocationKind, 'identity'>, RegExp> = {
  session: SESSION_NAME,
  user: PRINCIPAL_NAME,
  serial: /^[1-9][0-9]{0,19}$/,
  key: /^SHA256:[A-Za-z0-9+/]{43}$/,
};
const ENTRY_KEYS = new Set(['reason', 'by', 'at', 'until', ...REVOCATION_KINDS]);
/** Longest reason kept (it is operator text, but it is printed and logged). */
export const MAX_REASON_CHARS = 500;
const MAX_SERIAL = 2n ** 64n - 1n;

export function revocationsPath(configDir: string): string {
  return join(configDir, REVOCATIONS_FILE);
}

/**
 * A value for its kind, in the form it is kept and matched in (an identity:
 * identity-label.ts), or why it cannot be one.
 */
export function revocationValue(kind: RevocationKind, text: string): { value: string } | { problem: string } {
  if (kind === 'identity') return namedIdentity(text);
  if (!VALUE[kind].test(text)) return { problem: `${kind} ${JSON.stringify(text.slice(0, 80))} is not a valid ${kind}` };
  if (kind === 'serial' && BigInt(text) > MAX_SERIAL) return { problem: `serial ${text} is larger than 2^64-1` };
  return { value: text };
}

/** Parses the file's text; throws REVOCATIONS_INVALID naming the first problem. */
export function parseRevocations(file: string, text: string): Revocation[] {
  const bad = (why: string): never => {
    throw new LeashError('REVOCATIONS_INVALID', `${file}: ${why}; every login and command is refused until it is fixed`);
  };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return bad(`not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!isObject(doc) || Object.keys(doc).sort().join(',') !== 'entries,version') bad('must be an object with exactly "version" and "entries"');
  const top = doc as Record<string, unknown>;
  if (top['version'] !== 1) bad('version must be 1');
  if (!Array.isArray(top['entries'])) bad('entries must be a list');
  return (top['entries'] as unknown[]).map((e, i) => {
    const where = `entries[${i}]`;
    if (!isObject(e)) return bad(`${where} is not an object`);
    const unknown = Object.keys(e).filter((k) => !ENTRY_KEYS.has(k));
    if (unknown.length > 0) bad(`${where} has unknown field ${JSON.stringify(unknown[0])}`);
    const kinds = REVOCATION_KINDS.filter((k) => k in e);
    if (kinds.length !== 1) bad(`${where} must name exactly one of ${REVOCATION_KINDS.join(', ')}`);
    const kind = kinds[0]!;
    const text = e[kind];
    if (typeof text !== 'string') return bad(`${where}.${kind} must be a string`);
    const checked = revocationValue(kind, text);
    if ('problem' in checked) return bad(`${where}: ${checked.problem}`);
    const { value } = checked;
    const reason = e['reason'];
    const by = e['by'];
    const at = e['at'];
    const until = e['until'];
    if (typeof reason !== 'string' || reason.length > MAX_REASON_CHARS) bad(`${where}.reason must be a string of at most ${MAX_REASON_CHARS} characters`);
    if (typeof by !== 'string' || by.length > 64) bad(`${where}.by must be a short string`);
    if (!isTime(at)) bad(`${where}.at must be unix seconds`);
    if (until !== null && !isTime(until)) bad(`${where}.until must be unix seconds or null`);
    return { kind, value, reason: reason as string, by: by as string, at: at as number, until: until as number | null };
  });
}

/**
 * The list as `leash verify` and `leash shell` see it: [] when the file does
 * not exist; REVOCATIONS_INVALID (and the trust rules' CONFIG_* codes turned
 * into it) when it exists but cannot be trusted or read.
 */
export function readRevocations(configDir: string): Revocation[] {
  const file = revocationsPath(configDir);
  // The common case on the hot path: no list at all (one lstat, not the parents' walk).
  try {
    lstatSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
  }
  let text: string;
  try {
    text = readConfigFile(file);
  } catch (err) {
    if (err instanceof LeashError && err.code === 'CONFIG_MISSING' && err.message.startsWith(`${file}:`)) return [];
    const why = err instanceof LeashError ? err.message : String(err);
    throw new LeashError('REVOCATIONS_INVALID', `${why}; every login and command is refused until it is fixed`);
  }
  return parseRevocations(file, text);
}

/** The entry in force that refuses `subject` at time `now`, or null. */
export function matchRevocation(entries: readonly Revocation[], subject: RevocationSubject, now: number): Revocation | null {
  for (const e of entries) {
    if (e.until !== null && e.until <= now) continue;
    if (e.kind === 'session' && subject.session === e.value) return e;
    if (e.kind === 'identity' && subject.identity !== undefined && identityNamed(e.value, subject.identity)) return e;
    if (e.kind === 'user' && subject.user === e.value) return e;
    // A grant's session id begins with its certificate serial in hex (src/ca/grant.ts).
    if (e.kind === 'serial' && subject.session !== undefined && subject.session.startsWith(serialPrefix(e.value))) return e;
  }
  return null;
}

/** The session-id prefix of a CA grant with this serial: 16 hex digits. */
export function serialPrefix(serial: string | bigint): string {
  return BigInt(serial).toString(16).padStart(16, '0');
}

/** Throws SESSION_REVOKED when an entry refuses `subject`. */
export function assertNotRevoked(entries: readonly Revocation[], subject: RevocationSubject, now: number): void {
  const hit = matchRevocation(entries, subject, now);
  if (hit) {
    const until = hit.until === null ? '' : ` until ${new Date(hit.until * 1000).toISOString()}`;
    throw new LeashError('SESSION_REVOKED', `${hit.kind} ${hit.value} is revoked${until}${hit.reason ? `: ${hit.reason}` : ''}`);
  }
}

/** The file's text for `entries` (one entry per line, so a diff shows each change). */
export function formatRevocations(entries: readonly Revocation[]): string {
  const lines = entries.map((e) => JSON.stringify({ [e.kind]: e.value, reason: e.reason, by: e.by, at: e.at, until: e.until }));
  return `{"version":1,"entries":[${lines.length ? `\n  ${lines.join(',\n  ')}\n` : ''}]}\n`;
}

/** Replaces the list atomically (root:root 0644: verify and every session user must read it). */
export function writeRevocations(configDir: string, entries: readonly Revocation[]): void {
  writeFileAtomic(revocationsPath(configDir), formatRevocations(entries), 0o644);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
