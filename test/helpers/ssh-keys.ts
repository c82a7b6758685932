// Test helpers: real ssh-keygen certificates, and an independent encoder for
// blobs ssh-keygen cannot make (sk-* keys without a FIDO device, unordered
// extensions, SHA-1 signatures, ...). Not a test file itself.
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function tmpDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'leash-verify-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `ssh-keygen -t <type> [-b bits]` → path of the private key. */
export function keygen(dir: string, name: string, type: string, bits?: number): string {
  const path = join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', type, ...(bits ? ['-b', String(bits)] : []), '-N', '', '-C', '', '-f', path], { stdio: 'ignore' });
  return path;
}

/**
 * Certifies `subject`.pub with CA `ca` (self-signed when ca === subject),
 * returns the `.pub` line fields: [type, base64].
 */
export function certify(dir: string, ca: string, subject: string, args: string[]): { t: string; k: string } {
  // ssh-keygen writes <subject>-cert.pub next to the public key; copy so one key can get several certs.
  const copy = join(dir, `${subject.split('/').pop()}-${Math.random().toString(36).slice(2)}`);
  execFileSync('cp', [`${subject}.pub`, `${copy}.pub`]);
  execFileSync('ssh-keygen', ['-q', '-s', ca, '-I', 'id', ...args, `${copy}.pub`], { stdio: 'ignore' });
  const [t, k] = readFileSync(`${copy}-cert.pub`, 'utf8').trim().split(' ') as [string, string];
  return { t, k };
}

export function str(data: Buffer | string): Buffer {
  const b = typeof data === 'string' ? Buffer.from(data) : data;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(b.length);
  return Buffer.concat([len, b]);
}
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
export function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}
function tuples(entries: Array<[string, Buffer]>): Buffer {
  return Buffer.concat(entries.map(([n, d]) => Buffer.concat([str(n), str(d)])));
}

export interface CertSpec {
  certType: string;
  /** The key fields after the plain type name, already encoded. */
  keyFields: Buffer;
  serial?: bigint;
  type?: number;
  keyId?: string;
  principals?: string[];
  validAfter?: bigint;
  validBefore?: bigint;
  critical?: Array<[string, Buffer]>;
  extensions?: Array<[string, Buffer]>;
  reserved?: Buffer;
  signatureKey: Buffer;
}

/** The to-be-signed part of a certificate, encoded independently of src/. */
export function certBody(s: CertSpec): Buffer {
  return Buffer.concat([
    str(s.certType), str(Buffer.alloc(32, 7)), s.keyFields, u64(s.serial ?? 0n), u32(s.type ?? 1), str(s.keyId ?? 'id'),
    str(Buffer.concat((s.principals ?? ['p']).map((p) => str(p)))), u64(s.validAfter ?? 0n), u64(s.validBefore ?? 0xffffffffffffffffn),
    str(tuples(s.critical ?? [])), str(tuples(s.extensions ?? [])), str(s.reserved ?? Buffer.alloc(0)), str(s.signatureKey),
  ]);
}

/** An Ed25519 CA for hand-made certificates. */
export function ed25519Ca(): { priv: KeyObject; blob: Buffer; sign: (body: Buffer) => Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const blob = Buffer.concat([str('ssh-ed25519'), str(raw)]);
  return { priv: privateKey, blob, sign: (body) => Buffer.concat([body, str(Buffer.concat([str('ssh-ed25519'), str(sign(null, body, privateKey))]))]) };
}
