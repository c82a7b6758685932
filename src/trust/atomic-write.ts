import { closeSync, constants, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Replaces `path` atomically: a new file in the same directory (O_EXCL, never
 * through a symlink), written whole, fsynced, then renamed over the old one.
 * A concurrent reader sees the old file or the new one, never half of it, and
 * a crash leaves no torn file. Throws the system error (with its `code`); the
 * caller turns it into its own reason code.
 *
 * node:crypto (for the temporary name) is loaded here, when a file is
 * written, not when this module is: readers of the compiled config and the
 * verifier's memo import this module, and their paths must not pay for it.
 */
export function writeFileAtomic(path: string, data: string | Buffer, mode: number): void {
  const dir = dirname(path);
  const { randomBytes } = process.getBuiltinModule('node:crypto');
  const tmp = join(dir, `.${basename(path)}.${randomBytes(8).toString('hex')}.tmp`);
  let fd: number | null = null;
  try {
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== null) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* never created, or already renamed */
    }
    throw err;
  }
  // Make the rename itself durable. Failing here loses nothing already visible.
  try {
    const dfd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* best effort */
  }
}
