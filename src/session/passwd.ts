import { readFileSync } from 'node:fs';

/**
 * Local accounts from /etc/passwd (name <-> uid), for root's reader to check
 * that a registry entry's user name and its file owner agree. Accounts that
 * only a directory service knows are not found (the entry is then shown by
 * uid and never trusted to name a user).
 */
export interface Passwd {
  uidOf(name: string): number | null;
  nameOf(uid: number): string | null;
  /** The primary group of a uid. */
  gidOf(uid: number): number | null;
}

export function readPasswd(file = '/etc/passwd'): Passwd {
  const byName = new Map<string, number>();
  const byUid = new Map<number, string>();
  const gids = new Map<number, number>();
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    /* no accounts known */
  }
  for (const line of text.split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (!name || uid === undefined || !/^[0-9]+$/.test(uid)) continue;
    if (!byName.has(name)) byName.set(name, Number(uid));
    if (!byUid.has(Number(uid))) byUid.set(Number(uid), name);
    if (gid !== undefined && /^[0-9]+$/.test(gid) && !gids.has(Number(uid))) gids.set(Number(uid), Number(gid));
  }
  return { uidOf: (n) => byName.get(n) ?? null, nameOf: (u) => byUid.get(u) ?? null, gidOf: (u) => gids.get(u) ?? null };
}

/** A group's gid from /etc/group, or null. */
export function groupId(name: string, file = '/etc/group'): number | null {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  for (const line of text.split('\n')) {
    const [n, , gid] = line.split(':');
    if (n === name && gid !== undefined && /^[0-9]+$/.test(gid)) return Number(gid);
  }
  return null;
}
