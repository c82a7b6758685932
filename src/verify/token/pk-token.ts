import { LeashError } from '../../errors.js';
import { SUPPORTED_KEY_TYPES, type SupportedUpkAlg } from '../cert/ssh-cert.js';
import { cicCommitment } from './commitment.js';
import { decodeB64u, decodeB64uJsonObject, verifyJwsSignature, type JsonObject } from './jws.js';

/**
 * The compact PK Token carried in the `openpubkey-pkt` certificate extension:
 *
 *   payload ":" opHdr ":" opSig ":" cicHdr ":" cicSig [ ":" cosHdr ":" cosSig ] [ "." refreshed-JWT ]
 *
 * All segments base64url. Each signature signs `hdr "." payload` over the one
 * shared payload (the OP's ID Token payload). Roles come from the protected
 * header `typ`, not the position. Unlike upstream's compact parser we refuse
 * a duplicated or missing role instead of letting the last one win.
 *
 * Codes: PKT_TOO_LARGE, PKT_MALFORMED, PKT_TYP_UNKNOWN, PKT_TYP_UNSUPPORTED,
 * PKT_DUPLICATE_SIGNATURE, PKT_MISSING_SIGNATURE, PKT_CRIT_UNSUPPORTED;
 * CIC: PKT_CIC_INVALID, PKT_CIC_ALG_UNSUPPORTED, PKT_CIC_ALG_MISMATCH, plus
 * the JWS/JWK codes of jws.ts/jwk.ts and COMMITMENT_INPUT_INVALID.
 */

/** The certificate is capped at 64 KiB, so a PK Token can never legitimately be larger. */
export const MAX_PKT_CHARS = 64 * 1024;

export type SignatureRole = 'op' | 'cic' | 'cos';

/** One signature of the PK Token, over the shared payload. */
export interface PktSignature {
  role: SignatureRole;
  /** The protected header exactly as received (base64url); part of the signing input. */
  protectedB64: string;
  header: JsonObject;
  /** Header `alg` / `kid` when present as strings; a non-string value is refused at parse. */
  alg: string | undefined;
  kid: string | undefined;
  signature: Buffer;
}

/** The optional refreshed ID Token appended after ".": parsed, not verified. */
export interface RefreshedIdToken {
  headerB64: string;
  payloadB64: string;
  header: JsonObject;
  payload: JsonObject;
  signature: Buffer;
}

export interface PkToken {
  payloadB64: string;
  /** The ID Token claims. */
  payload: JsonObject;
  op: PktSignature;
  cic: PktSignature;
  /** A cosigner signature; opkssh never verifies it and neither does leash. */
  cos: PktSignature | null;
  refreshedIdToken: RefreshedIdToken | null;
}

export function parsePkToken(compact: string): PkToken {
  if (compact.length > MAX_PKT_CHARS) throw new LeashError('PKT_TOO_LARGE', `PK Token is longer than ${MAX_PKT_CHARS} characters`);
  // The refreshed ID Token starts at the first "."; the signed part uses only ":".
  const dot = compact.indexOf('.');
  const tokens = dot < 0 ? compact : compact.slice(0, dot);
  const refreshed = dot < 0 ? null : parseRefreshed(compact.slice(dot + 1));

  const parts = tokens.split(':');
  // payload + 2 per signature; OP, CIC and at most one COS.
  if (parts.length < 5 || parts.length > 7 || parts.length % 2 === 0) {
    throw new LeashError('PKT_MALFORMED', `PK Token has ${parts.length} ':'-separated parts; expected 5 or 7`);
  }
  const payloadB64 = parts[0]!;
  const payload = decodeB64uJsonObject(payloadB64, 'PK Token payload', 'PKT_MALFORMED');

  const byRole = new Map<SignatureRole, PktSignature>();
  for (let i = 1; i < parts.length; i += 2) {
    const sig = parseSignature(parts[i]!, parts[i + 1]!);
    if (byRole.has(sig.role)) throw new LeashError('PKT_DUPLICATE_SIGNATURE', `PK Token has more than one ${sig.role.toUpperCase()} signature`);
    byRole.set(sig.role, sig);
  }
  const op = byRole.get('op');
  const cic = byRole.get('cic');
  if (op === undefined) throw new LeashError('PKT_MISSING_SIGNATURE', 'PK Token has no provider (OP) signature');
  if (cic === undefined) throw new LeashError('PKT_MISSING_SIGNATURE', 'PK Token has no CIC signature');
  return { payloadB64, payload, op, cic, cos: byRole.get('cos') ?? null, refreshedIdToken: refreshed };
}

function parseSignature(protectedB64: string, sigB64: string): PktSignature {
  const header = decodeB64uJsonObject(protectedB64, 'PK Token protected header', 'PKT_MALFORMED');
  const signature = decodeB64u(sigB64, 'PK Token signature', 'PKT_MALFORMED');
  const alg = optionalString(header, 'alg');
  const kid = optionalString(header, 'kid');
  // RFC 7515 §4.1.11: extensions we do not understand must not be ignored; we understand none (this also rules out b64:false).
  if (header['crit'] !== undefined) throw new LeashError('PKT_CRIT_UNSUPPORTED', 'PK Token header has a "crit" parameter');
  return { role: roleOf(header), protectedB64, header, alg, kid, signature };
}

/**
 * Role by `typ` (format notes §2.1): absent, "", "JWT" or "at+jwt" (any case)
 * is the provider; exactly "CIC" / "COS" the client / cosigner.
 * "dpop+id_token" is upstream's key-bound provider type, which needs a
 * verifier leash does not have, so it is refused rather than treated as a
 * plain ID Token. Anything else is unknown.
 */
function roleOf(header: JsonObject): SignatureRole {
  const typ = optionalString(header, 'typ');
  if (typ === undefined || typ === '' || typ === 'JWT' || typ.toLowerCase() === 'at+jwt') return 'op';
  if (typ === 'CIC') return 'cic';
  if (typ === 'COS') return 'cos';
  if (typ === 'dpop+id_token') throw new LeashError('PKT_TYP_UNSUPPORTED', 'key-bound (dpop+id_token) PK Tokens are not supported');
  throw new LeashError('PKT_TYP_UNKNOWN', 'PK Token signature has an unknown "typ"');
}

function parseRefreshed(jwt: string): RefreshedIdToken {
  const parts = jwt.split('.');
  if (parts.length !== 3) throw new LeashError('PKT_MALFORMED', 'refreshed ID Token is not a three-part JWT');
  const [headerB64, payloadB64, sigB64] = parts as [string, string, string];
  return {
    headerB64,
    payloadB64,
    header: decodeB64uJsonObject(headerB64, 'refreshed ID Token header', 'PKT_MALFORMED'),
    payload: decodeB64uJsonObject(payloadB64, 'refreshed ID Token payload', 'PKT_MALFORMED'),
    signature: decodeB64u(sigB64, 'refreshed ID Token signature', 'PKT_MALFORMED'),
  };
}

function optionalString(header: JsonObject, name: string): string | undefined {
  const v = header[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw new LeashError('PKT_MALFORMED', `PK Token header "${name}" is not a string`);
  return v;
}

/** The JWS signing input of one PK Token signature: ASCII `hdr "." payload`. */
export function signingInput(pkt: PkToken, sig: PktSignature): string {
  return `${sig.protectedB64}.${pkt.payloadB64}`;
}

/**
 * Verifies the provider's signature with the provider key `jwk` (chosen by
 * the caller from the provider's JWKS, e.g. by `pkt.op.kid`). The alg comes
 * from the OP header and must be one jws.ts accepts (GQ256 is not).
 * Codes: those of verifyJwsSignature.
 */
export function verifyOpSignature(pkt: PkToken, jwk: unknown): void {
  verifyJwsSignature(pkt.op.alg, jwk, signingInput(pkt, pkt.op), pkt.op.signature);
}

/** The algorithm of a client key leash accepts: one per supported certificate key type (ssh-cert.ts). */
export type CicAlg = SupportedUpkAlg;
const CIC_ALGS: readonly string[] = Object.values(SUPPORTED_KEY_TYPES);

export interface CicClaims {
  alg: CicAlg;
  rz: string;
  /** The client's public key as a JWK (parsed JSON); compare with the certificate via assertCertKeyMatchesUpk. */
  upk: JsonObject;
  /** b64u(SHA3-256(canonical CIC header)); the provider must have signed this as nonce / aud. */
  commitment: string;
}

/**
 * Checks the CIC header (`typ` CIC, `rz`, `upk`, `alg` == `upk.alg`, alg the
 * JOSE alg of a supported certificate key type: ES256 or EdDSA; upstream's
 * parser also takes RS256, which no opkssh login makes), verifies the CIC
 * signature with `upk`, and returns the claims with their commitment.
 * Codes: PKT_CIC_INVALID, PKT_CIC_ALG_UNSUPPORTED, PKT_CIC_ALG_MISMATCH,
 * JWS_KEY_MISMATCH, JWK_INVALID, JWK_UNSUPPORTED, JWS_SIGNATURE_INVALID,
 * COMMITMENT_INPUT_INVALID.
 */
export function verifyCic(pkt: PkToken): CicClaims {
  const h = pkt.cic.header;
  if (h['typ'] !== 'CIC') throw new LeashError('PKT_CIC_INVALID', 'CIC header "typ" is not "CIC"');
  const alg = pkt.cic.alg;
  if (alg === undefined || !CIC_ALGS.includes(alg)) {
    throw new LeashError('PKT_CIC_ALG_UNSUPPORTED', `CIC "alg" is not ${CIC_ALGS.join(' or ')}`);
  }
  const rz = h['rz'];
  if (typeof rz !== 'string' || rz.length === 0) throw new LeashError('PKT_CIC_INVALID', 'CIC header has no "rz"');
  const upk = h['upk'];
  if (typeof upk !== 'object' || upk === null || Array.isArray(upk)) throw new LeashError('PKT_CIC_INVALID', 'CIC header "upk" is not a JWK object');
  if (upk['alg'] !== alg) throw new LeashError('PKT_CIC_ALG_MISMATCH', 'CIC "alg" differs from "upk.alg"');
  verifyJwsSignature(alg, upk, signingInput(pkt, pkt.cic), pkt.cic.signature);
  return { alg: alg as CicAlg, rz, upk, commitment: cicCommitment(h) };
}
