/**
 * The built dist/leash running `leash shell` as its own process: whatever
 * happens to leash — SIGKILL, a stop signal, SIGSTOP past its deadline, its
 * guard killed — the command and its children end within about a second;
 * SIGUSR1 starts no inspector; only descriptors 0–2 reach the command.
 * Real processes throughout. Needs root and `npm run build`.
 */
import t from 'tap';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { STOP_SIGNALS } from '../../src/commands/stop-signals.js';
import { alive, childrenOf, procStat, waitFor } from '../helpers/processes.js';
import { LEASH, shellFixture } from '../helpers/shell-fixture.js';
import { isRoot } from '../helpers/tmp.js';

const skip = !existsSync(LEASH) ? 'dist/leash is missing: run `npm run build` first' : !isRoot() ? 'needs root (the configuration must be root-owned)' : '';
if (skip) {
  t.plan(0, skip);
} else {
  const fx = await shellFixture(
    'shell-binary-',
    {
      t: `timeout: 5m
commands:
  tree: {binary: '@BIN@/tree', operands: {int: [1, 1000]}}
  slow-tree: {binary: '@BIN@/tree', operands: {int: [1, 1000]}, timeout: 1s}
  fds: {binary: /usr/bin/ls, always: [/proc/self/fd]}
  sleep: {binary: /usr/bin/sleep, operands: {int: [1, 60]}}
`,
    },
    {
      // A command with a child that ignores every polite signal; both pids recorded.
      tree: `#!/bin/sh
sh -c 'trap "" HUP INT QUIT TERM USR2 ALRM; echo $$ > @DIR@/run/'"$1"'.child; exec sleep 60' &
echo $$ > @DIR@/run/$1.command
exec sleep 60
`,
    },
  );
  t.teardown(fx.cleanup);
  mkdirSync(join(fx.dir, 'run'), { mode: 0o777 });

  /** Starts `tree n` and resolves once the command and its child are running. */
  const startTree = async (n: number, command = 'tree'): Promise<{ leash: ChildProcess; exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>; pids: number[] }> => {
    const leash = fx.start(`${command} ${n}`, { stdio: 'ignore' });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) => leash.on('exit', (code, signal) => done({ code, signal })));
    const files = ['command', 'child'].map((k) => join(fx.dir, 'run', `${n}.${k}`));
    await waitFor(() => files.every((f) => existsSync(f) && readFileSync(f, 'utf8').endsWith('\n')), 5000);
    return { leash, exited, pids: files.map((f) => Number(readFileSync(f, 'utf8'))) };
  };
  const gone = (pids: number[], ms = 2000): Promise<boolean> => waitFor(() => pids.every((p) => !alive(p)), ms);

  t.test('SIGKILL to leash: the command and its child are gone within about a second', async (t) => {
    const { leash, pids } = await startTree(1);
    t.ok(pids.every(alive), 'both running');
    leash.kill('SIGKILL');
    t.ok(await gone(pids, 1500), `pids ${pids.join(', ')} gone`);
  });

  t.test('every stop signal: the command is stopped, shell.killed names the signal, exit 128+N', async (t) => {
    const runs = await Promise.all(STOP_SIGNALS.map((s, i) => startTree(100 + i)));
    STOP_SIGNALS.forEach((s, i) => runs[i]!.leash.kill(s));
    const exits = await Promise.all(runs.map((r) => r.exited));
    for (const [i, s] of STOP_SIGNALS.entries()) {
      t.same(exits[i], { code: 128 + (constants.signals[s] as number), signal: null }, `${s}: exit 128+${constants.signals[s]}`);
      t.ok(await gone(runs[i]!.pids), `${s}: the command and its child are gone`);
    }
    const killed = fx.events().filter((e) => e['event'] === 'shell.killed');
    for (const s of STOP_SIGNALS) t.ok(killed.some((e) => e['signal'] === s && /^tree 1\d\d$/.test(String(e['command']))), `${s}: audited as shell.killed`);
  });

  t.test('SIGUSR1 starts no inspector and, like SIGTSTP, SIGTTIN and SIGTTOU, changes nothing', async (t) => {
    const listeners = (): string[] =>
      ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .slice(1)
          .map((l) => l.trim().split(/\s+/))
          .filter((c) => c[3] === '0A')
          .map((c) => c[1] as string),
      );
    const before = new Set(listeners());
    const leash = fx.start('sleep 2', { stdio: 'ignore' });
    const exited = new Promise<number | null>((done) => leash.on('exit', (code) => done(code)));
    await waitFor(() => childrenOf(leash.pid as number).length > 0, 3000);
    for (const s of ['SIGUSR1', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU'] as const) leash.kill(s);
    await new Promise((r) => setTimeout(r, 700));
    t.same(listeners().filter((l) => !before.has(l)), [], 'no new listening TCP socket (the inspector would listen on 127.0.0.1:9229)');
    t.equal(procStat(leash.pid as number).state === 'T', false, 'leash is not stopped');
    t.equal(await exited, 0, 'the command ran to its end');
    t.match(fx.events().at(-1), { event: 'shell.finished', command: 'sleep 2', exit: 0 });
  });

  t.test('SIGSTOP to leash past the deadline: the guard ends the command anyway; leash, continued, reports the timeout', async (t) => {
    const { leash, exited, pids } = await startTree(2, 'slow-tree');
    leash.kill('SIGSTOP');
    t.ok(await gone(pids, 4000), 'gone about a second after the 1 s deadline, while leash is stopped');
    leash.kill('SIGCONT');
    t.same(await exited, { code: 124, signal: null });
    t.match(fx.events().at(-1), { event: 'shell.timeout', command: 'slow-tree 2' });
  });

  t.test('the guard killed by the session user: the command dies with it, leash cleans up the rest', async (t) => {
    const { leash, exited, pids } = await startTree(3);
    const guard = childrenOf(leash.pid as number).find((p) => procStat(p).comm === 'timeout');
    t.ok(guard, 'the guard (timeout) is leash child');
    process.kill(guard as number, 'SIGUSR1'); // timeout does not handle it: it just dies
    t.ok(await gone(pids), 'the command and its child are gone');
    t.same(await exited, { code: 128 + 10, signal: null }, "the stage's status: its guard died of SIGUSR1");
  });

  t.test('only descriptors 0, 1 and 2 reach the command', async (t) => {
    // Descriptor 3 of leash is a pipe from this test, open without close-on-exec.
    const leash = fx.start('fds', { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    let out = '';
    leash.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
    await new Promise((done) => leash.on('close', done));
    // ls lists its own descriptors: 0–2 and the one it opened to read the directory.
    t.same(out.trim().split('\n'), ['0', '1', '2', '3']);
  });
}
