import { readCompiled, writeCompiled } from '../config/compiled-config.js';
import type { Profile } from './types.js';

/**
 * The profile <config-dir>/policies/<name>.yaml. From the compiled cache when
 * it is current (no YAML parser is loaded then); otherwise parsed and
 * validated from the YAML, with the same result. Throws on any problem: the
 * caller denies everything.
 */
export async function loadProfile(configDir: string, name: string): Promise<Profile> {
  const cached = readCompiled(configDir, `policies.${name}`);
  if (cached !== null) return cached as Profile;
  const { loadProfileFromYaml } = await import('./parse.js');
  return loadProfileFromYaml(configDir, name).profile;
}

/** Validates a profile from its YAML and writes its compiled cache (root only). Returns the cache path. */
export async function compileProfile(configDir: string, name: string): Promise<string> {
  const { loadProfileFromYaml } = await import('./parse.js');
  const { profile, sources } = loadProfileFromYaml(configDir, name);
  return writeCompiled(configDir, `policies.${name}`, sources, profile);
}
