import { createHash } from 'node:crypto';
import type { GrantConfig, LeashConfig, ProviderConfig } from '../config/types.js';
import { CLOCK_FLOOR } from '../clock.js';
import { LeashError, asLeashError } from '../errors.js';
import { authorize } from './grants/authorize.js';
import { effectiveExpiry } from './expiry.js';
import { buildAuthorizedLine, newSessionId } from './output-line.js';
import { isSelfSigned, verifyCertificateSignature } from './cert/cert-signature.js';
import { identityClaims, identityLabel, isEmailVerified } from './grants/identity.js';
import { assertCertKeyMatchesUpk } from './token/jwk.js';
import { isJwsAlg, verifyJwsSignature, type JsonObject } from './token/jws.js';
import { getSigningKey, type JwksWarning, type SigningKey } from './keys/provider-keys.js';
import { parsePkToken, verifyCic, verifyOpSignature, type PkToken } from './token/pk-token.js';
import { openpubkeyPkt, parseSshdCertificate, type SshCertificate } from './cert/ssh-cert.js';


export interface VerifyRequest {
  /** %u: the local user sshd is authenticating. */
  user: string;
  /** %k: base64 of the certificate blob. */
  keyBase64: string;
  /** %t: the key type sshd parsed. */
  keyType: string;
}

export interface VerifyContext {
  config: LeashConfig;
  /** Providers and grants read from opkssh's files (see opkssh-files.ts). */
  migrated: { providers: readonly ProviderConfig[]; grants: readonly GrantConfig[] };
  /** Unix seconds. */
  now: number;
  /** Absolute path of the leash executable, for the forced command. */
  leashPath: string;
  /** Written into the forced command when it is not the default. */
  configDir: string | undefined;
  /**
   * The verifier's state directory (usableVerifyState) for the provider-key
   * fetch throttle; null when there is none: then no key is fetched on the
   * login path.
   */
  stateDir: string | null;
  /** Receives each check as it passes or fails (for `verify --explain` and the audit). */
  report?: (check: string, ok: boolean, detail: string) => void;
  /** Provider keys; the real JWKS cache unless a test substitutes its own. */
  signingKey?: typeof getSigningKey;
}

export interface VerifyResult {
  line: string;
  sessionId: string;
  identity: string;
  profile: string;
  expiresAt: number;
  keySource: SigningKey['source'];
}

/** Facts gathered along the way, for the audit event of both outcomes. Never a token or signature. */
export interface VerifyFacts {
  fingerprint?: string;
  keyId?: string;
  iss?: string;
  sub?: string;
  email?: string;
  emailVerified?: boolean;
  jti?: string;
  /**
   * What degraded without deciding the outcome, as "CODE: message" (an
   * unwritable key cache, a throttled or failed fetch, no state directory).
   * The caller may add its own before calling; verifyLogin appends.
   */
  warnings?: string[];
}

/**
 * Every check of `leash verify`, in order, each failing closed with its own
 * reason code (a LeashError). Only when all pass is the authorized_keys line
 * built. `facts` is filled as checks pass so that a refusal can still be
 * logged with the key fingerprint and the identity it claimed.
 */
export async function verifyLogin(req: VerifyRequest, ctx: VerifyContext, facts: VerifyFacts = {}): Promise<VerifyResult> {
  // One step: run it, report pass (with a one-line detail) or fail (with its code), rethrow.
  const check = async <T>(name: string, run: () => T | Promise<T>, detail: (value: T) => string): Promise<T> => {
    let value: T;
    try {
      value = await run();
    } catch (err) {
      const e = asLeashError(err, 'INTERNAL');
      ctx.report?.(name, false, `${e.code}: ${e.message}`);
      throw e;
    }
    if (ctx.report) ctx.report(name, true, detail(value));
    return value;
  };
  const now = ctx.now;

  await check('clock', () => {
    if (!Number.isSafeInteger(now) || now < CLOCK_FLOOR) throw new LeashError('CLOCK_INSANE', `system time ${now} is before ${CLOCK_FLOOR}`);
  }, () => new Date(now * 1000).toISOString());

  const cert: SshCertificate = await check('certificate', () => parseSshdCertificate(req.keyBase64, req.keyType),
    (c) => `${c.certType}, key id ${JSON.stringify(c.keyId)}, principals ${JSON.stringify(c.principals)}, signed by ${fingerprint(c.signatureKey.blob)}`);
  facts.fingerprint = fingerprint(cert.signatureKey.blob);
  facts.keyId = cert.keyId;
  await check('certificate signature', () => {
    verifyCertificateSignature(cert);
    // opkssh certificates are signed by their own key, and that key becomes the
    // cert-authority of the line: a certificate signed by anything else is not one.
    if (!isSelfSigned(cert)) throw new LeashError('CERT_NOT_SELF_SIGNED', 'the certificate is not signed by its own key');
    if (BigInt(now) < cert.validAfter || BigInt(now) >= cert.validBefore) throw new LeashError('CERT_NOT_VALID_NOW', 'the certificate is outside its validity interval');
  }, () => 'valid, self-signed');

  const pkt: PkToken = await check('PK Token', () => parsePkToken(openpubkeyPkt(cert)),
    (p) => `iss ${str(p.payload['iss']) ?? '?'}, sub ${str(p.payload['sub']) ?? '?'}, email ${str(p.payload['email']) ?? '-'}`);
  facts.iss = str(pkt.payload['iss']);
  facts.sub = str(pkt.payload['sub']);
  facts.email = str(pkt.payload['email']);
  facts.jti = str(pkt.payload['jti']);
  facts.emailVerified = isEmailVerified(pkt.payload['email_verified']);
  const cic = await check('CIC signature', () => verifyCic(pkt), (c) => `${c.alg} by the client key`);

  const provider = await check('issuer', () => {
    const iss = pkt.payload['iss'];
    const found = typeof iss === 'string' ? [...ctx.config.providers, ...ctx.migrated.providers].find((p) => p.issuer === iss) : undefined;
    if (!found) throw new LeashError('ISSUER_UNKNOWN', `issuer ${JSON.stringify(iss)} is not a configured provider`);
    return found;
  }, (p) => `${p.issuer} (${p.source})`);

  await check('audience', () => assertAudience(pkt.payload, provider.clientId), () => `contains ${provider.clientId}`);

  const key = await check('provider signature', async () => {
    // The algorithm is judged before any key is looked up: `none`, HS256 and
    // friends never reach the JWKS (CVE-2025-3757 was an unknown alg skipping verification).
    if (!isJwsAlg(pkt.op.alg)) throw new LeashError('JWS_ALG_UNSUPPORTED', `provider signature alg ${JSON.stringify(pkt.op.alg ?? null)} is not one of RS256, PS256, ES256, EdDSA`);
    if (pkt.op.kid === undefined) throw new LeashError('JWS_KID_MISSING', 'the provider signature names no kid');
    const k = await keyFor(provider, pkt.op.kid, ctx, facts);
    verifyOpSignature(pkt, k.jwk);
    return k;
  }, (k) => `${pkt.op.alg} kid ${pkt.op.kid} (keys from ${k.source}${k.age === null ? '' : `, ${k.age}s old`})`);

  await check('nonce commitment', () => {
    if (pkt.payload['nonce'] !== cic.commitment) throw new LeashError('NONCE_MISMATCH', 'the ID token nonce does not commit to this client key');
  }, () => 'nonce = SHA3-256(CIC header)');

  const refreshed = provider.expiration === 'oidc_refreshed' && pkt.refreshedIdToken
    ? await check('refreshed ID token', () => verifyRefreshed(pkt, provider, ctx, facts), (r) => `valid until ${new Date(r.exp * 1000).toISOString()}`)
    : undefined;

  const times = await check('expiry', () => {
    const t = { policy: provider.expiration, now, iat: int(pkt.payload['iat']), exp: optInt(pkt.payload['exp']), nbf: optInt(pkt.payload['nbf']), refreshedExp: refreshed?.exp, refreshedNbf: refreshed?.nbf };
    return { ...t, end: effectiveExpiry(t) };
  }, (t) => `${provider.expiration}: valid until ${new Date(t.end * 1000).toISOString()}`);

  await check('key binding', () => assertCertKeyMatchesUpk(cert.publicKey, cic.upk), () => 'certificate key = upk');

  const { claims, grant } = await check('authorization', () => {
    const c = identityClaims(pkt.payload);
    const r = authorize(ctx.config, c, req.user, ctx.migrated.grants);
    if (!r.ok) throw new LeashError(r.code, r.detail);
    return { claims: c, grant: r.grant };
  }, ({ grant: g }) => `granted ${req.user} by ${g.source}, profile ${g.profile}`);

  return await check('authorized_keys line', () => {
    const expiresAt = effectiveExpiry({ ...times, maxSession: grant.maxSession });
    const identity = identityLabel(claims);
    const sessionId = newSessionId();
    const line = buildAuthorizedLine({
      certPrincipals: cert.principals,
      localUser: req.user,
      expiresAt,
      leashPath: ctx.leashPath,
      profile: grant.profile,
      identity,
      sessionId,
      configDir: ctx.configDir,
      keyType: cert.signatureKey.type,
      keyBase64: cert.signatureKey.blob.toString('base64'),
    });
    return { line, sessionId, identity, profile: grant.profile, expiresAt, keySource: key.source };
  }, (r) => `session ${r.sessionId}, profile ${r.profile}, expires ${new Date(r.expiresAt * 1000).toISOString()}`);
}

/** `aud` is a string or an array of strings; it must contain the provider's client_id exactly. */
function assertAudience(payload: JsonObject, clientId: string): void {
  const aud = payload['aud'];
  const list = typeof aud === 'string' ? [aud] : Array.isArray(aud) && aud.every((a) => typeof a === 'string') ? (aud as string[]) : null;
  if (list === null) throw new LeashError('AUDIENCE_MISMATCH', 'the ID token has no aud string or string list');
  if (!list.includes(clientId)) throw new LeashError('AUDIENCE_MISMATCH', `aud does not contain client_id ${clientId}`);
}

/**
 * The refreshed ID token (`oidc_refreshed`) extends the session, so it is held
 * to the same standard as the original: the provider's signature, the same
 * issuer, our audience and the same subject. opkssh checks only its exp.
 */
async function verifyRefreshed(pkt: PkToken, provider: ProviderConfig, ctx: VerifyContext, facts: VerifyFacts): Promise<{ exp: number; nbf: number | undefined }> {
  const r = pkt.refreshedIdToken!;
  const alg = r.header['alg'];
  const kid = r.header['kid'];
  if (!isJwsAlg(alg)) throw new LeashError('JWS_ALG_UNSUPPORTED', `refreshed ID token alg ${JSON.stringify(alg ?? null)} is not supported`);
  if (typeof kid !== 'string') throw new LeashError('JWS_KID_MISSING', 'the refreshed ID token names no kid');
  const key = await keyFor(provider, kid, ctx, facts);
  verifyJwsSignature(alg, key.jwk, `${r.headerB64}.${r.payloadB64}`, r.signature);
  if (r.payload['iss'] !== pkt.payload['iss']) throw new LeashError('REFRESHED_TOKEN_INVALID', 'refreshed ID token has another issuer');
  if (r.payload['sub'] !== pkt.payload['sub']) throw new LeashError('REFRESHED_TOKEN_INVALID', 'refreshed ID token has another subject');
  assertAudience(r.payload, provider.clientId);
  return { exp: int(r.payload['exp']), nbf: optInt(r.payload['nbf']) };
}

/**
 * The provider key with this kid, through the key cache and the fetch
 * throttle; every warning it gives is added to facts.warnings as it happens,
 * so a refusal's audit event has them as well as an acceptance's.
 */
async function keyFor(provider: ProviderConfig, kid: string, ctx: VerifyContext, facts: VerifyFacts): Promise<SigningKey> {
  const warnings: JwksWarning[] = [];
  try {
    return await (ctx.signingKey ?? getSigningKey)(provider, kid, { cacheDir: ctx.config.jwksCacheDir, maxStale: ctx.config.maxStale, now: ctx.now, stateDir: ctx.stateDir, warnings });
  } finally {
    // One per code (the caller's own come first): the refusal's detail says the rest.
    const seen = facts.warnings ?? [];
    facts.warnings = [...seen, ...warnings.filter((w) => !seen.some((s) => s.startsWith(`${w.code}:`))).map((w) => `${w.code}: ${w.message}`)];
  }
}

/** OpenSSH-style key fingerprint: SHA256:<unpadded base64>. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v.slice(0, 256) : undefined;
}

function int(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new LeashError('TOKEN_TIME_INVALID', 'iat, exp and nbf must be integers');
  return v;
}

function optInt(v: unknown): number | undefined {
  return v === undefined ? undefined : int(v);
}
