import t from 'tap';
import { parseLeashConfig } from '../../../src/config/parse.js';
import type { GrantConfig } from '../../../src/config/types.js';
import { authorize } from '../../../src/verify/grants/authorize.js';
import { identityClaims } from '../../../src/verify/grants/identity.js';

const G = 'https://accounts.google.com';
const O = 'https://other.example.com';

const config = parseLeashConfig(
  '/etc/leash/leash.yaml',
  `
providers:
  - { issuer: ${G}, client_id: cid, expiration: 24h }
  - { issuer: ${O}, client_id: cid2, expiration: oidc }
grants:
  - { identity: alice@example.com, issuer: ${G}, principals: [deploy], profile: deployer }
  - { identity: "oidc-match-end:email:@example.com", issuer: ${G}, principals: [deploy, web], profile: readonly }
  - { identity: "oidc:groups:admins", issuer: ${O}, principals: [root], profile: admin }
  - { identity: "carol@example.com", issuer: "${G}/", principals: [carol], profile: readonly }
deny:
  users: [Nobody]
  identities: [mallory@example.com, "oidc:groups:suspended"]
`,
);

const claims = (extra: Record<string, unknown>) => identityClaims({ iss: G, sub: 's-1', ...extra });
const alice = claims({ email: 'alice@example.com', email_verified: true });

t.test('first matching grant wins, in file order', async (t) => {
  const r = authorize(config, alice, 'deploy');
  t.ok(r.ok);
  if (r.ok) t.equal(r.grant.profile, 'deployer');
  const web = authorize(config, alice, 'web');
  t.ok(web.ok && web.grant.profile === 'readonly', 'second grant for another principal');
  const bob = authorize(config, claims({ email: 'Bob@Example.com', email_verified: true }), 'deploy');
  t.ok(bob.ok && bob.grant.profile === 'readonly');
  const admin = authorize(config, identityClaims({ iss: O, sub: 'x', groups: ['admins'] }), 'root');
  t.ok(admin.ok && admin.grant.profile === 'admin');
});

t.test('NO_GRANT and GRANT_OTHER_USER', async (t) => {
  const other = authorize(config, alice, 'root');
  t.match(other, { ok: false, code: 'GRANT_OTHER_USER' });
  if (!other.ok) t.match(other.detail, /deploy,web/);
  t.match(authorize(config, claims({ email: 'zed@else.org', email_verified: true }), 'deploy'), { ok: false, code: 'NO_GRANT' });
  t.match(authorize(config, identityClaims({ iss: O, sub: 'x', groups: ['admins'] }), 'ROOT'), { ok: false, code: 'GRANT_OTHER_USER' }, 'principal is exact');
  // The groups grant is for issuer O only: issuer is part of the grant.
  t.match(authorize(config, claims({ groups: ['admins'] }), 'root'), { ok: false, code: 'NO_GRANT' });
  // Byte-exact issuer: the grant written with a trailing slash never matches G.
  t.match(authorize(config, claims({ email: 'carol@example.com', email_verified: true }), 'carol'), { ok: false, code: 'GRANT_OTHER_USER' });
  const slash = authorize(config, identityClaims({ iss: `${G}/`, sub: 'c', email: 'carol@example.com', email_verified: true }), 'carol');
  t.ok(slash.ok, 'only the issuer spelled exactly as in the grant matches it');
});

t.test('EMAIL_UNVERIFIED diagnoses an email grant blocked by email_verified', async (t) => {
  const r = authorize(config, claims({ email: 'alice@example.com', email_verified: false }), 'deploy');
  t.match(r, { ok: false, code: 'EMAIL_UNVERIFIED' });
  if (!r.ok) t.match(r.detail, /leash\.yaml:\d+ needs email_verified=true/);
});

t.test('deny lists win over grants', async (t) => {
  const user = authorize(config, alice, 'nobody');
  t.match(user, { ok: false, code: 'DENY_USER' }, 'deny.users is case-insensitive');
  const mallory = claims({ email: 'MALLORY@example.com', email_verified: true });
  t.match(authorize(config, mallory, 'deploy'), { ok: false, code: 'DENY_IDENTITY' }, 'would match the suffix grant');
  t.match(authorize(config, claims({ email: 'mallory@example.com' }), 'deploy'), { ok: false, code: 'DENY_IDENTITY' }, 'unverified email still denied');
  const suspended = claims({ email: 'alice@example.com', email_verified: true, groups: ['suspended'] });
  t.match(authorize(config, suspended, 'deploy'), { ok: false, code: 'DENY_IDENTITY' });
  const bySub = { ...config, deny: { users: [], identities: ['s-1'] } };
  t.match(authorize(bySub, alice, 'deploy'), { ok: false, code: 'DENY_IDENTITY' }, 'sub form');
  const bad = { ...config, deny: { users: [], identities: ['repo:org/*'] } };
  t.match(authorize(bad, alice, 'deploy'), { ok: false, code: 'DENY_PATTERN_INVALID' }, 'an unreadable deny list refuses everyone');
  const user2 = authorize(config, claims({ email: 'zed@else.org', email_verified: true }), 'nobody');
  t.match(user2, { ok: false, code: 'DENY_USER' }, 'deny is reported even without a grant');
});

t.test('migrated grants come after leash.yaml', async (t) => {
  const migrated: GrantConfig[] = [
    { identity: 'alice@example.com', issuer: G, principals: ['deploy'], profile: 'migrated', source: '/etc/leash/auth_id:1' },
    { identity: 'alice@example.com', issuer: G, principals: ['ops'], profile: 'migrated', source: '/etc/leash/auth_id:2' },
  ];
  const r = authorize(config, alice, 'deploy', migrated);
  t.ok(r.ok && r.grant.profile === 'deployer', 'leash.yaml first');
  const ops = authorize(config, alice, 'ops', migrated);
  t.ok(ops.ok && ops.grant.source === '/etc/leash/auth_id:2');
  const denied = authorize(config, claims({ email: 'mallory@example.com', email_verified: true }), 'deploy', [{ ...migrated[0]!, identity: 'mallory@example.com' }]);
  t.match(denied, { ok: false, code: 'DENY_IDENTITY' }, 'deny applies to migrated grants');
});

t.test('details never carry raw control characters', async (t) => {
  const r = authorize(config, claims({ sub: 'x\ny', email: 'a\u0007@b.c' }), 'deploy');
  t.ok(!r.ok && !/[\u0000-\u001f]/.test(r.detail));
});

t.test('the reported impersonation: a sub spelled like alice\'s address gets no grant of alice\'s', async (t) => {
  // (not the deny-listed mallory@example.com of the shared config)
  const mallory = identityClaims({ iss: G, sub: 'alice@example.com', email: 'mallory@evil.example', email_verified: false });
  const r = authorize(config, mallory, 'deploy');
  t.match(r, { ok: false, code: 'NO_GRANT' }, 'not the alice@example.com grant, and no "would match if verified" hint either');
  if (!r.ok) t.match(r.detail, /sub="alice@example\.com" email="mallory@evil\.example" \(unverified\)/, 'the detail names both claims');
  const explicit = parseLeashConfig('/etc/leash/leash.yaml', `
providers:
  - { issuer: ${G}, client_id: cid, expiration: 24h }
grants:
  - { identity: "sub:alice@example.com", issuer: ${G}, principals: [deploy], profile: deployer }
`);
  t.ok(authorize(explicit, mallory, 'deploy').ok, 'only a grant that names the sub explicitly');
  const denied = parseLeashConfig('/etc/leash/leash.yaml', `
providers:
  - { issuer: ${G}, client_id: cid, expiration: 24h }
grants:
  - { identity: "sub:alice@example.com", issuer: ${G}, principals: [deploy], profile: deployer }
deny:
  identities: [alice@example.com]
`);
  t.match(authorize(denied, mallory, 'deploy'), { ok: false, code: 'DENY_IDENTITY' }, 'a plain deny entry still catches the sub spelled the same');
});
