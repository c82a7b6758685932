import { minimatch } from 'minimatch';
import type { ValueSpec } from '../policy/types.js';

/** systemd unit names: no leading dash, no escapes (backslash is refused earlier anyway). */
const UNIT_NAME = /^[A-Za-z0-9][A-Za-z0-9:_.@-]{0,254}$/;
const UNIT_SUFFIX = /\.(service|socket|target|timer|mount|automount|swap|path|slice|scope|device)$/;
const INTEGER = /^-?(0|[1-9][0-9]{0,15})$/;

/**
 * Checks a non-path value against its type. Returns null when it conforms,
 * otherwise why not. Pure. (Paths need the filesystem: see paths.ts.)
 */
export function valueProblem(value: string, spec: Exclude<ValueSpec, { kind: 'path' }>): string | null {
  switch (spec.kind) {
    case 'int': {
      if (!INTEGER.test(value)) return `"${value}" is not an integer`;
      const n = Number(value);
      return n < spec.min || n > spec.max ? `${n} is outside ${spec.min}..${spec.max}` : null;
    }
    case 'enum':
      return spec.values.includes(value) ? null : `"${value}" is not one of ${spec.values.join(', ')}`;
    case 'regex':
      return spec.pattern.test(value) ? null : `"${value}" does not match ${spec.source}`;
    case 'unit': {
      if (!UNIT_NAME.test(value)) return `"${value}" is not a unit name`;
      if (spec.allow === null) return null;
      // systemctl reads `nginx` as `nginx.service`; match the name it will act on.
      const full = UNIT_SUFFIX.test(value) ? value : `${value}.service`;
      return spec.allow.some((g) => minimatch(full, g, { nocomment: true, nonegate: true, noext: true })) ? null : `unit ${full} is not in ${spec.allow.join(', ')}`;
    }
  }
}
