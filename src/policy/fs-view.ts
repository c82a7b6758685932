import { accessSync, constants, lstatSync, realpathSync, statSync } from 'node:fs';

/** The few filesystem facts a decision needs; injected so decisions are testable without a host. */
export interface FsView {
  /** Canonical path with every symlink resolved; throws (with errno `code`) if it does not exist. */
  realpath(path: string): string;
  /** stat(2) without following a final symlink. */
  lstat(path: string): { uid: number; mode: number; isFile: boolean; isDirectory: boolean; isSymlink: boolean };
  /** Whether the calling user could create, rename or remove entries in `dir`. */
  callerMayWrite(dir: string): boolean;
}

const euid = typeof process.geteuid === 'function' ? process.geteuid() : 0;

export const realFs: FsView = {
  realpath: (p) => realpathSync.native(p),
  lstat: (p) => {
    const st = lstatSync(p);
    return { uid: st.uid, mode: st.mode, isFile: st.isFile(), isDirectory: st.isDirectory(), isSymlink: st.isSymbolicLink() };
  },
  callerMayWrite: (dir) => {
    // root can write everywhere; the question "could the caller swap this
    // path between check and use" only separates unprivileged users.
    if (euid === 0) return false;
    try {
      accessSync(dir, constants.W_OK);
      return true;
    } catch {
      // Sticky world-writable directories (/tmp) still let the caller swap their own entries.
      return (statSync(dir).mode & 0o1002) === 0o1002;
    }
  },
};
