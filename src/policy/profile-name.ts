import { loadLeashConfig } from '../config/load.js';
import { DEFAULT_PROFILE } from './types.js';

/**
 * The profile a command means when it names none: leash.yaml's
 * default_profile, else `diagnostic` — the same rule `leash shell` applies,
 * so that `leash explain` and `leash describe` answer for what a session gets.
 */
export async function profileNameFor(flag: string | undefined, configDir: string): Promise<string> {
  if (flag !== undefined) return flag;
  return (await loadLeashConfig(configDir, false)).defaultProfile ?? DEFAULT_PROFILE;
}
