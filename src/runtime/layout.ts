/**
 * leash's runtime state on this host: `runtime_dir` from leash.yaml, default
 * /run/leash (a tmpfs: it starts empty at every boot). One definition of
 * every path below it. Nothing here is configuration: losing it loses no
 * policy, and every reader fails closed on anything it did not expect.
 *
 *   <runtime_dir>            root:root 0755
 *   <runtime_dir>/verify     the verifier's own state (AuthorizedKeysCommandUser, 0700):
 *                            the memo of sshd's first AuthorizedKeysCommand call and
 *                            the provider-key fetch throttle
 *   <runtime_dir>/sessions   the live-session registry (src/session/)
 */
import { join } from 'node:path';

export function verifyStateDir(runtimeDir: string): string {
  return join(runtimeDir, 'verify');
}

export function sessionsDir(runtimeDir: string): string {
  return join(runtimeDir, 'sessions');
}
