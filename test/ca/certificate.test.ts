/**
 * leash's certificate signer against OpenSSH's: the same options through
 * `ssh-keygen -s` (with the very CA key leash wrote) must give a certificate
 * that `ssh-keygen -L` shows exactly as leash's. Also: ssh-keygen reads the
 * CA private key leash writes, and the signature verifies (ssh-keygen -L
 * refuses a certificate with a bad signature).
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { caPaths, createCa, decodeOpensshPrivateKey, loadCa } from '../../src/ca/ca-key.js';
import { signUserCertificate } from '../../src/ca/certificate.js';
import { planGrant, type GrantRequest } from '../../src/ca/grant.js';
import { grantableKey, readKeyLine } from '../../src/ca/public-key.js';
import { fingerprint } from '../../src/verify/verify-login.js';

const dir = mkdtempSync(join(tmpdir(), 'leash-ca-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const caDir = join(dir, 'ca');
const ca = createCa(caDir, 'test-ca');
const keygen = (args: string[]): string => execFileSync('/usr/bin/ssh-keygen', args, { encoding: 'utf8', env: { TZ: 'UTC', PATH: '/usr/bin:/bin' } });

function userKey(name: string, type: string[]): string {
  const path = join(dir, name);
  keygen(['-q', ...type, '-N', '', '-C', name, '-f', path]);
  return path;
}

const stamp = (s: number): string => new Date(s * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);

/** `ssh-keygen -L` without its first line (the file name). */
const listing = (file: string): string => keygen(['-L', '-f', file]).split('\n').slice(1).join('\n');

function request(keyPath: string, extra: Partial<GrantRequest> = {}): GrantRequest {
  const key = grantableKey(readKeyLine(readFileSync(`${keyPath}.pub`, 'utf8')));
  return {
    key,
    keyFingerprint: fingerprint(key.blob),
    user: 'agent',
    profile: 'diagnostic',
    ttlSeconds: 7200,
    maxTtlSeconds: 86400,
    identity: 'ops-bot',
    sourceAddress: undefined,
    leashPath: undefined,
    targetConfigDir: undefined,
    now: 1798000000,
    serial: 0x1234567890abcdefn,
    sessionTail: '00112233445566ff',
    ...extra,
  };
}

t.test('ssh-keygen reads the CA key leash wrote; leash reads it back', async (t) => {
  const pub = keygen(['-y', '-f', caPaths(caDir).key]).trim();
  t.equal(pub.split(' ').slice(0, 2).join(' '), ca.publicLine.split(' ').slice(0, 2).join(' '), 'ssh-keygen -y derives the same public key');
  t.equal(loadCa(caDir, process.geteuid!()).fingerprint, ca.fingerprint);
  t.equal(decodeOpensshPrivateKey(readFileSync(caPaths(caDir).key, 'utf8')).fingerprint, ca.fingerprint);
  t.match(keygen(['-l', '-f', caPaths(caDir).pub]), ca.fingerprint, 'ssh-keygen -l shows the same fingerprint');
});

for (const [name, type] of [['ed25519', ['-t', 'ed25519']], ['ecdsa', ['-t', 'ecdsa', '-b', '384']], ['rsa', ['-t', 'rsa', '-b', '3072']]] as const) {
  t.test(`a ${name} key: ssh-keygen -L shows leash's certificate exactly as ssh-keygen -s makes it`, async (t) => {
    const keyPath = userKey(`id_${name}`, [...type]);
    for (const sourceAddress of [undefined, '192.0.2.0/24,2001:db8::1']) {
      const plan = planGrant(request(keyPath, { sourceAddress, targetConfigDir: '/etc/leash-test' }));
      const cert = signUserCertificate(plan.certificate, ca);
      const mine = join(dir, `mine-${name}-cert.pub`);
      writeFileSync(mine, `${cert.type} ${cert.blob.toString('base64')}\n`);
      const c = plan.certificate;
      const args = ['-q', '-s', caPaths(caDir).key, '-I', c.keyId, '-n', 'agent', '-z', String(c.serial), '-V', `${stamp(c.validAfter)}:${stamp(c.validBefore)}`, '-O', 'clear', '-O', `force-command=${plan.forceCommand}`, '-O', 'permit-pty'];
      if (sourceAddress) args.push('-O', `source-address=${sourceAddress}`);
      keygen([...args, `${keyPath}.pub`]);
      const theirs = `${keyPath}-cert.pub`;
      t.equal(listing(mine), listing(theirs), `same -L listing (source-address ${sourceAddress ?? 'none'})`);
      t.match(listing(mine), /Critical Options: \n\s+force-command \/usr\/local\/bin\/leash --config-dir \/etc\/leash-test shell --profile diagnostic --session 1234567890abcdef00112233445566ff --identity ops-bot --expires 1798007200/);
      t.match(listing(mine), /Extensions: \n\s+permit-pty\n$/);
    }
  });
}

t.test('refusals: weak and malformed keys, TTL over the maximum, bad values', async (t) => {
  const rsa2048 = userKey('id_rsa2048', ['-t', 'rsa', '-b', '2048']);
  t.throws(() => grantableKey(readKeyLine(readFileSync(`${rsa2048}.pub`, 'utf8'))), { code: 'GRANT_KEY_WEAK' });
  const dsaLine = 'ssh-dss AAAAB3NzaC1kc3MAAACBAP1/U4EddRIpUt9KnC7s5Of2EbdSPO9EAMMeP4C2USZpRV1AIlH7WT2NWPq/xfW6MPbLm1Vs14E7gB00b/JmYLdrmVClpJ+f6AR7ECLCT7up1/63xhv4O1fnxqimFQ8E+4P208UewwI1VBNaFpEy9nXzrith1yrv8iIDGZ3RSAHHAAAAFQCXYFCPFSMLzLKSuYKi64QL8Fgc9QAAAIEA9+GghdabPd7LvKtcNrhXuXmUr7v6OuqC+VdMCz0HgmdRWVeOutRZT+ZxBxCBgLRJFnEj6EwoFhO3zwkyjMim4TwWeotUfI0o4KOuHiuzpnWRbqN/C/ohNWLx+2J6ASQ7zKTxvqhRkImog9/hWuWfBpKLZl6Ae1UlZAFMO/7PSSoAAACBAPAe5N5k0zBjWsQf9ojmHjXHlTy6KhFIJwwT4XV7/eo1aIrE5Pn5i4F2GQZVkUvYdjXyNmNZuokqy6u9FQLFy+pQV2jcOv0OWVy0PUIy8B8e55Lu/J1XYjrXT7tVr3b2mKbO6PgX9+mBsPXLm3RhChXLNwvLu1G4SAiwzeb11XLx';
  t.throws(() => grantableKey(readKeyLine(dsaLine)), { code: 'GRANT_KEY_WEAK' }, 'DSA');
  t.throws(() => readKeyLine('not a key'), { code: 'GRANT_KEY_INVALID' });
  t.throws(() => grantableKey(readKeyLine('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==')), { code: 'GRANT_KEY_INVALID' }, 'a truncated ed25519 key');
  const ed = userKey('id_refusals', ['-t', 'ed25519']);
  keygen(['-q', '-s', caPaths(caDir).key, '-I', 'x', '-n', 'agent', `${ed}.pub`]);
  t.throws(() => grantableKey(readKeyLine(readFileSync(`${ed}-cert.pub`, 'utf8'))), { code: 'GRANT_KEY_INVALID' }, 'a certificate is not a key to certify');
  t.throws(() => planGrant(request(ed, { ttlSeconds: 86401 })), { code: 'GRANT_TTL_INVALID' }, 'TTL over the maximum');
  t.throws(() => planGrant(request(ed, { user: 'Root;x' })), { code: 'GRANT_INVALID' });
  t.throws(() => planGrant(request(ed, { profile: '../etc' })), { code: 'GRANT_INVALID' });
  t.throws(() => planGrant(request(ed, { identity: 'a b' })), { code: 'GRANT_INVALID' });
  t.throws(() => planGrant(request(ed, { sourceAddress: '10.0.0.0/33' })), { code: 'GRANT_INVALID' });
  t.throws(() => planGrant(request(ed, { leashPath: '/usr/bin/leash;id' })), { code: 'GRANT_INVALID' });
  t.throws(() => createCa(caDir, 'again'), { code: 'CA_KEY_EXISTS' }, 'ca init never overwrites');
});
