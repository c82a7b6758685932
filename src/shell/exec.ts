import { spawn, type StdioOptions } from 'node:child_process';
import { constants } from 'node:os';
import { CHILD_ENV } from './env.js';

/** How long a process group gets between SIGTERM and SIGKILL. */
const KILL_GRACE_MS = 2000;

export interface RunPlan {
  binary: string;
  argv: string[];
  timeoutMs: number;
  /** Defaults to passing leash's own stdin/stdout/stderr (the SSH channel) straight through. */
  stdio?: StdioOptions;
  /**
   * Relays stdout and stderr through leash (pipes) instead: every chunk goes
   * to `onOutput` (the output recorder) and to `sink`, which calls `written`
   * once the client has it, before the next chunk is read (backpressure: a
   * slow client slows the command, leash buffers one chunk per stream).
   * (Track C's minimal relay until the runner's own lands; same hook.)
   */
  relay?: {
    sink: (stream: 'stdout' | 'stderr', chunk: Buffer, written: () => void) => void;
    onOutput?: (stage: number, stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  };
}

export interface RunResult {
  /** The child's exit status, or 128+N when it died of signal N. */
  status: number;
  timedOut: boolean;
  durationMs: number;
}

/**
 * Runs the pinned binary directly — no shell — with working directory `/`,
 * the fixed environment and stdio passed straight through, in a new session
 * (so its own process group). On timeout, or when leash itself is told to
 * stop (the client went away), the whole group gets SIGTERM and, after a
 * grace period, SIGKILL. When the child exits, anything it left behind in
 * the group is killed too: a session leaves no processes behind.
 */
export function runCommand(plan: RunPlan): Promise<RunResult> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(plan.binary, plan.argv.slice(1), {
      argv0: plan.argv[0],
      cwd: '/',
      env: { ...CHILD_ENV },
      stdio: plan.relay ? ['inherit', 'pipe', 'pipe'] : (plan.stdio ?? 'inherit'),
      detached: true,
    });
    const relay = plan.relay;
    if (relay) {
      for (const stream of ['stdout', 'stderr'] as const) {
        const from = child[stream];
        from?.on('data', (chunk: Buffer) => {
          from.pause();
          relay.onOutput?.(0, stream, chunk);
          relay.sink(stream, chunk, () => from.resume());
        });
      }
    }
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (signal: NodeJS.Signals): void => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, signal);
      } catch {
        /* ESRCH: the group is already gone */
      }
    };
    const stop = (): void => {
      killGroup('SIGTERM');
      killTimer ??= setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, plan.timeoutMs);
    const onSignal = (): void => stop();
    const signals: NodeJS.Signals[] = ['SIGHUP', 'SIGTERM', 'SIGINT'];
    for (const s of signals) process.on(s, onSignal);

    child.on('error', (err) => {
      clearTimeout(timer);
      for (const s of signals) process.off(s, onSignal);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      // The child is gone; whatever it left in its group (after a timeout, the
      // grandchildren that ignored SIGTERM) is killed now.
      killGroup('SIGKILL');
      for (const s of signals) process.off(s, onSignal);
      const status = code ?? 128 + (signal ? constants.signals[signal] : 0);
      const done = (): void => resolve({ status, timedOut, durationMs: Number((process.hrtime.bigint() - started) / 1_000_000n) });
      // With a relay, the result waits for the pipes to drain: no output is left behind.
      if (relay) child.once('close', done);
      else done();
    });
  });
}
