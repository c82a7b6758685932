import { lstatSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LeashError } from '../errors.js';

/**
 * The one ownership rule leash applies to everything it trusts (configuration,
 * pinned binaries, the JWKS cache, the doctor's chain check): a file or
 * directory must be owned by root and not writable by group or others, or
 * whoever else can write it chooses what leash reads or runs. Returns why
 * not, or null when it is safe. `otherOwner` trusts one more uid as owner
 * (the JWKS cache's AuthorizedKeysCommandUser).
 */
export function unsafeReason(path: string, st: { uid: number; mode: number }, otherOwner?: number): string | null {
  if (st.uid !== 0 && st.uid !== otherOwner) return `${path} is owned by uid ${st.uid}, not root${otherOwner === undefined ? '' : ` or uid ${otherOwner}`}`;
  if ((st.mode & 0o022) !== 0) return `${path} is group- or world-writable (mode ${(st.mode & 0o7777).toString(8)})`;
  return null;
}

/** Checks every directory from `dir` up to `/` against unsafeReason (no symlinks either). Throws CONFIG_UNSAFE. */
export function assertTrustedParents(dir: string): void {
  // Absolute first: dirname('.') is '.', so a relative path would never reach '/'.
  for (let d = resolve(dir); ; d = dirname(d)) {
    let st;
    try {
      st = lstatSync(d);
    } catch (err) {
      throw new LeashError('CONFIG_MISSING', `${d}: ${(err as NodeJS.ErrnoException).code ?? 'cannot stat'}`);
    }
    const why = st.isSymbolicLink() ? `${d} is a symbolic link` : unsafeReason(d, st);
    if (why) throw new LeashError('CONFIG_UNSAFE', why);
    if (d === '/') return;
  }
}
