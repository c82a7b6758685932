import type { CommandContext } from './context.js';
import { resolveConfigDir } from '../config/dir.js';
import { asLeashError, LeashError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { realFs } from '../policy/fs-view.js';
import { loadProfile } from '../policy/load.js';
import { decide } from '../shell/decide.js';

/**
 * `leash explain --profile NAME [--json] -- 'COMMAND LINE'`: the decision
 * `leash shell` would make, without running anything. Several words after
 * `--` are joined with single spaces, as the ssh client joins its argv.
 */
export async function runExplain(ctx: CommandContext): Promise<number> {
  const name = ctx.values['profile'];
  if (typeof name !== 'string') throw new LeashError('USAGE', 'explain needs --profile NAME');
  if (ctx.positionals.length === 0) throw new LeashError('USAGE', "explain needs the command line after --, e.g. leash explain --profile diagnostic -- 'df -h'");
  const json = ctx.values['json'] === true;
  const command = ctx.positionals.join(' ');
  let profile;
  try {
    profile = await loadProfile(resolveConfigDir(ctx.configDirFlag, ctx.env, true), name);
  } catch (err) {
    const e = asLeashError(err, 'PROFILE_INVALID');
    if (json) process.stdout.write(JSON.stringify({ decision: 'deny', reason: 'PROFILE_INVALID', detail: e.message }) + '\n');
    else process.stderr.write(`leash: profile ${name} does not load, so nothing is allowed: ${e.message}\n`);
    return EXIT.CONFIG;
  }
  const d = decide(profile, command, realFs);
  if (json) {
    const out = d.allow
      ? { decision: 'allow', reason: d.code, profile: profile.name, binary: d.stages[0]!.binary, argv: d.stages[0]!.argv, timeout_seconds: d.timeoutSeconds }
      : { decision: 'deny', reason: d.code, profile: profile.name, detail: d.detail, ...(d.argv ? { argv: d.argv } : {}) };
    process.stdout.write(JSON.stringify(out) + '\n');
  } else if (d.allow) {
    process.stdout.write(
      `decision: allow\nreason:   ${d.code}\nprofile:  ${profile.name}\nbinary:   ${d.stages[0]!.binary}\nargv:     ${JSON.stringify(d.stages[0]!.argv)}\ntimeout:  ${d.timeoutSeconds}s\n`,
    );
  } else {
    process.stdout.write(`decision: deny\nreason:   ${d.code}\nprofile:  ${profile.name}\ndetail:   ${d.detail}\n`);
  }
  return d.allow ? EXIT.OK : EXIT.DENIED;
}
