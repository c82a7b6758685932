/**
 * The one ownership rule (unsafeReason) and the parent walk over it
 * (assertTrustedParents), on a tree built for the test: every answer is
 * known in advance, so each assertion fails if the rule changes. (The old
 * version checked the checkout's own directory and accepted either answer.)
 */
import t from 'tap';
import { chmodSync, chownSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { assertTrustedParents, unsafeReason } from '../../src/trust/ownership.js';
import { isRoot, trustedTempDir } from '../helpers/tmp.js';

t.test('unsafeReason: root-owned and not writable by group or others, or why not', async (t) => {
  t.equal(unsafeReason('/x', { uid: 0, mode: 0o40755 }), null);
  t.equal(unsafeReason('/x', { uid: 0, mode: 0o100644 }), null);
  t.equal(unsafeReason('/x', { uid: 0, mode: 0o40555 }), null);
  t.equal(unsafeReason('/x', { uid: 1000, mode: 0o40755 }), '/x is owned by uid 1000, not root');
  t.equal(unsafeReason('/x', { uid: 1000, mode: 0o40555 }), '/x is owned by uid 1000, not root', 'read-only to its owner is not enough: the owner can chmod');
  t.equal(unsafeReason('/x', { uid: 0, mode: 0o40775 }), '/x is group- or world-writable (mode 775)');
  t.equal(unsafeReason('/x', { uid: 0, mode: 0o40757 }), '/x is group- or world-writable (mode 757)');
  t.equal(unsafeReason('/x', { uid: 0, mode: 0o41777 }), '/x is group- or world-writable (mode 1777)');
  t.equal(unsafeReason('/x', { uid: 998, mode: 0o40755 }, 998), null, 'the one extra owner a caller trusts');
  t.equal(unsafeReason('/x', { uid: 997, mode: 0o40755 }, 998), '/x is owned by uid 997, not root or uid 998');
});

t.test('assertTrustedParents: every directory up to /, on a tree of known owners and modes', { skip: isRoot() ? false : 'needs root (chown)' }, async (t) => {
  const tmp = await trustedTempDir('ownership-');
  t.teardown(tmp.cleanup);
  const a = join(tmp.path, 'a');
  const b = join(a, 'b');
  mkdirSync(b, { recursive: true, mode: 0o755 });
  chmodSync(a, 0o755);
  chmodSync(b, 0o755);

  t.doesNotThrow(() => assertTrustedParents(b), 'root-owned 0755 all the way up');

  chmodSync(a, 0o775);
  t.throws(() => assertTrustedParents(b), { code: 'CONFIG_UNSAFE', message: `${a} is group- or world-writable (mode 775)` }, 'a group-writable directory above');
  chmodSync(a, 0o757);
  t.throws(() => assertTrustedParents(b), { code: 'CONFIG_UNSAFE', message: `${a} is group- or world-writable (mode 757)` }, 'world-writable');
  chmodSync(a, 0o755);
  chownSync(a, 65534, 0);
  t.throws(() => assertTrustedParents(b), { code: 'CONFIG_UNSAFE', message: `${a} is owned by uid 65534, not root` }, 'owned by another user');
  chownSync(a, 0, 0);
  chownSync(b, 65534, 0);
  chmodSync(b, 0o555);
  t.throws(() => assertTrustedParents(b), { code: 'CONFIG_UNSAFE', message: `${b} is owned by uid 65534, not root` }, 'the directory itself counts, read-only or not');
  chownSync(b, 0, 0);
  chmodSync(b, 0o755);
  t.doesNotThrow(() => assertTrustedParents(b), 'safe again');

  const link = join(tmp.path, 'link');
  symlinkSync(a, link);
  t.throws(() => assertTrustedParents(join(link, 'b')), { code: 'CONFIG_UNSAFE', message: `${link} is a symbolic link` }, 'a symlink on the way up');
  t.throws(() => assertTrustedParents(join(tmp.path, 'missing')), { code: 'CONFIG_MISSING' }, 'a missing directory');

  // A relative path is made absolute first: it terminates at /, and messages name absolute paths.
  const cwd = process.cwd();
  t.teardown(() => process.chdir(cwd));
  process.chdir(b);
  t.doesNotThrow(() => assertTrustedParents('.'));
  chmodSync(a, 0o775);
  t.throws(() => assertTrustedParents('.'), { code: 'CONFIG_UNSAFE', message: `${a} is group- or world-writable (mode 775)` });
  t.throws(() => assertTrustedParents('..'), { code: 'CONFIG_UNSAFE', message: `${a} is group- or world-writable (mode 775)` }, 'and so does one that walks up');
  chmodSync(a, 0o755);
  t.throws(() => assertTrustedParents('/tmp'), { code: 'CONFIG_UNSAFE', message: '/tmp is group- or world-writable (mode 1777)' });
});
