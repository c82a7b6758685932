/**
 * What `leash verify` does for sessions once a certificate has passed every
 * check: refuse a revoked identity or local user (the revocation list is read
 * at every login; an unreadable or malformed list refuses everyone), then
 * record the login with its sshd connection, so that `leash sessions` lists
 * it and `leash revoke` can close it even before it runs a command.
 */
import { monitorOfParent } from './connection.js';
import { registerLogin } from './registry.js';
import { assertNotRevoked, readRevocations } from './revocations.js';

export interface AdmittedLogin {
  configDir: string;
  runtimeDir: string;
  session: string;
  identity: string;
  user: string;
  profile: string;
  expires: number;
  /** process.ppid: sshd runs the AuthorizedKeysCommand as a child of the connection's monitor. */
  ppid: number;
  /** Unix seconds. */
  now: number;
}

/** Throws SESSION_REVOKED, REVOCATIONS_INVALID or SESSION_REGISTRY_UNAVAILABLE (also for a parent sshd that is not the connection's monitor). */
export function admitLogin(l: AdmittedLogin): void {
  assertNotRevoked(readRevocations(l.configDir), { identity: l.identity, user: l.user }, l.now);
  // Not run by sshd (an operator trying a certificate by hand): there is no connection to record.
  const monitor = monitorOfParent(l.ppid, l.user);
  if (monitor === null) return;
  registerLogin(l.runtimeDir, { session: l.session, identity: l.identity, user: l.user, profile: l.profile, expires: l.expires, monitor, at: l.now * 1000 });
}
