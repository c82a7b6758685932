/**
 * What a grant is: the pure decision behind `leash grant`, from the request
 * to every field of the certificate (or of the authorized_keys line). Any
 * refusal is a LeashError with a GRANT_* code; nothing here signs or writes.
 *
 *   session id  16 hex digits of the serial, then 16 random hex digits: the
 *               target can tell a grant's serial from its session id alone
 *               (leash revoke --session puts that serial in the KRL)
 *   key id      leash:<session>:<identity>
 *   principal   the local user only
 *   validity    from a minute before now (clock skew) to now + TTL
 *   critical    force-command "<leash> [--config-dir D] shell --profile P --session S
 *               --identity I --expires T"; source-address when given
 *   extensions  permit-pty only (the shell relays a pty, nothing gets a terminal);
 *               no forwarding, no agent, no X11, no user rc
 */
import { isIP } from 'node:net';
import { PROFILE_NAME } from '../config/dir.js';
import { PRINCIPAL_NAME } from '../config/types.js';
import { LeashError } from '../errors.js';
import { IDENTITY_LABEL } from '../verify/grants/identity.js';
import { formatExpiryTime, safePath } from '../verify/output-line.js';
import type { SshPublicKey } from '../verify/cert/ssh-cert.js';
import type { UserCertificateSpec } from './certificate.js';

export const DEFAULT_LEASH_PATH = '/usr/local/bin/leash';
/** Validity starts this long before now, for clocks a little behind. */
export const BACKDATE_SECONDS = 60;
export const GRANT_EXTENSIONS: readonly string[] = ['permit-pty'];

export interface GrantRequest {
  key: SshPublicKey;
  /** SHA256:… of the key (the default identity). */
  keyFingerprint: string;
  user: string;
  profile: string;
  ttlSeconds: number;
  maxTtlSeconds: number;
  identity: string | undefined;
  sourceAddress: string | undefined;
  leashPath: string | undefined;
  targetConfigDir: string | undefined;
  /** Unix seconds. */
  now: number;
  /** A random non-zero 64-bit serial and 64 random bits for the session id. */
  serial: bigint;
  sessionTail: string;
}

export interface GrantPlan {
  session: string;
  serial: bigint;
  keyId: string;
  identity: string;
  forceCommand: string;
  certificate: UserCertificateSpec;
}

const bad = (code: 'GRANT_INVALID' | 'GRANT_TTL_INVALID', why: string): never => {
  throw new LeashError(code, why);
};

/** "a.b.c.d[/n]" or an IPv6 address with an optional prefix, comma-separated, as sshd's source-address takes them. */
export function checkSourceAddress(list: string): string {
  const parts = list.split(',');
  for (const p of parts) {
    const [addr = '', bits, extra] = p.split('/');
    const v = isIP(addr);
    const max = v === 4 ? 32 : 128;
    if (v === 0 || extra !== undefined || (bits !== undefined && (!/^[0-9]{1,3}$/.test(bits) || Number(bits) > max))) bad('GRANT_INVALID', `--source-address: ${JSON.stringify(p.slice(0, 60))} is not an address or CIDR`);
  }
  return parts.join(',');
}

export function planGrant(r: GrantRequest): GrantPlan {
  if (!PRINCIPAL_NAME.test(r.user)) bad('GRANT_INVALID', `--user ${JSON.stringify(r.user.slice(0, 40))} is not a valid local user name`);
  if (!PROFILE_NAME.test(r.profile)) bad('GRANT_INVALID', `--profile must match ${PROFILE_NAME.source}`);
  if (!Number.isSafeInteger(r.ttlSeconds) || r.ttlSeconds < 1) bad('GRANT_TTL_INVALID', '--ttl must be a duration like 30m, 2h, 1d');
  if (r.ttlSeconds > r.maxTtlSeconds) bad('GRANT_TTL_INVALID', `--ttl ${r.ttlSeconds}s is longer than max_grant_ttl (${r.maxTtlSeconds}s)`);
  const identity = r.identity ?? r.keyFingerprint;
  if (!IDENTITY_LABEL.test(identity)) bad('GRANT_INVALID', `--identity must match ${IDENTITY_LABEL.source}`);
  if (r.serial < 1n || r.serial >= 2n ** 64n || !/^[0-9a-f]{16}$/.test(r.sessionTail)) bad('GRANT_INVALID', 'bad serial or session randomness');
  const session = `${r.serial.toString(16).padStart(16, '0')}${r.sessionTail}`;
  const validBefore = r.now + r.ttlSeconds;
  formatExpiryTime(validBefore); // in range for an expiry-time too
  let leash: string;
  let configDir: string | undefined;
  try {
    leash = safePath('--leash-path', r.leashPath ?? DEFAULT_LEASH_PATH);
    configDir = r.targetConfigDir === undefined ? undefined : safePath('--target-config-dir', r.targetConfigDir);
  } catch (err) {
    return bad('GRANT_INVALID', err instanceof Error ? err.message : String(err));
  }
  const forceCommand = `${leash}${configDir === undefined ? '' : ` --config-dir ${configDir}`} shell --profile ${r.profile} --session ${session} --identity ${identity} --expires ${validBefore}`;
  const critical: Record<string, string> = { 'force-command': forceCommand };
  if (r.sourceAddress !== undefined) critical['source-address'] = checkSourceAddress(r.sourceAddress);
  return {
    session,
    serial: r.serial,
    keyId: `leash:${session}:${identity}`,
    identity,
    forceCommand,
    certificate: {
      key: r.key,
      serial: r.serial,
      keyId: `leash:${session}:${identity}`,
      principals: [r.user],
      validAfter: r.now - BACKDATE_SECONDS,
      validBefore,
      criticalOptions: critical,
      extensions: GRANT_EXTENSIONS,
    },
  };
}

/**
 * The `--authorized-keys` form (no CA): the same pinning as a line for
 * ~USER/.ssh/authorized_keys — sshd's expiry-time refuses it after the TTL,
 * restrict turns off forwarding, agent, X11 and user rc, pty allows `ssh -t`.
 */
export function authorizedKeysLine(plan: GrantPlan): string {
  const c = plan.certificate;
  const from = c.criticalOptions['source-address'];
  return `expiry-time="${formatExpiryTime(c.validBefore)}",restrict,pty,${from === undefined ? '' : `from="${from}",`}command="${plan.forceCommand}" ${c.key.type} ${c.key.blob.toString('base64')}`;
}
