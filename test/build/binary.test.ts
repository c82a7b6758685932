/**
 * The built executable, run as sshd would: no environment at all. Needs
 * `npm run build` first (CI always builds before testing); skipped otherwise.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD_ID_PLACEHOLDER, buildIdOf } from '../../build/build-id.mjs';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LEASH = resolve(REPO, 'dist', 'leash');
const VERSION = (JSON.parse(readFileSync(resolve(REPO, 'package.json'), 'utf8')) as { version: string }).version;

function run(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(LEASH, args, { env: {}, cwd: '/', encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

if (!existsSync(LEASH)) {
  t.plan(0, 'dist/leash not built: run `npm run build` first (CI builds before testing)');
} else {
  t.test('--version with an empty environment prints the package version', async (t) => {
    const r = run(['--version']);
    t.equal(r.status, 0);
    t.equal(r.stdout, `leash ${VERSION}\n`);
    t.equal(r.stderr, '', 'nothing on stderr (no SEA or code-cache warnings)');
  });

  t.test('help prints the exit-code table', async (t) => {
    const r = run(['help']);
    t.equal(r.status, 0);
    t.match(r.stdout, /^ {2}126 /m);
    t.equal(r.stderr, '');
  });

  t.test('NODE_OPTIONS cannot add Node flags to the executable', async (t) => {
    const r = spawnSync(LEASH, ['--version'], {
      env: { NODE_OPTIONS: '--require /nonexistent/leash-test-preload.js' },
      cwd: '/',
      encoding: 'utf8',
      timeout: 30_000,
    });
    t.equal(r.status, 0, 'a honoured --require of a missing file would fail');
    t.equal(r.stdout, `leash ${VERSION}\n`);
    t.equal(r.stderr, '');
  });

  t.test('the bundle carries its own sha256 as build id (the compiled cache is tied to it)', async (t) => {
    const bundle = readFileSync(resolve(REPO, 'dist', 'leash.cjs'), 'utf8');
    const ids = [...new Set(bundle.match(/\b[0-9a-f]{64}\b/g) ?? [])].filter((id) => buildIdOf(bundle.replaceAll(id, BUILD_ID_PLACEHOLDER)) === id);
    t.equal(ids.length, 1, 'exactly one 64-hex string in the bundle is the hash of the bundle with the placeholder in its place');
  });
}
