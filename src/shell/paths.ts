import { minimatch } from 'minimatch';
import type { ReasonCode } from '../errors.js';
import { dirname, resolve } from 'node:path';
import type { FsView } from '../policy/fs-view.js';
import type { PathRules } from '../policy/types.js';

/**
 * Paths that are dangerous to read even inside an allowed tree: other
 * processes' environment and memory, and magic links that resolve by kernel
 * object rather than by name (/proc/PID/root, cwd, fd, map_files, /dev/fd).
 * They are denied unless a profile lists them under paths.allow_sensitive.
 */
const SENSITIVE_PATHS: readonly string[] = [
  '/proc/*/environ', '/proc/*/task/*/environ',
  '/proc/*/mem', '/proc/*/task/*/mem',
  '/proc/*/pagemap', '/proc/*/task/*/pagemap',
  '/proc/*/auxv', '/proc/*/task/*/auxv',
  '/proc/*/syscall', '/proc/*/task/*/syscall',
  '/proc/*/stack', '/proc/*/task/*/stack',
  '/proc/*/exe', '/proc/*/task/*/exe',
  '/proc/*/root/**', '/proc/*/task/*/root/**',
  '/proc/*/cwd/**', '/proc/*/task/*/cwd/**',
  '/proc/*/fd/**', '/proc/*/task/*/fd/**',
  '/proc/*/map_files/**', '/proc/*/task/*/map_files/**',
  '/proc/kcore', '/proc/kmem', '/proc/kallsyms', '/proc/sysrq-trigger',
  // Reading consumes the kernel log for everyone else (and blocks): not a read-only act.
  '/proc/kmsg',
  '/dev/fd/**', '/dev/stdin', '/dev/stdout', '/dev/stderr',
];

/**
 * Glob match on a canonical path. `dot` so hidden files are not exempt, and a
 * pattern `X/**` also covers the directory X itself (so `/var/log/**` allows
 * `ls /var/log`).
 */
function matchesAny(path: string, globs: readonly string[]): string | null {
  for (const g of globs) {
    if (minimatch(path, g, { dot: true, nocomment: true, nonegate: true, noext: true })) return g;
    if (g.endsWith('/**') && minimatch(path, g.slice(0, -3), { dot: true, nocomment: true, nonegate: true, noext: true })) return g;
  }
  return null;
}

export type PathCheck = { ok: true; resolved: string } | { ok: false; code: ReasonCode; detail: string };

/**
 * Resolves a client-supplied path the way the child would (relative to its
 * working directory `/`), then checks it. The child is given the resolved
 * path, never the client's spelling.
 */
export function checkPath(raw: string, rules: PathRules, fs: FsView): PathCheck {
  const spelled = resolve('/', raw);
  // The spelled path is checked too: /proc/self/root/etc/x collapses to /etc/x
  // under realpath, and the magic link it went through would otherwise vanish.
  const spelledSensitive = sensitivePrefix(spelled);
  if (spelledSensitive && !matchesAny(spelled, rules.allowSensitive)) {
    return { ok: false, code: 'PATH_SENSITIVE', detail: `${raw} goes through ${spelledSensitive}` };
  }
  let resolved: string;
  try {
    resolved = fs.realpath(spelled);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return { ok: false, code: 'PATH_NOT_FOUND', detail: `${raw}: ${code === 'ENOENT' ? 'no such file or directory' : code}` };
  }
  const denied = matchesAny(resolved, rules.deny);
  if (denied) return { ok: false, code: 'PATH_DENIED', detail: `${resolved} matches deny rule ${denied}` };
  const sensitive = matchesAny(resolved, SENSITIVE_PATHS);
  if (sensitive && !matchesAny(resolved, rules.allowSensitive)) {
    return { ok: false, code: 'PATH_SENSITIVE', detail: `${resolved} matches built-in sensitive path ${sensitive}` };
  }
  if (!matchesAny(resolved, rules.allow)) {
    return { ok: false, code: 'PATH_NOT_ALLOWED', detail: `${resolved}${resolved === spelled ? '' : ` (from ${raw})`} is outside the allowed paths` };
  }
  // FIFOs block or talk to a daemon, device nodes and sockets are not files to read.
  const st = fs.lstat(resolved);
  if (!st.isFile && !st.isDirectory) return { ok: false, code: 'PATH_SPECIAL_FILE', detail: `${resolved} is not a regular file or directory` };
  // A directory the caller can write lets them swap an entry between this
  // check and the child's open(); refuse rather than race.
  for (let d = dirname(resolved); ; d = dirname(d)) {
    if (fs.callerMayWrite(d)) return { ok: false, code: 'PATH_UNSAFE_PARENT', detail: `${d} is writable by you, so ${resolved} could be swapped` };
    if (d === '/') break;
  }
  return { ok: true, resolved };
}

/** The first prefix of `path` that is a sensitive path or magic link, if any. */
function sensitivePrefix(path: string): string | null {
  const parts = path.split('/');
  for (let i = 2; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    const hit = matchesAny(prefix, SENSITIVE_PATHS);
    if (hit) return prefix;
    // /proc/self and /proc/thread-self name leash at check time and the child at run time.
    if (prefix === '/proc/self' || prefix === '/proc/thread-self') return prefix;
  }
  return null;
}
