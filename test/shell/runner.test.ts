/**
 * The runner with real processes: every stage under the real guard
 * (/usr/bin/setpriv, /usr/bin/timeout), real pipes between stages, output
 * relayed into files or pipes the test reads. No sshd: the runner is a
 * library, called here as commands/shell.ts calls it.
 */
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stage } from '../../src/shell/decide.js';
import { CHILD_ENV } from '../../src/shell/env.js';
import { guardPrograms } from '../../src/shell/guard.js';
import { realFs } from '../../src/policy/fs-view.js';
import { runPipeline, type RunPlan, type RunResult } from '../../src/shell/runner.js';
import type { OutputStream } from '../../src/shell/relay.js';
import { alive, childrenOf, waitFor } from '../helpers/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'leash-runner-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const guard = guardPrograms(realFs);
if (!guard.ok) throw new Error(guard.detail);

/** A stage as decide() makes one: argv[0] the command name, binary the resolved path. */
const stage = (binary: string, ...args: string[]): Stage => ({ command: binary.split('/').pop() as string, binary, argv: [binary.split('/').pop() as string, ...args] });
const sh = (script: string): Stage => stage('/bin/sh', '-c', script);

interface Captured extends RunResult {
  stdout: string;
  stderr: string;
}

/** Runs with stdout and stderr relayed into files, so nothing mixes into the TAP stream. */
async function run(stages: Stage[], extra: Partial<RunPlan> = {}): Promise<Captured> {
  const id = Math.random().toString(36).slice(2);
  const [out, err] = [join(dir, `out-${id}`), join(dir, `err-${id}`)];
  const [outFd, errFd] = [openSync(out, 'w'), openSync(err, 'w')];
  try {
    const r = await runPipeline({ stages, guard: guard.ok ? guard.programs : (undefined as never), timeoutMs: 10_000, maxOutputBytes: 1 << 30, input: 'none', stdoutFd: outFd, stderrFd: errFd, ...extra });
    return { ...r, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
  } finally {
    closeSync(outFd);
    closeSync(errFd);
  }
}

/** A named pipe: a real pipe the test can hold either end of. */
const fifo = (name: string): string => {
  const path = join(dir, `${name}-${Math.random().toString(36).slice(2)}.fifo`);
  execFileSync('/usr/bin/mkfifo', [path]);
  return path;
};
const pidFile = (name: string): string => join(dir, `${name}-${Math.random().toString(36).slice(2)}.pid`);
const readPid = async (file: string): Promise<number> => {
  await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').endsWith('\n'), 5000);
  return Number(readFileSync(file, 'utf8'));
};

t.test('the exit status propagates', async (t) => {
  t.equal((await run([stage('/usr/bin/true')])).status, 0);
  t.equal((await run([stage('/usr/bin/false')])).status, 1);
  t.equal((await run([sh('exit 42')])).status, 42);
  t.equal((await run([sh('kill -USR1 $$')])).status, 128 + 10, 'death by signal N is 128+N, through the guard');
  t.match(await run([stage('/usr/bin/true')]), { ending: { kind: 'exited' }, stageStatuses: [0], statusStage: 0 });
});

t.test('the environment is exactly the fixed allowlist', async (t) => {
  process.env['LD_PRELOAD'] = '/tmp/evil.so';
  process.env['BASH_ENV'] = '/tmp/evil';
  t.teardown(() => {
    delete process.env['LD_PRELOAD'];
    delete process.env['BASH_ENV'];
  });
  const r = await run([stage('/usr/bin/env', '-0')]);
  const seen = Object.fromEntries(r.stdout.split('\0').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  // tap's processinfo plugin patches child_process.spawn in the test process to
  // add its own tracking variables; they are not leash's doing and not in production.
  for (const k of Object.keys(seen)) if (k.startsWith('_TAPJS_') || (k === 'NODE_OPTIONS' && String(seen[k]).includes('@tapjs/processinfo'))) delete seen[k];
  t.same(seen, CHILD_ENV);
});

t.test('working directory /, argv[0] the pinned binary, standard input /dev/null, no terminal', async (t) => {
  const r = await run([sh('pwd; echo "$0"; readlink /proc/$$/fd/0; [ -t 0 ] || [ -t 1 ] || [ -t 2 ] || echo no-tty')]);
  t.equal(r.stdout, '/\n/bin/sh\n/dev/null\nno-tty\n');
});

t.test('the guard: the command runs in a session and process group led by timeout, itself under setpriv', async (t) => {
  const file = pidFile('self');
  let groups: readonly number[] = [];
  const r = await run([sh(`echo $$ > ${file}; exec sleep 0.3`)], { onStart: (g) => (groups = g) });
  t.equal(r.status, 0);
  const pid = Number(readFileSync(file, 'utf8'));
  t.equal(groups.length, 1, 'one process group per stage');
  t.not(pid, groups[0], 'the command is not the group leader: its guard is');
});

t.test('a timeout kills the whole process group, grandchildren included', async (t) => {
  const file = pidFile('grandchild');
  // The grandchild ignores SIGTERM, so only the group SIGKILL after the grace period stops it.
  const r = await run([sh(`sh -c 'trap "" TERM; echo $$ > ${file}; sleep 60' & sleep 60`)], { timeoutMs: 700 });
  t.match(r, { ending: { kind: 'timeout' } });
  const grandchild = await readPid(file);
  await waitFor(() => !alive(grandchild), 3000);
  t.notOk(alive(grandchild), `grandchild ${grandchild} is gone`);
});

t.test('processes left behind by a finished command are killed', async (t) => {
  const file = pidFile('orphan');
  const r = await run([sh(`sleep 60 & echo $! > ${file}`)]);
  t.equal(r.status, 0);
  const orphan = await readPid(file);
  await waitFor(() => !alive(orphan), 3000);
  t.notOk(alive(orphan), 'the background sleep did not survive the command');
});

t.test('a pipeline: stage i+1 reads stage i, nothing else reads or writes in between', async (t) => {
  const r = await run([stage('/usr/bin/seq', '1', '5000'), stage('/usr/bin/grep', '7'), stage('/usr/bin/wc', '-l')]);
  t.equal(r.stdout.trim(), '1355');
  t.match(r, { status: 0, stageStatuses: [0, 0, 0], statusStage: 2, ending: { kind: 'exited' } });
  const both = await run([sh('echo one >&2; echo out'), sh('cat; echo two >&2')]);
  t.equal(both.stdout, 'out\n', 'only the last stage reaches stdout');
  t.same(both.stderr.split('\n').filter(Boolean).sort(), ['one', 'two'], 'every stage reaches stderr');
});

t.test('a pipeline: its status is the first failing stage, or the last', async (t) => {
  t.match(await run([stage('/usr/bin/true'), stage('/usr/bin/false')]), { status: 1, statusStage: 1, stageStatuses: [0, 1] });
  t.match(await run([sh('exit 3'), stage('/usr/bin/cat')]), { status: 3, statusStage: 0, stageStatuses: [3, 0] }, 'a failing first stage wins over a succeeding last');
  t.match(await run([sh('exit 3'), sh('cat >/dev/null; exit 5')]), { status: 3, statusStage: 0 }, 'the first failure, reading from the left');
  const early = await run([stage('/usr/bin/yes'), stage('/usr/bin/head', '-n', '2')]);
  t.equal(early.stdout, 'y\ny\n');
  t.match(early, { status: 0, statusStage: 1, stageStatuses: [128 + 13, 0] }, 'a writer killed by SIGPIPE after its reader finished is not a failure');
});

t.test('a pipeline: one timeout stops every stage', async (t) => {
  const files = [pidFile('a'), pidFile('b')];
  const started = Date.now();
  const r = await run([sh(`echo $$ > ${files[0]}; exec sleep 60`), sh(`echo $$ > ${files[1]}; trap "" TERM; sleep 60; cat`)], { timeoutMs: 600 });
  t.match(r, { ending: { kind: 'timeout' } });
  t.ok(Date.now() - started < 6000, 'ended within the grace period');
  for (const f of files) t.notOk(alive(Number(readFileSync(f, 'utf8'))), `${f}: gone`);
});

t.test('the output limit counts every stage: exactly max_output bytes are relayed, then the run stops', async (t) => {
  const hooked: Array<{ stage: number; stream: OutputStream; bytes: number }> = [];
  const file = pidFile('writer');
  const r = await run([sh(`echo $$ > ${file}; head -c 3000 /dev/zero >&2; exec seq 1 10000000`), stage('/usr/bin/cat')], {
    maxOutputBytes: 100_000,
    onOutput: (stage, stream, chunk) => hooked.push({ stage, stream, bytes: chunk.length }),
  });
  t.match(r, { ending: { kind: 'output_limit' }, outputBytes: 100_000 });
  t.equal(Buffer.byteLength(r.stdout) + Buffer.byteLength(r.stderr), 100_000, 'the client got exactly the limit');
  t.equal(r.stderr, '\0'.repeat(3000), "the first stage's stderr counts");
  t.equal(hooked.reduce((n, h) => n + h.bytes, 0), 100_000, 'the hook saw exactly what was relayed');
  t.ok(hooked.some((h) => h.stage === 0 && h.stream === 'stderr') && hooked.some((h) => h.stage === 1 && h.stream === 'stdout'), 'with stage and stream');
  t.notOk(alive(Number(readFileSync(file, 'utf8'))), 'the writer is gone');
});

t.test('the output hook sees every relayed chunk, in order', async (t) => {
  const seen: Buffer[] = [];
  const r = await run([stage('/usr/bin/seq', '1', '200000')], { onOutput: (_s, stream, chunk) => void (stream === 'stdout' && seen.push(Buffer.from(chunk))) });
  t.equal(Buffer.concat(seen).toString(), r.stdout);
  t.equal(r.outputBytes, Buffer.byteLength(r.stdout));
});

t.test('a slow client slows the command down; leash does not buffer its output', async (t) => {
  // The destination is a pipe that nobody reads: after it and leash's own
  // pipe from the command are full, the command's write(2) blocks.
  const path = fifo('unread');
  const fd = openSync(path, 'r+');
  // Afterwards the pipe is drained, so that leash's last write in flight can finish.
  t.teardown(async () => {
    await new Promise((done) => spawn('/usr/bin/timeout', ['1', '/usr/bin/cat', path], { stdio: 'ignore' }).on('exit', done));
    closeSync(fd);
  });
  const controller = new AbortController();
  let group = 0;
  const running = runPipeline({ stages: [stage('/usr/bin/head', '-c', '200000000', '/dev/zero')], guard: guard.ok ? guard.programs : (undefined as never), timeoutMs: 20_000, maxOutputBytes: 1 << 30, input: 'none', stdoutFd: fd, stderrFd: fd, stop: controller.signal, onStart: (g) => (group = g[0] as number) });
  await waitFor(() => group !== 0, 2000);
  // The guard (timeout) → the command (head) once setpriv has exec'd it.
  let head = 0;
  await waitFor(() => (head = childrenOf(group)[0] ?? 0) !== 0 && readFileSync(`/proc/${head}/comm`, 'utf8').trim() === 'head', 3000);
  const written = (): number => Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${head}/io`, 'utf8'))?.[1]);
  await new Promise((r) => setTimeout(r, 500));
  const before = written();
  await new Promise((r) => setTimeout(r, 500));
  t.equal(written(), before, 'the command is blocked');
  t.ok(before < 4 * 1024 * 1024, `it wrote ${before} bytes of 200 MB: pipes and one chunk in flight, nothing more`);
  controller.abort('SIGTERM');
  const r = await running;
  t.match(r, { ending: { kind: 'signal', signal: 'SIGTERM' } }, 'a stopped run ends although the client still has not read');
  t.ok(r.outputBytes <= before);
});

t.test('a stop (leash caught a signal) ends every stage within the grace period', async (t) => {
  const controller = new AbortController();
  const file = pidFile('stopped');
  setTimeout(() => controller.abort('SIGQUIT'), 300);
  const started = Date.now();
  const r = await run([sh(`echo $$ > ${file}; trap "" TERM; sleep 60`), stage('/usr/bin/cat')], { stop: controller.signal });
  t.match(r, { ending: { kind: 'signal', signal: 'SIGQUIT' } });
  t.ok(Date.now() - started < 3000, 'about a second after the signal');
  t.notOk(alive(Number(readFileSync(file, 'utf8'))));
  t.match(await run([stage('/usr/bin/true')], { stop: AbortSignal.abort('SIGHUP') }), { ending: { kind: 'signal', signal: 'SIGHUP' }, stageStatuses: [] }, 'nothing starts after a stop');
});

t.test('a client that stops reading (EPIPE) stops the command', async (t) => {
  const path = fifo('closed');
  spawn('/usr/bin/head', ['-c', '1000', path], { stdio: 'ignore' });
  const fd = openSync(path, 'w');
  t.teardown(() => closeSync(fd));
  const r = await runPipeline({ stages: [stage('/usr/bin/yes')], guard: guard.ok ? guard.programs : (undefined as never), timeoutMs: 20_000, maxOutputBytes: 1 << 30, input: 'none', stdoutFd: fd, stderrFd: fd });
  t.match(r, { ending: { kind: 'output_closed', code: 'EPIPE' } });
});
