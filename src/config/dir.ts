import { isAbsolute, join } from 'node:path';
import { LeashError } from '../errors.js';

export const DEFAULT_CONFIG_DIR = '/etc/leash';

/**
 * Profile names, wherever one is written: a profile file's name, a grant's
 * `profile`, `default_profile`, `--profile`, and the forced command sshd runs
 * (so nothing in it needs quoting). policies/schema.json repeats it; a test
 * keeps the two equal.
 */
export const PROFILE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * The configuration directory: the `--config-dir` flag wins, then
 * LEASH_CONFIG_DIR, then /etc/leash. Inside an SSH session (the forced
 * command) the environment is not trusted, so `envAllowed` is false there and
 * only the flag that sshd's key line carries counts.
 */
export function resolveConfigDir(flag: string | undefined, env: NodeJS.ProcessEnv, envAllowed: boolean): string {
  const dir = flag ?? (envAllowed ? env['LEASH_CONFIG_DIR'] : undefined) ?? DEFAULT_CONFIG_DIR;
  if (!isAbsolute(dir)) throw new LeashError('CONFIG_DIR_RELATIVE', `config directory must be an absolute path: ${dir}`);
  return dir;
}

/**
 * Path of a profile file: <configDir>/policies/<name>.yaml, or <dir>/<name>.yaml
 * with `sub` ''. The name is checked so it cannot walk out of the directory.
 */
export function profilePath(configDir: string, name: string, sub = 'policies'): string {
  if (!PROFILE_NAME.test(name)) {
    throw new LeashError('PROFILE_NAME_INVALID', `profile name must match ${PROFILE_NAME.source}: ${JSON.stringify(name)}`);
  }
  return join(configDir, sub, `${name}.yaml`);
}

export function leashConfigPath(configDir: string): string {
  return join(configDir, 'leash.yaml');
}
