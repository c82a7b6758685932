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
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runLeash, type LeashRun } from './leash-process.js';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');

/** A quoted import specifier for src/<path> (e.g. 'audit/log.ts'). */
export function srcModule(path: string): string {
  return JSON.stringify(join(SRC, path));
}

export interface TsChildOptions {
  uid?: number;
  gid?: number;
  /** Default: PATH only. */
  env?: NodeJS.ProcessEnv;
  /** Killed (SIGKILL) after this long; default 20 s. */
  timeoutMs?: number;
}

export function runTs(code: string, o: TsChildOptions = {}): Promise<LeashRun> {
  const loader = process.execArgv.find((a) => a.includes('@tapjs/typescript'));
  if (loader === undefined) throw new Error('runTs: not running under tap (no TypeScript loader in execArgv)');
  return runLeash(process.execPath, [loader, '--input-type=module', '-e', code], { ...o, env: o.env ?? { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } });
}
