import { constants, verify } from 'node:crypto';
import { strictBase64url } from '../../encoding/base64.js';
import { LeashError, type ReasonCode } from '../../errors.js';
import { jwkToKeyObject, parsePublicJwk } from './jwk.js';

/**
 * JWS signature verification (RFC 7515 signing input `b64u(header) "."
 * b64u(payload)`) with node:crypto, plus the strict base64url/JSON decoding
 * the PK Token parser shares.
 *
 * Default deny: only RS256, PS256, ES256 and EdDSA (Ed25519). The alg is
 * checked before the key is even looked at, so `none`, HS256 keyed with a
 * public key, and the like never reach a crypto call.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

const JWS_ALGS = ['RS256', 'PS256', 'ES256', 'EdDSA'] as const;
export type JwsAlg = (typeof JWS_ALGS)[number];

export function isJwsAlg(alg: unknown): alg is JwsAlg {
  return typeof alg === 'string' && (JWS_ALGS as readonly string[]).includes(alg);
}

const KTY_FOR_ALG: Record<JwsAlg, string> = { RS256: 'RSA', PS256: 'RSA', ES256: 'EC', EdDSA: 'OKP' };

/**
 * Throws unless `signature` is valid for `signingInput` under `alg` and `jwk`.
 * `jwk` is parsed JSON (e.g. a JWKS entry or a CIC `upk`); if it names an
 * `alg`, that must equal `alg` (RFC 7517 §4.4: the key is for that algorithm).
 * Codes, in the order checked: JWS_ALG_UNSUPPORTED, JWS_KEY_MISMATCH,
 * JWK_INVALID / JWK_UNSUPPORTED, JWS_SIGNATURE_INVALID.
 */
export function verifyJwsSignature(alg: unknown, jwk: unknown, signingInput: string, signature: Buffer): void {
  if (!isJwsAlg(alg)) {
    throw new LeashError('JWS_ALG_UNSUPPORTED', `JWS algorithm ${describe(alg)} is not accepted (only ${JWS_ALGS.join(', ')})`);
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    throw new LeashError('JWK_INVALID', 'JWK is not a JSON object');
  }
  const members = jwk as Record<string, unknown>;
  if (members['kty'] !== KTY_FOR_ALG[alg] || (alg === 'ES256' && members['crv'] !== 'P-256') || (alg === 'EdDSA' && members['crv'] !== 'Ed25519')) {
    throw new LeashError('JWS_KEY_MISMATCH', `a ${describe(members['kty'])} key cannot verify ${alg}`);
  }
  if (members['alg'] !== undefined && members['alg'] !== alg) {
    throw new LeashError('JWS_KEY_MISMATCH', `key is marked for ${describe(members['alg'])}, not ${alg}`);
  }
  const key = jwkToKeyObject(parsePublicJwk(jwk));
  const data = Buffer.from(signingInput, 'utf8');
  let ok = false;
  try {
    switch (alg) {
      case 'RS256':
        ok = verify('sha256', data, key, signature);
        break;
      case 'PS256':
        // RFC 7518 §3.5: MGF1 with SHA-256 and a salt as long as the hash.
        ok = verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
        break;
      case 'ES256':
        // JOSE ECDSA signatures are r || s, 32 bytes each (RFC 7518 §3.4), not DER.
        ok = signature.length === 64 && verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
        break;
      case 'EdDSA':
        ok = signature.length === 64 && verify(null, data, key, signature);
        break;
    }
  } catch {
    ok = false; // OpenSSL refuses some malformed signatures (e.g. wrong RSA length) by throwing
  }
  if (!ok) throw new LeashError('JWS_SIGNATURE_INVALID', `${alg} signature does not verify`);
}

/** Strict base64url, no padding, canonical. Codes: the caller's `code`. */
export function decodeB64u(text: string, what: string, code: ReasonCode): Buffer {
  const bytes = strictBase64url(text);
  if (bytes === null) throw new LeashError(code, `${what} is not canonical base64url`);
  return bytes;
}

/** base64url -> UTF-8 (strict) -> JSON object (not array, not scalar). Codes: the caller's `code`. */
export function decodeB64uJsonObject(text: string, what: string, code: ReasonCode): JsonObject {
  const bytes = decodeB64u(text, what, code);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    throw new LeashError(code, `${what} is not UTF-8 JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LeashError(code, `${what} is not a JSON object`);
  }
  return value as JsonObject;
}

/** A short, safe rendering of an untrusted value for messages. */
function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 32 ? `${v.slice(0, 32)}...` : v);
  return v === undefined ? '(absent)' : typeof v;
}
