/**
 * The tests' OPKSSH login minter: src/demo/opkssh-login.ts (shared with
 * `leash demo`; written from the format notes only, with no code of leash's
 * verifier, so that a test never checks leash against its own encoder),
 * re-exported unchanged, plus two helpers only the tests need.
 *
 *   const op = await startProvider();
 *   const m = await mintLogin(op, 'alice', { dir });
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

export { canonicalJson, mintLogin, type ClientKeyType, type LoginProvider, type MintedLogin, type MintOptions } from '../../src/demo/opkssh-login.js';

const SSH_KEYGEN = '/usr/bin/ssh-keygen';
const run = promisify(execFile);

function sshString(b: Buffer | string): Buffer {
  const body = Buffer.from(b);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length);
  return Buffer.concat([len, body]);
}

/** The SHA256 fingerprint ssh-keygen prints for a public key file (`SHA256:…`). */
export async function sshFingerprint(pubPath: string): Promise<string> {
  const { stdout } = await run(SSH_KEYGEN, ['-l', '-E', 'sha256', '-f', pubPath]);
  const m = /\bSHA256:[A-Za-z0-9+/]+/.exec(stdout);
  if (!m) throw new Error(`ssh-keygen -l gave no fingerprint: ${stdout}`);
  return m[0];
}

/**
 * A copy of the certificate blob with one byte of its key id changed (the
 * first byte of the email's local part), which leaves it parseable but
 * breaks the signature. Base64 in, base64 out.
 */
export function tamperKeyId(keyBase64: string, email: string): string {
  const blob = Buffer.from(keyBase64, 'base64');
  const at = blob.indexOf(sshString(email));
  if (at < 0 || email === '') throw new Error('tamperKeyId: key id not found in the certificate');
  const copy = Buffer.from(blob);
  copy[at + 4] = (copy[at + 4]! ^ 0x01) & 0xff;
  return copy.toString('base64');
}
