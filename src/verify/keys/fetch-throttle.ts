import { closeSync, constants, fstatSync, openSync, readdirSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LeashError } from '../../errors.js';

/**
 * At most one login-path fetch per issuer in this many seconds. Anyone can
 * present a token with a made-up kid, and a login refused by it is still a
 * login attempt: an unknown kid must not become a request per login, and a
 * provider that is down or stalls must not cost every login the fetch timeout.
 */
export const REFETCH_INTERVAL = 300;

/**
 * May this login fetch the provider's keys now? Returns null if it may (the
 * attempt is then recorded, before the fetch, so that concurrent logins back
 * off), or the reason it may not.
 *
 * The record lives in the verifier's state directory (`stateDir`, checked by
 * usableVerifyState; null when there is none), never in the key cache, so it
 * holds however the cache directory is set up: a root-owned cache the
 * verifier cannot write still has a throttle. Without a state directory the
 * login path does not fetch at all (the refresh timer keeps the cache).
 *
 * One file per issuer and interval slot, `fetch-<stem>-<slot>` with slot =
 * floor(now / REFETCH_INTERVAL), created with O_EXCL: of any number of
 * concurrent logins in one slot exactly one creates it and fetches. The
 * previous slot's file, holding its attempt time, throttles the start of
 * the next slot, so two attempts are always REFETCH_INTERVAL apart. A file
 * leash cannot read as its own record counts as a recent attempt: doubt
 * means fewer requests, never more.
 */
export function claimFetch(stateDir: string | null, stem: string, issuer: string, now: number): LeashError | null {
  if (stateDir === null) {
    return new LeashError('VERIFY_STATE_UNUSABLE', 'no usable verifier state directory (<runtime_dir>/verify): the login path does not fetch provider keys without its throttle');
  }
  const slot = Math.floor(now / REFETCH_INTERVAL);
  const previous = attemptIn(join(stateDir, slotName(stem, slot - 1)), issuer);
  if (previous === 'unreadable' || (previous !== null && now - previous < REFETCH_INTERVAL)) {
    const ago = typeof previous === 'number' ? `${now - previous}s ago` : 'recently (unreadable record)';
    return throttled(`a fetch was attempted ${ago}; the next is allowed ${REFETCH_INTERVAL}s after it`);
  }
  const path = join(stateDir, slotName(stem, slot));
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return throttled(`a fetch was already attempted in this ${REFETCH_INTERVAL}s interval`);
    return new LeashError('VERIFY_STATE_UNUSABLE', `cannot record a fetch attempt in ${stateDir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}; not fetching`);
  }
  try {
    writeSync(fd, JSON.stringify({ issuer, attempted_at: now }));
  } finally {
    closeSync(fd);
  }
  sweep(stateDir, stem, slot);
  return null;
}

function slotName(stem: string, slot: number): string {
  return `fetch-${stem}-${slot}`;
}

function throttled(why: string): LeashError {
  return new LeashError('JWKS_REFETCH_THROTTLED', why);
}

/** The attempt time a slot file records; null if there is none; 'unreadable' for anything else. */
function attemptIn(path: string, issuer: string): number | null | 'unreadable' {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? null : 'unreadable';
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > 4096) return 'unreadable';
    const buf = Buffer.alloc(st.size);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const v = JSON.parse(buf.subarray(0, n).toString('utf8')) as { issuer?: unknown; attempted_at?: unknown };
    return v.issuer === issuer && typeof v.attempted_at === 'number' && Number.isSafeInteger(v.attempted_at) ? v.attempted_at : 'unreadable';
  } catch {
    return 'unreadable';
  } finally {
    closeSync(fd);
  }
}

/** Records of slots before the previous one are no longer read: remove them (best effort). */
function sweep(stateDir: string, stem: string, slot: number): void {
  const prefix = `fetch-${stem}-`;
  try {
    for (const name of readdirSync(stateDir)) {
      if (!name.startsWith(prefix)) continue;
      const n = Number(name.slice(prefix.length));
      if (Number.isSafeInteger(n) && n < slot - 1) unlinkSync(join(stateDir, name));
    }
  } catch {
    /* a leftover record only costs a directory entry */
  }
}
