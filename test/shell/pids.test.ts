/**
 * The `pid` value type: a process of a listed unit or user, never init, a
 * kernel thread, sshd, or any process of a leash session — a session must
 * never signal another session (or itself). The last case runs the real
 * dist/leash as an unprivileged user: two sessions on one local user, one
 * trying to signal the other's leash, its command, its shell and its threads.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPid } from '../../src/shell/pids.js';
import { decide } from '../../src/shell/decide.js';
import { fakeHost } from '../helpers/fake-host.js';
import { runLeash } from '../helpers/leash-process.js';
import { alive, childrenOf, procStat, waitFor } from '../helpers/processes.js';
import { fsWithBinaries, shippedProfile } from '../helpers/profiles.js';
import { makeRuntimeDir } from '../helpers/runtime-dir.js';
import { LEASH } from '../helpers/shell-fixture.js';
import { ensureUser } from '../helpers/sshd.js';
import { installBinary, isRoot, trustedTempDir } from '../helpers/tmp.js';

// A host with two leash sessions (one whose shell exec'd leash, one whose shell did not), nginx and cron.
const host = fakeHost({
  users: { 'www-data': 33, root: 0, alice: 1000 },
  processes: {
    1: { comm: 'systemd', ppid: 0, unit: 'init.scope' },
    2: { comm: 'kthreadd', ppid: 0 },
    50: { comm: 'kworker/0:1', ppid: 2 },
    100: { comm: 'sshd', ppid: 1, unit: 'ssh.service' },
    200: { comm: 'sshd', ppid: 100, unit: 'ssh.service' },
    201: { comm: 'sshd', ppid: 200, uid: 1000, euid: 1000, unit: 'ssh.service' },
    300: { comm: 'leash', ppid: 201, uid: 1000, euid: 1000, unit: 'ssh.service' },
    301: { comm: 'sleep', ppid: 300, uid: 1000, euid: 1000, unit: 'ssh.service' },
    302: { comm: 'sh', ppid: 301, uid: 1000, euid: 1000, unit: 'ssh.service' },
    210: { comm: 'sshd-session', ppid: 100, unit: 'ssh.service' },
    600: { comm: 'bash', ppid: 210, uid: 1000, euid: 1000, unit: 'nginx.service' },
    601: { comm: 'leash', ppid: 600, uid: 1000, euid: 1000, unit: 'nginx.service' },
    400: { comm: 'nginx', ppid: 1, unit: 'nginx.service' },
    401: { comm: 'nginx', ppid: 400, uid: 33, euid: 33, unit: 'nginx.service' },
    402: { comm: 'leash', ppid: 1, uid: 33, euid: 33, unit: 'nginx.service' },
    500: { comm: 'cron', ppid: 1, unit: 'cron.service' },
    700: { comm: 'su', ppid: 1, uid: 1000, euid: 0, unit: 'session-3.scope' },
    701: { comm: 'vim\x1b[2J', ppid: 1, uid: 1000, euid: 1000, unit: 'session-3.scope' },
  },
});
const units = { units: ['nginx.service'], users: [] };

t.test('only processes of the listed units or users', async (t) => {
  t.same(checkPid('401', units, host), { ok: true }, 'an nginx worker (cgroup nginx.service)');
  t.same(checkPid('400', units, host), { ok: true }, 'the nginx master');
  t.match(checkPid('500', units, host), { ok: false, code: 'PID_NOT_ALLOWED', detail: /cron\.service/ }, 'cron is not listed');
  t.same(checkPid('401', { units: [], users: ['www-data'] }, host), { ok: true }, 'owned by a listed user (real and effective uid)');
  t.match(checkPid('400', { units: [], users: ['www-data'] }, host), { ok: false, code: 'PID_NOT_ALLOWED' }, 'root-owned master is not www-data');
  t.match(checkPid('700', { units: [], users: ['alice'] }, host), { ok: false, code: 'PID_NOT_ALLOWED' }, 'real uid alice but effective root: not alice');
  t.match(checkPid('701', { units: [], users: [] }, host), { ok: false, detail: /vim\\x1b\[2J/ }, 'a process name is attacker text: escaped in the detail');
  t.same(checkPid('401', { units: ['ngi*.service'], users: [] }, host), { ok: true }, 'unit globs');
});

t.test('never init, a kernel thread, sshd, or a process of a leash session', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['1', /init or a kernel thread/],
    ['2', /init or a kernel thread/],
    ['50', /init or a kernel thread/],
    ['100', /is sshd/],
    ['200', /is sshd/],
    ['210', /is sshd/],
    ['300', /is leash/],
    ['301', /runs under leash \(process 300\)/],
    ['302', /runs under leash \(process 300\)/],
    ['600', /ancestor of leash process 601/],
    ['601', /is leash/],
    // A leash process inside a listed unit is still a session.
    ['402', /is leash/],
  ];
  const everything = { units: ['*'], users: ['root', 'alice', 'www-data'] };
  for (const [pid, why] of cases) t.match(checkPid(pid, everything, host), { ok: false, code: 'PID_PROTECTED', detail: why }, `pid ${pid}`);
});

t.test('only a process ID that exists', async (t) => {
  for (const bad of ['0', '-1', '01', '+5', '1e3', '0x10', '4194305', '99999999', '', 'self']) {
    t.match(checkPid(bad, units, host), { ok: false, code: 'PID_NOT_ALLOWED' }, JSON.stringify(bad));
  }
  t.match(checkPid('9999', units, host), { ok: false, code: 'PID_NOT_ALLOWED', detail: /no process 9999/ });
});

t.test('the shipped remediation kill uses it', async (t) => {
  const remediation = shippedProfile('remediation');
  const fs = { ...fsWithBinaries([remediation.commands.get('kill')!.binary]), process: host.process, pids: host.pids, userId: host.userId };
  t.match(decide(remediation, 'kill -s TERM 401', fs), { allow: true, stages: [{ argv: ['kill', '-s', 'TERM', '401'] }] });
  t.match(decide(remediation, 'kill -s TERM 401 301', fs), { allow: false, code: 'PID_PROTECTED', detail: /operand 2: process 301/ }, 'every pid is checked');
  t.match(decide(remediation, 'kill -s KILL 601', fs), { allow: false, code: 'PID_PROTECTED' }, 'another session');
  t.match(decide(remediation, 'kill -s KILL 500', fs), { allow: true }, 'cron.service is listed too');
  t.match(decide(remediation, 'kill -s KILL 701', fs), { allow: false, code: 'PID_NOT_ALLOWED' }, 'a login session is not');
});


t.test('threads: a thread ID is judged as its process', async (t) => {
  // kill(2) with a thread's ID signals the whole thread group: the leader decides.
  const threads = fakeHost({
    users: { alice: 1000 },
    processes: {
      201: { comm: 'sshd', ppid: 1, uid: 1000, euid: 1000 },
      300: { comm: 'MainThread', ppid: 201, uid: 1000, euid: 1000, leash: true },
      305: { comm: 'libuv-worker', ppid: 201, uid: 1000, euid: 1000, tgid: 300 },
      400: { comm: 'sleep', ppid: 1, uid: 1000, euid: 1000 },
      405: { comm: 'sleep', ppid: 1, uid: 1000, euid: 1000, tgid: 400 },
    },
  });
  const alice = { units: [], users: ['alice'] };
  t.match(checkPid('300', alice, threads), { ok: false, code: 'PID_PROTECTED', detail: /process 300 \(MainThread\) is leash/ }, 'leash is known by its executable, not its name');
  t.match(checkPid('305', alice, threads), { ok: false, code: 'PID_PROTECTED', detail: /thread 305 of process 300/ }, "a thread of leash is leash");
  t.same(checkPid('405', alice, threads), { ok: true }, 'a thread of an allowed process is allowed');
});

const realSkip = !isRoot() ? 'needs root (an unprivileged session user)' : !existsSync(LEASH) ? 'dist/leash is missing: run `npm run build` first' : false;

t.test('the real dist/leash: its process, what runs under it, the shell above it and its threads are protected', { skip: realSkip }, async (t) => {
  const user = await ensureUser('leash-t-pids');
  const bin = await installBinary(LEASH);
  t.teardown(bin.cleanup);
  const tmp = await trustedTempDir('pids-');
  t.teardown(tmp.cleanup);
  const conf = join(tmp.path, 'conf');
  mkdirSync(join(conf, 'policies'), { recursive: true, mode: 0o755 });
  chmodSync(conf, 0o755);
  chmodSync(join(conf, 'policies'), 0o755);
  const [audit, recordings] = [join(tmp.path, 'audit.jsonl'), join(tmp.path, 'recordings.jsonl')];
  for (const f of [audit, recordings]) {
    writeFileSync(f, '', { mode: 0o666 });
    chmodSync(f, 0o666);
  }
  const runtime = await makeRuntimeDir(tmp.path);
  writeFileSync(join(conf, 'leash.yaml'), `audit_log: ${audit}\nrecordings_log: ${recordings}\nruntime_dir: ${runtime}\n`, { mode: 0o644 });
  // A profile that lets a session signal its own user's stray processes: what the pid type's users: is for.
  writeFileSync(
    join(conf, 'policies', 'p.yaml'),
    `commands:\n  sleep: {binary: /usr/bin/sleep, operands: {int: [1, 120]}}\n  kill:\n    binary: /usr/bin/kill\n    options:\n      -s: {enum: [TERM, KILL]}\n    operands: {pid: {users: [${user.name}]}, count: 1..4}\n`,
    { mode: 0o644 },
  );
  const children: ChildProcess[] = [];
  t.teardown(() => children.forEach((c) => c.kill('SIGKILL')));
  const asUser = { uid: user.uid, gid: user.gid };
  const shellArgs = (session: string, identity: string): string[] => ['--config-dir', conf, 'shell', '--profile', 'p', '--session', session, '--identity', identity];

  // bob's session: a shell of the user (it stays, `; :`) runs leash, which runs sleep under its guard.
  const bob = spawn('/usr/bin/env', ['-i', 'SSH_ORIGINAL_COMMAND=sleep 60', '/bin/sh', '-c', '"$0" "$@"; :', bin.path, ...shellArgs('bob-session', 'bob@example.com')], { ...asUser, cwd: '/', stdio: 'ignore' });
  children.push(bob);
  const below = (pid: number): number[] => childrenOf(pid).flatMap((c) => [c, ...below(c)]);
  let leash = 0;
  const started = await waitFor(() => {
    leash = childrenOf(bob.pid!)[0] ?? 0;
    return leash > 0 && below(leash).some((p) => procStat(p).comm === 'sleep');
  }, 15_000);
  t.ok(started, "bob's leash runs sleep");
  const command = below(leash).find((p) => procStat(p).comm === 'sleep')!;
  const threads = readdirSync(`/proc/${leash}/task`).map(Number).filter((tid) => tid !== leash);
  t.not(procStat(leash).comm, 'leash', `the runtime names leash's main thread ${JSON.stringify(procStat(leash).comm)}: a name proves nothing`);
  t.ok(threads.length > 0, 'leash has worker threads');
  const stranger = spawn('/usr/bin/sleep', ['60'], { ...asUser, stdio: 'ignore' });
  children.push(stranger);

  const explain = (pid: number, binary = bin.path) => runLeash(binary, ['--config-dir', conf, 'explain', '--profile', 'p', '--json', '--', `kill -s KILL ${pid}`], asUser);
  const verdict = async (pid: number, binary?: string): Promise<Record<string, unknown>> => JSON.parse((await explain(pid, binary)).stdout) as Record<string, unknown>;
  t.match(await verdict(leash), { decision: 'deny', reason: 'PID_PROTECTED', detail: /is leash/ }, `bob's leash (${leash})`);
  t.match(await verdict(command), { decision: 'deny', reason: 'PID_PROTECTED', detail: new RegExp(`runs under leash \\(process ${leash}\\)`) }, `bob's command (${command})`);
  t.match(await verdict(bob.pid!), { decision: 'deny', reason: 'PID_PROTECTED', detail: /ancestor of leash process/ }, `the shell that ran bob's leash (${bob.pid})`);
  t.match(await verdict(threads[0]!), { decision: 'deny', reason: 'PID_PROTECTED', detail: new RegExp(`thread ${threads[0]} of process ${leash}`) }, `a worker thread of bob's leash (${threads[0]})`);
  t.match(await verdict(stranger.pid!), { decision: 'allow' }, 'a process of the same user outside any session may be signalled');
  // Another account cannot read /proc/PID/exe of bob's processes: it judges by their command line.
  const other = await ensureUser('leash-t-pids2');
  const seenByOther = JSON.parse((await runLeash(bin.path, ['--config-dir', conf, 'explain', '--profile', 'p', '--json', '--', `kill -s KILL ${command}`], { uid: other.uid, gid: other.gid })).stdout) as unknown;
  t.match(seenByOther, { decision: 'deny', reason: 'PID_PROTECTED', detail: /runs under leash/ }, "to another account, bob's command still runs under leash");

  // alice's session on the same local user asks for it through leash shell: refused, bob's leash lives on.
  const alice = await runLeash(bin.path, shellArgs('alice-session', 'alice@example.com'), { ...asUser, env: { SSH_ORIGINAL_COMMAND: `kill -s KILL ${leash}` } });
  t.equal(alice.code, 126, "alice's kill is refused", alice);
  t.match(alice.stderr, /PID_PROTECTED/);
  t.ok(alive(leash) && alive(command), "bob's leash and its command still run");

  // leash upgraded while bob's session runs: the old process runs a deleted file, still at the installed path.
  const next = `${bin.path}.new`;
  copyFileSync(LEASH, next);
  chmodSync(next, 0o755);
  renameSync(next, bin.path);
  t.match(await verdict(leash), { decision: 'deny', reason: 'PID_PROTECTED', detail: /is leash/ }, 'a leash running the replaced executable is still leash');
});
