import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import {
  buildAuthorizedLine,
  formatExpiryTime,
  linePrincipal,
  newSessionId,
  type AuthorizedLineInput,
} from '../../src/verify/output-line.js';

function sshString(b: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}
const edRaw = generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x as string;
const ED = Buffer.concat([sshString(Buffer.from('ssh-ed25519')), sshString(Buffer.from(edRaw, 'base64url'))]).toString('base64');
const EC = Buffer.concat([sshString(Buffer.from('ecdsa-sha2-nistp256')), sshString(Buffer.from('nistp256')), sshString(Buffer.alloc(65, 4))]).toString('base64');

const NOW = 1_760_000_000; // 2025-10-09T08:53:20Z
const base: AuthorizedLineInput = {
  certPrincipals: ['opkssh-wildcard'],
  localUser: 'deploy',
  expiresAt: NOW + 3600,
  leashPath: '/usr/local/bin/leash',
  profile: 'deployer',
  identity: 'alice@example.com',
  sessionId: '0123456789abcdef0123456789abcdef',
  keyType: 'ssh-ed25519',
  keyBase64: ED,
};

t.test('typical line', async (t) => {
  t.equal(
    buildAuthorizedLine(base),
    `cert-authority,principals="opkssh-wildcard",restrict,pty,expiry-time="20251009095320Z",command="/usr/local/bin/leash shell --profile deployer --identity alice@example.com --session 0123456789abcdef0123456789abcdef --expires ${NOW + 3600}" ssh-ed25519 ${ED}`,
  );
  const line = buildAuthorizedLine({ ...base, certPrincipals: ['deploy', 'opkssh-wildcard'], configDir: '/etc/leash-test', keyType: 'ecdsa-sha2-nistp256', keyBase64: EC, identity: 'repo:org/x:ref:refs/heads/main' });
  t.match(line, /^cert-authority,principals="deploy",restrict,pty,/);
  t.match(line, / --expires \d+ --config-dir \/etc\/leash-test" ecdsa-sha2-nistp256 [A-Za-z0-9+/=]+$/);
  t.notMatch(line, /\n/);
});

t.test('principals: the user if the cert names it, else the wildcard, else refuse', async (t) => {
  t.equal(linePrincipal(['deploy'], 'deploy'), 'deploy');
  t.equal(linePrincipal(['web', 'deploy'], 'deploy'), 'deploy');
  t.equal(linePrincipal(['opkssh-wildcard'], 'deploy'), 'opkssh-wildcard');
  t.throws(() => linePrincipal(['web'], 'deploy'), { code: 'CERT_PRINCIPAL_MISMATCH' });
  t.throws(() => linePrincipal([], 'deploy'), { code: 'CERT_NO_PRINCIPALS' });
  t.throws(() => linePrincipal(['deploy"'], 'deploy"'), { code: 'OUTPUT_UNSAFE' });
});

t.test('hostile values throw OUTPUT_UNSAFE', async (t) => {
  const evil = ['a"b', 'a,b', 'a b', 'a\\b', 'a\nb', 'a\rb', 'a\u0000b', 'a$(id)', 'a`id`', 'a;b', 'é', '-x', "a'b"];
  for (const s of evil) {
    t.throws(() => buildAuthorizedLine({ ...base, identity: `${s}@example.com` }), { code: 'OUTPUT_UNSAFE' }, `identity ${JSON.stringify(s)}`);
    t.throws(() => buildAuthorizedLine({ ...base, profile: s }), { code: 'OUTPUT_UNSAFE' }, `profile ${JSON.stringify(s)}`);
    if (s !== '-x') {
      // Inside an absolute path a "-" is harmless; everything else in the list is not.
      t.throws(() => buildAuthorizedLine({ ...base, leashPath: `/usr/bin/${s}` }), { code: 'OUTPUT_UNSAFE' }, `path ${JSON.stringify(s)}`);
      t.throws(() => buildAuthorizedLine({ ...base, configDir: `/etc/${s}` }), { code: 'OUTPUT_UNSAFE' }, `config dir ${JSON.stringify(s)}`);
    }
    t.throws(() => buildAuthorizedLine({ ...base, localUser: s, certPrincipals: [s] }), { code: 'OUTPUT_UNSAFE' }, `user ${JSON.stringify(s)}`);
    t.throws(() => buildAuthorizedLine({ ...base, sessionId: s }), { code: 'OUTPUT_UNSAFE' }, `session ${JSON.stringify(s)}`);
  }
  t.throws(() => buildAuthorizedLine({ ...base, identity: 'alice@example.com" ssh-ed25519 AAAA' }), { code: 'OUTPUT_UNSAFE' });
  t.throws(() => buildAuthorizedLine({ ...base, identity: 'alice@example.com --profile admin' }), { code: 'OUTPUT_UNSAFE' });
  for (const p of ['usr/bin/leash', '/usr/bin/../bin/leash', '/usr//bin/leash', '/usr/bin/leash/', '/usr/./bin/leash', '~/leash']) {
    t.throws(() => buildAuthorizedLine({ ...base, leashPath: p }), { code: 'OUTPUT_UNSAFE' }, p);
  }
  t.throws(() => buildAuthorizedLine({ ...base, keyType: 'ssh-rsa' }), { code: 'OUTPUT_UNSAFE' });
  t.throws(() => buildAuthorizedLine({ ...base, keyType: 'ecdsa-sha2-nistp256' }), { code: 'OUTPUT_UNSAFE' }, 'blob type must match');
  for (const k of [`${ED}"`, `${ED} x`, `${ED}\n`, ED.slice(1), '', 'AAAA']) {
    t.throws(() => buildAuthorizedLine({ ...base, keyBase64: k }), { code: 'OUTPUT_UNSAFE' }, JSON.stringify(k.slice(-8)));
  }
  t.throws(() => buildAuthorizedLine({ ...base, expiresAt: 1.5 }), { code: 'OUTPUT_UNSAFE' });
});

t.test('expiry-time format', async (t) => {
  t.equal(formatExpiryTime(0 + 1), '19700101000001Z');
  t.equal(formatExpiryTime(951782400), '20000229000000Z');
  t.equal(formatExpiryTime(253402300799), '99991231235959Z');
  t.throws(() => formatExpiryTime(253402300800), { code: 'OUTPUT_UNSAFE' });
});

t.test('session ids: 128-bit hex, unique', async (t) => {
  const ids = new Set(Array.from({ length: 100 }, newSessionId));
  t.equal(ids.size, 100);
  for (const id of ids) t.match(id, /^[0-9a-f]{32}$/);
});

