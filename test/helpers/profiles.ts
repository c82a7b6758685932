import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseProfile } from '../../src/policy/parse.js';
import { realFs, type FsView } from '../../src/policy/fs-view.js';
import type { Profile } from '../../src/policy/types.js';

export const POLICY_DIR = fileURLToPath(new URL('../../policies/', import.meta.url));

/** A shipped profile, parsed exactly as leash parses it (ownership is tested elsewhere). */
export function shippedProfile(name: string): Profile {
  const file = `${POLICY_DIR}${name}.yaml`;
  return parseProfile(file, readFileSync(file, 'utf8'), name, shippedProfile);
}

/**
 * The real filesystem, except that the given binaries are present as
 * root-owned executables even on a host that lacks them (a CI container may
 * have no lsblk): decisions about arguments are then host-independent, while
 * every path argument is still resolved on the real filesystem.
 */
export function fsWithBinaries(binaries: Iterable<string>, base: FsView = realFs): FsView {
  const present = new Set(binaries);
  return {
    ...base,
    realpath: (p) => {
      try {
        return base.realpath(p);
      } catch (err) {
        if (present.has(p)) return p;
        throw err;
      }
    },
    lstat: (p) => {
      try {
        return base.lstat(p);
      } catch (err) {
        if (present.has(p)) return { uid: 0, gid: 0, mode: 0o100755, nlink: 1, isFile: true, isDirectory: false, isSymlink: false };
        throw err;
      }
    },
  };
}
