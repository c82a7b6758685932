/**
 * OpenSSH user certificates (PROTOCOL.certkeys), built and signed by leash:
 *
 *   string  cert type (e.g. ssh-ed25519-cert-v01@openssh.com)
 *   string  nonce (32 random bytes)
 *   ...     the certified key's fields, exactly as in its plain blob after the type
 *   uint64  serial
 *   uint32  type (1 = user)
 *   string  key id
 *   string  valid principals (a list of strings)
 *   uint64  valid after, uint64 valid before
 *   string  critical options, string extensions (name/data pairs in lexical order;
 *           an option's data is a string holding its value, a flag's data is empty)
 *   string  reserved (empty)
 *   string  signature key (the CA's public key blob)
 *   string  signature over everything before it
 */
import { randomBytes } from 'node:crypto';
import { LeashError } from '../errors.js';
import { sshString } from '../verify/cert/ssh-wire.js';
import type { SshPublicKey } from '../verify/cert/ssh-cert.js';
import type { CaKey } from './ca-key.js';
import { uint32, uint64 } from './wire.js';

const CERT_TYPES: Record<SshPublicKey['type'], string> = {
  'ssh-ed25519': 'ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256': 'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384': 'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521': 'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'ssh-rsa': 'ssh-rsa-cert-v01@openssh.com',
  'sk-ssh-ed25519@openssh.com': 'sk-ssh-ed25519-cert-v01@openssh.com',
  'sk-ecdsa-sha2-nistp256@openssh.com': 'sk-ecdsa-sha2-nistp256-cert-v01@openssh.com',
};
const USER_CERT = 1;

export interface UserCertificateSpec {
  key: SshPublicKey;
  serial: bigint;
  keyId: string;
  principals: readonly string[];
  /** Unix seconds. */
  validAfter: number;
  validBefore: number;
  /** Critical options with their values (force-command, source-address). */
  criticalOptions: Readonly<Record<string, string>>;
  /** Extensions without data (permit-pty, …). */
  extensions: readonly string[];
}



const lexical = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The certificate blob; its `-cert.pub` line is `<cert type> <base64(blob)>`. */
export function signUserCertificate(spec: UserCertificateSpec, ca: CaKey, nonce: Buffer = randomBytes(32)): { type: string; blob: Buffer } {
  const type = CERT_TYPES[spec.key.type];
  if (spec.serial < 0n || spec.serial >= 2n ** 64n) throw new LeashError('GRANT_INVALID', 'serial out of range');
  if (!(spec.validAfter < spec.validBefore)) throw new LeashError('GRANT_INVALID', 'validity interval is empty');
  // The key's own fields: its plain blob without the leading type string.
  const typeLen = spec.key.blob.readUInt32BE(0);
  const keyFields = spec.key.blob.subarray(4 + typeLen);
  const critical = Object.keys(spec.criticalOptions).sort(lexical).map((name) => Buffer.concat([sshString(name), sshString(sshString(spec.criticalOptions[name]!))]));
  const extensions = [...spec.extensions].sort(lexical).map((name) => Buffer.concat([sshString(name), sshString('')]));
  const body = Buffer.concat([
    sshString(type),
    sshString(nonce),
    keyFields,
    uint64(spec.serial),
    uint32(USER_CERT),
    sshString(spec.keyId),
    sshString(Buffer.concat(spec.principals.map((p) => sshString(p)))),
    uint64(BigInt(spec.validAfter)),
    uint64(BigInt(spec.validBefore)),
    sshString(Buffer.concat(critical)),
    sshString(Buffer.concat(extensions)),
    sshString(''),
    sshString(ca.publicBlob),
  ]);
  return { type, blob: Buffer.concat([body, sshString(ca.sign(body))]) };
}
