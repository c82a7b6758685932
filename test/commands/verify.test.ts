/**
 * `leash verify` as sshd runs it, where the configuration itself is the
 * problem: a leash.yaml that does not load refuses every login, and must say
 * why on stderr (sshd's log) and in an audit event.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandContext } from '../../src/commands/context.js';
import { runVerify } from '../../src/commands/verify.js';
import { isRoot, trustedTempDir } from '../helpers/tmp.js';

const run = async (configDir: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> => {
  let out = '';
  let err = '';
  const ctx: CommandContext = { configDirFlag: configDir, values: {}, positionals: ['agent', 'AAAA', 'ssh-ed25519-cert-v01@openssh.com'], env };
  const code = await runVerify(ctx, { out: (s) => void (out += s), err: (s) => void (err += s) });
  return { code, out, err };
};

t.test('a broken leash.yaml: refused, with the reason on stderr and in a verify.refused event', { skip: isRoot() ? false : 'needs root (config dirs must be root-owned)' }, async (t) => {
  const dir = await trustedTempDir('verify-broken-');
  t.teardown(dir.cleanup);
  const audit = join(dir.path, 'audit.jsonl');
  // Never the host's /var/log/leash: LEASH_AUDIT_LOG stands in for the default path outside an SSH session.
  const env = { LEASH_AUDIT_LOG: audit };
  await writeFile(join(dir.path, 'leash.yaml'), 'providers: []\ngrants: []\nno_such_key: 1\n', { mode: 0o644 });

  const r = await run(dir.path, env);
  t.equal(r.code, 1, 'refused');
  t.equal(r.out, '', 'nothing for sshd');
  t.match(r.err, /^leash: verify refused \(CONFIG_INVALID\): \/\S+\/leash\.yaml:3:1: /m, 'file:line:column on stderr');
  const events = readFileSync(audit, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(events.length, 1);
  t.match(events[0], { event: 'verify.refused', user: 'agent', reason: 'CONFIG_INVALID', detail: /leash\.yaml:3:1: .*no_such_key/ });

  await writeFile(join(dir.path, 'leash.yaml'), 'providers: [\n', { mode: 0o644 });
  const syntax = await run(dir.path, env);
  t.equal(syntax.code, 1);
  t.match(syntax.err, /verify refused \(CONFIG_INVALID\): /);

  const missing = await run(join(dir.path, 'nowhere'), env);
  t.equal(missing.code, 1);
  t.match(missing.err, /verify refused \(CONFIG_MISSING\): /);
  t.equal(readFileSync(audit, 'utf8').trim().split('\n').length, 3, 'each refusal is an event');
});

t.test('when not even the default audit log opens, stderr says that the refusal is nowhere else', { skip: isRoot() ? false : 'needs root' }, async (t) => {
  const dir = await trustedTempDir('verify-broken-');
  t.teardown(dir.cleanup);
  await writeFile(join(dir.path, 'leash.yaml'), 'bad: [', { mode: 0o644 });
  const r = await run(dir.path, { LEASH_AUDIT_LOG: join(dir.path, 'no-such-dir', 'audit.jsonl') });
  t.equal(r.code, 1);
  t.match(r.err, /verify refused \(CONFIG_INVALID\): /);
  t.match(r.err, /audit log unwritable \(AUDIT_UNWRITABLE\): the refusal above is not in any audit log/);
});
