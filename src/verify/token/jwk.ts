import { createPublicKey, type KeyObject } from 'node:crypto';
import { strictBase64url } from '../../encoding/base64.js';
import { LeashError } from '../../errors.js';
import { rsaKeyProblem, type SshPublicKey } from '../cert/ssh-cert.js';

/**
 * Public JWKs (RFC 7517/7518) as leash uses them: the key types that can
 * verify RS256/PS256 (RSA), ES256 (EC P-256) and EdDSA (OKP Ed25519), decoded
 * strictly into raw bytes. Also the exact comparison of a certificate's key
 * with a PK Token's `upk`.
 */

export type RawPublicJwk =
  | { kty: 'RSA'; n: Buffer; e: Buffer }
  | { kty: 'EC'; crv: 'P-256'; x: Buffer; y: Buffer }
  | { kty: 'OKP'; crv: 'Ed25519'; x: Buffer };

/** Members only a private key has: such a JWK is never accepted as a verification key. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/**
 * Decodes and validates a public JWK given as parsed JSON.
 * Codes: JWK_INVALID (not an object, bad or missing members, private
 * members, `use` other than "sig", wrong lengths, RSA outside 2048..16384
 * bits), JWK_UNSUPPORTED (another kty or curve).
 */
export function parsePublicJwk(value: unknown): RawPublicJwk {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('is not a JSON object');
  const jwk = value as Record<string, unknown>;
  if (PRIVATE_MEMBERS.some((m) => Object.hasOwn(jwk, m))) throw invalid('contains private key members');
  if (jwk['use'] !== undefined && jwk['use'] !== 'sig') throw invalid('"use" is not "sig"');
  switch (jwk['kty']) {
    case 'RSA': {
      const n = stripZeros(b64uMember(jwk, 'n'));
      const e = stripZeros(b64uMember(jwk, 'e'));
      const problem = rsaKeyProblem(e, n);
      if (problem !== undefined) throw invalid(problem.why);
      return { kty: 'RSA', n, e };
    }
    case 'EC': {
      if (jwk['crv'] !== 'P-256') throw new LeashError('JWK_UNSUPPORTED', 'EC JWK curve is not P-256');
      const x = b64uMember(jwk, 'x');
      const y = b64uMember(jwk, 'y');
      if (x.length !== 32 || y.length !== 32) throw invalid('P-256 coordinates are not 32 bytes each');
      return { kty: 'EC', crv: 'P-256', x, y };
    }
    case 'OKP': {
      if (jwk['crv'] !== 'Ed25519') throw new LeashError('JWK_UNSUPPORTED', 'OKP JWK curve is not Ed25519');
      const x = b64uMember(jwk, 'x');
      if (x.length !== 32) throw invalid('Ed25519 key is not 32 bytes');
      return { kty: 'OKP', crv: 'Ed25519', x };
    }
    default:
      // "oct" (shared secrets) and anything unknown can never verify an asymmetric signature.
      throw new LeashError('JWK_UNSUPPORTED', 'JWK kty is not RSA, EC or OKP');
  }
}

/**
 * node:crypto key for a validated JWK. Importing through OpenSSL also checks
 * that an EC point lies on the curve. Codes: JWK_INVALID.
 */
export function jwkToKeyObject(key: RawPublicJwk): KeyObject {
  const jwk =
    key.kty === 'RSA'
      ? { kty: 'RSA', n: key.n.toString('base64url'), e: key.e.toString('base64url') }
      : key.kty === 'EC'
        ? { kty: 'EC', crv: 'P-256', x: key.x.toString('base64url'), y: key.y.toString('base64url') }
        : { kty: 'OKP', crv: 'Ed25519', x: key.x.toString('base64url') };
  try {
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    throw invalid(`${key.kty} key is rejected by the crypto library`);
  }
}

/**
 * The binding check: the certificate's certified key must be exactly the PK
 * Token's `upk` (same P-256 point, same Ed25519 bytes; the supported key
 * types of ssh-cert.ts, anything else never matches). This is what the JWK
 * thumbprint comparison upstream amounts to.
 * Codes: KEY_BINDING_MISMATCH, plus parsePublicJwk's codes for a bad upk.
 */
export function assertCertKeyMatchesUpk(certKey: SshPublicKey, upk: unknown): void {
  const jwk = parsePublicJwk(upk);
  let same: boolean;
  switch (certKey.type) {
    case 'ssh-ed25519':
      same = jwk.kty === 'OKP' && jwk.x.equals(certKey.pk);
      break;
    case 'ecdsa-sha2-nistp256':
      same = jwk.kty === 'EC' && certKey.q.equals(Buffer.concat([Buffer.from([0x04]), jwk.x, jwk.y]));
      break;
    default:
      same = false;
  }
  if (!same) {
    throw new LeashError('KEY_BINDING_MISMATCH', `certificate key (${certKey.type}) is not the PK Token's upk (${jwk.kty})`);
  }
}

/**
 * Strict base64url without padding: only the URL-safe alphabet, and
 * canonical (unused trailing bits zero), so each key has one spelling.
 */
function b64uMember(jwk: Record<string, unknown>, name: string): Buffer {
  const v = jwk[name];
  const bytes = typeof v === 'string' && v.length <= 4096 ? strictBase64url(v) : null;
  if (bytes === null) throw invalid(`member "${name}" is not canonical base64url`);
  return bytes;
}

/** RFC 7518 integers are unsigned big-endian; tolerate (but ignore) leading zero octets. */
function stripZeros(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  return b.subarray(i);
}

function invalid(why: string): LeashError {
  return new LeashError('JWK_INVALID', `JWK ${why}`);
}
