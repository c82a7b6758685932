import { userInfo } from 'node:os';
import type { CommandContext } from './context.js';
import { AuditLog, type AuditEvent } from '../audit/log.js';
import { resolveConfigDir } from '../config/dir.js';
import { loadLeashConfig } from '../config/load.js';
import type { LeashConfig } from '../config/types.js';
import { LeashError } from '../errors.js';
import { printable } from '../encoding/printable.js';

/**
 * What the operator's commands (sessions, revoke, unrevoke, runtime, watch)
 * share: they run as root (they read every session's registry entries and
 * signal other users' processes), on the configuration leash verify and
 * leash shell use.
 */
export interface Operator {
  configDir: string;
  config: LeashConfig;
  /** Who is acting, for the audit log: the sudo caller when there is one. */
  by: string;
  /** Appends to the audit log (opened on first use). */
  audit: (event: AuditEvent) => void;
  close: () => void;
}

export async function operator(ctx: CommandContext, command: string): Promise<Operator> {
  if (process.getuid?.() !== 0) throw new LeashError('USAGE', `leash ${command} must run as root (it reads every session's registry entries and signals their processes)`);
  const configDir = resolveConfigDir(ctx.configDirFlag, ctx.env, true);
  const config = await loadLeashConfig(configDir, false);
  let log: AuditLog | undefined;
  const sudo = ctx.env['SUDO_USER'];
  return {
    configDir,
    config,
    by: typeof sudo === 'string' && /^[a-z_][a-z0-9_.-]{0,31}$/.test(sudo) ? sudo : userInfo().username,
    audit: (event) => {
      log ??= AuditLog.open(ctx.env['LEASH_AUDIT_LOG'] ?? config.auditLog);
      log.write(event);
    },
    close: () => log?.close(),
  };
}

/** A flag's string value, or undefined. */
export function flag(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * The operator commands' error rule: a refusal (any reason code but USAGE)
 * is one line `leash: CODE: message` on stderr and exit 1; a usage error
 * goes on to cli.ts (exit 64); anything else is a bug (exit 70).
 */
export function guarded(run: (ctx: CommandContext) => Promise<number>): (ctx: CommandContext) => Promise<number> {
  return async (ctx) => {
    try {
      return await run(ctx);
    } catch (err) {
      if (!(err instanceof LeashError) || err.code === 'USAGE') throw err;
      process.stderr.write(`leash: ${err.code}: ${printable(err.message, 2000)}\n`);
      return 1;
    }
  };
}
