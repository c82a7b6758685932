import { readFileSync } from 'node:fs';
import { asLeashError } from '../errors.js';
import { readConfigFile } from '../trust/config-file.js';
import { binaryStatus } from './binary.js';
import { realFs } from './fs-view.js';
import { parseProfileFile } from './parse.js';

/**
 * What `leash policy check FILE` reports for one profile file: every problem
 * as `file:line:column: reason` (errors), and what is merely unavailable on
 * this host (notes). The file and its `extends:` parent are read under
 * leash's ownership rules; an unsafe file is reported and its content still
 * validated, so an operator can check a profile before installing it.
 */
export function checkProfileFile(file: string): { errors: string[]; notes: string[] } {
  const errors: string[] = [];
  const notes: string[] = [];
  const read = (path: string): string => {
    try {
      return readConfigFile(path);
    } catch (err) {
      const e = asLeashError(err);
      if (e.code !== 'CONFIG_UNSAFE') throw e;
      const line = `${path}: ${e.message} (leash shell would refuse this profile)`;
      if (!errors.includes(line)) errors.push(line);
      return readFileSync(path, 'utf8');
    }
  };
  try {
    const profile = parseProfileFile(file, read);
    const missing: string[] = [];
    for (const [name, spec] of profile.commands) {
      const st = binaryStatus(spec.binary, realFs);
      if (st.ok) continue;
      if (st.code === 'BINARY_MISSING') missing.push(name);
      else errors.push(`${spec.binarySource}: UNSAFE BINARY for command ${name}: ${st.detail} (the command is denied until this is fixed)`);
    }
    if (profile.sftp) {
      const st = binaryStatus(profile.sftp.binary, realFs);
      if (!st.ok) errors.push(`${file}: sftp.binary: ${st.detail}`);
    }
    if (missing.length > 0) notes.push(`${file}: note: not installed on this host, so unavailable here: ${missing.join(', ')}`);
  } catch (err) {
    errors.push(asLeashError(err).message);
  }
  return { errors, notes };
}
