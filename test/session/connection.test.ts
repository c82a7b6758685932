/**
 * Which sshd process is a connection's monitor, as leash verify sees its
 * parent and as root's reader believes a login entry: the decisions, over
 * process tables written out here (the shapes measured with OpenSSH 9.2:
 * while the AuthorizedKeysCommand runs, the monitor is `Uid: 0 989 0 989`
 * and titled "sshd: USER [priv]"; the listener is "sshd: /usr/sbin/sshd -D
 * [listener] 0 of 10-100 startups"). The real sshd cases are in
 * test/e2e/sessions-sshd.test.ts.
 */
import t from 'tap';
import { isMonitorOf, LOGIN_GRACE_MS, monitorOfParent, verifyLoginConnection } from '../../src/session/connection.js';
import { CLOCK_TICKS_PER_SECOND, type ProcInfo } from '../../src/session/proc.js';

const AKC = 989;
const proc = (pid: number, o: Partial<ProcInfo> = {}): ProcInfo => ({ pid, ppid: 1, pgrp: pid, start: 5000, comm: 'sshd', uid: 0, euid: 0, suid: 0, exited: false, ...o });
const listener = proc(100, { start: 10 });
const authenticating = proc(200, { ppid: 100, euid: AKC }); // euid switched for the AuthorizedKeysCommand
const monitor = proc(300, { ppid: 100 });
const userProcess = proc(301, { ppid: 300, uid: 1000, euid: 1000, suid: 1000 });
const adminMonitor = proc(400, { ppid: 100 });
const impostor = proc(500, { ppid: 1, uid: 1000, euid: 1000, suid: 1000 }); // a user's process that calls itself sshd
const table = new Map([listener, authenticating, monitor, userProcess, adminMonitor, impostor].map((p) => [p.pid, p]));
const titles: Record<number, string> = {
  100: 'sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups',
  200: 'sshd: agent [priv]',
  300: 'sshd: agent [priv]',
  301: 'sshd: agent@notty',
  400: 'sshd: admin [priv]',
  500: 'sshd: agent [priv]',
};
const title = (pid: number): string | null => titles[pid] ?? null;

t.test("a connection's monitor: root's sshd titled for that user, even while its effective uid is the AKC user's", async (t) => {
  t.ok(isMonitorOf(authenticating, title(200), 'agent'), 'while sshd runs the AuthorizedKeysCommand (effective uid switched)');
  t.ok(isMonitorOf(monitor, title(300), 'agent'), 'after authentication');
  t.ok(isMonitorOf(proc(600, { comm: 'sshd-session' }), 'sshd-session: agent [priv]', 'agent'), 'OpenSSH 9.8 and later');
  t.notOk(isMonitorOf(listener, title(100), 'agent'), 'never the listener');
  t.notOk(isMonitorOf(adminMonitor, title(400), 'agent'), "never another user's connection");
  t.notOk(isMonitorOf(userProcess, title(301), 'agent'), "never the connection's own process");
  t.notOk(isMonitorOf(impostor, title(500), 'agent'), 'never a process of a user, whatever it calls itself');
  t.notOk(isMonitorOf(proc(700, { suid: AKC }), 'sshd: agent [priv]', 'agent'), 'not with a saved uid other than root');
});

t.test('leash verify: its parent is the monitor, no sshd at all, or a refusal', async (t) => {
  const read = (pid: number): ProcInfo | null => table.get(pid) ?? (pid === 42 ? proc(42, { comm: 'bash', uid: 0 }) : null);
  t.same(monitorOfParent(200, 'agent', read, title), { pid: 200, start: 5000 }, 'the OpenSSH 9.2 case the review found (euid 989): recorded');
  t.equal(monitorOfParent(42, 'agent', read, title), null, 'run by hand from a shell: nothing to record');
  t.equal(monitorOfParent(9999, 'agent', read, title), null, 'a parent that cannot be seen');
  t.throws(() => monitorOfParent(100, 'agent', read, title), { code: 'SESSION_REGISTRY_UNAVAILABLE' }, 'an sshd that is not the monitor: the login is refused, not silently unrecorded');
  t.throws(() => monitorOfParent(400, 'agent', read, title), { code: 'SESSION_REGISTRY_UNAVAILABLE' }, "another user's monitor");
});

t.test('a login entry is believed for a monitor of its user that was authenticating when it was written', async (t) => {
  const boot = 1_700_000_000_000;
  const started = boot + (5000 * 1000) / CLOCK_TICKS_PER_SECOND;
  const entry = (pid: number, user: string, written: number) => ({ monitor: { pid, start: table.get(pid)?.start ?? 1 }, user, written });
  const check = (pid: number, user: string, written: number, uid = 1000) => verifyLoginConnection(entry(pid, user, written), uid, table, title, boot);
  t.match(check(200, 'agent', started + 300), { monitor: { pid: 200 }, children: [] }, 'a login still authenticating: the monitor, no user process yet');
  t.match(check(300, 'agent', started + 1000), { monitor: { pid: 300 }, children: [{ pid: 301 }] }, 'an authenticated connection and its user process');
  t.equal(check(300, 'agent', started + LOGIN_GRACE_MS + 10_000), null, 'an entry written after the connection could have been authenticating');
  t.equal(check(300, 'agent', started - 60_000), null, 'an entry older than the connection');
  t.equal(check(100, 'agent', boot + 100 + 500), null, 'the listener, however the entry is timed');
  t.equal(check(400, 'agent', started + 300), null, "another user's monitor");
  t.equal(check(400, 'admin', started + 300, 0)?.monitor.pid, 400, "the residual: an entry naming a young connection's own user is believed (docs/sessions.md)");
  t.equal(verifyLoginConnection({ monitor: { pid: 300, start: 4999 }, user: 'agent', written: started }, 1000, table, title, boot), null, 'a reused pid (other start time)');
  t.equal(verifyLoginConnection(entry(300, 'agent', started), 1000, table, title, null), null, 'no boot time: not believed');
});
