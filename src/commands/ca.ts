import { hostname } from 'node:os';
import type { CommandContext } from './context.js';
import { EXIT } from './exit-codes.js';
import { flag, guarded } from './operator.js';
import { LeashError } from '../errors.js';
import { DEFAULT_CA_DIR, caPaths, createCa, loadCa } from '../ca/ca-key.js';

/**
 * `leash ca init [--ca-dir DIR]`: a new Ed25519 CA key (refuses to overwrite);
 * prints the public key for `install.sh --ca-key`. `leash ca show`: the
 * public key and its fingerprint. The private key is never printed.
 */
export const runCa = guarded(async (ctx: CommandContext): Promise<number> => {
  const dir = flag(ctx, 'ca-dir') ?? DEFAULT_CA_DIR;
  if (!dir.startsWith('/')) throw new LeashError('USAGE', '--ca-dir must be an absolute path');
  const sub = ctx.positionals.join(' ');
  if (sub === 'init') {
    const ca = createCa(dir, `leash-ca@${hostname()}`);
    const p = caPaths(dir);
    process.stdout.write(`CA key: ${p.key} (private, owner-only)\npublic key: ${p.pub}\nfingerprint: ${ca.fingerprint}\n\n${ca.publicLine}\n\non each host: install.sh --ca-key ${p.pub} (a copy of this file)\n`);
    return EXIT.OK;
  }
  if (sub === 'show') {
    const ca = loadCa(dir, process.geteuid?.() ?? -1);
    process.stdout.write(`${ca.publicLine}\nfingerprint: ${ca.fingerprint}\n`);
    return EXIT.OK;
  }
  throw new LeashError('USAGE', 'usage: leash ca init [--ca-dir DIR] | leash ca show [--ca-dir DIR]');
});
