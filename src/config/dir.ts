import { isAbsolute, join } from 'node:path';
import { LeashError } from '../errors.js';

export const DEFAULT_CONFIG_DIR = '/etc/leash';

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

/** Path of a profile file. The name is checked so it cannot walk out of policies/. */
export function profilePath(configDir: string, name: string): string {
  if (!/^[a-z0-9][a-z0-9_-]{0,63}$/.test(name)) {
    throw new LeashError('PROFILE_NAME_INVALID', `profile name must match [a-z0-9][a-z0-9_-]{0,63}: ${JSON.stringify(name)}`);
  }
  return join(configDir, 'policies', `${name}.yaml`);
}
