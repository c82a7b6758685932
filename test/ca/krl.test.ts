/**
 * The KRL leash writes, checked by OpenSSH itself: `ssh-keygen -Q -f KRL
 * FILE` says REVOKED for exactly the certificates and keys leash put in it
 * (by serial, for any CA; by key hash, which covers every certificate of
 * that key), and ok for everything else. A KRL with nothing in it is valid.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildKrl, readKrlVersion } from '../../src/ca/krl.js';
import { krlContent, writeKrl } from '../../src/ca/revoked-keys.js';
import { publicKeyFingerprint } from '../../src/ca/public-key.js';
import type { Revocation } from '../../src/session/revocations.js';

const dir = mkdtempSync(join(tmpdir(), 'leash-krl-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const keygen = (args: string[]): string => execFileSync('/usr/bin/ssh-keygen', args, { encoding: 'utf8' });
keygen(['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'ca')]);
keygen(['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'ca2')]);

function certified(name: string, serial: number | bigint, ca = 'ca'): string {
  const key = join(dir, name);
  keygen(['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  keygen(['-q', '-s', join(dir, ca), '-I', name, '-n', 'agent', '-z', String(serial), `${key}.pub`]);
  return key;
}

/** true = REVOKED, per ssh-keygen -Q (exit 1 and "REVOKED" for a revoked key). */
function revoked(krl: string, file: string): boolean {
  const r = spawnSync('/usr/bin/ssh-keygen', ['-Q', '-f', krl, file], { encoding: 'utf8' });
  if (r.status !== 0 && !/REVOKED/.test(r.stdout)) throw new Error(`ssh-keygen -Q failed: ${r.stderr}`);
  return /REVOKED/.test(r.stdout);
}

const entry = (kind: Revocation['kind'], value: string, until: number | null = null): Revocation => ({ kind, value, reason: '', by: 'root', at: 1, until });

t.test('an empty KRL is valid and revokes nothing', async (t) => {
  const a = certified('empty-a', 7);
  const krl = join(dir, 'empty.krl');
  writeFileSync(krl, buildKrl({ serials: [], keyHashes: [] }, 1n, 1798000000));
  t.equal(revoked(krl, `${a}-cert.pub`), false);
  t.equal(revoked(krl, `${a}.pub`), false);
  t.equal(readKrlVersion(readFileSync(krl)), 1n);
});

t.test('serials (any CA), grant sessions and keys are revoked; the rest is not', async (t) => {
  const bySerial = certified('by-serial', 4242);
  const otherCa = certified('other-ca', 4242, 'ca2');
  const bySession = certified('by-session', 0x1234567890abcdefn);
  const byKey = certified('by-key', 99);
  const untouched = certified('untouched', 4243);
  const expired = certified('expired', 5000);
  const entries = [
    entry('serial', '4242'),
    entry('session', '1234567890abcdef00112233445566ff'),
    entry('key', publicKeyFingerprint(readFileSync(`${byKey}.pub`, 'utf8'))),
    entry('identity', 'alice@example.com'),
    entry('serial', '5000', 100),
  ];
  t.same(krlContent(entries, 200).serials.map(String).sort(), ['1311768467294899695', '4242'], 'identity entries and ended entries have no KRL form');
  writeFileSync(join(dir, 'revoked.krl'), '');
  rmSync(join(dir, 'revoked.krl'));
  t.equal(writeKrl(dir, entries, 200), false, 'no KRL on a host without CA mode: nothing written');
  t.equal(writeKrl(dir, entries, 200, true), true);
  const krl = join(dir, 'revoked.krl');
  t.equal(revoked(krl, `${bySerial}-cert.pub`), true, 'by serial');
  t.equal(revoked(krl, `${otherCa}-cert.pub`), true, 'the serial for every CA');
  t.equal(revoked(krl, `${bySession}-cert.pub`), true, "a grant's session id names its serial");
  t.equal(revoked(krl, `${byKey}-cert.pub`), true, "a key's certificate, by the key's hash");
  t.equal(revoked(krl, `${byKey}.pub`), true, 'the key itself');
  t.equal(revoked(krl, `${untouched}-cert.pub`), false, 'another serial');
  t.equal(revoked(krl, `${expired}-cert.pub`), false, 'a revocation that ran out');
  const v1 = readKrlVersion(readFileSync(krl));
  writeKrl(dir, [], 300);
  t.ok(readKrlVersion(readFileSync(krl)) > v1, 'each rewrite has a higher version');
  t.equal(revoked(krl, `${bySerial}-cert.pub`), false, 'unrevoked');
});

t.test('a file that is not a KRL is refused', async (t) => {
  t.throws(() => readKrlVersion(Buffer.from('SSHKRL\n\0\0\0')), { code: 'KRL_INVALID' });
  t.throws(() => readKrlVersion(Buffer.from('hello')), { code: 'KRL_INVALID' });
});
