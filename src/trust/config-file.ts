import { dirname } from 'node:path';
import { LeashError } from '../errors.js';
import { readFileChecked } from './checked-read.js';
import { assertTrustedParents, unsafeReason } from './ownership.js';

/** Config files are small; anything larger is refused rather than read. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Reads a configuration file that only root can have written (ownership.ts,
 * up every parent directory). The file is opened without following a final
 * symlink and judged through the open descriptor, so what is checked is what
 * is read. Throws CONFIG_MISSING, CONFIG_UNSAFE, CONFIG_UNREADABLE or
 * CONFIG_TOO_LARGE.
 */
export function readConfigFile(path: string): string {
  assertTrustedParents(dirname(path));
  const text = readFileChecked(path, MAX_CONFIG_BYTES, (st) => unsafeReason(path, st), {
    unsafe: 'CONFIG_UNSAFE',
    unreadable: 'CONFIG_UNREADABLE',
    tooLarge: 'CONFIG_TOO_LARGE',
  });
  if (text === null) throw new LeashError('CONFIG_MISSING', `${path}: no such file`);
  return text;
}
