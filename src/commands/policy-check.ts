import { readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { CommandContext } from './context.js';
import { leashConfigPath, resolveConfigDir } from '../config/dir.js';
import { compileLeashConfig } from '../config/load.js';
import { loadLeashConfigFromYaml } from '../config/parse.js';
import { ConfigError } from '../config/yaml-reader.js';
import { asLeashError, LeashError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { compileProfile } from '../policy/load.js';
import { checkProfileFile, checkProfileReferences } from '../policy/check.js';
import type { LeashConfig } from '../config/types.js';

/**
 * `leash policy check [FILE...]`: validates profiles the way `leash shell`
 * loads them, and additionally checks every pinned binary on this host.
 * Every problem of every file is printed as file:line:column: reason. Exit
 * 0 if all files are valid, 78 otherwise.
 *
 * Without FILE arguments it checks the configuration directory (leash.yaml
 * too, and that every profile it names exists) and, run as root with
 * everything valid, refreshes the compiled cache that lets logins skip YAML
 * parsing (see config/compiled-cache.ts).
 */
export async function runPolicy(ctx: CommandContext): Promise<number> {
  const [verb, ...files] = ctx.positionals;
  if (verb !== 'check') throw new LeashError('USAGE', 'usage: leash policy check [FILE...]');
  let targets = files;
  const configDir = resolveConfigDir(ctx.configDirFlag, ctx.env, true);
  const wholeDir = targets.length === 0;
  let failed = false;
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  let config: LeashConfig | null = null;
  if (wholeDir) {
    try {
      config = loadLeashConfigFromYaml(configDir)?.config ?? null;
      if (config === null) say(`${leashConfigPath(configDir)}: absent (defaults apply; leash verify needs it)`);
    } catch (err) {
      failed = true;
      if (err instanceof ConfigError) for (const e of err.all) say(e.located);
      else say(asLeashError(err).message);
    }
    const dir = join(configDir, 'policies');
    try {
      targets = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort().map((f) => join(dir, f));
    } catch (err) {
      process.stderr.write(`leash: cannot list ${dir}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such directory' : (err as NodeJS.ErrnoException).code ?? String(err)}\n`);
      return EXIT.CONFIG;
    }
    if (targets.length === 0) {
      process.stderr.write(`leash: no profiles in ${dir}\n`);
      return EXIT.CONFIG;
    }
    if (config !== null) {
      const references = checkProfileReferences(config, targets.map((f) => basename(f, '.yaml')), dir);
      for (const r of references) say(r);
      if (references.length > 0) failed = true;
      else say(`${leashConfigPath(configDir)}: OK`);
    }
  }
  for (const file of targets) {
    const problems = checkProfileFile(file);
    failed ||= problems.errors.length > 0;
    for (const e of problems.errors) say(e);
    for (const n of problems.notes) say(n);
    if (problems.errors.length === 0) say(`${file}: OK`);
  }
  if (wholeDir && !failed && process.geteuid?.() === 0) {
    try {
      for (const file of targets) await compileProfile(configDir, basename(file, '.yaml'));
      await compileLeashConfig(configDir);
      say(`compiled cache updated in ${join(configDir, '.compiled')}`);
    } catch (err) {
      say(`compiled cache not updated (logins parse the YAML instead): ${asLeashError(err).message}`);
    }
  }
  return failed ? EXIT.CONFIG : EXIT.OK;
}
