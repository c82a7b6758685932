/**
 * leash explain and leash describe as commands: the profile a session gets
 * by default, the names the audit log uses, every stage of a pipeline, the
 * hint; and the session built-in leash-describe.
 */
import t from 'tap';
import { closeSync, copyFileSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runDescribe } from '../../src/commands/describe.js';
import { runExplain } from '../../src/commands/explain.js';
import { PROCESS, runShell } from '../../src/commands/shell.js';
import type { CommandContext } from '../../src/commands/context.js';
import { POLICY_DIR } from '../helpers/profiles.js';
import { isRoot, trustedTempDir } from '../helpers/tmp.js';

if (!isRoot()) {
  t.plan(0, 'configuration must be root-owned: run as root');
  process.exit(0);
}

const tmp = await trustedTempDir('explain-');
t.teardown(tmp.cleanup);
const dir = tmp.path;
const audit = join(dir, 'audit.jsonl');
mkdirSync(join(dir, 'policies'), { mode: 0o755 });
for (const name of ['diagnostic', 'remediation']) copyFileSync(`${POLICY_DIR}${name}.yaml`, join(dir, 'policies', `${name}.yaml`));
writeFileSync(join(dir, 'policies', 'tiny.yaml'), 'commands:\n  uptime: {binary: /usr/bin/uptime}\n', { mode: 0o644 });
const leashYaml = (extra: string): void => writeFileSync(join(dir, 'leash.yaml'), `audit_log: ${audit}\n${extra}`, { mode: 0o644 });
leashYaml('');

/** Runs a command handler with stdout and stderr captured. */
async function capture(run: (ctx: CommandContext) => Promise<number>, values: CommandContext['values'], positionals: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const [o, e] = [process.stdout.write.bind(process.stdout), process.stderr.write.bind(process.stderr)];
  process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => (err.push(s), true)) as typeof process.stderr.write;
  try {
    return { code: await run({ configDirFlag: dir, values, positionals, env }), out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

/** leash shell writes to its descriptors, not to process.stdout: run it with both pointed at files. */
async function captureShell(values: CommandContext['values'], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  const [outFile, errFile] = [join(dir, 'shell.out'), join(dir, 'shell.err')];
  const [stdoutFd, stderrFd] = [openSync(outFile, 'w'), openSync(errFile, 'w')];
  try {
    const code = await runShell({ configDirFlag: dir, values, positionals: [], env }, { ...PROCESS, stdoutFd, stderrFd });
    return { code, out: readFileSync(outFile, 'utf8'), err: readFileSync(errFile, 'utf8') };
  } finally {
    closeSync(stdoutFd);
    closeSync(stderrFd);
  }
}

t.test('explain --json names what the audit log names: timeout_ms, argv, every stage', async (t) => {
  const r = await capture(runExplain, { profile: 'diagnostic', json: true }, ['ps aux | grep nginx']);
  t.equal(r.code, 0);
  t.same(JSON.parse(r.out), {
    decision: 'allow',
    reason: 'ALLOWED',
    profile: 'diagnostic',
    binary: '/usr/bin/ps',
    argv: ['ps', 'aux'],
    stages: [{ command: 'ps', binary: '/usr/bin/ps', argv: ['ps', 'aux'] }, { command: 'grep', binary: '/usr/bin/grep', argv: ['grep', 'nginx'] }],
    timeout_ms: 300000,
  });
  t.notMatch(r.out, /timeout_seconds/);
  const denied = await capture(runExplain, { profile: 'diagnostic', json: true }, ['journalctl -u nginx -f']);
  t.equal(denied.code, 126);
  t.match(JSON.parse(denied.out), { decision: 'deny', reason: 'OPTION_NOT_ALLOWED', detail: '-f is not allowed for journalctl', hint: /use -n N/ });
});

t.test('explain in text: each stage, and the hint', async (t) => {
  const r = await capture(runExplain, { profile: 'diagnostic' }, ['cat /var/log/dpkg.log | wc -l']);
  t.equal(r.code, 0);
  t.match(r.out, /^decision: allow\nreason:   ALLOWED\nprofile:  diagnostic\nstage 1:  \/usr\/bin\/cat \["cat","\/var\/log\/dpkg\.log"\]\nstage 2:  \/usr\/bin\/wc \["wc","-l"\]\ntimeout:  300s\n$/);
  const denied = await capture(runExplain, { profile: 'diagnostic' }, ['tail -f /var/log/dpkg.log']);
  t.match(denied.out, /\ndetail:   -f is not allowed for tail\nhint:     following output never ends/);
});

t.test('explain without --profile: the profile a session gets', async (t) => {
  leashYaml('');
  const byDefault = await capture(runExplain, { json: true }, ['uptime']);
  t.match(JSON.parse(byDefault.out), { profile: 'diagnostic' }, 'diagnostic, as leash shell defaults to');
  leashYaml('default_profile: tiny\n');
  const configured = await capture(runExplain, { json: true }, ['uptime']);
  t.match(JSON.parse(configured.out), { profile: 'tiny', decision: 'allow' }, "leash.yaml's default_profile, as leash shell uses it");
  const shellSays = await capture(runShell, {}, [], { SSH_ORIGINAL_COMMAND: 'ps aux' });
  t.equal(shellSays.code, 126, 'and leash shell agrees: ps is not in tiny');
  const lastShell = JSON.parse(readFileSync(audit, 'utf8').trim().split('\n').pop()!) as { profile: string };
  t.equal(lastShell.profile, 'tiny');
  leashYaml('');
  const missing = await capture(runExplain, { profile: 'nope', json: true }, ['uptime']);
  t.equal(missing.code, 78);
  t.match(JSON.parse(missing.out), { decision: 'deny', reason: 'PROFILE_INVALID', profile: 'nope' });
  leashYaml('default_profile: [broken\n');
  const unknown = await capture(runExplain, { json: true }, ['uptime']);
  t.equal(unknown.code, 78);
  t.match(JSON.parse(unknown.out), { decision: 'deny', reason: 'PROFILE_INVALID', profile: null }, 'no profile name when leash.yaml cannot say which: never a name that does not exist');
  leashYaml('');
});

t.test('describe --json, --mcp and the listing', async (t) => {
  const json = await capture(runDescribe, { profile: 'diagnostic', json: true });
  t.equal(json.code, 0);
  t.match(JSON.parse(json.out), { leash_describe: 1, profile: 'diagnostic', commands: Array });
  const mcp = await capture(runDescribe, { profile: 'remediation', mcp: true });
  t.match(JSON.parse(mcp.out), { tools: [{ name: 'uptime', inputSchema: { type: 'object' } }] });
  const text = await capture(runDescribe, {});
  t.match(text.out, /^profile diagnostic: Read-only diagnostics/);
  t.match(text.out, /\n {2}journalctl .*\[-u UNIT\]/);
  const both = capture(runDescribe, { json: true, mcp: true });
  await t.rejects(both, { code: 'USAGE' });
  const broken = await capture(runDescribe, { profile: 'nope' });
  t.equal(broken.code, 78);
});

t.test('inside a session, leash-describe prints the same, and is audited', async (t) => {
  const env = { SSH_CONNECTION: '192.0.2.7 50000 127.0.0.1 22' };
  const inside = await captureShell({ profile: 'diagnostic' }, { ...env, SSH_ORIGINAL_COMMAND: 'leash-describe' });
  t.equal(inside.code, 0, inside.err);
  const outside = await capture(runDescribe, { profile: 'diagnostic', json: true });
  t.same(JSON.parse(inside.out), JSON.parse(outside.out), 'the same JSON as leash describe --json');
  const mcp = await captureShell({ profile: 'diagnostic' }, { ...env, SSH_ORIGINAL_COMMAND: 'leash-describe --mcp' });
  t.match(JSON.parse(mcp.out), { tools: Array });
  const last = readFileSync(audit, 'utf8').trim().split('\n').slice(-2).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.match(last, [{ event: 'shell.describe', command: 'leash-describe', reason: 'ALLOWED', profile: 'diagnostic' }, { event: 'shell.describe', command: 'leash-describe --mcp' }]);
  const other = await captureShell({ profile: 'diagnostic' }, { ...env, SSH_ORIGINAL_COMMAND: 'leash-describe --all' });
  t.equal(other.code, 126, 'any other argument is an ordinary denied command');
});
