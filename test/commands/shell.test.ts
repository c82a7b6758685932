import t from 'tap';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runShell, type ShellProcess } from '../../src/commands/shell.js';
import { makeRuntimeDir } from '../helpers/runtime-dir.js';
import { isRoot, trustedTempDir } from '../helpers/tmp.js';

if (!isRoot()) {
  t.plan(0, 'configuration must be root-owned: run as root');
  process.exit(0);
}

const tmp = await trustedTempDir('shell-cmd');
t.teardown(tmp.cleanup);
const dir = tmp.path;
const audit = join(dir, 'audit.jsonl');
const marker = join(dir, 'marker');
mkdirSync(join(dir, 'policies'), { mode: 0o755 });
// The session registry (track C): a session's commands are recorded under runtime_dir.
const runtime = await makeRuntimeDir(dir);
// Test programs, root-owned like any pinned binary.
mkdirSync(join(dir, 'bin'), { mode: 0o755 });
writeFileSync(join(dir, 'bin/both'), '#!/bin/sh\necho to-stderr >&2\necho to-stdout\n', { mode: 0o755 });
writeFileSync(join(dir, 'leash.yaml'), `audit_log: ${audit}\nruntime_dir: ${runtime}\n`, { mode: 0o644 });
writeFileSync(
  join(dir, 'policies/t.yaml'),
  `timeout: 5m
commands:
  'true': {binary: /usr/bin/true}
  'false': {binary: /usr/bin/false}
  sleep: {binary: /usr/bin/sleep, operands: {int: [1, 60]}, timeout: 1s}
  touch: {binary: /usr/bin/touch, operands: {regex: '^${dir}/marker$'}}
  seq: {binary: /usr/bin/seq, operands: {int: [1, 100000000]}}
  stderr-and-out: {binary: ${dir}/bin/both}
`,
  { mode: 0o644 },
);
writeFileSync(join(dir, 'policies/small.yaml'), 'max_output: 1K\ncommands:\n  seq: {binary: /usr/bin/seq, operands: {int: [1, 100000000]}}\n', { mode: 0o644 });
writeFileSync(join(dir, 'policies/broken.yaml'), 'commands:\n  \'true\': {binary: /usr/bin/true, bogus: 1}\n', { mode: 0o644 });

const events = (): Array<Record<string, unknown>> =>
  existsSync(audit) ? readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) : [];

/**
 * The process as runShell sees it, inside this test process: output into
 * files (not the TAP stream), the test's own descriptors left alone (tap
 * talks to its parent through one), and a stop the test can trigger.
 */
const out = join(dir, 'stdout');
const err = join(dir, 'stderr');
let stopNow: (signal: NodeJS.Signals) => void = () => {};
const testProcess = (): ShellProcess => ({
  closeInheritedDescriptors: () => {},
  catchSignals: () => {
    const c = new AbortController();
    stopNow = (s) => c.abort(s);
    return { signal: c.signal, release: () => {} };
  },
  stdoutFd: openSync(out, 'w'),
  stderrFd: openSync(err, 'w'),
});

async function shellRun(command: string | undefined, extra: Record<string, string> = {}, env: Record<string, string> = {}) {
  const proc = testProcess();
  try {
    const code = await runShell(
      {
        configDirFlag: dir,
        values: { profile: 't', identity: 'alice@example.com', session: 'sess-1', ...extra },
        positionals: [],
        env: { ...(command === undefined ? {} : { SSH_ORIGINAL_COMMAND: command }), SSH_CONNECTION: '192.0.2.7 50000 127.0.0.1 22', ...env },
      },
      proc,
    );
    return { code, stdout: readFileSync(out, 'utf8'), stderr: readFileSync(err, 'utf8') };
  } finally {
    closeSync(proc.stdoutFd);
    closeSync(proc.stderrFd);
  }
}
const shell = async (...args: Parameters<typeof shellRun>): Promise<number> => (await shellRun(...args)).code;

t.test('an allowed command runs; decision and result are audited', async (t) => {
  const before = events().length;
  t.equal(await shell('true'), 0);
  t.equal(await shell('false'), 1, 'the child exit status is leash exit status');
  const added = events().slice(before);
  t.match(added, [
    { event: 'shell.allowed', profile: 't', identity: 'alice@example.com', session: 'sess-1', client: '192.0.2.7 50000', command: 'true', argv: ['true'], binary: '/usr/bin/true', reason: 'ALLOWED' },
    { event: 'shell.finished', exit: 0, argv: ['true'], duration_ms: Number },
    { event: 'shell.allowed', command: 'false' },
    { event: 'shell.finished', exit: 1 },
  ]);
  for (const e of added) t.match(e['ts'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'UTC timestamp');
});

t.test('a denied command is audited and runs nothing', async (t) => {
  t.equal(await shell(`touch ${dir}/other`), 126);
  t.equal(await shell('true; touch x'), 126);
  t.match(events().slice(-2), [
    { event: 'shell.denied', reason: 'OPERAND_INVALID' },
    { event: 'shell.denied', reason: 'METACHAR_FORBIDDEN', command: 'true; touch x' },
  ]);
});

t.test('control bytes are escaped in the log', async (t) => {
  t.equal(await shell('true\n\x1b[31mid'), 126);
  t.match(events().at(-1), { reason: 'BYTE_FORBIDDEN', command: 'true\\x0a\\x1b[31mid' });
});

t.test('a timeout kills the command and exits 124', async (t) => {
  t.equal(await shell('sleep 30'), 124);
  t.match(events().at(-1), { event: 'shell.timeout', exit: 124 });
});

t.test('an expired session runs nothing', async (t) => {
  t.equal(await shell(`touch ${marker}`, { expires: String(Math.floor(Date.now() / 1000) - 1) }), 126);
  t.notOk(existsSync(marker));
  t.match(events().at(-1), { event: 'shell.denied', reason: 'SESSION_EXPIRED' });
  t.equal(await shell('true', { expires: 'tomorrow' }), 126);
  t.match(events().at(-1), { reason: 'SESSION_EXPIRES_INVALID' });
});

t.test('a profile that does not load denies everything: the client gets a generic line, the audit log the details', async (t) => {
  const r = await shellRun('true', { profile: 'broken' });
  t.equal(r.code, 78);
  t.match(events().at(-1), { event: 'shell.denied', reason: 'PROFILE_INVALID', detail: /broken\.yaml:2:\d+: .*unknown key "bogus"/ });
  t.equal(r.stderr, "leash: denied (PROFILE_INVALID): leash's configuration on this host has a problem, so nothing runs until the operator fixes it (the details are in the audit log)\n");
  t.equal(await shell('true', { profile: 'missing' }), 78);
  t.equal(await shell('true', { profile: '../t' }), 78);
});

t.test('a leash.yaml that does not load: the client gets a generic line, the default audit log the details', async (t) => {
  const sub = await trustedTempDir('shell-badyaml');
  t.teardown(sub.cleanup);
  mkdirSync(join(sub.path, 'policies'), { mode: 0o755 });
  writeFileSync(join(sub.path, 'policies/t.yaml'), readFileSync(join(dir, 'policies/t.yaml')), { mode: 0o644 });
  writeFileSync(join(sub.path, 'leash.yaml'), 'grants:\n  - identity: a@example.com\n    secret_key: 1\n', { mode: 0o644 });
  const log = join(sub.path, 'default-audit.jsonl');
  const proc = testProcess();
  const code = await runShell({ configDirFlag: sub.path, values: { profile: 't', session: 'sess-2' }, positionals: [], env: { SSH_ORIGINAL_COMMAND: `touch ${marker}`, LEASH_AUDIT_LOG: log } }, proc);
  closeSync(proc.stdoutFd);
  closeSync(proc.stderrFd);
  t.equal(code, 78);
  t.notOk(existsSync(marker), 'nothing ran');
  const told = readFileSync(err, 'utf8');
  t.match(told, /^leash: configuration error \(CONFIG_INVALID\): leash's configuration on this host has a problem/);
  t.notMatch(told, /leash\.yaml|secret_key|:\d+:\d+/, 'no file, key or position reaches the client');
  const logged = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(logged, [{ event: 'shell.denied', reason: 'CONFIG_INVALID', session: 'sess-2', profile: 't', command: `touch ${marker}`, detail: /leash\.yaml:3:\d+: .*secret_key/ }]);
});

t.test('an interactive login lists the commands and is refused', async (t) => {
  t.equal(await shell(undefined), 126);
  t.match(events().at(-1), { event: 'shell.denied', reason: 'COMMAND_EMPTY' });
});

t.test('if the audit log cannot be written, nothing runs', async (t) => {
  const sub = await trustedTempDir('shell-noaudit');
  t.teardown(sub.cleanup);
  mkdirSync(join(sub.path, 'policies'), { mode: 0o755 });
  writeFileSync(join(sub.path, 'policies/t.yaml'), readFileSync(join(dir, 'policies/t.yaml')), { mode: 0o644 });
  writeFileSync(join(sub.path, 'leash.yaml'), `audit_log: ${sub.path}/no-such-dir/audit.jsonl\n`, { mode: 0o644 });
  const code = await runShell({ configDirFlag: sub.path, values: { profile: 't' }, positionals: [], env: { SSH_ORIGINAL_COMMAND: `touch ${marker}` } }, testProcess());
  t.equal(code, 78);
  t.notOk(existsSync(marker), 'the command did not run');
});

t.test('environment overrides count only outside an SSH session', async (t) => {
  const other = join(dir, 'env-audit.jsonl');
  // Outside SSH (an operator, a test) LEASH_AUDIT_LOG is honoured…
  t.equal(await runShell({ configDirFlag: dir, values: { profile: 't' }, positionals: [], env: { SSH_ORIGINAL_COMMAND: 'true', LEASH_AUDIT_LOG: other } }, testProcess()), 0);
  t.ok(existsSync(other));
  // …inside one it is the client's environment, and ignored.
  const before = events().length;
  t.equal(await shell('true', {}, { LEASH_AUDIT_LOG: join(dir, 'ignored.jsonl') }), 0);
  t.notOk(existsSync(join(dir, 'ignored.jsonl')));
  t.equal(events().length, before + 2);
});

t.test("the command's output is relayed: stdout to stdout, stderr to stderr, and counted", async (t) => {
  const r = await shellRun('stderr-and-out');
  t.equal(r.code, 0);
  t.equal(r.stdout, 'to-stdout\n');
  t.equal(r.stderr, 'to-stderr\n');
  t.match(events().at(-1), { event: 'shell.finished', output_bytes: 20 });
  t.match(events().at(-2), { event: 'shell.allowed', max_output: 256 * 1024 * 1024 });
});

t.test('past max_output the command is stopped: exit 125, shell.output_limit, a short line', async (t) => {
  const r = await shellRun('seq 100000000', { profile: 'small' });
  t.equal(r.code, 125);
  t.equal(Buffer.byteLength(r.stdout), 1024, 'exactly max_output bytes reached the client');
  t.match(r.stderr, /^leash: output limit: the command wrote more than 1024 bytes \(max_output of profile small\); it was stopped\n$/);
  t.match(events().at(-1), { event: 'shell.output_limit', exit: 125, max_output: 1024, output_bytes: 1024, argv: ['seq', '100000000'] });
});

t.test('a stop signal while the command runs: it is killed, shell.killed with the signal, exit 128+N', async (t) => {
  setTimeout(() => stopNow('SIGUSR2'), 300);
  const r = await shellRun('sleep 30', { profile: 't' });
  t.equal(r.code, 128 + 12);
  t.match(r.stderr, /leash: stopped by SIGUSR2; the command was killed/);
  t.match(events().at(-1), { event: 'shell.killed', signal: 'SIGUSR2', exit: 140, argv: ['sleep', '30'] });
});

t.test('a stop signal before the command starts: nothing runs', async (t) => {
  const proc = testProcess();
  const catchSignals = proc.catchSignals;
  proc.catchSignals = () => {
    const caught = catchSignals();
    stopNow('SIGTERM');
    return caught;
  };
  const code = await runShell({ configDirFlag: dir, values: { profile: 't' }, positionals: [], env: { SSH_ORIGINAL_COMMAND: `touch ${marker}` } }, proc);
  closeSync(proc.stdoutFd);
  closeSync(proc.stderrFd);
  t.equal(code, 128 + 15);
  t.notOk(existsSync(marker), 'the command did not run');
  t.match(events().at(-1), { event: 'shell.denied', reason: 'SIGNALLED', detail: /SIGTERM/ });
});
