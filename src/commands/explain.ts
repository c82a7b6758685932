import type { CommandContext } from './context.js';
import { resolveConfigDir } from '../config/dir.js';
import { asLeashError, LeashError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { realFs } from '../policy/fs-view.js';
import { loadProfile } from '../policy/load.js';
import { profileNameFor } from '../policy/profile-name.js';
import type { Profile } from '../policy/types.js';
import { decide } from '../shell/decide.js';

/**
 * `leash explain [--profile NAME] [--json] -- 'COMMAND LINE'`: the decision
 * `leash shell` would make, without running anything. Several words after
 * `--` are joined with single spaces, as the ssh client joins its argv.
 * Without --profile, the profile a session gets by default. The JSON names
 * what the audit log names (timeout_ms, argv, reason, detail).
 */
export async function runExplain(ctx: CommandContext): Promise<number> {
  if (ctx.positionals.length === 0) throw new LeashError('USAGE', "explain needs the command line after --, e.g. leash explain -- 'df -h'");
  const json = ctx.values['json'] === true;
  const command = ctx.positionals.join(' ');
  const flag = typeof ctx.values['profile'] === 'string' ? ctx.values['profile'] : undefined;
  // null until leash.yaml says which profile a session gets by default.
  let name: string | null = flag ?? null;
  let profile: Profile;
  try {
    const configDir = resolveConfigDir(ctx.configDirFlag, ctx.env, true);
    name = await profileNameFor(flag, configDir);
    profile = await loadProfile(configDir, name);
  } catch (err) {
    const e = asLeashError(err, 'PROFILE_INVALID');
    if (json) process.stdout.write(JSON.stringify({ decision: 'deny', reason: 'PROFILE_INVALID', profile: name, detail: e.message }) + '\n');
    else process.stderr.write(`leash: ${name === null ? 'the default profile' : `profile ${name}`} does not load, so nothing is allowed: ${e.message}\n`);
    return EXIT.CONFIG;
  }
  const d = decide(profile, command, realFs);
  if (json) {
    const out = d.allow
      ? {
          decision: 'allow',
          reason: d.code,
          profile: profile.name,
          // binary and argv: the first stage, as in the audit event of a single command
          binary: d.stages[0]!.binary,
          argv: d.stages[0]!.argv,
          stages: d.stages.map((s) => ({ command: s.command, binary: s.binary, argv: s.argv })),
          timeout_ms: d.timeoutSeconds * 1000,
        }
      : { decision: 'deny', reason: d.code, profile: profile.name, detail: d.detail, ...(d.argv ? { argv: d.argv } : {}), ...(d.hint ? { hint: d.hint } : {}) };
    process.stdout.write(JSON.stringify(out) + '\n');
  } else if (d.allow) {
    const stages = d.stages.length === 1
      ? `binary:   ${d.stages[0]!.binary}\nargv:     ${JSON.stringify(d.stages[0]!.argv)}\n`
      : d.stages.map((s, i) => `stage ${i + 1}:  ${s.binary} ${JSON.stringify(s.argv)}\n`).join('');
    process.stdout.write(`decision: allow\nreason:   ${d.code}\nprofile:  ${profile.name}\n${stages}timeout:  ${d.timeoutSeconds}s\n`);
  } else {
    process.stdout.write(`decision: deny\nreason:   ${d.code}\nprofile:  ${profile.name}\ndetail:   ${d.detail}\n${d.hint ? `hint:     ${d.hint}\n` : ''}`);
  }
  return d.allow ? EXIT.OK : EXIT.DENIED;
}
