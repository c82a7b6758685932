import { minimatch } from 'minimatch';
import type { ReasonCode } from '../errors.js';
import { dirname, resolve } from 'node:path';
import type { FileFacts, FsView } from '../policy/fs-view.js';
import { SENSITIVE_PATHS } from '../policy/sensitive-paths.js';
import type { PathRules } from '../policy/types.js';
import { unsafeReason } from '../trust/ownership.js';

const GLOB = { dot: true, nocomment: true, nonegate: true, noext: true } as const;

/**
 * Glob match on a canonical path. `dot` so hidden files are not exempt, and a
 * pattern `X/**` also covers the directory X itself (so `/var/log/**` allows
 * `ls /var/log`).
 */
export function matchesAny(path: string, globs: readonly string[]): string | null {
  for (const g of globs) {
    if (minimatch(path, g, GLOB)) return g;
    if (g.endsWith('/**') && minimatch(path, g.slice(0, -3), GLOB)) return g;
  }
  return null;
}

export type PathCheck = { ok: true; resolved: string } | { ok: false; code: ReasonCode; detail: string };

/**
 * Resolves a client-supplied path the way the child would (relative to its
 * working directory `/`), then checks it. The child is given the resolved
 * path, never the client's spelling. `access` says what the program does with
 * it: `read` opens it (so it must be a regular file or a directory), `stat`
 * only looks at the entry (FIFOs, sockets and devices are fine).
 *
 * A path outside the allowed trees gets the same answer whether or not it
 * exists, so leash is no oracle for what lies outside them.
 */
export function checkPath(raw: string, rules: PathRules, fs: FsView, access: 'read' | 'stat'): PathCheck {
  // open("") fails, but path.resolve('/', '') is '/': an empty word must not become the root.
  if (raw === '') return { ok: false, code: 'PATH_NOT_FOUND', detail: 'an empty path names no file' };
  const spelled = resolve('/', raw);
  // The spelled path is checked too: /proc/self/root/etc/x collapses to /etc/x
  // under realpath, and the magic link it went through would otherwise vanish.
  const spelledSensitive = sensitivePrefix(spelled);
  if (spelledSensitive && !matchesAny(spelled, rules.allowSensitive)) {
    const detail = spelledSensitive === spelled ? `${spelled} is a built-in sensitive path` : `${raw} goes through ${spelledSensitive}`;
    return { ok: false, code: 'PATH_SENSITIVE', detail };
  }
  // Outside the allowed trees, the answer must not depend on what exists there: a
  // path spelled outside them that does not resolve into them is refused as
  // spelled, whether it is missing, denied, sensitive or merely elsewhere.
  const spelledAllowed = matchesAny(spelled, rules.allow) !== null;
  const outside: PathCheck = { ok: false, code: 'PATH_NOT_ALLOWED', detail: `${spelled} is outside the allowed paths` };
  const spelledDenied = matchesAny(spelled, rules.deny);
  let resolved: string;
  try {
    resolved = fs.realpath(spelled);
  } catch (err) {
    if (spelledDenied) return { ok: false, code: 'PATH_DENIED', detail: `${spelled} matches deny rule ${spelledDenied}` };
    if (!spelledAllowed) return outside;
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    return { ok: false, code: 'PATH_NOT_FOUND', detail: `${raw}: ${code === 'ENOENT' ? 'no such file or directory' : code}` };
  }
  const denied = matchesAny(resolved, rules.deny);
  if (denied) {
    if (spelledAllowed || spelledDenied) return { ok: false, code: 'PATH_DENIED', detail: `${resolved} matches deny rule ${denied}` };
    return outside;
  }
  const sensitive = matchesAny(resolved, SENSITIVE_PATHS);
  if (sensitive && !matchesAny(resolved, rules.allowSensitive)) {
    return spelledAllowed ? { ok: false, code: 'PATH_SENSITIVE', detail: `${resolved} matches built-in sensitive path ${sensitive}` } : outside;
  }
  if (!matchesAny(resolved, rules.allow)) {
    return spelledAllowed ? { ok: false, code: 'PATH_NOT_ALLOWED', detail: `${resolved} (from ${raw}) is outside the allowed paths` } : outside;
  }
  const st = fs.lstat(resolved);
  // FIFOs block or talk to a daemon, device nodes and sockets are not files to read.
  if (access === 'read' && !st.isFile && !st.isDirectory) return { ok: false, code: 'PATH_SPECIAL_FILE', detail: `${resolved} is not a regular file or directory` };
  // Allow and deny match names; a second name for the same file would carry it past both.
  if (st.isFile && st.nlink > 1 && !matchesAny(resolved, rules.allowHardLinks)) {
    return { ok: false, code: 'PATH_HARD_LINK', detail: `${resolved} has ${st.nlink} hard links, so it may be a file from outside the allowed paths` };
  }
  for (let d = dirname(resolved); ; d = dirname(d)) {
    const why = parentProblem(d, fs.lstat(d), rules, fs);
    if (why) return { ok: false, code: 'PATH_UNSAFE_PARENT', detail: `${why}, so ${resolved} could be swapped for a link between this check and its use` };
    if (d === '/') break;
  }
  return { ok: true, resolved };
}

/**
 * sshd's rule for the directories above a path, whoever the session user is:
 * root-owned and not group- or world-writable, so that no other account can
 * swap an entry between leash's check and the program's open(). Two
 * exceptions: kernel filesystems (proc, sysfs, cgroup), where no user can
 * create, rename or remove entries even in directories they own; and a
 * root-owned directory writable by one of the profile's trusted groups, as
 * long as the session user is not in that group itself.
 */
function parentProblem(dir: string, st: FileFacts, rules: PathRules, fs: FsView): string | null {
  const why = unsafeReason(dir, st);
  if (why === null) return null;
  if (fs.onKernelFs(dir)) return null;
  const groupOnly = st.uid === 0 && (st.mode & 0o022) === 0o020;
  if (groupOnly && rules.trustedGroups.some((g) => fs.groupId(g) === st.gid)) {
    return fs.callerInGroup(st.gid) ? `${dir} is writable by its group (gid ${st.gid}), and you are in it` : null;
  }
  return groupOnly ? `${why} (group ${st.gid}; list it under paths.trusted_groups only if you trust every member)` : why;
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
