import t from 'tap';
import { guardedCommand, guardPrograms, GUARD_SETPRIV, GUARD_TIMEOUT } from '../../src/shell/guard.js';
import type { FsView } from '../../src/policy/fs-view.js';
import { realFs } from '../../src/policy/fs-view.js';

const stage = { command: 'cat', binary: '/usr/bin/cat', argv: ['cat', '-n', '--', '/var/log/syslog'] };

t.test('the guarded command: setpriv, timeout with its backstop, setpriv again, then exactly the decided argv', async (t) => {
  const g = guardedCommand({ setpriv: '/usr/bin/setpriv', timeout: '/usr/bin/timeout' }, stage, 302);
  t.equal(g.file, '/usr/bin/setpriv');
  t.same(g.args, ['--pdeathsig', 'ALRM', '--', '/usr/bin/timeout', '--signal=KILL', '--', '302s', '/usr/bin/setpriv', '--pdeathsig', 'KILL', '--', '/usr/bin/cat', '-n', '--', '/var/log/syslog']);
  t.throws(() => guardedCommand({ setpriv: 'a', timeout: 'b' }, stage, 0), RangeError);
  t.throws(() => guardedCommand({ setpriv: 'a', timeout: 'b' }, stage, 1.5), RangeError);
});

t.test('the guard programs must be present and root-owned, like any pinned binary', async (t) => {
  t.match(guardPrograms(realFs), { ok: true, programs: { setpriv: /setpriv$/, timeout: /timeout$/ } }, 'this host has both');
  const without = (missing: string): FsView => ({
    ...realFs,
    realpath: (p) => {
      if (p === missing) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
      return realFs.realpath(p);
    },
  });
  t.match(guardPrograms(without(GUARD_SETPRIV)), { ok: false, detail: /\/usr\/bin\/setpriv \(util-linux\).*not installed/ });
  t.match(guardPrograms(without(GUARD_TIMEOUT)), { ok: false, detail: /\/usr\/bin\/timeout \(coreutils\).*not installed/ });
  const writable: FsView = { ...realFs, lstat: (p) => ({ ...realFs.lstat(p), ...(p.endsWith('timeout') ? { mode: 0o100777 } : {}) }) };
  t.match(guardPrograms(writable), { ok: false, detail: /timeout.*writable/ });
});
