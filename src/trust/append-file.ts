import { closeSync, constants, fstatSync, openSync } from 'node:fs';

/**
 * Opens a log for appending the way leash's logs are kept: O_APPEND (each
 * line one write(2), so concurrent writers never interleave within a line),
 * never through a symlink, without blocking (a FIFO planted in its place
 * cannot hang the caller), and only a regular file. Returns the descriptor;
 * throws an Error whose message says why (the caller turns it into its own
 * reason code).
 */
export function openAppendOnly(path: string, mode = 0o640): number {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode);
  } catch (err) {
    throw new Error(`cannot open ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new Error(`${path} is not a regular file`);
  }
  return fd;
}
