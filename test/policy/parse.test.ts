import t from 'tap';
import { parseProfile } from '../../src/policy/parse.js';
import { ConfigError } from '../../src/config/yaml-reader.js';
import { shippedProfile } from '../helpers/profiles.js';

const bad = (text: string) => {
  try {
    parseProfile('p.yaml', text, 'p');
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('profile was accepted');
};

t.test('shipped profiles load', async (t) => {
  for (const name of ['diagnostic', 'remediation']) {
    const p = shippedProfile(name);
    t.ok(p.commands.size > 10, `${name} has commands`);
    t.ok(p.paths.allow.length > 0, `${name} has paths`);
  }
});

t.test('bad profiles are refused with file:line:column and a reason', async (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['unknown top-level key', 'commands: {uptime: {binary: /usr/bin/uptime}}\ncommand: {}\n', /^p\.yaml:2:1: profile: unknown key "command"/],
    ['unknown command key', 'commands:\n  uptime:\n    binary: /usr/bin/uptime\n    bin: x\n', /^p\.yaml:4:5: commands\.uptime: unknown key "bin"/],
    ['wrong type', 'commands:\n  uptime:\n    binary: [a]\n', /^p\.yaml:3:13: commands\.uptime\.binary must be a string/],
    ['relative binary', 'commands:\n  uptime:\n    binary: uptime\n', /^p\.yaml:3:13: .*absolute/],
    ['binary with ..', 'commands:\n  uptime:\n    binary: /usr/bin/../bin/uptime\n', /absolute, normalised/],
    ['missing commands', 'timeout: 5m\n', /missing required key "commands"/],
    ['empty commands', 'commands: {}\n', /commands is empty/],
    ['empty path allowlist', 'commands:\n  cat:\n    binary: /usr/bin/cat\n    operands: path\n', /paths\.allow is empty/],
    ['bad option name', 'commands:\n  ls:\n    binary: /usr/bin/ls\n    options:\n      l: flag\n', /^p\.yaml:5:7: .*"l" is not an option name/],
    ['bad value type', 'commands:\n  ls:\n    binary: /usr/bin/ls\n    options:\n      -l: flagg\n', /unknown type "flagg"/],
    ['unanchored regex', 'commands:\n  ls:\n    binary: /usr/bin/ls\n    options:\n      -w: {regex: "[0-9]+"}\n', /must be anchored/],
    ['bad int bounds', 'commands:\n  ls:\n    binary: /usr/bin/ls\n    options:\n      -w: {int: [5, 1]}\n', /\[min, max\]/],
    ['two types', 'commands:\n  ls:\n    binary: /usr/bin/ls\n    options:\n      -w: {int: [1, 5], enum: [a]}\n', /exactly one of/],
    ['bad count', 'commands:\n  ls:\n    binary: /usr/bin/ls\n    operands: path 3..1\n', /count must be/],
    ['duplicate key', 'commands:\n  ls: {binary: /usr/bin/ls}\n  ls: {binary: /usr/bin/ls}\n', /^p\.yaml:3:3: YAML syntax: this key is already used in the same mapping/],
    // Every key is valid here, so nothing but the alias can refuse it.
    ['alias', 'commands:\n  ls: &a {binary: /usr/bin/ls}\n  dir: *a\n', /^p\.yaml:3:8: commands\.dir: YAML aliases are not allowed$/],
    ['alias as a value', 'commands:\n  ls: {binary: &b /usr/bin/ls}\n  dir: {binary: *b}\n', /^p\.yaml:3:17: commands\.dir\.binary: YAML aliases are not allowed$/],
    ['bad duration', 'timeout: 5 minutes\ncommands: {ls: {binary: /usr/bin/ls}}\n', /^p\.yaml:1:10: timeout must be a duration/],
    ['operands and subcommands', 'commands:\n  s:\n    binary: /usr/bin/systemctl\n    operands: unit\n    subcommands: {status: {}}\n', /either subcommands or operands/],
    ['yaml syntax', 'commands:\n  ls: {binary: /usr/bin/ls\n', /^p\.yaml:\d+:\d+: YAML syntax: a \{ … \} mapping is not closed/],
    ['yaml tab', 'commands:\n\tls: {binary: /usr/bin/ls}\n', /^p\.yaml:2:1: YAML syntax: a tab is used for indentation/],
    ['yaml two documents', 'commands: {ls: {binary: /usr/bin/ls}}\n---\nx: 1\n', /YAML syntax: more than one YAML document/],
    ['yaml unclosed quote', 'commands: {ls: {binary: "/usr/bin/ls}}\n', /YAML syntax: a quoted string is not closed/],
    // the new grammar
    ['unknown option style', 'commands:\n  ip: {binary: /usr/bin/ip, option_style: bsd}\n', /option_style must be one of getopt, words/],
    ['word option in getopt style', 'commands:\n  ip: {binary: /usr/bin/ip, options: {-br: flag}}\n', /"-br" is not an option name like -n or --lines/],
    ['optional: maybe', 'commands:\n  d: {binary: /usr/bin/date, options: {-I: {enum: [date], optional: maybe}}}\n', /optional must be true .* or next/],
    ['optional next with a path', 'commands:\n  d: {binary: /usr/bin/date, options: {-f: {type: path, optional: next}}}\npaths: {allow: [/var/**]}\n', /optional: next needs a type checked by its spelling/],
    ['requires an unknown option', 'commands:\n  free: {binary: /usr/bin/free, options: {-s: {int: [1, 2], requires: [-c]}}}\n', /requires: "-c" is not an option of commands\.free/],
    ['requires_one_of an unknown option', 'commands:\n  j: {binary: /usr/bin/journalctl, requires_one_of: [-u], options: {-k: flag}}\n', /requires_one_of: "-u" is not an option/],
    ['default not a subcommand', 'commands:\n  s: {binary: /usr/bin/systemctl, default: list-units, subcommands: {status: {}}}\n', /default must name one of its subcommands/],
    ['operand_counts out of range', 'commands:\n  v: {binary: /usr/bin/vmstat, operands: {int: [1, 9], count: 0..2}, operand_counts: [0, 3]}\n', /operand_counts must list totals between 0 and 2/],
    ['plus on an enum', 'commands:\n  t: {binary: /usr/bin/tail, options: {-n: {enum: [a], plus: true}}}\n', /plus applies only to int/],
    ['list on an int', 'commands:\n  t: {binary: /usr/bin/tail, options: {-n: {int: [1, 2], list: true}}}\n', /list applies only to enum/],
    ['pid with nothing listed', 'commands:\n  kill: {binary: /usr/bin/kill, operands: {pid: {}}}\n', /pid must list units, users or both/],
    ['pid user name', 'commands:\n  kill: {binary: /usr/bin/kill, operands: {pid: {users: ["Bad User"]}}}\n', /not a user name/],
    ['pattern too long', 'commands:\n  grep: {binary: /usr/bin/grep, operands: {pattern: 5000}}\n', /pattern is the longest pattern allowed, 1\.\.1024/],
    ['a built-in name', 'commands:\n  leash-describe: {binary: /usr/bin/true}\n', /answered by leash itself/],
    ['trusted group name', 'commands: {uptime: {binary: /usr/bin/uptime}}\npaths: {trusted_groups: ["not a group"]}\n', /not a group name/],
    ['unsafe always word', 'commands:\n  ls:\n    binary: /usr/bin/ls\n    always: ["a b"]\n', /plain word/],
  ];
  for (const [name, text, re] of cases) t.match(bad(text).message, re, name);
});

t.test('every problem of a file is reported, each at its own position', async (t) => {
  const text = [
    'timeout: 5 minutes', // 1
    'commands:', //         2
    '  uptime: {binary: /usr/bin/uptime, bogus: 1}', // 3
    '  cat: {binary: relative}', // 4
    '  ls: {binary: /usr/bin/ls}', // 5: fine
    '  id: {binary: /usr/bin/id, options: {-u: flagg}}', // 6
    'extra: 1', // 7
    '',
  ].join('\n');
  const e = bad(text);
  t.same(e.all.map((x) => x.located), [
    'p.yaml:1:10: timeout must be a duration like 30s, 5m, 1h (at most 24h)',
    'p.yaml:3:37: commands.uptime: unknown key "bogus" (allowed: binary, filter, option_style, description, always, options, operands, operand_counts, requires_one_of, subcommands, default, timeout)',
    'p.yaml:4:17: commands.cat.binary must be an absolute, normalised path (no PATH lookup ever)',
    'p.yaml:6:43: commands.id.options.-u: unknown type "flagg" (use flag, path, stat_path, unit, time, mount, pattern, or {int|enum|regex|unit|pattern|pid: …})',
    'p.yaml:7:1: profile: unknown key "extra" (allowed: extends, description, timeout, max_output, record_output, paths, commands, sftp)',
  ], 'in the order of the file');
  t.equal(e.all.length, 5, 'five problems, none hidden by another');
  t.match(e.message, /^p\.yaml:1:10: timeout must be a duration.* \(and 4 more; leash policy check lists them all\)$/);
  for (const line of [1, 3, 4, 6, 7]) t.ok(e.all.some((x) => x.line === line), `line ${line} is reported`);
  // A follow-on problem of a set-aside entry is not invented: all commands broken is not also "commands is empty".
  const allBroken = bad('commands:\n  a: {binary: x}\n  b: {binary: y}\n');
  t.same(allBroken.all.map((x) => x.line), [2, 3]);
  const syntax = bad('commands:\n  ls: {binary: /usr/bin/ls\n  x: [1\n');
  t.ok(syntax.all.length >= 1 && syntax.all.every((x) => x.reason.startsWith('YAML syntax: ')), 'syntax errors, in leash words');
  t.notMatch(syntax.message, /at line \d+, column/, 'no library position repeated in the text');
});

t.test('max_output and record_output: sizes, inherited through extends', async (t) => {
  const p = parseProfile('p.yaml', "max_output: 1G\nrecord_output: 0\ncommands:\n  uptime: {binary: /usr/bin/uptime}\n", 'p');
  t.equal(p.maxOutputBytes, 1024 ** 3);
  t.equal(p.recordOutputBytes, 0, '0 turns recording off');
  const child = parseProfile('c.yaml', 'extends: p\ncommands:\n  id: {binary: /usr/bin/id}\n', 'c', () => p);
  t.same([child.maxOutputBytes, child.recordOutputBytes], [1024 ** 3, 0], 'a child inherits its parent sizes');
  const d = parseProfile('d.yaml', 'commands:\n  uptime: {binary: /usr/bin/uptime}\n', 'd');
  t.same([d.maxOutputBytes, d.recordOutputBytes], [256 * 1024 ** 2, 64 * 1024], 'defaults');
  for (const bad of ['max_output: 0', 'max_output: 10X', 'record_output: -1', 'max_output: 65G', 'max_output: 1.5M']) {
    t.throws(() => parseProfile('b.yaml', `${bad}\ncommands:\n  uptime: {binary: /usr/bin/uptime}\n`, 'b'), { code: 'CONFIG_INVALID' }, bad);
  }
});
