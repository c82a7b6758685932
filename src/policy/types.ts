/**
 * The in-memory form of a profile (policies/<name>.yaml), produced by
 * load.ts and consumed by the pure decision in src/shell/decide.ts.
 */

/** What a value (an option's argument or an operand) must be. */
export type ValueSpec =
  | { kind: 'path' }
  /** A systemd unit name; `allow` (globs) narrows it to listed units. */
  | { kind: 'unit'; allow: string[] | null }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'enum'; values: string[] }
  /** Anchored (^…$) regular expression over the whole value. */
  | { kind: 'regex'; source: string; pattern: RegExp };

export interface OptionSpec {
  /** Every spelling, e.g. ['-n', '--lines']; all map to this one spec. */
  names: string[];
  /** null: a flag that takes no value. */
  value: ValueSpec | null;
  /** The value may only be attached (`-b-1`, `--boot=-1`); a bare `-b` is a flag. */
  valueOptional: boolean;
}

/** A run of positional operands of one type: `min`..`max` of them. */
export interface OperandSlot {
  value: ValueSpec;
  min: number;
  max: number;
}

export interface CommandSpec {
  /** The word the client types (for a subcommand: its word, e.g. `status`). */
  name: string;
  /** Options by spelling (`-n`, `--lines`), including those inherited from the parent command. */
  options: Map<string, OptionSpec>;
  operands: OperandSlot[];
  /** Arguments leash always adds, right after the command (and subcommand) words. */
  always: string[];
  /** When present, the next word must be one of these. */
  subcommands: Map<string, CommandSpec> | null;
  /** Seconds; overrides the profile default. */
  timeout: number | null;
}

export interface TopCommandSpec extends CommandSpec {
  /** Absolute path of the program, never looked up in PATH. */
  binary: string;
  description: string | null;
  /** file:line:column of the `binary:` value, for `policy check` messages. */
  binarySource: string;
}

export interface PathRules {
  allow: string[];
  deny: string[];
  /** Re-allows built-in sensitive paths (/proc/PID/environ, …) that match. */
  allowSensitive: string[];
}

export interface Profile {
  name: string;
  file: string;
  description: string | null;
  /** Default per-command timeout, seconds. */
  timeout: number;
  /** Bytes of output (stdout and stderr together) a command may write before its process group is killed. */
  maxOutputBytes: number;
  /** Bytes of each output stream kept in the recordings log per command; 0 = none. */
  recordOutputBytes: number;
  paths: PathRules;
  commands: Map<string, TopCommandSpec>;
  /** The sftp subsystem: null means a subsystem request is denied. */
  sftp: { binary: string; readOnly: boolean } | null;
}

export const DEFAULT_TIMEOUT_SECONDS = 300;
export const DEFAULT_MAX_OUTPUT_BYTES = 256 * 1024 * 1024;
export const DEFAULT_RECORD_OUTPUT_BYTES = 64 * 1024;
/** The largest max_output or record_output a profile may set. */
export const MAX_SIZE_BYTES = 64 * 1024 * 1024 * 1024;
