import { write } from 'node:fs';
import type { Readable } from 'node:stream';

export type OutputStream = 'stdout' | 'stderr';

/**
 * Called with every chunk that is relayed to the client, in order, just
 * before it is written: `stage` is the 0-based stage index. The output
 * recorder hangs here. A chunk past the output limit is never seen.
 */
export type OutputHook = (stage: number, stream: OutputStream, chunk: Buffer) => void;

export interface RelayOptions {
  /** Bytes (all streams together) relayed before onLimit; the rest is never written. */
  maxBytes: number;
  onOutput?: OutputHook | undefined;
  /** Once, when a byte past maxBytes arrives. */
  onLimit: () => void;
  /** Once, when a destination cannot be written any more (the client went away: EPIPE, EIO, …). */
  onClosed: (code: string) => void;
  /** Once, if the output hook throws; nothing more is relayed. */
  onHookError: (err: unknown) => void;
}

interface Pending {
  chunk: Buffer;
  offset: number;
  done: () => void;
}

interface Destination {
  fd: number;
  queue: Pending[];
  writing: boolean;
}

/** How long to wait before writing again to a destination that said EAGAIN (one opened non-blocking). */
const EAGAIN_RETRY_MS = 2;

/**
 * Copies the commands' output to leash's own descriptors (the SSH channel, a
 * pty, a file in tests) and counts it. Each source is paused while its chunk
 * waits to be written, so at most one chunk per source is held in memory and
 * a client that reads slowly slows the command down (its pipe fills and its
 * write(2) blocks) instead of making leash buffer. Writes go through the
 * thread pool (fs.write), so a destination that blocks — a terminal, a full
 * pipe — never blocks leash's event loop: timers and signals still act.
 */
export class OutputRelay {
  /** Bytes relayed so far. */
  bytes = 0;
  private readonly sources = new Set<Readable>();
  private readonly destinations = new Map<number, Destination>();
  private stopped = false;
  private waiters: Array<() => void> = [];

  constructor(private readonly options: RelayOptions) {}

  /** Relays `source` (stage `stage`'s `stream`) to descriptor `fd`. */
  add(source: Readable, stage: number, stream: OutputStream, fd: number): void {
    let dest = this.destinations.get(fd);
    if (!dest) this.destinations.set(fd, (dest = { fd, queue: [], writing: false }));
    const to = dest;
    this.sources.add(source);
    source.on('data', (chunk: Buffer) => this.take(source, stage, stream, to, chunk));
    // A pipe from a child only ever ends; an error (ECONNRESET on a socketpair) is an end too.
    source.on('error', () => source.destroy());
    source.on('close', () => {
      this.sources.delete(source);
      this.settle();
    });
  }

  /** Stops reading every source (their pipes close: a writer then gets EPIPE/SIGPIPE); queued writes still finish. */
  stopReading(): void {
    for (const s of this.sources) s.destroy();
  }

  /** Resolves once every source has ended and everything taken has been written (or dropped because the client went away). */
  drained(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.settle();
    });
  }

  private take(source: Readable, stage: number, stream: OutputStream, dest: Destination, chunk: Buffer): void {
    if (this.stopped) return;
    const room = this.options.maxBytes - this.bytes;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (part.length > 0) {
      this.bytes += part.length;
      try {
        this.options.onOutput?.(stage, stream, part);
      } catch (err) {
        this.stop();
        this.options.onHookError(err);
        return;
      }
      source.pause();
      dest.queue.push({ chunk: part, offset: 0, done: () => source.resume() });
      this.pump(dest);
    }
    if (part.length < chunk.length) {
      this.stop();
      this.options.onLimit();
    }
  }

  /** Nothing more is taken from any source. */
  private stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopReading();
  }

  private pump(dest: Destination): void {
    if (dest.writing) return;
    const item = dest.queue[0];
    if (!item) {
      this.settle();
      return;
    }
    dest.writing = true;
    write(dest.fd, item.chunk, item.offset, item.chunk.length - item.offset, null, (err, written) => {
      dest.writing = false;
      if (err) {
        if (err.code === 'EAGAIN') {
          setTimeout(() => this.pump(dest), EAGAIN_RETRY_MS);
          return;
        }
        this.closeDestinations(err.code ?? 'EIO');
        return;
      }
      item.offset += written;
      if (item.offset >= item.chunk.length) {
        dest.queue.shift();
        item.done();
      }
      this.pump(dest);
    });
  }

  /** The client is gone: drop what is queued, read nothing more, say so once. */
  private closeDestinations(code: string): void {
    const first = !this.stopped;
    this.stop();
    for (const d of this.destinations.values()) d.queue.length = 0;
    if (first) this.options.onClosed(code);
    this.settle();
  }

  private settle(): void {
    if (this.sources.size > 0) return;
    for (const d of this.destinations.values()) if (d.writing || d.queue.length > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
