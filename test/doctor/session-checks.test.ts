/** leash doctor's checks for sessions and CA mode: the runtime tree, sshd's KRL, the revocation list, a CA key. */
import t from 'tap';
import { checkCaKey, checkKrl, checkRevocations, checkRuntimeDir, type FileFacts } from '../../src/doctor/checks.js';

const dir = (uid: number, mode: number): FileFacts => ({ uid, gid: 0, mode: 0o40000 | mode, isFile: false, isDirectory: true, isSymlink: false });
const file = (uid: number, mode: number): FileFacts => ({ uid, gid: 0, mode: 0o100000 | mode, isFile: true, isDirectory: false, isSymlink: false });
const tree = (over: Partial<Record<number, FileFacts | null>> = {}) => {
  const base: (FileFacts | null)[] = [dir(0, 0o755), dir(999, 0o700), dir(999, 0o700), dir(0, 0o1730), dir(0, 0o1770)];
  const names = ['/run/leash', '/run/leash/verify', '/run/leash/logins', '/run/leash/sessions', '/run/leash/sessions/running'];
  return { runtimeDir: '/run/leash', dirs: names.map((n, i) => [n, i in over ? over[i]! : base[i]!] as const), akcUid: 999 };
};

t.test('the runtime tree', async (t) => {
  t.equal(checkRuntimeDir(tree(), 'leash runtime init').status, 'ok');
  t.match(checkRuntimeDir(tree({ 3: null }), 'leash runtime init'), { status: 'fail', detail: /does not exist.*SESSION_REGISTRY_UNAVAILABLE/, fix: /runtime init/ });
  t.match(checkRuntimeDir(tree({ 2: dir(1000, 0o700) }), 'x'), { status: 'fail', detail: /logins/ }, 'logins owned by someone else');
  t.match(checkRuntimeDir(tree({ 3: dir(0, 0o730) }), 'x'), { status: 'fail', detail: /sticky/ });
  t.match(checkRuntimeDir(tree({ 3: dir(0, 0o1733) }), 'x'), { status: 'warn' }, 'writable by every account');
});

t.test("sshd's KRL: missing or broken refuses every public key", async (t) => {
  t.equal(checkKrl({ path: '/etc/leash/revoked.krl', file: file(0, 0o644), problem: null }).status, 'ok');
  t.match(checkKrl({ path: '/etc/leash/revoked.krl', file: null, problem: null }), { status: 'fail', detail: /refuses every public-key login/ });
  t.match(checkKrl({ path: '/k', file: file(0, 0o666), problem: null }), { status: 'fail' }, 'writable by others');
  t.match(checkKrl({ path: '/k', file: file(0, 0o644), problem: 'not an OpenSSH KRL' }), { status: 'fail', detail: /not an OpenSSH KRL/ });
});

t.test('the revocation list and a CA key', async (t) => {
  t.equal(checkRevocations(null, 0).status, 'ok');
  t.equal(checkRevocations('broken', 0).status, 'fail');
  t.equal(checkCaKey('/etc/leash/ca/ca', null), null, 'no CA key here: no check');
  t.equal(checkCaKey('/etc/leash/ca/ca', file(0, 0o600))?.status, 'ok');
  t.equal(checkCaKey('/etc/leash/ca/ca', file(0, 0o640))?.status, 'fail');
});

t.test('sshd in CA mode only (no AuthorizedKeysCommand) is a valid set-up', async (t) => {
  const { checkSshd } = await import('../../src/doctor/checks.js');
  const r = checkSshd({ ok: true, text: 'authorizedkeyscommand none\ntrustedusercakeys /etc/leash/user-ca.pub\nrevokedkeys /etc/leash/revoked.krl\n' }, '/etc/leash', '/etc/leash');
  t.match(r.result, { status: 'ok', detail: /CA mode only/ });
  t.equal(checkSshd({ ok: true, text: 'authorizedkeyscommand none\n' }, '/etc/leash', '/etc/leash').result.status, 'fail', 'neither: still a failure');
});
