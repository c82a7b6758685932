import { LeashError } from '../errors.js';
import { readCompiled, writeCompiled } from './compiled-config.js';
import { leashConfigPath } from './dir.js';
import { defaultLeashConfig, type LeashConfig } from './types.js';

/**
 * Loads <config-dir>/leash.yaml. `required` decides what a missing file means:
 * the verifier cannot work without providers and grants, while the shell can
 * run on defaults (a host that uses ForceCommand without the verifier). From
 * the compiled cache when it is current (see compiled-cache.ts), otherwise
 * parsed and validated from the YAML.
 */
export async function loadLeashConfig(configDir: string, required: boolean): Promise<LeashConfig> {
  const cached = readCompiled(configDir, 'leash');
  if (cached !== null) return cached as LeashConfig;
  const { loadLeashConfigFromYaml } = await import('./parse.js');
  const loaded = loadLeashConfigFromYaml(configDir);
  if (loaded === null) {
    if (required) throw new LeashError('CONFIG_MISSING', `${leashConfigPath(configDir)}: no such file`);
    return defaultLeashConfig();
  }
  return loaded.config;
}

/** Validates leash.yaml and writes its compiled cache (root only). Returns the cache path, or null without a leash.yaml. */
export async function compileLeashConfig(configDir: string): Promise<string | null> {
  const { loadLeashConfigFromYaml } = await import('./parse.js');
  const loaded = loadLeashConfigFromYaml(configDir);
  return loaded === null ? null : writeCompiled(configDir, 'leash', [loaded.source], loaded.config);
}

