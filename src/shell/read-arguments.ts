import type { ReasonCode } from '../errors.js';
import type { CommandSpec, ValueSpec } from '../policy/types.js';

/** A value the client supplied, located in the argument list so it can be checked and rewritten. */
export interface ValueUse {
  /** Index into the arguments after the command (and subcommand) words. */
  index: number;
  /** What precedes the value inside its token: '' when it is the whole token, '--file=' or '-f' when attached. */
  prefix: string;
  value: string;
  spec: ValueSpec;
  /** For messages: the option spelling or `operand N`. */
  what: string;
}

export type ArgsResult =
  | { ok: true; words: string[]; leaf: CommandSpec; always: string[]; rest: string[]; values: ValueUse[] }
  | { ok: false; code: ReasonCode; detail: string };

const deny = (code: ReasonCode, detail: string): ArgsResult => ({ ok: false, code, detail });

/**
 * Reads arguments the way GNU getopt_long would, but only against the
 * allowlist: options are recognised anywhere (GNU permutes), grouped short
 * flags are split, values may be attached (`-n50`, `--lines=50`) or follow,
 * and long options must be spelled in full — an abbreviation such as
 * `--no-pag` is refused because the program would resolve it against its
 * own, larger option table, not against ours. Pure.
 */
export function readArguments(command: CommandSpec, args: readonly string[]): ArgsResult {
  let spec = command;
  let i = 0;
  const words: string[] = [];
  const always = [...spec.always];
  while (spec.subcommands) {
    const word = args[i];
    const allowed = [...spec.subcommands.keys()].join(', ');
    if (word === undefined) return deny('SUBCOMMAND_MISSING', `${[command.name, ...words].join(' ')} needs one of: ${allowed}`);
    const sub = spec.subcommands.get(word);
    if (!sub) return deny('SUBCOMMAND_NOT_ALLOWED', `${[command.name, ...words].join(' ')} ${word} (allowed: ${allowed})`);
    words.push(word);
    spec = sub;
    always.push(...sub.always);
    i++;
  }

  const rest = args.slice(i);
  const values: ValueUse[] = [];
  const operands: Array<{ index: number; value: string }> = [];
  let optionsEnded = false;
  for (let j = 0; j < rest.length; j++) {
    const tok = rest[j] as string;
    if (!optionsEnded && tok === '--') {
      optionsEnded = true;
      continue;
    }
    if (optionsEnded || !tok.startsWith('-') || tok === '-') {
      // Never data: a value starting with '-' is one spelling away from an option (CVE-2017-8386).
      if (tok.startsWith('-')) return deny('OPERAND_DASH', `operand "${tok}" starts with "-"`);
      operands.push({ index: j, value: tok });
      continue;
    }
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      const name = eq < 0 ? tok : tok.slice(0, eq);
      const opt = spec.options.get(name);
      if (!opt) return deny('OPTION_NOT_ALLOWED', unknownLong(name, spec));
      if (opt.value === null) {
        if (eq >= 0) return deny('OPTION_VALUE_UNEXPECTED', `${name} takes no value`);
      } else if (eq >= 0) {
        values.push({ index: j, prefix: tok.slice(0, eq + 1), value: tok.slice(eq + 1), spec: opt.value, what: name });
      } else if (!opt.valueOptional) {
        const next = rest[j + 1];
        if (next === undefined) return deny('OPTION_VALUE_MISSING', `${name} needs a value`);
        if (next.startsWith('-')) return deny('OPTION_VALUE_INVALID', `value "${next}" for ${name} starts with "-" (attach it: ${name}=VALUE)`);
        values.push({ index: ++j, prefix: '', value: next, spec: opt.value, what: name });
      }
      continue;
    }
    // A cluster of short options: -tlnp, -n50, -fFILE.
    for (let k = 1; k < tok.length; k++) {
      const name = `-${tok[k]}`;
      const opt = spec.options.get(name);
      if (!opt) return deny('OPTION_NOT_ALLOWED', `${name}${tok.length > 2 ? ` (in ${tok})` : ''} is not allowed for ${[command.name, ...words].join(' ')}`);
      if (opt.value === null) continue;
      const attached = tok.slice(k + 1);
      if (attached !== '') {
        values.push({ index: j, prefix: tok.slice(0, k + 1), value: attached, spec: opt.value, what: name });
      } else if (!opt.valueOptional) {
        const next = rest[j + 1];
        if (next === undefined) return deny('OPTION_VALUE_MISSING', `${name} needs a value`);
        if (next.startsWith('-')) return deny('OPTION_VALUE_INVALID', `value "${next}" for ${name} starts with "-" (attach it: ${name}VALUE)`);
        values.push({ index: ++j, prefix: '', value: next, spec: opt.value, what: name });
      }
      break;
    }
  }

  // Operand slots are filled left to right; each takes as many as it may while
  // leaving enough for the minimums of the slots after it.
  const slots = spec.operands;
  if (slots.length === 0 && operands.length > 0) return deny('OPERAND_COUNT', `${[command.name, ...words].join(' ')} takes no operands (got "${operands[0]!.value}")`);
  let next = 0;
  for (const [s, slot] of slots.entries()) {
    const laterMin = slots.slice(s + 1).reduce((n, x) => n + x.min, 0);
    const take = Math.min(slot.max, operands.length - next - laterMin);
    if (take < slot.min) return deny('OPERAND_COUNT', `${[command.name, ...words].join(' ')} needs more operands`);
    for (let n = 0; n < take; n++, next++) {
      const op = operands[next]!;
      values.push({ index: op.index, prefix: '', value: op.value, spec: slot.value, what: `operand ${next + 1}` });
    }
  }
  if (next < operands.length) return deny('OPERAND_COUNT', `too many operands for ${[command.name, ...words].join(' ')} (from "${operands[next]!.value}")`);
  return { ok: true, words, leaf: spec, always, rest, values };
}

function unknownLong(name: string, spec: CommandSpec): string {
  const completions = [...spec.options.keys()].filter((o) => o.startsWith('--') && o.startsWith(name));
  if (completions.length > 0) return `${name} is not allowed: abbreviations are refused, spell it in full (${completions.join(', ')})`;
  return `${name} is not allowed`;
}
