/**
 * The session registry's writers, on the login and command hot paths: small
 * files under `<runtime_dir>` (layout in src/runtime/layout.ts), each written
 * by the account that runs the step, never read back by anyone but root
 * (registry-read.ts) — except the names in `running/`, which every session
 * user counts for the per-identity limit.
 *
 *   logins/<sid>.json              by leash verify: session, identity, user, profile,
 *                                  expiry and the connection's sshd monitor (pid + start)
 *   sessions/<sid>.u<uid>          by leash shell: one JSON line per command decision
 *                                  (O_APPEND); a line's position is the command's seq
 *   sessions/running/<ikey>.<pid>.<start>
 *                                  by leash shell, while its command runs
 *
 * Everything a non-root account writes is a claim: root's reader checks it
 * against /proc and acts only on processes the writer could signal itself.
 * Any failure to write is SESSION_REGISTRY_UNAVAILABLE: the caller refuses,
 * because a login or command leash cannot find again is one it cannot stop.
 */
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync, readSync, readdirSync, unlinkSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { LeashError } from '../errors.js';
import { loginsDir, runningDir, sessionsDir } from '../runtime/layout.js';
import type { ConnectionRef, ProcRef } from './connection.js';
import { isSameProcess, readProc } from './proc.js';
import { SESSION_NAME } from './session-name.js';

/** A login as `leash verify` records it. */
export interface LoginEntry {
  session: string;
  identity: string;
  user: string;
  profile: string;
  expires: number;
  monitor: ProcRef;
  /** Unix milliseconds. */
  at: number;
}

/** One line of a session journal. */
export interface JournalLine {
  t: 'allowed' | 'denied';
  pid: number;
  start: number;
  at: number;
  identity: string | null;
  user: string;
  profile: string;
  expires: number | null;
  client: string | null;
  conn: ConnectionRef | null;
  command: string | null;
}

/** A running command's file in running/. */
export interface RunningEntry {
  session: string;
  identity: string | null;
  user: string;
  seq: number | null;
  command: string | null;
  at: number;
  conn: ConnectionRef | null;
}

const unavailable = (what: string, err: unknown): LeashError =>
  new LeashError('SESSION_REGISTRY_UNAVAILABLE', `${what}: ${(err as NodeJS.ErrnoException).code ?? String(err)} (is the runtime directory set up? leash runtime init)`);

function assertSessionName(session: string): void {
  if (!SESSION_NAME.test(session)) throw new LeashError('SESSION_ID_INVALID', `session id ${JSON.stringify(session.slice(0, 80))} must match ${SESSION_NAME.source}`);
}

/** Writes `data` as a new file (O_EXCL, never through a symlink); false when it already exists. */
function createFile(path: string, data: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    const buf = Buffer.from(data, 'utf8');
    if (writeSync(fd, buf) !== buf.length) throw new Error('short write');
  } finally {
    closeSync(fd);
  }
  return true;
}

/**
 * `leash verify`'s record of an accepted login. sshd asks twice per login
 * with the same session id (the verifier's memo): the second call finds the
 * entry there and leaves it.
 */
export function registerLogin(runtimeDir: string, entry: LoginEntry): void {
  assertSessionName(entry.session);
  const path = join(loginsDir(runtimeDir), `${entry.session}.json`);
  try {
    createFile(path, `${JSON.stringify(entry)}\n`);
  } catch (err) {
    throw unavailable(`cannot record the login in ${path}`, err);
  }
}

/** What `leash shell` knows about itself when it records a command. */
export interface CommandContext {
  runtimeDir: string;
  session: string;
  identity: string | undefined;
  user: string;
  uid: number;
  profile: string;
  expires: number | undefined;
  client: string | undefined;
  conn: ConnectionRef | null;
  self: ProcRef;
}

/** The most a session journal holds: past it, the session's next command is refused (SESSION_JOURNAL_FULL). */
export const MAX_JOURNAL_BYTES = 16 * 1024 * 1024;
/** What root's reader takes of a journal: the bound, and room for lines that concurrent commands added at it. */
export const MAX_JOURNAL_READ_BYTES = MAX_JOURNAL_BYTES + 1024 * 1024;
/** The journal keeps the start of the command (the audit log keeps it whole), so that lines stay small. */
const JOURNAL_TEXT_CHARS = 200;

/**
 * Appends this command's decision to its session's journal and returns its
 * sequence number in the session (1, 2, …): the count of lines up to and
 * including its own. The journal is the session user's own file. Another
 * account may have put a file or a symlink under that name first (the
 * session id is in `ps`; sessions/ is sticky, so the session user cannot
 * remove it): then, and whenever the name cannot be opened, the line goes to
 * a new file under an unpredictable name beside it (its seq then counts that
 * file only), and the reaper removes the planted name.
 */
export function journalCommand(ctx: CommandContext, verdict: 'allowed' | 'denied', command: string | undefined): number {
  assertSessionName(ctx.session);
  const line: JournalLine = {
    t: verdict,
    pid: ctx.self.pid,
    start: ctx.self.start,
    at: Date.now(),
    identity: ctx.identity ?? null,
    user: ctx.user,
    profile: ctx.profile,
    expires: ctx.expires ?? null,
    client: ctx.client?.slice(0, JOURNAL_TEXT_CHARS) ?? null,
    conn: ctx.conn,
    command: command?.slice(0, JOURNAL_TEXT_CHARS) ?? null,
  };
  const text = `${JSON.stringify(line)}\n`;
  const base = join(sessionsDir(ctx.runtimeDir), `${ctx.session}.u${ctx.uid}`);
  let own = openJournal(base, ctx.uid, false);
  if (typeof own !== 'number') own = openJournal(`${base}.${unpredictable()}`, ctx.uid, true);
  if (typeof own !== 'number') throw unavailable(`cannot open the session journal ${base}, nor a new one beside it`, own);
  try {
    if (fstatSync(own).size >= MAX_JOURNAL_BYTES) {
      throw new LeashError('SESSION_JOURNAL_FULL', `this session has journalled ${MAX_JOURNAL_BYTES / 1024 / 1024} MiB of commands, the most leash keeps for one session: open a new connection`);
    }
    const buf = Buffer.from(text, 'utf8');
    if (writeSync(own, buf) !== buf.length) throw new Error('short write');
    const all = readWhole(own);
    const mine = all.indexOf(`"pid":${ctx.self.pid},"start":${ctx.self.start},`);
    let seq = 0;
    for (let i = all.indexOf(10); i !== -1 && i < mine; i = all.indexOf(10, i + 1)) seq++;
    return seq + 1;
  } catch (err) {
    if (err instanceof LeashError) throw err;
    throw unavailable(`cannot write the session journal ${base}`, err);
  } finally {
    closeSync(own);
  }
}

/**
 * A descriptor of the journal at `path` (created when `exclusive`, else
 * opened or created), if it is a regular file of `uid`'s; otherwise why not
 * (what another account planted: a symlink, its own file, a FIFO).
 */
function openJournal(path: string, uid: number, exclusive: boolean): number | Error {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW | constants.O_NONBLOCK | (exclusive ? constants.O_EXCL : 0), 0o600);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
  try {
    const st = fstatSync(fd);
    if (st.isFile() && st.uid === uid) return fd;
  } catch {
    /* as if it were not ours */
  }
  closeSync(fd);
  return Object.assign(new Error('not a file of its own'), { code: 'EPERM' });
}

/** 64 random bits in hex: a name no other account can plant in advance (node:crypto loaded only here). */
function unpredictable(): string {
  return process.getBuiltinModule('node:crypto').randomBytes(8).toString('hex');
}

/** The file from its start (an O_APPEND descriptor's position is its end). */
function readWhole(fd: number): Buffer {
  const buf = Buffer.alloc(fstatSync(fd).size);
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, off);
    if (n === 0) break;
    off += n;
  }
  return buf.subarray(0, off);
}

/**
 * The name of an identity in running/: the label with `/` (the only label
 * character a file name cannot hold) as `%2F`; an identity-less session
 * counts under `~<local user>`. Neither `%` nor `~` occurs in a label, so
 * the mapping is one-to-one.
 */
export function identityKey(identity: string | undefined, user: string): string {
  return identity === undefined ? `~${user}` : identity.replaceAll('/', '%2F');
}

/** A running command's registration; release() when it has finished. */
export interface CommandSlot {
  release(): void;
}

/**
 * Registers the running command and enforces the per-identity limit: the
 * command's file is created first, then the identity's files are counted.
 * A file counts only when it names a live leash (pid and start time) that
 * runs as the file's owner with this `--identity` on its command line: a
 * file whose process is gone does not count, and nobody can use up another
 * identity's limit with files of their own. Over the limit, the file is
 * removed again and CONCURRENCY_LIMIT thrown. Two commands that start at the
 * same moment at the limit may both be refused, never both admitted.
 */
export function acquireCommandSlot(ctx: CommandContext, seq: number | null, command: string | undefined, limit: number): CommandSlot {
  const dir = runningDir(ctx.runtimeDir);
  const key = identityKey(ctx.identity, ctx.user);
  if (Buffer.byteLength(key) > 200) throw new LeashError('SESSION_ID_INVALID', 'identity label too long for the registry');
  const base = join(dir, `${key}.${ctx.self.pid}.${ctx.self.start}`);
  const entry: RunningEntry = { session: ctx.session, identity: ctx.identity ?? null, user: ctx.user, seq, command: command ?? null, at: Date.now(), conn: ctx.conn };
  let path = base;
  try {
    // A name planted by another account (it knew this pid) costs only a suffix.
    if (!createFile(path, `${JSON.stringify(entry)}\n`)) {
      path = `${base}~${process.hrtime.bigint().toString(16).slice(-8)}`;
      if (!createFile(path, `${JSON.stringify(entry)}\n`)) throw Object.assign(new Error('already registered'), { code: 'EEXIST' });
    }
  } catch (err) {
    throw unavailable(`cannot register the command in ${dir}`, err);
  }
  const release = (): void => {
    try {
      unlinkSync(path);
    } catch {
      /* already gone (the reaper took it) */
    }
  };
  let live = 0;
  try {
    for (const name of readdirSync(dir)) {
      const m = RUNNING_NAME.exec(name);
      if (!m || m[1] !== key) continue;
      const pid = Number(m[2]);
      if (!isSameProcess(pid, Number(m[3]))) continue;
      if (name === basename(path) || holds(join(dir, name), pid, ctx)) live++;
    }
  } catch (err) {
    release();
    throw unavailable(`cannot count the running commands in ${dir}`, err);
  }
  if (live > limit) {
    release();
    throw new LeashError('CONCURRENCY_LIMIT', `${ctx.identity ?? ctx.user} already runs ${live - 1} command(s) on this host (limit ${limit})`);
  }
  return { release };
}

/** `<identity key>.<pid>.<start>[~<hex>]`. */
export const RUNNING_NAME = /^(.+)\.([0-9]{1,10})\.([0-9]{1,20})(?:~[0-9a-f]{1,16})?$/;

/**
 * Whether the file really is a running command of this identity: its owner
 * is the uid the process runs as, and the process is a leash whose command
 * line names this identity (sshd set it; no account can rewrite another's).
 * An identity-less session counts only its own local user's files.
 */
function holds(file: string, pid: number, ctx: CommandContext): boolean {
  try {
    const owner = lstatSync(file).uid;
    const p = readProc(pid);
    if (!p || p.uid !== owner || p.euid !== owner) return false;
    if (ctx.identity === undefined) return owner === ctx.uid;
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
    const i = argv.indexOf('--identity');
    return (i >= 0 && argv[i + 1] === ctx.identity) || argv.includes(`--identity=${ctx.identity}`);
  } catch {
    return false;
  }
}
