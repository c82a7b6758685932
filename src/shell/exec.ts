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
      stdio: plan.stdio ?? 'inherit',
      detached: true,
    });
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
      resolve({ status, timedOut, durationMs: Number((process.hrtime.bigint() - started) / 1_000_000n) });
    });
  });
}
