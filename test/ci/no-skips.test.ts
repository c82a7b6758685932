/**
 * CI's rule that a skipped test fails the run (.ci/no-skips, called by
 * .ci/run after `npm test`), on the TAP that real tap runs print: a whole
 * file skipped (the real-install test, which skips itself without
 * LEASH_SYSTEM_TESTS=1 — the same way it skipped in CI when a stale
 * /etc/leash was there), one subtest skipped, and a run without skips.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'leash-no-skips-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

interface Run { code: number; stdout: string; stderr: string }
const run = (file: string, args: string[], env: Record<string, string> = {}): Promise<Run> =>
  new Promise((res) =>
    // env -i: tap gives every child its own NODE_OPTIONS and TAP_* variables, which would make the inner tap a subtest of this one.
    execFile('/usr/bin/env', ['-i', `PATH=${REPO}/node_modules/.bin:/usr/bin:/bin`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), file, ...args], { cwd: REPO, timeout: 120_000 }, (err, stdout, stderr) =>
      res({ code: err ? Number(err.code ?? -1) : 0, stdout, stderr }),
    ),
  );

/** Real tap on `files`, its TAP output saved as .ci/run saves it; then the rule on that log. */
async function tapThenRule(name: string, files: string[]): Promise<{ tap: Run; rule: Run }> {
  const tap = await run('tap', ['--reporter=tap', ...files]);
  const log = join(dir, `${name}.tap`);
  writeFileSync(log, tap.stdout + tap.stderr);
  return { tap, rule: await run(join(REPO, '.ci', 'no-skips'), [log]) };
}

t.test('a test file that skips itself fails the rule, naming it and its reason', async (t) => {
  const { tap, rule } = await tapThenRule('file', ['test/install/system.test.ts']);
  t.equal(tap.code, 0, 'tap itself passes a skipped file (which is why CI needs the rule)');
  t.match(tap.stdout, /# SKIP/);
  t.equal(rule.code, 1, 'the rule fails');
  t.match(rule.stderr, /test\/install\/system\.test\.ts # SKIP modifies this host/);
});

t.test('one skipped subtest fails the rule', async (t) => {
  const { tap, rule } = await tapThenRule('subtest', ['test/ci/fixtures/skips-one.ts']);
  t.equal(tap.code, 0);
  t.equal(rule.code, 1);
  t.match(rule.stderr, /needs something this host lacks # SKIP a reason of its own/);
  t.match(rule.stderr, /tap counted 1 skipped/);
});

t.test('a run without skips passes', async (t) => {
  const { tap, rule } = await tapThenRule('none', ['test/demo/teardown.test.ts']);
  t.equal(tap.code, 0);
  t.equal(rule.code, 0, rule.stderr);
  t.match(rule.stdout, /no test was skipped/);
});

t.test('.ci/run applies the rule to the log of npm test, and fails on it', async (t) => {
  const { readFileSync } = await import('node:fs');
  const ci = readFileSync(join(REPO, '.ci', 'run'), 'utf8');
  t.match(ci, /npm test <\/dev\/null 2>&1 \| tee "\$log"/, '.ci/run records npm test');
  t.match(ci, /^\.ci\/no-skips "\$log" \|\| exit 1$/m, 'and the rule can fail it');
});
