/** leash doctor's pure judgements: facts in, one checklist line (with a fix for every failure) out. */
import t from 'tap';
import { CLOCK_FLOOR } from '../../src/clock.js';
import { checkAuditLog, checkClock, checkProviderKeys, checkSshd, mayAccess, unsafeInChain, type AuditFacts, type FileFacts } from '../../src/doctor/checks.js';

const dir = (uid = 0, mode = 0o40755): FileFacts => ({ uid, gid: 0, mode, isFile: false, isDirectory: true, isSymlink: false });
const file = (uid: number, gid: number, mode: number): FileFacts => ({ uid, gid, mode: 0o100000 | mode, isFile: true, isDirectory: false, isSymlink: false });
const T = (lines: string[]) => ({ ok: true as const, text: lines.join('\n') + '\n' });

t.test('mayAccess: owner, then group, then other bits; root always', async (t) => {
  const st = { uid: 0, gid: 50, mode: 0o620 };
  t.ok(mayAccess(st, { name: 'a', uid: 1000, gids: [1000, 50] }, 2), 'group member may write');
  t.notOk(mayAccess(st, { name: 'b', uid: 1001, gids: [1001] }, 2), 'others may not');
  t.notOk(mayAccess({ uid: 1000, gid: 50, mode: 0o020 }, { name: 'a', uid: 1000, gids: [50] }, 2), 'owner bits win even if the group could');
  t.ok(mayAccess(st, { name: 'root', uid: 0, gids: [0] }, 4));
});

t.test('checkSshd', async (t) => {
  const good = ['authorizedkeyscommand /usr/local/bin/leash verify %u %k %t', 'authorizedkeyscommanduser leash', 'exposeauthinfo yes'];
  const r = checkSshd(T(good), '/etc/leash', '/etc/leash');
  t.equal(r.result.status, 'ok');
  t.same(r.akc, { program: '/usr/local/bin/leash', configDir: undefined, user: 'leash' });

  const other = checkSshd(T(['authorizedkeyscommand /usr/local/bin/opkssh verify %u %k %t', 'authorizedkeyscommanduser opksshuser', 'exposeauthinfo no']), '/etc/leash', '/etc/leash');
  t.equal(other.result.status, 'fail', "opkssh's command is not leash's");
  t.match(other.result.fix, /install\.sh/);
  t.equal(checkSshd(T(['authorizedkeyscommand none']), '/etc/leash', '/etc/leash').result.status, 'fail');
  t.equal(checkSshd(T([...good.slice(0, 1), 'authorizedkeyscommanduser root', 'exposeauthinfo yes']), '/etc/leash', '/etc/leash').result.status, 'fail', 'root as AKC user');
  t.equal(checkSshd(T([...good.slice(0, 2), 'exposeauthinfo no']), '/etc/leash', '/etc/leash').result.status, 'fail', 'ExposeAuthInfo no');
  const dirMismatch = checkSshd(T(['authorizedkeyscommand /usr/local/bin/leash --config-dir /etc/leash-b verify %u %k %t', ...good.slice(1)]), '/etc/leash', '/etc/leash');
  t.equal(dirMismatch.result.status, 'fail');
  t.match(dirMismatch.result.fix, /--config-dir \/etc\/leash-b/);
  t.equal(checkSshd(T(['authorizedkeyscommand /usr/local/bin/leash --config-dir /etc/leash-b verify %u %k %t', ...good.slice(1)]), '/etc/leash-b', '/etc/leash').result.status, 'ok');
  t.equal(checkSshd(T(['authorizedkeyscommand /usr/local/bin/leash verify %u %k', ...good.slice(1)]), '/etc/leash', '/etc/leash').result.status, 'fail', 'missing %t');
  t.equal(checkSshd({ ok: false, error: 'no hostkeys available' }, '/etc/leash', '/etc/leash').result.status, 'fail');
});

t.test('unsafeInChain names the first unsafe directory', async (t) => {
  t.equal(unsafeInChain([['/usr/local/bin', dir()], ['/usr/local', dir()], ['/', dir()]]), null);
  t.match(unsafeInChain([['/opt/x', dir(1000)], ['/', dir()]]), /^\/opt\/x is owned by uid 1000/);
  t.match(unsafeInChain([['/tmp/x', dir()], ['/tmp', dir(0, 0o41777)]]), /^\/tmp is group- or world-writable/);
});

t.test('checkProviderKeys', async (t) => {
  const o = { now: 2_000_000_000, refreshAge: 3600, maxStale: 7 * 86400, akcUid: 998, akcUser: 'leash', bin: '/usr/local/bin/leash' };
  const base = { issuer: 'https://op.example', file: '/var/cache/leash/x.json' };
  t.equal(checkProviderKeys({ ...base, state: { ok: true, fetchedAt: o.now - 100, uid: 998, mode: 0o100644 } }, o).status, 'ok', 'fresh');
  const stale = checkProviderKeys({ ...base, state: { ok: true, fetchedAt: o.now - 7200, uid: 998, mode: 0o100644 }, reachable: { ok: false, error: 'timeout' } }, o);
  t.equal(stale.status, 'fail', 'old cache and provider unreachable');
  t.match(stale.fix, /runuser -u leash -- \/usr\/local\/bin\/leash jwks refresh/);
  t.equal(checkProviderKeys({ ...base, state: null, reachable: { ok: true } }, o).status, 'warn', 'no cache, but reachable');
  t.equal(checkProviderKeys({ ...base, state: null, reachable: { ok: false, error: 'ECONNREFUSED' } }, o).status, 'fail');
  t.equal(checkProviderKeys({ ...base, state: { ok: true, fetchedAt: o.now - 10, uid: 1000, mode: 0o100644 }, reachable: { ok: false, error: 'x' } }, o).status, 'fail', 'foreign-owned cache is discarded by leash');
  t.equal(checkProviderKeys({ ...base, state: { ok: true, fetchedAt: o.now - 10, uid: 998, mode: 0o100666 }, reachable: { ok: false, error: 'x' } }, o).status, 'fail', 'world-writable cache');
  t.match(checkProviderKeys({ ...base, state: { ok: true, fetchedAt: o.now + 3600, uid: 998, mode: 0o100644 } }, o).detail, /clock went backwards/);
  t.equal(checkProviderKeys({ ...base, state: null, pinned: { ok: true, keys: 2 } }, o).status, 'ok');
});

t.test('checkAuditLog', async (t) => {
  const leash = { name: 'leash', uid: 998, gids: [998, 990] };
  const agent = { name: 'agent', uid: 1000, gids: [1000] };
  const base: AuditFacts = {
    path: '/var/log/leash/audit.jsonl',
    file: file(0, 990, 0o620),
    appendOnly: true,
    dirChain: [['/var/log/leash', dir()], ['/var/log', dir()], ['/var', dir()], ['/', dir()]],
    writers: [leash],
    unknownPrincipals: [],
    groupName: 'leash-audit',
  };
  const good = checkAuditLog(base);
  t.equal(good.length, 1);
  t.equal(good[0]!.status, 'ok');

  const notMember = checkAuditLog({ ...base, writers: [leash, agent] });
  t.equal(notMember[0]!.status, 'fail', 'a granted user outside the group cannot append');
  t.match(notMember[0]!.fix, /^usermod -aG leash-audit agent/);
  t.equal(checkAuditLog({ ...base, writers: [leash, { ...agent, gids: [1000, 990] }] })[0]!.status, 'ok');

  t.match(checkAuditLog({ ...base, appendOnly: false })[0]!.fix, /chattr \+a/);
  t.equal(checkAuditLog({ ...base, file: null })[0]!.status, 'fail');
  t.equal(checkAuditLog({ ...base, file: file(998, 990, 0o620) })[0]!.status, 'fail', 'owned by a writer');
  t.equal(checkAuditLog({ ...base, file: file(0, 990, 0o622) })[0]!.status, 'fail', 'world-writable');
  t.match(checkAuditLog({ ...base, dirChain: [['/var/log/leash', dir(998)], ['/', dir()]] })[0]!.detail, /could replace the log/);
  const unknown = checkAuditLog({ ...base, unknownPrincipals: ['ghost'] });
  t.same(unknown.map((r) => r.status), ['ok', 'warn'], 'an unknown principal only warns');
});

t.test('checkClock', async (t) => {
  t.equal(checkClock(CLOCK_FLOOR + 86400, true).status, 'ok');
  t.equal(checkClock(CLOCK_FLOOR + 86400, null).status, 'ok', 'no timedatectl: nothing to say');
  t.equal(checkClock(CLOCK_FLOOR + 86400, false).status, 'warn');
  t.equal(checkClock(1_000_000_000, true).status, 'fail');
  t.equal(checkClock(5_000_000_000, true).status, 'fail');
});

