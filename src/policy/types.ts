/**
 * The in-memory form of a profile (policies/<name>.yaml), produced by
 * load.ts and consumed by the pure decision in src/shell/decide.ts.
 */

/**
 * What a value (an option's argument or an operand) must be. `path` values
 * name files on this host and are resolved; `pid` and `mount` values are
 * checked against the process and mount tables; the rest are checked by their
 * spelling alone (src/shell/values.ts).
 */
export type ValueSpec =
  /**
   * An existing file. `read`: the program opens it (its content, or a
   * directory's listing), so it must be a regular file or a directory.
   * `stat`: the program only looks at the entry (stat, ls -l), so a FIFO,
   * socket or device is fine too.
   */
  | { kind: 'path'; access: 'read' | 'stat' }
  /** A systemd unit name; `allow` (globs) narrows it to listed units, `except` (globs) refuses some. */
  | { kind: 'unit'; allow: string[] | null; except: string[] }
  /** A decimal integer in [min, max]; with `plus`, `+N` too (tail -n +2: from line 2). */
  | { kind: 'int'; min: number; max: number; plus: boolean }
  /** One of the words; with `list`, one or more of them joined by commas (systemctl show -p A,B). */
  | { kind: 'enum'; values: string[]; list: boolean }
  /** The whole value matches `source`, which is already anchored as `^(?:…)$`. */
  | { kind: 'regex'; source: string; pattern: RegExp }
  /**
   * A regular expression the program itself interprets (grep's PATTERN,
   * journalctl --grep). The only type whose value may contain shell
   * metacharacters, and only inside quotes.
   */
  | { kind: 'pattern'; maxLength: number }
  /** A systemd time specification (journalctl --since): `yesterday`, `-1h`, `1 hour ago`, `2026-11-30 10:00:00`. */
  | { kind: 'time' }
  /**
   * A running process (kill): in one of the listed systemd units or owned by
   * one of the listed users, and never a leash session's process (see
   * src/shell/pids.ts).
   */
  | { kind: 'pid'; units: string[]; users: string[] }
  /** A mount point from the mount table (never an automount point), or a `stat` path under paths.allow. */
  | { kind: 'mount' };

export type ValueKind = ValueSpec['kind'];

export interface OptionSpec {
  /** Every spelling, e.g. ['-n', '--lines']; all map to this one spec. */
  names: string[];
  /** null: a flag that takes no value. */
  value: ValueSpec | null;
  /** The value is optional (getopt's optional_argument): it is only ever attached (`-Iseconds`, `--iso-8601=seconds`). */
  valueOptional: boolean;
  /**
   * With valueOptional: a bare option also takes the next word when that word
   * is a valid value, as journalctl's `-b -1` does.
   */
  valueNext: boolean;
  /** This option is allowed only together with one of these (free -s needs -c, or it repeats forever). */
  requires: string[];
}

/** A run of positional operands of one type: `min`..`max` of them. */
export interface OperandSlot {
  value: ValueSpec;
  min: number;
  max: number;
}

export interface CommandSpec {
  /** The word the client types (for a subcommand: its first spelling, e.g. `status`). */
  name: string;
  /** Every spelling of a subcommand (`a, addr, address`); [name] for a command. */
  names: string[];
  description: string | null;
  /** Options by spelling (`-n`, `--lines`), including those inherited from the parent command. */
  options: Map<string, OptionSpec>;
  operands: OperandSlot[];
  /** When not null, the number of operands must be one of these (vmstat: none, or DELAY and COUNT). */
  operandCounts: number[] | null;
  /** At least one of these options must be given (journalctl: a unit, an identifier or the kernel). */
  requiresOneOf: string[];
  /** Arguments leash always adds, right after the command (and subcommand) words. */
  always: string[];
  /** When present, the next word must be one of these. */
  subcommands: Map<string, CommandSpec> | null;
  /** The subcommand that applies when none is given (`systemctl` = `systemctl list-units`). */
  defaultSubcommand: string | null;
  /** Seconds; overrides the profile default. */
  timeout: number | null;
}

/**
 * How a program reads its options. `getopt`: GNU getopt_long (clusters such
 * as -tlnp, attached values, options anywhere). `words`: each option is one
 * whole word before the subcommand, as iproute2's `ip -br -4 addr` reads them.
 */
export type OptionStyle = 'getopt' | 'words';

export interface TopCommandSpec extends CommandSpec {
  /** Absolute path of the program, never looked up in PATH. */
  binary: string;
  /** file:line:column of the `binary:` value, for `policy check` messages. */
  binarySource: string;
  /** May follow `|`: it then reads the previous command's output and takes no file operands. */
  filter: boolean;
  optionStyle: OptionStyle;
}

export interface PathRules {
  allow: string[];
  deny: string[];
  /** Re-allows built-in sensitive paths (/proc/PID/environ, …) that match. */
  allowSensitive: string[];
  /** Regular files with more than one hard link are refused unless they match one of these. */
  allowHardLinks: string[];
  /**
   * Groups whose members may write a directory above an allowed path
   * (Ubuntu's /var/log is root:syslog 0775). Every other directory above a
   * path must be root-owned and not group- or world-writable.
   */
  trustedGroups: string[];
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

/** The profile `leash shell` and `leash explain` use when neither the command line nor leash.yaml names one. */
export const DEFAULT_PROFILE = 'diagnostic';
export const DEFAULT_TIMEOUT_SECONDS = 300;
export const DEFAULT_MAX_OUTPUT_BYTES = 256 * 1024 * 1024;
export const DEFAULT_RECORD_OUTPUT_BYTES = 64 * 1024;
/** The largest max_output or record_output a profile may set. */
export const MAX_SIZE_BYTES = 64 * 1024 * 1024 * 1024;
/** Commands in one pipeline, at most. */
export const MAX_PIPELINE_STAGES = 8;
/** The longest `pattern` value a profile may allow. */
export const MAX_PATTERN_BYTES = 1024;
