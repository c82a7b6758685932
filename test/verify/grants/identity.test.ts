import t from 'tap';
import { LeashError } from '../../../src/errors.js';
import { identityClaims, identityLabel, matchesIdentity, parseIdentityPattern, type IdentityClaims } from '../../../src/verify/grants/identity.js';

const ISS = 'https://accounts.example.com';
const claims = (extra: Record<string, unknown>): IdentityClaims => identityClaims({ iss: ISS, sub: '1234567890', ...extra });
const alice = claims({ email: 'Alice@Example.com', email_verified: true, groups: ['ssh-users', 'dev'], team: 'ops', level: 3 });

t.test('identityClaims takes iss, sub, email, email_verified', async (t) => {
  t.equal(alice.iss, ISS);
  t.equal(alice.sub, '1234567890');
  t.equal(alice.email, 'Alice@Example.com');
  t.equal(alice.emailVerified, true);
  t.equal(claims({ email: 'a@b.c', email_verified: 'true' }).emailVerified, true, 'string "true" counts');
  for (const v of [false, 'false', 'TRUE', 1, null, undefined]) t.equal(claims({ email: 'a@b.c', email_verified: v }).emailVerified, false, `email_verified ${String(v)}`);
  for (const bad of [null, [], 'x', { sub: 's' }, { iss: ISS }, { iss: ISS, sub: '' }, { iss: 1, sub: 's' }, { iss: ISS, sub: 's', email: 5 }]) {
    t.throws(() => identityClaims(bad), { code: 'CLAIMS_INVALID' });
  }
});

t.test('plain email: ASCII case-insensitive, verified only', async (t) => {
  t.ok(matchesIdentity('alice@example.com', alice));
  t.ok(matchesIdentity('ALICE@EXAMPLE.COM', alice));
  t.notOk(matchesIdentity('alice@example.org', alice));
  t.notOk(matchesIdentity('alice@example.com.', alice));
  const unverified = claims({ email: 'alice@example.com', email_verified: false });
  t.notOk(matchesIdentity('alice@example.com', unverified), 'email_verified false: no grant');
  t.notOk(matchesIdentity('alice@example.com', claims({ email: 'alice@example.com' })), 'email_verified absent: no grant');
  t.ok(matchesIdentity('alice@example.com', unverified, 'deny'), 'but a deny still matches');
  // U+212A KELVIN SIGN lowercases to "k" under Unicode rules; leash folds ASCII only.
  t.notOk(matchesIdentity('kate@example.com', claims({ email: '\u212Aate@example.com', email_verified: true })));
  t.notOk(matchesIdentity('a@b@example.com', claims({ email: 'a@b@example.com', email_verified: true })), 'two @ never match a grant');
});

t.test('explicit forms: email: reads only the email, sub: only the sub', async (t) => {
  t.same(parseIdentityPattern('email:Alice@Example.com'), { kind: 'email', value: 'Alice@Example.com', plain: false });
  t.same(parseIdentityPattern('alice@example.com'), { kind: 'email', value: 'alice@example.com', plain: true });
  t.same(parseIdentityPattern('sub:alice@example.com'), { kind: 'sub', value: 'alice@example.com' });
  t.same(parseIdentityPattern('1234567890'), { kind: 'sub', value: '1234567890' });
  t.same(parseIdentityPattern('sub:email:x'), { kind: 'sub', value: 'email:x' }, 'everything after sub: is the value');
  t.ok(matchesIdentity('email:alice@example.com', alice));
  t.notOk(matchesIdentity('email:alice@example.com', claims({ email: 'alice@example.com', email_verified: false })));
  t.ok(matchesIdentity('sub:1234567890', alice));
  t.notOk(matchesIdentity('sub:alice@example.com', alice), 'sub: never reads the email');
  const subLooksLikeEmail = claims({ sub: 'alice@example.com' });
  t.ok(matchesIdentity('sub:alice@example.com', subLooksLikeEmail));
  t.notOk(matchesIdentity('email:alice@example.com', subLooksLikeEmail), 'email: never reads the sub');
});

t.test('the reported impersonation: sub "alice@example.com", email mallory unverified, matches no grant for alice', async (t) => {
  const mallory = claims({ sub: 'alice@example.com', email: 'mallory@example.com', email_verified: false });
  t.notOk(matchesIdentity('alice@example.com', mallory), 'a plain pattern with "@" only ever matches a verified email');
  t.notOk(matchesIdentity('ALICE@example.com', mallory));
  t.notOk(matchesIdentity('email:alice@example.com', mallory));
  t.notOk(matchesIdentity('mallory@example.com', mallory), 'nor mallory herself, unverified');
  t.ok(matchesIdentity('sub:alice@example.com', mallory), 'only a grant that names the sub explicitly');
  // A deny entry matches more, never less: the plain address also catches the sub spelled the same.
  t.ok(matchesIdentity('alice@example.com', mallory, 'deny'));
  t.ok(matchesIdentity('mallory@example.com', mallory, 'deny'));
  t.notOk(matchesIdentity('email:alice@example.com', mallory, 'deny'), 'an explicit email: deny reads the email only');
});

t.test('plain sub: exact', async (t) => {
  t.ok(matchesIdentity('1234567890', alice));
  t.notOk(matchesIdentity('123456789', alice));
  t.ok(matchesIdentity('auth0|ABC', claims({ sub: 'auth0|ABC' })));
  t.notOk(matchesIdentity('auth0|abc', claims({ sub: 'auth0|ABC' })), 'sub is case-sensitive');
});

t.test('oidc:<claim>:<value>', async (t) => {
  t.ok(matchesIdentity('oidc:groups:ssh-users', alice), 'array membership');
  t.ok(matchesIdentity('oidc:groups:dev', alice));
  t.notOk(matchesIdentity('oidc:groups:SSH-USERS', alice), 'case-sensitive');
  t.notOk(matchesIdentity('oidc:groups:ssh', alice), 'no substring');
  t.ok(matchesIdentity('oidc:team:ops', alice), 'string equality');
  t.notOk(matchesIdentity('oidc:level:3', alice), 'numbers never match');
  t.notOk(matchesIdentity('oidc:missing:x', alice));
  t.notOk(matchesIdentity('oidc:toString:x', alice), 'no prototype claims');
  t.notOk(matchesIdentity('oidc:groups:1', claims({ groups: [1, 'x'] })), 'non-string elements ignored');
  t.ok(matchesIdentity('oidc:"https://acme.com/groups":admins', claims({ 'https://acme.com/groups': ['admins'] })), 'quoted claim name');
  t.ok(matchesIdentity('oidc:sub:repo:org/x:ref:refs/heads/main', claims({ sub: 'repo:org/x:ref:refs/heads/main' })), 'value keeps its colons');
  t.ok(matchesIdentity('oidc:email:Alice@Example.com', alice), 'oidc:email is exact');
  t.notOk(matchesIdentity('oidc:email:alice@example.com', alice), 'and case-sensitive');
  t.notOk(matchesIdentity('oidc:email:a@b.c', claims({ email: 'a@b.c', email_verified: false })), 'oidc:email needs verification too');
  t.ok(matchesIdentity('oidc:email:a@b.c', claims({ email: 'a@b.c', email_verified: false }), 'deny'));
});

t.test('oidc-match-end:email:<suffix>', async (t) => {
  t.ok(matchesIdentity('oidc-match-end:email:@example.com', alice));
  t.ok(matchesIdentity('oidc-match-end:email:@EXAMPLE.COM', alice));
  t.notOk(matchesIdentity('oidc-match-end:email:@example.com', claims({ email: 'eve@evilexample.com', email_verified: true })));
  t.ok(matchesIdentity('oidc-match-end:email:.example.com', claims({ email: 'bob@eu.example.com', email_verified: true })));
  t.notOk(matchesIdentity('oidc-match-end:email:@example.com', claims({ email: 'bob@example.com', email_verified: false })));
  t.ok(matchesIdentity('oidc-match-end:email:@example.com', claims({ email: 'bob@example.com' }), 'deny'));
  t.notOk(matchesIdentity('oidc-match-end:email:@example.com', claims({})), 'no email');
});

t.test('malformed and refused patterns never match', async (t) => {
  for (const p of ['', ' alice@example.com', 'a b', 'x\n', 'oidc:', 'oidc:groups', 'oidc:groups:', 'oidc::x', 'oidc:"groups:x', 'OIDC:groups:dev',
    'oidc-match-end:email:', 'oidc-match-end:email:example.com', 'oidc-match-end:sub:@x', 'repo:org/*', 'REPO:x',
    'email:', 'email:alice', 'email:a@b@c', 'email:a @b', 'EMAIL:a@b.c', 'sub:', 'SUB:x', 'a@b@example.com', '@example.com', 'alice@']) {
    t.throws(() => parseIdentityPattern(p), { code: 'IDENTITY_PATTERN_INVALID' }, JSON.stringify(p));
    t.notOk(matchesIdentity(p, alice), JSON.stringify(p));
  }
  t.same(parseIdentityPattern('oidc:"a:b":c:d'), { kind: 'claim', claim: 'a:b', value: 'c:d' });
});

t.test('identityLabel: verified email lowercased, else sub:<sub>, strict charset', async (t) => {
  t.equal(identityLabel(alice), 'alice@example.com');
  t.equal(identityLabel(claims({ email: 'alice@example.com', email_verified: false })), 'sub:1234567890');
  t.equal(identityLabel(claims({ sub: 'repo:org/x:ref:refs/heads/main' })), 'sub:repo:org/x:ref:refs/heads/main');
  // The reported impersonation: the label names the sub as a sub, never as alice's address.
  t.equal(identityLabel(claims({ sub: 'alice@example.com', email: 'mallory@example.com', email_verified: false })), 'sub:alice@example.com');
  t.equal(identityLabel(claims({ sub: '-x' })), 'sub:-x', 'the prefix also keeps a sub from reading as an option');
  for (const email of ['a"b@x.com', 'a b@x.com', 'a,b@x.com', "o'brien@x.com", 'a\\b@x.com', 'a$(id)@x.com', 'é@x.com', '-a@x.com', 'a@x.com\n']) {
    t.throws(() => identityLabel(claims({ email, email_verified: true })), { code: 'IDENTITY_UNSAFE' }, JSON.stringify(email));
  }
  for (const sub of ['a b', 'a"b', 'a,b', 'a\\b', 'a\nb', 'a;b', 'a$b', '`id`', 'x'.repeat(252), 'ü']) {
    const err = t.throws(() => identityLabel(claims({ sub })), { code: 'IDENTITY_UNSAFE' }, JSON.stringify(sub));
    t.ok(err instanceof LeashError);
  }
});
