/**
 * Root's reader of the session registry (layout in src/runtime/layout.ts,
 * writers in registry.ts): every file becomes a claim of its owner, and
 * nothing is believed about a process until /proc confirms it.
 *
 * Trust rules:
 *  - logins/ entries are trusted for identity, user, profile and expiry when
 *    the directory is not group/world-writable and the file has the
 *    directory's owner (the AuthorizedKeysCommandUser); for their connection
 *    only as far as verifyLoginConnection (connection.ts) confirms it;
 *  - a journal or running file is its owner's claim: the user it names must
 *    be its owner, and the processes and connection it names count only
 *    when they run as that owner (connection.ts, verifyConnection);
 *  - `.end` markers count only when root wrote them;
 *  - every session id is a SESSION_NAME (file names are matched against it;
 *    a running entry's `session` field that is not one drops the entry), so
 *    an id is safe in a path and on a terminal.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loginsDir, runningDir, sessionsDir } from '../runtime/layout.js';
import { verifyConnection, verifyLoginConnection, type ConnectionRef, type LiveConnection } from './connection.js';
import type { Passwd } from './passwd.js';
import { descendants, type ProcInfo } from './proc.js';
import { MAX_JOURNAL_READ_BYTES, RUNNING_NAME, type JournalLine, type LoginEntry, type RunningEntry } from './registry.js';
import { SESSION_NAME } from './session-name.js';

export const SESSION_STATES = ['active', 'idle', 'ended', 'expired', 'revoked'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

/** A command that is running now (its leash is alive). */
export interface RunningCommand {
  /** The leash shell process. */
  pid: number;
  start: number;
  seq: number | null;
  command: string | null;
  /** Unix milliseconds. */
  at: number;
  /** leash and everything below it, as the session user. */
  pids: number[];
}

/** A command whose leash is gone without removing its file (killed by SIGKILL, or the host lost power). */
export interface AbandonedCommand {
  file: string;
  pid: number;
  start: number;
  uid: number;
  entry: RunningEntry;
}

export interface SessionView {
  session: string;
  identity: string | null;
  user: string | null;
  /** The session user's uid: whose processes this session may be found in. */
  uid: number | null;
  profile: string | null;
  client: string | null;
  /** Unix milliseconds of the first thing recorded. */
  started: number | null;
  /** Unix seconds. */
  expires: number | null;
  state: SessionState;
  commands: number;
  denied: number;
  running: RunningCommand[];
  connection: LiveConnection | null;
  /** Where identity/user/profile come from: the verifier's login entry, or the session user's own claim. */
  source: 'login' | 'claim';
  ended: EndMarker | null;
  /** The registry files of this session (for cleaning). */
  files: string[];
}

export interface EndMarker {
  state: 'ended' | 'expired' | 'revoked';
  /** Unix milliseconds. */
  at: number;
  reason: string;
}

export interface Registry {
  sessions: SessionView[];
  abandoned: AbandonedCommand[];
  /**
   * Entries no leash wrote, which the reaper removes: names in sessions/ that
   * claim a uid whose regular file they are not (planted by another account),
   * and running/ entries whose session is not a session name.
   */
  planted: string[];
}

const MAX_ENTRY_BYTES = 64 * 1024;
const LOGIN_FILE = /^([A-Za-z0-9][A-Za-z0-9_-]{0,63})\.json$/;
const JOURNAL_FILE = /^([A-Za-z0-9][A-Za-z0-9_-]{0,63})\.u([0-9]{1,10})(?:\.[0-9a-f]{1,16})?$/;
const END_FILE = /^([A-Za-z0-9][A-Za-z0-9_-]{0,63})\.end$/;


/** A file's bytes, owner and ctime (ms), read without following a symlink; null if it is not a regular file (read up to `max` bytes). */
function readOwned(path: string, max: number): { text: string; uid: number; ctimeMs: number } | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return null;
    const buf = Buffer.alloc(Math.min(st.size, max));
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, off);
      if (n === 0) break;
      off += n;
    }
    return { text: buf.subarray(0, off).toString('utf8'), uid: st.uid, ctimeMs: st.ctimeMs };
  } finally {
    closeSync(fd);
  }
}

/** True when `path` is there and is not a regular file owned by `uid` (a symlink, a FIFO, another account's file). */
function isPlanted(path: string, uid: number): boolean {
  try {
    const st = lstatSync(path);
    return !st.isFile() || st.uid !== uid;
  } catch {
    return false;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function json(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v.slice(0, 4096) : null);
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) ? v : null);

function procRef(v: unknown): { pid: number; start: number } | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const pid = int(o['pid']);
  const start = int(o['start']);
  return pid !== null && pid > 1 && start !== null ? { pid, start } : null;
}

function connRef(v: unknown): ConnectionRef | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const monitor = procRef(o['monitor']);
  return monitor ? { monitor, child: procRef(o['child']) } : null;
}

/** A login entry, and when the kernel says it was written (its ctime, unix ms). */
type Login = LoginEntry & { written: number };

/** Login entries the AuthorizedKeysCommandUser wrote, by session id. */
function readLogins(runtimeDir: string): Map<string, Login> {
  const dir = loginsDir(runtimeDir);
  const out = new Map<string, Login>();
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    return out;
  }
  if (!st.isDirectory() || (st.mode & 0o022) !== 0) return out;
  for (const name of list(dir)) {
    const m = LOGIN_FILE.exec(name);
    if (!m) continue;
    const f = readOwned(join(dir, name), MAX_ENTRY_BYTES);
    if (!f || f.uid !== st.uid) continue;
    const o = json(f.text);
    const monitor = procRef(o?.['monitor']);
    const [identity, user, profile, expires, at] = [str(o?.['identity']), str(o?.['user']), str(o?.['profile']), int(o?.['expires']), int(o?.['at'])];
    if (!o || o['session'] !== m[1] || !monitor || identity === null || user === null || profile === null || expires === null || at === null) continue;
    out.set(m[1]!, { session: m[1]!, identity, user, profile, expires, monitor, at, written: f.ctimeMs });
  }
  return out;
}

interface Journal {
  session: string;
  uid: number;
  lines: JournalLine[];
  file: string;
}

function parseJournal(text: string): JournalLine[] {
  const out: JournalLine[] = [];
  for (const raw of text.split('\n')) {
    const o = raw === '' ? null : json(raw);
    if (!o || (o['t'] !== 'allowed' && o['t'] !== 'denied')) continue;
    const pid = int(o['pid']);
    const start = int(o['start']);
    const at = int(o['at']);
    if (pid === null || start === null || at === null) continue;
    out.push({
      t: o['t'],
      pid,
      start,
      at,
      identity: str(o['identity']),
      user: str(o['user']) ?? '',
      profile: str(o['profile']) ?? '',
      expires: int(o['expires']),
      client: str(o['client']),
      conn: connRef(o['conn']),
      command: str(o['command']),
    });
  }
  return out;
}

/**
 * Every session the registry knows, each checked against `table` (a
 * processTable() snapshot), and the abandoned commands. `now` is unix seconds.
 */
export function readRegistry(runtimeDir: string, table: ReadonlyMap<number, ProcInfo>, passwd: Passwd, now: number): Registry {
  const logins = readLogins(runtimeDir);
  const sdir = sessionsDir(runtimeDir);
  const journals = new Map<string, Journal>();
  const planted: string[] = [];
  const ends = new Map<string, EndMarker & { file: string }>();
  for (const name of list(sdir)) {
    const j = JOURNAL_FILE.exec(name);
    const e = END_FILE.exec(name);
    if (j) {
      const f = readOwned(join(sdir, name), MAX_JOURNAL_READ_BYTES);
      if (!f || f.uid !== Number(j[2])) {
        if (isPlanted(join(sdir, name), Number(j[2]))) planted.push(join(sdir, name));
        continue;
      }
      const key = `${j[1]}\0${f.uid}`;
      const prev = journals.get(key);
      const lines = parseJournal(f.text);
      if (prev) prev.lines.push(...lines);
      else journals.set(key, { session: j[1]!, uid: f.uid, lines, file: join(sdir, name) });
    } else if (e) {
      const f = readOwned(join(sdir, name), MAX_ENTRY_BYTES);
      const o = f && f.uid === 0 ? json(f.text) : null;
      const state = o?.['state'];
      if (o && (state === 'ended' || state === 'expired' || state === 'revoked')) ends.set(e[1]!, { state, at: int(o['at']) ?? 0, reason: str(o['reason']) ?? '', file: join(sdir, name) });
    }
  }

  // Running commands, by session and owner; the dead ones are abandoned.
  const rdir = runningDir(runtimeDir);
  const running = new Map<string, RunningCommand[]>();
  const runningFiles = new Map<string, string[]>();
  const abandoned: AbandonedCommand[] = [];
  for (const name of list(rdir)) {
    const m = RUNNING_NAME.exec(name);
    if (!m) continue;
    const file = join(rdir, name);
    const f = readOwned(file, MAX_ENTRY_BYTES);
    const o = f ? json(f.text) : null;
    const session = str(o?.['session']);
    if (!f || !o) continue;
    // Not a name leash gives a session (terminal escapes, a path): no leash wrote it.
    if (session === null || !SESSION_NAME.test(session)) {
      planted.push(file);
      continue;
    }
    const pid = Number(m[2]);
    const start = Number(m[3]);
    const entry: RunningEntry = { session, identity: str(o['identity']), user: str(o['user']) ?? '', seq: int(o['seq']), command: str(o['command']), at: int(o['at']) ?? 0, conn: connRef(o['conn']) };
    const p = table.get(pid);
    const key = `${session}\0${f.uid}`;
    if (!p || p.start !== start) {
      abandoned.push({ file, pid, start, uid: f.uid, entry });
      continue;
    }
    if (p.uid !== f.uid) continue; // names a process that is not its writer's
    const pids = descendants(table, pid).filter((d) => d.uid === f.uid).map((d) => d.pid);
    const cmd: RunningCommand = { pid, start, seq: entry.seq, command: entry.command, at: entry.at, pids };
    running.set(key, [...(running.get(key) ?? []), cmd]);
    runningFiles.set(key, [...(runningFiles.get(key) ?? []), file]);
    if (!journals.has(key)) journals.set(key, { session, uid: f.uid, lines: [], file: '' });
  }

  // A login with no journal yet (nothing run) is still a session.
  for (const [sid, login] of logins) {
    const uid = passwd.uidOf(login.user);
    if (uid !== null && !journals.has(`${sid}\0${uid}`)) journals.set(`${sid}\0${uid}`, { session: sid, uid, lines: [], file: '' });
  }

  const sessions: SessionView[] = [];
  for (const [key, j] of journals) {
    const login = logins.get(j.session);
    const trusted = login !== undefined && passwd.uidOf(login.user) === j.uid ? login : undefined;
    const last = j.lines.at(-1);
    const first = j.lines[0];
    const claimConn = [...j.lines].reverse().find((l) => l.conn !== null)?.conn ?? null;
    // The verifier's record of the login (it may still be authenticating), else what the session user's leash found.
    const live = (trusted ? verifyLoginConnection(trusted, j.uid, table) : null) ?? (claimConn ? verifyConnection(claimConn, j.uid, table) : null);
    const cmds = running.get(key) ?? [];
    const end = ends.get(j.session) ?? null;
    const expires = trusted?.expires ?? last?.expires ?? null;
    const claimedUser = last?.user ?? null;
    const user = trusted?.user ?? (claimedUser !== null && passwd.uidOf(claimedUser) === j.uid ? claimedUser : passwd.nameOf(j.uid));
    // What runs decides: a session still running after its end was recorded shows as running.
    let state: SessionState;
    if (cmds.length > 0) state = 'active';
    else if (live) state = 'idle';
    else state = end?.state ?? (expires !== null && expires <= now ? 'expired' : 'ended');
    sessions.push({
      session: j.session,
      identity: trusted?.identity ?? last?.identity ?? null,
      user,
      uid: j.uid,
      profile: trusted?.profile ?? last?.profile ?? null,
      client: last?.client ?? null,
      started: trusted?.at ?? first?.at ?? cmds[0]?.at ?? null,
      expires,
      state,
      commands: j.lines.filter((l) => l.t === 'allowed').length,
      denied: j.lines.filter((l) => l.t === 'denied').length,
      running: cmds,
      connection: live,
      source: trusted ? 'login' : 'claim',
      ended: end ? { state: end.state, at: end.at, reason: end.reason } : null,
      files: [
        ...(j.file ? [j.file] : []),
        ...(login && trusted ? [join(loginsDir(runtimeDir), `${j.session}.json`)] : []),
        ...(end ? [end.file] : []),
        ...(runningFiles.get(key) ?? []),
      ],
    });
  }
  sessions.sort((a, b) => (a.started ?? 0) - (b.started ?? 0) || (a.session < b.session ? -1 : a.session > b.session ? 1 : 0));
  // sshd may ask the verifier more than once per login (each answer a new session id): a login
  // that never ran anything, on a connection another session of it uses, is that same login.
  const used = new Set(sessions.filter((v) => v.connection && (v.commands + v.denied + v.running.length > 0)).map((v) => `${v.connection!.monitor.pid}:${v.connection!.monitor.start}`));
  const shown = sessions.filter((v) => !(v.source === 'login' && v.connection && v.commands + v.denied + v.running.length === 0 && used.has(`${v.connection.monitor.pid}:${v.connection.monitor.start}`)));
  return { sessions: shown, abandoned, planted };
}

/** Every pid of a session's running commands (for `leash sessions`' `pids`). */
export function sessionPids(s: SessionView): number[] {
  return [...new Set(s.running.flatMap((r) => r.pids))].sort((a, b) => a - b);
}
