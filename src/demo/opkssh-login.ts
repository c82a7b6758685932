/**
 * Mints OPKSSH login material the way `opkssh login` does: a fresh client
 * key, a real login at an OpenID provider with the key's CIC commitment as
 * the nonce, the PK Token, and a certificate made by the real ssh-keygen.
 * `leash demo` logs its users in with it, and the tests make their
 * certificates with it (test/helpers/pktoken.ts re-exports it).
 *
 * Independent of leash's verifier, on purpose: it is written from the format
 * notes only (opkssh-format.md §1, §2 in the design notes), it uses only
 * node:crypto and /usr/bin/ssh-keygen, and it imports nothing of src/verify
 * or of any other part of leash but the error registry
 * (test/demo/opkssh-login.test.ts checks its imports). A test that made its
 * input with leash's own encoder would only show that leash agrees with
 * itself.
 *
 *   const m = await mintLogin(provider, 'alice', { dir });
 *   // m.keyType / m.keyBase64 are what sshd passes as %t / %k
 *   // m.keyPath + m.certPath log in with `ssh -i key -o CertificateFile=cert`
 *
 * Steps (§2.4–2.6, §1.2): a fresh client key (upk) → CIC protected header
 * {alg, typ:"CIC", rz, upk} → commitment = b64u(SHA3-256(canonical JSON of
 * that header)) → a REAL authorization-code login at the provider with
 * nonce = commitment → CIC signature over `cicHdr.payload` with the client
 * key → compact `payload:opHdr:opSig:cicHdr:cicSig` → a self-signed
 * certificate made by the REAL ssh-keygen: key id = email, principals
 * opkssh-wildcard, serial 0, valid forever, extension openpubkey-pkt.
 *
 * The two "bad variant" options exist for the tests' refusal cases (a PK
 * Token in another key's certificate, a nonce for another key); the demo
 * never sets them.
 */
import { execFile } from 'node:child_process';
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LeashError } from '../errors.js';

const SSH_KEYGEN = '/usr/bin/ssh-keygen';
const run = promisify(execFile);

/** The provider's half of a login: an ID token for `user` carrying `nonce` (the tests' provider, or the demo's through providerLogin). */
export interface LoginProvider {
  login: (user: string, nonce: string) => Promise<{ idToken: string }>;
}

export type ClientKeyType = 'ecdsa' | 'ed25519';

export interface MintOptions {
  /** Where the key, .pub and -cert.pub files are written (any directory private to the test). */
  dir: string;
  /** File stem inside dir; default `id_<user>_<random>`. */
  name?: string;
  /** ecdsa (P-256, ES256; opkssh's default) or ed25519 (EdDSA). */
  keyType?: ClientKeyType;
  /** Certificate principals; default ['opkssh-wildcard'] as opkssh ≥ 0.14 writes. */
  principals?: string[];
  /**
   * Bad variant: the same (valid) PK Token in a certificate for ANOTHER key
   * (self-signed by that key). keyPath/certPath are then the other key's,
   * so the holder can really present it over ssh.
   */
  certKeyDiffers?: boolean;
  /**
   * Bad variant: the provider login uses the commitment of another client
   * key's CIC header, so the ID token's nonce does not commit to this upk.
   */
  nonceForOtherKey?: boolean;
}

export interface MintedLogin {
  /** Private key of the certified key (PEM sec1 for ECDSA, OpenSSH format for Ed25519), mode 0600. */
  keyPath: string;
  /** `<keyPath>.pub`: the plain OpenSSH public key line (from `ssh-keygen -y`). */
  pubPath: string;
  /** `<keyPath>-cert.pub`, made by ssh-keygen. */
  certPath: string;
  /** `<cert type> <base64 blob>` (the cert file without its comment). */
  certLine: string;
  /** %t, e.g. ecdsa-sha2-nistp256-cert-v01@openssh.com */
  keyType: string;
  /** %k: base64 of the certificate blob. */
  keyBase64: string;
  /** `<type> <base64>` of the certified key (what must end the authorized_keys line). */
  publicKey: string;
  /** The compact PK Token in the openpubkey-pkt extension. */
  compact: string;
  /** The ID token as the provider returned it. */
  idToken: string;
  /** The ID token's email claim (also the certificate key id). */
  email: string;
  /** The commitment sent as nonce (the CIC header's, unless nonceForOtherKey). */
  nonce: string;
}

/**
 * Canonical JSON as Go's encoding/json writes a map[string]any (notes §2.5):
 * object keys sorted by byte order at every level, no whitespace. For the
 * plain ASCII strings used here (alg names, hex, base64url) JSON.stringify's
 * escaping is identical to Go's; Go would additionally escape < > & and
 * U+2028/U+2029, none of which can occur in these values.
 */
export function canonicalJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      // Byte order; the keys are ASCII, where UTF-16 code-unit order is the same.
      for (const k of Object.keys(v).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) out[k] = sort((v as Record<string, unknown>)[k]);
      return out;
    }
    return v;
  };
  return JSON.stringify(sort(value));
}

/** The CIC commitment of notes §2.5: base64url-nopad(SHA3-256(canonical JSON)). */
function cicCommitmentOf(header: Record<string, unknown>): string {
  return createHash('sha3-256').update(canonicalJson(header), 'utf8').digest('base64url');
}

const b64u = (x: string | Buffer): string => Buffer.from(x).toString('base64url');

interface ClientKey {
  type: ClientKeyType;
  alg: 'ES256' | 'EdDSA';
  privateKey: KeyObject;
  /** Public JWK with alg, as the CIC `upk`. */
  upk: Record<string, string>;
}

function clientKey(type: ClientKeyType): ClientKey {
  if (type === 'ecdsa') {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const j = publicKey.export({ format: 'jwk' });
    return { type, alg: 'ES256', privateKey, upk: { alg: 'ES256', crv: 'P-256', kty: 'EC', x: j.x!, y: j.y! } };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const j = publicKey.export({ format: 'jwk' });
  return { type, alg: 'EdDSA', privateKey, upk: { alg: 'EdDSA', crv: 'Ed25519', kty: 'OKP', x: j.x! } };
}

/**
 * The CIC protected header. Its members are deliberately NOT in sorted order
 * (alg, typ, rz, upk; upk's own members kty-first): the commitment is over
 * the canonical form, and a verifier must canonicalise the parsed header
 * rather than hash the received bytes (notes §2.5, jwx reorders too).
 */
function cicHeader(key: ClientKey): Record<string, unknown> {
  const { kty, crv, x, y, alg } = key.upk;
  const upk = y === undefined ? { kty, crv, x, alg } : { kty, crv, x, y, alg };
  return { alg: key.alg, typ: 'CIC', rz: randomBytes(32).toString('hex'), upk };
}

/** JWS signature (JOSE form: raw r‖s for ES256, notes §2.4) over `signingInput`. */
function jwsSign(key: ClientKey, signingInput: string): string {
  const data = Buffer.from(signingInput, 'ascii');
  const sig = key.alg === 'ES256' ? sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' }) : sign(null, data, key.privateKey);
  return b64u(sig);
}

function sshString(b: Buffer | string): Buffer {
  const body = Buffer.from(b);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/**
 * OpenSSH's own private key format ("openssh-key-v1", unencrypted), for
 * Ed25519: OpenSSH 9.2 (Debian 12) cannot read a PKCS#8 Ed25519 PEM
 * ("invalid format"), so the file opkssh itself would write is produced here.
 */
function opensshEd25519PrivateKey(key: KeyObject, comment: string): string {
  const j = key.export({ format: 'jwk' });
  const seed = Buffer.from(j.d!, 'base64url');
  const pk = Buffer.from(j.x!, 'base64url');
  const pubBlob = Buffer.concat([sshString('ssh-ed25519'), sshString(pk)]);
  const check = randomBytes(4);
  let priv = Buffer.concat([check, check, sshString('ssh-ed25519'), sshString(pk), sshString(Buffer.concat([seed, pk])), sshString(comment)]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const u32 = Buffer.alloc(4);
  u32.writeUInt32BE(1);
  const body = Buffer.concat([Buffer.from('openssh-key-v1\0', 'latin1'), sshString('none'), sshString('none'), sshString(''), u32, sshString(pubBlob), sshString(priv)]);
  const lines = body.toString('base64').match(/.{1,70}/g) ?? [];
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${lines.join('\n')}\n-----END OPENSSH PRIVATE KEY-----\n`;
}

/** Writes the private key (0600) and `<path>.pub` as `ssh-keygen -y` derives it. Returns the public key line. */
async function writeKeyFiles(key: ClientKey, path: string): Promise<string> {
  const pem = key.type === 'ecdsa' ? (key.privateKey.export({ type: 'sec1', format: 'pem' }) as string) : opensshEd25519PrivateKey(key.privateKey, 'openpubkey cert');
  await writeFile(path, pem, { mode: 0o600 });
  await chmod(path, 0o600);
  const { stdout } = await run(SSH_KEYGEN, ['-y', '-f', path]);
  const line = stdout.trim().split(/\s+/).slice(0, 2).join(' ');
  await writeFile(`${path}.pub`, `${line} openpubkey\n`, { mode: 0o644 });
  return line;
}

/** A real login at `provider` as `user`, packaged as an opkssh certificate. */
export async function mintLogin(provider: LoginProvider, user: string, opts: MintOptions): Promise<MintedLogin> {
  const key = clientKey(opts.keyType ?? 'ecdsa');
  const header = cicHeader(key);
  const nonce = cicCommitmentOf(opts.nonceForOtherKey ? cicHeader(clientKey(key.type)) : header);
  const { idToken } = await provider.login(user, nonce);

  const [opHdr, payload, opSig, extra] = idToken.split('.');
  if (opHdr === undefined || payload === undefined || opSig === undefined || extra !== undefined) throw new LeashError('DEMO_FAILED', 'mintLogin: the ID token is not a compact JWS');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  const email = typeof claims['email'] === 'string' ? claims['email'] : '';

  const cicHdr = b64u(JSON.stringify(header));
  const cicSig = jwsSign(key, `${cicHdr}.${payload}`);
  // OP first, then CIC, as opkssh writes them (notes §2.2).
  const compact = [payload, opHdr, opSig, cicHdr, cicSig].join(':');

  const stem = join(opts.dir, opts.name ?? `id_${user}_${randomBytes(4).toString('hex')}`);
  const upkPublic = await writeKeyFiles(key, stem);
  let keyPath = stem;
  let publicKey = upkPublic;
  if (opts.certKeyDiffers) {
    keyPath = `${stem}-other`;
    publicKey = await writeKeyFiles(clientKey(key.type), keyPath);
  }
  // Self-signed by the certified key; ssh-keygen's defaults are serial 0 and
  // "forever" validity, and it adds the five permit-* extensions opkssh sets.
  await run(SSH_KEYGEN, ['-q', '-s', keyPath, '-I', email, '-n', (opts.principals ?? ['opkssh-wildcard']).join(','), '-O', `extension:openpubkey-pkt=${compact}`, `${keyPath}.pub`]);
  const certPath = `${keyPath}-cert.pub`;
  const [keyType, keyBase64] = (await readFile(certPath, 'utf8')).trim().split(/\s+/);
  if (keyType === undefined || keyBase64 === undefined) throw new LeashError('DEMO_FAILED', `mintLogin: ${certPath} is not a certificate line`);
  return { keyPath, pubPath: `${keyPath}.pub`, certPath, certLine: `${keyType} ${keyBase64}`, keyType, keyBase64, publicKey, compact, idToken, email, nonce };
}
