/**
 * The account steps the docs give an operator are safe to run again: each
 * one, taken from the page itself, runs twice on this host (for a test user
 * and group, not `agent` and `leash-audit`) and succeeds both times. Needs
 * root (useradd).
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRoot } from '../helpers/tmp.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const USER = 'leash-docs-t';
const GROUP = 'leash-docs-t-audit';
const SERVICE = 'leash-docs-svc';

interface Run { code: number | null; stdout: string; stderr: string }
function run(file: string, args: string[]): Promise<Run> {
  return new Promise((res) => execFile(file, args, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr })));
}

/** The fenced sh block of a docs page that contains `marker`. */
function shellBlock(page: string, marker: string): string {
  const text = readFileSync(join(REPO, 'docs', page), 'utf8');
  const block = [...text.matchAll(/^ *```sh\n([\s\S]*?)^ *```$/gm)].map((m) => m[1] as string).find((b) => b.includes(marker));
  if (block === undefined) throw new Error(`docs/${page}: no sh block with ${marker}`);
  return block.replace(/^ +/gm, '');
}

/** The inline `code` of a docs page that contains `marker`. */
function inlineCode(page: string, marker: string): string {
  const text = readFileSync(join(REPO, 'docs', page), 'utf8').replace(/\n\s*/g, ' ');
  const code = [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string).find((c) => c.includes(marker));
  if (code === undefined) throw new Error(`docs/${page}: no inline code with ${marker}`);
  return code;
}

/** useradd and usermod fail while another process holds the passwd lock (exit 1 or 10): try again. */
async function sh(script: string): Promise<Run> {
  let r: Run = { code: null, stdout: '', stderr: '' };
  for (let i = 0; i < 10; i++) {
    r = await run('/bin/sh', ['-ec', script]);
    if (r.code !== 1 && r.code !== 10) return r;
    await new Promise((res) => setTimeout(res, 300));
  }
  return r;
}

if (!isRoot()) t.plan(0, 'needs root (useradd)');
else {
  t.teardown(async () => {
    for (const u of [USER, SERVICE]) await run('/usr/sbin/userdel', ['-r', u]);
    await run('/usr/sbin/groupdel', [GROUP]);
  });
  await run('/usr/sbin/userdel', ['-r', USER]);
  if ((await run('/usr/bin/getent', ['group', GROUP])).code !== 0) await run('/usr/sbin/groupadd', ['--system', GROUP]);

  t.test('install.md: creating a session user and adding it to the audit group, twice', async (t) => {
    const step = shellBlock('install.md', 'usermod -aG leash-audit agent').replace(/\bleash-audit\b/g, GROUP).replace(/\bagent\b/g, USER);
    const first = await sh(step);
    t.equal(first.code, 0, 'first run', first);
    const second = await sh(step);
    t.equal(second.code, 0, 'second run: the user exists already', second);
    t.ok((await run('/usr/bin/id', ['-nG', USER])).stdout.trim().split(/\s+/).includes(GROUP), 'the user is in the audit group');
  });

  t.test("verifier.md: creating the AuthorizedKeysCommandUser, twice", async (t) => {
    const step = inlineCode('verifier.md', 'useradd --system').replace(/(?<= )leash(?= |$)/g, SERVICE);
    t.match(step, new RegExp(`^id -u ${SERVICE} .*useradd .* ${SERVICE}$`), 'the step checks for the user, then creates it');
    t.equal((await sh(step)).code, 0, 'first run');
    const second = await sh(step);
    t.equal(second.code, 0, 'second run', second);
  });
}
