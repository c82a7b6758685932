import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Stage } from './decide.js';
import { CHILD_ENV } from './env.js';
import { guardedCommand, type GuardPrograms } from './guard.js';
import { pipelineStatus, statusOf, type StageEnd } from './pipeline-status.js';
import { OutputRelay, type OutputHook } from './relay.js';

/** How long a process group gets between SIGTERM and SIGKILL. */
export const KILL_GRACE_MS = 1000;
/**
 * After the last stage has exited (and its group was killed), how long the
 * relay may still wait for its pipes to reach end-of-file (only a process
 * that left its group and kept a pipe open delays it that long), and, for a
 * run that was stopped, for the client to take what is still queued for it.
 * A run that ended by itself waits for the client as long as it takes.
 */
const EOF_GRACE_MS = 1000;

export interface RunPlan {
  /** Left to right: stage i+1 reads stage i's standard output. */
  stages: readonly Stage[];
  guard: GuardPrograms;
  /** The whole run's deadline, all stages together. */
  timeoutMs: number;
  /** Bytes of output (every stage's stderr and the last stage's stdout) relayed before the run is stopped. */
  maxOutputBytes: number;
  /** What the first stage reads: nothing (`/dev/null`), or leash's own standard input (the sftp subsystem). */
  input: 'none' | 'client';
  /** Where the last stage's stdout and every stage's stderr are relayed (the SSH channel's descriptors). */
  stdoutFd: number;
  stderrFd: number;
  /** Aborted when leash itself has to stop (a signal it caught); its reason is the signal's name. */
  stop?: AbortSignal | undefined;
  onOutput?: OutputHook | undefined;
  /** The process group ids (one per stage, the guard's pid), once every stage has been started. */
  onStart?: ((groups: readonly number[]) => void) | undefined;
}

export type RunEnding =
  /** Every stage exited by itself. */
  | { kind: 'exited' }
  | { kind: 'timeout' }
  | { kind: 'output_limit' }
  /** leash was told to stop (plan.stop). */
  | { kind: 'signal'; signal: NodeJS.Signals }
  /** The client stopped reading: writing its output failed. */
  | { kind: 'output_closed'; code: string }
  /** A stage could not be started, or the output hook failed. */
  | { kind: 'failed'; detail: string };

export interface RunResult {
  ending: RunEnding;
  /** The pipeline's status (see pipeline-status.ts) and the 0-based stage it comes from. */
  status: number;
  statusStage: number;
  /** Each stage's own status (128+N for signal N). */
  stageStatuses: number[];
  outputBytes: number;
  durationMs: number;
}

interface Running {
  /** The guard's pid, which is also its process group id; undefined if it never started. */
  group: number | undefined;
  end: StageEnd | undefined;
}

/**
 * Runs a decided pipeline: every stage under the guard (guard.ts), directly
 * (no shell), with working directory `/` and the fixed environment, stage i's
 * stdout piped into stage i+1's stdin, and the output relayed by leash
 * (relay.ts) so that it can be counted, capped and recorded. One deadline,
 * one output limit and one stop apply to all stages: each ends the run by
 * SIGTERM to every stage's process group, then SIGKILL after KILL_GRACE_MS.
 *
 * A group is signalled only while its guard is known to be alive — its exit
 * has not been seen, so its pid, which is the group's id, cannot have been
 * reused — except once, right after the guard exits, to kill what its command
 * left running in the group (the one case documented in docs/security.md).
 */
export function runPipeline(plan: RunPlan): Promise<RunResult> {
  if (plan.stages.length === 0) throw new RangeError('runPipeline: no stages');
  const started = process.hrtime.bigint();
  const elapsed = (): number => Number((process.hrtime.bigint() - started) / 1_000_000n);

  return new Promise((resolve) => {
    const running: Running[] = [];
    let ending: RunEnding | undefined;
    let deadline: NodeJS.Timeout | undefined;
    let killTimer: NodeJS.Timeout | undefined;
    let finished = false;

    // links[i]: leash's end of the socket pair from stage i to stage i+1 (see onReaderExit).
    const links: Array<Readable | undefined> = [];
    const closeLink = (i: number): void => {
      links[i]?.destroy();
      links[i] = undefined;
    };
    /**
     * Stage i+1 (a reader) exited. Node connects stages by socket pairs, not
     * pipes: had the reader's end been closed with data unread, the writer's
     * next write would fail with ECONNRESET ("Connection reset by peer", an
     * error exit) instead of raising SIGPIPE as in a shell pipeline. So leash
     * keeps a copy of the reader's end open (never reading it) and ends the
     * writer as a shell pipeline would: SIGPIPE to its group. A writer that
     * ignores SIGPIPE gets the closed socket after the grace period.
     */
    const onReaderExit = (i: number): void => {
      const writer = running[i];
      if (!writer || writer.end !== undefined) return closeLink(i);
      if (writer.group !== undefined) killQuietly(-writer.group, 'SIGPIPE');
      setTimeout(() => closeLink(i), KILL_GRACE_MS).unref();
    };
    const signalGroups = (signal: NodeJS.Signals): void => {
      for (const r of running) {
        if (r.end !== undefined || r.group === undefined) continue;
        killQuietly(-r.group, signal);
      }
    };

    const stopRun = (why: RunEnding): void => {
      if (ending !== undefined) return;
      ending = why;
      if (why.kind === 'output_limit' || why.kind === 'output_closed' || why.kind === 'failed') relay.stopReading();
      signalGroups('SIGTERM');
      killTimer = setTimeout(() => signalGroups('SIGKILL'), KILL_GRACE_MS);
    };

    const relay = new OutputRelay({
      maxBytes: plan.maxOutputBytes,
      onOutput: plan.onOutput,
      onLimit: () => stopRun({ kind: 'output_limit' }),
      onClosed: (code) => stopRun({ kind: 'output_closed', code }),
      onHookError: (err) => stopRun({ kind: 'failed', detail: `the output hook failed: ${err instanceof Error ? err.message : String(err)}` }),
    });

    const finish = (): void => {
      if (finished || running.length < plan.stages.length || running.some((r) => r.end === undefined)) return;
      finished = true;
      clearTimeout(deadline);
      clearTimeout(killTimer);
      plan.stop?.removeEventListener('abort', onAbort);
      for (let i = 0; i < links.length; i++) closeLink(i);
      // Everything left in the groups is dead; a pipe still open after this is held by a process that left its group.
      const eofGrace = setTimeout(() => relay.stopReading(), EOF_GRACE_MS);
      const drained = relay.drained();
      const patience = ending === undefined ? drained : Promise.race([drained, new Promise<void>((r) => setTimeout(r, EOF_GRACE_MS).unref())]);
      void patience.then(() => {
        clearTimeout(eofGrace);
        relay.stopReading();
        const ends = running.map((r) => r.end as StageEnd);
        const { status, stage } = pipelineStatus(ends);
        // A guard that reached its backstop before leash's own timer ran (leash stopped, or busy) still ended a timeout.
        const why = ending ?? (elapsed() >= plan.timeoutMs ? { kind: 'timeout' } : { kind: 'exited' });
        resolve({ ending: why, status, statusStage: stage, stageStatuses: ends.map(statusOf), outputBytes: relay.bytes, durationMs: elapsed() });
      });
    };

    const onAbort = (): void => stopRun({ kind: 'signal', signal: plan.stop?.reason as NodeJS.Signals });
    if (plan.stop?.aborted) {
      resolve({ ending: { kind: 'signal', signal: plan.stop.reason as NodeJS.Signals }, status: 0, statusStage: 0, stageStatuses: [], outputBytes: 0, durationMs: 0 });
      return;
    }
    plan.stop?.addEventListener('abort', onAbort, { once: true });

    // The guard's own deadline: leash's, plus the kill grace, in whole seconds.
    const backstopSeconds = Math.ceil((plan.timeoutMs + KILL_GRACE_MS) / 1000);
    try {
      for (let i = 0; i < plan.stages.length; i++) {
        const stage = plan.stages[i] as Stage;
        const last = i === plan.stages.length - 1;
        const stdin: Readable | 0 | 'ignore' = i > 0 ? (links[i - 1] as Readable) : plan.input === 'client' ? 0 : 'ignore';
        const { file, args } = guardedCommand(plan.guard, stage, backstopSeconds);
        const child: ChildProcess = spawn(file, args, { cwd: '/', env: { ...CHILD_ENV }, stdio: [stdin, 'pipe', 'pipe'] as StdioOptions, detached: true });
        const r: Running = { group: child.pid, end: undefined };
        running.push(r);
        if (!last) links[i] = child.stdout as Readable;
        child.on('error', (err: NodeJS.ErrnoException) => {
          // spawn(2) failed: this stage never ran.
          r.end ??= { code: 127 };
          r.group = undefined;
          stopRun({ kind: 'failed', detail: `cannot start ${stage.command}: ${err.code ?? err.message}` });
          setImmediate(finish);
        });
        child.on('exit', (code: number | null, signal: NodeJS.Signals | null) => {
          r.end = signal ? { signal } : { code: code ?? 0 };
          // What the command left running in its group goes now (the one signal sent after the guard's exit, see above).
          if (r.group !== undefined) killQuietly(-r.group, 'SIGKILL');
          // The reader of its output has its own copy of the socket; leash's is no longer needed.
          if (!last) closeLink(i);
          // Other children reaped in the same batch are recorded before anything else is signalled.
          setImmediate(() => {
            if (i > 0) onReaderExit(i - 1);
            finish();
          });
        });
        relay.add(child.stderr as Readable, i, 'stderr', plan.stderrFd);
        if (last) relay.add(child.stdout as Readable, i, 'stdout', plan.stdoutFd);
      }
    } catch (err) {
      // spawn() refused its arguments: what was started is stopped, and the run ends once it has.
      stopRun({ kind: 'failed', detail: `cannot start the pipeline: ${err instanceof Error ? err.message : String(err)}` });
      while (running.length < plan.stages.length) running.push({ group: undefined, end: { code: 127 } });
      setImmediate(finish);
      return;
    }
    deadline = setTimeout(() => stopRun({ kind: 'timeout' }), plan.timeoutMs);
    const groups = running.map((r) => r.group).filter((g): g is number => g !== undefined);
    if (groups.length === running.length) plan.onStart?.(groups);
  });
}

/** kill(2), where ESRCH (nothing left to signal) is not an error. */
function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* ESRCH */
  }
}
