import type { CommandContext } from './context.js';
import { resolveConfigDir } from '../config/dir.js';
import { doctorChecks } from '../doctor/run.js';
import { printable } from '../encoding/printable.js';

/**
 * `leash doctor`: checks this host the way sshd and leash will use it and
 * prints a checklist, with a fix under every failure (src/doctor/).
 * Exit 0 when nothing failed (warnings allowed), 1 otherwise.
 */
export async function runDoctor(ctx: CommandContext, out: (text: string) => void = (t) => void process.stdout.write(t)): Promise<number> {
  if (ctx.positionals.length > 0) {
    out('usage: leash doctor [--config-dir DIR]\n');
    return 64;
  }
  const configDir = resolveConfigDir(ctx.configDirFlag, ctx.env, true);
  const results = await doctorChecks(configDir, process.execPath);
  out(`leash doctor (config ${configDir})\n`);
  // Details can quote what a provider or a file said: escaped, one line each.
  for (const r of results) {
    out(`${r.status === 'ok' ? '[ok]  ' : r.status === 'warn' ? '[warn]' : '[FAIL]'} ${printable(r.name)}: ${printable(r.detail)}\n`);
    if (r.fix && r.status !== 'ok') out(`       fix: ${printable(r.fix)}\n`);
  }
  const failed = results.filter((r) => r.status === 'fail').length;
  out(failed === 0 ? 'all checks passed\n' : `${failed} check(s) failed\n`);
  return failed === 0 ? 0 : 1;
}

