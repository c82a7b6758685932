/**
 * The CA key of `leash grant`: Ed25519, kept in OpenSSH's own private-key
 * format ("openssh-key-v1", unencrypted), so that ssh-keygen reads the same
 * file (`ssh-keygen -s DIR/ca` signs with it). Layout of a CA directory:
 *   DIR/         root 0700
 *   DIR/ca       the private key, 0600 (never printed, never logged)
 *   DIR/ca.pub   the public key line, 0644: what hosts trust (TrustedUserCAKeys)
 *   DIR/ledger.jsonl  every grant (src/ca/ledger.ts)
 */
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LeashError } from '../errors.js';
import { SshReader, sshString } from '../verify/cert/ssh-wire.js';
import { fingerprint } from '../verify/verify-login.js';
import { uint32 } from './wire.js';

export const DEFAULT_CA_DIR = '/etc/leash/ca';
const MAGIC = Buffer.from('openssh-key-v1\0', 'latin1');
const BEGIN = '-----BEGIN OPENSSH PRIVATE KEY-----';
const END = '-----END OPENSSH PRIVATE KEY-----';

export interface CaKey {
  /** The public key blob (ssh-ed25519). */
  publicBlob: Buffer;
  /** "ssh-ed25519 AAAA… comment" */
  publicLine: string;
  fingerprint: string;
  /** Signs `data`; returns the SSH signature field (string alg || string sig). */
  sign(data: Buffer): Buffer;
}

export function caPaths(dir: string): { dir: string; key: string; pub: string; ledger: string } {
  return { dir, key: join(dir, 'ca'), pub: join(dir, 'ca.pub'), ledger: join(dir, 'ledger.jsonl') };
}


function ed25519Blob(pub: Buffer): Buffer {
  return Buffer.concat([sshString('ssh-ed25519'), sshString(pub)]);
}

function caKey(seed: Buffer, pub: Buffer, comment: string): CaKey {
  const key: KeyObject = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: seed.toString('base64url'), x: pub.toString('base64url') }, format: 'jwk' });
  const publicBlob = ed25519Blob(pub);
  return {
    publicBlob,
    publicLine: `ssh-ed25519 ${publicBlob.toString('base64')}${comment ? ` ${comment}` : ''}`,
    fingerprint: fingerprint(publicBlob),
    sign: (data) => Buffer.concat([sshString('ssh-ed25519'), sshString(sign(null, data, key))]),
  };
}

/** The openssh-key-v1 text of an Ed25519 key (what ssh-keygen -t ed25519 -N '' writes). */
export function encodeOpensshPrivateKey(seed: Buffer, pub: Buffer, comment: string): string {
  const check = randomBytes(4);
  let priv = Buffer.concat([check, check, sshString('ssh-ed25519'), sshString(pub), sshString(Buffer.concat([seed, pub])), sshString(comment)]);
  const pad: number[] = [];
  for (let i = 1; (priv.length + pad.length) % 8 !== 0; i++) pad.push(i);
  priv = Buffer.concat([priv, Buffer.from(pad)]);
  const body = Buffer.concat([MAGIC, sshString('none'), sshString('none'), sshString(''), uint32(1), sshString(ed25519Blob(pub)), sshString(priv)]);
  const b64 = body.toString('base64').match(/.{1,70}/g)!.join('\n');
  return `${BEGIN}\n${b64}\n${END}\n`;
}

/** Reads an unencrypted Ed25519 openssh-key-v1 private key; CA_KEY_INVALID for anything else. */
export function decodeOpensshPrivateKey(text: string): CaKey {
  const bad = (why: string): never => {
    throw new LeashError('CA_KEY_INVALID', `CA private key: ${why}`);
  };
  const t = text.trim();
  if (!t.startsWith(BEGIN) || !t.endsWith(END)) bad('not an OpenSSH private key (-----BEGIN OPENSSH PRIVATE KEY-----)');
  const body = Buffer.from(t.slice(BEGIN.length, t.length - END.length).replace(/\s+/g, ''), 'base64');
  if (!body.subarray(0, MAGIC.length).equals(MAGIC)) bad('bad magic');
  try {
    const r = new SshReader(body.subarray(MAGIC.length), 'CA private key');
    const cipher = r.text('cipher');
    const kdf = r.text('kdf');
    r.string('kdf options');
    if (cipher !== 'none' || kdf !== 'none') bad('it is encrypted; leash needs an unencrypted CA key (ssh-keygen -p -N "" -f FILE), kept in a root-only directory');
    if (r.uint32('key count') !== 1) bad('it holds more than one key');
    const pubBlob = r.string('public key');
    const p = new SshReader(r.string('private section'), 'CA private key');
    r.end();
    if (p.uint32('check') !== p.uint32('check')) bad('check bytes differ (corrupt, or wrong passphrase)');
    const type = p.text('key type');
    if (type !== 'ssh-ed25519') bad(`it is ${type}; leash signs with Ed25519 CA keys only`);
    const pub = p.string('public key');
    const secret = p.string('secret key');
    const comment = p.text('comment');
    if (pub.length !== 32 || secret.length !== 64 || !secret.subarray(32).equals(pub) || !ed25519Blob(pub).equals(pubBlob)) bad('inconsistent Ed25519 key');
    return caKey(Buffer.from(secret.subarray(0, 32)), Buffer.from(pub), comment);
  } catch (err) {
    if (err instanceof LeashError && err.code === 'CA_KEY_INVALID') throw err;
    return bad(err instanceof Error ? err.message : String(err));
  }
}

function createExclusive(path: string, data: string, mode: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

/** `leash ca init`: a new key in `dir` (created 0700 if missing). Refuses to overwrite anything. */
export function createCa(dir: string, comment: string): CaKey {
  const paths = caPaths(dir);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new LeashError('CA_KEY_INVALID', `cannot create ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = privateKey.export({ format: 'jwk' });
  const seed = Buffer.from(jwk.d!, 'base64url');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  const ca = caKey(seed, pub, comment);
  try {
    createExclusive(paths.key, encodeOpensshPrivateKey(seed, pub, comment), 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new LeashError('CA_KEY_EXISTS', `${paths.key} exists: leash never overwrites a CA key (move it away first)`);
    throw new LeashError('CA_KEY_INVALID', `cannot write ${paths.key}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  try {
    createExclusive(paths.pub, `${ca.publicLine}\n`, 0o644);
  } catch (err) {
    throw new LeashError(`${(err as NodeJS.ErrnoException).code}` === 'EEXIST' ? 'CA_KEY_EXISTS' : 'CA_KEY_INVALID', `cannot write ${paths.pub}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  return ca;
}

/** The CA key of `dir`; it must be a regular file only its owner can read. */
export function loadCa(dir: string, euid: number): CaKey {
  const { key } = caPaths(dir);
  let fd: number;
  try {
    fd = openSync(key, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new LeashError('CA_KEY_MISSING', `${key}: no CA key (leash ca init --ca-dir ${dir})`);
    throw new LeashError('CA_KEY_INVALID', `${key}: ${code ?? String(err)}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new LeashError('CA_KEY_INVALID', `${key} is not a regular file`);
    if ((st.mode & 0o077) !== 0 || st.uid !== euid) throw new LeashError('CA_KEY_INVALID', `${key} must be owned by you and readable by its owner only (chmod 0600; it is ${(st.mode & 0o777).toString(8)}, uid ${st.uid})`);
    return decodeOpensshPrivateKey(readFileSync(fd, 'utf8'));
  } finally {
    closeSync(fd);
  }
}
