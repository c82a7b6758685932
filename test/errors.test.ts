/**
 * The registry of reason codes (src/errors.ts) and the documentation
 * (docs/reason-codes.md) list exactly the same codes, and every code in the
 * registry is used somewhere in src/.
 */
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { REASON_CODES } from '../src/errors.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Codes in the first column of every table row of a Markdown page: | `CODE` | … | */
function documentedCodes(page: string): string[] {
  const text = readFileSync(join(ROOT, page), 'utf8');
  return [...text.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
}

t.test('docs/reason-codes.md documents exactly the registry, each code once', async (t) => {
  const documented = documentedCodes('docs/reason-codes.md');
  const twice = documented.filter((c, i) => documented.indexOf(c) !== i);
  t.same(twice, [], 'no code is documented twice');
  t.same([...new Set(documented)].sort(), [...REASON_CODES].sort());
  t.equal(new Set(REASON_CODES).size, REASON_CODES.length, 'no code is registered twice');
});

t.test('every registered code is used in src/', async (t) => {
  const files = (dir: string): string[] =>
    readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? files(join(dir, n)) : n.endsWith('.ts') ? [join(dir, n)] : []));
  const text = files(join(ROOT, 'src'))
    .filter((f) => !f.endsWith('/errors.ts'))
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  t.same(REASON_CODES.filter((c) => !text.includes(`'${c}'`)), []);
});
