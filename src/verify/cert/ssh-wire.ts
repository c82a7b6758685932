import { LeashError } from '../../errors.js';

/**
 * Bounds-checked reader for the SSH wire encoding (RFC 4251 §5): uint32,
 * uint64, string, mpint. Every read checks the remaining length first, so a
 * hostile blob can only produce a LeashError, never an out-of-range read.
 *
 * Codes: SSH_WIRE_TRUNCATED, SSH_WIRE_TRAILING, SSH_WIRE_BAD_MPINT,
 * SSH_WIRE_BAD_STRING. Messages name `what` (e.g. "certificate") and the
 * field, never the bytes.
 */
export class SshReader {
  private pos = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private take(n: number, field: string): Buffer {
    if (n > this.remaining) {
      throw new LeashError('SSH_WIRE_TRUNCATED', `${this.what}: truncated reading ${field} at offset ${this.pos}`);
    }
    // subarray, not a copy: the caller owns the input buffer and must not mutate it.
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  uint32(field: string): number {
    return this.take(4, field).readUInt32BE(0);
  }

  uint64(field: string): bigint {
    return this.take(8, field).readBigUInt64BE(0);
  }

  /** string: uint32 length || bytes. */
  string(field: string): Buffer {
    const len = this.uint32(field);
    return this.take(len, field);
  }

  /**
   * A string holding text, as OpenSSH's sshbuf_get_cstring reads it: no NUL
   * bytes. We also require valid UTF-8 so names compare and print exactly.
   */
  text(field: string): string {
    const bytes = this.string(field);
    if (bytes.includes(0)) {
      throw new LeashError('SSH_WIRE_BAD_STRING', `${this.what}: ${field} contains a NUL byte`);
    }
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new LeashError('SSH_WIRE_BAD_STRING', `${this.what}: ${field} is not valid UTF-8`);
    }
  }

  /**
   * mpint (RFC 4251): two's complement, big-endian. Only non-negative values
   * in minimal form are accepted (what ssh-keygen and Go x/crypto write), so
   * one value has exactly one encoding. Returns the magnitude without the
   * 0x00 sign byte; zero is an empty buffer.
   */
  mpint(field: string): Buffer {
    const raw = this.string(field);
    if (raw.length === 0) return raw;
    const first = raw[0]!;
    if (first & 0x80) {
      throw new LeashError('SSH_WIRE_BAD_MPINT', `${this.what}: ${field} is negative`);
    }
    if (first === 0) {
      // A leading zero is only allowed to keep the next byte's high bit from reading as a sign.
      if (raw.length === 1 || !(raw[1]! & 0x80)) {
        throw new LeashError('SSH_WIRE_BAD_MPINT', `${this.what}: ${field} is not minimally encoded`);
      }
      return raw.subarray(1);
    }
    return raw;
  }

  /** Asserts everything has been consumed. */
  end(): void {
    if (this.remaining !== 0) {
      throw new LeashError('SSH_WIRE_TRAILING', `${this.what}: ${this.remaining} unexpected trailing byte(s) at offset ${this.pos}`);
    }
  }
}

/** Encodes an SSH string (used to rebuild plain-key blobs and in tests). */
export function sshString(data: Buffer | string): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length, 0);
  return Buffer.concat([len, body]);
}
