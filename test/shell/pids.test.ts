/**
 * The `pid` value type: a process of a listed unit or user, never init, a
 * kernel thread, sshd, or any process of a leash session — a session must
 * never signal another session (or itself).
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPid } from '../../src/shell/pids.js';
import { decide } from '../../src/shell/decide.js';
import { realFs } from '../../src/policy/fs-view.js';
import { fakeHost } from '../helpers/fake-host.js';
import { fsWithBinaries, shippedProfile } from '../helpers/profiles.js';

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

t.test('real processes: a process named leash and its descendants are protected', async (t) => {
  // A copy of sh named "leash" gives a real process that the kernel names leash; it
  // runs a child that runs a grandchild, and a sibling that has nothing to do with it.
  const dir = mkdtempSync(join(tmpdir(), 'leash-pids-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fake = join(dir, 'leash');
  copyFileSync('/bin/sh', fake);
  const children: ChildProcess[] = [];
  t.teardown(() => {
    for (const c of children) c.kill('SIGKILL');
  });
  const session = spawn(fake, ['-c', '/bin/sh -c "sleep 30; :" & wait'], { stdio: 'ignore' });
  const other = spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
  children.push(session, other);
  // Wait until the grandchild (sleep under sh under leash) exists.
  const descendants = (): number[] => {
    const out: number[] = [];
    for (const p of realFs.pids()) {
      for (let q = p, depth = 0; q > 1 && depth < 16; depth++) {
        const f = realFs.process(q);
        if (f === null) break;
        if (q === session.pid && p !== session.pid) out.push(p);
        q = f.ppid;
      }
    }
    return out;
  };
  for (let i = 0; i < 100 && descendants().length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(realFs.process(session.pid!)?.comm, 'leash', 'the kernel names it leash');
  const anyRoot = { units: [], users: ['root'] };
  t.match(checkPid(String(session.pid), anyRoot, realFs), { ok: false, code: 'PID_PROTECTED', detail: /is leash/ });
  const below = descendants();
  t.ok(below.length >= 2, `found its child and grandchild (${below.join(', ')})`);
  for (const p of below) t.match(checkPid(String(p), anyRoot, realFs), { ok: false, code: 'PID_PROTECTED', detail: /runs under leash/ }, `descendant ${p}`);
  t.same(checkPid(String(other.pid), anyRoot, realFs), { ok: true }, 'an unrelated root process may be signalled');
  t.match(checkPid(String(process.pid), anyRoot, realFs), { ok: false, code: 'PID_PROTECTED', detail: /ancestor of leash process/ }, 'the test process itself is an ancestor of the fake leash');
  t.match(readFileSync(`/proc/${other.pid}/stat`, 'utf8'), /\(sleep\)/);
});
