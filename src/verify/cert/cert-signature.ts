import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { LeashError } from '../../errors.js';
import type { EcdsaCurve, SshCertificate, SshPublicKey } from './ssh-cert.js';
import { SshReader } from './ssh-wire.js';

/**
 * Cryptographic check of an OpenSSH certificate's own signature with
 * node:crypto. sshd already does this before running the AuthorizedKeysCommand,
 * but leash checks again so that nothing it prints or logs rests on an
 * unverified blob (and so the library is safe outside sshd).
 *
 * Accepted: ssh-ed25519; ecdsa-sha2-nistp256/384/521 (SHA-256/384/512);
 * rsa-sha2-256 / rsa-sha2-512. Refused: ssh-rsa (SHA-1) and sk-* signatures.
 */

const EC: Record<EcdsaCurve, { crv: string; hash: string; coord: number }> = {
  nistp256: { crv: 'P-256', hash: 'sha256', coord: 32 },
  nistp384: { crv: 'P-384', hash: 'sha384', coord: 48 },
  nistp521: { crv: 'P-521', hash: 'sha512', coord: 66 },
};

/**
 * Throws unless `cert.signature` is a valid signature by `cert.signatureKey`
 * over `cert.signedData`. Codes: CERT_SIGNATURE_MALFORMED,
 * CERT_SIGNATURE_ALG_UNSUPPORTED, CERT_SIGNATURE_KEY_INVALID,
 * CERT_SIGNATURE_INVALID.
 */
export function verifyCertificateSignature(cert: SshCertificate): void {
  const key = cert.signatureKey;
  if (key.type === 'sk-ssh-ed25519@openssh.com' || key.type === 'sk-ecdsa-sha2-nistp256@openssh.com') {
    // Security-key signatures carry flags and a counter and need their own rules; leash has no use for them.
    throw new LeashError('CERT_SIGNATURE_ALG_UNSUPPORTED', `certificates signed by ${key.type} keys are not supported`);
  }
  let alg: string;
  let sig: Buffer;
  try {
    const r = new SshReader(cert.signature, 'certificate signature');
    alg = r.text('algorithm');
    sig = r.string('signature');
    r.end();
  } catch {
    throw new LeashError('CERT_SIGNATURE_MALFORMED', 'certificate signature field is malformed');
  }

  let ok: boolean;
  switch (key.type) {
    case 'ssh-ed25519':
      expectAlg(alg, ['ssh-ed25519'], key.type);
      // Node would also refuse a wrong length; checking here keeps the reason exact.
      if (sig.length !== 64) throw new LeashError('CERT_SIGNATURE_MALFORMED', 'ed25519 signature is not 64 bytes');
      ok = checkSignature(null, cert.signedData, toKeyObject(key), sig);
      break;
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521': {
      expectAlg(alg, [key.type], key.type);
      const ec = EC[key.curve];
      ok = checkSignature(ec.hash, cert.signedData, { key: toKeyObject(key), dsaEncoding: 'ieee-p1363' }, ecdsaToP1363(sig, ec.coord));
      break;
    }
    case 'ssh-rsa': {
      expectAlg(alg, ['rsa-sha2-256', 'rsa-sha2-512'], key.type);
      // OpenSSL requires the signature to be exactly the modulus length; say so precisely.
      if (sig.length !== key.n.length) throw new LeashError('CERT_SIGNATURE_MALFORMED', 'RSA signature length differs from the modulus length');
      ok = checkSignature(alg === 'rsa-sha2-256' ? 'sha256' : 'sha512', cert.signedData, toKeyObject(key), sig);
      break;
    }
  }
  if (!ok) throw new LeashError('CERT_SIGNATURE_INVALID', 'certificate signature does not verify');
}

/** True when the CA key is the certified key itself (every genuine opkssh certificate). */
export function isSelfSigned(cert: SshCertificate): boolean {
  return cert.signatureKey.blob.equals(cert.publicKey.blob);
}

/** node:crypto verify, where an OpenSSL refusal to even try (it throws on some malformed input) counts as "does not verify". */
function checkSignature(hash: string | null, data: Buffer, key: Parameters<typeof verify>[2], sig: Buffer): boolean {
  try {
    return verify(hash, data, key, sig);
  } catch {
    return false;
  }
}

function expectAlg(alg: string, allowed: readonly string[], keyType: string): void {
  if (alg === 'ssh-rsa') {
    throw new LeashError('CERT_SIGNATURE_ALG_UNSUPPORTED', 'ssh-rsa (SHA-1) certificate signatures are refused');
  }
  if (!allowed.includes(alg)) {
    throw new LeashError('CERT_SIGNATURE_ALG_UNSUPPORTED', `signature algorithm ${JSON.stringify(alg.slice(0, 64))} does not fit a ${keyType} key`);
  }
}

/** SSH ECDSA signature body = mpint r || mpint s; JOSE/P1363 = r || s, each left-padded to the coordinate size. */
function ecdsaToP1363(sig: Buffer, coord: number): Buffer {
  const r = new SshReader(sig, 'ecdsa signature');
  let rr: Buffer;
  let ss: Buffer;
  try {
    rr = r.mpint('r');
    ss = r.mpint('s');
    r.end();
  } catch {
    throw new LeashError('CERT_SIGNATURE_MALFORMED', 'ecdsa signature is malformed');
  }
  if (rr.length === 0 || ss.length === 0 || rr.length > coord || ss.length > coord) {
    throw new LeashError('CERT_SIGNATURE_MALFORMED', 'ecdsa signature values are out of range');
  }
  const out = Buffer.alloc(2 * coord);
  rr.copy(out, coord - rr.length);
  ss.copy(out, 2 * coord - ss.length);
  return out;
}

/**
 * node:crypto key for an SSH public key, imported as a JWK so node/OpenSSL
 * validates it (e.g. an EC point must lie on its curve).
 */
function toKeyObject(key: SshPublicKey): KeyObject {
  let jwk: Record<string, string>;
  switch (key.type) {
    case 'ssh-ed25519':
      jwk = { kty: 'OKP', crv: 'Ed25519', x: key.pk.toString('base64url') };
      break;
    case 'ecdsa-sha2-nistp256':
    case 'ecdsa-sha2-nistp384':
    case 'ecdsa-sha2-nistp521': {
      const c = EC[key.curve].coord;
      jwk = { kty: 'EC', crv: EC[key.curve].crv, x: key.q.subarray(1, 1 + c).toString('base64url'), y: key.q.subarray(1 + c).toString('base64url') };
      break;
    }
    case 'ssh-rsa':
      jwk = { kty: 'RSA', n: key.n.toString('base64url'), e: key.e.toString('base64url') };
      break;
    default:
      throw new LeashError('CERT_SIGNATURE_ALG_UNSUPPORTED', `${key.type} keys are not supported`);
  }
  try {
    return createPublicKey({ key: jwk, format: 'jwk' });
  } catch {
    throw new LeashError('CERT_SIGNATURE_KEY_INVALID', `certificate signature key (${key.type}) is not a valid public key`);
  }
}
