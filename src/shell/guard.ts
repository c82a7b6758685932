import { binaryStatus } from '../policy/binary.js';
import type { FsView } from '../policy/fs-view.js';
import type { Stage } from './decide.js';

/**
 * Every stage runs under a guard made of two standard programs, so that the
 * command cannot outlive leash however leash ends — even by SIGKILL, which
 * leash cannot catch, or SIGSTOP, which freezes leash's own timers:
 *
 *   setpriv --pdeathsig ALRM -- timeout --signal=KILL -- <backstop>s \
 *     setpriv --pdeathsig KILL -- <binary> <arguments…>
 *
 * - leash spawns the outer setpriv in a new session, so after it has exec'd,
 *   `timeout` leads a process group of its own; the command and everything it
 *   starts are in that group unless they leave it (setsid, setpgid).
 * - The kernel sends the parent-death signal SIGALRM to `timeout` the moment
 *   leash exits, whatever the cause. `timeout` takes SIGALRM as its deadline:
 *   it sends SIGKILL to the command and to its own process group, itself
 *   included. The group is signalled by one of its own members, so a reused
 *   PID can never be hit.
 * - `timeout`'s own deadline, the backstop, ends the group in the same way
 *   even when leash is stopped and cannot act. leash's deadline comes first;
 *   the backstop is later by the kill grace (runner.ts).
 * - The inner setpriv gives the command SIGKILL as its parent-death signal:
 *   if `timeout` itself is killed (it runs as the session user, who may
 *   signal it), the command dies with it.
 *
 * Consequence: the command's argv[0] is the pinned binary's resolved path
 * (`/usr/bin/cat`), not the command name — both programs exec their operand
 * as given and neither can set argv[0]. Programs that name themselves in
 * messages say `/usr/bin/cat: …`; a multi-call binary that picks its role by
 * argv[0] (kmod as `lsmod`) must be pinned by its own name with its own
 * subcommand (`kmod list`).
 */
export const GUARD_SETPRIV = '/usr/bin/setpriv';
export const GUARD_TIMEOUT = '/usr/bin/timeout';

export interface GuardPrograms {
  setpriv: string;
  timeout: string;
}

export type GuardStatus = { ok: true; programs: GuardPrograms } | { ok: false; detail: string };

/**
 * The guard's programs, held to the same rule as any pinned binary (a
 * root-owned regular file in a root-owned chain): whoever could replace
 * them would choose what runs. Without them nothing may run.
 */
export function guardPrograms(fs: FsView): GuardStatus {
  const setpriv = binaryStatus(GUARD_SETPRIV, fs);
  if (!setpriv.ok) return { ok: false, detail: `the guard program ${GUARD_SETPRIV} (util-linux) cannot be used: ${setpriv.detail}` };
  const timeout = binaryStatus(GUARD_TIMEOUT, fs);
  if (!timeout.ok) return { ok: false, detail: `the guard program ${GUARD_TIMEOUT} (coreutils) cannot be used: ${timeout.detail}` };
  return { ok: true, programs: { setpriv: setpriv.resolved, timeout: timeout.resolved } };
}

/** The program and arguments that run `stage` under the guard, with `backstopSeconds` as timeout's own deadline. */
export function guardedCommand(guard: GuardPrograms, stage: Stage, backstopSeconds: number): { file: string; args: string[] } {
  if (!Number.isInteger(backstopSeconds) || backstopSeconds < 1) throw new RangeError(`backstop must be a whole number of seconds, not ${backstopSeconds}`);
  return {
    file: guard.setpriv,
    args: ['--pdeathsig', 'ALRM', '--', guard.timeout, '--signal=KILL', '--', `${backstopSeconds}s`, guard.setpriv, '--pdeathsig', 'KILL', '--', stage.binary, ...stage.argv.slice(1)],
  };
}
