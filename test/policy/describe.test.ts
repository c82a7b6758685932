/**
 * leash describe: the profile as data, and as Model Context Protocol tool
 * definitions that validate against MCP's Tool shape, whose input schemas are
 * valid JSON Schema 2020-12, and whose calls turn into command lines the host
 * allows with exactly the argv the call meant.
 */
import t from 'tap';
import { Ajv } from 'ajv';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { decide } from '../../src/shell/decide.js';
import { describeProfile, type CommandDescription } from '../../src/policy/describe.js';
import { commandLine, MCP_TOOL_NAME, mcpTools, type McpTool, type ToolArguments } from '../../src/policy/mcp-tools.js';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readCompiled } from '../../src/config/compiled-config.js';
import { compileProfile, loadProfile } from '../../src/policy/load.js';
import { fsWithBinaries, POLICY_DIR, shippedProfile } from '../helpers/profiles.js';
import { isRoot, trustedTempDir } from '../helpers/tmp.js';

/**
 * MCP's Tool definition (schema/2025-11-25 of modelcontextprotocol, the
 * `Tool` and `ToolAnnotations` types), written out as JSON Schema for this
 * test: a name (and the spec's recommended alphabet for it), an optional
 * title and description, an inputSchema whose root is type "object", and
 * optional outputSchema, annotations, icons and _meta.
 */
const MCP_TOOL_SCHEMA = {
  type: 'object',
  required: ['name', 'inputSchema'],
  properties: {
    name: { type: 'string', pattern: MCP_TOOL_NAME.source },
    title: { type: 'string' },
    description: { type: 'string' },
    inputSchema: {
      type: 'object',
      required: ['type'],
      properties: {
        $schema: { type: 'string' },
        type: { const: 'object' },
        properties: { type: 'object', additionalProperties: { type: 'object' } },
        required: { type: 'array', items: { type: 'string' } },
      },
    },
    outputSchema: { type: 'object', required: ['type'], properties: { type: { const: 'object' } } },
    annotations: {
      type: 'object',
      properties: {
        title: { type: 'string' },
        readOnlyHint: { type: 'boolean' },
        destructiveHint: { type: 'boolean' },
        idempotentHint: { type: 'boolean' },
        openWorldHint: { type: 'boolean' },
      },
    },
    icons: { type: 'array', items: { type: 'object', required: ['src'], properties: { src: { type: 'string' } } } },
    _meta: { type: 'object' },
  },
};
const LIST_RESULT_SCHEMA = { type: 'object', required: ['tools'], properties: { tools: { type: 'array', items: MCP_TOOL_SCHEMA } } };

const profiles = { diagnostic: shippedProfile('diagnostic'), remediation: shippedProfile('remediation') };
const fs = fsWithBinaries([...profiles.remediation.commands.values()].map((c) => c.binary));

t.test('describe: every command, subcommand, option, value type, slot, path rule, timeout and cap', async (t) => {
  const d = describeProfile(profiles.diagnostic, fs);
  t.match(d, { leash_describe: 1, profile: 'diagnostic', timeout_ms: 300000, max_output_bytes: 256 * 1024 * 1024, record_output_bytes: 64 * 1024, pipelines: { max_stages: 8 } });
  t.same(d.pipelines.filters, ['head', 'tail', 'wc', 'grep', 'sort', 'uniq', 'cut', 'tr']);
  t.same(d.commands.map((c) => c.names[0]), [...profiles.diagnostic.commands.keys()], 'every command, in profile order');
  t.ok(d.paths.allow.includes('/var/log/**') && d.paths.deny.includes('/var/log/btmp*') && d.paths.builtin_sensitive.includes('/proc/*/environ'), 'the path rules in force');
  const journalctl = d.commands.find((c) => c.names[0] === 'journalctl')!;
  t.match(journalctl, { binary: '/usr/bin/journalctl', available: true, always: ['--no-pager'], requires_one_of: ['-u', '--unit', '-t', '--identifier', '-k', '--dmesg', '--list-boots', '--disk-usage'] });
  t.match(journalctl.options.find((o) => o.names.includes('-b')), { names: ['-b', '--boot'], value: { type: 'regex' }, value_optional: 'next' });
  t.match(journalctl.options.find((o) => o.names.includes('--since')), { value: { type: 'time' }, value_optional: null });
  t.match(journalctl.options.find((o) => o.names.includes('-u')), { value: { type: 'unit', allow: ['*'], except: ['ssh.service', 'sshd.service', 'ssh@*.service', 'sshd@*.service', 'ssh.socket', 'sshd.socket', '*.slice'] } });
  t.equal(journalctl.options.filter((o) => o.names.includes('-n')).length, 1, 'an option once, with all its spellings');
  const systemctl = d.commands.find((c) => c.names[0] === 'systemctl')!;
  t.equal(systemctl.default_subcommand, 'list-units');
  const status = systemctl.subcommands.find((s) => s.names[0] === 'status')!;
  t.same(status.options.map((o) => o.names), [['-n', '--lines']], 'a subcommand lists only the options it adds');
  t.match(status.operands, [{ value: { type: 'unit' }, min: 1, max: 16 }]);
  const ip = d.commands.find((c) => c.names[0] === 'ip')!;
  t.match(ip, { option_style: 'words' });
  t.same(ip.subcommands.map((s) => s.names), [['a', 'addr', 'address'], ['l', 'link'], ['r', 'ro', 'route'], ['n', 'neigh', 'neighbor', 'neighbour']], 'aliases together');
  const vmstat = d.commands.find((c) => c.names[0] === 'vmstat')!;
  t.same(vmstat.operand_counts, [0, 2]);
  const grep = d.commands.find((c) => c.names[0] === 'grep')!;
  t.match(grep, { filter: true, operands: [{ value: { type: 'pattern', max_length: 512 }, min: 1, max: 1 }, { value: { type: 'path' }, min: 1, max: 32 }] });
  const kill = describeProfile(profiles.remediation, fs).commands.find((c) => c.names[0] === 'kill')!;
  t.match(kill.operands, [{ value: { type: 'pid', units: ['nginx.service', 'cron.service'], users: [] } }]);
  const missing = describeProfile(profiles.diagnostic, fsWithBinaries([])).commands.find((c) => c.names[0] === 'iostat');
  t.match(missing, { available: false }, 'a command whose binary is not here says so');
  t.same(JSON.parse(JSON.stringify(d)), d, 'plain JSON');
});

t.test('describe answers the same for a profile read from the compiled cache', { skip: isRoot() ? false : 'needs root (a root-owned configuration)' }, async (t) => {
  const tmp = await trustedTempDir('describe-');
  t.teardown(tmp.cleanup);
  mkdirSync(join(tmp.path, 'policies'), { mode: 0o755 });
  copyFileSync(`${POLICY_DIR}diagnostic.yaml`, join(tmp.path, 'policies', 'diagnostic.yaml'));
  await compileProfile(tmp.path, 'diagnostic');
  t.ok(readCompiled(tmp.path, 'policies.diagnostic'), 'the cache is current');
  const cached = await loadProfile(tmp.path, 'diagnostic');
  t.same(describeProfile(cached, fs), { ...describeProfile(profiles.diagnostic, fs), profile: 'diagnostic' });
});

t.test('--mcp: tool definitions that validate as MCP tools, with JSON Schema 2020-12 inputs', async (t) => {
  for (const [name, profile] of Object.entries(profiles)) {
    const result = mcpTools(describeProfile(profile, fs));
    const validate = new Ajv({ allErrors: true, strict: false }).compile(LIST_RESULT_SCHEMA);
    t.ok(validate(result), `${name}: a tools/list result of MCP tools ${JSON.stringify(validate.errors)}`);
    t.equal(result.tools.length, profile.commands.size, `${name}: one tool per command`);
    for (const tool of result.tools) {
      // strict (unknown keywords, bad formats) but not ajv's tuple lint: a tuple with a variable tail is valid 2020-12.
      const ajv = new Ajv2020({ strict: true, allErrors: true, strictRequired: false, strictTuples: false, allowUnionTypes: true });
      t.doesNotThrow(() => ajv.compile(tool.inputSchema), `${name} ${tool.name}: inputSchema is valid JSON Schema 2020-12`);
    }
  }
  const unavailable = mcpTools(describeProfile(profiles.diagnostic, fsWithBinaries([]))).tools.map((x) => x.name);
  t.notOk(unavailable.includes('iostat'), 'no tool for a program this host lacks');
});

t.test('a tool call becomes a command line the host allows, with the argv the call meant', async (t) => {
  const d = describeProfile(profiles.remediation, fs);
  const { tools } = mcpTools(d);
  const calls: Array<[string, ToolArguments, string, string[]]> = [
    ['journalctl', { options: { '--unit': 'nginx', '--lines': 50, '--since': '1 hour ago', '--grep': 'timeout|refused', '--catalog': true } }, "journalctl --unit=nginx --lines=50 '--since=1 hour ago' '--grep=timeout|refused' --catalog", ['journalctl', '--no-pager', '--unit=nginx', '--lines=50', '--since=1 hour ago', '--grep=timeout|refused', '--catalog']],
    ['journalctl', { options: { '--unit': 'nginx', '--boot': '-1' } }, 'journalctl --unit=nginx --boot=-1', ['journalctl', '--no-pager', '--unit=nginx', '--boot=-1']],
    ['systemctl', { subcommand: 'status', options: { '--lines': 5 }, operands: ['nginx'] }, 'systemctl status --lines=5 nginx', ['systemctl', 'status', '--no-pager', '--lines=5', 'nginx']],
    ['systemctl', { options: { '--failed': true } }, 'systemctl --failed', ['systemctl', '--no-pager', '--failed']],
    ['systemctl', { subcommand: 'show', options: { '--property': ['ActiveState', 'MainPID'] }, operands: ['nginx'] }, 'systemctl show --property=ActiveState,MainPID nginx', ['systemctl', 'show', '--no-pager', '--property=ActiveState,MainPID', 'nginx']],
    ['systemctl', { subcommand: 'status', operands: ['-.mount'] }, 'systemctl status -- -.mount', ['systemctl', 'status', '--no-pager', '--', '-.mount']],
    ['systemctl', { subcommand: 'restart', operands: ['nginx'] }, 'systemctl restart nginx', ['systemctl', 'restart', '--no-pager', 'nginx']],
    ['ip', { subcommand: 'addr show', options: { '-br': true, '-4': true } }, 'ip -br -4 addr show', ['ip', '-br', '-4', 'addr', 'show']],
    ['grep', { options: { '--ignore-case': true, '--max-count': 3 }, operands: ["it's|ok", '/var/log/dpkg.log'] }, `grep --ignore-case --max-count=3 'it'"'"'s|ok' /var/log/dpkg.log`, ['grep', '--ignore-case', '--max-count=3', "it's|ok", '/var/log/dpkg.log']],
    ['tail', { options: { '--lines': '+2' }, operands: ['/var/log/dpkg.log'] }, 'tail --lines=+2 /var/log/dpkg.log', ['tail', '--lines=+2', '/var/log/dpkg.log']],
    ['date', { options: { '--iso-8601': 'seconds' } }, 'date --iso-8601=seconds', ['date', '--iso-8601=seconds']],
    ['date', { options: { '--iso-8601': true } }, 'date --iso-8601', ['date', '--iso-8601']],
    ['vmstat', { operands: [1, 5] }, 'vmstat 1 5', ['vmstat', '1', '5']],
    ['top', { options: { '-n': 2, '-w': 120 } }, 'top -n2 -w120', ['top', '-b', '-n', '1', '-n2', '-w120']],
  ];
  for (const [name, args, line, argv] of calls) {
    const tool = tools.find((x) => x.name === name) as McpTool;
    const cmd = d.commands.find((c) => c.names[0] === name) as CommandDescription;
    const validate = new Ajv2020({ strict: false, allowUnionTypes: true }).compile(tool.inputSchema);
    t.ok(validate(args), `${name} ${JSON.stringify(args)} fits the tool's inputSchema ${JSON.stringify(validate.errors)}`);
    t.equal(commandLine(cmd, args), line, `${name}: the command line`);
    t.match(decide(profiles.remediation, commandLine(cmd, args), fs), { allow: true, stages: [{ argv }] }, `${name}: allowed, with the argv meant`);
  }
  // The schema says what the host would refuse, where it can.
  const journalctl = tools.find((x) => x.name === 'journalctl')!;
  const validate = new Ajv2020({ strict: false, allowUnionTypes: true }).compile(journalctl.inputSchema);
  t.notOk(validate({ options: { '--follow': true } }), 'an option the profile lacks');
  t.notOk(validate({ options: { '--output': 'export' } }), 'an enum value the profile lacks');
  t.notOk(validate({ options: { '--lines': 100001 } }), 'an integer out of range');
  t.throws(() => commandLine(d.commands.find((c) => c.names[0] === 'journalctl')!, { options: { '--follow': true } }), /no option --follow/);
});
