import { LeashError } from '../../errors.js';
import { checkFetchUrl, fetchJson } from './http-fetch.js';
import { parseJwks, type PublicJwk } from './jwks.js';

/** Discovery plus key set, both within this many milliseconds: sshd waits for us. */
export const FETCH_TIMEOUT_MS = 3000;

export interface FetchedJwks {
  jwksUri: string;
  keys: PublicJwk[];
}

/**
 * OpenID discovery, then the key set it points to, under one deadline.
 * Like opkssh, the discovery URL is the issuer without a trailing slash plus
 * /.well-known/openid-configuration, and the document's `issuer` must equal
 * the configured issuer byte for byte (a provider answering for another
 * issuer is not this provider). Throws JWKS_URL_INSECURE, JWKS_FETCH_*,
 * JWKS_RESPONSE_*, DISCOVERY_INVALID, DISCOVERY_ISSUER_MISMATCH or JWKS_INVALID.
 */
export async function discoverJwks(issuer: string, timeoutMs: number = FETCH_TIMEOUT_MS): Promise<FetchedJwks> {
  const issuerUrl = checkFetchUrl(issuer, 'issuer');
  const signal = AbortSignal.timeout(timeoutMs);
  const discoveryUrl = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const doc = await fetchJson(discoveryUrl, signal, 'discovery');
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new LeashError('DISCOVERY_INVALID', `discovery ${discoveryUrl}: not a JSON object`);
  }
  const record = doc as Record<string, unknown>;
  if (record['issuer'] !== issuer) {
    const got = typeof record['issuer'] === 'string' ? JSON.stringify(record['issuer'].slice(0, 200)) : 'none';
    throw new LeashError('DISCOVERY_ISSUER_MISMATCH', `discovery ${discoveryUrl}: issuer is ${got}, expected ${JSON.stringify(issuer)}`);
  }
  const jwksUri = record['jwks_uri'];
  if (typeof jwksUri !== 'string') throw new LeashError('DISCOVERY_INVALID', `discovery ${discoveryUrl}: no jwks_uri`);
  checkFetchUrl(jwksUri, 'jwks_uri', issuerUrl);
  const keys = parseJwks(await fetchJson(jwksUri, signal, 'jwks'), `jwks ${jwksUri}`);
  return { jwksUri, keys };
}
