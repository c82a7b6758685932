/**
 * Every reason code leash gives, in one registry (as jose's JOSEErrorCode):
 * the code of a LeashError, the `reason` of an audit event, the CODE in
 * `leash: denied (CODE): …` and `verify refused (CODE)`. Codes are stable;
 * docs/reason-codes.md explains each one, and test/errors.test.ts keeps that
 * page and this list equal.
 */
export const REASON_CODES = [
  // leash shell: the command line and the profile's decision
  'ALLOWED',
  'COMMAND_EMPTY',
  'COMMAND_TOO_LONG',
  'BYTE_FORBIDDEN',
  'METACHAR_FORBIDDEN',
  'QUOTE_UNBALANCED',
  'TOO_MANY_ARGUMENTS',
  'PIPELINE_STAGE_EMPTY',
  'PIPELINE_TOO_LONG',
  'PIPELINE_NOT_FILTER',
  'PIPELINE_FILE_OPERAND',
  'COMMAND_NOT_ALLOWED',
  'SUBCOMMAND_MISSING',
  'SUBCOMMAND_NOT_ALLOWED',
  'OPTION_NOT_ALLOWED',
  'OPTION_VALUE_MISSING',
  'OPTION_VALUE_UNEXPECTED',
  'OPTION_VALUE_INVALID',
  'OPTION_REQUIRED',
  'OPERAND_DASH',
  'OPERAND_COUNT',
  'OPERAND_INVALID',
  'PATH_NOT_FOUND',
  'PATH_NOT_ALLOWED',
  'PATH_DENIED',
  'PATH_SENSITIVE',
  'PATH_SPECIAL_FILE',
  'PATH_UNSAFE_PARENT',
  'PATH_HARD_LINK',
  'PID_NOT_ALLOWED',
  'PID_PROTECTED',
  'BINARY_MISSING',
  'BINARY_UNSAFE',
  'SUBSYSTEM_DENIED',
  'SESSION_EXPIRED',
  'SESSION_EXPIRES_INVALID',
  'GUARD_UNAVAILABLE',
  'SIGNALLED',
  'PROFILE_INVALID',
  'AUDIT_UNWRITABLE',

  // leash verify: the certificate
  'CLOCK_INSANE',
  'CERT_NOT_CERTIFICATE',
  'CERT_TYPE_MISMATCH',
  'CERT_TYPE_UNKNOWN',
  'CERT_KEY_TYPE_UNSUPPORTED',
  'CERT_NOT_USER',
  'CERT_CRITICAL_OPTION',
  'CERT_MALFORMED',
  'CERT_BAD_BASE64',
  'CERT_TOO_LARGE',
  'CERT_OPTIONS_ORDER',
  'CERT_EXTENSION_MALFORMED',
  'CERT_RSA_KEY_SIZE',
  'CERT_SIGNATURE_MALFORMED',
  'CERT_SIGNATURE_KEY_INVALID',
  'CERT_SIGNATURE_ALG_UNSUPPORTED',
  'CERT_SIGNATURE_INVALID',
  'CERT_NOT_SELF_SIGNED',
  'CERT_NOT_VALID_NOW',
  'CERT_EXTENSION_MISSING',
  'SSH_WIRE_TRUNCATED',
  'SSH_WIRE_BAD_STRING',
  'SSH_WIRE_BAD_MPINT',
  'SSH_WIRE_TRAILING',
  // leash verify: the PK Token
  'PKT_MALFORMED',
  'PKT_TOO_LARGE',
  'PKT_DUPLICATE_SIGNATURE',
  'PKT_MISSING_SIGNATURE',
  'PKT_TYP_UNKNOWN',
  'PKT_TYP_UNSUPPORTED',
  'PKT_CRIT_UNSUPPORTED',
  'PKT_CIC_INVALID',
  'PKT_CIC_ALG_MISMATCH',
  'PKT_CIC_ALG_UNSUPPORTED',
  'COMMITMENT_INPUT_INVALID',
  'JWK_INVALID',
  'JWK_UNSUPPORTED',
  'JWS_ALG_UNSUPPORTED',
  'JWS_KID_MISSING',
  'JWS_KEY_MISMATCH',
  'JWS_SIGNATURE_INVALID',
  'ISSUER_UNKNOWN',
  'AUDIENCE_MISMATCH',
  'NONCE_MISMATCH',
  'REFRESHED_TOKEN_INVALID',
  'TOKEN_EXPIRED',
  'TOKEN_ISSUED_IN_FUTURE',
  'TOKEN_NOT_YET_VALID',
  'TOKEN_TIME_INVALID',
  'KEY_BINDING_MISMATCH',
  // leash verify: identities and grants
  'CLAIMS_INVALID',
  'IDENTITY_PATTERN_INVALID',
  'IDENTITY_UNSAFE',
  'NO_GRANT',
  'GRANT_OTHER_USER',
  'EMAIL_UNVERIFIED',
  'DENY_USER',
  'DENY_IDENTITY',
  'DENY_PATTERN_INVALID',
  'OUTPUT_UNSAFE',
  'CERT_PRINCIPAL_MISMATCH',
  'CERT_NO_PRINCIPALS',
  // provider keys (JWKS)
  'JWKS_UNAVAILABLE',
  'JWKS_STALE',
  'JWKS_KID_UNKNOWN',
  'JWKS_INVALID',
  'JWKS_NO_KEYS',
  'JWKS_URL_INSECURE',
  'JWKS_FETCH_FAILED',
  'JWKS_FETCH_TIMEOUT',
  'JWKS_RESPONSE_TOO_LARGE',
  'JWKS_RESPONSE_INVALID',
  'DISCOVERY_INVALID',
  'DISCOVERY_ISSUER_MISMATCH',
  'JWKS_PINNED',
  'JWKS_REFETCH_THROTTLED',
  'JWKS_CACHE_UNSAFE',
  'JWKS_CACHE_UNWRITABLE',
  'JWKS_CACHE_DISCARDED',
  // the verifier's own state (<runtime_dir>/verify)
  'VERIFY_STATE_UNUSABLE',

  // configuration files
  'CONFIG_MISSING',
  'CONFIG_UNSAFE',
  'CONFIG_UNREADABLE',
  'CONFIG_TOO_LARGE',
  'CONFIG_INVALID',
  'CONFIG_DIR_RELATIVE',
  'CONFIG_CHANGED',
  'CONFIG_UNWRITABLE',
  'PROFILE_NAME_INVALID',

  // sessions: the registry, revocation, limits (src/session/)
  'SESSION_REVOKED',
  'REVOCATIONS_INVALID',
  'SESSION_REGISTRY_UNAVAILABLE',
  'SESSION_JOURNAL_FULL',
  'SESSION_ID_INVALID',
  'CONCURRENCY_LIMIT',
  'RECORDINGS_UNWRITABLE',
  // CA mode: the CA key, grants, the KRL (src/ca/)
  'CA_KEY_EXISTS',
  'CA_KEY_MISSING',
  'CA_KEY_INVALID',
  'GRANT_KEY_INVALID',
  'GRANT_KEY_WEAK',
  'GRANT_TTL_INVALID',
  'GRANT_PROFILE_UNKNOWN',
  'GRANT_INVALID',
  'KRL_INVALID',

  // leash demo (src/demo/)
  'DEMO_UNAVAILABLE',
  'DEMO_FAILED',

  // anywhere
  'USAGE',
  'INTERNAL',
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];

/**
 * One error type for every refusal leash makes. `code` is from the registry
 * above; `message` is for humans and never carries secrets (no key material,
 * no token signatures, no full tokens).
 */
export class LeashError extends Error {
  readonly code: ReasonCode;
  constructor(code: ReasonCode, message: string) {
    super(message);
    this.name = 'LeashError';
    this.code = code;
  }
}

/** Turns anything thrown into a LeashError, so callers can fail closed with a code. */
export function asLeashError(err: unknown, fallbackCode: ReasonCode = 'INTERNAL'): LeashError {
  if (err instanceof LeashError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new LeashError(fallbackCode, message);
}
