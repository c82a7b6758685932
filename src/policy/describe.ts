import { binaryStatus } from './binary.js';
import type { FsView } from './fs-view.js';
import { SENSITIVE_PATHS } from './sensitive-paths.js';
import { MAX_PIPELINE_STAGES, type CommandSpec, type OperandSlot, type OptionSpec, type Profile, type ValueSpec } from './types.js';

/** Bumped when a field changes meaning; fields may be added without a bump. */
export const DESCRIBE_FORMAT = 1;

/** A value type as data. */
export type ValueDescription =
  | { type: 'int'; min: number; max: number; plus: boolean }
  | { type: 'enum'; values: string[]; list: boolean }
  | { type: 'regex'; regex: string }
  | { type: 'pattern'; max_length: number }
  | { type: 'path' | 'stat_path' | 'time' | 'mount' }
  | { type: 'unit'; allow: string[] | null; except: string[] }
  | { type: 'pid'; units: string[]; users: string[] };

export interface OptionDescription {
  names: string[];
  /** null: a flag. */
  value: ValueDescription | null;
  /** attached: only `-xV`/`--x=V`; next: also the next word when it is a valid value; null: a required value (or a flag). */
  value_optional: 'attached' | 'next' | null;
  requires: string[];
}

export interface LevelDescription {
  names: string[];
  description: string | null;
  /** Options this level adds; a subcommand also accepts every option of the levels above it. */
  options: OptionDescription[];
  operands: Array<{ value: ValueDescription; min: number; max: number }>;
  operand_counts: number[] | null;
  requires_one_of: string[];
  /** Words leash adds after the command and subcommand words. */
  always: string[];
  default_subcommand: string | null;
  subcommands: LevelDescription[];
  timeout_ms: number | null;
}

export interface CommandDescription extends LevelDescription {
  binary: string;
  /** The binary is installed and safe here; otherwise the command is refused (BINARY_MISSING, BINARY_UNSAFE). */
  available: boolean;
  /** May follow `|`: it then reads the previous command's output and takes no file operands. */
  filter: boolean;
  option_style: 'getopt' | 'words';
}

export interface ProfileDescription {
  leash_describe: typeof DESCRIBE_FORMAT;
  profile: string;
  description: string | null;
  timeout_ms: number;
  max_output_bytes: number;
  record_output_bytes: number;
  paths: { allow: string[]; deny: string[]; allow_sensitive: string[]; allow_hard_links: string[]; trusted_groups: string[]; builtin_sensitive: string[] };
  pipelines: { max_stages: number; filters: string[] };
  sftp: { read_only: boolean } | null;
  /** How a command line is read: the rules an agent needs to build one. */
  grammar: string[];
  commands: CommandDescription[];
}

const GRAMMAR = [
  'One command, or commands joined by | (each later one a filter, reading the previous output, with no file operands). No other shell syntax: ; & > < $ ` ( ) { } * ? [ ] ~ # ! \\ are refused unquoted.',
  "Quote a word with spaces in '…' or \"…\"; inside quotes, metacharacters are allowed only in a pattern value (a regular expression); $ ` \\ never inside double quotes.",
  'getopt commands: long options spelled in full (--lines=50 or --lines 50), short ones alone or grouped (-tlnp), a value attached (-n50) or next (-n 50); an optional value only attached unless value_optional is next; -- ends the options.',
  'words commands (ip): each option one whole word, before the subcommand.',
  'An operand never starts with - (a unit such as -.mount goes after --). Paths are resolved; the program receives the resolved path.',
];

/**
 * What a profile allows, as data (`leash describe --json`, the session
 * built-in `leash-describe`): every command with its subcommands, options and
 * value types, operand slots, the path rules in force, timeouts and output
 * caps. `fs` only answers which binaries are available here. Pure over `fs`.
 */
export function describeProfile(profile: Profile, fs: FsView): ProfileDescription {
  const commands = [...profile.commands.values()].map((spec): CommandDescription => ({
    ...level(spec, new Map()),
    binary: spec.binary,
    available: binaryStatus(spec.binary, fs).ok,
    filter: spec.filter,
    option_style: spec.optionStyle,
  }));
  return {
    leash_describe: DESCRIBE_FORMAT,
    profile: profile.name,
    description: profile.description,
    timeout_ms: profile.timeout * 1000,
    max_output_bytes: profile.maxOutputBytes,
    record_output_bytes: profile.recordOutputBytes,
    paths: {
      allow: profile.paths.allow,
      deny: profile.paths.deny,
      allow_sensitive: profile.paths.allowSensitive,
      allow_hard_links: profile.paths.allowHardLinks,
      trusted_groups: profile.paths.trustedGroups,
      builtin_sensitive: [...SENSITIVE_PATHS],
    },
    pipelines: { max_stages: MAX_PIPELINE_STAGES, filters: commands.filter((c) => c.filter).map((c) => c.names[0]!) },
    sftp: profile.sftp ? { read_only: profile.sftp.readOnly } : null,
    grammar: GRAMMAR,
    commands,
  };
}

function level(spec: CommandSpec, inherited: Map<string, OptionSpec>): LevelDescription {
  // Each option once (its spellings share one spec), and only at the level that adds it.
  // Compared by content: a profile read from the compiled cache has no shared objects.
  const same = (a: OptionSpec | undefined, b: OptionSpec): boolean => a !== undefined && JSON.stringify(a) === JSON.stringify(b);
  const own = [...new Map([...spec.options].filter(([n, o]) => !same(inherited.get(n), o)).map(([, o]) => [o.names.join(','), o])).values()];
  const subs = spec.subcommands ? [...new Map([...spec.subcommands.values()].map((s) => [s.names[0], s])).values()] : [];
  return {
    names: spec.names,
    description: spec.description,
    options: own.map(option),
    operands: spec.operands.map(slot),
    operand_counts: spec.operandCounts,
    requires_one_of: spec.requiresOneOf,
    always: spec.always,
    default_subcommand: spec.defaultSubcommand,
    subcommands: subs.map((s) => level(s, spec.options)),
    timeout_ms: spec.timeout === null ? null : spec.timeout * 1000,
  };
}

function option(o: OptionSpec): OptionDescription {
  return { names: o.names, value: o.value && value(o.value), value_optional: o.valueNext ? 'next' : o.valueOptional ? 'attached' : null, requires: o.requires };
}

function slot(s: OperandSlot): { value: ValueDescription; min: number; max: number } {
  return { value: value(s.value), min: s.min, max: s.max };
}

export function value(v: ValueSpec): ValueDescription {
  switch (v.kind) {
    case 'int':
      return { type: 'int', min: v.min, max: v.max, plus: v.plus };
    case 'enum':
      return { type: 'enum', values: v.values, list: v.list };
    case 'regex':
      return { type: 'regex', regex: v.source };
    case 'pattern':
      return { type: 'pattern', max_length: v.maxLength };
    case 'path':
      return { type: v.access === 'read' ? 'path' : 'stat_path' };
    case 'unit':
      return { type: 'unit', allow: v.allow, except: v.except };
    case 'pid':
      return { type: 'pid', units: v.units, users: v.users };
    case 'time':
    case 'mount':
      return { type: v.kind };
  }
}
