/**
 * A runtime directory tree (src/runtime/layout.ts) for a test: what `leash
 * runtime init` makes at boot, under a test's own directory instead of
 * /run/leash. Without an audit group the session directories are writable
 * by anyone (sticky), as runtime init makes them then.
 */
import { chmod, chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalUser } from './sshd.js';

/** Creates `<base>/run` and its subdirectories; returns the runtime_dir path. */
export async function makeRuntimeDir(base: string, verifier?: LocalUser): Promise<string> {
  const run = join(base, 'run');
  const dirs: [string, number, number, number][] = [
    [run, 0, 0, 0o755],
    [join(run, 'verify'), verifier?.uid ?? 0, verifier?.gid ?? 0, 0o700],
    [join(run, 'logins'), verifier?.uid ?? 0, verifier?.gid ?? 0, 0o700],
    [join(run, 'sessions'), 0, 0, 0o1733],
    [join(run, 'sessions', 'running'), 0, 0, 0o1777],
  ];
  for (const [d, uid, gid, mode] of dirs) {
    await mkdir(d, { recursive: true });
    await chown(d, uid, gid);
    await chmod(d, mode);
  }
  return run;
}
