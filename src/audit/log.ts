import { closeSync, constants, fstatSync, lstatSync, openSync, writeSync } from 'node:fs';
import { TRUNCATED, printable } from '../encoding/printable.js';
import { LeashError } from '../errors.js';

/** Longest command text kept in an event; the rest is cut and marked. */
const MAX_COMMAND_CHARS = 4096;

/**
 * The bounds every event is held to, whatever writes it: client text (a
 * certificate key id, token claims, a command) reaches the log only through
 * here, so no event can forget to cut it. A string is cut at its field's
 * limit (FIELD_CHARS, else DEFAULT_CHARS) and marked; an array keeps its
 * first MAX_ITEMS entries, each bounded the same way, and says how many it
 * dropped. The largest possible line is therefore fixed by the fields the
 * code names, not by anything a client sends.
 */
export const AUDIT_BOUNDS = {
  DEFAULT_CHARS: 1024,
  /** Fields that legitimately carry more: the escaped command, a denial's detail (paths), argv words. */
  FIELD_CHARS: { command: 2 * MAX_COMMAND_CHARS, detail: 4096, argv: 4096 } as Readonly<Record<string, number>>,
  MAX_ITEMS: 256,
  /** Nesting below this is replaced by a marker (events are flat; a pipeline's list of argv lists is two deep). */
  MAX_DEPTH: 4,
} as const;

/** Lists: a pipeline's binaries (strings), its stages' argv (lists of strings), its stages' statuses (numbers). */
export type AuditValue = string | number | boolean | null | readonly AuditValue[] | undefined;
export type AuditEvent = { event: string } & Record<string, AuditValue>;

/**
 * An append-only JSON-lines writer, shared by `leash verify` and `leash
 * shell`. Opening: a path that exists must be a regular file, and it is
 * opened with O_APPEND (so concurrent writers never interleave inside a
 * line: each event is one write(2) of one line), O_NOFOLLOW (never through a
 * symlink), O_NONBLOCK (a FIFO without a reader fails at once instead of
 * blocking the login for ever) and O_NOCTTY, then checked again through the
 * descriptor. Writing: every field bounded (AUDIT_BOUNDS), and the line is
 * printable ASCII only (non-ASCII as JSON \u escapes), so `tail -f` of the
 * log cannot be driven by escape sequences and a line never splits. Any
 * failure throws AUDIT_UNWRITABLE: callers treat that as "run nothing".
 */
export class AuditLog {
  readonly path: string;
  private fd: number;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.fd = fd;
  }

  static open(path: string): AuditLog {
    // Judged before opening too: opening a device or a FIFO can itself have effects.
    let existing;
    try {
      existing = lstatSync(path);
    } catch {
      existing = null; // absent (created below), or the open reports why not
    }
    if (existing !== null && !existing.isFile()) throw new LeashError('AUDIT_UNWRITABLE', `audit log ${path} is not a regular file`);
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY, 0o640);
    } catch (err) {
      throw new LeashError('AUDIT_UNWRITABLE', `cannot open audit log ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if (!fstatSync(fd).isFile()) {
      closeSync(fd);
      throw new LeashError('AUDIT_UNWRITABLE', `audit log ${path} is not a regular file`);
    }
    return new AuditLog(path, fd);
  }

  write(event: AuditEvent): void {
    const line = Buffer.from(`${auditLine(event, new Date())}\n`, 'latin1');
    let written: number;
    try {
      written = writeSync(this.fd, line);
    } catch (err) {
      throw new LeashError('AUDIT_UNWRITABLE', `cannot write audit log ${this.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    if (written !== line.length) throw new LeashError('AUDIT_UNWRITABLE', `short write to audit log ${this.path}`);
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }
}

/**
 * One event as the line written for it (without the newline): `ts` first,
 * undefined fields left out, every value bounded, printable ASCII only.
 */
export function auditLine(event: AuditEvent, now: Date): string {
  const record: Record<string, unknown> = { ts: now.toISOString() };
  for (const [key, value] of Object.entries(event)) {
    if (value !== undefined) record[key] = bound(value, AUDIT_BOUNDS.FIELD_CHARS[key] ?? AUDIT_BOUNDS.DEFAULT_CHARS, 1);
  }
  // JSON.stringify escapes control characters and lone surrogates; the rest of non-ASCII is escaped here (lossless).
  return JSON.stringify(record).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function bound(value: AuditValue, chars: number, depth: number): unknown {
  if (typeof value === 'string') return value.length > chars ? value.slice(0, chars) + TRUNCATED : value;
  if (!Array.isArray(value)) return value;
  if (depth >= AUDIT_BOUNDS.MAX_DEPTH) return TRUNCATED;
  const items: readonly AuditValue[] = value;
  const kept = items.slice(0, AUDIT_BOUNDS.MAX_ITEMS).map((v) => bound(v, chars, depth + 1));
  if (items.length > AUDIT_BOUNDS.MAX_ITEMS) kept.push(`${TRUNCATED} ${items.length - AUDIT_BOUNDS.MAX_ITEMS} more`);
  return kept;
}

/** Command text as it may appear in a log line: escaped and cut at 4 KiB (see encoding/printable.ts). */
export function printableCommand(raw: string): string {
  return printable(raw, MAX_COMMAND_CHARS);
}

/** `SSH_CONNECTION` is "client_ip client_port server_ip server_port"; keep the client side. */
export function clientAddress(env: NodeJS.ProcessEnv): string | undefined {
  const parts = (env['SSH_CONNECTION'] ?? '').split(' ');
  if (parts.length < 2 || !parts[0]) return undefined;
  return `${parts[0]} ${parts[1]}`;
}
