import { basename, dirname } from 'node:path';
import { sourceStamp, type CompiledSource } from '../config/compiled-config.js';
import { readConfigFile } from '../trust/config-file.js';
import { profilePath } from '../config/dir.js';
import { YamlReader, parseDuration, parseSize, type YamlNode } from '../config/yaml-reader.js';
import {
  DEFAULT_MAX_OUTPUT_BYTES,
  DEFAULT_RECORD_OUTPUT_BYTES,
  DEFAULT_TIMEOUT_SECONDS,
  MAX_SIZE_BYTES,
  type CommandSpec,
  type OperandSlot,
  type OptionSpec,
  type PathRules,
  type Profile,
  type TopCommandSpec,
  type ValueSpec,
} from './types.js';

const PROFILE_KEYS = ['extends', 'description', 'timeout', 'max_output', 'record_output', 'paths', 'commands', 'sftp'] as const;
const PATH_KEYS = ['allow', 'deny', 'allow_sensitive'] as const;
const COMMAND_KEYS = ['binary', 'description', 'always', 'options', 'operands', 'subcommands', 'timeout'] as const;
const SUBCOMMAND_KEYS = ['description', 'always', 'options', 'operands', 'subcommands', 'timeout'] as const;
const VALUE_KINDS = ['int', 'enum', 'regex', 'unit'] as const;

export const COMMAND_NAME = /^[a-z0-9][a-z0-9._+-]{0,63}$/;
const SUBCOMMAND_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const SHORT_OPTION = /^-[A-Za-z0-9]$/;
const LONG_OPTION = /^--[A-Za-z0-9][A-Za-z0-9-]*$/;
export const BINARY_PATH = /^(\/[A-Za-z0-9._+-]+)+$/;
/** Arguments leash adds itself: plain words only. */
export const FIXED_ARG = /^[A-Za-z0-9=._,:/+-]+$/;
const MAX_TIMEOUT_SECONDS = 86400;
const MAX_OPERANDS = 256;

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

/** Validates a profile's text. Throws ConfigError (file:line:column: reason) on the first problem. */
export function parseProfile(file: string, text: string, name: string, loadParent?: ParentLoader): Profile {
  const y: YamlReader = new YamlReader(file, text);
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
  const own = pathsNode ? pathRules(y, pathsNode.value) : { allow: [], deny: [], allowSensitive: [] };
  // A child adds to its parent's path rules; deny rules of either still win.
  const paths: PathRules = parent
    ? { allow: [...parent.paths.allow, ...own.allow], deny: [...parent.paths.deny, ...own.deny], allowSensitive: [...parent.paths.allowSensitive, ...own.allowSensitive] }
    : own;

  // A child's command replaces the parent's command of the same name whole.
  const commands = new Map<string, TopCommandSpec>(parent?.commands);
  const commandsNode = top.get('commands')!.value;
  for (const { name: cmd, key, value } of y.entries(commandsNode, 'commands')) {
    if (!COMMAND_NAME.test(cmd)) y.fail(key, `command name "${cmd}" must match ${COMMAND_NAME.source}`);
    const m = y.map(value, `commands.${cmd}`, COMMAND_KEYS, ['binary']);
    const binary = y.string(m.get('binary')!.value, `commands.${cmd}.binary`);
    if (!BINARY_PATH.test(binary) || binary.split('/').some((c) => c === '.' || c === '..')) {
      y.fail(m.get('binary')!.value, `commands.${cmd}.binary must be an absolute, normalised path (no PATH lookup ever)`);
    }
    const spec = commandSpec(y, value, `commands.${cmd}`, cmd, new Map(), m);
    const desc = m.get('description');
    const pos = y.where(m.get('binary')!.value);
    commands.set(cmd, {
      ...spec,
      binary,
      description: desc ? y.string(desc.value, `commands.${cmd}.description`) : null,
      binarySource: `${file}:${pos.line}:${pos.column}`,
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
  const globs = (key: (typeof PATH_KEYS)[number]): string[] => {
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
  return { allow: globs('allow'), deny: globs('deny'), allowSensitive: globs('allow_sensitive') };
}

/**
 * One command or subcommand. Options of the parent are inherited: a
 * subcommand sees the command's global options plus its own.
 */
function commandSpec(
  y: YamlReader,
  node: YamlNode,
  what: string,
  name: string,
  inherited: Map<string, OptionSpec>,
  pre?: ReturnType<YamlReader['map']>,
): CommandSpec {
  const m = pre ?? y.map(node, what, SUBCOMMAND_KEYS);
  const options = new Map(inherited);
  const optNode = m.get('options');
  if (optNode) {
    for (const { name: spelling, key, value } of y.entries(optNode.value, `${what}.options`)) {
      const names = spelling.split(/[\s,]+/).filter(Boolean);
      if (names.length === 0) y.fail(key, `${what}.options: empty option name`);
      for (const n of names) {
        if (!SHORT_OPTION.test(n) && !LONG_OPTION.test(n)) y.fail(key, `${what}.options: "${n}" is not an option name like -n or --lines`);
        if (options.has(n) && !inherited.has(n)) y.fail(key, `${what}.options: "${n}" is listed twice`);
      }
      const opt = optionSpec(y, value, `${what}.options.${spelling}`, names);
      for (const n of names) options.set(n, opt);
    }
  }

  const operands: OperandSlot[] = [];
  const opNode = m.get('operands');
  if (opNode) {
    const items = y.isMap(opNode.value) || y.isString(opNode.value) ? [opNode.value] : y.seq(opNode.value, `${what}.operands`);
    items.forEach((item, i) => operands.push(operandSlot(y, item, `${what}.operands[${i}]`)));
  }

  const alwaysNode = m.get('always');
  const always = alwaysNode ? y.strings(alwaysNode.value, `${what}.always`) : [];
  for (const a of always) if (!FIXED_ARG.test(a)) y.fail(alwaysNode!.value, `${what}.always: "${a}" must be a plain word`);

  const timeoutNode = m.get('timeout');
  const timeout = timeoutNode ? duration(y, timeoutNode.value, `${what}.timeout`) : null;

  let subcommands: Map<string, CommandSpec> | null = null;
  const subNode = m.get('subcommands');
  if (subNode) {
    if (operands.length > 0) y.fail(subNode.key, `${what}: a command has either subcommands or operands, not both`);
    subcommands = new Map();
    // `restart, reload: {...}` gives several words one spec, as `-n, --lines` does for options.
    for (const { name: spelling, key, value } of y.entries(subNode.value, `${what}.subcommands`)) {
      for (const sub of spelling.split(/[\s,]+/).filter(Boolean)) {
        if (!SUBCOMMAND_NAME.test(sub)) y.fail(key, `subcommand "${sub}" must match ${SUBCOMMAND_NAME.source}`);
        if (subcommands.has(sub)) y.fail(key, `subcommand "${sub}" is listed twice`);
        subcommands.set(sub, commandSpec(y, value ?? null, `${what}.subcommands.${sub}`, sub, options));
      }
    }
    if (subcommands.size === 0) y.fail(subNode.value, `${what}.subcommands is empty`);
  }
  return { name, options, operands, always, subcommands, timeout };
}

/** `flag`, `path`, `unit`, or a mapping {int|enum|regex|unit: …, optional: true}. */
function optionSpec(y: YamlReader, node: YamlNode, what: string, names: string[]): OptionSpec {
  if (y.isString(node)) {
    const word = y.string(node, what);
    if (word === 'flag') return { names, value: null, valueOptional: false };
    return { names, value: namedValue(y, node, what, word), valueOptional: false };
  }
  const m = y.map(node, what, [...VALUE_KINDS, 'optional']);
  const optional = m.get('optional');
  return { names, value: valueSpec(y, node, what, m), valueOptional: optional ? y.bool(optional.value, `${what}.optional`) : false };
}

/** `path`, `unit`, `path 1..32`, or a mapping {int|enum|regex|unit: …, count: "0..8"}. */
function operandSlot(y: YamlReader, node: YamlNode, what: string): OperandSlot {
  if (y.isString(node)) {
    const [word = '', count, extra] = y.string(node, what).split(' ');
    if (extra !== undefined) y.fail(node, `${what} must look like "path" or "path 1..32"`);
    const [min, max] = count === undefined ? [1, 1] : countRange(y, node, what, count);
    return { value: namedValue(y, node, what, word), min, max };
  }
  const m = y.map(node, what, [...VALUE_KINDS, 'count']);
  const count = m.get('count');
  const [min, max] = count ? countRange(y, count.value, what, y.isString(count.value) ? y.string(count.value, `${what}.count`) : String(y.int(count.value, `${what}.count`))) : [1, 1];
  return { value: valueSpec(y, node, what, m), min, max };
}

function countRange(y: YamlReader, node: YamlNode, what: string, text: string): [number, number] {
  const c = /^([0-9]{1,3})(?:\.\.([0-9]{1,3}))?$/.exec(text);
  const min = c ? Number(c[1]) : NaN;
  const max = c ? Number(c[2] ?? c[1]) : NaN;
  if (!c || min > max || max < 1 || max > MAX_OPERANDS) y.fail(node, `${what}: count must be N or MIN..MAX with MAX between 1 and ${MAX_OPERANDS}`);
  return [min, max];
}

function namedValue(y: YamlReader, node: YamlNode, what: string, word: string): ValueSpec {
  if (word === 'path') return { kind: 'path' };
  if (word === 'unit') return { kind: 'unit', allow: null };
  return y.fail(node, `${what}: unknown type "${word}" (use flag, path, unit, or {int|enum|regex|unit: …})`);
}

function valueSpec(y: YamlReader, node: YamlNode, what: string, m: ReturnType<YamlReader['map']>): ValueSpec {
  const kinds = VALUE_KINDS.filter((k) => m.has(k));
  if (kinds.length !== 1) y.fail(node, `${what} needs exactly one of ${VALUE_KINDS.join(', ')}`);
  const kind = kinds[0]!;
  const v = m.get(kind)!.value;
  switch (kind) {
    case 'int': {
      const bounds = y.seq(v, `${what}.int`).map((b, i) => y.int(b, `${what}.int[${i}]`));
      if (bounds.length !== 2 || bounds[0]! > bounds[1]!) y.fail(v, `${what}.int must be [min, max]`);
      return { kind, min: bounds[0]!, max: bounds[1]! };
    }
    case 'enum': {
      const values = y.strings(v, `${what}.enum`);
      if (values.length === 0) y.fail(v, `${what}.enum is empty`);
      for (const e of values) if (!FIXED_ARG.test(e)) y.fail(v, `${what}.enum: "${e}" must be a plain word`);
      return { kind, values };
    }
    case 'regex': {
      const source = y.string(v, `${what}.regex`);
      // Anchored on both ends so a pattern cannot match a harmless prefix of a longer value.
      if (!source.startsWith('^') || !source.endsWith('$') || source.endsWith('\\$')) y.fail(v, `${what}.regex must be anchored: start with ^ and end with $`);
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
      return { kind, allow };
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
