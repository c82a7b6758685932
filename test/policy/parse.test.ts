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
    ['duplicate key', 'commands:\n  ls: {binary: /usr/bin/ls}\n  ls: {binary: /usr/bin/ls}\n', /^p\.yaml:3:3: .*[Mm]ap keys must be unique/],
    ['alias', 'x: &a {binary: /usr/bin/ls}\ncommands:\n  ls: *a\n', /unknown key "x"|aliases are not allowed/],
    ['bad duration', 'timeout: 5 minutes\ncommands: {ls: {binary: /usr/bin/ls}}\n', /^p\.yaml:1:10: timeout must be a duration/],
    ['operands and subcommands', 'commands:\n  s:\n    binary: /usr/bin/systemctl\n    operands: unit\n    subcommands: {status: {}}\n', /either subcommands or operands/],
    ['yaml syntax', 'commands:\n  ls: {binary: /usr/bin/ls\n', /^p\.yaml:\d+:\d+: /],
    ['unsafe always word', 'commands:\n  ls:\n    binary: /usr/bin/ls\n    always: ["a b"]\n', /plain word/],
  ];
  for (const [name, text, re] of cases) t.match(bad(text).message, re, name);
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
