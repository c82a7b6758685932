import { minimatch } from 'minimatch';
import type { ValueSpec } from '../policy/types.js';

/** The value types checked by their spelling alone; paths, pids and mounts need the host (decide.ts). */
export type SpelledSpec = Exclude<ValueSpec, { kind: 'path' | 'pid' | 'mount' }>;

export function isSpelled(spec: ValueSpec): spec is SpelledSpec {
  return spec.kind !== 'path' && spec.kind !== 'pid' && spec.kind !== 'mount';
}

/**
 * systemd unit names: no escapes (backslash is refused earlier anyway); a
 * leading dash only for the root mount and slice, `-.mount` and `-.slice`.
 */
const UNIT_NAME = /^(?:[A-Za-z0-9][A-Za-z0-9:_.@-]{0,254}|-\.(?:mount|slice))$/;
export const UNIT_SUFFIX = /\.(service|socket|target|timer|mount|automount|swap|path|slice|scope|device)$/;
/** systemctl reads a bare number as a process ID (the unit that holds it), not as a unit name. */
const ALL_DIGITS = /^[0-9]+$/;
/** Items in an enum list value, at most. */
const MAX_LIST_ITEMS = 32;
/** Enum words a message names before "…". */
const MAX_LISTED = 12;
/** Sign and digits; at most 19 digits, and compared as BigInt, so nothing rounds past 2^53. */
const INTEGER = /^([+-]?)(0|[1-9][0-9]{0,18})$/;

const TIME_UNIT = '(?:usec|us|msec|ms|seconds|second|sec|s|minutes|minute|min|m|hours|hour|hr|h|days|day|d|weeks|week|w|months|month|M|years|year|y)';
const TIME_SPAN = `[0-9]{1,6} ?${TIME_UNIT}(?: ?[0-9]{1,6} ?${TIME_UNIT}){0,5}`;
/**
 * systemd.time(7) as journalctl --since/--until read it: a date, a date and
 * time, a time of today, a word, a signed span (-1h, +2d), a span "ago", or
 * @UNIX-seconds. Nothing else: journalctl parses the value, no shell does.
 */
export const TIME_SPEC = new RegExp(
  `^(?:[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2})?)?|[0-9]{2}:[0-9]{2}(?::[0-9]{2})?|today|yesterday|tomorrow|now|[+-]${TIME_SPAN}|${TIME_SPAN} ago|@[0-9]{1,12})$`,
);

/** systemctl and journalctl read `nginx` as `nginx.service`: match the name they will act on. */
export function fullUnitName(value: string): string {
  return UNIT_SUFFIX.test(value) ? value : `${value}.service`;
}

export function unitMatches(full: string, globs: readonly string[]): boolean {
  return globs.some((g) => minimatch(full, g, { nocomment: true, nonegate: true, noext: true, dot: true }));
}

/**
 * Checks a value against a type that needs nothing but its spelling.
 * Returns null when it conforms, otherwise why not. Pure.
 */
export function valueProblem(value: string, spec: SpelledSpec): string | null {
  switch (spec.kind) {
    case 'int': {
      const m = INTEGER.exec(value);
      if (!m) return `"${value}" is not an integer`;
      const [, sign, digits] = m as unknown as [string, string, string];
      if (sign === '+' && !spec.plus) return `"${value}": a leading + is not accepted here`;
      // +N keeps its magnitude (tail -n +2 counts from line 2); bounds apply to it.
      const n = BigInt(sign === '-' ? `-${digits}` : digits);
      return n < BigInt(spec.min) || n > BigInt(spec.max) ? `${value} is outside ${spec.min}..${spec.max}` : null;
    }
    case 'enum': {
      const items = spec.list ? value.split(',') : [value];
      const bad = items.find((v) => !spec.values.includes(v));
      if (bad === undefined && items.length <= MAX_LIST_ITEMS) return null;
      const shown = spec.values.length > MAX_LISTED ? `${spec.values.slice(0, MAX_LISTED).join(', ')}, … (leash-describe lists them all)` : spec.values.join(', ');
      return `"${bad ?? value}" is not ${spec.list ? `a list of at most ${MAX_LIST_ITEMS} of` : 'one of'} ${shown}`;
    }
    case 'regex':
      return spec.pattern.test(value) ? null : `"${value}" does not match ${spec.source}`;
    case 'pattern':
      return value.length > spec.maxLength ? `the pattern is longer than ${spec.maxLength} bytes` : null;
    case 'time':
      return TIME_SPEC.test(value) ? null : `"${value}" is not a time like 2026-11-30, "2026-11-30 10:00:00", 10:00, yesterday, -1h or "1 hour ago"`;
    case 'unit': {
      if (!UNIT_NAME.test(value)) return `"${value}" is not a unit name`;
      if (ALL_DIGITS.test(value)) return `"${value}" is a number, which systemctl would read as a process ID, not a unit`;
      const full = fullUnitName(value);
      if (unitMatches(full, spec.except)) return `unit ${full} is excluded (${spec.except.join(', ')})`;
      if (spec.allow === null) return null;
      return unitMatches(full, spec.allow) ? null : `unit ${full} is not in ${spec.allow.join(', ')}`;
    }
  }
}
