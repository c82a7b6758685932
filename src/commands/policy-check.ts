import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { CommandContext } from './context.js';
import { leashConfigPath, resolveConfigDir } from '../config/dir.js';
import { compileLeashConfig } from '../config/load.js';
import { loadLeashConfigFromYaml } from '../config/parse.js';
import { asLeashError, LeashError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { compileProfile } from '../policy/load.js';
import { checkProfileFile } from '../policy/check.js';

/**
 * `leash policy check [FILE...]`: validates profiles the way `leash shell`
 * loads them, and additionally checks every pinned binary on this host.
 * Problems are printed as file:line:column: reason. Exit 0 if all files are
 * valid, 78 otherwise.
 *
 * Without FILE arguments it checks the configuration directory (leash.yaml
 * too) and, run as root with everything valid, refreshes the compiled cache
 * that lets logins skip YAML parsing (see config/compiled-cache.ts).
 */
export async function runPolicy(ctx: CommandContext): Promise<number> {
  const [verb, ...files] = ctx.positionals;
  if (verb !== 'check') throw new LeashError('USAGE', 'usage: leash policy check [FILE...]');
  let targets = files;
  const configDir = resolveConfigDir(ctx.configDirFlag, ctx.env, true);
  const wholeDir = targets.length === 0;
  let failed = false;
  if (wholeDir) {
    try {
      const loaded = loadLeashConfigFromYaml(configDir);
      process.stdout.write(`${leashConfigPath(configDir)}: ${loaded === null ? 'absent (defaults apply; leash verify needs it)' : 'OK'}\n`);
    } catch (err) {
      failed = true;
      process.stdout.write(`${asLeashError(err).message}\n`);
    }
    const dir = join(configDir, 'policies');
    try {
      targets = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(dir, f));
    } catch (err) {
      process.stderr.write(`leash: cannot list ${dir}: ${(err as NodeJS.ErrnoException).code ?? String(err)}\n`);
      return EXIT.CONFIG;
    }
    if (targets.length === 0) {
      process.stderr.write(`leash: no profiles in ${dir}\n`);
      return EXIT.CONFIG;
    }
  }
  for (const file of targets) {
    const problems = checkProfileFile(file);
    failed ||= problems.errors.length > 0;
    for (const e of problems.errors) process.stdout.write(`${e}\n`);
    for (const n of problems.notes) process.stdout.write(`${n}\n`);
    if (problems.errors.length === 0) process.stdout.write(`${file}: OK\n`);
  }
  if (wholeDir && !failed && process.geteuid?.() === 0) {
    try {
      for (const file of targets) await compileProfile(configDir, basename(file, '.yaml'));
      await compileLeashConfig(configDir);
      process.stdout.write(`compiled cache updated in ${join(configDir, '.compiled')}\n`);
    } catch (err) {
      process.stdout.write(`compiled cache not updated (logins parse the YAML instead): ${asLeashError(err).message}\n`);
    }
  }
  return failed ? EXIT.CONFIG : EXIT.OK;
}
