import t from 'tap';
import { LeashError } from '../../../src/errors.js';
import {
  MAX_CERT_BYTES, decodeCertificateBase64, extensionStringValue, openpubkeyPkt, parseCertificate, parsePublicKeyBlob, parseSshdCertificate,
} from '../../../src/verify/cert/ssh-cert.js';
import { SshReader } from '../../../src/verify/cert/ssh-wire.js';
import { certBody, certify, ed25519Ca, keygen, str, tmpDir } from '../../helpers/ssh-keys.js';

const { dir, cleanup } = tmpDir();
t.teardown(cleanup);

const PKT = 'eyJhbGciOiJFUzI1NiJ9:abc:def:ghi:jkl';
const ed = keygen(dir, 'ed', 'ed25519');
const ec = keygen(dir, 'ec', 'ecdsa', 256);
const edCert = certify(dir, ed, ed, ['-n', 'alice,opkssh-wildcard', '-z', '42', '-O', `extension:openpubkey-pkt=${PKT}`]);
const ecCert = certify(dir, ec, ec, ['-n', 'p', '-V', '20200101:20300101', '-O', 'critical:force-command=/bin/true', '-O', `extension:openpubkey-pkt=${PKT}`]);

t.test('ed25519 self-signed certificate from ssh-keygen', async (t) => {
  t.equal(edCert.t, 'ssh-ed25519-cert-v01@openssh.com');
  const c = parseSshdCertificate(edCert.k, edCert.t);
  t.equal(c.certType, edCert.t);
  t.equal(c.nonce.length, 32);
  t.equal(c.publicKey.type, 'ssh-ed25519');
  // The plain key blob must be exactly the .pub file's key.
  const pub = (await import('node:fs')).readFileSync(`${ed}.pub`, 'utf8').split(' ');
  t.equal(`${c.publicKey.type} ${c.publicKey.blob.toString('base64')}`, `${pub[0]} ${pub[1]}`);
  t.ok(c.signatureKey.blob.equals(c.publicKey.blob));
  t.equal(c.serial, 42n);
  t.equal(c.type, 1);
  t.equal(c.keyId, 'id');
  t.same(c.principals, ['alice', 'opkssh-wildcard']);
  t.equal(c.validAfter, 0n);
  t.equal(c.validBefore, 0xffffffffffffffffn);
  t.equal(c.criticalOptions.size, 0);
  t.same([...c.extensions.keys()], ['openpubkey-pkt', 'permit-X11-forwarding', 'permit-agent-forwarding', 'permit-port-forwarding', 'permit-pty', 'permit-user-rc']);
  t.equal(c.extensions.get('permit-pty')!.length, 0);
  // ssh-keygen stores the value as an SSH string inside the extension data: two length prefixes, like opkssh.
  const raw = c.extensions.get('openpubkey-pkt')!;
  t.equal(raw.readUInt32BE(0), PKT.length);
  t.equal(raw.length, PKT.length + 4);
  t.equal(openpubkeyPkt(c), PKT);
  t.equal(extensionStringValue(c, 'absent'), undefined);
  // signedData ends where the signature field begins
  const blob = Buffer.from(edCert.k, 'base64');
  t.ok(blob.subarray(c.signedData.length).equals(str(c.signature)));
});

t.test('ecdsa-p256 certificate: validity, critical options', async (t) => {
  const c = parseCertificate(Buffer.from(ecCert.k, 'base64'));
  t.equal(c.publicKey.type, 'ecdsa-sha2-nistp256');
  if (c.publicKey.type === 'ecdsa-sha2-nistp256') {
    t.equal(c.publicKey.curve, 'nistp256');
    t.equal(c.publicKey.q.length, 65);
  }
  t.ok(c.validAfter > 0n && c.validBefore > c.validAfter);
  const fc = c.criticalOptions.get('force-command')!;
  t.equal(new SshReader(fc, 'x').string('v').toString(), '/bin/true');
  t.equal(openpubkeyPkt(c), PKT);
});

t.test('sshd %t must be a certificate type and equal the blob type', async (t) => {
  t.throws(() => parseSshdCertificate(edCert.k, 'ecdsa-sha2-nistp256-cert-v01@openssh.com'), { code: 'CERT_TYPE_MISMATCH' });
  t.throws(() => parseSshdCertificate(edCert.k, 'ssh-ed25519'), { code: 'CERT_NOT_CERTIFICATE' });
  t.throws(() => parseSshdCertificate(edCert.k, 'ssh-dss-cert-v01@openssh.com'), { code: 'CERT_TYPE_UNKNOWN' });
  t.throws(() => parseSshdCertificate(edCert.k, ''), { code: 'CERT_TYPE_UNKNOWN' });
  const plain = (await import('node:fs')).readFileSync(`${ed}.pub`, 'utf8').split(' ')[1]!;
  t.throws(() => parseSshdCertificate(plain, edCert.t), { code: 'CERT_NOT_CERTIFICATE' });
});

t.test('strict base64 and the size cap', async (t) => {
  t.throws(() => decodeCertificateBase64(''), { code: 'CERT_BAD_BASE64' });
  t.throws(() => decodeCertificateBase64(`${edCert.k} `), { code: 'CERT_BAD_BASE64' });
  t.throws(() => decodeCertificateBase64(edCert.k.replace(/=+$/, '')), { code: 'CERT_BAD_BASE64' });
  // A base64url character at a fixed place: a random blob need not contain any '+' to replace.
  t.throws(() => decodeCertificateBase64(`${edCert.k.slice(0, 10)}-${edCert.k.slice(11)}`), { code: 'CERT_BAD_BASE64' });
  t.throws(() => decodeCertificateBase64('AAB='), { code: 'CERT_BAD_BASE64' }, 'non-zero unused bits');
  t.throws(() => decodeCertificateBase64('A'.repeat(100_000)), { code: 'CERT_TOO_LARGE' });
  t.throws(() => parseCertificate(Buffer.alloc(MAX_CERT_BYTES + 1)), { code: 'CERT_TOO_LARGE' });
  t.throws(() => parseSshdCertificate(edCert.k.slice(0, 100), edCert.t), { code: 'SSH_WIRE_TRUNCATED' });
});

t.test('every truncation and trailing bytes fail with a LeashError, never a crash', async (t) => {
  const blob = Buffer.from(ecCert.k, 'base64');
  for (let n = 0; n < blob.length; n++) {
    try {
      parseCertificate(blob.subarray(0, n));
      t.fail(`prefix ${n} parsed`);
    } catch (err) {
      if (!(err instanceof LeashError)) t.fail(`prefix ${n}: ${String(err)}`);
    }
  }
  t.throws(() => parseCertificate(Buffer.concat([blob, Buffer.from([0])])), { code: 'SSH_WIRE_TRAILING' });
  // Single-byte corruption anywhere: parse either succeeds or refuses with a code.
  for (let i = 0; i < blob.length; i++) {
    const bad = Buffer.from(blob);
    bad[i] = bad[i]! ^ 0xff;
    try {
      parseCertificate(bad);
    } catch (err) {
      if (!(err instanceof LeashError)) t.fail(`flip at ${i}: ${String(err)}`);
    }
  }
  t.pass('no crash');
});

t.test('other key types: parsed fully, refused for sshd use', async (t) => {
  const ec384 = keygen(dir, 'ec384', 'ecdsa', 384);
  const c384 = certify(dir, ec384, ec384, ['-n', 'p']);
  const p = parseCertificate(Buffer.from(c384.k, 'base64'));
  t.equal(p.publicKey.type, 'ecdsa-sha2-nistp384');
  t.throws(() => parseSshdCertificate(c384.k, c384.t), { code: 'CERT_KEY_TYPE_UNSUPPORTED' });

  const ec521 = keygen(dir, 'ec521', 'ecdsa', 521);
  const c521 = certify(dir, ec521, ec521, ['-n', 'p']);
  t.equal(parseCertificate(Buffer.from(c521.k, 'base64')).publicKey.type, 'ecdsa-sha2-nistp521');

  const rsa = keygen(dir, 'rsa', 'rsa', 2048);
  const cr = certify(dir, rsa, rsa, ['-n', 'p']);
  t.equal(parseCertificate(Buffer.from(cr.k, 'base64')).publicKey.type, 'ssh-rsa', 'RSA parses');
  t.throws(() => parseSshdCertificate(cr.k, cr.t), { code: 'CERT_KEY_TYPE_UNSUPPORTED' }, 'and is refused for sshd use');
  // Checked from %t before anything is decoded: even garbage of an RSA type never reaches the parser.
  t.throws(() => parseSshdCertificate('!!not base64!!', 'ssh-rsa-cert-v01@openssh.com'), { code: 'CERT_KEY_TYPE_UNSUPPORTED' });
  const rsa1024 = keygen(dir, 'rsa1024', 'rsa', 1024);
  const c1024 = certify(dir, rsa1024, rsa1024, ['-n', 'p']);
  t.throws(() => parseCertificate(Buffer.from(c1024.k, 'base64')), { code: 'CERT_RSA_KEY_SIZE' });
  t.throws(() => parseSshdCertificate(c1024.k, c1024.t), { code: 'CERT_KEY_TYPE_UNSUPPORTED' });
  // An Ed25519 key certified by an RSA CA: the signature key type is refused too.
  const byRsa = certify(dir, rsa, ed, ['-n', 'p']);
  t.throws(() => parseSshdCertificate(byRsa.k, byRsa.t), { code: 'CERT_KEY_TYPE_UNSUPPORTED', message: /signed by a ssh-rsa key/ });

  const host = certify(dir, ed, ed, ['-h', '-n', 'host.example']);
  t.equal(parseCertificate(Buffer.from(host.k, 'base64')).type, 2);
  t.throws(() => parseSshdCertificate(host.k, host.t), { code: 'CERT_NOT_USER' });
});

t.test('sk-* certificates (hand-encoded) parse fully and are refused cleanly', async (t) => {
  const ca = ed25519Ca();
  const skEd = ca.sign(certBody({
    certType: 'sk-ssh-ed25519-cert-v01@openssh.com',
    keyFields: Buffer.concat([str(Buffer.alloc(32, 1)), str('ssh:')]),
    signatureKey: ca.blob,
  }));
  const c = parseCertificate(skEd);
  t.equal(c.publicKey.type, 'sk-ssh-ed25519@openssh.com');
  if (c.publicKey.type === 'sk-ssh-ed25519@openssh.com') t.equal(c.publicKey.application, 'ssh:');
  t.equal(parsePublicKeyBlob(c.publicKey.blob).type, 'sk-ssh-ed25519@openssh.com');
  t.throws(() => parseSshdCertificate(skEd.toString('base64'), 'sk-ssh-ed25519-cert-v01@openssh.com'), { code: 'CERT_KEY_TYPE_UNSUPPORTED' });

  const q = Buffer.concat([Buffer.from([4]), Buffer.alloc(64, 2)]);
  const skEc = ca.sign(certBody({
    certType: 'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
    keyFields: Buffer.concat([str('nistp256'), str(q), str('ssh:')]),
    signatureKey: ca.blob,
  }));
  const ce = parseCertificate(skEc);
  t.equal(ce.publicKey.type, 'sk-ecdsa-sha2-nistp256@openssh.com');
  t.throws(() => parseSshdCertificate(skEc.toString('base64'), 'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com'), { code: 'CERT_KEY_TYPE_UNSUPPORTED' });
  // Missing application string: truncated, not misread.
  const noApp = ca.sign(certBody({ certType: 'sk-ssh-ed25519-cert-v01@openssh.com', keyFields: str(Buffer.alloc(32, 1)), signatureKey: ca.blob }));
  t.throws(() => parseCertificate(noApp), LeashError);
});

t.test('structural rules', async (t) => {
  const ca = ed25519Ca();
  const edFields = str(Buffer.alloc(32, 1));
  const make = (over: Partial<Parameters<typeof certBody>[0]>) =>
    ca.sign(certBody({ certType: 'ssh-ed25519-cert-v01@openssh.com', keyFields: edFields, signatureKey: ca.blob, ...over }));
  const empty = Buffer.alloc(0);

  t.ok(parseCertificate(make({ extensions: [['a', empty], ['b', empty]] })));
  t.throws(() => parseCertificate(make({ extensions: [['b', empty], ['a', empty]] })), { code: 'CERT_OPTIONS_ORDER' });
  t.throws(() => parseCertificate(make({ extensions: [['a', empty], ['a', empty]] })), { code: 'CERT_OPTIONS_ORDER' });
  t.throws(() => parseCertificate(make({ critical: [['source-address', str('1.2.3.4')], ['force-command', str('x')]] })), { code: 'CERT_OPTIONS_ORDER' });
  // Byte order: "X" (0x58) sorts before "a" (0x61), as in opkssh's own certificates.
  t.ok(parseCertificate(make({ extensions: [['permit-X11-forwarding', empty], ['permit-agent-forwarding', empty]] })));
  t.throws(() => parseCertificate(make({ type: 3 })), { code: 'CERT_MALFORMED' });
  t.throws(() => parseCertificate(make({ reserved: Buffer.from('x') })), { code: 'CERT_MALFORMED' });
  t.throws(() => parseCertificate(make({ keyFields: str(Buffer.alloc(31)) })), { code: 'CERT_MALFORMED' });
  t.throws(() => parseCertificate(make({ keyId: 'a\0b' })), { code: 'SSH_WIRE_BAD_STRING' });
  t.throws(() => parseCertificate(make({ principals: ['ok', 'bad\0'] })), { code: 'SSH_WIRE_BAD_STRING' });
  t.throws(() => parseCertificate(make({ principals: Array.from({ length: 257 }, (_, i) => `p${i}`) })), { code: 'CERT_MALFORMED' });
  t.throws(() => parseCertificate(make({ certType: 'ecdsa-sha2-nistp256-cert-v01@openssh.com', keyFields: Buffer.concat([str('nistp384'), str(Buffer.alloc(65, 4))]) })), { code: 'CERT_MALFORMED' });
  t.throws(() => parseCertificate(make({ certType: 'ecdsa-sha2-nistp256-cert-v01@openssh.com', keyFields: Buffer.concat([str('nistp256'), str(Buffer.alloc(33, 2))]) })), { code: 'CERT_MALFORMED' }, 'compressed point');
  const n = Buffer.concat([Buffer.from([0]), Buffer.alloc(256, 0xff)]);
  for (const e of [Buffer.from([1]), Buffer.from([2]), Buffer.from([]), Buffer.alloc(9, 1)]) {
    t.throws(() => parseCertificate(make({ certType: 'ssh-rsa-cert-v01@openssh.com', keyFields: Buffer.concat([str(e), str(n)]) })), { code: 'CERT_MALFORMED' }, `rsa e=${e.toString('hex')}`);
  }
  t.throws(() => parseCertificate(make({ certType: 'ssh-rsa-cert-v01@openssh.com', keyFields: Buffer.concat([str(Buffer.from([3])), str(Buffer.from([0, 0xff, 0xff]))]) })), { code: 'CERT_RSA_KEY_SIZE' });
  // A certificate cannot be the signature key.
  t.throws(() => parseCertificate(make({ signatureKey: Buffer.from(edCert.k, 'base64') })), { code: 'CERT_KEY_TYPE_UNSUPPORTED' });
});

t.test('openpubkey-pkt extension value is decoded strictly', async (t) => {
  const ca = ed25519Ca();
  const make = (data: Buffer) =>
    parseCertificate(ca.sign(certBody({ certType: 'ssh-ed25519-cert-v01@openssh.com', keyFields: str(Buffer.alloc(32, 1)), signatureKey: ca.blob, extensions: [['openpubkey-pkt', data]] })));
  t.equal(openpubkeyPkt(make(str('a:b:c'))), 'a:b:c');
  t.throws(() => openpubkeyPkt(make(Buffer.from('a:b:c'))), { code: 'CERT_EXTENSION_MALFORMED' }, 'single length prefix');
  t.throws(() => openpubkeyPkt(make(Buffer.concat([str('a:b:c'), Buffer.from([0])]))), { code: 'CERT_EXTENSION_MALFORMED' }, 'trailing byte');
  t.throws(() => openpubkeyPkt(make(Buffer.alloc(0))), { code: 'CERT_EXTENSION_MALFORMED' }, 'empty');
  t.throws(() => openpubkeyPkt(make(str('a b'))), { code: 'CERT_EXTENSION_MALFORMED' }, 'space');
  t.throws(() => openpubkeyPkt(make(str('é'))), { code: 'CERT_EXTENSION_MALFORMED' }, 'non-ASCII');
  t.throws(() => openpubkeyPkt(parseCertificate(ca.sign(certBody({ certType: 'ssh-ed25519-cert-v01@openssh.com', keyFields: str(Buffer.alloc(32, 1)), signatureKey: ca.blob })))), { code: 'CERT_EXTENSION_MISSING' });
});
