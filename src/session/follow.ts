/**
 * `tail -F` for leash's logs: complete lines as the file grows, across
 * rotation (the path names a new file: the old one is read to its end
 * first, then the new one from its start) and truncation (noticed while the
 * file is shorter than what was read; leash's logrotate renames, it never
 * truncates). Polling, not
 * inotify: it works on every filesystem and costs one fstat per tick.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';

const CHUNK = 64 * 1024;
/** A line longer than this is cut (a log line never is; a corrupted file might). */
const MAX_LINE = 4 * 1024 * 1024;

export class Follower {
  private fd: number | null = null;
  private ino = -1;
  private offset = 0;
  private partial = '';
  private first = true;

  constructor(
    readonly path: string,
    private readonly fromStart: boolean,
  ) {}

  private open(): boolean {
    try {
      this.fd = openSync(this.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch {
      return false;
    }
    const st = fstatSync(this.fd);
    this.ino = st.ino;
    // The first file starts at its end unless asked otherwise; a file after rotation from its start.
    this.offset = this.first && !this.fromStart ? st.size : 0;
    this.first = false;
    return true;
  }

  private drain(out: string[]): void {
    if (this.fd === null) return;
    const st = fstatSync(this.fd);
    if (st.size < this.offset) this.offset = 0; // truncated
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      const n = readSync(this.fd, buf, 0, CHUNK, this.offset);
      if (n <= 0) break;
      this.offset += n;
      this.partial += buf.subarray(0, n).toString('utf8');
      const lines = this.partial.split('\n');
      this.partial = lines.pop() ?? '';
      if (this.partial.length > MAX_LINE) this.partial = '';
      out.push(...lines.filter((l) => l !== ''));
    }
  }

  /** Every complete line added since the last call. */
  poll(): string[] {
    const out: string[] = [];
    if (this.fd === null && !this.open()) return out;
    this.drain(out);
    let current: number | null = null;
    try {
      current = statSync(this.path).ino;
    } catch {
      current = null;
    }
    if (current !== null && current !== this.ino) {
      // Rotated: the old file is finished; the new one is read from its start.
      closeSync(this.fd!);
      this.fd = null;
      this.partial = '';
      if (this.open()) this.drain(out);
    }
    return out;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
