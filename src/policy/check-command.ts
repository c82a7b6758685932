import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { CommandContext } from '../context.js';
import { resolveConfigDir } from '../config/dir.js';
import { compileLeashConfig, leashConfigPath } from '../config/leash-config.js';
import { loadLeashConfigFromYaml } from '../config/leash-config-parse.js';
import { readTrustedFile } from '../config/trusted-file.js';
import { asLeashError, LeashError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { binaryStatus } from './binary.js';
import { realFs } from './fs-view.js';
import { compileProfile } from './load.js';
import { parseProfile } from './parse.js';

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
    const problems = checkFile(file);
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

function checkFile(file: string): { errors: string[]; notes: string[] } {
  const errors: string[] = [];
  const notes: string[] = [];
  // Reads under leash's ownership rules; an unsafe file is reported and its
  // content still validated for the operator. Returns null if unreadable.
  const read = (path: string): string | null => {
    try {
      return readTrustedFile(path);
    } catch (err) {
      const e = asLeashError(err);
      if (e.code !== 'CONFIG_UNSAFE') {
        errors.push(`${path}: ${e.message}`);
        return null;
      }
      const line = `${path}: ${e.message} (leash shell would refuse this profile)`;
      if (!errors.includes(line)) errors.push(line);
      try {
        return readFileSync(path, 'utf8');
      } catch (readErr) {
        errors.push(`${path}: ${(readErr as NodeJS.ErrnoException).code ?? String(readErr)}`);
        return null;
      }
    }
  };
  const text = read(file);
  if (text === null) return { errors, notes };
  try {
    // A parent named by `extends:` is read from the same directory, under the same rules.
    const profile = parseProfile(file, text, basename(file, '.yaml'), (parent) => {
      const parentFile = join(dirname(file), `${parent}.yaml`);
      const parentText = read(parentFile);
      if (parentText === null) throw new LeashError('CONFIG_MISSING', `${parentFile} cannot be read`);
      return parseProfile(parentFile, parentText, parent);
    });
    const missing: string[] = [];
    for (const [name, spec] of profile.commands) {
      const st = binaryStatus(spec.binary, realFs);
      if (st.ok) continue;
      if (st.code === 'BINARY_MISSING') missing.push(name);
      else errors.push(`${spec.binarySource}: UNSAFE BINARY for command ${name}: ${st.detail} (the command is denied until this is fixed)`);
    }
    if (profile.sftp) {
      const st = binaryStatus(profile.sftp.binary, realFs);
      if (!st.ok) errors.push(`${file}: sftp.binary: ${st.detail}`);
    }
    if (missing.length > 0) notes.push(`${file}: note: not installed on this host, so unavailable here: ${missing.join(', ')}`);
  } catch (err) {
    errors.push(asLeashError(err).message);
  }
  return { errors, notes };
}
