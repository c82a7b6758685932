/**
 * `leash COMMAND --help` for every command of the dispatch table: exit 0,
 * its usage on stdout; the same text as `leash help COMMAND`; every option
 * the command accepts is named in it; its usage lines are the command's
 * synopsis in leash(1). Through main() in this process (output captured),
 * and through the built dist/leash when there is one.
 */
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS, main } from '../../src/commands/cli.js';
import { HELP, helpFor } from '../../src/commands/help.js';
import { runLeash } from '../helpers/leash-process.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LEASH = join(REPO, 'dist', 'leash');
const NAMES = Object.keys(COMMANDS);

/** main() with stdout and stderr captured (the help path writes synchronously, before any await). */
async function inProcess(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const [out, err] = [process.stdout.write.bind(process.stdout), process.stderr.write.bind(process.stderr)];
  process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await main(argv, {});
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

/** A help text's usage forms (the lines after `usage:` up to the first blank line). */
function usageForms(text: string): string[] {
  return forms(/^usage: ([\s\S]*?)\n\n/m.exec(text)?.[1] ?? '');
}

/** Each `leash …` form of a block on one line: continuation lines joined, blanks collapsed. */
function forms(block: string): string[] {
  const forms: string[] = [];
  for (const line of block.split('\n')) {
    const l = line.trim().replace(/\s+/g, ' ');
    if (l.startsWith('leash ')) forms.push(l);
    else if (forms.length > 0) forms[forms.length - 1] += ` ${l}`;
  }
  return forms;
}

t.test('every command has a help text', async (t) => {
  t.ok(NAMES.length >= 14, 'the dispatch table');
  for (const name of NAMES) t.type(helpFor(name), 'string', name);
  t.equal(helpFor(undefined), HELP);
  t.equal(helpFor('no-such-command'), undefined);
});

t.test('COMMAND --help and -h: exit 0, the usage on stdout, nothing on stderr; the same as leash help COMMAND', async (t) => {
  for (const name of NAMES) {
    const text = helpFor(name) as string;
    for (const argv of [[name, '--help'], [name, '-h'], ['help', name], ['--config-dir', '/nonexistent', name, '--help']]) {
      const r = await inProcess(argv);
      t.same(r, { code: 0, stdout: text, stderr: '' }, argv.join(' '));
    }
    t.match(text, new RegExp(`^usage: leash ${name}( |\\n)`), `${name}: starts with its usage`);
    t.ok(usageForms(text).length > 0, `${name}: has usage forms`);
  }
});

t.test('--help wins over anything else before --, and is data after it', async (t) => {
  const r = await inProcess(['verify', 'alice', '--help', 'AAAA']);
  t.same(r, { code: 0, stdout: helpFor('verify'), stderr: '' }, 'with other arguments, even invalid ones');
  const grant = await inProcess(['grant', '--bogus', '--help']);
  t.equal(grant.code, 0, 'an unknown option does not hide the help');
  const data = await inProcess(['--config-dir', '/nonexistent', 'explain', '--', 'grep -h x /var/log/syslog']);
  t.not(data.code, 0, 'after --, -h is part of the command line explain decides');
  t.notMatch(data.stdout, /^usage:/);
  const unknown = await inProcess(['no-such-command', '--help']);
  t.equal(unknown.code, 64, 'an unknown command is a usage error');
  t.match(unknown.stderr, /unknown command "no-such-command"/);
});

t.test("every option the dispatch table accepts is named in the command's help", async (t) => {
  for (const name of NAMES) {
    const text = helpFor(name) as string;
    for (const option of ['config-dir', ...Object.keys(COMMANDS[name]!.options)]) t.match(text, `--${option}`, `${name}: --${option}`);
  }
});

t.test("each command's usage forms are its synopsis in leash(1)", async (t) => {
  const page = readFileSync(join(REPO, 'docs', 'leash.1.md'), 'utf8');
  const synopsis = /^## SYNOPSIS\n\n```\n([\s\S]*?)\n```/m.exec(page)?.[1];
  if (synopsis === undefined) throw new Error('docs/leash.1.md: no SYNOPSIS block');
  const documented = new Set(forms(synopsis));
  const helped = new Set<string>();
  for (const name of NAMES) {
    for (const form of usageForms(helpFor(name) as string)) {
      helped.add(form);
      t.ok(documented.has(form), `${name}: "${form}" is in the SYNOPSIS`);
    }
  }
  for (const form of documented) {
    if (/^leash (\[--config-dir DIR\] COMMAND|help|--version)/.test(form)) continue;
    t.ok(helped.has(form), `"${form}" of the SYNOPSIS is some command's usage`);
  }
});

t.test('the built binary: COMMAND --help for every command', { skip: existsSync(LEASH) ? false : 'dist/leash is missing: run `npm run build` first' }, async (t) => {
  for (const name of NAMES) {
    const r = await runLeash(LEASH, [name, '--help']);
    t.same({ code: r.code, stdout: r.stdout, stderr: r.stderr }, { code: 0, stdout: helpFor(name), stderr: '' }, name);
  }
});
