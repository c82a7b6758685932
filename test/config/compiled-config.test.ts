import t from 'tap';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileLeashConfig, loadLeashConfig } from '../../src/config/load.js';
import { loadLeashConfigFromYaml } from '../../src/config/parse.js';
import { COMPILED_BY, readCompiled } from '../../src/config/compiled-config.js';
import { VERSION } from '../../src/version.js';
import { compileProfile, loadProfile } from '../../src/policy/load.js';
import { loadProfileFromYaml } from '../../src/policy/parse.js';
import { realFs } from '../../src/policy/fs-view.js';
import { decide } from '../../src/shell/decide.js';
import { runPolicy } from '../../src/commands/policy-check.js';
import { POLICY_DIR } from '../helpers/profiles.js';
import { isRoot, trustedTempDir } from '../helpers/tmp.js';

if (!isRoot()) {
  t.plan(0, 'configuration must be root-owned: run as root');
  process.exit(0);
}

const tmp = await trustedTempDir('compiled');
t.teardown(tmp.cleanup);
const dir = tmp.path;
mkdirSync(join(dir, 'policies'), { mode: 0o755 });
for (const name of ['diagnostic', 'remediation']) copyFileSync(`${POLICY_DIR}${name}.yaml`, join(dir, 'policies', `${name}.yaml`));
writeFileSync(join(dir, 'leash.yaml'), `audit_log: ${dir}/audit.jsonl\ndefault_profile: diagnostic\ngrants:\n  - {identity: alice@example.com, issuer: https://idp.example.com, principals: [agent], profile: diagnostic, max_session: 4h}\n`, { mode: 0o644 });

const commands = ['df -h', 'cat /etc/os-release', 'journalctl -u ssh -n 50', 'systemctl restart nginx', 'systemctl restart ssh', 'kill -s TERM 1234', 'cat /etc/shadow', 'grep -i error /var/log/dpkg.log', 'ps auxe'];

t.test('a compiled profile decides exactly as the parsed one', async (t) => {
  for (const name of ['diagnostic', 'remediation']) {
    await compileProfile(dir, name);
    const cached = readCompiled(dir, `policies.${name}`);
    t.ok(cached, `${name} cache is current`);
    const fromCache = await loadProfile(dir, name);
    const fromYaml = loadProfileFromYaml(dir, name).profile;
    t.same(JSON.parse(JSON.stringify(fromCache, mapsAsArrays)), JSON.parse(JSON.stringify(fromYaml, mapsAsArrays)), `${name}: same profile`);
    for (const c of commands) t.same(decide(fromCache, c, realFs), decide(fromYaml, c, realFs), `${name}: ${c}`);
  }
});

t.test('an edited source makes the cache stale: the YAML is parsed again', async (t) => {
  const file = join(dir, 'policies', 'diagnostic.yaml');
  await compileProfile(dir, 'diagnostic');
  await compileProfile(dir, 'remediation');
  // Take `uptime` away; a stale cache would still allow it.
  writeFileSync(file, readFileSync(file, 'utf8').replace(/\n {2}uptime:\n(?: {4}.*\n)+/, '\n'));
  t.equal(readCompiled(dir, 'policies.diagnostic'), null, 'diagnostic cache is stale');
  t.equal(readCompiled(dir, 'policies.remediation'), null, 'so is the cache of the profile that extends it');
  t.match(decide(await loadProfile(dir, 'diagnostic'), 'uptime', realFs), { allow: false, code: 'COMMAND_NOT_ALLOWED' });
  t.match(decide(await loadProfile(dir, 'remediation'), 'uptime', realFs), { allow: false, code: 'COMMAND_NOT_ALLOWED' });
  // An edit that breaks the profile: the stale cache must not keep it working.
  await compileProfile(dir, 'diagnostic');
  appendFileSync(file, 'bogus: 1\n');
  await t.rejects(loadProfile(dir, 'diagnostic'), { code: 'CONFIG_INVALID' });
  copyFileSync(`${POLICY_DIR}diagnostic.yaml`, file);
});

t.test('a cache file that is not safely owned is ignored', async (t) => {
  await compileProfile(dir, 'diagnostic');
  const cache = join(dir, '.compiled', 'policies.diagnostic.json');
  chmodSync(cache, 0o666);
  t.equal(readCompiled(dir, 'policies.diagnostic'), null);
  chmodSync(cache, 0o644);
  t.ok(readCompiled(dir, 'policies.diagnostic'));
  writeFileSync(cache, '{"format":2,"sources":[],"value":{}}');
  t.equal(readCompiled(dir, 'policies.diagnostic'), null, 'a cache without sources is never current');
});

t.test('leash.yaml compiles to the same settings', async (t) => {
  await compileLeashConfig(dir);
  t.ok(readCompiled(dir, 'leash'));
  t.same(await loadLeashConfig(dir, true), loadLeashConfigFromYaml(dir)!.config);
  appendFileSync(join(dir, 'leash.yaml'), '# a comment changes the stamp\n');
  t.equal(readCompiled(dir, 'leash'), null);
  t.same(await loadLeashConfig(dir, true), loadLeashConfigFromYaml(dir)!.config);
});

t.test('leash policy check validates everything and refreshes the cache', async (t) => {
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
  let code: number;
  try {
    code = await runPolicy({ configDirFlag: dir, values: {}, positionals: ['check'], env: {} });
  } finally {
    process.stdout.write = write;
  }
  t.equal(code, 0, out.join(''));
  t.match(out.join(''), /leash\.yaml: OK[\s\S]*compiled cache updated/);
  for (const name of ['leash', 'policies.diagnostic', 'policies.remediation']) t.ok(existsSync(join(dir, '.compiled', `${name}.json`)), name);
  t.ok(readCompiled(dir, 'policies.remediation'));
});

function mapsAsArrays(_k: string, v: unknown): unknown {
  if (v instanceof Map) return [...v];
  if (v instanceof RegExp) return v.source;
  return v;
}

t.test('a cache written by another leash (version or build) is ignored: an upgrade never runs on the old binary’s validation', async (t) => {
  const file = join(dir, 'policies', 'diagnostic.yaml');
  copyFileSync(`${POLICY_DIR}diagnostic.yaml`, file);
  chmodSync(file, 0o644);
  await compileProfile(dir, 'diagnostic');
  const cache = join(dir, '.compiled', 'policies.diagnostic.json');
  const record = JSON.parse(readFileSync(cache, 'utf8')) as { leash: string; value: { commands: { $map: Array<[string, unknown]> } } };
  t.equal(record.leash, COMPILED_BY, 'the cache names the leash that wrote it');
  t.ok(readCompiled(dir, 'policies.diagnostic'), 'and this leash uses it');
  // The copy an older binary validated, still matching every source stamp, with a command the YAML does not have.
  const forged = { ...record, value: { ...record.value, commands: { $map: record.value.commands.$map.map(([k, v]) => [k === 'uptime' ? 'forged-by-old-leash' : k, v]) } } };
  for (const other of ['0.0.9 source', `${VERSION} ${'0'.repeat(64)}`]) {
    writeFileSync(cache, JSON.stringify({ ...forged, leash: other }), { mode: 0o644 });
    t.equal(readCompiled(dir, 'policies.diagnostic'), null, `written by "${other}": not used`);
    const profile = await loadProfile(dir, 'diagnostic');
    t.notOk(profile.commands.has('forged-by-old-leash'), 'the YAML is what decides');
    t.ok(profile.commands.has('uptime'));
  }
  writeFileSync(cache, JSON.stringify(forged), { mode: 0o644 });
  t.ok((await loadProfile(dir, 'diagnostic')).commands.has('forged-by-old-leash'), 'the same copy with this leash’s own stamp is used: the check above can fail');
  await compileProfile(dir, 'diagnostic');
});

t.test('an object reached twice is written once and read back shared; a bad reference makes the cache unusable', async (t) => {
  await compileProfile(dir, 'diagnostic');
  const cache = join(dir, '.compiled', 'policies.diagnostic.json');
  const text = readFileSync(cache, 'utf8');
  const record = JSON.parse(text) as { shared: unknown[] };
  t.ok(record.shared.length > 0, 'options under several names are shared');
  t.ok(text.length < 100 * 1024, `the diagnostic profile compiles to ${text.length} bytes, not the ~200 KiB of writing each name's copy`);
  // `-n, --lines` of head: one option under two names, the same object after reading.
  const profile = readCompiled(dir, 'policies.diagnostic') as { commands: Map<string, { options: Map<string, unknown> }> };
  const head = profile.commands.get('head')!.options;
  t.ok(head.get('-n') !== undefined && head.get('-n') === head.get('--lines'), 'one object under both spellings, as the parser makes it');
  for (const bad of ['{"$ref":99999}', '{"$ref":-1}', '{"$ref":"0"}']) {
    writeFileSync(cache, text.replace(/\{"\$ref":\d+\}/, bad));
    t.equal(readCompiled(dir, 'policies.diagnostic'), null, `${bad}: ignored, the YAML is parsed instead`);
  }
  writeFileSync(cache, text);
  t.ok(readCompiled(dir, 'policies.diagnostic'));
});
