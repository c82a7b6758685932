import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runPolicy } from '../../src/commands/policy-check.js';
import { isRoot, trustedTempDir } from '../helpers/tmp.js';
import { assertTrustedParents } from '../../src/trust/ownership.js';

/** runPolicy with stdout captured: FILE arguments, or (none) the whole configuration directory. */
async function check(...files: string[]): Promise<{ code: number; out: string }> {
  return checkIn(undefined, files);
}

async function checkIn(configDir: string | undefined, files: string[] = []): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => (out.push(s), true)) as typeof process.stdout.write;
  try {
    return { code: await runPolicy({ configDirFlag: configDir, values: {}, positionals: ['check', ...files], env: {} }), out: out.join('') };
  } finally {
    process.stdout.write = write;
  }
}

let trustedCheckout = true;
try {
  assertTrustedParents('policies');
} catch {
  trustedCheckout = false; // e.g. a CI clone under /tmp
}

t.test('relative paths, and a profile that extends another, are checked in a checkout', async (t) => {
  const r = await check('policies/diagnostic.yaml', 'policies/remediation.yaml');
  t.notMatch(r.out, /does not load/, 'the parent of remediation is read and validated');
  if (trustedCheckout) {
    t.equal(r.code, 0, r.out);
    t.match(r.out, /policies\/diagnostic\.yaml: OK\n[\s\S]*policies\/remediation\.yaml: OK\n/);
  } else {
    t.equal(r.code, 78, 'unsafe ownership is an error');
    t.match(r.out, /leash shell would refuse this profile/);
  }
});

t.test('a missing file is reported, not crashed on', async (t) => {
  const r = await check('policies/no-such-profile.yaml');
  t.equal(r.code, 78);
  t.match(r.out, /no-such-profile\.yaml: /);
});

t.test('a missing file gets a clear message, not a raw ENOENT', async (t) => {
  const r = await check('policies/no-such-profile.yaml');
  t.match(r.out, new RegExp(`^policies/no-such-profile\\.yaml: no such file \\(relative to ${process.cwd().replace(/[/.]/g, '\\$&')}\\)$`, 'm'));
  t.notMatch(r.out, /ENOENT/);
});

t.test('a configuration directory: every error of every file, grants naming missing profiles, typos in binaries', { skip: isRoot() ? false : 'needs root (a root-owned configuration)' }, async (t) => {
  const tmp = await trustedTempDir('policy-check-');
  t.teardown(tmp.cleanup);
  const dir = tmp.path;
  mkdirSync(join(dir, 'policies'), { mode: 0o755 });
  const write = (name: string, text: string): void => writeFileSync(join(dir, name), text, { mode: 0o644 });
  write('leash.yaml', [
    'default_profile: ops',
    'grants:',
    '  - {identity: alice@example.com, issuer: https://idp.example.com, principals: [agent], profile: diagnostic}',
    '  - {identity: bob@example.com, issuer: https://idp.example.com, principals: [agent], profile: opps}',
    '',
  ].join('\n'));
  write('policies/diagnostic.yaml', 'commands:\n  uptime: {binary: /usr/bin/uptime}\n  tail: {binary: /usr/bin/tial, operands: path}\npaths: {allow: [/var/log/**]}\n');
  write('policies/broken.yaml', 'commands:\n  a: {binary: relative}\n  b: {binary: /usr/bin/true, bogus: 1}\n  c: {binary: /usr/bin/true, options: {-x: flagg}}\n');
  const r = await checkIn(dir);
  t.equal(r.code, 78, r.out);
  t.match(r.out, /leash\.yaml:4: grants\[1\]\.profile: no profile "opps" in .*\/policies \(there: broken, diagnostic\)/, 'a grant naming a missing profile');
  t.match(r.out, /leash\.yaml: default_profile: no profile "ops"/, 'and default_profile');
  t.notMatch(r.out, /grants\[0\]/, 'an existing profile is fine');
  t.notMatch(r.out, /leash\.yaml: OK/);
  const broken = r.out.split('\n').filter((l) => l.includes('broken.yaml:'));
  t.same(broken.map((l) => l.replace(/^.*broken\.yaml:/, '').split(':').slice(0, 2).join(':')), ['2:15', '3:30', '4:44'], 'every error of broken.yaml, at its position');
  t.match(r.out, /diagnostic\.yaml:3:18: warning: commands\.tail\.binary \/usr\/bin\/tial is not installed, but \/usr\/bin\/tail is: a typo\?/, 'a typo in a binary path');
  t.match(r.out, /diagnostic\.yaml: OK/, 'a typo is a warning: the command is only unavailable');
  t.notMatch(r.out, /compiled cache updated/, 'nothing is compiled while anything fails');

  write('leash.yaml', 'grants:\n  - {identity: alice@example.com, issuer: https://idp.example.com, principals: [agent], profile: diagnostic}\n  - bogus\n');
  const syntax = await checkIn(dir);
  t.match(syntax.out, /leash\.yaml:3:5: grants\[1\] must be a mapping/, 'leash.yaml errors are reported too');
});
