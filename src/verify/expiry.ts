import type { ExpirationPolicy } from '../config/types.js';
import { LeashError } from '../errors.js';

/**
 * How far in the future a token's iat or nbf may lie (our clock behind the
 * IdP's). Used only to accept such a token, never to lengthen a session: expiry is
 * computed from iat/exp as they are, and a token is expired at its boundary
 * second (opkssh allows no skew at all and accepts the boundary second itself).
 */
export const CLOCK_SKEW_SECONDS = 60;
/** Session length under the `never` policy when the grant sets no max_session. */
export const NEVER_SESSION_CAP_SECONDS = 86400;
const MAX_AGE: Partial<Record<ExpirationPolicy, number>> = { '12h': 43200, '24h': 86400, '48h': 172800, '1week': 604800 };

export interface ExpiryInput {
  policy: ExpirationPolicy;
  /** Unix seconds, now. */
  now: number;
  /** The ID token's iat. */
  iat: number;
  /** The ID token's exp; required by `oidc` and `oidc_refreshed`. */
  exp?: number | undefined;
  /** The ID token's nbf, when it has one (RFC 7519 §4.1.5: not accepted before it). */
  nbf?: number | undefined;
  /**
   * exp of the refreshed ID token appended to the PK Token (`oidc_refreshed`).
   * The caller must have verified that token's signature, iss, aud and sub:
   * opkssh does not, leash must.
   */
  refreshedExp?: number | undefined;
  /** nbf of that refreshed ID token, when it has one. */
  refreshedNbf?: number | undefined;
  /** The grant's max_session in seconds, counted from now (login). */
  maxSession?: number | undefined;
}

function seconds(value: number | undefined, what: string): number {
  if (value === undefined || !Number.isSafeInteger(value) || value <= 0) {
    throw new LeashError('TOKEN_TIME_INVALID', `${what} must be a positive integer number of seconds`);
  }
  return value;
}

/**
 * When this login's access ends (unix seconds): the earlier of the provider
 * policy's end and now + the grant's max_session.
 *   12h/24h/48h/1week: iat + 12h/24h/48h/7d (exp is ignored, as opkssh does:
 *     ID tokens live ~1h, the policy is what lets them be used longer);
 *   oidc: exp;  oidc_refreshed: the later of exp and the refreshed token's exp;
 *   never: no policy end, so max_session or NEVER_SESSION_CAP_SECONDS.
 * Throws TOKEN_TIME_INVALID (bad numbers), TOKEN_ISSUED_IN_FUTURE (iat beyond
 * now + CLOCK_SKEW_SECONDS), TOKEN_NOT_YET_VALID (nbf, of the token or of
 * the refreshed one, beyond now + CLOCK_SKEW_SECONDS: the same skew rule as
 * iat), TOKEN_EXPIRED (the result is not after now).
 */
export function effectiveExpiry(input: ExpiryInput): number {
  const now = seconds(input.now, 'now');
  const iat = seconds(input.iat, 'iat');
  if (iat > now + CLOCK_SKEW_SECONDS) throw new LeashError('TOKEN_ISSUED_IN_FUTURE', `iat is ${iat - now}s in the future`);
  for (const [nbf, what] of [[input.nbf, 'nbf'], [input.refreshedNbf, 'the refreshed ID token\'s nbf']] as const) {
    if (nbf !== undefined && seconds(nbf, what) > now + CLOCK_SKEW_SECONDS) throw new LeashError('TOKEN_NOT_YET_VALID', `${what} is ${nbf - now}s in the future`);
  }
  const maxSession = input.maxSession === undefined ? undefined : seconds(input.maxSession, 'max_session');

  let policyEnd: number;
  const age = MAX_AGE[input.policy];
  if (age !== undefined) policyEnd = iat + age;
  else if (input.policy === 'oidc') policyEnd = seconds(input.exp, 'exp');
  else if (input.policy === 'oidc_refreshed') {
    const exp = seconds(input.exp, 'exp');
    policyEnd = input.refreshedExp === undefined ? exp : Math.max(exp, seconds(input.refreshedExp, 'refreshed exp'));
  } else if (input.policy === 'never') policyEnd = now + (maxSession ?? NEVER_SESSION_CAP_SECONDS);
  else throw new LeashError('TOKEN_TIME_INVALID', `unknown expiration policy ${JSON.stringify(input.policy)}`);

  const end = maxSession === undefined ? policyEnd : Math.min(policyEnd, now + maxSession);
  if (end <= now) throw new LeashError('TOKEN_EXPIRED', `token expired ${now - end}s ago under policy ${input.policy}${maxSession === undefined ? '' : ' and max_session'}`);
  return end;
}

