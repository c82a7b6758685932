import { writev } from 'node:fs';
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

interface Destination {
  fd: number;
  /** Chunks not yet written, oldest first; `offset` bytes of the first are. */
  queue: Buffer[];
  offset: number;
  /** Bytes in the queue not yet written. */
  queued: number;
  writing: boolean;
  /** Sources paused because this destination's queue was over HIGH_WATER. */
  paused: Set<Readable>;
}

/**
 * Per destination: at HIGH_WATER queued bytes its sources are paused, below
 * LOW_WATER they read again. Reading and writing overlap (on another core)
 * while memory stays bounded: HIGH_WATER plus one chunk per source.
 */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
/** Chunks written by one writev(2). */
const MAX_BATCH = 64;
/** How long to wait before writing again to a destination that said EAGAIN (one opened non-blocking). */
const EAGAIN_RETRY_MS = 2;

/**
 * Copies the commands' output to leash's own descriptors (the SSH channel, a
 * pty, a file in tests) and counts it. A client that reads slowly slows the
 * command down instead of making leash buffer: once a destination has
 * HIGH_WATER bytes queued, its sources are paused, the pipes from the
 * commands fill and the commands' write(2) blocks. Writes go through the
 * thread pool (fs.writev, several chunks at a time), so a destination that
 * blocks — a terminal, a full pipe — never blocks leash's event loop: timers
 * and signals still act.
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
    if (!dest) this.destinations.set(fd, (dest = { fd, queue: [], offset: 0, queued: 0, writing: false, paused: new Set() }));
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
      dest.queue.push(part);
      dest.queued += part.length;
      if (dest.queued >= HIGH_WATER) {
        source.pause();
        dest.paused.add(source);
      }
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
    if (dest.queue.length === 0) {
      this.settle();
      return;
    }
    dest.writing = true;
    const batch = dest.queue.slice(0, MAX_BATCH);
    batch[0] = (batch[0] as Buffer).subarray(dest.offset);
    writev(dest.fd, batch, null, (err, written) => {
      dest.writing = false;
      if (err) {
        if (err.code === 'EAGAIN') {
          setTimeout(() => this.pump(dest), EAGAIN_RETRY_MS);
          return;
        }
        this.closeDestinations(err.code ?? 'EIO');
        return;
      }
      dest.queued -= written;
      let left = dest.offset + written;
      while (dest.queue.length > 0 && left >= (dest.queue[0] as Buffer).length) left -= (dest.queue.shift() as Buffer).length;
      dest.offset = left;
      if (dest.queued < LOW_WATER && dest.paused.size > 0) {
        for (const s of dest.paused) s.resume();
        dest.paused.clear();
      }
      this.pump(dest);
    });
  }

  /** The client is gone: drop what is queued, read nothing more, say so once. */
  private closeDestinations(code: string): void {
    const first = !this.stopped;
    this.stop();
    for (const d of this.destinations.values()) {
      d.queue.length = 0;
      d.queued = 0;
      d.offset = 0;
    }
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
