import type { CommandContext } from './context.js';
import { EXIT } from './exit-codes.js';
import { flag, guarded, operator } from './operator.js';
import { LeashError } from '../errors.js';
import { Follower } from '../session/follow.js';
import { namedIdentity } from '../session/identity-label.js';
import { formatEvent, formatOutput, matches, parseAuditLine, type WatchFilter } from '../session/watch-format.js';

const TICK_MS = 200;

/**
 * `leash watch [--session ID] [--identity ID] [--user U] [--json] [--output] [--replay]`:
 * follows the audit log (and, with --output, the recordings log) until
 * interrupted. --json passes matching events through byte for byte.
 */
export const runWatch = guarded(async (ctx: CommandContext): Promise<number> => {
  const op = await operator(ctx, 'watch');
  op.close();
  const identity = flag(ctx, 'identity');
  const named = identity === undefined ? undefined : namedIdentity(identity);
  if (named !== undefined && 'problem' in named) throw new LeashError('USAGE', named.problem);
  const filter: WatchFilter = { session: flag(ctx, 'session'), identity: named?.value, user: flag(ctx, 'user') };
  const unfiltered = filter.session === undefined && filter.identity === undefined && filter.user === undefined;
  const json = ctx.values['json'] === true;
  const replay = ctx.values['replay'] === true;
  const colour = !json && process.stdout.isTTY === true;
  const audit = new Follower(ctx.env['LEASH_AUDIT_LOG'] ?? op.config.auditLog, replay);
  const recordings = ctx.values['output'] === true ? new Follower(op.config.recordingsLog, replay) : null;
  // Recordings carry only the session: the audit events say whose it is.
  const sessions = new Set<string>();
  const partial = new Map<string, string>();
  const write = (s: string): void => void process.stdout.write(`${s}\n`);
  let stop = false;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(sig, () => (stop = true));
  while (!stop) {
    for (const line of audit.poll()) {
      const e = parseAuditLine(line);
      if (e === null || !matches(e, filter)) continue;
      if (typeof e['session'] === 'string') sessions.add(e['session']);
      write(json ? line : formatEvent(e, colour));
    }
    for (const line of recordings?.poll() ?? []) {
      const r = parseAuditLine(line);
      const session = typeof r?.['session'] === 'string' ? r['session'] : null;
      if (!r || !(unfiltered || (session !== null && (sessions.has(session) || session === filter.session)))) continue;
      if (json) {
        write(line);
        continue;
      }
      const key = `${session}:${String(r['seq'])}:${String(r['pid'])}:${String(r['stream'])}`;
      const stream = String(r['stream']);
      if (typeof r['data'] === 'string') {
        const lines = ((partial.get(key) ?? '') + Buffer.from(r['data'], 'base64').toString('latin1')).split('\n');
        partial.set(key, lines.pop() ?? '');
        for (const l of lines) write(formatOutput(session, r['seq'], stream, Buffer.from(l, 'latin1').toString('utf8'), colour));
      } else {
        const rest = partial.get(key);
        if (rest) write(formatOutput(session, r['seq'], stream, Buffer.from(rest, 'latin1').toString('utf8'), colour));
        partial.delete(key);
        if (r['truncated'] === true) write(formatOutput(session, r['seq'], stream, `[${String(r['bytes'])} bytes, first ${String(r['recorded'])} recorded]`, colour));
      }
    }
    await new Promise((r) => setTimeout(r, TICK_MS));
  }
  audit.close();
  recordings?.close();
  return EXIT.OK;
});
