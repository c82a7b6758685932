/**
 * `leash revoke --identity` with the real dist/leash: every form an operator
 * may type for an identity (the grant syntax, capitals, a bare sub) refuses
 * that identity's next command; a form that names no identity is refused;
 * and revoke says when no session it has seen carries the label.
 */
import t from 'tap';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runLeash } from '../helpers/leash-process.js';
import { makeRuntimeDir } from '../helpers/runtime-dir.js';
import { LEASH } from '../helpers/shell-fixture.js';
import { isRoot, trustedTempDir } from '../helpers/tmp.js';

if (!isRoot() || !existsSync(LEASH)) {
  t.plan(0, 'needs root (leash revoke) and dist/leash (npm run build)');
  process.exit(0);
}

const tmp = await trustedTempDir('revoke-cmd-');
t.teardown(tmp.cleanup);
const conf = tmp.path;
const runtime = await makeRuntimeDir(conf);
mkdirSync(join(conf, 'policies'), { mode: 0o755 });
writeFileSync(join(conf, 'policies', 'p.yaml'), 'record_output: 0\ncommands:\n  uptime: {binary: /usr/bin/uptime}\n', { mode: 0o644 });
writeFileSync(join(conf, 'leash.yaml'), `audit_log: ${join(conf, 'audit.jsonl')}\nruntime_dir: ${runtime}\n`, { mode: 0o644 });

const leash = (...args: string[]) => runLeash(LEASH, ['--config-dir', conf, ...args]);
let n = 0;
/** One command of a new session of `identity`, as sshd would start it. */
const command = (identity: string) =>
  runLeash(LEASH, ['--config-dir', conf, 'shell', '--profile', 'p', '--session', `s${n++}`, '--identity', identity], { env: { SSH_ORIGINAL_COMMAND: 'uptime' } });
const entries = (): unknown[] => (JSON.parse(readFileSync(join(conf, 'revoked.json'), 'utf8')) as { entries: unknown[] }).entries;

t.test('every form of an identity refuses its sessions', async (t) => {
  t.equal((await command('alice@example.com')).code, 0, 'alice runs uptime before');
  const r = await leash('revoke', '--identity', 'Alice@Example.com', '--reason', 'test');
  t.equal(r.code, 0, 'revoke', r);
  t.match(r.stdout, /^revoked identity alice@example\.com\n/, 'kept as the label sessions carry');
  const refused = await command('alice@example.com');
  t.equal(refused.code, 126, "alice's next command is refused", refused);
  t.match(refused.stderr, /SESSION_REVOKED/);

  t.equal((await leash('revoke', '--identity', 'email:alice@example.com')).code, 0, 'the grant syntax');
  t.match(entries(), [{ identity: 'alice@example.com' }], 'the same entry, replaced: not a second one');
  t.equal(entries().length, 1);

  t.equal((await leash('revoke', '--identity', '1234567890')).code, 0, 'a bare sub');
  t.equal((await command('sub:1234567890')).code, 126, "sub:1234567890's next command is refused");

  t.equal((await leash('unrevoke', '--identity', 'ALICE@example.com')).code, 0, 'unrevoke with other capitals finds the entry');
  t.equal((await command('alice@example.com')).code, 0, 'alice runs again');
});

t.test('a form that names no identity is refused and changes nothing', async (t) => {
  const before = readFileSync(join(conf, 'revoked.json'), 'utf8');
  for (const bad of ['oidc:groups:admins', 'oidc-match-end:email:@example.com', 'SUB:123', 'a@b@c']) {
    const r = await leash('revoke', '--identity', bad);
    t.equal(r.code, 64, `refused: ${bad}`, r);
  }
  t.equal(readFileSync(join(conf, 'revoked.json'), 'utf8'), before, 'the list is unchanged');
});

t.test('revoke says when no session it knows carries the label', async (t) => {
  const unknown = await leash('revoke', '--identity', 'nobody@example.com');
  t.equal(unknown.code, 0, 'the entry is written (it refuses a future login)');
  t.match(unknown.stderr, /no session on this host, live or ended in the last 24 hours, is named by identity nobody@example\.com/);
  t.equal((await command('carol@example.com')).code, 0, 'carol has a session');
  const known = await leash('revoke', '--identity', 'Carol@Example.com');
  t.equal(known.code, 0);
  t.notMatch(known.stderr, /no session/, 'no note for an identity with a session');
});
