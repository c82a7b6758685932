import { generateKeyPairSync, sign } from 'node:crypto';
import * as jose from 'jose';
import t from 'tap';
import { assertCertKeyMatchesUpk, parsePublicJwk } from '../../../src/verify/token/jwk.js';
import { decodeB64u, decodeB64uJsonObject, verifyJwsSignature } from '../../../src/verify/token/jws.js';
import type { SshPublicKey } from '../../../src/verify/cert/ssh-cert.js';

type Jwk = Record<string, unknown>;
const enc = new TextEncoder();

async function keyPair(alg: string, opts: Record<string, unknown> = {}) {
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true, ...opts });
  return { privateKey, jwk: (await jose.exportJWK(publicKey)) as Jwk };
}

/** Signs with jose and returns what the verifier sees. */
async function jws(alg: string, key: jose.CryptoKey | Uint8Array, payload = '{"sub":"x"}') {
  const compact = await new jose.CompactSign(enc.encode(payload)).setProtectedHeader({ alg }).sign(key);
  const [h, p, s] = compact.split('.') as [string, string, string];
  return { input: `${h}.${p}`, sig: Buffer.from(s, 'base64url') };
}

const rsa = await keyPair('RS256', { modulusLength: 2048 });
const pss = await keyPair('PS256', { modulusLength: 2048 });
const ec = await keyPair('ES256');
const ed = await keyPair('EdDSA');

t.test('the four accepted algorithms verify', async (t) => {
  for (const [alg, k] of [['RS256', rsa], ['PS256', pss], ['ES256', ec], ['EdDSA', ed]] as const) {
    const s = await jws(alg, k.privateKey);
    t.doesNotThrow(() => verifyJwsSignature(alg, k.jwk, s.input, s.sig), alg);
    t.doesNotThrow(() => verifyJwsSignature(alg, { ...k.jwk, alg, use: 'sig', kid: 'x' }, s.input, s.sig), `${alg} with alg/use/kid`);
    t.throws(() => verifyJwsSignature(alg, k.jwk, `${s.input}x`, s.sig), { code: 'JWS_SIGNATURE_INVALID' }, `${alg} tampered input`);
    const flipped = Buffer.from(s.sig);
    flipped[5] = flipped[5]! ^ 1;
    t.throws(() => verifyJwsSignature(alg, k.jwk, s.input, flipped), { code: 'JWS_SIGNATURE_INVALID' }, `${alg} tampered signature`);
    t.throws(() => verifyJwsSignature(alg, k.jwk, s.input, s.sig.subarray(1)), { code: 'JWS_SIGNATURE_INVALID' }, `${alg} short signature`);
  }
});

t.test('anything else is refused before the key is looked at', async (t) => {
  for (const alg of ['none', 'HS256', 'HS512', 'ES384', 'ES512', 'RS384', 'RS512', 'PS384', 'GQ256', 'Ed25519', 'es256', '', undefined, 1, null]) {
    // The key is garbage on purpose: the alg must be the first thing rejected.
    t.throws(() => verifyJwsSignature(alg, null, 'a.b', Buffer.alloc(64)), { code: 'JWS_ALG_UNSUPPORTED' }, String(alg));
  }
  // HS256 "signed" with the provider's public key as the HMAC secret.
  const secret = Buffer.from(JSON.stringify(rsa.jwk));
  const s = await jws('HS256', secret);
  t.throws(() => verifyJwsSignature('HS256', rsa.jwk, s.input, s.sig), { code: 'JWS_ALG_UNSUPPORTED' });
});

t.test('key type must fit the algorithm', async (t) => {
  const s = await jws('RS256', rsa.privateKey);
  t.throws(() => verifyJwsSignature('RS256', ec.jwk, s.input, s.sig), { code: 'JWS_KEY_MISMATCH' }, 'EC key, RS256');
  t.throws(() => verifyJwsSignature('RS256', ed.jwk, s.input, s.sig), { code: 'JWS_KEY_MISMATCH' }, 'OKP key, RS256');
  t.throws(() => verifyJwsSignature('ES256', rsa.jwk, s.input, s.sig), { code: 'JWS_KEY_MISMATCH' }, 'RSA key, ES256');
  t.throws(() => verifyJwsSignature('EdDSA', ec.jwk, s.input, s.sig), { code: 'JWS_KEY_MISMATCH' }, 'EC key, EdDSA');
  t.throws(() => verifyJwsSignature('RS256', { kty: 'oct', k: 'c2VjcmV0' }, s.input, s.sig), { code: 'JWS_KEY_MISMATCH' }, 'oct key');
  const p384 = await keyPair('ES384');
  t.throws(() => verifyJwsSignature('ES256', p384.jwk, s.input, s.sig), { code: 'JWS_KEY_MISMATCH' }, 'P-384 key, ES256');
  t.throws(() => verifyJwsSignature('EdDSA', { ...ed.jwk, crv: 'Ed448' }, s.input, s.sig), { code: 'JWS_KEY_MISMATCH' }, 'Ed448');
  const ps = await jws('PS256', pss.privateKey);
  t.throws(() => verifyJwsSignature('PS256', { ...pss.jwk, alg: 'RS256' }, ps.input, ps.sig), { code: 'JWS_KEY_MISMATCH' }, 'JWK marked for another alg');
  t.throws(() => verifyJwsSignature('RS256', 'not an object', s.input, s.sig), { code: 'JWK_INVALID' });
});

t.test('JWK validation', async (t) => {
  const s = await jws('ES256', ec.privateKey);
  // jose will not make a 1024-bit key, so node:crypto does.
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const input = 'eyJhbGciOiJSUzI1NiJ9.e30';
  const smallSig = sign('sha256', Buffer.from(input), small.privateKey);
  t.throws(() => verifyJwsSignature('RS256', small.publicKey.export({ format: 'jwk' }), input, smallSig), { code: 'JWK_INVALID' }, 'RSA 1024');
  t.throws(() => verifyJwsSignature('ES256', { ...ec.jwk, d: 'AAAA' }, s.input, s.sig), { code: 'JWK_INVALID' }, 'private member');
  t.throws(() => verifyJwsSignature('ES256', { ...ec.jwk, use: 'enc' }, s.input, s.sig), { code: 'JWK_INVALID' }, 'use enc');
  t.throws(() => verifyJwsSignature('ES256', { ...ec.jwk, x: `${ec.jwk['x'] as string}=` }, s.input, s.sig), { code: 'JWK_INVALID' }, 'padded');
  t.throws(() => verifyJwsSignature('ES256', { ...ec.jwk, x: (ec.jwk['x'] as string).slice(2) }, s.input, s.sig), { code: 'JWK_INVALID' }, 'short x');
  t.throws(() => verifyJwsSignature('ES256', { ...ec.jwk, y: Buffer.alloc(32, 1).toString('base64url') }, s.input, s.sig), { code: 'JWK_INVALID' }, 'point not on curve');
  t.throws(() => parsePublicJwk({ kty: 'EC', crv: 'secp256k1', x: 'AA', y: 'AA' }), { code: 'JWK_UNSUPPORTED' });
  for (const e of ['AQ', 'AAE', 'Ag', 'AQAAAAAAAAAB']) t.throws(() => parsePublicJwk({ kty: 'RSA', n: rsa.jwk['n'], e }), { code: 'JWK_INVALID' }, `e=${e}`);
  // A leading zero octet in n is tolerated and ignored (some providers publish one).
  const n0 = Buffer.concat([Buffer.from([0]), Buffer.from(rsa.jwk['n'] as string, 'base64url')]).toString('base64url');
  const parsed = parsePublicJwk({ kty: 'RSA', n: n0, e: 'AQAB' });
  t.ok(parsed.kty === 'RSA' && parsed.n.equals(Buffer.from(rsa.jwk['n'] as string, 'base64url')));
});

t.test('ES256 needs raw r||s, not DER', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const input = 'eyJhbGciOiJFUzI1NiJ9.e30';
  const der = sign('sha256', Buffer.from(input), privateKey);
  const raw = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const jwk = publicKey.export({ format: 'jwk' });
  t.doesNotThrow(() => verifyJwsSignature('ES256', jwk, input, raw));
  t.throws(() => verifyJwsSignature('ES256', jwk, input, der), { code: 'JWS_SIGNATURE_INVALID' });
});

t.test('certificate key vs upk', async (t) => {
  const x = Buffer.from(ec.jwk['x'] as string, 'base64url');
  const y = Buffer.from(ec.jwk['y'] as string, 'base64url');
  const ecKey: SshPublicKey = { type: 'ecdsa-sha2-nistp256', curve: 'nistp256', q: Buffer.concat([Buffer.from([4]), x, y]), blob: Buffer.alloc(0) };
  t.doesNotThrow(() => assertCertKeyMatchesUpk(ecKey, ec.jwk));
  const other = await keyPair('ES256');
  t.throws(() => assertCertKeyMatchesUpk(ecKey, other.jwk), { code: 'KEY_BINDING_MISMATCH' });
  t.throws(() => assertCertKeyMatchesUpk(ecKey, { ...ec.jwk, x: ec.jwk['y'], y: ec.jwk['x'] }), { code: 'KEY_BINDING_MISMATCH' }, 'x and y swapped');
  t.throws(() => assertCertKeyMatchesUpk(ecKey, ed.jwk), { code: 'KEY_BINDING_MISMATCH' });
  const edKey: SshPublicKey = { type: 'ssh-ed25519', pk: Buffer.from(ed.jwk['x'] as string, 'base64url'), blob: Buffer.alloc(0) };
  t.doesNotThrow(() => assertCertKeyMatchesUpk(edKey, ed.jwk));
  const otherEd = await keyPair('EdDSA');
  t.throws(() => assertCertKeyMatchesUpk(edKey, otherEd.jwk), { code: 'KEY_BINDING_MISMATCH' });
  const rsaKey: SshPublicKey = { type: 'ssh-rsa', n: Buffer.from(rsa.jwk['n'] as string, 'base64url'), e: Buffer.from(rsa.jwk['e'] as string, 'base64url'), blob: Buffer.alloc(0) };
  t.throws(() => assertCertKeyMatchesUpk(rsaKey, rsa.jwk), { code: 'KEY_BINDING_MISMATCH' }, 'RSA is not a supported key type: never bound');
  t.throws(() => assertCertKeyMatchesUpk(rsaKey, { ...rsa.jwk, e: 'Aw' }), { code: 'KEY_BINDING_MISMATCH' });
  const sk: SshPublicKey = { type: 'sk-ssh-ed25519@openssh.com', pk: edKey.pk, application: 'ssh:', blob: Buffer.alloc(0) };
  t.throws(() => assertCertKeyMatchesUpk(sk, ed.jwk), { code: 'KEY_BINDING_MISMATCH' });
});

t.test('strict base64url / JSON helpers', async (t) => {
  t.equal(decodeB64u('YWI', 'x', 'PKT_MALFORMED').toString(), 'ab');
  for (const bad of ['', 'YWI=', 'YW+', 'YW/', 'Y', 'YWJ', 'YW I']) t.throws(() => decodeB64u(bad, 'x', 'PKT_MALFORMED'), { code: 'PKT_MALFORMED' }, JSON.stringify(bad));
  t.same(decodeB64uJsonObject(Buffer.from('{"a":1}').toString('base64url'), 'x', 'PKT_MALFORMED'), { a: 1 });
  for (const bad of ['[1]', '"s"', 'null', '{"a":', '\ufeff{}']) {
    t.throws(() => decodeB64uJsonObject(Buffer.from(bad).toString('base64url'), 'x', 'PKT_MALFORMED'), { code: 'PKT_MALFORMED' }, bad);
  }
  t.throws(() => decodeB64uJsonObject(Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url'), 'x', 'PKT_MALFORMED'), { code: 'PKT_MALFORMED' }, 'invalid UTF-8');
});
