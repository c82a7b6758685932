import { userInfo } from 'node:os';
import type { CommandContext } from './context.js';
import { AuditLog, clientAddress, printableCommand, type AuditEvent } from '../audit/log.js';
import { resolveConfigDir } from '../config/dir.js';
import { loadLeashConfig } from '../config/load.js';
import { asLeashError, type ReasonCode } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { realFs } from '../policy/fs-view.js';
import { loadProfile } from '../policy/load.js';
import { DEFAULT_PROFILE, type Profile } from '../policy/types.js';
import { describeRequest } from '../shell/builtins.js';
import { decide, type Stage } from '../shell/decide.js';
import { runCommand } from '../shell/exec.js';

/**
 * `leash shell`: the forced command. Order matters and every step fails
 * closed: the audit log must be open before anything is decided, the
 * decision must be logged before anything runs, and a profile that does not
 * load denies everything.
 */
export async function runShell(ctx: CommandContext): Promise<number> {
  const env = ctx.env;
  // Inside an SSH session the environment belongs to the client's side of the
  // login (AcceptEnv, shell startup files): only the key line's flags count.
  const underSshd = env['SSH_CONNECTION'] !== undefined;
  const stderr = (line: string): void => void process.stderr.write(`leash: ${line}\n`);

  let setup: { audit: AuditLog; configDir: string; defaultProfile: string | undefined };
  try {
    setup = await openSession(ctx, underSshd);
  } catch (err) {
    const e = asLeashError(err, 'INTERNAL');
    stderr(`configuration error (${e.code}): ${e.message}`);
    return EXIT.CONFIG;
  }
  const { audit, configDir, defaultProfile } = setup;

  const raw = env['SSH_ORIGINAL_COMMAND'];
  const profileName = str(ctx.values['profile']) ?? defaultProfile ?? DEFAULT_PROFILE;
  const base: Omit<AuditEvent, 'event'> = {
    profile: profileName,
    user: localUser(),
    identity: str(ctx.values['identity']),
    session: str(ctx.values['session']),
    client: clientAddress(env),
    command: raw === undefined ? undefined : printableCommand(raw),
  };
  const deny = (code: ReasonCode, detail: string, exit: number = EXIT.DENIED, extra: Partial<AuditEvent> = {}): number => {
    try {
      audit.write({ event: 'shell.denied', ...base, ...extra, reason: code, detail });
    } catch (err) {
      stderr(`audit log unwritable (${asLeashError(err).code})`);
      return EXIT.CONFIG;
    }
    stderr(`denied (${code}): ${detail}`);
    return exit;
  };

  try {
    const expires = str(ctx.values['expires']);
    let remainingMs = Infinity;
    if (expires !== undefined) {
      if (!/^[0-9]{1,12}$/.test(expires)) return deny('SESSION_EXPIRES_INVALID', `--expires ${JSON.stringify(expires)} is not a unix time`);
      remainingMs = Number(expires) * 1000 - Date.now();
      if (remainingMs <= 0) return deny('SESSION_EXPIRED', `the session expired at ${new Date(Number(expires) * 1000).toISOString()}`);
    }

    let profile: Profile;
    try {
      profile = await loadProfile(configDir, profileName);
    } catch (err) {
      const e = asLeashError(err, 'PROFILE_INVALID');
      return deny('PROFILE_INVALID', `profile ${profileName} does not load, so nothing is allowed: ${e.message}`, EXIT.CONFIG);
    }

    if (raw === undefined || raw.trim() === '') {
      const names = [...profile.commands.keys()].join(', ');
      process.stderr.write(`leash: this login runs single commands only (profile ${profile.name}): ${names}\n`);
      return deny('COMMAND_EMPTY', 'interactive login is not available');
    }

    // The built-in `leash-describe`: what this profile allows, as data (loaded only when asked for).
    const describe = describeRequest(raw);
    if (describe !== null) {
      const { describeOutput } = await import('./describe.js');
      audit.write({ event: 'shell.describe', ...base, reason: 'ALLOWED' });
      process.stdout.write(describeOutput(profile, describe));
      return EXIT.OK;
    }

    const decision = decide(profile, raw, realFs);
    if (!decision.allow) {
      const code = deny(decision.code, decision.detail, EXIT.DENIED, { argv: decision.argv });
      if (decision.hint !== undefined) stderr(`hint: ${decision.hint}`);
      return code;
    }

    const [stage] = decision.stages as [Stage];
    const timeoutMs = Math.min(decision.timeoutSeconds * 1000, remainingMs);
    audit.write({ event: 'shell.allowed', ...base, reason: decision.code, binary: stage.binary, argv: stage.argv, timeout_ms: timeoutMs });
    const result = await runCommand({ binary: stage.binary, argv: stage.argv, timeoutMs });
    const outcome: AuditEvent = {
      event: result.timedOut ? 'shell.timeout' : 'shell.finished',
      ...base,
      argv: stage.argv,
      exit: result.timedOut ? EXIT.TIMEOUT : result.status,
      child_status: result.status,
      duration_ms: result.durationMs,
    };
    try {
      audit.write(outcome);
    } catch (err) {
      stderr(`audit log unwritable after the command ran (${asLeashError(err).code})`);
    }
    if (result.timedOut) {
      const why = timeoutMs < decision.timeoutSeconds * 1000 ? 'the session expired' : `it ran longer than ${decision.timeoutSeconds}s`;
      stderr(`timed out: ${why}; its process group was killed`);
      return EXIT.TIMEOUT;
    }
    return result.status;
  } catch (err) {
    // Reaching here means nothing ran (or the run could not start): deny and say why.
    const e = asLeashError(err, 'INTERNAL');
    return deny(e.code, e.message, e.code === 'AUDIT_UNWRITABLE' ? EXIT.CONFIG : EXIT.DENIED);
  } finally {
    audit.close();
  }
}

/** Configuration and the audit log, both needed before any decision. */
async function openSession(ctx: CommandContext, underSshd: boolean): Promise<{ audit: AuditLog; configDir: string; defaultProfile: string | undefined }> {
  const configDir = resolveConfigDir(ctx.configDirFlag, ctx.env, !underSshd);
  const config = await loadLeashConfig(configDir, false);
  const auditPath = (!underSshd ? ctx.env['LEASH_AUDIT_LOG'] : undefined) ?? config.auditLog;
  return { audit: AuditLog.open(auditPath), configDir, defaultProfile: config.defaultProfile };
}

function str(v: string | boolean | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function localUser(): string {
  try {
    return userInfo().username;
  } catch {
    return `uid:${process.getuid?.() ?? '?'}`;
  }
}
