/**
 * The demo's own sshd (`sshd -D -e -f <its config>`): the host's sshd,
 * /etc/ssh and its host keys are never read or touched. It listens on a
 * port of 127.0.0.1 the kernel just handed out (another program can take
 * it in between: then the next one is tried) and logs to a file in the
 * demo's directory.
 *
 * Stopping it stops its connections too: sshd gives every connection a
 * session of its own (setsid), so they survive the listener; `stop()` kills
 * everything below the listener first, then the listener.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { LeashError } from '../errors.js';
import { descendants, processTable, readProc } from '../session/proc.js';
import { accepts, freePort } from './loopback.js';
import { runOk, runProgram, sleep, startProgram, type Background } from './processes.js';

export const SSHD = '/usr/sbin/sshd';
export const SSH_KEYGEN = '/usr/bin/ssh-keygen';

export interface ThrowawaySshd {
  port: number;
  pid: number;
  /** The listener's start time (/proc): what is below it is the demo's. */
  start: number;
  /** What sshd has logged so far. */
  log: () => string;
  /** Kills its connections and the listener; resolves when all of them are gone. */
  stop: () => Promise<void>;
}

export interface SshdFiles {
  config: string;
  hostKey: string;
  log: string;
}

/** Makes the host key (once) and starts sshd with `render(port)` as its configuration. */
export async function startThrowawaySshd(files: SshdFiles, render: (port: number) => string, signal: AbortSignal): Promise<ThrowawaySshd> {
  if (!existsSync(files.hostKey)) await runOk(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'leash-demo-host', '-f', files.hostKey], { signal });
  const readLog = (): string => {
    try {
      return readFileSync(files.log, 'utf8');
    } catch {
      return '';
    }
  };
  for (let attempt = 0; attempt < 4; attempt++) {
    const port = await freePort();
    writeFileSync(files.config, render(port), { mode: 0o644 });
    const check = await runProgram(SSHD, ['-t', '-f', files.config], { signal });
    if (check.code !== 0) throw new LeashError('DEMO_FAILED', `sshd -t refused ${files.config}: ${check.stderr.trim()}`);
    const logStart = readLog().length;
    const sshd = await startProgram(SSHD, ['-D', '-e', '-f', files.config], { logFile: files.log });
    const start = readProc(sshd.pid)?.start ?? -1;
    const stop = (): Promise<void> => stopSshd(sshd, start);
    try {
      for (const end = Date.now() + 10_000; sshd.running() && Date.now() < end; await sleep(25, signal)) {
        if (await accepts(port)) return { port, pid: sshd.pid, start, log: readLog, stop };
      }
    } catch (err) {
      await stop();
      throw err;
    }
    await stop();
    if (/Address already in use/.test(readLog().slice(logStart))) continue; // lost the port to another program
    throw new LeashError('DEMO_FAILED', `sshd did not start on 127.0.0.1:${port}: ${readLog().slice(logStart).trim().slice(-800)}`);
  }
  throw new LeashError('DEMO_FAILED', 'sshd found no free port on 127.0.0.1 in 4 attempts');
}

async function stopSshd(sshd: Background, start: number): Promise<void> {
  const table = processTable();
  if (table.get(sshd.pid)?.start === start) {
    for (const p of descendants(table, sshd.pid)) {
      if (p.pid === sshd.pid) continue;
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }
  }
  await sshd.stop();
}
