import type { CommandContext } from './context.js';
import { EXIT } from './exit-codes.js';
import { guarded, operator } from './operator.js';
import { asLeashError } from '../errors.js';
import { printable } from '../encoding/printable.js';
import { reap } from '../session/end-sessions.js';
import { readPasswd } from '../session/passwd.js';
import { processTable } from '../session/proc.js';
import { readRegistry } from '../session/registry-read.js';
import { readRevocations, type Revocation } from '../session/revocations.js';
import { sessionJson, sessionTable } from '../session/sessions-view.js';
import { refreshKrl } from './revoke.js';

/**
 * `leash sessions [--json] [--all]`: the live sessions on this host, from the
 * registry checked against /proc (src/session/). `--reap`: one reaper round
 * (cron or a systemd timer runs it): expiry, revocations, abandoned commands.
 */
export const runSessions = guarded(async (ctx: CommandContext): Promise<number> => {
  const op = await operator(ctx, 'sessions');
  try {
    if (ctx.values['reap'] === true) {
      let entries: Revocation[] | null = null;
      try {
        entries = readRevocations(op.configDir);
      } catch (err) {
        process.stderr.write(`leash: ${asLeashError(err).message}\n`);
      }
      const r = await reap(op.config.runtimeDir, entries, Date.now(), op.audit);
      // A temporary revocation that ran out leaves the KRL too.
      if (entries !== null) refreshKrl(op.configDir, entries, Math.floor(Date.now() / 1000));
      for (const e of [...r.expired, ...r.revoked]) {
        if (e.kill && !e.kill.gone) process.stderr.write(`leash: session ${printable(e.view.session, 64)}: processes survived the kill\n`);
        if (e.problem !== null) process.stderr.write(`leash: session ${printable(e.view.session, 64)}: ${printable(e.problem, 500)}\n`);
      }
      for (const p of r.problems) process.stderr.write(`leash: ${printable(p, 500)}\n`);
      if (ctx.values['json'] === true) process.stdout.write(`${JSON.stringify({ expired: r.expired.map((e) => e.view.session), revoked: r.revoked.map((e) => e.view.session), abandoned: r.abandoned, removed: r.removed })}\n`);
      return [...r.expired, ...r.revoked].every((e) => (e.kill === null || e.kill.gone) && e.problem === null) && r.problems.length === 0 ? EXIT.OK : 1;
    }
    const now = Date.now();
    const { sessions } = readRegistry(op.config.runtimeDir, processTable(), readPasswd(), Math.floor(now / 1000));
    const shown = ctx.values['all'] === true ? sessions : sessions.filter((s) => s.state === 'active' || s.state === 'idle');
    process.stdout.write(ctx.values['json'] === true ? `${JSON.stringify(shown.map(sessionJson))}\n` : shown.length === 0 ? 'no sessions\n' : sessionTable(shown, now));
    return EXIT.OK;
  } finally {
    op.close();
  }
});
