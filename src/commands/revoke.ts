import { readFileSync } from 'node:fs';
import type { CommandContext } from './context.js';
import { EXIT } from './exit-codes.js';
import { flag, guarded, operator } from './operator.js';
import { LeashError } from '../errors.js';
import { printable } from '../encoding/printable.js';
import { parseDuration } from '../config/yaml-reader.js';
import { writeKrl } from '../ca/revoked-keys.js';
import { publicKeyFingerprint } from '../ca/public-key.js';
import { endRevokedSessions, sessionsNamed } from '../session/end-sessions.js';
import {
  MAX_REASON_CHARS,
  REVOCATION_KINDS,
  readRevocations,
  revocationValue,
  writeRevocations,
  type Revocation,
  type RevocationKind,
} from '../session/revocations.js';

/** Rewrites the KRL (CA mode) from the list; a no-op on a host without one. */
export function refreshKrl(configDir: string, entries: readonly Revocation[], now: number): void {
  writeKrl(configDir, entries, now);
}

/** The one kind/value the command line names (`--key FILE` becomes the key's fingerprint). */
function target(ctx: CommandContext, command: string): { kind: RevocationKind; value: string } {
  const given = [...REVOCATION_KINDS].filter((k) => flag(ctx, k) !== undefined);
  if (given.length !== 1) throw new LeashError('USAGE', `usage: leash ${command} (--session ID | --identity ID | --user USER | --serial N | --key FILE)${command === 'revoke' ? ' [--reason TEXT] [--for DURATION]' : ''}`);
  const kind = given[0]!;
  let value = flag(ctx, kind)!;
  if (kind === 'key') {
    let text: string;
    try {
      text = readFileSync(value, 'utf8');
    } catch (err) {
      throw new LeashError('USAGE', `--key ${value}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    value = publicKeyFingerprint(text);
  }
  const checked = revocationValue(kind, value);
  if ('problem' in checked) throw new LeashError('USAGE', checked.problem);
  return { kind, value: checked.value };
}

/**
 * `leash revoke (--session ID | --identity ID | --user USER | --serial N | --key FILE)
 * [--reason TEXT] [--for DURATION]` and `leash revoke --list [--json]`:
 * adds an entry to the revocation list (atomic replace), rewrites the KRL in
 * CA mode, then ends every matching live session — its commands killed and
 * its connection closed — within a second. Audited as `session.revoked`
 * and, per session ended, `session.killed`.
 */
export const runRevoke = guarded(async (ctx: CommandContext): Promise<number> => {
  const op = await operator(ctx, 'revoke');
  try {
    const now = Math.floor(Date.now() / 1000);
    const entries = readRevocations(op.configDir);
    if (ctx.values['list'] === true) return list(ctx, entries, now);
    const { kind, value } = target(ctx, 'revoke');
    const reason = flag(ctx, 'reason') ?? '';
    if (reason.length > MAX_REASON_CHARS) throw new LeashError('USAGE', `--reason is longer than ${MAX_REASON_CHARS} characters`);
    const forText = flag(ctx, 'for');
    const seconds = forText === undefined ? null : parseDuration(forText);
    if (forText !== undefined && seconds === null) throw new LeashError('USAGE', `--for ${JSON.stringify(forText)}: a duration like 30s, 15m, 4h, 7d`);
    const entry: Revocation = { kind, value, reason, by: op.by, at: now, until: seconds === null ? null : now + seconds };
    // One entry per kind and value: revoking again replaces the reason and the end.
    const next = [...entries.filter((e) => !(e.kind === kind && e.value === value)), entry];
    writeRevocations(op.configDir, next);
    refreshKrl(op.configDir, next, now);
    op.audit({ event: 'session.revoked', kind, [kind]: value, reason, by: op.by, until: entry.until === null ? null : new Date(entry.until * 1000).toISOString() });
    const ended = await endRevokedSessions(op.config.runtimeDir, [entry], now, op.audit);
    // A login in flight while the list was written registers a moment later: look once more.
    const late = await endRevokedSessions(op.config.runtimeDir, [entry], now, op.audit);
    const all = [...ended, ...late];
    process.stdout.write(`revoked ${kind} ${printable(value, 300)}${entry.until === null ? '' : ` until ${new Date(entry.until * 1000).toISOString()}`}\n`);
    for (const e of all) {
      const k = e.kill;
      process.stdout.write(`  ended session ${printable(e.view.session, 64)} (${printable(e.view.identity ?? '-', 100)} as ${printable(e.view.user ?? '?', 40)}): ${k === null ? 'not running' : `${k.killed.length} process(es) killed${k.gone ? '' : ', SOME SURVIVED'}`}\n`);
      if (e.problem !== null) process.stderr.write(`leash: session ${printable(e.view.session, 64)}: ${printable(e.problem, 500)}\n`);
    }
    // A value that names no session this host has seen is most often a typo: say so (the entry stands).
    if (kind !== 'key' && all.length === 0 && sessionsNamed(op.config.runtimeDir, entry, now) === 0) {
      process.stderr.write(`leash: note: no session on this host, live or ended in the last 24 hours, is named by ${kind} ${printable(value, 300)}; the entry refuses it from its next login or command\n`);
    }
    return all.every((e) => (e.kill === null || e.kill.gone) && e.problem === null) ? EXIT.OK : 1;
  } finally {
    op.close();
  }
});

/** `leash unrevoke (--session ID | … )`: removes the entry; audited as `session.unrevoked`. */
export const runUnrevoke = guarded(async (ctx: CommandContext): Promise<number> => {
  const op = await operator(ctx, 'unrevoke');
  try {
    const now = Math.floor(Date.now() / 1000);
    const entries = readRevocations(op.configDir);
    const { kind, value } = target(ctx, 'unrevoke');
    const next = entries.filter((e) => !(e.kind === kind && e.value === value));
    if (next.length === entries.length) {
      process.stderr.write(`leash: ${kind} ${printable(value, 300)} is not revoked\n`);
      return 1;
    }
    writeRevocations(op.configDir, next);
    refreshKrl(op.configDir, next, now);
    op.audit({ event: 'session.unrevoked', kind, [kind]: value, by: op.by });
    process.stdout.write(`unrevoked ${kind} ${printable(value, 300)}\n`);
    return EXIT.OK;
  } finally {
    op.close();
  }
});

function list(ctx: CommandContext, entries: readonly Revocation[], now: number): number {
  const live = entries.filter((e) => e.until === null || e.until > now);
  if (ctx.values['json'] === true) {
    process.stdout.write(`${JSON.stringify(live.map((e) => ({ kind: e.kind, value: e.value, reason: e.reason, by: e.by, at: new Date(e.at * 1000).toISOString(), until: e.until === null ? null : new Date(e.until * 1000).toISOString() })))}\n`);
    return EXIT.OK;
  }
  if (live.length === 0) process.stdout.write('nothing is revoked\n');
  for (const e of live) {
    const until = e.until === null ? 'until unrevoked' : `until ${new Date(e.until * 1000).toISOString()}`;
    process.stdout.write(`${e.kind} ${printable(e.value, 300)}  ${until}  by ${printable(e.by, 64)} at ${new Date(e.at * 1000).toISOString()}${e.reason ? `: ${printable(e.reason, MAX_REASON_CHARS)}` : ''}\n`);
  }
  return EXIT.OK;
}
