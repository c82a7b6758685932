/** Strict JWK Set validation (src/verify/jwks.ts): what is refused outright, what is skipped. */
import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { LeashError } from '../../../src/errors.js';
import { MAX_KEYS, parseJwks } from '../../../src/verify/keys/jwks.js';

const rsa = (bits = 2048): Record<string, unknown> => generateKeyPairSync('rsa', { modulusLength: bits }).publicKey.export({ format: 'jwk' });
const ec = (): Record<string, unknown> => generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
const ed = (): Record<string, unknown> => generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof LeashError ? err.code : 'not a LeashError';
  }
  return 'no error';
}

t.test('usable keys come back reduced to their public members', async (t) => {
  const r = { ...rsa(), kid: 'r1', alg: 'RS256', use: 'sig', x5c: ['MII...'], x5t: 'abc' };
  const e = { ...ec(), kid: 'e1', key_ops: ['verify'] };
  const o = { ...ed(), kid: 'o1', alg: 'EdDSA' };
  const keys = parseJwks({ keys: [r, e, o], extra: true }, 'test');
  t.same(keys.map((k) => k.kid), ['r1', 'e1', 'o1']);
  t.same(Object.keys(keys[0] ?? {}).sort(), ['alg', 'e', 'kid', 'kty', 'n']);
  t.same(Object.keys(keys[1] ?? {}).sort(), ['crv', 'kid', 'kty', 'x', 'y']);
  t.same(Object.keys(keys[2] ?? {}).sort(), ['alg', 'crv', 'kid', 'kty', 'x']);
});

t.test('structural faults reject the whole set', async (t) => {
  t.equal(code(() => parseJwks(null, 'x')), 'JWKS_INVALID');
  t.equal(code(() => parseJwks([], 'x')), 'JWKS_INVALID');
  t.equal(code(() => parseJwks({}, 'x')), 'JWKS_INVALID');
  t.equal(code(() => parseJwks({ keys: {} }, 'x')), 'JWKS_INVALID');
  t.equal(code(() => parseJwks({ keys: ['k'] }, 'x')), 'JWKS_INVALID');
  t.equal(code(() => parseJwks({ keys: [{ kid: 'a' }] }, 'x')), 'JWKS_INVALID', 'kty missing');
  t.equal(code(() => parseJwks({ keys: [{ ...ec(), kid: 7 }] }, 'x')), 'JWKS_INVALID', 'kid not a string');
  const many = Array.from({ length: MAX_KEYS + 1 }, (_, i) => ({ kty: 'oct', kid: `k${i}` }));
  t.equal(code(() => parseJwks({ keys: many }, 'x')), 'JWKS_INVALID', 'too many keys');
});

t.test('keys that are not usable signing keys are skipped', async (t) => {
  const skipped: [string, Record<string, unknown>][] = [
    ['use enc', { ...rsa(), kid: 'a', use: 'enc' }],
    ['key_ops without verify', { ...ec(), kid: 'a', key_ops: ['encrypt'] }],
    ['no kid', { ...ec() }],
    ['kid with a space', { ...ec(), kid: 'a b' }],
    ['kid with a newline', { ...ec(), kid: 'a\nb' }],
    ['symmetric', { kty: 'oct', kid: 'a', k: 'c2VjcmV0' }],
    ['unknown kty', { kty: 'PQC', kid: 'a' }],
    ['private key published', { ...generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' }), kid: 'a' }],
    ['RSA 1024', { ...rsa(1024), kid: 'a' }],
    ['unsupported curve', { ...ec(), kid: 'a', crv: 'secp256k1' }],
    ['P-384', { ...generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' }), kid: 'a' }],
    ['short coordinate', { ...ec(), kid: 'a', x: 'AAAA' }],
    ['Ed448', { ...ed(), kid: 'a', crv: 'Ed448' }],
    ['non-base64url', { ...ec(), kid: 'a', x: 'a+b/' }],
    ['alg not a string', { ...ec(), kid: 'a', alg: 5 }],
  ];
  for (const [name, key] of skipped) t.same(parseJwks({ keys: [key] }, 'x'), [], name);
});

t.test('a kid shared by two usable keys serves neither', async (t) => {
  const keys = parseJwks({ keys: [{ ...ec(), kid: 'dup' }, { ...ec(), kid: 'dup' }, { ...ed(), kid: 'one' }] }, 'x');
  t.same(keys.map((k) => k.kid), ['one']);
});
