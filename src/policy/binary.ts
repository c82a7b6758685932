import { dirname } from 'node:path';
import { unsafeReason } from '../trust/ownership.js';
import type { FsView } from './fs-view.js';

export type BinaryStatus = { ok: true; resolved: string } | { ok: false; code: 'BINARY_MISSING' | 'BINARY_UNSAFE'; detail: string };

/**
 * A pinned binary may run only if it is a regular executable file owned by
 * root and not writable by group or others, in a chain of directories with
 * the same property — otherwise whoever can write there chooses what runs.
 * A missing binary is not an error of the profile: that one command is simply
 * unavailable on this host.
 */
export function binaryStatus(binary: string, fs: FsView): BinaryStatus {
  let resolved: string;
  try {
    resolved = fs.realpath(binary);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { ok: false, code: 'BINARY_MISSING', detail: `${binary} is not installed on this host` };
    return { ok: false, code: 'BINARY_UNSAFE', detail: `${binary}: ${code ?? 'cannot resolve'}` };
  }
  const st = fs.lstat(resolved);
  if (!st.isFile) return { ok: false, code: 'BINARY_UNSAFE', detail: `${resolved} is not a regular file` };
  if ((st.mode & 0o111) === 0) return { ok: false, code: 'BINARY_UNSAFE', detail: `${resolved} is not executable` };
  for (let p = resolved; ; p = dirname(p)) {
    const s = p === resolved ? st : fs.lstat(p);
    const why = unsafeReason(p, s);
    if (why) return { ok: false, code: 'BINARY_UNSAFE', detail: why };
    if (p === '/') break;
  }
  return { ok: true, resolved };
}
