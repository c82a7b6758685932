// The first pass over the corpus in a fresh runtime process: profile load and
// every decision, with no code warm. Bundled and run by bench/harness.ts as
//   node cold-decisions.cjs <config-dir> '<JSON array of command lines>'
// and prints the milliseconds it took.
import { loadProfile } from '../src/policy/load.js';
import { realFs } from '../src/policy/fs-view.js';
import { decide } from '../src/shell/decide.js';

const [configDir, linesJson] = process.argv.slice(2);
const lines = JSON.parse(linesJson ?? '[]') as string[];
const t0 = process.hrtime.bigint();
void loadProfile(configDir ?? '/etc/leash', 'diagnostic').then((profile) => {
  for (const line of lines) decide(profile, line, realFs);
  process.stdout.write(String(Number(process.hrtime.bigint() - t0) / 1e6));
});
