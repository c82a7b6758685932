import { lstatSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { LeashError } from '../errors.js';
import { readFileChecked } from './read-checked.js';

/** Config files are small; anything larger is refused rather than read. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Why a file or directory may not be trusted as configuration: it must be
 * owned by root and not writable by group or others, and so must every
 * directory above it (otherwise its owner could swap the file). Returns null
 * when it is safe. `otherOwner` trusts one more uid as owner (the JWKS cache's
 * AuthorizedKeysCommandUser).
 */
export function unsafeReason(path: string, st: { uid: number; mode: number }, otherOwner?: number): string | null {
  if (st.uid !== 0 && st.uid !== otherOwner) return `${path} is owned by uid ${st.uid}, not root${otherOwner === undefined ? '' : ` or uid ${otherOwner}`}`;
  if ((st.mode & 0o022) !== 0) return `${path} is group- or world-writable (mode ${(st.mode & 0o7777).toString(8)})`;
  return null;
}

/** Checks every directory from `dir` up to `/`. Throws CONFIG_UNSAFE. */
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

/**
 * Reads a configuration file that only root can have written. The file is
 * opened without following a final symlink and checked through the open
 * descriptor, so what is checked is what is read.
 */
export function readTrustedFile(path: string): string {
  assertTrustedParents(dirname(path));
  const text = readFileChecked(path, MAX_CONFIG_BYTES, (st) => unsafeReason(path, st), {
    unsafe: 'CONFIG_UNSAFE',
    unreadable: 'CONFIG_UNREADABLE',
    tooLarge: 'CONFIG_TOO_LARGE',
  });
  if (text === null) throw new LeashError('CONFIG_MISSING', `${path}: no such file`);
  return text;
}
