/**
 * Runs a few lines of TypeScript in a separate node process, with the same
 * TypeScript loader tap gives this one, and src/ modules imported by
 * absolute path. For what must not happen in the test process itself: a
 * call that might block for ever (it is killed at the timeout and the test
 * fails instead of hanging), or running as another uid (spawn's uid/gid:
 * setgroups([]), setgid, setuid before exec, as runuser does).
 *
 *   const r = await runTs(`import { x } from ${srcModule('audit/log.ts')}; ...`, { timeoutMs: 5000 });
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

/** A quoted import specifier for src/<path> (e.g. 'audit/log.ts'). */
export function srcModule(path: string): string {
  return JSON.stringify(join(SRC, path));
}

export interface TsChildOptions {
  uid?: number;
  gid?: number;
  env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL) after this long; default 20 s. */
  timeoutMs?: number;
  cwd?: string;
}

export interface TsChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export function runTs(code: string, o: TsChildOptions = {}): Promise<TsChildResult> {
  const loader = process.execArgv.find((a) => a.includes('@tapjs/typescript'));
  if (loader === undefined) throw new Error('runTs: not running under tap (no TypeScript loader in execArgv)');
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [loader, '--input-type=module', '-e', code], {
      env: o.env ?? { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: o.cwd ?? '/',
      ...(o.uid === undefined ? {} : { uid: o.uid }),
      ...(o.gid === undefined ? {} : { gid: o.gid }),
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs ?? 20_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolvePromise({ code: status, stdout, stderr, timedOut });
    });
  });
}
