import { closeSync, constants, fstatSync, openSync, writeSync } from 'node:fs';
import { printable } from '../encoding/printable.js';
import { LeashError } from '../errors.js';

export const DEFAULT_AUDIT_LOG = '/var/log/leash/audit.jsonl';
/** Longest command text kept in an event; the rest is cut and marked. */
const MAX_COMMAND_CHARS = 4096;

/** Lists: a pipeline's binaries (strings), its stages' argv (lists of strings), its stages' statuses (numbers). */
export type AuditValue = string | number | boolean | null | readonly string[] | readonly (readonly string[])[] | readonly number[] | undefined;
export type AuditEvent = { event: string } & Record<string, AuditValue>;

/**
 * An append-only JSON-lines writer. The file is opened once with O_APPEND
 * (so concurrent writers never interleave inside a line: each event is one
 * write(2) of one line), without following a symlink, and refused if it is
 * not a regular file. Any failure throws AUDIT_UNWRITABLE: callers treat that
 * as "run nothing".
 */
export class AuditLog {
  readonly path: string;
  private fd: number;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.fd = fd;
  }

  static open(path: string): AuditLog {
    let fd: number;
    try {
      fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o640);
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
    const record: Record<string, AuditValue> = { ts: new Date().toISOString(), ...event };
    for (const k of Object.keys(record)) if (record[k] === undefined) delete record[k];
    const line = Buffer.from(JSON.stringify(record) + '\n', 'utf8');
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
