import { LeashError } from '../errors.js';

/**
 * A provider's public signing key, reduced to the members a verifier needs.
 * Everything else the provider published (x5c, x5t, private members, ...)
 * is dropped, so nothing unexpected travels further. Usable directly as
 * `crypto.createPublicKey({ key: jwk, format: 'jwk' })`.
 */
export type PublicJwk =
  | { kty: 'RSA'; kid: string; alg?: string; n: string; e: string }
  | { kty: 'EC'; kid: string; alg?: string; crv: 'P-256'; x: string; y: string }
  | { kty: 'OKP'; kid: string; alg?: string; crv: 'Ed25519'; x: string };

/** More keys than any real provider publishes (Google 2–3, Azure ~10). */
export const MAX_KEYS = 100;
/** Printable ASCII without space: kids end up in log lines and command output. */
const KID = /^[\x21-\x7e]{1,256}$/;
const B64URL = /^[A-Za-z0-9_-]+$/;
const ALG = /^[A-Za-z0-9+_-]{1,32}$/;
/** Members that only a private key has. A published private key is not a signing key: anyone can sign with it. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * Validates a JWK Set strictly and returns its usable signing keys.
 *
 * Structural faults (not an object, `keys` not an array, a key that is not an
 * object or has a non-string kty/kid, too many keys) reject the whole set:
 * JWKS_INVALID. Keys that are well-formed but not for us are skipped: `use`
 * other than "sig", `key_ops` without "verify", no kid, symmetric or unknown
 * kty, a curve other than P-256 / Ed25519, wrong coordinate length, RSA
 * outside 2048..16384 bits, any private member. (The same key types
 * src/verify/jwk.ts can verify with: RS256/PS256, ES256, EdDSA.) A kid that appears on more than one usable key is skipped
 * entirely, since picking one of them would be a guess.
 */
export function parseJwks(value: unknown, what: string): PublicJwk[] {
  if (!isObject(value)) throw invalid(what, 'not a JSON object');
  const keys = value['keys'];
  if (!Array.isArray(keys)) throw invalid(what, '"keys" is not an array');
  if (keys.length > MAX_KEYS) throw invalid(what, `more than ${MAX_KEYS} keys`);
  const usable: PublicJwk[] = [];
  for (const [i, key] of keys.entries()) {
    if (!isObject(key)) throw invalid(what, `keys[${i}] is not an object`);
    if (typeof key['kty'] !== 'string') throw invalid(what, `keys[${i}].kty is not a string`);
    if (key['kid'] !== undefined && typeof key['kid'] !== 'string') throw invalid(what, `keys[${i}].kid is not a string`);
    const jwk = usableKey(key);
    if (jwk) usable.push(jwk);
  }
  const seen = new Map<string, number>();
  for (const k of usable) seen.set(k.kid, (seen.get(k.kid) ?? 0) + 1);
  return usable.filter((k) => seen.get(k.kid) === 1);
}

function usableKey(key: Record<string, unknown>): PublicJwk | null {
  const kid = key['kid'];
  if (typeof kid !== 'string' || !KID.test(kid)) return null;
  if (key['use'] !== undefined && key['use'] !== 'sig') return null;
  const ops = key['key_ops'];
  if (ops !== undefined && !(Array.isArray(ops) && ops.includes('verify'))) return null;
  if (PRIVATE_MEMBERS.some((m) => key[m] !== undefined)) return null;
  const alg = key['alg'];
  if (alg !== undefined && (typeof alg !== 'string' || !ALG.test(alg))) return null;
  const withAlg = (k: PublicJwk): PublicJwk => (alg === undefined ? k : { ...k, alg });

  switch (key['kty']) {
    case 'RSA': {
      const n = b64u(key['n']);
      const e = b64u(key['e']);
      if (!n || !e) return null;
      const bits = bitLength(n.bytes);
      if (bits < 2048 || bits > 16384 || e.bytes.length > 8) return null;
      return withAlg({ kty: 'RSA', kid, n: n.text, e: e.text });
    }
    case 'EC': {
      const x = b64u(key['x']);
      const y = b64u(key['y']);
      if (key['crv'] !== 'P-256' || !x || !y || x.bytes.length !== 32 || y.bytes.length !== 32) return null;
      return withAlg({ kty: 'EC', kid, crv: 'P-256', x: x.text, y: y.text });
    }
    case 'OKP': {
      const x = b64u(key['x']);
      if (key['crv'] !== 'Ed25519' || !x || x.bytes.length !== 32) return null;
      return withAlg({ kty: 'OKP', kid, crv: 'Ed25519', x: x.text });
    }
    default:
      return null; // "oct" (a shared secret) and anything unknown can never verify a provider signature
  }
}

function b64u(v: unknown): { text: string; bytes: Buffer } | null {
  if (typeof v !== 'string' || v.length > 4096 || !B64URL.test(v)) return null;
  return { text: v, bytes: Buffer.from(v, 'base64url') };
}

function bitLength(b: Buffer): number {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  if (i === b.length) return 0;
  return (b.length - i - 1) * 8 + (b[i] as number).toString(2).length;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(what: string, why: string): LeashError {
  return new LeashError('JWKS_INVALID', `${what}: ${why}`);
}
