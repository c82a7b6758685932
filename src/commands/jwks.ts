import type { CommandContext } from './context.js';
import { resolveConfigDir } from '../config/dir.js';
import { loadLeashConfig } from '../config/load.js';
import { type LeashConfig } from '../config/types.js';
import { LeashError, asLeashError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { printable } from '../encoding/printable.js';
import { readPinnedJwks, refreshProvider } from '../verify/keys/provider-keys.js';
import type { PublicJwk } from '../verify/keys/jwks.js';

export interface JwksCommandIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const STDIO: JwksCommandIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/**
 * `leash jwks refresh`: fetches every provider's key set into the cache
 * (what the systemd timer runs, as the AuthorizedKeysCommandUser). Pinned
 * providers are only read and checked. One line per provider on stdout:
 *   <issuer> ok keys=<n> kids=<kid,...> [pinned]
 *   <issuer> error <CODE> <message>
 * (the message can quote what a provider sent: escaped by printable(), so
 * each provider stays on one line and no escape sequence reaches a terminal)
 * Exit 0 if every provider is ok, 1 if any failed (including a key set that
 * could not be written, or that has no usable key), 78 if leash.yaml is bad.
 */
export async function runJwks(ctx: CommandContext, io: JwksCommandIo = STDIO): Promise<number> {
  if (ctx.positionals[0] !== 'refresh' || ctx.positionals.length !== 1) {
    throw new LeashError('USAGE', 'usage: leash jwks refresh');
  }
  let config: LeashConfig;
  try {
    config = await loadLeashConfig(resolveConfigDir(ctx.configDirFlag, ctx.env, true), true);
  } catch (err) {
    const e = asLeashError(err);
    io.err(`leash: ${e.code}: ${e.message}\n`);
    return EXIT.CONFIG;
  }
  const now = Math.floor(Date.now() / 1000);
  let failed = 0;
  // One provider after another: a timer run has time, and the log reads in config order.
  for (const provider of config.providers) {
    let keys: PublicJwk[];
    let note = '';
    try {
      if (provider.jwksFile !== undefined) {
        keys = readPinnedJwks(provider);
        note = ' pinned';
      } else {
        const result = await refreshProvider(provider, { cacheDir: config.jwksCacheDir, now });
        keys = result.keys;
        const unsaved = result.warnings.find((w) => w.code === 'JWKS_CACHE_UNWRITABLE' || w.code === 'JWKS_CACHE_UNSAFE');
        if (!result.persisted) throw new LeashError(unsaved?.code ?? 'JWKS_CACHE_UNWRITABLE', unsaved?.message ?? 'key set not written');
      }
      if (keys.length === 0) throw new LeashError('JWKS_NO_KEYS', 'the key set has no usable signing key');
    } catch (err) {
      const e = asLeashError(err, 'JWKS_FETCH_FAILED');
      failed++;
      io.out(`${provider.issuer} error ${e.code} ${printable(e.message, 1024)}\n`);
      continue;
    }
    io.out(`${provider.issuer} ok keys=${keys.length} kids=${keys.map((k) => k.kid).join(',')}${note}\n`);
  }
  return failed === 0 ? EXIT.OK : EXIT.VERIFY_REFUSED;
}

