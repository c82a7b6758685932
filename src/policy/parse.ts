import { basename, dirname } from 'node:path';
import { sourceStamp, type CompiledSource } from '../config/compiled-config.js';
import { readConfigFile } from '../trust/config-file.js';
import { profilePath } from '../config/dir.js';
import { PRINCIPAL_NAME } from '../config/types.js';
import { YamlReader, parseDuration, parseSize, type YamlNode } from '../config/yaml-reader.js';
import {
  DEFAULT_MAX_OUTPUT_BYTES,
  DEFAULT_RECORD_OUTPUT_BYTES,
  DEFAULT_TIMEOUT_SECONDS,
  MAX_PATTERN_BYTES,
  MAX_SIZE_BYTES,
  type CommandSpec,
  type OperandSlot,
  type OptionSpec,
  type OptionStyle,
  type PathRules,
  type Profile,
  type TopCommandSpec,
  type ValueSpec,
} from './types.js';

const PROFILE_KEYS = ['extends', 'description', 'timeout', 'max_output', 'record_output', 'paths', 'commands', 'sftp'] as const;
const PATH_KEYS = ['allow', 'deny', 'allow_sensitive', 'allow_hard_links', 'trusted_groups'] as const;
const LEVEL_KEYS = ['description', 'always', 'options', 'operands', 'operand_counts', 'requires_one_of', 'subcommands', 'default', 'timeout'] as const;
const COMMAND_KEYS = ['binary', 'filter', 'option_style', ...LEVEL_KEYS] as const;
/** The mapping form of a value type: exactly one of these names the type. */
const VALUE_KINDS = ['int', 'enum', 'regex', 'unit', 'pattern', 'pid'] as const;
/** The one-word form: `path`, `unit`, … (`flag` only for options). */
const NAMED_TYPES = ['path', 'stat_path', 'unit', 'time', 'mount', 'pattern'] as const;
const STYLES: readonly OptionStyle[] = ['getopt', 'words'];

export const COMMAND_NAME = /^[a-z0-9][a-z0-9._+-]{0,63}$/;
/** Commands leash itself answers inside a session; a profile may not name them. */
export const BUILTIN_COMMANDS: readonly string[] = ['leash-describe'];
const SUBCOMMAND_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const SHORT_OPTION = /^-[A-Za-z0-9]$/;
const LONG_OPTION = /^--[A-Za-z0-9][A-Za-z0-9-]*$/;
/** An option of a `words`-style program: one whole word (`-br`, `-brief`, `-4`). */
const WORD_OPTION = /^-[A-Za-z0-9][A-Za-z0-9-]{0,31}$/;
export const BINARY_PATH = /^(\/[A-Za-z0-9._+-]+)+$/;
/** Arguments leash adds itself: plain words only. */
export const FIXED_ARG = /^[A-Za-z0-9=._,:/+-]+$/;
/** A glob of systemd unit names (paths.*, unit lists). */
const UNIT_GLOB = /^[A-Za-z0-9:_.@*?\[\]-]{1,256}$/;
const GROUP_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;
const MAX_TIMEOUT_SECONDS = 86400;
const MAX_OPERANDS = 256;
const DEFAULT_PATTERN_BYTES = 512;

/** Loads a parent profile named by `extends:`; see loadProfile. */
export type ParentLoader = (name: string) => Profile;
/** Reads one profile file; throws if it may not or cannot be read. */
export type ProfileReader = (file: string) => string;

/**
 * The profile in `file`, with the parent its `extends:` names read from the
 * same directory. A profile may extend one other profile; the parent may not
 * extend again (one level keeps the effective policy readable from two files
 * at most). `read` decides the trust rules: logins read root-owned files only
 * (loadProfileFromYaml), `policy check` also reads a checkout to report on it.
 */
export function parseProfileFile(file: string, read: ProfileReader): Profile {
  const dir = dirname(file);
  return parseProfile(file, read(file), basename(file, '.yaml'), (parent) => {
    const parentFile = profilePath(dir, parent, '');
    return parseProfile(parentFile, read(parentFile), parent);
  });
}

/**
 * Reads <config-dir>/policies/<name>.yaml (root-owned, see
 * trust/config-file.ts) and validates it. Also returns each file read with
 * its stamp taken before reading, for the compiled copy.
 */
export function loadProfileFromYaml(configDir: string, name: string): { profile: Profile; sources: CompiledSource[] } {
  const sources: CompiledSource[] = [];
  const read = (file: string): string => {
    let stamp = 'unreadable';
    try {
      stamp = sourceStamp(file);
    } catch {
      /* readConfigFile below reports why */
    }
    sources.push({ path: file, stamp });
    return readConfigFile(file);
  };
  return { profile: parseProfileFile(profilePath(configDir, name), read), sources };
}

/**
 * Validates a profile's text. Throws one ConfigError (file:line:column:
 * reason) that carries every problem found (see YamlReader.readAll).
 */
export function parseProfile(file: string, text: string, name: string, loadParent?: ParentLoader): Profile {
  // The parent is loaded once, however often the file is read again to collect errors.
  let parent: { profile: Profile } | { error: unknown } | undefined;
  const once: ParentLoader | undefined = loadParent && ((p) => {
    if (parent === undefined) {
      try {
        parent = { profile: loadParent(p) };
      } catch (error) {
        parent = { error };
      }
    }
    if ('error' in parent) throw parent.error;
    return parent.profile;
  });
  return YamlReader.readAll(file, text, (y) => profileFrom(y, file, name, once));
}

function profileFrom(y: YamlReader, file: string, name: string, loadParent?: ParentLoader): Profile {
  if (y.root === null) y.fail(null, 'the profile is empty');
  const top = y.map(y.root, 'profile', PROFILE_KEYS, ['commands']);

  let parent: Profile | null = null;
  const extendsNode = top.get('extends');
  if (extendsNode) {
    const parentName = y.string(extendsNode.value, 'extends');
    if (!loadParent) y.fail(extendsNode.value, `extends: ${parentName} cannot be loaded here (a parent profile may not extend another)`);
    if (parentName === name) y.fail(extendsNode.value, 'a profile cannot extend itself');
    try {
      parent = loadParent(parentName);
    } catch (err) {
      y.fail(extendsNode.value, `extends: profile ${parentName} does not load: ${(err as Error).message}`);
    }
  }

  const timeoutNode = top.get('timeout');
  const timeout = timeoutNode ? duration(y, timeoutNode.value, 'timeout') : parent?.timeout ?? DEFAULT_TIMEOUT_SECONDS;
  const maxOutputNode = top.get('max_output');
  const maxOutputBytes = maxOutputNode ? size(y, maxOutputNode.value, 'max_output', 1) : parent?.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const recordNode = top.get('record_output');
  const recordOutputBytes = recordNode ? size(y, recordNode.value, 'record_output', 0) : parent?.recordOutputBytes ?? DEFAULT_RECORD_OUTPUT_BYTES;
  const descNode = top.get('description');
  const pathsNode = top.get('paths');
  const own = pathsNode ? pathRules(y, pathsNode.value) : { allow: [], deny: [], allowSensitive: [], allowHardLinks: [], trustedGroups: [] };
  // A child adds to its parent's path rules; deny rules of either still win.
  const paths: PathRules = parent
    ? {
        allow: [...parent.paths.allow, ...own.allow],
        deny: [...parent.paths.deny, ...own.deny],
        allowSensitive: [...parent.paths.allowSensitive, ...own.allowSensitive],
        allowHardLinks: [...parent.paths.allowHardLinks, ...own.allowHardLinks],
        trustedGroups: [...parent.paths.trustedGroups, ...own.trustedGroups],
      }
    : own;

  // A child's command replaces the parent's command of the same name whole.
  const commands = new Map<string, TopCommandSpec>(parent?.commands);
  const commandsNode = top.get('commands')!.value;
  for (const { name: cmd, key, value } of y.entries(commandsNode, 'commands')) {
    if (!COMMAND_NAME.test(cmd)) y.fail(key, `command name "${cmd}" must match ${COMMAND_NAME.source}`);
    if (BUILTIN_COMMANDS.includes(cmd)) y.fail(key, `"${cmd}" is answered by leash itself inside a session; a profile cannot define it`);
    const m = y.map(value, `commands.${cmd}`, COMMAND_KEYS, ['binary']);
    const binary = y.string(m.get('binary')!.value, `commands.${cmd}.binary`);
    if (!BINARY_PATH.test(binary) || binary.split('/').some((c) => c === '.' || c === '..')) {
      y.fail(m.get('binary')!.value, `commands.${cmd}.binary must be an absolute, normalised path (no PATH lookup ever)`);
    }
    const styleNode = m.get('option_style');
    const style = styleNode ? (y.string(styleNode.value, `commands.${cmd}.option_style`) as OptionStyle) : 'getopt';
    if (!STYLES.includes(style)) y.fail(styleNode!.value, `commands.${cmd}.option_style must be one of ${STYLES.join(', ')}`);
    const spec = commandSpec(y, m, `commands.${cmd}`, [cmd], new Map(), style);
    const filterNode = m.get('filter');
    const pos = y.where(m.get('binary')!.value);
    commands.set(cmd, {
      ...spec,
      binary,
      binarySource: `${file}:${pos.line}:${pos.column}`,
      filter: filterNode ? y.bool(filterNode.value, `commands.${cmd}.filter`) : false,
      optionStyle: style,
    });
  }
  if (commands.size === 0) y.fail(commandsNode, 'commands is empty: a profile must allow at least one command');
  if (usesPaths([...commands.values()]) && paths.allow.length === 0) {
    y.fail(pathsNode?.key ?? commandsNode, 'commands take path arguments but paths.allow is empty');
  }

  let sftp: Profile['sftp'] = parent?.sftp ?? null;
  const sftpNode = top.get('sftp');
  if (sftpNode) {
    const m = y.map(sftpNode.value, 'sftp', ['binary', 'read_only'], ['binary']);
    const binary = y.string(m.get('binary')!.value, 'sftp.binary');
    if (!BINARY_PATH.test(binary)) y.fail(m.get('binary')!.value, 'sftp.binary must be an absolute path');
    const ro = m.get('read_only');
    sftp = { binary, readOnly: ro ? y.bool(ro.value, 'sftp.read_only') : true };
  }

  const description = descNode ? y.string(descNode.value, 'description') : parent?.description ?? null;
  return { name, file, description, timeout, maxOutputBytes, recordOutputBytes, paths, commands, sftp };
}

function duration(y: YamlReader, node: YamlNode, what: string): number {
  const s = parseDuration(y.string(node, what));
  if (s === null || s > MAX_TIMEOUT_SECONDS) y.fail(node, `${what} must be a duration like 30s, 5m, 1h (at most 24h)`);
  return s;
}

/** A size such as `64K`, `256M`, `1G` or a plain number of bytes (K = 1024); at least `min`. */
function size(y: YamlReader, node: YamlNode, what: string, min: number): number {
  const text = y.isString(node) ? y.string(node, what) : String(y.int(node, what));
  const bytes = parseSize(text);
  if (bytes === null || bytes < min || bytes > MAX_SIZE_BYTES) y.fail(node, `${what} must be a size like 64K, 256M or 1G${min > 0 ? '' : ' (0 = off)'}, at most 64G`);
  return bytes;
}

function pathRules(y: YamlReader, node: YamlNode): PathRules {
  const m = y.map(node, 'paths', PATH_KEYS);
  const globs = (key: Exclude<(typeof PATH_KEYS)[number], 'trusted_groups'>): string[] => {
    const n = m.get(key);
    if (!n) return [];
    const list = y.strings(n.value, `paths.${key}`);
    for (const g of list) {
      if (!g.startsWith('/') || g.includes('//') || /(^|\/)\.\.?(\/|$)/.test(g)) {
        y.fail(n.value, `paths.${key}: "${g}" must be an absolute, normalised glob`);
      }
    }
    return list;
  };
  const groupsNode = m.get('trusted_groups');
  const trustedGroups = groupsNode ? y.strings(groupsNode.value, 'paths.trusted_groups') : [];
  for (const g of trustedGroups) if (!GROUP_NAME.test(g)) y.fail(groupsNode!.value, `paths.trusted_groups: "${g}" is not a group name`);
  return { allow: globs('allow'), deny: globs('deny'), allowSensitive: globs('allow_sensitive'), allowHardLinks: globs('allow_hard_links'), trustedGroups };
}

/**
 * One command or subcommand level. Options of the parent are inherited: a
 * subcommand sees the command's global options plus its own.
 */
function commandSpec(
  y: YamlReader,
  m: ReturnType<YamlReader['map']>,
  what: string,
  names: string[],
  inherited: Map<string, OptionSpec>,
  style: OptionStyle,
): CommandSpec {
  const options = new Map(inherited);
  const optNode = m.get('options');
  if (optNode) {
    for (const { name: spelling, key, value } of y.entries(optNode.value, `${what}.options`)) {
      const optionNames = spelling.split(/[\s,]+/).filter(Boolean);
      if (optionNames.length === 0) y.fail(key, `${what}.options: empty option name`);
      for (const n of optionNames) {
        const valid = style === 'words' ? WORD_OPTION.test(n) : SHORT_OPTION.test(n) || LONG_OPTION.test(n);
        if (!valid) y.fail(key, `${what}.options: "${n}" is not an option name like ${style === 'words' ? '-br or -json' : '-n or --lines'}`);
        if (options.has(n) && !inherited.has(n)) y.fail(key, `${what}.options: "${n}" is listed twice`);
      }
      const opt = optionSpec(y, value, `${what}.options.${spelling}`, optionNames);
      for (const n of optionNames) options.set(n, opt);
    }
  }
  // Names an option refers to must be options here (after all are read: order in the file does not matter).
  const known = (list: string[], node: YamlNode, key: string): void => {
    for (const n of list) if (!options.has(n)) y.fail(node, `${what}.${key}: "${n}" is not an option of ${what}`);
  };
  if (optNode) {
    for (const { name: spelling, value } of y.entries(optNode.value, `${what}.options`)) {
      const opt = options.get(spelling.split(/[\s,]+/).filter(Boolean)[0]!)!;
      known(opt.requires, value, `options.${spelling}.requires`);
    }
  }

  const operands: OperandSlot[] = [];
  const opNode = m.get('operands');
  if (opNode) {
    const items = y.isMap(opNode.value) || y.isString(opNode.value) ? [opNode.value] : y.seq(opNode.value, `${what}.operands`);
    items.forEach((item, i) => operands.push(operandSlot(y, item, `${what}.operands[${i}]`)));
  }
  const countsNode = m.get('operand_counts');
  let operandCounts: number[] | null = null;
  if (countsNode) {
    operandCounts = y.seq(countsNode.value, `${what}.operand_counts`).map((n, i) => y.int(n, `${what}.operand_counts[${i}]`));
    const least = operands.reduce((n, s) => n + s.min, 0);
    const most = operands.reduce((n, s) => n + s.max, 0);
    if (operandCounts.length === 0 || operandCounts.some((c) => c < least || c > most)) {
      y.fail(countsNode.value, `${what}.operand_counts must list totals between ${least} and ${most} (what the operand slots allow)`);
    }
  }

  const requiresNode = m.get('requires_one_of');
  const requiresOneOf = requiresNode ? y.strings(requiresNode.value, `${what}.requires_one_of`) : [];
  if (requiresNode) {
    if (requiresOneOf.length === 0) y.fail(requiresNode.value, `${what}.requires_one_of is empty`);
    known(requiresOneOf, requiresNode.value, 'requires_one_of');
  }

  const alwaysNode = m.get('always');
  const always = alwaysNode ? y.strings(alwaysNode.value, `${what}.always`) : [];
  for (const a of always) if (!FIXED_ARG.test(a)) y.fail(alwaysNode!.value, `${what}.always: "${a}" must be a plain word`);

  const timeoutNode = m.get('timeout');
  const timeout = timeoutNode ? duration(y, timeoutNode.value, `${what}.timeout`) : null;
  const descNode = m.get('description');
  const description = descNode ? y.string(descNode.value, `${what}.description`) : null;

  let subcommands: Map<string, CommandSpec> | null = null;
  const subNode = m.get('subcommands');
  if (subNode) {
    if (operands.length > 0) y.fail(subNode.key, `${what}: a command has either subcommands or operands, not both`);
    subcommands = new Map();
    // `restart, reload: {...}` gives several words one spec, as `-n, --lines` does for options.
    for (const { name: spelling, key, value } of y.entries(subNode.value, `${what}.subcommands`)) {
      const words = spelling.split(/[\s,]+/).filter(Boolean);
      for (const sub of words) {
        if (!SUBCOMMAND_NAME.test(sub)) y.fail(key, `subcommand "${sub}" must match ${SUBCOMMAND_NAME.source}`);
        if (subcommands.has(sub)) y.fail(key, `subcommand "${sub}" is listed twice`);
      }
      if (words.length === 0) y.fail(key, `${what}.subcommands: empty subcommand name`);
      const sm = value === null ? new Map() : y.map(value, `${what}.subcommands.${words[0]}`, LEVEL_KEYS);
      const spec = commandSpec(y, sm, `${what}.subcommands.${words[0]}`, words, options, style);
      for (const sub of words) subcommands.set(sub, spec);
    }
    if (subcommands.size === 0) y.fail(subNode.value, `${what}.subcommands is empty`);
  }
  const defaultNode = m.get('default');
  const defaultSubcommand = defaultNode ? y.string(defaultNode.value, `${what}.default`) : null;
  if (defaultNode && !subcommands?.has(defaultSubcommand!)) y.fail(defaultNode.value, `${what}.default must name one of its subcommands`);
  return { name: names[0]!, names, description, options, operands, operandCounts, requiresOneOf, always, subcommands, defaultSubcommand, timeout };
}

/** `flag`, `path`, `unit`, …, or a mapping {int|enum|regex|unit|pattern|pid: …, optional: true|next, requires: [...]}. */
function optionSpec(y: YamlReader, node: YamlNode, what: string, names: string[]): OptionSpec {
  const plain = { names, valueOptional: false, valueNext: false, requires: [] as string[] };
  if (y.isString(node)) {
    const word = y.string(node, what);
    if (word === 'flag') return { ...plain, value: null };
    return { ...plain, value: namedValue(y, node, what, word, 'flag, ') };
  }
  const m = y.map(node, what, [...VALUE_KINDS, 'plus', 'except', 'list', 'optional', 'requires', 'type']);
  const optional = m.get('optional');
  let valueOptional = false;
  let valueNext = false;
  if (optional) {
    if (y.isBool(optional.value)) valueOptional = y.bool(optional.value, `${what}.optional`);
    else if (y.isString(optional.value) && y.string(optional.value, `${what}.optional`) === 'next') valueOptional = valueNext = true;
    else y.fail(optional.value, `${what}.optional must be true (the value is only ever attached) or next (a bare option also takes a valid next word)`);
  }
  const requiresNode = m.get('requires');
  const requires = requiresNode ? y.strings(requiresNode.value, `${what}.requires`) : [];
  const typeNode = m.get('type');
  const value = typeNode ? namedValue(y, typeNode.value, `${what}.type`, y.string(typeNode.value, `${what}.type`), 'flag, ') : valueSpec(y, node, what, m);
  if (typeNode && VALUE_KINDS.some((k) => m.has(k))) y.fail(typeNode.value, `${what}: give either type or one of ${VALUE_KINDS.join(', ')}`);
  if (valueNext && (value.kind === 'path' || value.kind === 'pid' || value.kind === 'mount')) {
    y.fail(optional!.value, `${what}: optional: next needs a type checked by its spelling (not ${value.kind})`);
  }
  return { names, value, valueOptional, valueNext, requires };
}

/** `path`, `unit`, `path 1..32`, or a mapping {int|enum|regex|unit|pattern|pid: …, count: "0..8"}. */
function operandSlot(y: YamlReader, node: YamlNode, what: string): OperandSlot {
  if (y.isString(node)) {
    const [word = '', count, extra] = y.string(node, what).split(' ');
    if (extra !== undefined) y.fail(node, `${what} must look like "path" or "path 1..32"`);
    const [min, max] = count === undefined ? [1, 1] : countRange(y, node, what, count);
    return { value: namedValue(y, node, what, word, ''), min, max };
  }
  const m = y.map(node, what, [...VALUE_KINDS, 'plus', 'except', 'list', 'count', 'type']);
  const count = m.get('count');
  const [min, max] = count ? countRange(y, count.value, what, y.isString(count.value) ? y.string(count.value, `${what}.count`) : String(y.int(count.value, `${what}.count`))) : [1, 1];
  const typeNode = m.get('type');
  const value = typeNode ? namedValue(y, typeNode.value, `${what}.type`, y.string(typeNode.value, `${what}.type`), '') : valueSpec(y, node, what, m);
  return { value, min, max };
}

function countRange(y: YamlReader, node: YamlNode, what: string, text: string): [number, number] {
  const c = /^([0-9]{1,3})(?:\.\.([0-9]{1,3}))?$/.exec(text);
  const min = c ? Number(c[1]) : NaN;
  const max = c ? Number(c[2] ?? c[1]) : NaN;
  if (!c || min > max || max < 1 || max > MAX_OPERANDS) y.fail(node, `${what}: count must be N or MIN..MAX with MAX between 1 and ${MAX_OPERANDS}`);
  return [min, max];
}

function namedValue(y: YamlReader, node: YamlNode, what: string, word: string, flag: string): ValueSpec {
  switch (word) {
    case 'path':
      return { kind: 'path', access: 'read' };
    case 'stat_path':
      return { kind: 'path', access: 'stat' };
    case 'unit':
      return { kind: 'unit', allow: null, except: [] };
    case 'time':
      return { kind: 'time' };
    case 'mount':
      return { kind: 'mount' };
    case 'pattern':
      return { kind: 'pattern', maxLength: DEFAULT_PATTERN_BYTES };
  }
  return y.fail(node, `${what}: unknown type "${word}" (use ${flag}${NAMED_TYPES.join(', ')}, or {${VALUE_KINDS.join('|')}: …})`);
}

function valueSpec(y: YamlReader, node: YamlNode, what: string, m: ReturnType<YamlReader['map']>): ValueSpec {
  const kinds = VALUE_KINDS.filter((k) => m.has(k));
  if (kinds.length !== 1) y.fail(node, `${what} needs exactly one of ${VALUE_KINDS.join(', ')} (or type: ${NAMED_TYPES.join('|')})`);
  const kind = kinds[0]!;
  const v = m.get(kind)!.value;
  const only = (key: string, forKind: string): void => {
    if (m.has(key) && kind !== forKind) y.fail(m.get(key)!.key, `${what}.${key} applies only to ${forKind}`);
  };
  only('plus', 'int');
  only('except', 'unit');
  only('list', 'enum');
  switch (kind) {
    case 'int': {
      const bounds = y.seq(v, `${what}.int`).map((b, i) => y.int(b, `${what}.int[${i}]`));
      if (bounds.length !== 2 || bounds[0]! > bounds[1]!) y.fail(v, `${what}.int must be [min, max]`);
      const plus = m.get('plus');
      return { kind, min: bounds[0]!, max: bounds[1]!, plus: plus ? y.bool(plus.value, `${what}.plus`) : false };
    }
    case 'enum': {
      const values = y.strings(v, `${what}.enum`);
      if (values.length === 0) y.fail(v, `${what}.enum is empty`);
      for (const e of values) if (!FIXED_ARG.test(e) || e.includes(',')) y.fail(v, `${what}.enum: "${e}" must be a plain word without a comma`);
      const list = m.get('list');
      return { kind, values, list: list ? y.bool(list.value, `${what}.list`) : false };
    }
    case 'regex': {
      const text = y.string(v, `${what}.regex`);
      // Written anchored so that it reads as what it means; compiled as ^(?:…)$ so
      // that an alternation (^root|nobody$) cannot match a longer value either.
      if (!text.startsWith('^') || !text.endsWith('$') || text.endsWith('\\$')) y.fail(v, `${what}.regex must be anchored: start with ^ and end with $`);
      const source = `^(?:${text})$`;
      let pattern: RegExp;
      try {
        pattern = new RegExp(source);
      } catch (err) {
        return y.fail(v, `${what}.regex does not compile: ${(err as Error).message}`);
      }
      return { kind, source, pattern };
    }
    case 'unit': {
      const allow = y.strings(v, `${what}.unit`);
      if (allow.length === 0) y.fail(v, `${what}.unit is empty (use "unit" for any unit name)`);
      const exceptNode = m.get('except');
      const except = exceptNode ? y.strings(exceptNode.value, `${what}.except`) : [];
      for (const g of [...allow, ...except]) if (!UNIT_GLOB.test(g)) y.fail(v, `${what}: "${g}" is not a unit name or glob`);
      return { kind, allow, except };
    }
    case 'pattern': {
      const max = y.int(v, `${what}.pattern`);
      if (max < 1 || max > MAX_PATTERN_BYTES) y.fail(v, `${what}.pattern is the longest pattern allowed, 1..${MAX_PATTERN_BYTES}`);
      return { kind, maxLength: max };
    }
    case 'pid': {
      const pm = y.map(v, `${what}.pid`, ['units', 'users']);
      const units = pm.has('units') ? y.strings(pm.get('units')!.value, `${what}.pid.units`) : [];
      const users = pm.has('users') ? y.strings(pm.get('users')!.value, `${what}.pid.users`) : [];
      if (units.length + users.length === 0) y.fail(v, `${what}.pid must list units, users or both`);
      for (const u of units) if (!UNIT_GLOB.test(u)) y.fail(v, `${what}.pid.units: "${u}" is not a unit name or glob`);
      for (const u of users) if (!PRINCIPAL_NAME.test(u)) y.fail(v, `${what}.pid.users: "${u}" is not a user name`);
      return { kind, units, users };
    }
  }
}

function usesPaths(commands: CommandSpec[]): boolean {
  return commands.some(
    (c) =>
      c.operands.some((o) => o.value.kind === 'path') ||
      [...c.options.values()].some((o) => o.value?.kind === 'path') ||
      (c.subcommands !== null && usesPaths([...c.subcommands.values()])),
  );
}
