import { LeashError } from '../../errors.js';

/**
 * Who a verified ID token says the user is. Built only from a payload whose
 * signature, issuer, audience and commitment have already been checked.
 */
export interface IdentityClaims {
  readonly iss: string;
  readonly sub: string;
  /** The `email` claim, when present (it must then be a string). */
  readonly email: string | undefined;
  /**
   * True only for `email_verified: true` or the string "true" (some IdPs send
   * a string; opkssh accepts both). Anything else, absent included, is false.
   */
  readonly emailVerified: boolean;
  /** Every claim, for `oidc:<claim>:<value>` grants. */
  readonly all: Readonly<Record<string, unknown>>;
}

/**
 * The forms a grant or deny entry's `identity` can take. Which claim a form
 * reads is written in the form itself, never guessed from the token:
 *   email:<address>  and a plain pattern with "@"   -> the email claim
 *   sub:<value>      and a plain pattern without "@" -> the sub claim
 * so a grant for alice@example.com can never be met by a token whose sub
 * happens to be "alice@example.com" (a provider that lets users choose
 * their sub would otherwise let anyone become alice).
 */
export type IdentityPattern =
  /** The email, ASCII case-insensitive; for a grant only a verified one. `plain`: written without the prefix. */
  | { readonly kind: 'email'; readonly value: string; readonly plain: boolean }
  /** The sub, exactly. */
  | { readonly kind: 'sub'; readonly value: string }
  /** `oidc:<claim>:<value>`: a string claim equal to value, or an array of strings containing it. */
  | { readonly kind: 'claim'; readonly claim: string; readonly value: string }
  /** `oidc-match-end:email:<suffix>`: the (verified) email ends with suffix, ASCII case-insensitive. */
  | { readonly kind: 'email-suffix'; readonly suffix: string };

/**
 * Grants need a verified email before any email form can match. Deny
 * entries match more, never less, because a deny must never be dodged: the
 * email whether verified or not, and a plain entry with "@" both the email
 * and a sub spelled the same (what such an entry matched before the forms
 * were explicit).
 */
export type MatchPurpose = 'grant' | 'deny';

/**
 * What `--identity` and the audit log carry. One rule for both forms (verified
 * email or sub), chosen to be safe inside sshd's `command="..."` AND in the
 * login shell that sshd hands that command to (`$SHELL -c`): no quote,
 * backslash, space, comma, `$`, backtick, glob, `~`, `=`, `;`, non-ASCII or
 * control character; the first character is alphanumeric so it can never be
 * read as an option.
 */
export const IDENTITY_LABEL = /^[A-Za-z0-9][A-Za-z0-9._+@:/-]{0,254}$/;
/** A verified email used as a label: lowercase local@domain from a small alphabet. */
const EMAIL_LABEL = /^[a-z0-9][a-z0-9._+-]*@[a-z0-9][a-z0-9.-]*$/;

const CONTROL = /[\u0000-\u001f\u007f]/;
const OIDC = 'oidc:';
const MATCH_END_EMAIL = 'oidc-match-end:email:';
const EMAIL = 'email:';
const SUB = 'sub:';
/** An address as an email form must give it: one "@", something on both sides, no whitespace. */
const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+$/;

/**
 * Takes the identity claims out of a verified payload. iss and sub must be
 * non-empty strings; an `email` that is present but not a string is refused
 * (opkssh's decoder fails on it too) rather than silently ignored.
 */
export function identityClaims(payload: unknown): IdentityClaims {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new LeashError('CLAIMS_INVALID', 'ID token payload is not a JSON object');
  }
  const all = payload as Readonly<Record<string, unknown>>;
  const { iss, sub, email, email_verified: verified } = all;
  if (typeof iss !== 'string' || iss === '') throw new LeashError('CLAIMS_INVALID', 'ID token has no iss string');
  if (typeof sub !== 'string' || sub === '') throw new LeashError('CLAIMS_INVALID', 'ID token has no sub string');
  if (email !== undefined && typeof email !== 'string') throw new LeashError('CLAIMS_INVALID', 'ID token email claim is not a string');
  return { iss, sub, email, emailVerified: isEmailVerified(verified), all };
}

/** email_verified as leash reads it: true, or the string "true" (some IdPs send a string; opkssh accepts both). */
export function isEmailVerified(claim: unknown): boolean {
  return claim === true || claim === 'true';
}

/** Lowercases A-Z only: Unicode folding would let e.g. U+212A KELVIN SIGN stand in for "k". */
export function asciiLower(s: string): string {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

/**
 * Parses a grant or deny identity. Throws IDENTITY_PATTERN_INVALID for
 * anything leash would have to guess about, including the forms opkssh
 * refuses as "match anything" and `repo:` globs, which leash does not support.
 */
export function parseIdentityPattern(pattern: string): IdentityPattern {
  const bad = (why: string): never => {
    throw new LeashError('IDENTITY_PATTERN_INVALID', `identity ${JSON.stringify(pattern)}: ${why}`);
  };
  if (pattern === '' || CONTROL.test(pattern) || pattern.trim() !== pattern) bad('empty, padded, or has control characters');
  const lower = asciiLower(pattern);
  const prefixed = (prefix: string): boolean => {
    if (!lower.startsWith(prefix)) return false;
    if (!pattern.startsWith(prefix)) bad(`the ${prefix} prefix must be lowercase`);
    return true;
  };
  if (lower.startsWith('oidc-match-end:')) {
    if (!pattern.startsWith(MATCH_END_EMAIL)) bad('only oidc-match-end:email:<suffix> is supported (lowercase)');
    const suffix = pattern.slice(MATCH_END_EMAIL.length);
    // A bare "example.com" would also match "alice@evilexample.com".
    if (!/^[@.][^@\s]+$/.test(suffix)) bad('the suffix must start with "@" or "." (e.g. @example.com) and contain no further "@"');
    return { kind: 'email-suffix', suffix };
  }
  if (prefixed(OIDC)) {
    const rest = pattern.slice(OIDC.length);
    let claim: string;
    let value: string;
    if (rest.startsWith('"')) {
      // A quoted claim name may contain ":" (e.g. "https://acme.com/groups").
      const close = rest.indexOf('"', 1);
      if (close < 0 || rest[close + 1] !== ':') bad('a quoted claim name must be followed by ":"');
      claim = rest.slice(1, close);
      value = rest.slice(close + 2);
    } else {
      const colon = rest.indexOf(':');
      if (colon < 0) bad('expected oidc:<claim>:<value>');
      claim = rest.slice(0, colon);
      value = rest.slice(colon + 1);
    }
    // The value is everything after the claim name, ":" included (opkssh takes the last ":" part; see opkssh-files.ts).
    if (claim === '' || claim.includes('"')) bad('empty or malformed claim name');
    if (value === '') bad('empty claim value would match nothing or everything');
    return { kind: 'claim', claim, value };
  }
  if (prefixed(EMAIL)) {
    const value = pattern.slice(EMAIL.length);
    if (!EMAIL_PATTERN.test(value)) bad('email:<address> needs an address with one "@" and no whitespace');
    return { kind: 'email', value, plain: false };
  }
  if (prefixed(SUB)) {
    const value = pattern.slice(SUB.length);
    if (value === '') bad('sub: needs a value');
    return { kind: 'sub', value };
  }
  if (lower.startsWith('repo:')) bad('repo: glob patterns are not supported; use sub:<exact sub>');
  if (/\s/.test(pattern)) bad('contains whitespace');
  if (!pattern.includes('@')) return { kind: 'sub', value: pattern };
  if (!EMAIL_PATTERN.test(pattern)) bad('an email needs exactly one "@"; a sub containing "@" is written sub:<value>');
  return { kind: 'email', value: pattern, plain: true };
}

/** The email to match against, or undefined when none may be used for this purpose. */
function usableEmail(claims: IdentityClaims, purpose: MatchPurpose): string | undefined {
  const email = claims.email;
  if (email === undefined) return undefined;
  if (purpose === 'deny') return asciiLower(email);
  if (!claims.emailVerified) return undefined;
  // Exactly one "@", both sides non-empty: a suffix like "@example.com" then names the domain.
  if (!EMAIL_PATTERN.test(email)) return undefined;
  return asciiLower(email);
}

/**
 * Does `pattern` name the user these claims describe? Malformed patterns never
 * match (authorize.ts refuses malformed deny entries outright).
 *
 * email_verified rule (stricter than opkssh, which matches and only logs a
 * warning): for grants, every form that reads the email — an email form,
 * `oidc-match-end:email:`, and `oidc:email:` — matches only if email_verified
 * is true. sub and other claims do not depend on it.
 */
export function matchesIdentity(pattern: string, claims: IdentityClaims, purpose: MatchPurpose = 'grant'): boolean {
  let p: IdentityPattern;
  try {
    p = parseIdentityPattern(pattern);
  } catch {
    return false;
  }
  switch (p.kind) {
    case 'email': {
      const email = usableEmail(claims, purpose);
      if (email !== undefined && email === asciiLower(p.value)) return true;
      return purpose === 'deny' && p.plain && claims.sub === p.value;
    }
    case 'sub':
      return claims.sub === p.value;
    case 'email-suffix': {
      const email = usableEmail(claims, purpose);
      return email !== undefined && email.endsWith(asciiLower(p.suffix));
    }
    case 'claim': {
      if (p.claim === 'email' && usableEmail(claims, purpose) === undefined) return false;
      if (!Object.hasOwn(claims.all, p.claim)) return false;
      const v = claims.all[p.claim];
      // Only strings count: opkssh's fmt.Sprint of numbers/booleans/objects is not reproduced.
      if (typeof v === 'string') return v === p.value;
      return Array.isArray(v) && v.some((e) => typeof e === 'string' && e === p.value);
    }
  }
}

/**
 * The label for `--identity` and audit: the verified email (lowercased),
 * otherwise `sub:<sub>`, so that a label with "@" and no prefix always is a
 * verified email and never a sub that looks like one. It is a human-readable
 * name, not a unique key (two issuers can share a sub or an email), so audit
 * records carry iss and sub too. Throws IDENTITY_UNSAFE rather than falling
 * back to another claim, so what a label means never depends on what
 * characters an IdP let through.
 */
export function identityLabel(claims: IdentityClaims): string {
  if (claims.email !== undefined && claims.emailVerified) {
    const email = asciiLower(claims.email);
    if (!EMAIL_LABEL.test(email) || !IDENTITY_LABEL.test(email)) {
      throw new LeashError('IDENTITY_UNSAFE', `verified email ${JSON.stringify(claims.email.slice(0, 100))} has characters leash will not pass on`);
    }
    return email;
  }
  const label = `${SUB}${claims.sub}`;
  if (!IDENTITY_LABEL.test(label)) {
    throw new LeashError('IDENTITY_UNSAFE', `sub ${JSON.stringify(claims.sub.slice(0, 100))} has characters leash will not pass on`);
  }
  return label;
}
