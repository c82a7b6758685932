/**
 * Which sessions an operator's `--identity` names (`leash revoke`,
 * `unrevoke`, `watch`). A session carries one identity label: from the
 * verifier, a verified email (lowercased) or `sub:<sub>`
 * (verify/grants/identity.ts identityLabel); from a CA grant, whatever
 * label the operator gave `leash grant --identity` (default the key's
 * SHA256: fingerprint). So what an operator types is read the way a deny
 * entry reads it — matching more, never less, because a revocation must
 * never be dodged:
 *
 *   email:<address>, or a value with "@"   the address, ASCII case-insensitive
 *                                          (and a sub spelled the same)
 *   sub:<sub>                              exactly that label
 *   a plain value without "@"              that label exactly, or sub:<value>
 *
 * Grant patterns that name no single identity (`oidc:…`, `oidc-match-end:…`)
 * are refused: they would match no session.
 */
import { asciiLower, IDENTITY_LABEL } from '../verify/grants/identity.js';

export type NamedIdentity = { value: string } | { problem: string };

const SUB = 'sub:';
const EMAIL = 'email:';
/** An address: one "@", something on both sides. */
const ADDRESS = /^[^@]+@[^@]+$/;

/** The form an `--identity` is kept in (the revocation list, a filter), or why it names no identity. */
export function namedIdentity(text: string): NamedIdentity {
  const shown = JSON.stringify(text.slice(0, 80));
  const lower = asciiLower(text);
  if (lower.startsWith('oidc:') || lower.startsWith('oidc-match-end:')) {
    return { problem: `identity ${shown} is a grant pattern, not one identity: name an email, a sub:<sub> or a grant's label (or revoke the local user with --user)` };
  }
  let value: string;
  if (lower.startsWith(SUB)) {
    if (!text.startsWith(SUB)) return { problem: `identity ${shown}: the sub: prefix is lowercase (the sub after it is compared exactly)` };
    if (text === SUB) return { problem: 'identity "sub:" needs a sub' };
    value = text;
  } else if (lower.startsWith(EMAIL) || text.includes('@')) {
    value = asciiLower(lower.startsWith(EMAIL) ? text.slice(EMAIL.length) : text);
    if (!ADDRESS.test(value)) return { problem: `identity ${shown} is not an email address (a sub with "@" is written sub:<sub>)` };
  } else {
    value = text;
  }
  return IDENTITY_LABEL.test(value) ? { value } : { problem: `identity ${shown} is not an identity label (at most 255 characters from [A-Za-z0-9._+@:/-], starting with a letter or digit)` };
}

/** Whether a session whose label is `label` is named by `named` (a namedIdentity value). */
export function identityNamed(named: string, label: string): boolean {
  if (label === named || named.startsWith(SUB)) return label === named;
  if (label === `${SUB}${named}`) return true;
  return named.includes('@') && asciiLower(label) === named;
}
