/**
 * leash.yaml in memory: the types, their defaults and the value rules that
 * other parts of leash share (principal names, issuers). Parsed by parse.ts,
 * loaded (from the compiled copy or the YAML) by load.ts.
 */

/** Where the audit log is when leash.yaml does not say. */
export const DEFAULT_AUDIT_LOG = '/var/log/leash/audit.jsonl';

export const EXPIRATION_POLICIES = ['12h', '24h', '48h', '1week', 'oidc', 'oidc_refreshed', 'never'] as const;
export type ExpirationPolicy = (typeof EXPIRATION_POLICIES)[number];

export interface ProviderConfig {
  issuer: string;
  clientId: string;
  expiration: ExpirationPolicy;
  /** Pinned JWKS file: never fetched (air-gapped hosts). */
  jwksFile?: string;
  /** Where the provider entry came from, for messages: file:line. */
  source: string;
}

export interface GrantConfig {
  /** email, sub, `oidc:<claim>:<value>` or `oidc-match-end:email:<suffix>` */
  identity: string;
  issuer: string;
  principals: string[];
  profile: string;
  /** Seconds; caps the session below the provider's expiry. */
  maxSession?: number;
  source: string;
}

export interface LeashConfig {
  /** The file this came from, or null when absent and defaults apply. */
  file: string | null;
  providers: ProviderConfig[];
  grants: GrantConfig[];
  deny: { identities: string[]; users: string[] };
  auditLog: string;
  defaultProfile?: string;
  jwksCacheDir: string;
  /** leash's runtime state (src/runtime/layout.ts); a tmpfs, empty at boot. */
  runtimeDir: string;
  /** Seconds a cached JWKS may be used when the provider is unreachable. */
  maxStale: number;
  /** The recorded output of commands (record_output); default: recordings.jsonl beside the audit log. */
  recordingsLog: string;
  /** Commands one identity may run at the same time on this host (src/session/registry.ts). */
  maxConcurrentCommands: number;
  /** The longest TTL `leash grant` signs, seconds. */
  maxGrantTtl: number;
}

export const DEFAULT_RUNTIME_DIR = '/run/leash';
const DEFAULT_JWKS_CACHE_DIR = '/var/cache/leash';
const DEFAULT_MAX_STALE = 7 * 86400;
export const DEFAULT_RECORDINGS_LOG = '/var/log/leash/recordings.jsonl';
/** Enough for an agent's parallel tool calls; 40 parallel commands held 2.6 GB in the security review. */
export const DEFAULT_MAX_CONCURRENT_COMMANDS = 8;
export const DEFAULT_MAX_GRANT_TTL = 24 * 3600;

/**
 * A provider's issuer as leash.yaml and opkssh's providers file may give it.
 * Only the form is checked here; the fetch layer refuses plain http except
 * to loopback.
 */
export const ISSUER_URL = /^https?:\/\/[^\s]+$/;

/** Local user names as leash will write them into an authorized_keys line. */
export const PRINCIPAL_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;

/** leash.yaml's settings when the file does not exist (only the shell may run on them). */
export function defaultLeashConfig(): LeashConfig {
  return { file: null, providers: [], grants: [], deny: { identities: [], users: [] }, auditLog: DEFAULT_AUDIT_LOG, jwksCacheDir: DEFAULT_JWKS_CACHE_DIR, runtimeDir: DEFAULT_RUNTIME_DIR, maxStale: DEFAULT_MAX_STALE, recordingsLog: DEFAULT_RECORDINGS_LOG, maxConcurrentCommands: DEFAULT_MAX_CONCURRENT_COMMANDS, maxGrantTtl: DEFAULT_MAX_GRANT_TTL };
}

