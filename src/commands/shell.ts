import { writeSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { CommandContext } from './context.js';
import { AuditLog, clientAddress, printableCommand, type AuditEvent } from '../audit/log.js';
import { resolveConfigDir } from '../config/dir.js';
import { loadLeashConfig } from '../config/load.js';
import { LeashError, asLeashError, type ReasonCode } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { realFs } from '../policy/fs-view.js';
import { loadProfile } from '../policy/load.js';
import { DEFAULT_PROFILE, type Profile } from '../policy/types.js';
import { describeRequest } from '../shell/builtins.js';
import { decide, type Stage } from '../shell/decide.js';
import { closeInheritedDescriptors } from '../shell/descriptors.js';
import { guardPrograms } from '../shell/guard.js';
import type { OutputHook } from '../shell/relay.js';
import { runPipeline } from '../shell/runner.js';
import { clientDetail, outcomeOf, signalNumber, stageFields } from './shell-outcome.js';
import { catchStopSignals, type CaughtSignals } from './stop-signals.js';
import { DEFAULT_AUDIT_LOG, type LeashConfig } from '../config/types.js';
import { Recorder } from '../session/recordings.js';
import { ShellSession } from '../session/shell-session.js';

/**
 * What `leash shell` takes from its process, injectable so that the tests
 * can run it inside the test process. PROCESS is the real thing.
 */
export interface ShellProcess {
  /** Closes inherited descriptors above stderr (descriptors.ts). */
  closeInheritedDescriptors: () => void;
  /** Installs the stop-signal handlers (stop-signals.ts). */
  catchSignals: () => CaughtSignals;
  /** Where the command's output is relayed, and leash's own messages go. */
  stdoutFd: number;
  stderrFd: number;
  onOutput?: OutputHook;
}

export const PROCESS: ShellProcess = {
  closeInheritedDescriptors: () => void closeInheritedDescriptors(),
  catchSignals: catchStopSignals,
  stdoutFd: 1,
  stderrFd: 2,
};

/**
 * `leash shell`: the forced command. Order matters and every step fails
 * closed: the audit log must be open before anything is decided, a profile
 * that does not load denies everything, the stop signals are caught before
 * the decision is logged as allowed, and the decision is logged before
 * anything runs.
 */
export async function runShell(ctx: CommandContext, proc: ShellProcess = PROCESS): Promise<number> {
  const env = ctx.env;
  // Inside an SSH session the environment belongs to the client's side of the
  // login (AcceptEnv, shell startup files): only the key line's flags count.
  const underSshd = env['SSH_CONNECTION'] !== undefined;
  const stderr = (line: string): void => say(proc.stderrFd, `leash: ${line}\n`);

  const raw = env['SSH_ORIGINAL_COMMAND'];
  const who = { user: localUser(), identity: str(ctx.values['identity']), session: str(ctx.values['session']), client: clientAddress(env), command: raw === undefined ? undefined : printableCommand(raw) };
  const auditPath = (config: Pick<LeashConfig, 'auditLog'>): string => (!underSshd ? env['LEASH_AUDIT_LOG'] : undefined) ?? config.auditLog;

  let setup: { audit: AuditLog; configDir: string; config: LeashConfig };
  try {
    setup = await openSession(ctx, underSshd, auditPath);
  } catch (err) {
    const e = asLeashError(err, 'INTERNAL');
    stderr(`configuration error (${e.code}): ${clientDetail(e.code, e.message)}`);
    if (e instanceof UnconfiguredError) logUnconfigured(auditPath({ auditLog: DEFAULT_AUDIT_LOG }), { ...who, profile: str(ctx.values['profile']) }, e, stderr);
    return EXIT.CONFIG;
  }
  const { audit, configDir, config } = setup;

  const profileName = str(ctx.values['profile']) ?? config.defaultProfile ?? DEFAULT_PROFILE;
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
    stderr(`denied (${code}): ${clientDetail(code, detail)}`);
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
      stderr(`this login runs single commands only (profile ${profile.name}): ${names}`);
      return deny('COMMAND_EMPTY', 'interactive login is not available');
    }

    // The built-in `leash-describe`: what this profile allows, as data (loaded only when asked for).
    const describe = describeRequest(raw);
    if (describe !== null) {
      const { describeOutput } = await import('./describe.js');
      audit.write({ event: 'shell.describe', ...base, reason: 'ALLOWED' });
      say(proc.stdoutFd, describeOutput(profile, describe));
      return EXIT.OK;
    }

    const decision = decide(profile, raw, realFs);
    if (!decision.allow) {
      const code = deny(decision.code, decision.detail, EXIT.DENIED, { argv: decision.argv });
      if (decision.hint !== undefined) stderr(`hint: ${decision.hint}`);
      return code;
    }
    const stages = decision.stages;
    const [first] = stages as [Stage, ...Stage[]];
    const what = stageFields(stages);

    const guard = guardPrograms(realFs);
    if (!guard.ok) return deny('GUARD_UNAVAILABLE', guard.detail, EXIT.CONFIG, what);

    // Journal (its seq), then the per-identity limit, then the recorder; any refusal runs nothing.
    const seq = session.record('allowed', who.command);
    let slot: ReturnType<ShellSession['claimSlot']>;
    try {
      slot = session.claimSlot(seq, who.command, config.maxConcurrentCommands);
    } catch (err) {
      const e = asLeashError(err);
      return deny(e.code, e.message, EXIT.DENIED, { ...what, seq });
    }
    let recorder: Recorder;
    try {
      recorder = Recorder.open({ path: config.recordingsLog, session: who.session, seq, pid: process.pid, limit: profile.recordOutputBytes });
    } catch (err) {
      slot?.release();
      const e = asLeashError(err);
      return deny(e.code, e.message, EXIT.CONFIG, { ...what, seq });
    }
    const onOutput: OutputHook | undefined =
      profile.recordOutputBytes > 0
        ? (stage, stream, chunk) => {
            recorder.onOutput(stage, stream, chunk);
            proc.onOutput?.(stage, stream, chunk);
          }
        : proc.onOutput;

    // From here on something runs: a stop signal is caught (the command is
    // stopped and that is audited), and only descriptors 0–2 are left to pass on.
    const signals = proc.catchSignals();
    try {
      proc.closeInheritedDescriptors();
      const stop = signals.signal;
      if (stop.aborted) return deny('SIGNALLED', `leash received ${String(stop.reason)} before the command started`, 128 + signalNumber(stop.reason), { ...what, seq });

      const timeoutMs = Math.min(decision.timeoutSeconds * 1000, remainingMs);
      audit.write({ event: 'shell.allowed', ...base, ...what, seq, reason: decision.code, binary: first.binary, timeout_ms: timeoutMs, max_output: profile.maxOutputBytes });
      const result = await runPipeline({
        stages,
        guard: guard.programs,
        timeoutMs,
        maxOutputBytes: profile.maxOutputBytes,
        // Only the sftp subsystem talks to the client over standard input.
        input: first.command === 'sftp' ? 'client' : 'none',
        stdoutFd: proc.stdoutFd,
        stderrFd: proc.stderrFd,
        stop,
        onOutput,
      });
      const timedOutBecause = timeoutMs < decision.timeoutSeconds * 1000 ? 'the session expired' : `it ran longer than ${decision.timeoutSeconds}s`;
      const outcome = outcomeOf(result, profile, stages, timedOutBecause);
      try {
        audit.write({ ...outcome.event, ...base, ...what, seq, duration_ms: result.durationMs, output_bytes: result.outputBytes });
      } catch (err) {
        stderr(`audit log unwritable after the command ran (${asLeashError(err).code})`);
      }
      if (outcome.message) stderr(outcome.message);
      return outcome.exit;
    } finally {
      signals.release();
      recorder.close();
      slot?.release();
    }
  } catch (err) {
    // Reaching here means nothing ran (or the run could not start): deny and say why.
    const e = asLeashError(err, 'INTERNAL');
    return deny(e.code, e.message, e.code === 'AUDIT_UNWRITABLE' ? EXIT.CONFIG : EXIT.DENIED);
  } finally {
    audit.close();
  }
}

/**
 * One line for the client. Written straight to the descriptor (no stream
 * object to set up); a client that is gone or not reading loses the line,
 * never the run.
 */
function say(fd: number, text: string): void {
  try {
    writeSync(fd, text);
  } catch {
    /* EPIPE, EIO, EAGAIN: nobody to tell */
  }
}

/** leash.yaml did not load, so it cannot say where the audit log is. */
class UnconfiguredError extends LeashError {
  constructor(e: LeashError) {
    super(e.code, e.message);
  }
}

/** Configuration and the audit log, both needed before any decision. */
async function openSession(ctx: CommandContext, underSshd: boolean, auditPath: (c: LeashConfig) => string): Promise<{ audit: AuditLog; configDir: string; config: LeashConfig }> {
  let configDir: string;
  let config: LeashConfig;
  try {
    configDir = resolveConfigDir(ctx.configDirFlag, ctx.env, !underSshd);
    config = await loadLeashConfig(configDir, false);
  } catch (err) {
    throw new UnconfiguredError(asLeashError(err, 'INTERNAL'));
  }
  return { audit: AuditLog.open(auditPath(config)), configDir, config };
}

/**
 * leash.yaml does not load, so nothing runs: the client was told only that
 * (clientDetail); the details go to the default audit log (as `leash verify`
 * does for a login), if that can be opened.
 */
function logUnconfigured(path: string, fields: Omit<AuditEvent, 'event'>, e: LeashError, stderr: (line: string) => void): void {
  try {
    const audit = AuditLog.open(path);
    try {
      audit.write({ event: 'shell.denied', ...fields, reason: e.code, detail: e.message });
    } finally {
      audit.close();
    }
  } catch (err) {
    stderr(`audit log unwritable (${asLeashError(err).code})`);
  }
}

/** A denied command's journal line; a registry that cannot be written leaves only the audit event. */
function recordDenial(session: ShellSession, command: string | undefined): number | undefined {
  try {
    return session.record('denied', command);
  } catch {
    return undefined;
  }
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
