/**
 * The real OpenSSH client, as a person would run it against the demo:
 * `ssh -F <the demo's ssh_config> ALIAS 'COMMAND'` (the config names the
 * port, the user, the key and certificate, and pins the demo's host key).
 * A ControlMaster connection is an `ssh -M -N` process the demo started
 * itself: its commands ride the one authenticated connection, as an agent's
 * tool calls do, and `leash revoke` must close it.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LeashError } from '../errors.js';
import { runProgram, startProgram, waitFor, type Background, type RunResult } from './processes.js';

export const SSH = '/usr/bin/ssh';

export interface Master {
  alias: string;
  socket: string;
  client: Background;
  /** A command over this connection. */
  run: (command: string, timeoutMs?: number) => Promise<RunResult>;
  /** Starts a command over this connection and leaves it running. */
  start: (command: string) => Promise<Background>;
  /** `ssh -O check`: true while the master holds its connection. */
  alive: () => Promise<boolean>;
}

export interface SshClient {
  /** `ssh -F CONFIG ALIAS -- COMMAND`. */
  run: (alias: string, command: string, timeoutMs?: number) => Promise<RunResult>;
  /** Opens a ControlMaster connection for `alias` and waits until it is up. */
  master: (alias: string) => Promise<Master>;
}

export function sshClient(config: string, socketDir: string, signal: AbortSignal): SshClient {
  const base = ['-F', config];
  return {
    run: (alias, command, timeoutMs = 30_000) => runProgram(SSH, [...base, alias, '--', command], { signal, timeoutMs }),
    master: async (alias) => {
      const socket = join(socketDir, `${alias}.sock`);
      const mux = ['-o', `ControlPath=${socket}`];
      const client = await startProgram(SSH, [...base, '-M', ...mux, '-o', 'ControlPersist=no', '-N', alias]);
      const alive = async (): Promise<boolean> => existsSync(socket) && (await runProgram(SSH, [...base, ...mux, '-O', 'check', alias], { signal })).code === 0;
      const up = await waitFor(`the ControlMaster connection of ${alias}`, async () => ((await alive()) ? true : client.running() ? undefined : false), { signal });
      if (!up) throw new LeashError('DEMO_FAILED', `ssh -M for ${alias} exited before its connection was up: ${(await client.exited).stderr.trim()}`);
      return {
        alias,
        socket,
        client,
        run: (command, timeoutMs = 30_000) => runProgram(SSH, [...base, ...mux, alias, '--', command], { signal, timeoutMs }),
        start: (command) => startProgram(SSH, [...base, ...mux, alias, '--', command]),
        alive,
      };
    },
  };
}
