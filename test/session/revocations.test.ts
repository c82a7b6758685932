/**
 * The revocation list: strict parsing, matching, and failing closed — a list
 * that is present but unsafe, unreadable or malformed refuses everyone (the
 * readers throw REVOCATIONS_INVALID), an absent one refuses no one.
 */
import t from 'tap';
import { chmodSync, chownSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertNotRevoked, formatRevocations, matchRevocation, parseRevocations, readRevocations, revocationValue, revocationsPath, writeRevocations, type Revocation } from '../../src/session/revocations.js';
import { isRoot, trustedTempDir } from '../helpers/tmp.js';

const e = (kind: Revocation['kind'], value: string, until: number | null = null): Revocation => ({ kind, value, reason: 'r', by: 'root', at: 100, until });

t.test('matching: each kind, expiry, grant serials', async (t) => {
  const list = [e('identity', 'alice@example.com'), e('user', 'agent'), e('session', 'abc123'), e('serial', '4660'), e('identity', 'bob@example.com', 200)];
  t.equal(matchRevocation(list, { identity: 'alice@example.com', user: 'other' }, 150)?.kind, 'identity');
  t.equal(matchRevocation(list, { identity: 'carol@example.com', user: 'agent' }, 150)?.kind, 'user');
  t.equal(matchRevocation(list, { session: 'abc123' }, 150)?.kind, 'session');
  t.equal(matchRevocation(list, { session: '0000000000001234ffffffffffffffff' }, 150)?.kind, 'serial', 'a grant session id names its serial (0x1234 = 4660)');
  t.equal(matchRevocation(list, { session: '0000000000001235ffffffffffffffff' }, 150), null);
  t.equal(matchRevocation(list, { identity: 'bob@example.com' }, 150)?.value, 'bob@example.com', 'before until');
  t.equal(matchRevocation(list, { identity: 'bob@example.com' }, 200), null, 'at until it has run out');
  t.equal(matchRevocation(list, { identity: 'alice@example.com.evil' }, 150), null, 'exact match only');
  t.throws(() => assertNotRevoked(list, { user: 'agent' }, 150), { code: 'SESSION_REVOKED' });
});

t.test('--identity is read the way sessions are labelled: every form a grant uses names its sessions', async (t) => {
  const named = (text: string): string | null => {
    const r = revocationValue('identity', text);
    return 'value' in r ? r.value : null;
  };
  t.equal(named('Alice@Example.com'), 'alice@example.com', 'an email is lowercased, as the verifier labels it');
  t.equal(named('email:alice@example.com'), 'alice@example.com', 'the grant syntax email: is dropped');
  t.equal(named('sub:1234567890'), 'sub:1234567890');
  t.equal(named('1234567890'), '1234567890', 'a plain value without @ is kept: it names a grant label or sub:<value>');
  for (const bad of ['oidc:groups:admins', 'oidc-match-end:email:@example.com', 'SUB:x', 'sub:', 'email:nobody', 'a@b@c', 'a b', '-x', '']) t.equal(named(bad), null, `refused: ${JSON.stringify(bad)}`);

  const revoked = (text: string, label: string): boolean => matchRevocation([e('identity', named(text)!)], { identity: label }, 150) !== null;
  t.ok(revoked('Alice@Example.com', 'alice@example.com'), "Alice@Example.com refuses alice's sessions");
  t.ok(revoked('email:alice@example.com', 'alice@example.com'), 'so does the grant syntax');
  t.ok(revoked('1234567890', 'sub:1234567890'), 'a bare sub refuses the sub: label');
  t.ok(revoked('alice@example.com', 'Alice@Example.com'), 'a CA grant labelled in capitals (leash grant --identity)');
  t.ok(revoked('ops-bot', 'ops-bot'), 'a CA grant label, exactly');
  t.ok(revoked('alice@example.com', 'sub:alice@example.com'), 'a sub spelled like the email too: a revocation matches more, never less');
  t.notOk(revoked('sub:1234567890', '1234567890'), 'sub: names the sub label only');
  t.notOk(revoked('ops-bot', 'Ops-Bot'), 'a label without @ is compared exactly');
  t.notOk(revoked('alice@example.com', 'alice@example.com.evil'), 'never a prefix');
  // A list written before labels were normalised: its entries mean what they say.
  const old = parseRevocations('f', '{"version":1,"entries":[{"identity":"Alice@Example.com","reason":"","by":"root","at":1,"until":null},{"identity":"email:bob@example.com","reason":"","by":"root","at":1,"until":null}]}');
  t.same(old.map((r) => r.value), ['alice@example.com', 'bob@example.com']);
  t.throws(() => parseRevocations('f', '{"version":1,"entries":[{"identity":"oidc:groups:x","reason":"","by":"root","at":1,"until":null}]}'), { code: 'REVOCATIONS_INVALID' }, 'a grant pattern in the list is malformed: everyone is refused until it is fixed');
});

t.test('the file round-trips and any malformation is refused', async (t) => {
  const list = [e('identity', 'alice@example.com'), e('key', `SHA256:${'A'.repeat(43)}`, 500)];
  t.same(parseRevocations('f', formatRevocations(list)), list);
  t.same(parseRevocations('f', formatRevocations([])), []);
  const bad = [
    'not json',
    '[]',
    '{"version":2,"entries":[]}',
    '{"version":1,"entries":[],"extra":1}',
    '{"version":1,"entries":[{"identity":"a","user":"b","reason":"","by":"root","at":1,"until":null}]}',
    '{"version":1,"entries":[{"identity":"a","reason":"","by":"root","at":1,"until":null,"x":1}]}',
    '{"version":1,"entries":[{"identity":"a b","reason":"","by":"root","at":1,"until":null}]}',
    '{"version":1,"entries":[{"serial":"18446744073709551616","reason":"","by":"root","at":1,"until":null}]}',
    '{"version":1,"entries":[{"user":"agent","reason":"","by":"root","at":-1,"until":null}]}',
    '{"version":1,"entries":[{"user":"agent","reason":1,"by":"root","at":1,"until":null}]}',
  ];
  for (const text of bad) t.throws(() => parseRevocations('f', text), { code: 'REVOCATIONS_INVALID' }, text);
});

t.test('on disk: absent = nothing revoked; unsafe or malformed = everyone refused', { skip: isRoot() ? false : 'needs root (root-owned config dir)' }, async (t) => {
  const tmp = await trustedTempDir('revocations-');
  t.teardown(tmp.cleanup);
  t.same(readRevocations(tmp.path), [], 'no file: nothing is revoked');
  writeRevocations(tmp.path, [e('user', 'agent')]);
  t.match(readRevocations(tmp.path), [{ kind: 'user', value: 'agent' }]);
  chmodSync(revocationsPath(tmp.path), 0o666);
  t.throws(() => readRevocations(tmp.path), { code: 'REVOCATIONS_INVALID' }, 'group/world-writable: refused');
  chmodSync(revocationsPath(tmp.path), 0o644);
  chownSync(revocationsPath(tmp.path), 65534, 65534);
  t.throws(() => readRevocations(tmp.path), { code: 'REVOCATIONS_INVALID' }, 'not root-owned: refused');
  chownSync(revocationsPath(tmp.path), 0, 0);
  writeFileSync(revocationsPath(tmp.path), '{"version":1,"entries":[', { mode: 0o644 });
  t.throws(() => readRevocations(tmp.path), { code: 'REVOCATIONS_INVALID' }, 'truncated: refused');
  writeFileSync(join(tmp.path, 'x'), '');
});
