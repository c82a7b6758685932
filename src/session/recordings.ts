/**
 * The recordings log: what each command wrote, up to the profile's
 * `record_output` bytes per stream, as JSON lines beside the audit log and
 * kept under the same append-only permission model. One line per relayed
 * chunk (so `leash watch --output` shows output while it happens), then one
 * summary line per stream when the command has finished:
 *
 *   {"ts":…,"session":…,"seq":3,"pid":4242,"stage":0,"stream":"stdout","offset":0,"data":"<base64>"}
 *   {"ts":…,"session":…,"seq":3,"pid":4242,"stage":0,"stream":"stdout","bytes":91234,"recorded":65536,"truncated":true}
 *
 * `data` is base64: output is bytes, and readers escape it for display.
 */
import { closeSync, writeSync } from 'node:fs';
import { LeashError } from '../errors.js';
import { openAppendOnly } from '../trust/append-file.js';

export type OutputStream = 'stdout' | 'stderr';

/** The runner's hook: called with every chunk it relays to the client, in order. */
export type OutputHook = (stage: number, stream: OutputStream, chunk: Buffer) => void;

export interface RecordingLine {
  ts: string;
  session: string | null;
  seq: number | null;
  pid: number;
  stage: number;
  stream: OutputStream;
  offset?: number;
  data?: string;
  bytes?: number;
  recorded?: number;
  truncated?: boolean;
}

export interface RecorderInput {
  path: string;
  session: string | undefined;
  seq: number | undefined;
  pid: number;
  /** Bytes kept per stage and stream; 0 = record nothing (no file is opened). */
  limit: number;
}

/**
 * Records one command's output. Throws RECORDINGS_UNWRITABLE when the log
 * cannot be opened (the caller refuses the command, as for the audit log);
 * a write that fails later stops recording and is reported by `failed`.
 */
export class Recorder {
  private readonly seen = new Map<string, { stage: number; stream: OutputStream; bytes: number; recorded: number }>();
  failed: string | null = null;

  private constructor(
    private readonly input: RecorderInput,
    private fd: number | null,
  ) {}

  static open(input: RecorderInput): Recorder {
    if (input.limit <= 0) return new Recorder(input, null);
    try {
      return new Recorder(input, openAppendOnly(input.path));
    } catch (err) {
      throw new LeashError('RECORDINGS_UNWRITABLE', `recordings log: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The OutputHook. */
  readonly onOutput: OutputHook = (stage, stream, chunk) => {
    const key = `${stage}:${stream}`;
    let s = this.seen.get(key);
    if (!s) this.seen.set(key, (s = { stage, stream, bytes: 0, recorded: 0 }));
    const room = this.input.limit - s.recorded;
    s.bytes += chunk.length;
    if (room <= 0 || this.fd === null) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.write({ stage, stream, offset: s.recorded, data: part.toString('base64') });
    s.recorded += part.length;
  };

  /** Writes the summary lines and closes the log. */
  close(): void {
    if (this.fd === null) return;
    for (const s of this.seen.values()) this.write({ stage: s.stage, stream: s.stream, bytes: s.bytes, recorded: s.recorded, truncated: s.bytes > s.recorded });
    closeSync(this.fd);
    this.fd = null;
  }

  private write(fields: Omit<RecordingLine, 'ts' | 'session' | 'seq' | 'pid'>): void {
    if (this.fd === null) return;
    const line: RecordingLine = { ts: new Date().toISOString(), session: this.input.session ?? null, seq: this.input.seq ?? null, pid: this.input.pid, ...fields };
    const buf = Buffer.from(`${JSON.stringify(line)}\n`, 'utf8');
    try {
      if (writeSync(this.fd, buf) !== buf.length) throw new Error('short write');
    } catch (err) {
      this.failed = `cannot write ${this.input.path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`;
      closeSync(this.fd);
      this.fd = null;
    }
  }
}
