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
import type { LeashConfig } from '../config/types.js';
import { Recorder } from '../session/recordings.js';
import { ShellSession } from '../session/shell-session.js';

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

  let setup: { audit: AuditLog; configDir: string; config: LeashConfig };
  try {
    setup = await openSession(ctx, underSshd);
  } catch (err) {
    const e = asLeashError(err, 'INTERNAL');
    stderr(`configuration error (${e.code}): ${e.message}`);
    return EXIT.CONFIG;
  }
  const { audit, configDir, config } = setup;
  const defaultProfile = config.defaultProfile;

  const raw = env['SSH_ORIGINAL_COMMAND'];
  const profileName = str(ctx.values['profile']) ?? defaultProfile ?? DEFAULT_PROFILE;
  const who = { user: localUser(), identity: str(ctx.values['identity']), session: str(ctx.values['session']), client: clientAddress(env), command: raw === undefined ? undefined : printableCommand(raw) };
  const base: Omit<AuditEvent, 'event'> = { profile: profileName, ...who };
  // Sessions (src/session/, docs/sessions.md): the registry entry of this command.
  let session: ShellSession | undefined;
  const deny = (code: ReasonCode, detail: string, exit: number = EXIT.DENIED, extra: Partial<AuditEvent> = {}): number => {
    try {
      if (session && extra.seq === undefined) extra = { ...extra, seq: recordDenial(session, who.command) };
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
    session = ShellSession.open({
      configDir,
      runtimeDir: config.runtimeDir,
      session: who.session,
      identity: who.identity,
      user: who.user,
      uid: process.getuid?.() ?? -1,
      profile: profileName,
      expires: expires !== undefined && /^[0-9]{1,12}$/.test(expires) ? Number(expires) : undefined,
      client: who.client,
      pid: process.pid,
      ppid: process.ppid,
    });
    session.assertNotRevoked(Math.floor(Date.now() / 1000));
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
    // Journal (its seq), then the per-identity limit, then the recorder; any refusal runs nothing.
    const seq = session.record('allowed', who.command);
    const slot = (() => {
      try {
        return session!.claimSlot(seq, who.command, config.maxConcurrentCommands);
      } catch (err) {
        const e = asLeashError(err);
        return deny(e.code, e.message, EXIT.DENIED, { seq });
      }
    })();
    if (typeof slot === 'number') return slot;
    let recorder: Recorder;
    try {
      recorder = Recorder.open({ path: config.recordingsLog, session: who.session, seq, pid: process.pid, limit: profile.recordOutputBytes });
    } catch (err) {
      slot?.release();
      const e = asLeashError(err);
      return deny(e.code, e.message, EXIT.CONFIG, { seq });
    }
    audit.write({ event: 'shell.allowed', ...base, seq, reason: decision.code, binary: stage.binary, argv: stage.argv, timeout_ms: timeoutMs });
    let result;
    try {
      result = await runCommand({ binary: stage.binary, argv: stage.argv, timeoutMs, relay: profile.recordOutputBytes > 0 ? { sink: writeToClient, onOutput: recorder.onOutput } : undefined });
    } finally {
      recorder.close();
      slot?.release();
    }
    const outcome: AuditEvent = {
      event: result.timedOut ? 'shell.timeout' : 'shell.finished',
      ...base,
      seq,
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
async function openSession(ctx: CommandContext, underSshd: boolean): Promise<{ audit: AuditLog; configDir: string; config: LeashConfig }> {
  const configDir = resolveConfigDir(ctx.configDirFlag, ctx.env, !underSshd);
  const config = await loadLeashConfig(configDir, false);
  const auditPath = (!underSshd ? ctx.env['LEASH_AUDIT_LOG'] : undefined) ?? config.auditLog;
  return { audit: AuditLog.open(auditPath), configDir, config };
}

/** A denied command's journal line; a registry that cannot be written leaves only the audit event. */
function recordDenial(session: ShellSession, command: string | undefined): number | undefined {
  try {
    return session.record('denied', command);
  } catch {
    return undefined;
  }
}

/**
 * The relay's sink: the SSH channel is leash's own stdout/stderr. A client
 * that went away (EPIPE) drops the rest of the output rather than crashing
 * leash before it has logged the outcome.
 */
function writeToClient(stream: 'stdout' | 'stderr', chunk: Buffer, written: () => void): void {
  const out = stream === 'stdout' ? process.stdout : process.stderr;
  if (out.listenerCount('error') === 0) out.on('error', () => {});
  out.write(chunk, () => written());
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
