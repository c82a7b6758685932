/**
 * leash's runtime state on this host: `runtime_dir` from leash.yaml, default
 * /run/leash (a tmpfs: it starts empty at every boot; `leash runtime init`
 * makes this tree, at boot and from the reaper). One definition of every
 * path below it. Nothing here is configuration: losing it loses no policy,
 * and every reader fails closed on anything it did not expect.
 *
 *   <runtime_dir>                  root:root 0755
 *   <runtime_dir>/verify           the verifier's own state (AuthorizedKeysCommandUser, 0700):
 *                                  the memo of sshd's first AuthorizedKeysCommand call and
 *                                  the provider-key fetch throttle
 *   <runtime_dir>/logins           AuthorizedKeysCommandUser 0700: one entry per accepted
 *                                  login, naming its sshd connection (src/session/registry.ts)
 *   <runtime_dir>/sessions         root:<audit group> 1730: each session user appends its
 *                                  session's journal (sticky: nobody removes another's file;
 *                                  no read bit: nobody lists the others)
 *   <runtime_dir>/sessions/running root:<audit group> 1770: one file per running command,
 *                                  named so that the per-identity limit can be counted
 */
import { join } from 'node:path';

export function verifyStateDir(runtimeDir: string): string {
  return join(runtimeDir, 'verify');
}

export function loginsDir(runtimeDir: string): string {
  return join(runtimeDir, 'logins');
}

export function sessionsDir(runtimeDir: string): string {
  return join(runtimeDir, 'sessions');
}

export function runningDir(runtimeDir: string): string {
  return join(runtimeDir, 'sessions', 'running');
}
