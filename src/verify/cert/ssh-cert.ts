import { strictBase64 } from '../../encoding/base64.js';
import { LeashError } from '../../errors.js';
import { SshReader, sshString } from './ssh-wire.js';

/**
 * Parser for OpenSSH certificates (PROTOCOL.certkeys) as sshd hands them to
 * an AuthorizedKeysCommand: `%k` (base64 blob) and `%t` (key type name).
 * Parsing only: the certificate's signature is checked in cert-signature.ts.
 *
 * Every field of all seven cert types below is decoded, so anything we do not
 * accept is refused with a reason code rather than misread.
 */

/** A certificate blob larger than this is refused before decoding (real opkssh certs are a few KB). */
export const MAX_CERT_BYTES = 64 * 1024;
/** OpenSSH's own limit (SSHKEY_CERT_MAX_PRINCIPALS). */
const MAX_PRINCIPALS = 256;
/** RSA keys below this size are refused wherever they appear (here and in jwk.ts). */
const MIN_RSA_BITS = 2048;
/** OpenSSH's bignum limit (SSHBUF_MAX_BIGNUM): 16384-bit moduli. */
const MAX_RSA_BITS = 16384;

const SSH_CERT_TYPE_USER = 1;
const SSH_CERT_TYPE_HOST = 2;

export type EcdsaCurve = 'nistp256' | 'nistp384' | 'nistp521';

/** A plain public key; `blob` is its exact SSH wire form (print as `<type> <base64(blob)>`). */
export type SshPublicKey =
  | { type: 'ssh-ed25519'; blob: Buffer; pk: Buffer }
  | { type: 'ecdsa-sha2-nistp256' | 'ecdsa-sha2-nistp384' | 'ecdsa-sha2-nistp521'; blob: Buffer; curve: EcdsaCurve; q: Buffer }
  | { type: 'ssh-rsa'; blob: Buffer; e: Buffer; n: Buffer }
  | { type: 'sk-ssh-ed25519@openssh.com'; blob: Buffer; pk: Buffer; application: string }
  | { type: 'sk-ecdsa-sha2-nistp256@openssh.com'; blob: Buffer; curve: 'nistp256'; q: Buffer; application: string };

export type SshKeyType = SshPublicKey['type'];

export interface SshCertificate {
  /** e.g. `ecdsa-sha2-nistp256-cert-v01@openssh.com` */
  certType: string;
  nonce: Buffer;
  /** The certified key, as a plain key. */
  publicKey: SshPublicKey;
  serial: bigint;
  /** 1 = user, 2 = host (anything else is refused while parsing). */
  type: number;
  keyId: string;
  principals: string[];
  validAfter: bigint;
  validBefore: bigint;
  /** name -> raw data (the data field exactly as on the wire). */
  criticalOptions: ReadonlyMap<string, Buffer>;
  /** name -> raw data (the data field exactly as on the wire). */
  extensions: ReadonlyMap<string, Buffer>;
  /** The CA key (for opkssh certs the same key as `publicKey`). */
  signatureKey: SshPublicKey;
  /** The signature field: string(alg) || string(sig). */
  signature: Buffer;
  /** The bytes the signature covers: the blob up to and including the signature key. */
  signedData: Buffer;
}

const CERT_TO_PLAIN: ReadonlyMap<string, SshKeyType> = new Map<string, SshKeyType>([
  ['ssh-ed25519-cert-v01@openssh.com', 'ssh-ed25519'],
  ['ecdsa-sha2-nistp256-cert-v01@openssh.com', 'ecdsa-sha2-nistp256'],
  ['ecdsa-sha2-nistp384-cert-v01@openssh.com', 'ecdsa-sha2-nistp384'],
  ['ecdsa-sha2-nistp521-cert-v01@openssh.com', 'ecdsa-sha2-nistp521'],
  ['ssh-rsa-cert-v01@openssh.com', 'ssh-rsa'],
  ['sk-ssh-ed25519-cert-v01@openssh.com', 'sk-ssh-ed25519@openssh.com'],
  ['sk-ecdsa-sha2-nistp256-cert-v01@openssh.com', 'sk-ecdsa-sha2-nistp256@openssh.com'],
]);
const PLAIN_TYPES: ReadonlySet<string> = new Set(CERT_TO_PLAIN.values());

/**
 * The one list of key types leash accepts, for the certified key and the
 * certificate's signature key alike, each with the JOSE algorithm a PK Token
 * `upk` of that key has: exactly what `opkssh login` makes (ECDSA P-256 by
 * default, Ed25519 with -t ed25519). Checked first, from sshd's %t, before
 * anything is decoded or any signature computed; the CIC check and the line
 * sshd gets read the same list. Everything else PROTOCOL.certkeys defines
 * (RSA, P-384/P-521, sk-*) is still parsed by parseCertificate, and refused
 * here with CERT_KEY_TYPE_UNSUPPORTED.
 */
export const SUPPORTED_KEY_TYPES = { 'ecdsa-sha2-nistp256': 'ES256', 'ssh-ed25519': 'EdDSA' } as const satisfies Partial<Record<SshKeyType, string>>;
export type SupportedKeyType = keyof typeof SUPPORTED_KEY_TYPES;
export type SupportedUpkAlg = (typeof SUPPORTED_KEY_TYPES)[SupportedKeyType];

export function isSupportedKeyType(type: string): type is SupportedKeyType {
  return Object.hasOwn(SUPPORTED_KEY_TYPES, type);
}

const EC_COORD_BYTES: Record<EcdsaCurve, number> = { nistp256: 32, nistp384: 48, nistp521: 66 };

/**
 * Strict base64 (what sshd writes for %k): standard alphabet, padded, and
 * canonical (re-encoding gives back the same text), because Node's decoder
 * silently skips bad characters. The length is capped before decoding.
 * Codes: CERT_TOO_LARGE, CERT_BAD_BASE64.
 */
export function decodeCertificateBase64(k: string): Buffer {
  if (k.length > Math.ceil(MAX_CERT_BYTES / 3) * 4) {
    throw new LeashError('CERT_TOO_LARGE', `certificate is larger than ${MAX_CERT_BYTES} bytes`);
  }
  const blob = strictBase64(k);
  if (blob === null) throw new LeashError('CERT_BAD_BASE64', 'certificate is not canonical base64');
  return blob;
}

/**
 * What `leash verify` calls with sshd's `%k` and `%t`, in this order: `%t`
 * names a certificate of a supported key type (before decoding anything);
 * strict base64; the blob's type equals `%t` exactly; the signature key is
 * of a supported type too; a user certificate; no critical options.
 * opkssh never sets a critical option, and leash enforces none of them
 * (`force-command`, `source-address`, `verify-required`, or one it does not
 * know): a certificate that asks for one is refused rather than accepted
 * without what it asks for.
 * Codes: CERT_NOT_CERTIFICATE, CERT_TYPE_UNKNOWN, CERT_KEY_TYPE_UNSUPPORTED,
 * CERT_TOO_LARGE, CERT_BAD_BASE64, CERT_TYPE_MISMATCH, CERT_NOT_USER,
 * CERT_CRITICAL_OPTION, and everything parseCertificate throws.
 */
export function parseSshdCertificate(k: string, t: string): SshCertificate {
  const plain = CERT_TO_PLAIN.get(t);
  if (plain === undefined) {
    if (PLAIN_TYPES.has(t)) throw new LeashError('CERT_NOT_CERTIFICATE', `key type ${t} is a plain key, not a certificate`);
    throw new LeashError('CERT_TYPE_UNKNOWN', 'key type given by sshd is not a known certificate type');
  }
  if (!isSupportedKeyType(plain)) throw new LeashError('CERT_KEY_TYPE_UNSUPPORTED', `certificates for ${plain} keys are not supported (only ${Object.keys(SUPPORTED_KEY_TYPES).join(', ')})`);
  const cert = parseCertificate(decodeCertificateBase64(k));
  if (cert.certType !== t) {
    throw new LeashError('CERT_TYPE_MISMATCH', `certificate type ${cert.certType} does not match the type ${t} given by sshd`);
  }
  if (!isSupportedKeyType(cert.signatureKey.type)) {
    throw new LeashError('CERT_KEY_TYPE_UNSUPPORTED', `certificate signed by a ${cert.signatureKey.type} key, which is not supported`);
  }
  if (cert.type !== SSH_CERT_TYPE_USER) {
    throw new LeashError('CERT_NOT_USER', 'certificate is a host certificate, not a user certificate');
  }
  if (cert.criticalOptions.size > 0) {
    const names = [...cert.criticalOptions.keys()].map((n) => JSON.stringify(n.slice(0, 64))).slice(0, 4).join(', ');
    throw new LeashError('CERT_CRITICAL_OPTION', `certificate has critical option(s) ${names}; opkssh certificates have none`);
  }
  return cert;
}

/**
 * Decodes every field of a certificate blob of any of the seven types above.
 * Codes: CERT_TOO_LARGE, CERT_NOT_CERTIFICATE, CERT_TYPE_UNKNOWN,
 * CERT_MALFORMED, CERT_OPTIONS_ORDER, CERT_RSA_KEY_SIZE, SSH_WIRE_TRUNCATED,
 * SSH_WIRE_TRAILING, SSH_WIRE_BAD_MPINT, SSH_WIRE_BAD_STRING.
 */
export function parseCertificate(blob: Buffer): SshCertificate {
  if (blob.length > MAX_CERT_BYTES) {
    throw new LeashError('CERT_TOO_LARGE', `certificate is larger than ${MAX_CERT_BYTES} bytes`);
  }
  const r = new SshReader(blob, 'certificate');
  const certType = r.text('key type');
  const plainType = CERT_TO_PLAIN.get(certType);
  if (plainType === undefined) {
    if (PLAIN_TYPES.has(certType)) throw new LeashError('CERT_NOT_CERTIFICATE', `key type ${certType} is a plain key, not a certificate`);
    throw new LeashError('CERT_TYPE_UNKNOWN', 'blob is not a known certificate type');
  }
  const nonce = r.string('nonce');
  const keyStart = r.offset;
  const keyFields = readKeyFields(r, plainType, 'certificate');
  // The certified key as a plain key blob: its type name followed by the same key fields, byte for byte.
  const publicKey = { ...keyFields, blob: Buffer.concat([sshString(plainType), blob.subarray(keyStart, r.offset)]) } as SshPublicKey;
  const serial = r.uint64('serial');
  const type = r.uint32('type');
  if (type !== SSH_CERT_TYPE_USER && type !== SSH_CERT_TYPE_HOST) {
    throw new LeashError('CERT_MALFORMED', `certificate type ${type} is neither user (1) nor host (2)`);
  }
  const keyId = r.text('key id');
  const principals = readPrincipals(r.string('valid principals'));
  const validAfter = r.uint64('valid after');
  const validBefore = r.uint64('valid before');
  const criticalOptions = readOptions(r.string('critical options'), 'critical option');
  const extensions = readOptions(r.string('extensions'), 'extension');
  // "Reserved" is ignored by OpenSSH; nobody fills it, so anything there is refused rather than silently skipped.
  if (r.string('reserved').length !== 0) {
    throw new LeashError('CERT_MALFORMED', 'certificate reserved field is not empty');
  }
  const signatureKey = parsePublicKeyBlob(r.string('signature key'));
  const signedData = blob.subarray(0, r.offset);
  const signature = r.string('signature');
  r.end();
  return {
    certType, nonce, publicKey, serial, type, keyId, principals, validAfter, validBefore,
    criticalOptions, extensions, signatureKey, signature, signedData,
  };
}

/**
 * Parses a plain public key blob of one of the five plain types above. A
 * certificate is refused here, because a certificate cannot be a CA key.
 * Codes: CERT_KEY_TYPE_UNSUPPORTED (unknown or certificate type),
 * CERT_MALFORMED, CERT_RSA_KEY_SIZE, SSH_WIRE_*.
 */
export function parsePublicKeyBlob(blob: Buffer): SshPublicKey {
  const r = new SshReader(blob, 'public key');
  const type = r.text('key type');
  if (!PLAIN_TYPES.has(type)) {
    throw new LeashError('CERT_KEY_TYPE_UNSUPPORTED', 'signature key is not a supported plain public key type');
  }
  const fields = readKeyFields(r, type as SshKeyType, 'public key');
  r.end();
  return { ...fields, blob } as SshPublicKey;
}

type KeyFields = SshPublicKey extends infer K ? (K extends SshPublicKey ? Omit<K, 'blob'> : never) : never;

/** Reads the type-specific key fields (everything after the type name of a plain key). */
function readKeyFields(r: SshReader, type: SshKeyType, what: string): KeyFields {
  switch (type) {
    case 'ssh-ed25519':
      return { type, pk: readEd25519(r, what) };
    case 'sk-ssh-ed25519@openssh.com':
      return { type, pk: readEd25519(r, what), application: r.text('application') };
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521': {
      const curve = type.slice('ecdsa-sha2-'.length) as EcdsaCurve;
      return { type, curve, q: readEcPoint(r, curve, what) };
    }
    case 'sk-ecdsa-sha2-nistp256@openssh.com':
      return { type, curve: 'nistp256', q: readEcPoint(r, 'nistp256', what), application: r.text('application') };
    case 'ssh-rsa': {
      const e = r.mpint('rsa e');
      const n = r.mpint('rsa n');
      const problem = rsaKeyProblem(e, n);
      if (problem !== undefined) {
        throw new LeashError(problem.kind === 'size' ? 'CERT_RSA_KEY_SIZE' : 'CERT_MALFORMED', `${what}: ${problem.why}`);
      }
      return { type, e, n };
    }
  }
}

function readEd25519(r: SshReader, what: string): Buffer {
  const pk = r.string('ed25519 key');
  if (pk.length !== 32) throw new LeashError('CERT_MALFORMED', `${what}: ed25519 key is ${pk.length} bytes, not 32`);
  return pk;
}

/** Curve name must repeat the type's curve; the point must be uncompressed (0x04 || X || Y). */
function readEcPoint(r: SshReader, curve: EcdsaCurve, what: string): Buffer {
  const name = r.text('curve name');
  if (name !== curve) throw new LeashError('CERT_MALFORMED', `${what}: curve name does not match key type ${curve}`);
  const q = r.string('ecdsa point');
  if (q.length !== 1 + 2 * EC_COORD_BYTES[curve] || q[0] !== 0x04) {
    throw new LeashError('CERT_MALFORMED', `${what}: ecdsa point is not an uncompressed ${curve} point`);
  }
  return q;
}

/**
 * The one RSA public-key rule, for certificate keys and JWKs alike: modulus
 * of 2048..16384 bits, exponent odd, at least 3 (e = 1 would make every
 * "signature" trivial) and at most 64 bits. `e` and `n` are unsigned
 * big-endian without leading zero bytes. Returns why the key is refused, or
 * undefined.
 */
export function rsaKeyProblem(e: Buffer, n: Buffer): { kind: 'size' | 'exponent'; why: string } | undefined {
  const bits = n.length === 0 ? 0 : (n.length - 1) * 8 + (32 - Math.clz32(n[0]!));
  if (bits < MIN_RSA_BITS || bits > MAX_RSA_BITS) {
    return { kind: 'size', why: `RSA key of ${bits} bits is outside ${MIN_RSA_BITS}..${MAX_RSA_BITS}` };
  }
  if (e.length === 0 || e.length > 8 || (e[e.length - 1]! & 1) === 0 || (e.length === 1 && e[0]! < 3)) {
    return { kind: 'exponent', why: 'RSA exponent is not an odd number >= 3 of at most 64 bits' };
  }
  return undefined;
}

function readPrincipals(data: Buffer): string[] {
  const r = new SshReader(data, 'certificate principals');
  const out: string[] = [];
  while (r.remaining > 0) {
    if (out.length === MAX_PRINCIPALS) {
      throw new LeashError('CERT_MALFORMED', `certificate has more than ${MAX_PRINCIPALS} principals`);
    }
    out.push(r.text('principal'));
  }
  return out;
}

/**
 * Critical options / extensions: (string name, string data)*. PROTOCOL.certkeys
 * requires names in lexical order with each at most once; we enforce strictly
 * ascending byte order so no name can appear twice or shadow another.
 */
function readOptions(data: Buffer, what: string): ReadonlyMap<string, Buffer> {
  const r = new SshReader(data, `certificate ${what}s`);
  const out = new Map<string, Buffer>();
  let previous: Buffer | null = null;
  while (r.remaining > 0) {
    const nameStart = r.offset;
    const name = r.text(`${what} name`);
    const nameBytes = data.subarray(nameStart + 4, r.offset);
    if (previous !== null && Buffer.compare(previous, nameBytes) >= 0) {
      // The name is untrusted and may be long: show a bounded prefix only.
      throw new LeashError('CERT_OPTIONS_ORDER', `certificate ${what} ${JSON.stringify(name.slice(0, 64))} is duplicated or out of order`);
    }
    previous = nameBytes;
    out.set(name, r.string(`${what} data`));
  }
  return out;
}

/**
 * The value of a string-valued extension. Its data must be exactly one SSH
 * string (ssh-keygen's `-O extension:name=value` and Go x/crypto both wrap the
 * value this way, giving two length prefixes on the wire). Returns undefined
 * when absent. Codes: CERT_EXTENSION_MALFORMED.
 */
export function extensionStringValue(cert: SshCertificate, name: string): Buffer | undefined {
  const data = cert.extensions.get(name);
  if (data === undefined) return undefined;
  const r = new SshReader(data, `extension ${name}`);
  let value: Buffer;
  try {
    value = r.string('value');
    r.end();
  } catch {
    throw new LeashError('CERT_EXTENSION_MALFORMED', `extension ${name} is not a single length-prefixed string`);
  }
  return value;
}

/** Name of the extension that carries the compact PK Token. */
const OPENPUBKEY_PKT_EXTENSION = 'openpubkey-pkt';

/**
 * The compact PK Token from the `openpubkey-pkt` extension, as text. Only
 * visible ASCII is allowed (the compact form is base64url, ':' and '.').
 * Codes: CERT_EXTENSION_MISSING, CERT_EXTENSION_MALFORMED.
 */
export function openpubkeyPkt(cert: SshCertificate): string {
  const value = extensionStringValue(cert, OPENPUBKEY_PKT_EXTENSION);
  if (value === undefined) {
    throw new LeashError('CERT_EXTENSION_MISSING', `certificate has no ${OPENPUBKEY_PKT_EXTENSION} extension`);
  }
  if (value.length === 0 || value.some((b) => b < 0x21 || b > 0x7e)) {
    throw new LeashError('CERT_EXTENSION_MALFORMED', `extension ${OPENPUBKEY_PKT_EXTENSION} is empty or not printable ASCII`);
  }
  return value.toString('latin1');
}
