/**
 * The session registry: what its writers record (seq, the per-identity
 * limit) and what root's reader believes. Every entry a non-root account
 * writes is a claim; these cases write hostile claims as a real unprivileged
 * user (runuser) and check that root's reader and kill never reach a process
 * that user could not signal itself, nor a process whose pid was reused.
 */
import t from 'tap';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { endRevokedSessions, reap } from '../../src/session/end-sessions.js';
import { killSession } from '../../src/session/kill.js';
import { readPasswd } from '../../src/session/passwd.js';
import { processTable, startTime } from '../../src/session/proc.js';
import { acquireCommandSlot, journalCommand, registerLogin, type CommandContext } from '../../src/session/registry.js';
import { readRegistry } from '../../src/session/registry-read.js';
import { SESSION_NAME } from '../../src/session/session-name.js';
import { sessionTable } from '../../src/session/sessions-view.js';
import { makeRuntimeDir } from '../helpers/runtime-dir.js';
import { ensureUser } from '../helpers/sshd.js';
import { isRoot, trustedTempDir } from '../helpers/tmp.js';

if (!isRoot()) {
  t.plan(0, 'needs root: the claims are written as real unprivileged users');
  process.exit(0);
}

const tmp = await trustedTempDir('registry-');
t.teardown(tmp.cleanup);
const runtime = await makeRuntimeDir(tmp.path);
const attacker = await ensureUser('leash-t-attacker');
const victim = await ensureUser('leash-t-victim');
const children: ChildProcess[] = [];
t.teardown(() => children.forEach((c) => c.kill('SIGKILL')));

/**
 * A long-running process as `user` (root: no user), a stand-in for a running
 * leash: with `identity`, its command line carries `--identity ID` as a
 * leash shell's does.
 */
async function sleeper(user?: string, identity?: string): Promise<{ pid: number; start: number }> {
  const argv = identity === undefined ? ['/usr/bin/sleep', '300'] : ['/bin/sh', '-c', 'sleep 300; :', 'leash', '--identity', identity];
  const c = user ? spawn('/usr/sbin/runuser', ['-u', user, '--', ...argv], { stdio: 'ignore' }) : spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  children.push(c);
  const comm = identity === undefined ? 'sleep' : 'sh';
  // runuser forks the program as its child: wait for the program itself.
  for (let i = 0; i < 100; i++) {
    const table = processTable();
    const p = [...table.values()].find((q) => q.comm === comm && (q.ppid === c.pid || q.pid === c.pid) && (user === undefined || q.uid !== 0));
    if (p) return { pid: p.pid, start: p.start };
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('sleeper did not start');
}
const alive = (pid: number, start: number): boolean => startTime(pid) === start;
const asUser = (user: string, script: string): void => void execFileSync('/usr/sbin/runuser', ['-u', user, '--', '/bin/sh', '-c', script]);

const ctx = (self: { pid: number; start: number }, over: Partial<CommandContext> = {}): CommandContext => ({
  runtimeDir: runtime,
  session: 'sess-a',
  identity: 'alice@example.com',
  user: 'root',
  uid: 0,
  profile: 'p',
  expires: undefined,
  client: '192.0.2.1 5000',
  conn: null,
  self,
  ...over,
});

t.test('seq counts the session journal; the per-identity limit counts live commands only', async (t) => {
  const a = await sleeper(undefined, 'alice@example.com');
  const b = await sleeper(undefined, 'alice@example.com');
  const c = await sleeper(undefined, 'alice@example.com');
  t.equal(journalCommand(ctx(a), 'allowed', 'uptime'), 1);
  t.equal(journalCommand(ctx(b), 'denied', 'cat /etc/shadow'), 2);
  t.equal(journalCommand(ctx(c), 'allowed', 'id'), 3);
  const s1 = acquireCommandSlot(ctx(a), 1, 'uptime', 2);
  const s2 = acquireCommandSlot(ctx(b, { session: 'sess-b' }), 1, 'id', 2);
  t.throws(() => acquireCommandSlot(ctx(c), 3, 'id', 2), { code: 'CONCURRENCY_LIMIT' }, 'a third command of the identity, in any session, is refused');
  t.ok(acquireCommandSlot(ctx(c, { identity: 'bob@example.com' }), 1, 'id', 2), 'another identity has its own limit');
  // Files that name live processes but not her leash do not use up carol's limit.
  const planted = await sleeper(attacker.name);
  const running = join(runtime, 'sessions', 'running');
  execFileSync('/usr/sbin/runuser', ['-u', attacker.name, '--', '/bin/sh', '-c', `printf x > ${running}/carol@example.com.${planted.pid}.${planted.start}; printf x > ${running}/carol@example.com.1.${processTable().get(1)!.start}`]);
  const carol1 = await sleeper(undefined, 'carol@example.com');
  const carol2 = await sleeper(undefined, 'carol@example.com');
  const first = acquireCommandSlot(ctx(carol1, { identity: 'carol@example.com' }), 1, 'id', 2);
  const second = acquireCommandSlot(ctx(carol2, { identity: 'carol@example.com' }), 2, 'id', 2);
  t.ok(second, "two of carol's own commands run at limit 2: the planted files do not count");
  first.release();
  second.release();
  process.kill(a.pid, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 100));
  const s3 = acquireCommandSlot(ctx(c), 3, 'id', 2);
  t.ok(s3, 'a command whose leash died no longer counts');
  s2.release();
  s3.release();
  void s1; // a's leash was SIGKILLed: it never releases its file
  const reg = readRegistry(runtime, processTable(), readPasswd(), Math.floor(Date.now() / 1000));
  const sa = reg.sessions.find((s) => s.session === 'sess-a');
  t.match(sa, { commands: 2, denied: 1, identity: 'alice@example.com', user: 'root', client: '192.0.2.1 5000' });
  t.match(reg.abandoned, [{ pid: a.pid }], "the dead leash's command is reported abandoned");
});

t.test('hostile claims written by a session user never reach another user, nor a reused pid', async (t) => {
  const victimProc = await sleeper(victim.name);
  const own = await sleeper(attacker.name);
  const sessions = join(runtime, 'sessions');
  const running = join(runtime, 'sessions', 'running');
  const monitor = processTable().get(process.pid)!; // any root process, claimed as an "sshd monitor"
  const conn = JSON.stringify({ monitor: { pid: monitor.pid, start: monitor.start }, child: { pid: victimProc.pid, start: victimProc.start } });
  // A journal claiming the victim's process as this session's connection, and running files naming
  // the victim's process, the attacker's own, and the attacker's own pid with a wrong start time.
  asUser(attacker.name, `printf '%s\\n' '{"t":"allowed","pid":${own.pid},"start":${own.start},"at":1,"identity":"victim@example.com","user":"${victim.name}","profile":"p","expires":null,"client":null,"conn":${conn},"command":"x"}' >> ${sessions}/evil.u${attacker.uid}`);
  asUser(attacker.name, `printf '%s' '{"session":"evil","user":"${victim.name}","conn":${conn}}' > ${running}/victim.${victimProc.pid}.${victimProc.start}`);
  asUser(attacker.name, `printf '%s' '{"session":"evil","user":"${attacker.name}"}' > ${running}/x.${own.pid}.${own.start}`);
  asUser(attacker.name, `printf '%s' '{"session":"evil"}' > ${running}/y.${own.pid}.${own.start + 1}`);
  // The victim's name on a file the attacker owns does not make it the victim's.
  asUser(attacker.name, `printf '' > ${sessions}/evil.u${victim.uid}`);
  t.throws(() => asUser(attacker.name, `printf x > ${runtime}/logins/evil.json`), 'logins/ is the verifier\'s alone');
  t.throws(() => asUser(attacker.name, `ls ${sessions}`), 'sessions/ cannot be listed by a session user');

  const reg = readRegistry(runtime, processTable(), readPasswd(), Math.floor(Date.now() / 1000));
  const evil = reg.sessions.filter((s) => s.session === 'evil');
  t.equal(evil.length, 1, 'one session: the file named for the victim uid is ignored');
  const view = evil[0]!;
  t.equal(view.uid, attacker.uid, "the claim is the attacker's");
  t.equal(view.user, attacker.name, 'the victim user name it claims is not believed');
  t.equal(view.connection, null, 'a "connection" that is not a root sshd with a child of the claimant is not one');
  t.same(view.running.map((r) => r.pid), [own.pid], "only the attacker's own running process counts");
  t.ok(reg.abandoned.some((a) => a.pid === own.pid && a.start === own.start + 1), 'a pid with another start time is a dead command, not that process');

  const k = await killSession(view);
  t.ok(k.gone);
  t.ok(alive(victimProc.pid, victimProc.start), "the victim's process is untouched");
  t.notOk(alive(own.pid, own.start), "the attacker's own process was killed");
});

t.test('a login entry is trusted only from the verifier\'s own directory', async (t) => {
  const self = processTable().get(process.pid)!;
  registerLogin(runtime, { session: 'login-1', identity: 'carol@example.com', user: 'root', profile: 'p', expires: 2000000000, monitor: { pid: self.pid, start: self.start }, at: 1 });
  t.throws(() => registerLogin(runtime, { session: '../x', identity: 'c', user: 'root', profile: 'p', expires: 1, monitor: { pid: 1, start: 1 }, at: 1 }), { code: 'SESSION_ID_INVALID' });
  const reg = readRegistry(runtime, processTable(), readPasswd(), Math.floor(Date.now() / 1000));
  const v = reg.sessions.find((s) => s.session === 'login-1');
  t.match(v, { identity: 'carol@example.com', source: 'login', state: 'ended' }, 'not an sshd: no live connection');
  t.ok(existsSync(join(runtime, 'logins', 'login-1.json')));
  t.ok(readdirSync(join(runtime, 'logins')).length >= 1);
  void readFileSync;
});

t.test("a running entry's session field is checked: never printed raw, never a path, one bad session does not stop the others", async (t) => {
  const running = join(runtime, 'sessions', 'running');
  const pwn = join(tmp.path, 'pwn');
  mkdirSync(pwn, { mode: 0o755 });
  const planted = await sleeper(attacker.name);
  const squatted = await sleeper(attacker.name);
  const good = await sleeper(attacker.name);
  // A "session" that is terminal escapes and a path out of sessions/.
  const hostile = JSON.stringify({ session: `\u001b[8m/../../../../../../..${pwn}/owned`, identity: 'x', user: attacker.name, seq: 1, command: 'uptime', at: 0, conn: null });
  asUser(attacker.name, `printf '%s\\n' '${hostile}' > ${running}/zz.${planted.pid}.${planted.start}`);
  // Two real-looking sessions of the attacker; the first has its end marker's name taken by a directory.
  asUser(attacker.name, `printf '%s' '{"session":"sq-1","user":"${attacker.name}","at":1}' > ${running}/a.${squatted.pid}.${squatted.start}`);
  asUser(attacker.name, `mkdir ${runtime}/sessions/sq-1.end`);
  asUser(attacker.name, `printf '%s' '{"session":"ok-2","user":"${attacker.name}","at":2}' > ${running}/b.${good.pid}.${good.start}`);

  const reg = readRegistry(runtime, processTable(), readPasswd(), Math.floor(Date.now() / 1000));
  t.ok(reg.sessions.every((s) => SESSION_NAME.test(s.session)), 'every session id the reader gives is a session name');
  t.notOk(reg.sessions.some((s) => s.running.some((r) => r.pid === planted.pid)), 'the entry with a hostile session field is no session');
  t.notMatch(sessionTable(reg.sessions, Date.now()), /\x1b/, 'nothing raw reaches the table');

  const ended = await endRevokedSessions(runtime, [{ kind: 'user', value: attacker.name, reason: '', by: 'root', at: 1, until: null }], Math.floor(Date.now() / 1000), () => {});
  t.notOk(existsSync(join(pwn, 'owned.end')), 'root wrote nothing outside sessions/');
  t.notOk(alive(squatted.pid, squatted.start), 'the session whose end marker was squatted is ended');
  t.notOk(alive(good.pid, good.start), 'and so is the one after it');
  t.match(ended.find((e) => e.view.session === 'sq-1'), { problem: /cannot record its end/ }, 'the marker that could not be written is reported');
  t.equal(ended.find((e) => e.view.session === 'ok-2')?.problem, null);
  await reap(runtime, [], Date.now(), () => {});
  t.notOk(readdirSync(running).some((n) => n.startsWith('zz.')), 'the reaper removes the malformed entry');
  process.kill(planted.pid, 'SIGKILL');
});
