import { existsSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { ConfigError } from '../config/yaml-reader.js';
import type { LeashConfig } from '../config/types.js';
import { asLeashError } from '../errors.js';
import { readConfigFile } from '../trust/config-file.js';
import { binaryStatus } from './binary.js';
import { realFs } from './fs-view.js';
import { parseProfileFile } from './parse.js';

/** Where a mistyped binary's program usually is. */
const PROGRAM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * What `leash policy check FILE` reports for one profile file: every problem
 * as `file:line:column: reason` (errors), and what is merely unavailable on
 * this host or looks like a typo (notes). The file and its `extends:` parent
 * are read under leash's ownership rules; an unsafe file is reported and its
 * content still validated, so an operator can check a profile before
 * installing it.
 */
export function checkProfileFile(file: string): { errors: string[]; notes: string[] } {
  const errors: string[] = [];
  const notes: string[] = [];
  const read = (path: string): string => {
    if (!existsSync(path)) throw new Error(`${path}: no such file${isAbsolute(path) ? '' : ` (relative to ${process.cwd()})`}`);
    try {
      return readConfigFile(path);
    } catch (err) {
      const e = asLeashError(err);
      if (e.code !== 'CONFIG_UNSAFE') throw e;
      const line = `${path}: ${e.message} (leash shell would refuse this profile)`;
      if (!errors.includes(line)) errors.push(line);
      return readFileSync(path, 'utf8');
    }
  };
  try {
    const profile = parseProfileFile(file, read);
    const missing: string[] = [];
    for (const [name, spec] of profile.commands) {
      const st = binaryStatus(spec.binary, realFs);
      if (st.ok) continue;
      if (st.code !== 'BINARY_MISSING') {
        errors.push(`${spec.binarySource}: UNSAFE BINARY for command ${name}: ${st.detail} (the command is denied until this is fixed)`);
        continue;
      }
      const elsewhere = likelyMeant(name, spec.binary);
      if (elsewhere.length > 0) notes.push(`${spec.binarySource}: warning: commands.${name}.binary ${spec.binary} is not installed, but ${elsewhere.join(' and ')} is: a typo?`);
      else missing.push(name);
    }
    if (profile.sftp) {
      const st = binaryStatus(profile.sftp.binary, realFs);
      if (!st.ok) errors.push(`${file}: sftp.binary: ${st.detail}`);
    }
    if (missing.length > 0) notes.push(`${file}: note: not installed on this host, so unavailable here: ${missing.join(', ')}`);
  } catch (err) {
    if (err instanceof ConfigError) errors.push(...err.all.map((e) => e.located));
    else errors.push(err instanceof Error ? err.message : String(err));
  }
  return { errors, notes };
}

/** Installed programs named like the command or the missing binary (`tail` for /usr/bin/tial). */
function likelyMeant(command: string, binary: string): string[] {
  const names = [...new Set([command, basename(binary)])];
  const found = PROGRAM_DIRS.flatMap((d) => names.map((n) => join(d, n))).filter((p) => p !== binary && binaryStatus(p, realFs).ok);
  // /bin is often a link to /usr/bin: name each program once.
  const seen = new Set<string>();
  return found.filter((p) => {
    const real = realFs.realpath(p);
    if (seen.has(real)) return false;
    seen.add(real);
    return true;
  });
}

/**
 * Profiles leash.yaml names that do not exist: a grant with one would log in
 * and then refuse every command. `profiles` are the names in the policies
 * directory. Returns one `file:line: reason` per problem.
 */
export function checkProfileReferences(config: LeashConfig, profiles: readonly string[], policyDir: string): string[] {
  const known = profiles.length > 0 ? ` (there: ${profiles.join(', ')})` : ' (it holds none)';
  const out: string[] = [];
  config.grants.forEach((g, i) => {
    if (!profiles.includes(g.profile)) out.push(`${g.source}: grants[${i}].profile: no profile "${g.profile}" in ${policyDir}${known}`);
  });
  if (config.defaultProfile !== undefined && !profiles.includes(config.defaultProfile)) {
    out.push(`${config.file ?? 'leash.yaml'}: default_profile: no profile "${config.defaultProfile}" in ${policyDir}${known}`);
  }
  return out;
}
