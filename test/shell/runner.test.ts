import t from 'tap';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../src/shell/exec.js';
import { CHILD_ENV } from '../../src/shell/env.js';

const dir = mkdtempSync(join(tmpdir(), 'leash-exec-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** Runs with stdout going to a file, so the child's output does not mix into the TAP stream. */
async function capture(binary: string, argv: string[], timeoutMs = 10_000) {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
  const fd = openSync(out, 'w');
  try {
    const result = await runCommand({ binary, argv, timeoutMs, stdio: ['ignore', fd, fd] });
    return { ...result, output: readFileSync(out, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test('the exit status propagates', async (t) => {
  t.equal((await capture('/usr/bin/true', ['true'])).status, 0);
  t.equal((await capture('/usr/bin/false', ['false'])).status, 1);
  t.equal((await capture('/bin/sh', ['sh', '-c', 'exit 42'])).status, 42);
  t.equal((await capture('/bin/sh', ['sh', '-c', 'kill -USR1 $$'])).status, 128 + 10, 'death by signal N is 128+N');
});

t.test('the environment is exactly the fixed allowlist', async (t) => {
  process.env['LD_PRELOAD'] = '/tmp/evil.so';
  process.env['BASH_ENV'] = '/tmp/evil';
  t.teardown(() => {
    delete process.env['LD_PRELOAD'];
    delete process.env['BASH_ENV'];
  });
  const r = await capture('/usr/bin/env', ['env', '-0']);
  const seen: Record<string, string> = Object.fromEntries(r.output.split('\0').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  // tap's processinfo plugin patches child_process.spawn in the test process to
  // add its own tracking variables; they are not leash's doing and not in production.
  for (const k of Object.keys(seen)) if (k.startsWith('_TAPJS_') || (k === 'NODE_OPTIONS' && seen[k]!.includes('@tapjs/processinfo'))) delete seen[k];
  t.same(seen, CHILD_ENV);
});

t.test('working directory is / and argv[0] is the command name', async (t) => {
  const r = await capture('/bin/sh', ['diag', '-c', 'pwd; echo "$0"']);
  t.equal(r.output, '/\ndiag\n');
});

t.test('a timeout kills the whole process group, grandchildren included', async (t) => {
  const pidFile = join(dir, 'grandchild.pid');
  // The grandchild ignores SIGTERM, so only the group SIGKILL after the grace period stops it.
  const script = `sh -c 'trap "" TERM; echo $$ > ${pidFile}; sleep 60' & sleep 60`;
  const started = Date.now();
  const r = await capture('/bin/sh', ['sh', '-c', script], 700);
  t.ok(r.timedOut, 'reported as timed out');
  t.ok(Date.now() - started < 8000, 'returned promptly');
  for (let i = 0; i < 50 && !existsSync(pidFile); i++) await new Promise((res) => setTimeout(res, 20));
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  for (let i = 0; i < 100 && alive(grandchild); i++) await new Promise((res) => setTimeout(res, 50));
  t.notOk(alive(grandchild), `grandchild ${grandchild} is gone`);
});

t.test('processes left behind by a finished command are killed', async (t) => {
  const pidFile = join(dir, 'orphan.pid');
  const r = await capture('/bin/sh', ['sh', '-c', `sleep 60 & echo $! > ${pidFile}`]);
  t.equal(r.status, 0);
  const orphan = Number(readFileSync(pidFile, 'utf8'));
  for (let i = 0; i < 100 && alive(orphan); i++) await new Promise((res) => setTimeout(res, 20));
  t.notOk(alive(orphan), 'the background sleep did not survive the command');
});
