import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Account, FileFacts } from './checks.js';

/**
 * What `leash doctor` reads off the host: stat, and a few programs run
 * directly (no shell, no PATH lookup, a fixed environment). checks.ts judges
 * what these return.
 */

export function stat(path: string): FileFacts | null {
  try {
    const st = lstatSync(path);
    return { uid: st.uid, gid: st.gid, mode: st.mode, isFile: st.isFile(), isDirectory: st.isDirectory(), isSymlink: st.isSymbolicLink() };
  } catch {
    return null;
  }
}

/** [dir, facts] from `dir` up to /; a missing directory ends the chain as a symlink-like failure would not, so report it. */
export function chain(dir: string): [string, FileFacts][] {
  const out: [string, FileFacts][] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    const st = stat(d);
    out.push([d, st ?? { uid: -1, gid: -1, mode: 0, isFile: false, isDirectory: false, isSymlink: false }]);
    if (d === '/') return out;
  }
}

/** A program's output, or null if it is not installed or fails. No shell, no PATH lookup. */
function capture(candidates: readonly string[], args: readonly string[]): { ok: true; text: string } | { ok: false; error: string } {
  const file = candidates.find((c) => existsSync(c));
  if (!file) return { ok: false, error: `${basename(candidates[0] ?? '?')} is not installed` };
  try {
    return { ok: true, text: execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } }) };
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    return { ok: false, error: (e.stderr || e.message).trim().split('\n')[0] ?? 'failed' };
  }
}

export function sshdT(): { ok: true; text: string } | { ok: false; error: string } {
  return capture(['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/sbin/sshd'], ['-T']);
}

const ID = ['/usr/bin/id', '/bin/id'];

export function account(name: string): Account | null {
  const uid = capture(ID, ['-u', '--', name]);
  const gids = capture(ID, ['-G', '--', name]);
  if (!uid.ok || !gids.ok) return null;
  return { name, uid: Number(uid.text.trim()), gids: gids.text.trim().split(/\s+/).map(Number) };
}

export function groupName(gid: number | undefined): string | null {
  if (gid === undefined) return null;
  const r = capture(['/usr/bin/getent', '/bin/getent'], ['group', String(gid)]);
  return r.ok ? (r.text.split(':')[0] ?? null) : null;
}

export function appendOnly(path: string): boolean | null {
  const r = capture(['/usr/bin/lsattr', '/bin/lsattr', '/sbin/lsattr'], ['-d', '--', path]);
  if (!r.ok) return null;
  return (r.text.split(/\s+/)[0] ?? '').includes('a');
}

export function ntpSynchronized(): boolean | null {
  const r = capture(['/usr/bin/timedatectl', '/bin/timedatectl'], ['show', '-p', 'NTPSynchronized', '--value']);
  if (!r.ok) return null;
  const v = r.text.trim();
  return v === 'yes' ? true : v === 'no' ? false : null;
}
