import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import t from 'tap';
import { verifyCertificateSignature } from '../../../src/verify/cert/cert-signature.js';
import { assertCertKeyMatchesUpk } from '../../../src/verify/token/jwk.js';
import { MAX_PKT_CHARS, parsePkToken, verifyCic, verifyOpSignature } from '../../../src/verify/token/pk-token.js';
import { openpubkeyPkt, parseSshdCertificate } from '../../../src/verify/cert/ssh-cert.js';
import { certify, tmpDir } from '../../helpers/ssh-keys.js';

type Obj = Record<string, unknown>;
const enc = new TextEncoder();
const b64u = (v: string | Buffer) => Buffer.from(v).toString('base64url');

/** Independent commitment: JSON.stringify with sorted keys equals Go's output for these plain ASCII values. */
function commitment(h: Obj): string {
  const sort = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort((v as Obj)[k])])) : v;
  return createHash('sha3-256').update(JSON.stringify(sort(h))).digest('base64url');
}

async function keyPair(alg: string) {
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
  return { privateKey, jwk: (await jose.exportJWK(publicKey)) as Obj };
}

const op = await keyPair('RS256');
const opJwk = { ...op.jwk, kid: 'k1', alg: 'RS256', use: 'sig' };
const cicKey = await keyPair('ES256');

interface Part { header: Obj; key: jose.CryptoKey | Uint8Array | null; fakeSig?: string }

/** Signs `payload` once per part with jose GeneralSign (or a fake signature) and returns the compact PK Token. */
async function build(payload: Obj, parts: Part[], refreshed?: string): Promise<string> {
  const bytes = enc.encode(JSON.stringify(payload));
  const segs = [b64u(Buffer.from(bytes))];
  for (const p of parts) {
    if (p.key === null) {
      segs.push(b64u(JSON.stringify(p.header)), p.fakeSig ?? b64u('fake-signature'));
      continue;
    }
    const g = await new jose.GeneralSign(bytes).addSignature(p.key).setProtectedHeader(p.header as jose.JWSHeaderParameters).sign();
    t.equal(g.payload, segs[0]); // jose's payload segment is the same bytes
    segs.push(g.signatures[0]!.protected!, g.signatures[0]!.signature);
  }
  return segs.join(':') + (refreshed === undefined ? '' : `.${refreshed}`);
}

function cicHeader(jwk: Obj, alg: string, extra: Obj = {}): Obj {
  return { alg, typ: 'CIC', rz: 'ab'.repeat(32), upk: { ...jwk, alg }, ...extra };
}

async function standard(opts: { cic?: Obj; cicKey?: jose.CryptoKey; nonce?: string; opHeader?: Obj } = {}) {
  const cic = opts.cic ?? cicHeader(cicKey.jwk, 'ES256');
  const payload = { iss: 'https://op.example', aud: 'client', sub: 'u1', email: 'a@example.com', iat: 1722113587, exp: 1722117187, nonce: opts.nonce ?? commitment(cic) };
  return build(payload, [
    { header: opts.opHeader ?? { alg: 'RS256', kid: 'k1', typ: 'JWT' }, key: op.privateKey },
    { header: cic, key: opts.cicKey ?? cicKey.privateKey },
  ]);
}

t.test('a genuine PK Token parses and verifies', async (t) => {
  const pkt = parsePkToken(await standard());
  t.equal(pkt.op.role, 'op');
  t.equal(pkt.op.alg, 'RS256');
  t.equal(pkt.op.kid, 'k1');
  t.equal(pkt.cic.role, 'cic');
  t.equal(pkt.cos, null);
  t.equal(pkt.refreshedIdToken, null);
  t.equal(pkt.payload['iss'], 'https://op.example');
  const cic = verifyCic(pkt);
  t.equal(cic.alg, 'ES256');
  t.equal(cic.commitment, pkt.payload['nonce']);
  t.doesNotThrow(() => verifyOpSignature(pkt, opJwk));
  const otherOp = await keyPair('RS256');
  t.throws(() => verifyOpSignature(pkt, otherOp.jwk), { code: 'JWS_SIGNATURE_INVALID' });
});

t.test('EdDSA client keys; RS256 ones are refused (no supported certificate key type has it)', async (t) => {
  const edKey = await keyPair('EdDSA');
  const ed = parsePkToken(await standard({ cic: cicHeader(edKey.jwk, 'EdDSA'), cicKey: edKey.privateKey }));
  t.equal(verifyCic(ed).alg, 'EdDSA');
  const rsKey = await keyPair('RS256');
  const rs = parsePkToken(await standard({ cic: cicHeader(rsKey.jwk, 'RS256'), cicKey: rsKey.privateKey }));
  t.throws(() => verifyCic(rs), { code: 'PKT_CIC_ALG_UNSUPPORTED' });
});

t.test('roles come from typ, not position; COS and refreshed ID token', async (t) => {
  const cic = cicHeader(cicKey.jwk, 'ES256');
  const payload = { iss: 'i', nonce: commitment(cic) };
  const cos = await keyPair('ES256');
  const refreshed = `${b64u('{"alg":"RS256"}')}.${b64u('{"exp":1}')}.${b64u('sig')}`;
  const pkt = parsePkToken(await build(payload, [
    { header: cic, key: cicKey.privateKey },
    { header: { alg: 'ES256', typ: 'COS' }, key: cos.privateKey },
    { header: { alg: 'RS256', kid: 'k1' }, key: op.privateKey }, // no typ: the provider (e.g. Okta)
  ], refreshed));
  t.equal(pkt.op.kid, 'k1');
  t.ok(pkt.cos);
  t.same(pkt.refreshedIdToken?.payload, { exp: 1 });
  t.equal(verifyCic(pkt).commitment, payload.nonce);
  t.doesNotThrow(() => verifyOpSignature(pkt, opJwk));
  for (const typ of ['', 'JWT', 'at+jwt', 'AT+JWT']) {
    const p = parsePkToken(await build(payload, [{ header: { alg: 'RS256', typ }, key: null }, { header: cic, key: cicKey.privateKey }]));
    t.equal(p.op.role, 'op', `typ ${JSON.stringify(typ)}`);
  }
});

t.test('duplicate, missing and unknown roles', async (t) => {
  const cic = cicHeader(cicKey.jwk, 'ES256');
  const payload = { nonce: commitment(cic) };
  const opPart: Part = { header: { alg: 'RS256', typ: 'JWT' }, key: op.privateKey };
  const cicPart: Part = { header: cic, key: cicKey.privateKey };
  t.throws(() => parsePkToken(''), { code: 'PKT_MALFORMED' });
  await t.rejects(async () => parsePkToken(await build(payload, [opPart, cicPart, cicPart])), { code: 'PKT_DUPLICATE_SIGNATURE' }, 'two CIC');
  await t.rejects(async () => parsePkToken(await build(payload, [opPart, { header: { alg: 'RS256' }, key: op.privateKey }, cicPart])), { code: 'PKT_DUPLICATE_SIGNATURE' }, 'two OP');
  const cosPart: Part = { header: { alg: 'ES256', typ: 'COS' }, key: cicKey.privateKey };
  await t.rejects(async () => parsePkToken(await build(payload, [opPart, cosPart])), { code: 'PKT_MISSING_SIGNATURE' }, 'no CIC');
  await t.rejects(async () => parsePkToken(await build(payload, [cicPart, cosPart])), { code: 'PKT_MISSING_SIGNATURE' }, 'no OP');
  await t.rejects(async () => parsePkToken(await build(payload, [opPart])), { code: 'PKT_MALFORMED' }, 'three parts');
  await t.rejects(async () => parsePkToken(await build(payload, [opPart, cicPart, cosPart, cosPart])), { code: 'PKT_MALFORMED' }, 'nine parts');
  for (const typ of ['cic', 'Cic', 'jwt', 'id_token', 'CIC ']) {
    await t.rejects(async () => parsePkToken(await build(payload, [opPart, { header: { ...cic, typ }, key: cicKey.privateKey }])), { code: 'PKT_TYP_UNKNOWN' }, `typ ${typ}`);
  }
  await t.rejects(async () => parsePkToken(await build(payload, [{ header: { alg: 'RS256', typ: 'dpop+id_token' }, key: null }, cicPart])), { code: 'PKT_TYP_UNSUPPORTED' });
  await t.rejects(async () => parsePkToken(await build(payload, [{ header: { alg: 'RS256', typ: 1 }, key: null }, cicPart])), { code: 'PKT_MALFORMED' }, 'typ not a string');
  await t.rejects(async () => parsePkToken(await build(payload, [{ header: { alg: 'RS256', kid: 7 }, key: null }, cicPart])), { code: 'PKT_MALFORMED' }, 'kid not a string');
  await t.rejects(async () => parsePkToken(await build(payload, [{ header: { alg: 'RS256', crit: ['b64'], b64: false }, key: null }, cicPart])), { code: 'PKT_CRIT_UNSUPPORTED' });
});

t.test('provider signature: algorithm confusion is refused', async (t) => {
  const cic = cicHeader(cicKey.jwk, 'ES256');
  const payload = { iss: 'https://op.example', nonce: commitment(cic) };
  const cicPart: Part = { header: cic, key: cicKey.privateKey };
  const none = parsePkToken(await build(payload, [{ header: { alg: 'none', typ: 'JWT' }, key: null }, cicPart]));
  t.throws(() => verifyOpSignature(none, opJwk), { code: 'JWS_ALG_UNSUPPORTED' }, 'alg none');
  // HS256 with the provider's public key (as PEM and as JWK text) for the HMAC secret.
  const pem = createPublicKey({ key: op.jwk as never, format: 'jwk' }).export({ format: 'pem', type: 'spki' });
  for (const secret of [Buffer.from(pem), Buffer.from(JSON.stringify(opJwk))]) {
    const hs = parsePkToken(await build(payload, [{ header: { alg: 'HS256', typ: 'JWT' }, key: new Uint8Array(secret) }, cicPart]));
    t.throws(() => verifyOpSignature(hs, opJwk), { code: 'JWS_ALG_UNSUPPORTED' }, 'HS256 keyed with the public key');
  }
  // An EC key offered for an RS256 header, and an EC-signed token checked against an EC JWK marked for another alg.
  const rs = parsePkToken(await standard());
  t.throws(() => verifyOpSignature(rs, cicKey.jwk), { code: 'JWS_KEY_MISMATCH' });
  const gq = parsePkToken(await build(payload, [{ header: { alg: 'GQ256', typ: 'JWT' }, key: null }, cicPart]));
  t.throws(() => verifyOpSignature(gq, opJwk), { code: 'JWS_ALG_UNSUPPORTED' }, 'GQ256 is not implemented');
});

t.test('CIC checks', async (t) => {
  const other = await keyPair('ES256');
  const edKey = await keyPair('EdDSA');
  const check = async (cic: Obj, key: jose.CryptoKey, code: string, name: string) => {
    const pkt = parsePkToken(await standard({ cic, cicKey: key }));
    t.throws(() => verifyCic(pkt), { code }, name);
  };
  await check({ ...cicHeader(cicKey.jwk, 'ES256'), upk: { ...cicKey.jwk, alg: 'EdDSA' } }, cicKey.privateKey, 'PKT_CIC_ALG_MISMATCH', 'alg != upk.alg');
  await check({ ...cicHeader(cicKey.jwk, 'ES256'), upk: cicKey.jwk }, cicKey.privateKey, 'PKT_CIC_ALG_MISMATCH', 'upk without alg');
  await check(cicHeader(other.jwk, 'ES256'), cicKey.privateKey, 'JWS_SIGNATURE_INVALID', 'upk of another key');
  await check(cicHeader(cicKey.jwk, 'EdDSA'), edKey.privateKey, 'JWS_KEY_MISMATCH', 'EC upk, EdDSA alg');
  const { rz: _rz, ...noRz } = cicHeader(cicKey.jwk, 'ES256');
  await check(noRz, cicKey.privateKey, 'PKT_CIC_INVALID', 'no rz');
  await check({ ...cicHeader(cicKey.jwk, 'ES256'), rz: 5 }, cicKey.privateKey, 'PKT_CIC_INVALID', 'rz not a string');
  await check({ ...cicHeader(cicKey.jwk, 'ES256'), upk: 'x' }, cicKey.privateKey, 'PKT_CIC_INVALID', 'upk not an object');
  const p384 = await keyPair('ES384');
  await check(cicHeader(p384.jwk, 'ES384'), p384.privateKey, 'PKT_CIC_ALG_UNSUPPORTED', 'ES384');
  await check({ ...cicHeader(cicKey.jwk, 'ES256'), upk: { ...cicKey.jwk, alg: 'ES256', d: 'AAAA' } }, cicKey.privateKey, 'JWK_INVALID', 'private upk');

  // Tampered CIC signature / header.
  const good = (await standard()).split(':');
  const sig = Buffer.from(good[4]!, 'base64url');
  sig[0] = sig[0]! ^ 1;
  t.throws(() => verifyCic(parsePkToken([...good.slice(0, 4), b64u(sig)].join(':'))), { code: 'JWS_SIGNATURE_INVALID' }, 'tampered signature');
  const hdr = JSON.parse(Buffer.from(good[3]!, 'base64url').toString()) as Obj;
  t.throws(() => verifyCic(parsePkToken([...good.slice(0, 3), b64u(JSON.stringify({ ...hdr, rz: 'cd'.repeat(32) })), good[4]].join(':'))), { code: 'JWS_SIGNATURE_INVALID' }, 'tampered header');
  // A payload swapped in from another token breaks the CIC signature too.
  const otherPayload = (await standard({ nonce: 'another-nonce' })).split(':')[0]!;
  t.throws(() => verifyCic(parsePkToken([otherPayload, ...good.slice(1)].join(':'))), { code: 'JWS_SIGNATURE_INVALID' }, 'payload swapped');
});

t.test('nonce committing to another key does not match', async (t) => {
  const other = await keyPair('ES256');
  const pkt = parsePkToken(await standard({ nonce: commitment(cicHeader(other.jwk, 'ES256')) }));
  const cic = verifyCic(pkt); // the CIC itself is fine...
  t.not(cic.commitment, pkt.payload['nonce'], '...but the provider signed a nonce for another key');
});

t.test('encoding is strict', async (t) => {
  const good = (await standard()).split(':');
  const swap = (i: number, v: string) => good.map((s, j) => (j === i ? v : s)).join(':');
  t.throws(() => parsePkToken(swap(0, `${good[0]}=`)), { code: 'PKT_MALFORMED' }, 'padding');
  t.throws(() => parsePkToken(swap(0, good[0]!.replace(/[A-Z]/, '+'))), { code: 'PKT_MALFORMED' }, 'standard alphabet');
  t.throws(() => parsePkToken(swap(4, '')), { code: 'PKT_MALFORMED' }, 'empty signature');
  t.throws(() => parsePkToken(swap(0, b64u('[1,2]'))), { code: 'PKT_MALFORMED' }, 'payload array');
  t.throws(() => parsePkToken(swap(0, b64u('not json'))), { code: 'PKT_MALFORMED' }, 'payload not JSON');
  t.throws(() => parsePkToken(swap(1, b64u(Buffer.from([0x7b, 0xc3, 0x7d])))), { code: 'PKT_MALFORMED' }, 'header invalid UTF-8');
  t.throws(() => parsePkToken(`${good.join(':')}.a.b`), { code: 'PKT_MALFORMED' }, 'refreshed token with two parts');
  t.throws(() => parsePkToken(`${good.join(':')}.a.b.c.d`), { code: 'PKT_MALFORMED' }, 'refreshed token with four parts');
  t.throws(() => parsePkToken(`${good.join(':')}.${b64u('{}')}.${b64u('{}')}.`), { code: 'PKT_MALFORMED' }, 'refreshed token without signature');
  t.throws(() => parsePkToken('a'.repeat(MAX_PKT_CHARS + 1)), { code: 'PKT_TOO_LARGE' });
});

t.test('real PK Token from openpubkey docs/pktoken.md (GQ256, Google)', async (t) => {
  // Compact token printed in openpubkey docs/pktoken.md ("Compact 6994"), commit 0111edf.
  // Its CIC signature is intact, so it is a real-world ES256 + commitment vector.
  const text = readFileSync(new URL('./fixtures/openpubkey-docs-gq-google.pkt', import.meta.url), 'latin1');
  t.equal(text.length, 6994);
  const pkt = parsePkToken(text);
  t.equal(pkt.op.alg, 'GQ256');
  t.equal(pkt.cic.header['extra'], 'yes');
  const cic = verifyCic(pkt);
  t.equal(cic.commitment, '8IpXCsOcYBGcCJmXJMFOpBjz4-kPXwDhYi3hm_DFM_U');
  t.equal(cic.commitment, pkt.payload['nonce']);
  t.throws(() => verifyOpSignature(pkt, opJwk), { code: 'JWS_ALG_UNSUPPORTED' });
});

t.test('end to end with ssh-keygen: certificate, PK Token, key binding', async (t) => {
  const { dir, cleanup } = tmpDir();
  t.teardown(cleanup);
  // The client's ephemeral P-256 key, usable by both node (CIC) and ssh-keygen (self-signed cert).
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const path = join(dir, 'upk');
  writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  const { execFileSync } = await import('node:child_process');
  writeFileSync(`${path}.pub`, execFileSync('ssh-keygen', ['-y', '-f', path]));
  const jwk = privateKey.export({ format: 'jwk' });
  const pub = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  const cicPriv = await jose.importJWK({ ...jwk, alg: 'ES256' } as jose.JWK, 'ES256');
  const compact = await standard({ cic: cicHeader(pub, 'ES256'), cicKey: cicPriv as jose.CryptoKey });

  const { t: type, k } = certify(dir, path, path, ['-n', 'opkssh-wildcard', '-O', `extension:openpubkey-pkt=${compact}`]);
  const cert = parseSshdCertificate(k, type);
  verifyCertificateSignature(cert);
  const pkt = parsePkToken(openpubkeyPkt(cert));
  const cic = verifyCic(pkt);
  t.equal(cic.commitment, pkt.payload['nonce']);
  verifyOpSignature(pkt, opJwk);
  t.doesNotThrow(() => assertCertKeyMatchesUpk(cert.publicKey, cic.upk));

  // The same PK Token inside a certificate for a different key: binding fails.
  const otherPath = join(dir, 'other');
  execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '256', '-N', '', '-f', otherPath]);
  const stolen = certify(dir, otherPath, otherPath, ['-n', 'opkssh-wildcard', '-O', `extension:openpubkey-pkt=${compact}`]);
  const stolenCert = parseSshdCertificate(stolen.k, stolen.t);
  verifyCertificateSignature(stolenCert);
  t.throws(() => assertCertKeyMatchesUpk(stolenCert.publicKey, verifyCic(parsePkToken(openpubkeyPkt(stolenCert))).upk), { code: 'KEY_BINDING_MISMATCH' });
});
