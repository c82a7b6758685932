/**
 * The architecture, as a test: which folder of src/ may import which (the
 * README's map says the same), no import cycles, and only src/commands/
 * touching the process (argv, environment, stdout/stderr, exit status).
 */
import t from 'tap';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/**
 * Each area and the areas it may import (besides itself). An area is a
 * folder of src/ (verify/cert etc. are areas of their own) or a top-level
 * module. Depending only inward: nothing imports commands/.
 */
const ALLOWED: Record<string, readonly string[]> = {
  main: ['commands'],
  commands: ['*'],
  doctor: ['config', 'policy', 'verify', 'verify/keys', 'verify/grants', 'trust', 'errors', 'clock', 'ca', 'session', 'runtime'],
  shell: ['policy', 'trust', 'encoding', 'errors'],
  session: ['audit', 'config', 'runtime', 'trust', 'encoding', 'verify/grants', 'errors'],
  ca: ['session', 'verify', 'verify/cert', 'verify/grants', 'config', 'trust', 'encoding', 'errors'],
  policy: ['config', 'trust', 'errors'],
  audit: ['encoding', 'errors'],
  verify: ['verify/cert', 'verify/token', 'verify/keys', 'verify/grants', 'config', 'runtime', 'trust', 'encoding', 'errors', 'clock'],
  'verify/grants': ['config', 'trust', 'errors'],
  'verify/keys': ['verify/token', 'config', 'trust', 'errors'],
  'verify/token': ['verify/cert', 'encoding', 'errors'],
  'verify/cert': ['encoding', 'errors'],
  config: ['trust', 'errors', 'version'],
  runtime: [],
  demo: ['session', 'trust', 'encoding', 'errors'],
  trust: ['errors'],
  encoding: [],
  errors: [],
  clock: [],
  version: [],
};

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function areaOf(file: string): string {
  const rel = relative(SRC, file).replace(/\.ts$/, '');
  const parts = rel.split('/');
  if (parts.length === 1) return parts[0]!;
  if (parts[0] === 'verify' && parts.length > 2) return `verify/${parts[1]}`;
  return parts[0]!;
}

const all = files(SRC);
const imports = new Map<string, string[]>();
for (const f of all) {
  const text = readFileSync(f, 'utf8');
  const targets = [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)].map((m) => resolve(dirname(f), m[1]!).replace(/\.js$/, '.ts'));
  imports.set(f, targets);
}

t.test('every folder imports only the folders the map allows', async (t) => {
  const unknown = [...new Set(all.map(areaOf))].filter((a) => !(a in ALLOWED));
  t.same(unknown, [], 'every area of src/ is in the map');
  const bad: string[] = [];
  for (const [f, targets] of imports) {
    const from = areaOf(f);
    const allowed = ALLOWED[from] ?? [];
    for (const target of targets) {
      const to = areaOf(target);
      if (to !== from && !allowed.includes('*') && !allowed.includes(to)) bad.push(`${relative(SRC, f)} -> ${relative(SRC, target)} (${from} may not import ${to})`);
    }
  }
  t.same(bad, []);
});

t.test('no import cycles between modules', async (t) => {
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const walk = (f: string, path: string[]): void => {
    if (state.get(f) === 'done') return;
    if (state.get(f) === 'visiting') {
      cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(SRC, p)).join(' -> '));
      return;
    }
    state.set(f, 'visiting');
    for (const target of imports.get(f) ?? []) walk(target, [...path, f]);
    state.set(f, 'done');
  };
  for (const f of all) walk(f, []);
  t.same(cycles, []);
});

t.test('only src/commands/ touches argv, the environment, stdout/stderr and the exit status', async (t) => {
  const touching = all
    .filter((f) => areaOf(f) !== 'commands')
    .filter((f) => /\bprocess\.(argv|env|stdout|stderr|stdin|exit|exitCode)\b/.test(readFileSync(f, 'utf8').replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, '')))
    .map((f) => relative(SRC, f));
  t.same(touching, []);
});
