import { lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync, statfsSync } from 'node:fs';
import { basename } from 'node:path';

export interface FileFacts {
  uid: number;
  gid: number;
  mode: number;
  /** Hard links to the file. */
  nlink: number;
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
}

export interface ProcessFacts {
  /** The kernel's command name (/proc/PID/stat), at most 15 bytes, chosen by the process: attacker text. */
  comm: string;
  /** The process a thread ID belongs to (its thread group leader); the pid itself for a process. */
  tgid: number;
  /**
   * Whether it runs the leash executable: the same file as the calling leash
   * (device and inode of /proc/PID/exe), or a file at its path (a leash
   * started before an upgrade runs the replaced file). See runsLeash().
   */
  leash: boolean;
  ppid: number;
  /** Real and effective user IDs. */
  uid: number;
  euid: number;
  /** The systemd unit that holds the process (from its cgroup), or null outside any unit. */
  unit: string | null;
}

export interface MountFacts {
  target: string;
  fstype: string;
}

/**
 * The few facts about this host a decision needs; injected so that
 * decisions are testable without a host (and the real one is read lazily:
 * only the facts a command's values need are ever looked up).
 */
export interface FsView {
  /** Canonical path with every symlink resolved; throws (with errno `code`) if it does not exist. */
  realpath(path: string): string;
  /** stat(2) without following a final symlink. */
  lstat(path: string): FileFacts;
  /** True when `dir` is on a kernel filesystem (proc, sysfs, cgroup) where no user can create, rename or remove entries. */
  onKernelFs(dir: string): boolean;
  groupId(name: string): number | null;
  userId(name: string): number | null;
  /** Whether the calling process has `gid` as its group or a supplementary group. */
  callerInGroup(gid: number): boolean;
  /** A running process, or null when there is none (or it cannot be seen, as under hidepid). */
  process(pid: number): ProcessFacts | null;
  /** Every visible process ID. */
  pids(): number[];
  /** The calling process's mount table. */
  mounts(): MountFacts[];
}

/** statfs f_type of the filesystems onKernelFs accepts: proc, sysfs, cgroup2, cgroup v1. */
const KERNEL_FS = new Set([0x9fa0, 0x62656572, 0x63677270, 0x27e0eb]);

/** name → id from /etc/passwd or /etc/group (field 3); NSS sources beyond the files are not consulted. */
function idTable(file: string): Map<string, number> {
  const table = new Map<string, number>();
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f.length >= 3 && /^[0-9]+$/.test(f[2]!)) table.set(f[0]!, Number(f[2]));
    }
  } catch {
    /* unreadable: every lookup misses, and what depends on it is refused */
  }
  return table;
}

let users: Map<string, number> | undefined;
let groups: Map<string, number> | undefined;

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The unit in a cgroup path: the first component that is not a slice (systemd's own rule). */
function unitOfCgroup(path: string): string | null {
  for (const part of path.split('/')) {
    if (part === '' || part.endsWith('.slice')) continue;
    return /\.(service|scope|socket|mount|swap)$/.test(part) ? part : null;
  }
  return null;
}

/** The calling process's executable: the file (device and inode) and the path it was started from. */
interface Executable {
  dev: number;
  ino: number;
  path: string;
}

let self: Executable | null | undefined;

/** The path /proc/PID/exe names, less the " (deleted)" the kernel adds once the file is replaced (an upgrade). */
function exePath(link: string): string {
  return link.endsWith(' (deleted)') ? link.slice(0, -' (deleted)'.length) : link;
}

function selfExecutable(): Executable | null {
  if (self !== undefined) return self;
  try {
    const st = statSync('/proc/self/exe');
    self = { dev: st.dev, ino: st.ino, path: exePath(readlinkSync('/proc/self/exe')) };
  } catch {
    self = null;
  }
  return self;
}

/**
 * Whether process `pid` runs the executable this process runs. The kernel
 * names leash's main thread after the runtime's (Node's "MainThread"), and
 * any process may name itself anything, so the name proves nothing; the
 * executable does. /proc/PID/exe is readable for the caller's own processes
 * (and by root for all): same device and inode, or the same path (a leash
 * started before an upgrade runs the replaced, deleted file). Another
 * account's process, seen by a non-root caller, is judged by its command
 * line's first word (world-readable, and only the process itself can change
 * it): leash's own path, or a file named like it.
 */
function runsLeash(pid: number): boolean {
  const me = selfExecutable();
  if (me === null) return false;
  try {
    const st = statSync(`/proc/${pid}/exe`);
    if (st.dev === me.dev && st.ino === me.ino) return true;
    return exePath(readlinkSync(`/proc/${pid}/exe`)) === me.path;
  } catch {
    const argv0 = (read(`/proc/${pid}/cmdline`) ?? '').split('\0')[0] ?? '';
    return argv0 !== '' && (argv0 === me.path || basename(argv0) === basename(me.path));
  }
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export const realFs: FsView = {
  realpath: (p) => realpathSync.native(p),
  lstat: (p) => {
    const st = lstatSync(p);
    return { uid: st.uid, gid: st.gid, mode: st.mode, nlink: st.nlink, isFile: st.isFile(), isDirectory: st.isDirectory(), isSymlink: st.isSymbolicLink() };
  },
  onKernelFs: (dir) => {
    try {
      return KERNEL_FS.has(statfsSync(dir).type);
    } catch {
      return false;
    }
  },
  groupId: (name) => (groups ??= idTable('/etc/group')).get(name) ?? null,
  userId: (name) => (users ??= idTable('/etc/passwd')).get(name) ?? null,
  callerInGroup: (gid) => process.getgid?.() === gid || (process.getgroups?.() ?? []).includes(gid),
  process: (pid) => {
    const stat = read(`/proc/${pid}/stat`);
    const status = read(`/proc/${pid}/status`);
    if (stat === null || status === null) return null;
    // "PID (comm) state ppid …": comm may hold spaces and parentheses, so cut at the last ')'.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    const uids = /^Uid:\s+([0-9]+)\s+([0-9]+)/m.exec(status);
    const tgid = Number(/^Tgid:\s+([0-9]+)/m.exec(status)?.[1]);
    if (!uids || !Number.isInteger(ppid) || !Number.isInteger(tgid)) return null;
    const cgroup = read(`/proc/${pid}/cgroup`) ?? '';
    const v2 = /^0::(.*)$/m.exec(cgroup)?.[1];
    const v1 = /^[0-9]+:name=systemd:(.*)$/m.exec(cgroup)?.[1];
    const unit = unitOfCgroup(v2 && v2 !== '/' ? v2 : v1 ?? '');
    return { comm, tgid, leash: runsLeash(pid), ppid, uid: Number(uids[1]), euid: Number(uids[2]), unit };
  },
  pids: () => {
    try {
      return readdirSync('/proc').filter((n) => /^[0-9]+$/.test(n)).map(Number);
    } catch {
      return [];
    }
  },
  mounts: () => {
    const out: MountFacts[] = [];
    for (const line of (read('/proc/self/mountinfo') ?? '').split('\n')) {
      const [left, right] = line.split(' - ');
      const target = left?.split(' ')[4];
      const fstype = right?.split(' ')[0];
      if (target !== undefined && fstype !== undefined) out.push({ target: unescapeMount(target), fstype });
    }
    return out;
  },
};
