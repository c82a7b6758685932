/**
 * OpenSSH public-key and certificate lines ("<type> <base64> [comment]", as
 * in id_ed25519.pub and id_ed25519-cert.pub), and the rule for which keys
 * leash will certify.
 */
import { strictBase64 } from '../encoding/base64.js';
import { LeashError } from '../errors.js';
import { parseCertificate, parsePublicKeyBlob, type SshPublicKey } from '../verify/cert/ssh-cert.js';
import { fingerprint } from '../verify/verify-login.js';

/** RSA keys below this are refused for grants (NIST SP 800-57: 3072 bits for use past 2030). */
export const MIN_GRANT_RSA_BITS = 3072;

export interface KeyLine {
  type: string;
  blob: Buffer;
}

/** The first non-empty, non-comment line of `text`, split into type and decoded blob. */
export function readKeyLine(text: string): KeyLine {
  const line = text.split('\n').map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
  if (line === undefined) throw new LeashError('GRANT_KEY_INVALID', 'no public key in the input');
  const [type = '', b64 = ''] = line.split(/\s+/);
  const blob = b64.length <= 65536 ? strictBase64(b64) : null;
  if (!/^[a-z0-9@.-]{1,64}$/.test(type) || blob === null) throw new LeashError('GRANT_KEY_INVALID', 'not an OpenSSH public key line ("<type> <base64> [comment]")');
  return { type, blob };
}

/**
 * A key leash will sign a certificate for: Ed25519, ECDSA P-256/384/521,
 * RSA of at least 3072 bits, and their security-key (sk-) forms. DSA and
 * shorter RSA keys are refused (GRANT_KEY_WEAK), anything malformed
 * (GRANT_KEY_INVALID), a certificate too (certify the key itself).
 */
export function grantableKey(line: KeyLine): SshPublicKey {
  if (line.type === 'ssh-dss') throw new LeashError('GRANT_KEY_WEAK', 'DSA keys are refused (OpenSSH disabled them in 7.0): use ssh-keygen -t ed25519');
  if (line.type.includes('-cert-')) throw new LeashError('GRANT_KEY_INVALID', 'this is a certificate: pass the public key (KEY.pub), not KEY-cert.pub');
  let key: SshPublicKey;
  try {
    key = parsePublicKeyBlob(line.blob);
  } catch (err) {
    const code = err instanceof LeashError && err.code === 'CERT_RSA_KEY_SIZE' ? 'GRANT_KEY_WEAK' : 'GRANT_KEY_INVALID';
    throw new LeashError(code, `public key refused: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (key.type !== line.type) throw new LeashError('GRANT_KEY_INVALID', `the line says ${line.type} but the key is ${key.type}`);
  if (key.type === 'ssh-rsa' && key.n.length * 8 - Math.clz32(key.n[0]!) + 24 < MIN_GRANT_RSA_BITS) {
    throw new LeashError('GRANT_KEY_WEAK', `RSA keys of fewer than ${MIN_GRANT_RSA_BITS} bits are refused: use ssh-keygen -t ed25519 (or -t rsa -b 4096)`);
  }
  return key;
}

/** SHA256:… of a key line's key; for a certificate line, of the key it certifies. */
export function publicKeyFingerprint(text: string): string {
  const line = readKeyLine(text);
  if (line.type.includes('-cert-')) return fingerprint(parseCertificate(line.blob).publicKey.blob);
  return fingerprint(parsePublicKeyBlob(line.blob).blob);
}
