/**
 * An in-memory FsView for unit tests of the pure decision: files with the
 * ownership and mode a test needs, a process table, a mount table, users and
 * groups. Anything not described does not exist (realpath and lstat throw
 * ENOENT). Symlinks resolve once, by prefix.
 */
import type { FileFacts, FsView, MountFacts, ProcessFacts } from '../../src/policy/fs-view.js';

export interface FakeEntry {
  uid?: number;
  gid?: number;
  /** Permission bits only (0o755); the file type comes from `type`. */
  mode?: number;
  type?: 'file' | 'dir' | 'fifo' | 'socket';
  nlink?: number;
  /** Makes this path a symlink to `link`. */
  link?: string;
  /** On a kernel filesystem (proc, sysfs). */
  kernel?: boolean;
}

export interface FakeHost {
  files?: Record<string, FakeEntry>;
  processes?: Record<number, Partial<ProcessFacts>>;
  mounts?: MountFacts[];
  users?: Record<string, number>;
  groups?: Record<string, number>;
  /** The caller's groups. */
  callerGroups?: number[];
}

const TYPE_BITS = { file: 0o100000, dir: 0o040000, fifo: 0o010000, socket: 0o140000 } as const;

function enoent(path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
}

/** Every directory from `/` down to the entries (root:root 0755) unless described otherwise. */
export function fakeHost(h: FakeHost): FsView {
  const files = new Map<string, FakeEntry>(Object.entries(h.files ?? {}));
  for (const path of [...files.keys()]) {
    for (let d = path.slice(0, path.lastIndexOf('/')) || '/'; ; d = d.slice(0, d.lastIndexOf('/')) || '/') {
      if (!files.has(d)) files.set(d, { type: 'dir' });
      if (d === '/') break;
    }
  }
  files.set('/', files.get('/') ?? { type: 'dir' });
  const resolve = (path: string): string => {
    for (const [from, e] of files) {
      if (e.link !== undefined && (path === from || path.startsWith(`${from}/`))) return resolve(e.link + path.slice(from.length));
    }
    if (!files.has(path)) throw enoent(path);
    return path;
  };
  return {
    realpath: resolve,
    lstat: (p): FileFacts => {
      const e = files.get(p);
      if (!e) throw enoent(p);
      const type = e.type ?? 'file';
      return {
        uid: e.uid ?? 0,
        gid: e.gid ?? 0,
        mode: TYPE_BITS[type] | (e.mode ?? (type === 'dir' ? 0o755 : 0o644)),
        nlink: e.nlink ?? (type === 'dir' ? 2 : 1),
        isFile: type === 'file' && e.link === undefined,
        isDirectory: type === 'dir',
        isSymlink: e.link !== undefined,
      };
    },
    onKernelFs: (d) => files.get(d)?.kernel === true,
    groupId: (n) => h.groups?.[n] ?? null,
    userId: (n) => h.users?.[n] ?? null,
    callerInGroup: (gid) => (h.callerGroups ?? []).includes(gid),
    process: (pid) => {
      const p = h.processes?.[pid];
      // A fake process runs leash when the test says so, or when it is named leash.
      return p ? { comm: 'sleep', tgid: pid, leash: p.comm === 'leash', ppid: 1, uid: 0, euid: p.uid ?? 0, unit: null, ...p } : null;
    },
    pids: () => Object.keys(h.processes ?? {}).map(Number),
    mounts: () => h.mounts ?? [{ target: '/', fstype: 'ext4' }],
  };
}
