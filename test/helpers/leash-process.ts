/**
 * Runs the built leash (dist/leash, or any executable) as a process, as sshd
 * would: an empty environment unless one is given, optionally as another
 * user (spawn's uid/gid: setgroups([]), setgid, setuid before exec, as
 * runuser does), stdin closed, both outputs on pipes.
 *
 * Through `env -i`: under tap, @tapjs/processinfo adds NODE_OPTIONS (an
 * --import of its own) and _TAPJS_* variables to the environment of every
 * child process, even one given an explicit environment; env -i then clears
 * them again, so leash sees exactly `env`.
 */
import { spawn } from 'node:child_process';

export interface LeashRun {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export function runLeash(bin: string, args: readonly string[], o: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<LeashRun> {
  return new Promise((resolve) => {
    const env = Object.entries(o.env ?? {}).map(([k, v]) => `${k}=${v ?? ''}`);
    const child = spawn('/usr/bin/env', ['-i', ...env, bin, ...args], {
      env: {},
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
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
    child.on('error', (err) => (stderr += `\n[spawn error] ${err.message}`));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}
