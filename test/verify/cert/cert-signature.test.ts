import { generateKeyPairSync, sign } from 'node:crypto';
import t from 'tap';
import { isSelfSigned, verifyCertificateSignature } from '../../../src/verify/cert/cert-signature.js';
import { parseCertificate } from '../../../src/verify/cert/ssh-cert.js';
import { certBody, certify, ed25519Ca, keygen, str, tmpDir } from '../../helpers/ssh-keys.js';

const { dir, cleanup } = tmpDir();
t.teardown(cleanup);

const ed = keygen(dir, 'ed', 'ed25519');
const ec = keygen(dir, 'ec', 'ecdsa', 256);
const ec384 = keygen(dir, 'ec384', 'ecdsa', 384);
const ec521 = keygen(dir, 'ec521', 'ecdsa', 521);
const rsa = keygen(dir, 'rsa', 'rsa', 2048);
const opts = ['-n', 'alice', '-O', 'extension:openpubkey-pkt=a:b:c:d:e'];

const blobOf = (k: string) => Buffer.from(k, 'base64');

t.test('genuine certificates from ssh-keygen verify', async (t) => {
  const cases: Array<[string, string, string, string[]]> = [
    ['ed25519 self-signed', ed, ed, []],
    ['ecdsa-p256 self-signed', ec, ec, []],
    ['ecdsa-p384 self-signed', ec384, ec384, []],
    ['ecdsa-p521 self-signed', ec521, ec521, []],
    ['rsa self-signed (rsa-sha2-512)', rsa, rsa, []],
    ['rsa self-signed (rsa-sha2-256)', rsa, rsa, ['-t', 'rsa-sha2-256']],
    ['ed25519 key, RSA CA', rsa, ed, []],
    ['ecdsa key, ed25519 CA', ed, ec, []],
  ];
  for (const [name, ca, subject, extra] of cases) {
    const c = parseCertificate(blobOf(certify(dir, ca, subject, [...opts, ...extra]).k));
    t.doesNotThrow(() => verifyCertificateSignature(c), name);
    t.equal(isSelfSigned(c), ca === subject, `${name}: self-signed`);
  }
});

t.test('tampering is detected', async (t) => {
  for (const key of [ed, ec, rsa]) {
    const { k, t: type } = certify(dir, key, key, opts);
    const blob = blobOf(k);
    const at = blob.indexOf(Buffer.from('alice'));
    const bad = Buffer.from(blob);
    bad[at] = 'b'.charCodeAt(0); // "blice": same length, so it still parses
    const c = parseCertificate(bad);
    t.same(c.principals, ['blice']);
    t.throws(() => verifyCertificateSignature(c), { code: 'CERT_SIGNATURE_INVALID' }, `${type} principal flip`);
    // Flip the last byte of the signature itself.
    const badSig = Buffer.from(blob);
    badSig[badSig.length - 1] = badSig[badSig.length - 1]! ^ 1;
    try {
      verifyCertificateSignature(parseCertificate(badSig));
      t.fail('flipped signature verified');
    } catch (err) {
      t.match(err, { code: /^CERT_SIGNATURE_(INVALID|MALFORMED)$/ }, `${type} signature flip`);
    }
  }
});

t.test('a different key cannot stand in as the signature key', async (t) => {
  const c = parseCertificate(blobOf(certify(dir, ed, ed, opts).k));
  const other = parseCertificate(blobOf(certify(dir, ec, ec, opts).k));
  const ed2 = keygen(dir, 'ed2', 'ed25519');
  const c2 = parseCertificate(blobOf(certify(dir, ed2, ed2, opts).k));
  t.throws(() => verifyCertificateSignature({ ...c, signatureKey: c2.signatureKey }), { code: 'CERT_SIGNATURE_INVALID' });
  t.throws(() => verifyCertificateSignature({ ...c, signatureKey: other.signatureKey }), { code: 'CERT_SIGNATURE_ALG_UNSUPPORTED' }, 'ed25519 signature, ecdsa key');
});

t.test('ssh-rsa (SHA-1) signatures are refused', async (t) => {
  const c = parseCertificate(blobOf(certify(dir, rsa, ed, [...opts, '-t', 'ssh-rsa']).k));
  t.throws(() => verifyCertificateSignature(c), { code: 'CERT_SIGNATURE_ALG_UNSUPPORTED' });
});

t.test('malformed signature fields', async (t) => {
  const ca = ed25519Ca();
  const body = certBody({ certType: 'ssh-ed25519-cert-v01@openssh.com', keyFields: str(Buffer.alloc(32, 1)), signatureKey: ca.blob });
  const withSig = (sig: Buffer) => parseCertificate(Buffer.concat([body, str(sig)]));
  const good = sign(null, body, ca.priv);
  t.doesNotThrow(() => verifyCertificateSignature(withSig(Buffer.concat([str('ssh-ed25519'), str(good)]))));
  t.throws(() => verifyCertificateSignature(withSig(Buffer.concat([str('ssh-ed25519'), str(good), Buffer.from([0])]))), { code: 'CERT_SIGNATURE_MALFORMED' });
  t.throws(() => verifyCertificateSignature(withSig(Buffer.concat([str('ssh-ed25519'), str(good.subarray(1))]))), { code: 'CERT_SIGNATURE_MALFORMED' });
  t.throws(() => verifyCertificateSignature(withSig(Buffer.alloc(0))), { code: 'CERT_SIGNATURE_MALFORMED' });
  t.throws(() => verifyCertificateSignature(withSig(Buffer.concat([str('none'), str(good)]))), { code: 'CERT_SIGNATURE_ALG_UNSUPPORTED' });

  // ECDSA: (r, s) must be minimal positive mpints that fit the curve.
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const q = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  const ecBlob = Buffer.concat([str('ecdsa-sha2-nistp256'), str('nistp256'), str(q)]);
  const ecBody = certBody({ certType: 'ssh-ed25519-cert-v01@openssh.com', keyFields: str(Buffer.alloc(32, 1)), signatureKey: ecBlob });
  const p1363 = sign('sha256', ecBody, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const mp = (b: Buffer) => { let i = 0; while (i < b.length - 1 && b[i] === 0) i++; const m = b.subarray(i); return str(m[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), m]) : m); };
  const ecSig = (inner: Buffer) => parseCertificate(Buffer.concat([ecBody, str(Buffer.concat([str('ecdsa-sha2-nistp256'), str(inner)]))]));
  const rs = Buffer.concat([mp(p1363.subarray(0, 32)), mp(p1363.subarray(32))]);
  t.doesNotThrow(() => verifyCertificateSignature(ecSig(rs)), 'hand-made ecdsa signature verifies');
  t.throws(() => verifyCertificateSignature(ecSig(Buffer.concat([rs, Buffer.from([0])]))), { code: 'CERT_SIGNATURE_MALFORMED' });
  t.throws(() => verifyCertificateSignature(ecSig(Buffer.concat([str(Buffer.concat([Buffer.from([0, 0]), p1363.subarray(0, 32)])), mp(p1363.subarray(32))]))), { code: 'CERT_SIGNATURE_MALFORMED' }, 'non-minimal mpint');
  t.throws(() => verifyCertificateSignature(ecSig(Buffer.concat([str(Buffer.alloc(0)), mp(p1363.subarray(32))]))), { code: 'CERT_SIGNATURE_MALFORMED' }, 'r = 0');
  t.throws(() => verifyCertificateSignature(ecSig(Buffer.concat([str(Buffer.concat([Buffer.from([1]), Buffer.alloc(32, 1)])), mp(p1363.subarray(32))]))), { code: 'CERT_SIGNATURE_MALFORMED' }, 'r too long');

  // An EC signature key whose point is not on the curve.
  const offCurve = Buffer.concat([str('ecdsa-sha2-nistp256'), str('nistp256'), str(Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 1)]))]);
  const offBody = certBody({ certType: 'ssh-ed25519-cert-v01@openssh.com', keyFields: str(Buffer.alloc(32, 1)), signatureKey: offCurve });
  const off = parseCertificate(Buffer.concat([offBody, str(Buffer.concat([str('ecdsa-sha2-nistp256'), str(rs)]))]));
  t.throws(() => verifyCertificateSignature(off), { code: 'CERT_SIGNATURE_KEY_INVALID' });
});

t.test('sk-* signature keys are refused', async (t) => {
  const skKey = Buffer.concat([str('sk-ssh-ed25519@openssh.com'), str(Buffer.alloc(32, 1)), str('ssh:')]);
  const body = certBody({ certType: 'ssh-ed25519-cert-v01@openssh.com', keyFields: str(Buffer.alloc(32, 1)), signatureKey: skKey });
  const c = parseCertificate(Buffer.concat([body, str(Buffer.concat([str('sk-ssh-ed25519@openssh.com'), str(Buffer.alloc(64)), Buffer.from([1, 0, 0, 0, 1])]))]));
  t.throws(() => verifyCertificateSignature(c), { code: 'CERT_SIGNATURE_ALG_UNSUPPORTED' });
});
