import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { PROFILE_NAME } from '../config/dir.js';
import { PRINCIPAL_NAME } from '../config/types.js';
import { strictBase64 } from '../encoding/base64.js';
import { LeashError } from '../errors.js';
import { IDENTITY_LABEL } from './grants/identity.js';
import { isSupportedKeyType } from './cert/ssh-cert.js';

/** The principal opkssh ≥ 0.14 puts in certs by default: "valid for any user the verifier allows". */
const WILDCARD_PRINCIPAL = 'opkssh-wildcard';

export const SESSION_ID = /^[0-9a-f]{32}$/;
/** Absolute paths from a shell-inert alphabet: nothing sshd's option parser or `$SHELL -c` would interpret. */
const SAFE_PATH = /^\/[A-Za-z0-9._+/-]{0,1023}$/;

/** sshd's expiry-time form in UTC: YYYYMMDDHHMMSSZ (sshd(8): "YYYYMMDDHHMM[SS][Z]", Z = UTC). */
export function formatExpiryTime(unix: number): string {
  if (!Number.isSafeInteger(unix) || unix <= 0 || unix >= 253402300800) {
    throw new LeashError('OUTPUT_UNSAFE', 'expiry must be a unix time between 1970 and 9999');
  }
  const d = new Date(unix * 1000);
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${String(d.getUTCFullYear()).padStart(4, '0')}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
}

/** 128 random bits as 32 lowercase hex digits; a new one per verification. */
export function newSessionId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The one principal to put in `principals="..."`.
 *
 * sshd, given `cert-authority,principals="X"`, accepts the certificate if ANY
 * of its principals is in X and does not compare them with the login name
 * itself. opkssh echoes the cert's own list there, which makes sshd's check
 * vacuous. The certificate is self-signed by the user, so its principals are
 * the holder's own restriction, not an authorisation: leash's grant decides
 * who may be `localUser`. leash honours that restriction and lets sshd
 * re-check it on the certificate it actually authenticates:
 *  - the cert names localUser          -> principals="<localUser>"
 *  - else it carries opkssh-wildcard   -> principals="opkssh-wildcard"
 *  - else (names only other users)     -> CERT_PRINCIPAL_MISMATCH: the holder
 *    limited it to other accounts (opkssh would let it in);
 *  - empty list (opkssh < 0.14 clients)-> CERT_NO_PRINCIPALS: sshd can only
 *    accept those through a bare cert-authority line without principals=,
 *    which OpenSSH ≥ 10.3 refuses anyway; users must upgrade their client.
 * Requiring principals="<localUser>" for every cert would break every default
 * (wildcard) cert, so it is used only when the cert itself names the user.
 */
export function linePrincipal(certPrincipals: readonly string[], localUser: string): string {
  if (!PRINCIPAL_NAME.test(localUser)) throw new LeashError('OUTPUT_UNSAFE', `local user ${JSON.stringify(localUser.slice(0, 64))} is not a safe user name`);
  if (certPrincipals.length === 0) throw new LeashError('CERT_NO_PRINCIPALS', 'certificate lists no principals (opkssh client older than 0.14?)');
  if (certPrincipals.includes(localUser)) return localUser;
  if (certPrincipals.includes(WILDCARD_PRINCIPAL)) return WILDCARD_PRINCIPAL;
  throw new LeashError('CERT_PRINCIPAL_MISMATCH', `certificate is not valid for ${localUser} (no such principal and no ${WILDCARD_PRINCIPAL})`);
}

export interface AuthorizedLineInput {
  /** The certificate's valid principals. */
  certPrincipals: readonly string[];
  /** %u, already authorised by authorize(). */
  localUser: string;
  /** Unix seconds from effectiveExpiry(). */
  expiresAt: number;
  /** Absolute path of the leash executable sshd runs as the forced command. */
  leashPath: string;
  profile: string;
  /** identityLabel() of the claims. */
  identity: string;
  sessionId: string;
  /** Only when not the default, so the shell reads the same configuration. */
  configDir?: string | undefined;
  /** The certificate's signature-key type, e.g. ecdsa-sha2-nistp256. */
  keyType: string;
  /** base64 of the certificate's signature-key blob (the user's ephemeral key). */
  keyBase64: string;
}

function unsafe(what: string, value: string): never {
  throw new LeashError('OUTPUT_UNSAFE', `${what} ${JSON.stringify(value.slice(0, 64))} is not safe to write into an authorized_keys line`);
}

export function safePath(what: string, p: string): string {
  // Normalised (no "//", ".", "..", trailing "/") so the path shown is the path run.
  if (!SAFE_PATH.test(p) || posix.normalize(p) !== p || (p.length > 1 && p.endsWith('/'))) unsafe(what, p);
  return p;
}

/**
 * The single line `leash verify` prints for sshd:
 *   cert-authority,principals="<p>",restrict,pty,expiry-time="<YYYYMMDDHHMMSSZ>",
 *   command="<leash> shell --profile <p> --identity <id> --session <sid> --expires <unix>[ --config-dir <dir>]" <type> <base64>
 * `restrict` turns off pty, forwarding, agent, X11 and user rc, and `pty`
 * then allows a pty again (agent harnesses pass `ssh -t`; leash shell relays
 * between the pty and the command's pipes, never giving the terminal to the
 * command); command= makes leash the only program the key can start. sshd
 * runs that command through the user's login shell (`$SHELL -c`), so every
 * interpolated value is checked against an alphabet with nothing to
 * interpret or quote, in both sshd's option syntax and sh; anything else
 * throws OUTPUT_UNSAFE. Nothing is escaped.
 */
export function buildAuthorizedLine(input: AuthorizedLineInput): string {
  const principal = linePrincipal(input.certPrincipals, input.localUser);
  const expiry = formatExpiryTime(input.expiresAt);
  const leash = safePath('leash path', input.leashPath);
  if (!PROFILE_NAME.test(input.profile)) unsafe('profile', input.profile);
  if (!IDENTITY_LABEL.test(input.identity)) unsafe('identity', input.identity);
  if (!SESSION_ID.test(input.sessionId)) unsafe('session id', input.sessionId);
  if (!isSupportedKeyType(input.keyType)) unsafe('key type', input.keyType);
  checkKeyBlob(input.keyType, input.keyBase64);

  let command = `${leash} shell --profile ${input.profile} --identity ${input.identity} --session ${input.sessionId} --expires ${input.expiresAt}`;
  if (input.configDir !== undefined) command += ` --config-dir ${safePath('config dir', input.configDir)}`;
  return `cert-authority,principals="${principal}",restrict,pty,expiry-time="${expiry}",command="${command}" ${input.keyType} ${input.keyBase64}`;
}

/** Canonical base64 of an SSH public-key blob whose leading type string is keyType. */
function checkKeyBlob(keyType: string, b64: string): void {
  const blob = b64.length <= 4096 ? strictBase64(b64) : null;
  if (blob === null || blob.length < 4) unsafe('key', b64);
  const n = blob.readUInt32BE(0);
  if (n !== keyType.length || blob.subarray(4, 4 + n).toString('latin1') !== keyType) {
    throw new LeashError('OUTPUT_UNSAFE', `signature key blob is not of type ${keyType}`);
  }
}
