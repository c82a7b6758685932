import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { LeashError } from '../errors.js';
import { writeFileAtomic } from '../trust/atomic-write.js';

/**
 * The memo of sshd's first AuthorizedKeysCommand call. sshd asks twice per
 * login with the same `%u %k %t`, from the same per-connection process: once
 * whether the key would do (the publickey query), once for the signed
 * request. The first call, after a full verification that accepted, leaves
 * the exact line it printed here; the second prints that line and deletes
 * it. One login is then one verification, one `verify.accepted` and one
 * session id, and the second call costs little more than the runtime's start.
 *
 * What a memo may answer, all checked on every use, any doubt being a miss
 * (a full verification follows, never an acceptance):
 *  - exactly the same arguments from the same parent process (sshd's
 *    connection): the file holds them and they are compared whole; its name is
 *    only a cheap hash of them (memoName), so a collision is just a miss;
 *  - at most MEMO_LIFE_MS old by the clock, and not from the future;
 *  - in the state directory usableVerifyState accepted (owned by this user,
 *    0700, under a root-owned runtime_dir), as a regular file with one link,
 *    owned by this user, no group/other permission, opened without following
 *    a symlink and judged through the descriptor;
 *  - claimed by renaming it to a name of this process's own before use, and
 *    used only if what was renamed is what was read: of two racing readers at
 *    most one gets it. It is deleted before the line is printed.
 * The hit path (answer()) loads nothing but node:fs and node:path: no
 * node:crypto, no process.stdout (commands/verify.ts writes with writeSync).
 */
export const MEMO_LIFE_MS = 10_000;
const FORMAT = 1;
/** The certificate (at most 64 KiB of base64) and the line, with room to spare. */
const MAX_MEMO_BYTES = 256 * 1024;
const MEMO_PREFIX = 'memo-';
const CLAIMED_PREFIX = 'claimed-';

export interface MemoKey {
  /** The verifier state directory (usableVerifyState). */
  dir: string;
  /** Everything the verdict depends on that differs between calls: parent pid, config dir, %u, %t, %k. */
  args: readonly string[];
  euid: number;
  pid: number;
}

/**
 * FNV-1a over the arguments, two 32-bit lanes with different offsets: 16 hex
 * digits, cheap, and no node:crypto. Not a security property: the name only
 * finds the file, whose content is compared in full.
 */
export function memoName(args: readonly string[]): string {
  let a = 0x811c9dc5;
  let b = 0x050c5d1f;
  const text = args.join('\u0000');
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return `${MEMO_PREFIX}${(a >>> 0).toString(16).padStart(8, '0')}${(b >>> 0).toString(16).padStart(8, '0')}`;
}

/** The line the first call printed for exactly these arguments, claimed and deleted; null on a miss of any kind. */
export function answerFromMemo(key: MemoKey, nowMs: number): string | null {
  const name = memoName(key.args);
  const path = join(key.dir, name);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return null; // none (the usual first call), or a symlink: a miss either way
  }
  let line: string | null;
  let st: ReturnType<typeof fstatSync> | undefined;
  try {
    st = fstatSync(fd);
    line = st.isFile() && st.nlink === 1 && st.uid === key.euid && (st.mode & 0o077) === 0 && st.size <= MAX_MEMO_BYTES ? readLine(fd, st.size, key.args, nowMs) : null;
  } catch {
    line = null;
  } finally {
    closeSync(fd);
  }
  if (line === null || st === undefined) return null;
  const read = st;
  // Claim it: only one process can rename this name away, and only what was read may be used.
  const claimed = join(key.dir, `${CLAIMED_PREFIX}${key.pid}-${name}`);
  try {
    renameSync(path, claimed);
  } catch {
    return null;
  }
  let same: boolean;
  try {
    const renamed = lstatSync(claimed);
    same = renamed.ino === read.ino && renamed.dev === read.dev;
    unlinkSync(claimed);
  } catch {
    same = false;
  }
  return same ? line : null;
}

function readLine(fd: number, size: number, args: readonly string[], nowMs: number): string | null {
  const buf = Buffer.alloc(size);
  let off = 0;
  while (off < size) {
    const n = readSync(fd, buf, off, size - off, off);
    if (n === 0) break;
    off += n;
  }
  let v: { format?: unknown; at?: unknown; args?: unknown; line?: unknown };
  try {
    v = JSON.parse(buf.subarray(0, off).toString('utf8')) as typeof v;
  } catch {
    return null;
  }
  if (v.format !== FORMAT || typeof v.at !== 'number' || typeof v.line !== 'string' || !Array.isArray(v.args)) return null;
  const age = nowMs - v.at;
  if (!(age >= 0 && age <= MEMO_LIFE_MS)) return null;
  if (v.args.length !== args.length || v.args.some((a, i) => a !== args[i])) return null;
  // What the first call printed: one authorized_keys line, nothing else.
  if (!v.line.startsWith('cert-authority,') || /[\u0000-\u001f\u007f]/.test(v.line)) return null;
  return v.line;
}

/**
 * Leaves `line` for the second call (the miss path, after the verification
 * was accepted and logged). Replaces any memo for the same arguments
 * atomically, mode 0600, and removes memos older than their life. Returns
 * VERIFY_STATE_UNUSABLE if it could not be written: the second call then
 * verifies in full, which is only slower.
 */
export function saveMemo(key: MemoKey, line: string, nowMs: number): LeashError | null {
  const path = join(key.dir, memoName(key.args));
  try {
    writeFileAtomic(path, JSON.stringify({ format: FORMAT, at: nowMs, args: key.args, line }), 0o600);
  } catch (err) {
    return new LeashError('VERIFY_STATE_UNUSABLE', `cannot write the memo ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  sweep(key.dir, nowMs);
  return null;
}

/** Memos nobody claimed (a client that never sent the signed request) and leftovers of crashed claims. */
function sweep(dir: string, nowMs: number): void {
  try {
    for (const name of readdirSync(dir)) {
      // (also the temporary files of an interrupted writeFileAtomic: .memo-…tmp)
      if (!name.startsWith(MEMO_PREFIX) && !name.startsWith(CLAIMED_PREFIX) && !name.startsWith(`.${MEMO_PREFIX}`)) continue;
      const p = join(dir, name);
      if (nowMs - lstatSync(p).mtimeMs > 2 * MEMO_LIFE_MS) unlinkSync(p);
    }
  } catch {
    /* a leftover memo is only a directory entry; it can never answer past its life */
  }
}
