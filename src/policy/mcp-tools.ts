import type { CommandDescription, LevelDescription, OptionDescription, ProfileDescription, ValueDescription } from './describe.js';

/**
 * A Model Context Protocol tool definition (the `Tool` of the MCP schema,
 * 2025-11-25: name, title, description, inputSchema with type "object",
 * annotations, _meta). inputSchema is JSON Schema 2020-12, MCP's default.
 */
export interface McpTool {
  name: string;
  title: string;
  description: string;
  inputSchema: { type: 'object'; properties: Record<string, object>; required?: string[]; additionalProperties: false };
  _meta: { 'leash/profile': string; 'leash/command': string };
}

/** The arguments of one call of a leash tool: what commandLine() turns into a command line. */
export interface ToolArguments {
  subcommand?: string;
  options?: Record<string, boolean | number | string | string[]>;
  operands?: Array<string | number>;
}

/** MCP's recommended tool-name alphabet and length. */
export const MCP_TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
/** A word that needs no quotes on a leash command line. */
const PLAIN_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * The profile's commands as MCP tools, one per command that is available on
 * this host, so that an agent framework can offer them as typed tools; the
 * host still decides every call. A call becomes a command line with
 * commandLine(), which the agent sends over ssh like any other.
 */
export function mcpTools(d: ProfileDescription): { tools: McpTool[] } {
  const tools = d.commands.filter((c) => c.available).map((c) => tool(d, c));
  const names = tools.map((t) => t.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new Error(`two commands map to the MCP tool name ${twice}`);
  return { tools };
}

function tool(d: ProfileDescription, c: CommandDescription): McpTool {
  const name = c.names[0]!.replace(/[^A-Za-z0-9_.-]/g, '_');
  const leaves = paths(c);
  const options = allOptions(c);
  const properties: Record<string, object> = {};
  const required: string[] = [];
  if (c.subcommands.length > 0) {
    properties['subcommand'] = { type: 'string', enum: leaves.map((l) => l.words.join(' ')), description: c.default_subcommand ? `Omit for ${c.default_subcommand}.` : 'The subcommand words.' };
    if (c.default_subcommand === null) required.push('subcommand');
  }
  if (options.size > 0) {
    properties['options'] = {
      type: 'object',
      additionalProperties: false,
      properties: Object.fromEntries([...options].map(([key, { option, where }]) => [key, optionSchema(option, where)])),
    };
  }
  const operands = operandSchema(leaves.map((l) => l.level));
  if (operands !== null) {
    properties['operands'] = operands.schema;
    if (operands.required) required.push('operands');
  }
  // One usage line per level, naming all its words: restart|reload|… UNIT{1..8}.
  const usage = [...new Map(leaves.map((l) => [l.level, l])).values()].map((l) => `  ${usageLine(c, levelWords(c, l.level), l.level)}`).join('\n');
  const description = [
    `${c.description ?? `Run ${c.names[0]}`} on this host, through leash (profile ${d.profile}).`,
    `Usage:\n${usage}`,
    c.filter ? `It may also follow another tool's output in a pipeline (cmd | ${c.names[0]} …), without file operands.` : '',
    'The host checks every call and refuses what the profile does not allow, with a reason.',
  ].filter(Boolean).join('\n');
  return {
    name,
    title: `${c.names[0]} (leash ${d.profile})`,
    description,
    inputSchema: { type: 'object', properties, ...(required.length > 0 ? { required } : {}), additionalProperties: false },
    _meta: { 'leash/profile': d.profile, 'leash/command': c.names[0]! },
  };
}

/**
 * Every leaf level with every word sequence that reaches it: a level's names
 * are aliases (ip a, addr, address) or verbs that share one spec (systemctl
 * restart, reload, …), and each is a word the tool may be called with.
 */
function paths(level: LevelDescription, words: string[] = []): Array<{ words: string[]; level: LevelDescription }> {
  if (level.subcommands.length === 0) return [{ words, level }];
  return level.subcommands.flatMap((s) => s.names.flatMap((n) => paths(s, [...words, n])));
}

/** The key an option has in `options`: its first long spelling, else its first. */
function optionKey(o: OptionDescription): string {
  return o.names.find((n) => n.startsWith('--')) ?? o.names[0]!;
}

/** Every option of every level, with the subcommands that take it ('' for the command itself). */
function allOptions(level: LevelDescription, words: string[] = [], out = new Map<string, { option: OptionDescription; where: string[] }>()) {
  for (const o of level.options) {
    const key = optionKey(o);
    const entry = out.get(key) ?? { option: o, where: [] };
    entry.where.push(words.join(' '));
    out.set(key, entry);
  }
  for (const s of level.subcommands) allOptions(s, [...words, s.names[0]!], out);
  return out;
}

function optionSchema(o: OptionDescription, where: string[]): object {
  const spelled = `Spellings: ${o.names.join(', ')}.${where.some((w) => w !== '') ? ` With: ${where.map((w) => w || '(any)').join(', ')}.` : ''}${o.requires.length > 0 ? ` Needs ${o.requires.join(' or ')}.` : ''}`;
  if (o.value === null) return { type: 'boolean', const: true, description: `A flag: give true. ${spelled}` };
  const v = valueSchema(o.value);
  if (o.value_optional !== null) return { anyOf: [{ type: 'boolean', const: true, description: 'the option alone' }, v], description: `The value is optional. ${spelled}` };
  return { ...v, description: `${(v as { description?: string }).description ?? ''} ${spelled}`.trim() };
}

/** The operands, typed when every leaf agrees on their slots; null when no leaf takes any. */
function operandSchema(levels: LevelDescription[]): { schema: object; required: boolean } | null {
  const taking = levels.filter((l) => l.operands.length > 0);
  if (taking.length === 0) return null;
  const shapes = new Set(taking.map((l) => JSON.stringify(l.operands)));
  if (shapes.size > 1 || taking.length < levels.length) {
    return { schema: { type: 'array', items: { type: ['string', 'integer'] }, description: 'The operands of the subcommand, in order (see Usage).' }, required: false };
  }
  const slots = taking[0]!.operands;
  const min = slots.reduce((n, s) => n + s.min, 0);
  const max = slots.reduce((n, s) => n + s.max, 0);
  const counts = taking[0]!.operand_counts;
  const fixedHead = slots.slice(0, -1).every((s) => s.min === s.max);
  const head = slots.slice(0, -1).flatMap((s) => Array.from({ length: s.min }, () => valueSchema(s.value)));
  const last = valueSchema(slots[slots.length - 1]!.value);
  const typed = !fixedHead ? { items: { type: ['string', 'integer'] } } : head.length > 0 ? { prefixItems: head, items: last } : { items: last };
  const countText = counts ? ` Exactly ${counts.join(' or ')} of them.` : '';
  return { schema: { type: 'array', ...typed, minItems: min, maxItems: max, description: `Operands, in order.${countText}` }, required: min > 0 };
}

function valueSchema(v: ValueDescription): object {
  switch (v.type) {
    case 'int': {
      const n = { type: 'integer', minimum: v.min, maximum: v.max };
      return v.plus ? { anyOf: [n, { type: 'string', pattern: '^\\+[0-9]{1,19}$', description: '+N: from the Nth on' }] } : n;
    }
    case 'enum':
      return v.list ? { type: 'array', items: { enum: v.values }, minItems: 1, uniqueItems: true, description: 'One or more (joined with commas).' } : { enum: v.values };
    case 'regex':
      return { type: 'string', pattern: v.regex };
    case 'pattern':
      return { type: 'string', maxLength: v.max_length, description: 'A regular expression.' };
    case 'path':
      return { type: 'string', pattern: '^/', description: 'An absolute path under the allowed paths; its content is read.' };
    case 'stat_path':
      return { type: 'string', pattern: '^/', description: 'An absolute path under the allowed paths; only looked at.' };
    case 'mount':
      return { type: 'string', pattern: '^/', description: 'A mount point, or a path under the allowed paths.' };
    case 'time':
      return { type: 'string', description: 'A time: 2026-11-30, "2026-11-30 10:00:00", 10:00, yesterday, -1h, "1 hour ago".' };
    case 'unit':
      return { type: 'string', pattern: '^([A-Za-z0-9][A-Za-z0-9:_.@-]{0,254}|-\\.(mount|slice))$', description: `A systemd unit${v.allow ? ` (one of ${v.allow.join(', ')})` : ''}${v.except.length > 0 ? `, not ${v.except.join(', ')}` : ''}.` };
    case 'pid':
      return { type: 'integer', minimum: 1, maximum: 4194304, description: `A process ID of ${[...v.units, ...v.users].join(', ')}; never one of a leash session.` };
  }
}

/** The words down to `leaf`, each level as all its names joined by |. */
function levelWords(level: LevelDescription, leaf: LevelDescription): string[] {
  for (const s of level.subcommands) {
    if (s === leaf) return [s.names.join('|')];
    const below = levelWords(s, leaf);
    if (below.length > 0) return [s.names.join('|'), ...below];
  }
  return [];
}

function usageLine(c: CommandDescription, words: string[], leaf: LevelDescription): string {
  const slots = leaf.operands.map((s) => {
    const name = s.value.type.toUpperCase();
    return s.min === 1 && s.max === 1 ? name : `${name}{${s.min}..${s.max}}`;
  });
  return [c.names[0], ...words, '[options]', ...slots].join(' ');
}

/**
 * The command line for one tool call: the command, its subcommand words,
 * the options (attached where that is unambiguous: --name=value, -nVALUE),
 * then the operands (after -- when one starts with -), each word quoted as
 * leash reads quotes. Throws on an option the tool does not have.
 */
export function commandLine(c: CommandDescription, args: ToolArguments): string {
  const options = allOptions(c);
  const subWords = args.subcommand ? args.subcommand.split(' ') : [];
  const optionWords: string[] = [];
  for (const [key, given] of Object.entries(args.options ?? {})) {
    const entry = options.get(key);
    if (!entry) throw new Error(`${c.names[0]} has no option ${key}`);
    const o = entry.option;
    if (o.value === null || given === true) {
      optionWords.push(key);
      continue;
    }
    const text = Array.isArray(given) ? given.join(',') : String(given);
    if (c.option_style === 'words') optionWords.push(key, text);
    else if (key.startsWith('--')) optionWords.push(`${key}=${text}`);
    else optionWords.push(`${key}${text}`);
  }
  const operands = (args.operands ?? []).map(String);
  const dashed = operands.some((o) => o.startsWith('-'));
  const words = c.option_style === 'words'
    ? [c.names[0]!, ...optionWords, ...subWords, ...operands]
    : [c.names[0]!, ...subWords, ...optionWords, ...(dashed ? ['--'] : []), ...operands];
  return words.map(quote).join(' ');
}

function quote(word: string): string {
  return PLAIN_WORD.test(word) ? word : `'${word.replace(/'/g, `'"'"'`)}'`;
}
