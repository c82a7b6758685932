import type { ReasonCode } from '../errors.js';
import type { CommandSpec, OptionSpec, OptionStyle, TopCommandSpec, ValueSpec } from '../policy/types.js';
import { isSpelled, valueProblem } from './values.js';

/** A value the client supplied, located in the argument list so it can be checked and rewritten. */
export interface ValueUse {
  /** Index into the arguments after the command name. */
  index: number;
  /** What precedes the value inside its token: '' when it is the whole token, '--file=' or '-f' when attached. */
  prefix: string;
  value: string;
  spec: ValueSpec;
  /** For messages: the option spelling or `operand N`. */
  what: string;
  operand: boolean;
}

export type ArgsResult =
  | {
      ok: true;
      /** The subcommand level the arguments were read against. */
      leaf: CommandSpec;
      /** Subcommand words as typed (not the default subcommand, which the program applies itself). */
      words: string[];
      /** Where in the arguments leash's `always` words go: right after the last subcommand word. */
      insertAt: number;
      always: string[];
      values: ValueUse[];
    }
  /** `option`, `word` and `level` say what was refused, for a hint; `hint` is one already known here. */
  | { ok: false; code: ReasonCode; detail: string; option?: string; word?: string; level?: CommandSpec; hint?: string };

type Deny = Extract<ArgsResult, { ok: false }>;
const deny = (code: ReasonCode, detail: string, extra: Partial<Deny> = {}): Deny => ({ ok: false, code, detail, ...extra });

/** The value types whose separate value may start with `-`: a dash there is part of the value (-5, -1h, -.mount). */
const DASH_VALUE_KINDS: ReadonlySet<string> = new Set(['int', 'time', 'unit', 'pattern']);

/**
 * Reads arguments the way the program will, but only against the allowlist.
 *
 * `getopt` programs (GNU getopt_long): options are recognised anywhere (GNU
 * permutes), before a subcommand word too; grouped short flags are split;
 * values may be attached (`-n50`, `--lines=50`) or follow (a required value
 * only); long options must be spelled in full — `--no-pag` is refused because
 * the program would resolve it against its own, larger option table.
 * `words` programs (ip): each option is one exact word, and options come
 * only before the subcommand words, as the program reads them.
 *
 * A subcommand level with a `default` applies it when no word is left
 * (`systemctl --failed` is `systemctl list-units --failed`). In a pipeline's
 * later stage (`inPipe`) a command reads its standard input, so its path
 * operands are refused. Pure.
 */
export function readArguments(command: TopCommandSpec, args: readonly string[], inPipe: boolean): ArgsResult {
  const style = command.optionStyle;
  const words: string[] = [];
  const always = [...command.always];
  const values: ValueUse[] = [];
  const seen = new Set<OptionSpec>();
  /** Words right after a bare `optional: next` option that were not a valid value for it, by index. */
  const notValues = new Map<number, string>();
  const label = (): string => [command.name, ...words].join(' ');
  let spec: CommandSpec = command;
  let insertAt = 0;
  let i = 0;

  while (spec.subcommands) {
    const tok = args[i];
    const allowed = [...spec.subcommands.keys()].join(', ');
    if (tok === undefined) {
      if (spec.defaultSubcommand === null) return deny('SUBCOMMAND_MISSING', `${label()} needs one of: ${allowed}`, { level: spec });
      spec = spec.subcommands.get(spec.defaultSubcommand)!;
      always.push(...spec.always);
      continue;
    }
    if (tok === '--') return deny('SUBCOMMAND_NOT_ALLOWED', `"--" before the subcommand of ${label()} (allowed: ${allowed})`, { level: spec });
    if (tok.startsWith('-') && tok !== '-') {
      if (style === 'words' && words.length > 0) return wordsOptionLate(command.name, tok, words, spec);
      const r = readOption(spec, style, args, i, values, seen, notValues, label());
      if (!r.ok) return r;
      i = r.next;
      continue;
    }
    const sub = spec.subcommands.get(tok);
    if (!sub) return deny('SUBCOMMAND_NOT_ALLOWED', `${label()} ${tok} (allowed: ${allowed})`, { level: spec, word: tok });
    words.push(tok);
    spec = sub;
    always.push(...sub.always);
    insertAt = ++i;
  }

  const operands: Array<{ index: number; value: string }> = [];
  let ended = false;
  while (i < args.length) {
    const tok = args[i] as string;
    if (!ended && tok === '--') {
      ended = true;
      i++;
      continue;
    }
    if (ended || !tok.startsWith('-') || tok === '-') {
      operands.push({ index: i, value: tok });
      i++;
      continue;
    }
    if (style === 'words' && (words.length > 0 || operands.length > 0)) return wordsOptionLate(command.name, tok, words, spec);
    const r = readOption(spec, style, args, i, values, seen, notValues, label());
    if (!r.ok) return r;
    i = r.next;
  }

  for (const opt of seen) {
    if (opt.requires.length > 0 && !opt.requires.some((n) => seen.has(spec.options.get(n)!))) {
      return deny('OPTION_REQUIRED', `${opt.names.join('/')} needs ${opt.requires.join(' or ')} as well`, { option: opt.names[0], level: spec });
    }
  }
  if (spec.requiresOneOf.length > 0 && !spec.requiresOneOf.some((n) => seen.has(spec.options.get(n)!))) {
    return deny('OPTION_REQUIRED', `${label()} needs one of ${spec.requiresOneOf.join(', ')}`, { level: spec });
  }

  const fill = fillSlots(spec, operands, inPipe, label());
  if (!fill.ok) {
    // journalctl -n 100001: the program would take the word as the count; say so rather than "too many operands".
    const refused = fill.index === undefined ? undefined : notValues.get(fill.index);
    return refused === undefined ? fill : deny('OPTION_VALUE_INVALID', refused, { level: spec });
  }
  return { ok: true, leaf: spec, words, insertAt, always, values: [...values, ...fill.values] };
}

/**
 * Operand slots are filled left to right; each takes as many as it may while
 * leaving enough for the minimums of the slots after it. An operand that
 * starts with `-` (after `--`) is data only where its slot is a unit
 * (`-.mount`); anywhere else it is one spelling away from an option
 * (CVE-2017-8386).
 */
function fillSlots(spec: CommandSpec, operands: Array<{ index: number; value: string }>, inPipe: boolean, label: string): (Deny & { index?: number }) | { ok: true; values: ValueUse[] } {
  const hasPathSlot = spec.operands.some((s) => s.value.kind === 'path');
  const slots = inPipe ? spec.operands.map((s) => (s.value.kind === 'path' ? { ...s, min: 0, max: 0 } : s)) : spec.operands;
  if (spec.operandCounts !== null && !spec.operandCounts.includes(operands.length)) {
    return deny('OPERAND_COUNT', `${label} takes ${spec.operandCounts.join(' or ')} operands, not ${operands.length}`, { level: spec });
  }
  const values: ValueUse[] = [];
  let next = 0;
  for (const [s, slot] of slots.entries()) {
    const laterMin = slots.slice(s + 1).reduce((n, x) => n + x.min, 0);
    const take = Math.min(slot.max, operands.length - next - laterMin);
    if (take < slot.min) return deny('OPERAND_COUNT', `${label} needs more operands`, { level: spec });
    for (let n = 0; n < take; n++, next++) {
      const op = operands[next]!;
      values.push({ index: op.index, prefix: '', value: op.value, spec: slot.value, what: `operand ${next + 1}`, operand: true });
    }
  }
  if (next < operands.length) {
    const { value: extra, index } = operands[next]!;
    if (inPipe && hasPathSlot) return deny('PIPELINE_FILE_OPERAND', `${label} reads the previous command's output here, so it takes no file ("${extra}")`, { level: spec });
    if (slots.length === 0) return { ...deny('OPERAND_COUNT', `${label} takes no operands (got "${extra}")`, { level: spec }), index };
    return { ...deny('OPERAND_COUNT', `too many operands for ${label} (from "${extra}")`, { level: spec }), index };
  }
  for (const use of values) {
    if (!use.value.startsWith('-')) continue;
    const asUnit = use.spec.kind === 'unit' && use.value !== '-' && valueProblem(use.value, use.spec) === null;
    if (!asUnit) return deny('OPERAND_DASH', `operand "${use.value}" starts with "-"`, { level: spec });
  }
  return { ok: true, values };
}

/** A `words` program (ip) reads its options only before the subcommand words (and operands). */
function wordsOptionLate(command: string, tok: string, words: string[], level: CommandSpec): Deny {
  const where = words.length > 0 ? `before ${words.join(' ')}` : 'before its operands';
  const first = level.options.has(tok) ? { hint: `put it first: ${command} ${tok} ${words.join(' ')}`.trimEnd() } : {};
  return deny('OPTION_NOT_ALLOWED', `${tok}: ${command} reads options only ${where}`, { option: tok, word: tok, level, ...first });
}

/** Reads the option at args[j] (and its value); returns the index after it. */
function readOption(
  spec: CommandSpec,
  style: OptionStyle,
  args: readonly string[],
  j: number,
  values: ValueUse[],
  seen: Set<OptionSpec>,
  notValues: Map<number, string>,
  label: string,
): Deny | { ok: true; next: number } {
  const tok = args[j] as string;
  const separate = (opt: OptionSpec, name: string, hint: string): Deny | { ok: true; next: number } => {
    const next = args[j + 1];
    if (next === undefined) return deny('OPTION_VALUE_MISSING', `${name} needs a value`, { option: name, level: spec });
    if (next.startsWith('-') && !dashValueOk(next, opt.value!)) {
      return deny('OPTION_VALUE_INVALID', `value "${next}" for ${name} starts with "-" (${hint})`, { option: name, level: spec });
    }
    values.push({ index: j + 1, prefix: '', value: next, spec: opt.value!, what: name, operand: false });
    return { ok: true, next: j + 2 };
  };
  // A bare optional-value option: the next word is its value only if the program would take it so.
  const bare = (opt: OptionSpec, name: string): { ok: true; next: number } => {
    const next = args[j + 1];
    if (opt.valueNext && next !== undefined && isSpelled(opt.value!)) {
      const problem = valueProblem(next, opt.value!);
      if (problem === null) {
        values.push({ index: j + 1, prefix: '', value: next, spec: opt.value!, what: name, operand: false });
        return { ok: true, next: j + 2 };
      }
      if (!next.startsWith('-')) notValues.set(j + 1, `${name}: ${problem}`);
    }
    return { ok: true, next: j + 1 };
  };

  if (style === 'words') {
    const opt = spec.options.get(tok);
    if (!opt) return deny('OPTION_NOT_ALLOWED', `${tok} is not allowed for ${label}`, { option: tok, word: tok, level: spec });
    seen.add(opt);
    if (opt.value === null) return { ok: true, next: j + 1 };
    return opt.valueOptional ? bare(opt, tok) : separate(opt, tok, 'not a value here');
  }

  if (tok.startsWith('--')) {
    const eq = tok.indexOf('=');
    const name = eq < 0 ? tok : tok.slice(0, eq);
    const opt = spec.options.get(name);
    if (!opt) return deny('OPTION_NOT_ALLOWED', unknownLong(name, spec), { option: name, word: tok, level: spec });
    seen.add(opt);
    if (opt.value === null) {
      if (eq >= 0) return deny('OPTION_VALUE_UNEXPECTED', `${name} takes no value`, { option: name, level: spec });
      return { ok: true, next: j + 1 };
    }
    if (eq >= 0) {
      values.push({ index: j, prefix: tok.slice(0, eq + 1), value: tok.slice(eq + 1), spec: opt.value, what: name, operand: false });
      return { ok: true, next: j + 1 };
    }
    return opt.valueOptional ? bare(opt, name) : separate(opt, name, `attach it: ${name}=VALUE`);
  }

  // A cluster of short options: -tlnp, -n50, -fFILE.
  for (let k = 1; k < tok.length; k++) {
    const name = `-${tok[k]}`;
    const opt = spec.options.get(name);
    if (!opt) return deny('OPTION_NOT_ALLOWED', `${name}${tok.length > 2 ? ` (in ${tok})` : ''} is not allowed for ${label}`, { option: name, word: tok, level: spec });
    seen.add(opt);
    if (opt.value === null) continue;
    const attached = tok.slice(k + 1);
    if (attached !== '') {
      values.push({ index: j, prefix: tok.slice(0, k + 1), value: attached, spec: opt.value, what: name, operand: false });
      return { ok: true, next: j + 1 };
    }
    return opt.valueOptional ? bare(opt, name) : separate(opt, name, `attach it: ${name}VALUE`);
  }
  return { ok: true, next: j + 1 };
}

/**
 * A separate value that starts with `-` is taken only where the type gives
 * the dash a meaning and checks what follows it (a negative integer, a time
 * such as -1h, the unit -.mount, a pattern); anywhere else it is refused
 * rather than risk that the program reads it as an option.
 */
function dashValueOk(value: string, spec: ValueSpec): boolean {
  return DASH_VALUE_KINDS.has(spec.kind) && isSpelled(spec) && valueProblem(value, spec) === null;
}

function unknownLong(name: string, spec: CommandSpec): string {
  const completions = [...spec.options.keys()].filter((o) => o.startsWith('--') && o.startsWith(name));
  if (completions.length > 0) return `${name} is not allowed: abbreviations are refused, spell it in full (${completions.join(', ')})`;
  return `${name} is not allowed`;
}
