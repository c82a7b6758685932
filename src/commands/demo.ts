import { existsSync } from 'node:fs';
import type { CommandContext } from './context.js';
import { EXIT } from './exit-codes.js';
import { catchStopSignals } from './stop-signals.js';
import { isBuiltExecutable, selfPath } from './verifier-process.js';
import { LeashError, asLeashError } from '../errors.js';
import { printable } from '../encoding/printable.js';
import { runDemo, signalStatus, whyUnavailable } from '../demo/run-demo.js';

/**
 * `leash demo [--keep]`: the whole product on loopback (src/demo/run-demo.ts).
 * Needs root (it makes accounts and starts sshd) and the built executable
 * (sshd runs it). Exit 0 when every step showed what it says, 1 when one did
 * not or something was missing (nothing was changed then), 128+N when
 * stopped by signal N; everything it made is removed in every case, unless
 * --keep left it running until that signal.
 */
export async function runDemoCommand(ctx: CommandContext): Promise<number> {
  if (ctx.positionals.length > 0 || ctx.configDirFlag !== undefined) throw new LeashError('USAGE', 'usage: leash demo [--keep] (it makes its own configuration: no --config-dir)');
  const unavailable = whyUnavailable({ root: process.getuid?.() === 0, builtExecutable: isBuiltExecutable(), exists: existsSync });
  if (unavailable !== null) {
    process.stderr.write(`leash: ${unavailable.code}: ${unavailable.message}\n`);
    return 1;
  }
  // A reader that went away (leash demo | head) must not stop the demo before it has cleaned up.
  process.stdout.on('error', () => {});
  const caught = catchStopSignals();
  caught.signal.addEventListener('abort', () => process.stderr.write(`\nleash demo: ${String(caught.signal.reason)}: stopping everything it started and removing what it made...\n`), { once: true });
  try {
    await runDemo({ self: selfPath(), selfPid: process.pid, keep: ctx.values['keep'] === true, write: (s) => void process.stdout.write(s), colour: process.stdout.isTTY === true, signal: caught.signal });
    return caught.signal.aborted && ctx.values['keep'] !== true ? signalStatus(caught.signal) : EXIT.OK;
  } catch (err) {
    if (caught.signal.aborted) return signalStatus(caught.signal);
    const e = asLeashError(err, 'DEMO_FAILED');
    process.stderr.write(`leash: ${e.code}: ${printable(e.message, 2000)}\n`);
    return 1;
  } finally {
    caught.release();
  }
}
