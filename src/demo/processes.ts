/**
 * The demo's child processes. Every program runs without a shell, with a
 * fixed environment, and in a session of its own (setsid): a ^C at the
 * terminal reaches `leash demo` alone, which then stops its children in the
 * right order (clients, sshd's connections, sshd) instead of having them
 * die in a random one. The price: a demo killed with SIGKILL leaves them
 * running (docs/leash.1.md says so, and how to find them).
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { LeashError } from '../errors.js';

/** What every child gets as its environment: nothing of the caller's. */
export const CHILD_ENV: Readonly<Record<string, string>> = Object.freeze({ PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' });

/** More output than this from one program is cut (a demo step shows a few lines). */
const MAX_CAPTURE = 1024 * 1024;

export interface RunResult {
  /** The exit status; null when it died of a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  /** Aborting kills the program (SIGKILL) and rejects, unless `finish` is set. */
  signal?: AbortSignal;
  /**
   * Let the program finish even when aborted: for useradd, userdel and the
   * like, which a kill could leave holding /etc/passwd's lock.
   */
  finish?: boolean;
  /** Killed (SIGKILL) after this long; default 30 s. */
  timeoutMs?: number;
  input?: string;
}

/** The error a step sees when the demo was interrupted. */
export function interrupted(signal: AbortSignal): LeashError {
  return new LeashError('DEMO_FAILED', `interrupted (${String(signal.reason ?? 'signal')})`);
}

/**
 * After a program exited, how long its output may still take to arrive: an
 * ssh ControlMaster client hands its descriptors to the master, which holds
 * them until the remote command ends, so "all output read" can come long
 * after the client itself is gone.
 */
const DRAIN_MS = 1000;

/** Runs `file args` to its end and collects its output. Rejects only when aborted (or when it cannot start). */
export function runProgram(file: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    if (o.signal?.aborted && !o.finish) return reject(interrupted(o.signal));
    const child = spawn(file, args, { env: CHILD_ENV, cwd: '/', detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const take = (sofar: string, d: string): string => (sofar.length < MAX_CAPTURE ? sofar + d : sofar);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout = take(stdout, d)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = take(stderr, d)));
    child.stdin.on('error', () => {}); // EPIPE when it exits before reading
    child.stdin.end(o.input ?? '');
    const timer = setTimeout(() => void child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
    let settled = false;
    const settle = (how: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      child.stdout.destroy();
      child.stderr.destroy();
      how();
    };
    const onAbort = (): void => {
      if (o.finish) return;
      child.kill('SIGKILL');
      settle(() => reject(interrupted(o.signal!)));
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (err) => settle(() => reject(new LeashError('DEMO_FAILED', `cannot run ${file}: ${(err as NodeJS.ErrnoException).code ?? err.message}`))));
    const done = (code: number | null, sig: NodeJS.Signals | null): void => settle(() => resolve({ code, signal: sig, stdout, stderr, ms: Date.now() - started }));
    child.once('close', done);
    child.once('exit', (code, sig) => void setTimeout(() => done(code, sig), DRAIN_MS));
  });
}

/** Runs a program that must succeed; its stderr is the error otherwise. */
export async function runOk(file: string, args: readonly string[], o: RunOptions = {}): Promise<RunResult> {
  const r = await runProgram(file, args, o);
  if (r.code !== 0) throw new LeashError('DEMO_FAILED', `${file} ${args.join(' ')}: exit ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 500)}`);
  return r;
}

/** A program left running (sshd, an ssh ControlMaster, a command in flight). */
export interface Background {
  pid: number;
  /** Resolves when it has exited, with what it wrote (unless its output goes to a file). */
  exited: Promise<RunResult>;
  /** True until it has exited. */
  running: () => boolean;
  /** SIGTERM, then SIGKILL after `graceMs` (default 2 s); resolves when it has exited. */
  stop: (graceMs?: number) => Promise<void>;
}

/** Starts `file args` in the background; with `logFile`, its stdout and stderr go there (appended). */
export function startProgram(file: string, args: readonly string[], o: { logFile?: string } = {}): Promise<Background> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const fd = o.logFile === undefined ? null : openSync(o.logFile, 'a', 0o600);
    const child = spawn(file, args, { env: CHILD_ENV, cwd: '/', detached: true, stdio: fd === null ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd] });
    if (fd !== null) closeSync(fd);
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout = stdout.length < MAX_CAPTURE ? stdout + d : stdout));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr = stderr.length < MAX_CAPTURE ? stderr + d : stderr));
    let done = false;
    // 'exit', not 'close': a ControlMaster client's descriptors may outlive it (see DRAIN_MS).
    const exited = new Promise<RunResult>((res) =>
      child.once('exit', (code, signal) => {
        done = true;
        setTimeout(() => {
          child.stdout?.destroy();
          child.stderr?.destroy();
          res({ code, signal, stdout, stderr, ms: Date.now() - started });
        }, 50);
      }),
    );
    child.once('error', (err) => reject(new LeashError('DEMO_FAILED', `cannot start ${file}: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    child.once('spawn', () =>
      resolve({
        pid: child.pid ?? -1,
        exited,
        running: () => !done,
        stop: async (graceMs = 2000) => {
          if (done) return;
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        },
      }),
    );
  });
}

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(interrupted(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(interrupted(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** `promise`'s value, or null when it has not settled within `ms` (the timer is cleared either way). */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls `probe` every 100 ms until it returns a value; DEMO_FAILED naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, o: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<T> {
  const end = Date.now() + (o.timeoutMs ?? 10_000);
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new LeashError('DEMO_FAILED', `timed out waiting for ${what}`);
    await sleep(100, o.signal);
  }
}
