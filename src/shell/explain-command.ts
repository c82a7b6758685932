import type { CommandContext } from '../cli.js';

// PLACEHOLDER: being written now; replaced before anything lands.
export async function runExplain(_ctx: CommandContext): Promise<number> {
  process.stderr.write('leash: not yet\n');
  return 78;
}
