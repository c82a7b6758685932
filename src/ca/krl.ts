/**
 * OpenSSH key revocation lists (PROTOCOL.krl), written by leash for sshd's
 * `RevokedKeys`. leash writes two kinds of section:
 *   - KRL_SECTION_CERTIFICATES with an empty CA key ("any CA") holding one
 *     KRL_SECTION_CERT_SERIAL_LIST of certificate serials;
 *   - KRL_SECTION_FINGERPRINT_SHA256 holding the SHA-256 hashes of plain key
 *     blobs (which revokes that key and every certificate of it), in
 *     numeric order.
 * No signature section (OpenSSH ≥ 9.4 refuses signed KRLs). sshd reads the
 * file at every authentication and refuses every public key while it is
 * missing or unreadable: it is only ever replaced atomically.
 */
import { readFileSync } from 'node:fs';
import { LeashError } from '../errors.js';
import { SshReader, sshString } from '../verify/cert/ssh-wire.js';
import { uint32, uint64 } from './wire.js';

const MAGIC = Buffer.from('SSHKRL\n\0', 'latin1');
const FORMAT_VERSION = 1;
const SECTION_CERTIFICATES = 1;
const SECTION_FINGERPRINT_SHA256 = 5;
const CERT_SERIAL_LIST = 0x20;
/** Serial 0 cannot be revoked (OpenSSH refuses it in a KRL). */
const MAX_SERIAL = 2n ** 64n - 1n;

export interface KrlContent {
  /** Certificate serials, revoked for every CA. */
  serials: readonly bigint[];
  /** SHA-256 digests (32 bytes) of plain public-key blobs. */
  keyHashes: readonly Buffer[];
}



/** The KRL file's bytes. `version` must grow with every file written. */
export function buildKrl(content: KrlContent, version: bigint, generatedAt: number, comment = 'leash'): Buffer {
  const parts: Buffer[] = [MAGIC, uint32(FORMAT_VERSION), uint64(version), uint64(BigInt(generatedAt)), uint64(0n), sshString(''), sshString(comment)];
  const serials = [...new Set(content.serials.map(String))].map(BigInt).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const s of serials) if (s < 1n || s > MAX_SERIAL) throw new LeashError('KRL_INVALID', `serial ${s} cannot be revoked (1 to 2^64-1)`);
  if (serials.length > 0) {
    const list = Buffer.concat(serials.map(uint64));
    const section = Buffer.concat([sshString(''), sshString(''), Buffer.from([CERT_SERIAL_LIST]), sshString(list)]);
    parts.push(Buffer.from([SECTION_CERTIFICATES]), sshString(section));
  }
  const hashes = [...new Map(content.keyHashes.map((h) => [h.toString('hex'), h])).values()].sort(Buffer.compare);
  for (const h of hashes) if (h.length !== 32) throw new LeashError('KRL_INVALID', 'a key hash must be 32 bytes (SHA-256)');
  if (hashes.length > 0) parts.push(Buffer.from([SECTION_FINGERPRINT_SHA256]), sshString(Buffer.concat(hashes.map((h) => sshString(h)))));
  return Buffer.concat(parts);
}

/** The header's krl_version of an existing KRL file (to write the next one); KRL_INVALID when it is not one. */
export function readKrlVersion(bytes: Buffer): bigint {
  if (bytes.length < MAGIC.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) throw new LeashError('KRL_INVALID', 'not an OpenSSH KRL (bad magic)');
  const r = new SshReader(bytes.subarray(MAGIC.length), 'KRL');
  try {
    if (r.uint32('format version') !== FORMAT_VERSION) throw new LeashError('KRL_INVALID', 'unknown KRL format version');
    return r.uint64('krl version');
  } catch (err) {
    if (err instanceof LeashError && err.code === 'KRL_INVALID') throw err;
    throw new LeashError('KRL_INVALID', `not an OpenSSH KRL: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The version of the KRL at `path` (0 when it does not exist); KRL_INVALID when unreadable or not a KRL. */
export function krlVersionOf(path: string): bigint {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0n;
    throw new LeashError('KRL_INVALID', `${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return readKrlVersion(bytes);
}
