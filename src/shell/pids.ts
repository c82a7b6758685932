import { printable } from '../encoding/printable.js';
import type { FsView, ProcessFacts } from '../policy/fs-view.js';
import { unitMatches } from './values.js';

/** sshd and the per-connection processes newer OpenSSH versions split off. */
const SSHD_COMMS: ReadonlySet<string> = new Set(['sshd', 'sshd-session', 'sshd-auth']);
/** The kernel's PID_MAX_LIMIT. */
const PID_MAX = 4194304;
/** Parent links followed, at most: ancestry chains are short, and a bound keeps a cycle (PID reuse mid-walk) finite. */
const MAX_DEPTH = 256;

export type PidCheck = { ok: true } | { ok: false; code: 'PID_NOT_ALLOWED' | 'PID_PROTECTED'; detail: string };

/**
 * Whether a session may signal process `value` (the `pid` value type). The
 * process must be in one of the listed systemd units (by its cgroup) or be
 * owned by one of the listed users (real and effective uid), and it must not
 * belong to any leash session: not init or a kernel thread, not an sshd
 * process, not leash or anything running under it, and not an ancestor of a
 * leash process (the session's sshd and the shell sshd ran leash through).
 * A session must never signal another session — nor its own. leash is known
 * by its executable (ProcessFacts.leash), never by its name: the runtime
 * names leash's main thread "MainThread", and any process can call itself
 * "leash". A thread ID is judged as its process: kill(2) given a thread's ID
 * signals the whole thread group.
 *
 * What this cannot close: the process may exit and its PID be reused between
 * this check and kill(2), as with any kill by number. Pure over `fs`.
 */
export function checkPid(value: string, spec: { units: readonly string[]; users: readonly string[] }, fs: FsView): PidCheck {
  if (!/^[1-9][0-9]{0,6}$/.test(value) || Number(value) > PID_MAX) return refuse(`"${value}" is not a process ID`);
  const asked = Number(value);
  const thread = fs.process(asked);
  if (thread === null) return refuse(`there is no process ${asked}`);
  const pid = thread.tgid;
  const target = pid === asked ? thread : fs.process(pid);
  if (target === null) return refuse(`there is no process ${pid} (the process of thread ${asked})`);
  const name = `${pid === asked ? '' : `thread ${asked} of `}process ${pid} (${printable(target.comm, 32)})`;
  if (pid === 1 || target.ppid === 0 || target.ppid === 2) return guard(`${name} is init or a kernel thread`);
  if (SSHD_COMMS.has(target.comm)) return guard(`${name} is sshd`);

  for (const [p, facts] of ancestry(pid, target, fs)) {
    if (facts.leash) return guard(p === pid ? `${name} is leash` : `${name} runs under leash (process ${p}), in a session`);
  }
  for (const q of fs.pids()) {
    const facts = q === pid ? target : fs.process(q);
    if (facts === null || !facts.leash) continue;
    for (const [p] of ancestry(q, facts, fs)) {
      if (p === pid) return guard(`${name} is an ancestor of leash process ${q}: it holds a session`);
    }
  }

  const inUnit = target.unit !== null && unitMatches(target.unit, spec.units);
  const byUser = spec.users.some((u) => {
    const id = fs.userId(u);
    return id !== null && target.uid === id && target.euid === id;
  });
  if (inUnit || byUser) return { ok: true };
  const lists = [spec.units.length > 0 ? `units ${spec.units.join(', ')}` : '', spec.users.length > 0 ? `users ${spec.users.join(', ')}` : ''].filter(Boolean).join(' or ');
  return refuse(`${name} is in ${target.unit ?? 'no systemd unit'} and runs as uid ${target.euid}: not one of the ${lists}`);
}

/** The process and its ancestors up to (not including) PID 1, nearest first. */
function* ancestry(pid: number, facts: ProcessFacts, fs: FsView): Generator<[number, ProcessFacts]> {
  let p = pid;
  let f: ProcessFacts | null = facts;
  for (let depth = 0; f !== null && p > 1 && depth < MAX_DEPTH; depth++) {
    yield [p, f];
    p = f.ppid;
    f = p > 1 ? fs.process(p) : null;
  }
}

function refuse(detail: string): PidCheck {
  return { ok: false, code: 'PID_NOT_ALLOWED', detail };
}

function guard(detail: string): PidCheck {
  return { ok: false, code: 'PID_PROTECTED', detail };
}
