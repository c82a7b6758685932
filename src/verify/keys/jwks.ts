import { LeashError } from '../../errors.js';
import { parsePublicJwk, type RawPublicJwk } from '../token/jwk.js';

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
const ALG = /^[A-Za-z0-9+_-]{1,32}$/;

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
  const ops = key['key_ops'];
  if (ops !== undefined && !(Array.isArray(ops) && ops.includes('verify'))) return null;
  const alg = key['alg'];
  if (alg !== undefined && (typeof alg !== 'string' || !ALG.test(alg))) return null;
  // The key material is judged by the same rules the signature check uses
  // (jwk.ts): a key that could never verify is not cached at all.
  let raw: RawPublicJwk;
  try {
    raw = parsePublicJwk(key);
  } catch {
    return null;
  }
  const k: PublicJwk =
    raw.kty === 'RSA'
      ? { kty: 'RSA', kid, n: raw.n.toString('base64url'), e: raw.e.toString('base64url') }
      : raw.kty === 'EC'
        ? { kty: 'EC', kid, crv: 'P-256', x: raw.x.toString('base64url'), y: raw.y.toString('base64url') }
        : { kty: 'OKP', kid, crv: 'Ed25519', x: raw.x.toString('base64url') };
  return alg === undefined ? k : { ...k, alg };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(what: string, why: string): LeashError {
  return new LeashError('JWKS_INVALID', `${what}: ${why}`);
}
