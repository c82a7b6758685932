import { realpathSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CommandContext } from './context.js';
import type { LeashConfig } from '../config/types.js';
import { LeashError } from '../errors.js';

/**
 * What `leash verify` and `leash verify --explain` share with the process
 * around them: their output, the executable's own path, the audit log's path.
 */

/** Where verify writes: the line for sshd and the explain report (out), reasons for sshd's log (err). */
export interface VerifyIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/**
 * Straight to descriptors 1 and 2. Under sshd both are pipes, and touching
 * process.stdout/stderr there builds a net.Socket and loads a dozen modules,
 * which the memo's hit path (the whole of sshd's second call) must not pay.
 */
export const FD_IO: VerifyIo = { out: (text) => writeAll(1, text), err: (text) => writeAll(2, text) };

/** EAGAIN retries before giving up on a descriptor that never drains (one opened non-blocking, whose reader stopped). */
const MAX_EAGAIN = 10_000;

/**
 * Writes all of `text`, or throws: a line cut short is never left as if it
 * were whole (the caller then exits non-zero, and sshd ignores the output of
 * an AuthorizedKeysCommand that did not exit 0).
 */
export function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  for (let tries = 0; off < buf.length && tries < MAX_EAGAIN; tries++) {
    try {
      off += writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
    }
  }
  if (off < buf.length) throw new LeashError('INTERNAL', `descriptor ${fd} took ${off} of ${buf.length} bytes and then only EAGAIN`);
}

/**
 * The executable sshd should run as the forced command: this very binary
 * (resolved, as sshd resolves it). When running from sources instead of the
 * built executable, the entry script stands in.
 */
export function selfPath(): string {
  return realpathSync(isBuiltExecutable() ? process.execPath : resolve(process.argv[1] ?? process.execPath));
}

/** True in the compiled executable (dist/leash), false when running from sources. */
export function isBuiltExecutable(): boolean {
  try {
    // node:sea exists from Node 20.12; isSea() tells the compiled executable apart.
    return (process.getBuiltinModule?.('node:sea') as { isSea?: () => boolean } | undefined)?.isSea?.() === true;
  } catch {
    return false;
  }
}

/** leash.yaml's audit_log, or LEASH_AUDIT_LOG outside an SSH session (for tests; sshd gives the verifier no environment). */
export function auditLogPath(ctx: CommandContext, config: Pick<LeashConfig, 'auditLog'>): string {
  return (ctx.env['SSH_CONNECTION'] === undefined ? ctx.env['LEASH_AUDIT_LOG'] : undefined) ?? config.auditLog;
}
