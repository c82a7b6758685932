import t from 'tap';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { POLICY_DIR } from '../helpers/profiles.js';
import { PROFILE_NAME } from '../../src/config/dir.js';
import { BINARY_PATH, COMMAND_NAME, FIXED_ARG } from '../../src/policy/parse.js';

// policies/schema.json is what editors validate against while the operator
// types; it must accept the shipped profiles and refuse what leash refuses.
const schema = JSON.parse(readFileSync(`${POLICY_DIR}schema.json`, 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

t.test('the shipped profiles validate against the schema', async (t) => {
  for (const name of ['diagnostic', 'remediation']) {
    const text = readFileSync(`${POLICY_DIR}${name}.yaml`, 'utf8');
    t.match(text, /^# yaml-language-server: \$schema=\.\/schema\.json\n/, `${name} references the schema`);
    const ok = validate(parse(text));
    t.ok(ok, `${name}: ${JSON.stringify(validate.errors)}`);
  }
});

t.test('the schema refuses what the loader refuses', async (t) => {
  const bad: Array<[string, unknown]> = [
    ['unknown top-level key', { commands: { ls: { binary: '/usr/bin/ls' } }, command: {} }],
    ['unknown command key', { commands: { ls: { binary: '/usr/bin/ls', bin: 'x' } } }],
    ['relative binary', { commands: { ls: { binary: 'ls' } } }],
    ['empty commands', { commands: {} }],
    ['bad option name', { commands: { ls: { binary: '/usr/bin/ls', options: { l: 'flag' } } } }],
    ['bad value type', { commands: { ls: { binary: '/usr/bin/ls', options: { '-l': 'flagg' } } } }],
    ['unanchored regex', { commands: { ls: { binary: '/usr/bin/ls', options: { '-w': { regex: '[0-9]+' } } } } }],
    ['two types', { commands: { ls: { binary: '/usr/bin/ls', options: { '-w': { int: [1, 5], enum: ['a'] } } } } }],
    ['bad operand string', { commands: { ls: { binary: '/usr/bin/ls', operands: 'paths' } } }],
    ['bad duration', { timeout: '5 minutes', commands: { ls: { binary: '/usr/bin/ls' } } }],
    ['missing binary', { commands: { ls: { options: {} } } }],
    ['unknown option style', { commands: { ip: { binary: '/usr/bin/ip', option_style: 'bsd' } } }],
    ['filter not a boolean', { commands: { grep: { binary: '/usr/bin/grep', filter: 'yes' } } }],
    ['optional: maybe', { commands: { d: { binary: '/usr/bin/date', options: { '-I': { enum: ['date'], optional: 'maybe' } } } } }],
    ['unknown named type', { commands: { ls: { binary: '/usr/bin/ls', operands: 'stat-path' } } }],
    ['pid with an unknown key', { commands: { kill: { binary: '/usr/bin/kill', operands: { pid: { unit: ['x.service'] } } } } }],
    ['pattern too long', { commands: { grep: { binary: '/usr/bin/grep', operands: { pattern: 5000 } } } }],
    ['trusted group name', { commands: { ls: { binary: '/usr/bin/ls' } }, paths: { trusted_groups: ['Not A Group'] } }],
    ['operand_counts empty', { commands: { v: { binary: '/usr/bin/vmstat', operands: { int: [1, 2], count: '0..2' }, operand_counts: [] } } }],
  ];
  for (const [name, doc] of bad) t.notOk(validate(doc), name);
  const good: Array<[string, unknown]> = [
    ['words options', { commands: { ip: { binary: '/usr/bin/ip', option_style: 'words', options: { '-br, -brief': 'flag' }, subcommands: { 'a, addr': { default: 'show', subcommands: { show: null } } } } } }],
    ['optional next, requires', { commands: { j: { binary: '/usr/bin/journalctl', requires_one_of: ['-k'], options: { '-k': 'flag', '-b': { regex: '^-?[0-9]$', optional: 'next' }, '-s': { int: [1, 2], requires: ['-k'] } } } } }],
    ['typed slots', { commands: { ls: { binary: '/usr/bin/ls', operands: { type: 'stat_path', count: '1..4' } } }, paths: { allow: ['/var/**'] } }],
  ];
  for (const [name, doc] of good) t.ok(validate(doc), `${name}: ${JSON.stringify(validate.errors)}`);
});

t.test("the schema's name patterns are leash's own", async (t) => {
  const defs = (schema as { definitions: Record<string, { pattern?: string }>; properties: { commands: { propertyNames: { pattern: string } } } });
  const same = (pattern: string | undefined, re: RegExp, what: string): void => void t.equal(new RegExp(pattern ?? '').source, re.source, what);
  same(defs.definitions['profileName']?.pattern, PROFILE_NAME, 'profile names');
  same(defs.properties.commands.propertyNames.pattern, COMMAND_NAME, 'command names');
  same(defs.definitions['binary']?.pattern, BINARY_PATH, 'binary paths');
  same(defs.definitions['word']?.pattern, FIXED_ARG, 'fixed words (always, enum)');
});
