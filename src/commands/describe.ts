import type { CommandContext } from './context.js';
import { resolveConfigDir } from '../config/dir.js';
import { asLeashError, LeashError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { describeProfile, type CommandDescription, type LevelDescription } from '../policy/describe.js';
import { realFs } from '../policy/fs-view.js';
import { loadProfile } from '../policy/load.js';
import { mcpTools } from '../policy/mcp-tools.js';
import { profileNameFor } from '../policy/profile-name.js';
import type { Profile } from '../policy/types.js';

export type DescribeFormat = 'text' | 'json' | 'mcp';

/**
 * `leash describe [--profile NAME] [--json | --mcp]`: what a profile allows.
 * --json is the description programs read (the same as the session built-in
 * `leash-describe`), --mcp the same as Model Context Protocol tool
 * definitions, and without either a short listing for people.
 */
export async function runDescribe(ctx: CommandContext): Promise<number> {
  if (ctx.positionals.length > 0) throw new LeashError('USAGE', 'usage: leash describe [--profile NAME] [--json | --mcp]');
  if (ctx.values['json'] === true && ctx.values['mcp'] === true) throw new LeashError('USAGE', 'describe takes --json or --mcp, not both');
  const format: DescribeFormat = ctx.values['mcp'] === true ? 'mcp' : ctx.values['json'] === true ? 'json' : 'text';
  const flag = typeof ctx.values['profile'] === 'string' ? ctx.values['profile'] : undefined;
  let profile: Profile;
  try {
    const configDir = resolveConfigDir(ctx.configDirFlag, ctx.env, true);
    profile = await loadProfile(configDir, await profileNameFor(flag, configDir));
  } catch (err) {
    process.stderr.write(`leash: the profile does not load: ${asLeashError(err).message}\n`);
    return EXIT.CONFIG;
  }
  process.stdout.write(describeOutput(profile, format));
  return EXIT.OK;
}

/** The description of `profile` in `format`, as written to stdout (also by the session built-in). */
export function describeOutput(profile: Profile, format: DescribeFormat): string {
  const d = describeProfile(profile, realFs);
  if (format === 'json') return `${JSON.stringify(d)}\n`;
  if (format === 'mcp') return `${JSON.stringify(mcpTools(d))}\n`;
  const lines = [`profile ${d.profile}${d.description ? `: ${d.description}` : ''}`, `timeout ${d.timeout_ms / 1000}s, output cap ${d.max_output_bytes} bytes`, ''];
  for (const c of d.commands) {
    lines.push(`${c.names[0]}${c.available ? '' : '   (not available on this host)'}${c.filter ? '   (may follow |)' : ''}`);
    for (const line of usage(c, c)) lines.push(`  ${line}`);
  }
  lines.push('', `paths: ${d.paths.allow.join(' ')}`, `denied: ${d.paths.deny.join(' ') || '-'}`, '');
  return lines.join('\n');
}

/** One line per level: its words, options (first spellings) and operand slots. */
function usage(c: CommandDescription, level: LevelDescription, words: string[] = []): string[] {
  const opts = level.options.map((o) => (o.value === null ? o.names[0] : `${o.names[0]} ${o.value.type.toUpperCase()}`));
  const slots = level.operands.map((s) => `${s.value.type.toUpperCase()}${s.min === 1 && s.max === 1 ? '' : `{${s.min}..${s.max}}`}`);
  const here = level === c && level.subcommands.length > 0 && opts.length === 0 ? [] : [[c.names[0], ...words, ...opts.map((o) => `[${o}]`), ...slots].join(' ')];
  return [...here, ...level.subcommands.flatMap((s) => usage(c, s, [...words, s.names.join('|')]))];
}
