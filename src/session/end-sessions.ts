/**
 * Root's actions on sessions: end the ones a revocation names, and the
 * reaper's rounds (expiry, revocations that arrived while a login was in
 * flight, abandoned commands, stale entries). Every kill goes through
 * kill.ts; every end is audited and marked in the registry (`<sid>.end`,
 * root-owned) so that `leash sessions --all` shows why it ended.
 */
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent } from '../audit/log.js';
import { sessionsDir } from '../runtime/layout.js';
import { writeFileAtomic } from '../trust/atomic-write.js';
import { killSession, type KillResult } from './kill.js';
import { readPasswd } from './passwd.js';
import { processTable } from './proc.js';
import { readRegistry, type EndMarker, type SessionView } from './registry-read.js';
import { matchRevocation, type Revocation } from './revocations.js';
import { SESSION_NAME } from './session-name.js';

export type AuditSink = (event: AuditEvent) => void;

/** How long the registry keeps an ended session for `leash sessions --all`. */
export const ENDED_RETENTION_MS = 24 * 3600 * 1000;

export interface EndedSession {
  view: SessionView;
  kill: KillResult | null;
  /** What went wrong for this session (its end not recorded or audited, the kill failed); the others are ended all the same. */
  problem: string | null;
}

export function isLive(v: SessionView): boolean {
  return v.state === 'active' || v.state === 'idle';
}

/** Root's `<sid>.end`; `session` is always a SESSION_NAME (registry-read.ts), checked again before it becomes a path. */
function markEnded(runtimeDir: string, session: string, marker: EndMarker): void {
  if (!SESSION_NAME.test(session)) throw new Error(`not a session name: ${JSON.stringify(session.slice(0, 80))}`);
  writeFileAtomic(join(sessionsDir(runtimeDir), `${session}.end`), `${JSON.stringify(marker)}\n`, 0o644);
}

const why = (err: unknown): string => (err as NodeJS.ErrnoException).code ?? (err instanceof Error ? err.message : String(err));

function subject(v: SessionView): { session: string; identity?: string; user?: string } {
  return { session: v.session, ...(v.identity === null ? {} : { identity: v.identity }), ...(v.user === null ? {} : { user: v.user }) };
}

function who(v: SessionView): Omit<AuditEvent, 'event'> {
  return { session: v.session, identity: v.identity ?? undefined, user: v.user ?? undefined, profile: v.profile ?? undefined, client: v.client ?? undefined };
}

/**
 * Kills what is left of `v`, records why it ended and audits the kill. A
 * failure here is this session's: it is reported in `problem` and the caller
 * goes on with the next session (another account can, for instance, take the
 * name of a session's end marker with a directory).
 */
async function end(runtimeDir: string, v: SessionView, state: 'revoked' | 'expired', reason: string, audit: AuditSink): Promise<EndedSession> {
  let kill: KillResult | null = null;
  const problems: string[] = [];
  try {
    if (isLive(v)) kill = await killSession(v);
  } catch (err) {
    problems.push(`cannot kill it: ${why(err)}`);
  }
  try {
    markEnded(runtimeDir, v.session, { state, at: Date.now(), reason });
  } catch (err) {
    problems.push(`cannot record its end: ${why(err)}`);
  }
  if (kill) {
    try {
      audit({
        event: state === 'expired' ? 'session.expired' : 'session.killed',
        ...who(v),
        reason: state === 'expired' ? 'SESSION_EXPIRED' : 'SESSION_REVOKED',
        detail: reason,
        expires: v.expires === null ? undefined : new Date(v.expires * 1000).toISOString(),
        pids: kill.killed.map(String),
        connection: v.connection ? String(v.connection.monitor.pid) : undefined,
        closed: kill.gone,
      });
    } catch (err) {
      problems.push(`cannot audit the kill: ${why(err)}`);
    }
  }
  return { view: v, kill, problem: problems.length > 0 ? problems.join('; ') : null };
}

/** Ends every session an entry of `entries` refuses now: commands killed, connection closed, audited. */
export async function endRevokedSessions(runtimeDir: string, entries: readonly Revocation[], now: number, audit: AuditSink): Promise<EndedSession[]> {
  const reg = readRegistry(runtimeDir, processTable(), readPasswd(), now);
  const out: EndedSession[] = [];
  for (const v of reg.sessions) {
    if (!isLive(v) && v.ended !== null) continue;
    const hit = matchRevocation(entries, subject(v), now);
    if (hit) out.push(await end(runtimeDir, v, 'revoked', `${hit.kind} ${hit.value} revoked${hit.reason ? `: ${hit.reason}` : ''}`, audit));
  }
  return out;
}

/** How many sessions the registry knows (live, or ended within ENDED_RETENTION_MS) that `entry` names. */
export function sessionsNamed(runtimeDir: string, entry: Revocation, now: number): number {
  const reg = readRegistry(runtimeDir, processTable(), readPasswd(), now);
  return reg.sessions.filter((v) => matchRevocation([entry], subject(v), now) !== null).length;
}

export interface ReapReport {
  expired: EndedSession[];
  revoked: EndedSession[];
  abandoned: number;
  removed: number;
  /** Failures that concern one session or entry each (the round went on). */
  problems: string[];
}

/**
 * One round of the reaper (`leash sessions --reap`, from cron or a systemd
 * timer): sessions past their expiry are ended; sessions a revocation names
 * are ended (a login that was in flight while `leash revoke` ran); commands
 * whose leash died without finishing are audited as `shell.abandoned`;
 * journal names planted by another account and sessions ended longer than
 * ENDED_RETENTION_MS ago are removed.
 * `entries` is null when the revocation list cannot be read (then only
 * expiry is enforced here; logins and commands are refused anyway).
 */
export async function reap(runtimeDir: string, entries: readonly Revocation[] | null, nowMs: number, audit: AuditSink): Promise<ReapReport> {
  const now = Math.floor(nowMs / 1000);
  const reg = readRegistry(runtimeDir, processTable(), readPasswd(), now);
  const report: ReapReport = { expired: [], revoked: [], abandoned: 0, removed: 0, problems: [] };
  for (const a of reg.abandoned) {
    try {
      audit({
        event: 'shell.abandoned',
        session: a.entry.session,
        identity: a.entry.identity ?? undefined,
        user: a.entry.user || undefined,
        seq: a.entry.seq ?? undefined,
        command: a.entry.command ?? undefined,
        reason: 'INTERNAL',
        detail: `leash (pid ${a.pid}) ended without recording the end of its command: it was killed (SIGKILL) or the host stopped`,
      });
    } catch (err) {
      // Kept for the next round: its end is not in the audit log yet.
      report.problems.push(`session ${a.entry.session}: cannot audit its abandoned command: ${why(err)}`);
      continue;
    }
    remove(a.file);
    report.abandoned++;
  }
  // A journal name another account took (its file, a symlink): removed, so the session journals under its own name again.
  for (const file of reg.planted) {
    remove(file);
    report.removed++;
  }
  for (const v of reg.sessions) {
    if (!isLive(v) && v.ended !== null) {
      if (nowMs - v.ended.at > ENDED_RETENTION_MS) report.removed += removeSession(runtimeDir, v);
      continue;
    }
    if (isLive(v) && v.expires !== null && v.expires <= now) {
      report.expired.push(await end(runtimeDir, v, 'expired', `expired at ${new Date(v.expires * 1000).toISOString()}`, audit));
      continue;
    }
    const hit = entries === null ? null : matchRevocation(entries, subject(v), now);
    if (hit) {
      report.revoked.push(await end(runtimeDir, v, 'revoked', `${hit.kind} ${hit.value} revoked${hit.reason ? `: ${hit.reason}` : ''}`, audit));
      continue;
    }
    // Not running and no connection: ended (a login still authenticating has no user process yet, but it has run nothing either).
    if (!isLive(v) && v.ended === null) {
      try {
        markEnded(runtimeDir, v.session, { state: v.state === 'expired' ? 'expired' : 'ended', at: nowMs, reason: 'connection closed' });
      } catch (err) {
        report.problems.push(`session ${v.session}: cannot record its end: ${why(err)}`);
      }
    }
  }
  return report;
}

function remove(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    /* already gone */
  }
}

/** Removes a session's files, including fallback journals (`<sid>.u<uid>.<x>`). */
function removeSession(runtimeDir: string, v: SessionView): number {
  const dir = sessionsDir(runtimeDir);
  const extra = (() => {
    try {
      return readdirSync(dir).filter((n) => n.startsWith(`${v.session}.`)).map((n) => join(dir, n));
    } catch {
      return [];
    }
  })();
  const files = [...new Set([...v.files, ...extra])];
  for (const f of files) remove(f);
  return files.length;
}
