/**
 * contrib/bash-completion/leash, driven by a real bash as readline would:
 * COMP_WORDS and COMP_CWORD set, the function `complete -p leash` names
 * called, COMPREPLY read. Its command and option lists are the dispatch
 * table's (src/commands/cli.ts); profile names come from the configuration
 * directory the line (or LEASH_CONFIG_DIR) names.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../../src/commands/cli.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const COMPLETION = join(REPO, 'contrib', 'bash-completion', 'leash');

function bash(script: string, args: string[] = [], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((res) =>
    execFile('/bin/bash', ['--norc', '--noprofile', '-c', `source ${JSON.stringify(COMPLETION)}\n${script}`, 'bash', ...args], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', ...env }, cwd: work }, (err, stdout, stderr) =>
      res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    ),
  );
}

/** What completing the last word of `words` offers (the words as readline splits them; the last may be ''). */
async function complete(words: string[], env: Record<string, string> = {}): Promise<string[]> {
  const fn = (await bash('complete -p leash')).stdout.match(/-F (\S+)/)?.[1] ?? '_leash';
  const r = await bash(`COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=\${#COMP_LINE}; ${fn} leash "\${COMP_WORDS[COMP_CWORD]}" "\${COMP_WORDS[COMP_CWORD-1]}"; printf '%s\\n' "\${COMPREPLY[@]}"`, words, env);
  if (r.code !== 0 || r.stderr !== '') throw new Error(`completion failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '').sort();
}

const work = mkdtempSync(join(tmpdir(), 'leash-completion-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const conf = join(work, 'conf');
mkdirSync(join(conf, 'policies'), { recursive: true });
for (const f of ['diagnostic.yaml', 'remediation.yaml', 'db-ops.yaml', 'schema.json', 'notes.txt']) writeFileSync(join(conf, 'policies', f), '');
const other = join(work, 'other');
mkdirSync(join(other, 'policies'), { recursive: true });
writeFileSync(join(other, 'policies', 'staging.yaml'), '');
writeFileSync(join(work, 'ops.yaml'), '');
writeFileSync(join(work, 'readme.md'), '');

t.test('registered for leash, with a function', async (t) => {
  const r = await bash('complete -p leash');
  t.match(r.stdout, /^complete -F _leash leash$/m);
});

t.test('the commands and each command\'s options are those of the dispatch table', async (t) => {
  const commands = (await bash('echo $_leash_commands')).stdout.trim().split(' ');
  t.same(commands.sort(), [...Object.keys(COMMANDS), 'help'].sort());
  for (const [name, spec] of Object.entries(COMMANDS)) {
    const expected = Object.entries(spec.options).map(([o, d]) => `--${o}${d.type === 'string' ? '=' : ''}`).sort();
    const listed = (await bash(`_leash_options ${name}`)).stdout.trim().split(/\s+/).filter(Boolean).sort();
    t.same(listed, expected, `${name}: options, = for those that take a value`);
  }
});

t.test('commands, then options', async (t) => {
  t.same(await complete(['leash', '']), [...Object.keys(COMMANDS), 'help'].sort());
  t.same(await complete(['leash', 'ex']), ['explain']);
  t.same(await complete(['leash', '--']), ['--config-dir', '--help', '--version']);
  t.same(await complete(['leash', '--config-dir', conf, 'r']), ['revoke', 'runtime'], 'after the global --config-dir');
  t.same(await complete(['leash', 'describe', '--']), ['--config-dir', '--help', '--json', '--mcp', '--profile']);
  t.same(await complete(['leash', 'grant', '--pubkey', 'a.pub', '--t']), ['--target-config-dir', '--ttl']);
  t.same(await complete(['leash', 'help', 'gr']), ['grant']);
  t.same(await complete(['leash', 'help', '']), Object.keys(COMMANDS).sort(), 'help takes a command, not itself');
});

t.test('subcommands, and the files policy check takes', async (t) => {
  t.same(await complete(['leash', 'policy', '']), ['check']);
  t.same(await complete(['leash', 'ca', '']), ['init', 'show']);
  t.same(await complete(['leash', 'ca', '--ca-dir', '=', '/x', '']), ['init', 'show'], 'an option value split at = is no subcommand');
  t.same(await complete(['leash', 'jwks', '']), ['refresh']);
  t.same(await complete(['leash', 'runtime', '']), ['init']);
  t.same(await complete(['leash', 'runtime', 'init', '--']), ['--config-dir', '--group', '--help', '--verify-user']);
  t.same(await complete(['leash', 'policy', 'check', '']), ['conf', 'ops.yaml', 'other'], 'YAML files and directories');
});

t.test('profile names from the configuration directory', async (t) => {
  t.same(await complete(['leash', '--config-dir', conf, 'explain', '--profile', '']), ['db-ops', 'diagnostic', 'remediation'], 'only *.yaml, without the suffix');
  t.same(await complete(['leash', 'shell', '--config-dir', conf, '--profile', 'd']), ['db-ops', 'diagnostic'], '--config-dir after the command');
  t.same(await complete(['leash', 'describe', '--profile', ''], { LEASH_CONFIG_DIR: other }), ['staging'], 'LEASH_CONFIG_DIR');
  t.same(await complete(['leash', 'explain', '--config-dir', conf, '--profile', '=', 're']), ['remediation'], '--profile=NAME, split at the = as readline does');
  t.same(await complete(['leash', '--config-dir', `${work}/none`, 'grant', '--profile', '']), [], 'a directory without policies/');
});

t.test('option values: users, groups, files, directories; nothing for ids and durations', async (t) => {
  t.ok((await complete(['leash', 'revoke', '--user', 'ro'])).includes('root'), 'users');
  t.ok((await complete(['leash', 'runtime', 'init', '--group', 'ro'])).includes('root'), 'groups');
  t.same(await complete(['leash', 'grant', '--pubkey', 'op']), ['ops.yaml'], 'files');
  t.same(await complete(['leash', 'ca', 'init', '--ca-dir', 'o']), ['other'], 'directories');
  t.same(await complete(['leash', 'grant', '--ttl', '']), []);
  t.same(await complete(['leash', 'shell', '--expires', '']), []);
  t.same(await complete(['leash', 'revoke', '--reason', '']), []);
  t.same(await complete(['leash', 'sessions', '--json', '--']), ['--all', '--config-dir', '--help', '--json', '--reap'], 'a flag takes no value');
  t.same(await complete(['leash', 'explain', '--', 'jour']), [], 'after --: a command line, not leash options');
});
