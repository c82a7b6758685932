import type { ReasonCode } from '../../errors.js';
import type { GrantConfig, LeashConfig } from '../../config/types.js';
import { asciiLower, matchesIdentity, parseIdentityPattern, type IdentityClaims } from './identity.js';

export type AuthorizeResult = { ok: true; grant: GrantConfig } | { ok: false; code: ReasonCode; detail: string };

/** Claim values in messages: JSON-escaped (no control characters reach a log) and cut short. */
function show(value: string): string {
  return JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}...` : value);
}

function who(claims: IdentityClaims): string {
  const email = claims.email === undefined ? '' : ` email=${show(claims.email)}${claims.emailVerified ? '' : ' (unverified)'}`;
  return `sub=${show(claims.sub)}${email} iss=${show(claims.iss)}`;
}

/**
 * May the user these verified claims describe log in as `localUser`?
 * A pure decision over the configuration; nothing is read or written.
 *
 * Deny lists are checked first and win over every grant. (Checking them
 * before or after the grant search gives the same allow/refuse outcome; first
 * means the audit names the deny even when no grant exists either.)
 * - an unparsable `deny.identities` entry refuses everyone: a deny list leash
 *   cannot read must not silently allow (DENY_PATTERN_INVALID);
 * - `deny.users`: ASCII case-insensitive, as opkssh's deny_users;
 * - `deny.identities`: any grant form, matched more widely than a grant
 *   (identity.ts, MatchPurpose): whether or not the email is verified, and a
 *   plain entry with "@" against the sub too.
 * Grants: leash.yaml's in file order, then the migrated opkssh ones; the first
 * whose issuer equals the token issuer byte for byte, whose identity matches,
 * and whose principals contain `localUser` exactly, wins.
 */
export function authorize(
  config: LeashConfig,
  claims: IdentityClaims,
  localUser: string,
  migrated: readonly GrantConfig[] = [],
): AuthorizeResult {
  for (const pattern of config.deny.identities) {
    try {
      parseIdentityPattern(pattern);
    } catch (err) {
      return { ok: false, code: 'DENY_PATTERN_INVALID', detail: `deny.identities: ${(err as Error).message}` };
    }
  }
  const user = asciiLower(localUser);
  if (config.deny.users.some((u) => asciiLower(u) === user)) {
    return { ok: false, code: 'DENY_USER', detail: `local user ${show(localUser)} is in deny.users` };
  }
  const denied = config.deny.identities.find((pattern) => matchesIdentity(pattern, claims, 'deny'));
  if (denied !== undefined) {
    return { ok: false, code: 'DENY_IDENTITY', detail: `${who(claims)} matches deny.identities entry ${show(denied)}` };
  }

  const grants = [...config.grants, ...migrated].filter((g) => g.issuer === claims.iss);
  const mine = grants.filter((g) => matchesIdentity(g.identity, claims, 'grant'));
  const grant = mine.find((g) => g.principals.includes(localUser));
  if (grant) return { ok: true, grant };

  if (mine.length > 0) {
    const users = [...new Set(mine.flatMap((g) => g.principals))].join(',');
    return { ok: false, code: 'GRANT_OTHER_USER', detail: `${who(claims)} is granted ${users}, not ${show(localUser)}` };
  }
  // Only a diagnosis: would a grant match if the IdP had verified the email?
  if (claims.email !== undefined && !claims.emailVerified) {
    const verified: IdentityClaims = { ...claims, emailVerified: true };
    const near = grants.find((g) => matchesIdentity(g.identity, verified, 'grant'));
    if (near) {
      return { ok: false, code: 'EMAIL_UNVERIFIED', detail: `${who(claims)}: the grant at ${near.source} needs email_verified=true` };
    }
  }
  return { ok: false, code: 'NO_GRANT', detail: `no grant for ${who(claims)} as ${show(localUser)}` };
}
