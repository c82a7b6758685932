import { closeSync, constants, fstatSync, lstatSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { LeashError } from '../errors.js';

/** Config files are small; anything larger is refused rather than read. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Why a file or directory may not be trusted as configuration: it must be
 * owned by root and not writable by group or others, and so must every
 * directory above it (otherwise its owner could swap the file). Returns null
 * when it is safe.
 */
export function unsafeReason(path: string, st: { uid: number; mode: number }): string | null {
  if (st.uid !== 0) return `${path} is owned by uid ${st.uid}, not root`;
  if ((st.mode & 0o022) !== 0) return `${path} is group- or world-writable (mode ${(st.mode & 0o7777).toString(8)})`;
  return null;
}

/** Checks every directory from `dir` up to `/`. Throws CONFIG_UNSAFE. */
export function assertTrustedParents(dir: string): void {
  for (let d = dir; ; d = dirname(d)) {
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
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LeashError('CONFIG_MISSING', `${path}: no such file`);
    if (code === 'ELOOP') throw new LeashError('CONFIG_UNSAFE', `${path} is a symbolic link`);
    throw new LeashError('CONFIG_UNREADABLE', `${path}: ${code ?? 'cannot open'}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new LeashError('CONFIG_UNSAFE', `${path} is not a regular file`);
    const why = unsafeReason(path, st);
    if (why) throw new LeashError('CONFIG_UNSAFE', why);
    if (st.size > MAX_CONFIG_BYTES) throw new LeashError('CONFIG_TOO_LARGE', `${path} is larger than ${MAX_CONFIG_BYTES} bytes`);
    const buf = Buffer.alloc(st.size);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return buf.subarray(0, off).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
