import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ProviderConfig } from '../../config/types.js';
import { readConfigFile } from '../../trust/config-file.js';
import { LeashError, asLeashError, type ReasonCode } from '../../errors.js';
import { cacheDirProblem, readCacheFile, writeCacheFileAtomic } from './key-cache-files.js';
import { discoverJwks, type FetchedJwks } from './discovery.js';
import { claimFetch } from './fetch-throttle.js';
import { checkFetchUrl } from './http-fetch.js';
import { parseJwks, type PublicJwk } from './jwks.js';

/**
 * Seconds a cached key set is used on the login path without asking the
 * provider. The refresh timer (every 15 min) keeps the cache well inside
 * this, so a login normally makes no request at all; if the timer is not
 * running, the first login after an hour refreshes. It also bounds how long
 * a key the provider has withdrawn keeps working: the timer interval with a
 * timer, at most this without one.
 */
export const REFRESH_AGE = 3600;
/** A cache dated this far in the future was not written by this clock: discarded. */
export const FUTURE_SLACK = 300;
const CACHE_VERSION = 1;

export type JwksProvider = Pick<ProviderConfig, 'issuer' | 'jwksFile'>;

export interface JwksOptions {
  /** LeashConfig.jwksCacheDir */
  cacheDir: string;
  /** LeashConfig.maxStale, seconds: oldest cached key set usable while the provider is unreachable. */
  maxStale: number;
  /** Seconds since the epoch. Every time decision uses this, never the clock. */
  now: number;
  /**
   * The verifier's state directory (usableVerifyState), where the login-path
   * fetch throttle is kept; null when there is none, and then the login path
   * never fetches (see fetch-throttle.ts).
   */
  stateDir: string | null;
  /** Overall deadline for discovery + key set; FETCH_TIMEOUT_MS (3 s) if absent. */
  timeoutMs?: number;
  /**
   * Where warnings are added as they happen, so that they survive a refusal
   * too (the audit event of either outcome carries them). SigningKey.warnings
   * is this same list.
   */
  warnings?: JwksWarning[];
}

export type KeySource = 'cache' | 'fetched' | 'pinned' | 'stale-cache';

/** Something degraded but did not decide the outcome (cache unwritable, refresh failed). For the audit log. */
export interface JwksWarning {
  code: ReasonCode;
  message: string;
}

export interface SigningKey {
  jwk: PublicJwk;
  source: KeySource;
  /** Seconds since the key set was fetched; null for pinned keys. */
  age: number | null;
  warnings: JwksWarning[];
}

export interface RefreshResult {
  jwksUri: string;
  keys: PublicJwk[];
  /** False when the key set could not be written to the cache (see warnings). */
  persisted: boolean;
  warnings: JwksWarning[];
}

export interface CachedSet {
  fetchedAt: number;
  keys: PublicJwk[];
}

/** Cache files are named by a hash of the issuer, so no issuer text ever becomes a path. */
export function cacheFileStem(issuer: string): string {
  return createHash('sha256').update(issuer, 'utf8').digest('hex');
}

/**
 * The provider's public key with this kid. Order:
 *  1. pinned `jwks_file`: read from disk, never fetched;
 *  2. cached set younger than REFRESH_AGE (and max_stale) holding the kid: no request;
 *  3. otherwise, if the throttle allows (fetch-throttle.ts: one attempt per
 *     issuer per REFETCH_INTERVAL, kept in opts.stateDir, none without it),
 *     discovery + JWKS (3 s overall); the fresh set is authoritative, so a kid
 *     it lacks is refused even if an older cache had it;
 *  4. if that fetch failed or was throttled, a cached set no older than
 *     max_stale still serves a kid it holds ('stale-cache').
 * Throws JWKS_KID_UNKNOWN, JWKS_UNAVAILABLE (no usable set), JWKS_STALE
 * (only a set older than max_stale), JWKS_URL_INSECURE, JWKS_INVALID or
 * CONFIG_* (pinned file).
 */
export async function getSigningKey(provider: JwksProvider, kid: string, opts: JwksOptions): Promise<SigningKey> {
  assertSeconds(opts.now);
  const shownKid = JSON.stringify(kid.slice(0, 64)); // token-controlled: quoted, cut
  if (provider.jwksFile !== undefined) {
    const jwk = readPinnedJwks(provider).find((k) => k.kid === kid);
    if (!jwk) throw new LeashError('JWKS_KID_UNKNOWN', `kid ${shownKid} is not in the pinned key set ${provider.jwksFile}`);
    return { jwk, source: 'pinned', age: null, warnings: [] };
  }
  checkFetchUrl(provider.issuer, 'issuer');
  const warnings: JwksWarning[] = opts.warnings ?? [];
  const dir = usableCacheDir(opts.cacheDir, warnings);
  const cached = dir === null ? null : loadCache(dir, provider.issuer, opts.now, warnings);
  const age = cached === null ? 0 : Math.max(0, opts.now - cached.fetchedAt);
  const cachedKey = cached?.keys.find((k) => k.kid === kid);
  if (cachedKey && age <= Math.min(REFRESH_AGE, opts.maxStale)) return { jwk: cachedKey, source: 'cache', age, warnings };

  const outcome = await throttledFetch(provider.issuer, dir, opts, warnings);
  if ('keys' in outcome) {
    const jwk = outcome.keys.find((k) => k.kid === kid);
    if (!jwk) throw new LeashError('JWKS_KID_UNKNOWN', `kid ${shownKid} is not in the key set of ${provider.issuer} (fetched just now)`);
    return { jwk, source: 'fetched', age: 0, warnings };
  }
  const why = `${outcome.code}: ${outcome.message}`;
  if (cached === null) throw new LeashError('JWKS_UNAVAILABLE', `no usable cached key set for ${provider.issuer}, and none could be fetched (${why})`);
  if (age > opts.maxStale) {
    throw new LeashError('JWKS_STALE', `cached key set for ${provider.issuer} is ${age}s old, over max_stale ${opts.maxStale}s, and could not be refreshed (${why})`);
  }
  if (!cachedKey) throw new LeashError('JWKS_KID_UNKNOWN', `kid ${shownKid} is not in the cached key set of ${provider.issuer} (${age}s old; ${why})`);
  return { jwk: cachedKey, source: 'stale-cache', age, warnings };
}

/**
 * Fetches now and writes the cache, whatever its age and whatever the
 * login-path throttle says: this is what the refresh timer runs. Throws the
 * fetch's own code (JWKS_FETCH_TIMEOUT, DISCOVERY_ISSUER_MISMATCH, ...), or
 * JWKS_PINNED for a provider with a jwks_file. Not persisting is reported in
 * `persisted`/`warnings`, not thrown.
 */
export async function refreshProvider(provider: JwksProvider, opts: Omit<JwksOptions, 'maxStale' | 'stateDir'>): Promise<RefreshResult> {
  assertSeconds(opts.now);
  if (provider.jwksFile !== undefined) throw new LeashError('JWKS_PINNED', `${provider.issuer} uses the pinned key set ${provider.jwksFile}; nothing to fetch`);
  const warnings: JwksWarning[] = [];
  const fetched = await discoverJwks(provider.issuer, opts.timeoutMs);
  const dir = usableCacheDir(opts.cacheDir, warnings);
  const persisted = dir !== null && saveCache(dir, provider.issuer, fetched, opts.now, warnings);
  return { jwksUri: fetched.jwksUri, keys: fetched.keys, persisted, warnings };
}

/** The keys of a provider's pinned jwks_file, which must be root-owned like the rest of the configuration. */
export function readPinnedJwks(provider: JwksProvider): PublicJwk[] {
  const file = provider.jwksFile;
  if (file === undefined) throw new LeashError('INTERNAL', `${provider.issuer} has no jwks_file`);
  const text = readConfigFile(file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new LeashError('JWKS_INVALID', `jwks_file ${file}: not JSON`);
  }
  return parseJwks(value, `jwks_file ${file}`);
}

/** One fetch if the throttle allows it (fetch-throttle.ts); the fetched set is then saved to the cache if it can be. */
async function throttledFetch(issuer: string, dir: string | null, opts: JwksOptions, warnings: JwksWarning[]): Promise<FetchedJwks | LeashError> {
  const refused = claimFetch(opts.stateDir, cacheFileStem(issuer), issuer, opts.now);
  if (refused !== null) {
    warn(warnings, refused);
    return refused;
  }
  let fetched: FetchedJwks;
  try {
    fetched = await discoverJwks(issuer, opts.timeoutMs);
  } catch (err) {
    const e = asLeashError(err, 'JWKS_FETCH_FAILED');
    warn(warnings, e);
    return e;
  }
  if (dir !== null) saveCache(dir, issuer, fetched, opts.now, warnings);
  else warn(warnings, new LeashError('JWKS_CACHE_UNWRITABLE', `keys of ${issuer} fetched but not saved: no usable cache directory ${opts.cacheDir}`));
  return fetched;
}

/** The cache dir, or null (with a warning) when it must not or cannot be used: then everything happens in memory. */
function usableCacheDir(dir: string, warnings: JwksWarning[]): string | null {
  const problem = cacheDirProblem(dir);
  if (problem === null) return dir;
  warn(warnings, problem);
  return null;
}

function loadCache(dir: string, issuer: string, now: number, warnings: JwksWarning[]): CachedSet | null {
  const name = `${cacheFileStem(issuer)}.json`;
  let text: string | null;
  try {
    text = readCacheFile(dir, name);
  } catch (err) {
    warn(warnings, asLeashError(err, 'JWKS_CACHE_UNSAFE'));
    return null;
  }
  if (text === null) return null;
  try {
    const record = parseCacheRecord(text, issuer);
    if (record.fetchedAt > now + FUTURE_SLACK) throw new Error('fetched_at is in the future');
    return record;
  } catch (err) {
    warn(warnings, new LeashError('JWKS_CACHE_DISCARDED', `${join(dir, name)} discarded: ${err instanceof Error ? err.message : 'unreadable'}`));
    return null;
  }
}

/**
 * A cache file's content as saveCache wrote it, or an Error saying why it
 * is not one for this issuer. Shared with `leash doctor`, so both read a
 * cache file by the same rules (the doctor explains a future date itself).
 */
export function parseCacheRecord(text: string, issuer: string): CachedSet {
  const v = JSON.parse(text) as Record<string, unknown>;
  if (typeof v !== 'object' || v === null) throw new Error('not an object');
  if (v['version'] !== CACHE_VERSION) throw new Error('unknown version');
  if (v['issuer'] !== issuer) throw new Error('written for another issuer');
  const fetchedAt = v['fetched_at'];
  if (typeof fetchedAt !== 'number' || !Number.isSafeInteger(fetchedAt) || fetchedAt <= 0) throw new Error('bad fetched_at');
  if (typeof v['jwks_uri'] !== 'string') throw new Error('bad jwks_uri');
  return { fetchedAt, keys: parseJwks(v['jwks'], 'jwks') };
}

function saveCache(dir: string, issuer: string, fetched: FetchedJwks, now: number, warnings: JwksWarning[]): boolean {
  const record = { version: CACHE_VERSION, issuer, jwks_uri: fetched.jwksUri, fetched_at: now, jwks: { keys: fetched.keys } };
  try {
    writeCacheFileAtomic(dir, `${cacheFileStem(issuer)}.json`, `${JSON.stringify(record)}\n`);
    return true;
  } catch (err) {
    warn(warnings, asLeashError(err, 'JWKS_CACHE_UNWRITABLE'));
    return false;
  }
}

/** Every age and stamp is in seconds; a millisecond clock passed by mistake would make a cache look fresh for ever. */
function assertSeconds(now: number): void {
  if (!Number.isSafeInteger(now) || now <= 0 || now >= 1e10) throw new LeashError('INTERNAL', 'JwksOptions.now must be whole seconds since the epoch');
}

/** One warning per code is enough (an unwritable dir fails the stamp and the cache alike). */
function warn(warnings: JwksWarning[], err: LeashError): void {
  if (!warnings.some((w) => w.code === err.code)) warnings.push({ code: err.code, message: err.message });
}
