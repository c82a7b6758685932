import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { LeashError, type ReasonCode } from '../errors.js';

export interface ReadCodes {
  /** A symlink, not a regular file, or refused by the judge. */
  unsafe: ReasonCode;
  /** Could not be opened for another reason. */
  unreadable: ReasonCode;
  tooLarge: ReasonCode;
}

/**
 * Reads a small file that must not be trusted blindly: opened without
 * following a final symlink, judged through the open descriptor (so what is
 * judged is what is read), and size-capped. Returns null if it does not
 * exist; every other problem throws a LeashError with the caller's codes.
 */
export function readFileChecked(path: string, maxBytes: number, judge: (st: Stats) => string | null, codes: ReadCodes): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new LeashError(codes.unsafe, `${path} is a symbolic link`);
    throw new LeashError(codes.unreadable, `${path}: ${code ?? 'cannot open'}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new LeashError(codes.unsafe, `${path} is not a regular file`);
    const why = judge(st);
    if (why) throw new LeashError(codes.unsafe, why);
    if (st.size > maxBytes) throw new LeashError(codes.tooLarge, `${path} is larger than ${maxBytes} bytes`);
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
