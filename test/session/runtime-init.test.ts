/** `leash runtime init`: the registry tree with its owners and modes, repaired when wrong, never through a symlink. */
import t from 'tap';
import { chmodSync, lstatSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { initRuntime } from '../../src/session/runtime-init.js';
import { execFileSync } from 'node:child_process';
import { ensureAkcUser, ensureUser } from '../helpers/sshd.js';
import { isRoot, trustedTempDir } from '../helpers/tmp.js';

if (!isRoot()) {
  t.plan(0, 'needs root (chown)');
  process.exit(0);
}

t.test('creates, repairs, refuses a symlink', async (t) => {
  const tmp = await trustedTempDir('runtime-init-');
  t.teardown(tmp.cleanup);
  const akc = await ensureAkcUser();
  const run = join(tmp.path, 'run');
  const owners = { verifier: { uid: akc.uid, gid: akc.gid }, writersGid: 0 };
  initRuntime(run, owners);
  const meta = (p: string): string => {
    const st = lstatSync(join(run, p));
    return `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)}`;
  };
  t.equal(meta('.'), '0:0 755');
  t.equal(meta('verify'), `${akc.uid}:${akc.gid} 700`);
  t.equal(meta('logins'), `${akc.uid}:${akc.gid} 700`);
  t.equal(meta('sessions'), '0:0 1730');
  t.equal(meta('sessions/running'), '0:0 1770');
  chmodSync(join(run, 'sessions'), 0o777);
  initRuntime(run, { verifier: owners.verifier, writersGid: null });
  t.equal(meta('sessions'), '0:0 1733', 'repaired; without an audit group any account may write, sticky');
  rmSync(join(run, 'logins'), { recursive: true });
  mkdirSync(join(tmp.path, 'elsewhere'));
  symlinkSync(join(tmp.path, 'elsewhere'), join(run, 'logins'));
  t.throws(() => initRuntime(run, owners), { code: 'SESSION_REGISTRY_UNAVAILABLE' }, 'a symlink in the place of a directory is refused');
});

t.test("another account's directory is never adopted: a running/ made by a session user is refused, not chowned to root", async (t) => {
  // The review's race: a session user (in the writers' group) makes sessions/running
  // while it is missing, then swaps it for a symlink between root's checks and its
  // chown. Refusing a directory root did not make ends it at the first step, and
  // the descriptor-based chown ends the second (the swap itself is not timed here).
  const tmp = await trustedTempDir('runtime-init-owner-');
  t.teardown(tmp.cleanup);
  const user = await ensureUser('leash-t-rtinit');
  const run = join(tmp.path, 'run');
  const owners = { verifier: null, writersGid: user.gid };
  initRuntime(run, owners);
  rmSync(join(run, 'sessions', 'running'), { recursive: true });
  execFileSync('/usr/sbin/runuser', ['-u', user.name, '--', '/bin/mkdir', join(run, 'sessions', 'running')]);
  const before = lstatSync(join(run, 'sessions', 'running'));
  t.equal(before.uid, user.uid, 'the session user made it');
  t.throws(() => initRuntime(run, owners), { code: 'SESSION_REGISTRY_UNAVAILABLE', message: /belongs to uid/ }, 'refused');
  const st = lstatSync(join(run, 'sessions', 'running'));
  t.equal(st.uid, user.uid, 'not chowned to root');
  t.equal(st.mode, before.mode, 'mode untouched');
});

