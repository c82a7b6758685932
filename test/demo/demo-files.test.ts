/**
 * The files `leash demo` writes, without running anything: its profile is
 * valid and decides every command the demo runs exactly as the demo says
 * (leash's own parser and decision, on this host's filesystem); its
 * leash.yaml is valid for leash's own parser; the sshd and ssh client
 * configurations say what the demo relies on and refuse a value that could
 * add a line.
 */
import t from 'tap';
import { decide } from '../../src/shell/decide.js';
import { parseProfile } from '../../src/policy/parse.js';
import { realFs } from '../../src/policy/fs-view.js';
import { parseLeashConfig } from '../../src/config/parse.js';
import { DEMO_COMMANDS, DEMO_PROFILE, DEMO_PROFILE_YAML, demoPaths, knownHosts, leashYaml, sshClientConfig, sshdConfig } from '../../src/demo/demo-files.js';

const profile = parseProfile(`/x/policies/${DEMO_PROFILE}.yaml`, DEMO_PROFILE_YAML, DEMO_PROFILE);
const paths = demoPaths('/var/lib/leash-demo-abc123');

t.test('every command the demo runs is decided as the demo says', async (t) => {
  for (const c of [...DEMO_COMMANDS.allowed, ...DEMO_COMMANDS.pipelines, DEMO_COMMANDS.running, ...DEMO_COMMANDS.byHand, 'uptime']) {
    const d = decide(profile, c, realFs);
    t.ok(d.allow, `allowed: ${c}`, d);
  }
  for (const [c, reason] of [...DEMO_COMMANDS.denied, DEMO_COMMANDS.deniedPipeline]) {
    const d = decide(profile, c, realFs);
    t.match(d, { allow: false, code: reason }, `denied: ${c} (${reason})`);
  }
  const pipeline = decide(profile, DEMO_COMMANDS.pipelines[0], realFs);
  t.match(pipeline, { allow: true, stages: [{ binary: '/usr/bin/cat', argv: ['cat', '/usr/lib/os-release'] }, { binary: '/usr/bin/grep' }, { binary: '/usr/bin/head', argv: ['head', '-n', '2'] }] }, 'the pipeline runs as three stages, the path resolved');
});

t.test("the demo's leash.yaml is valid for leash's own parser and keeps everything inside the demo's directory", async (t) => {
  const text = leashYaml({ issuer: 'http://127.0.0.1:4321', clientId: 'leash-demo', grants: [{ identity: 'alice@example.com', user: 'leash-demo-abc123' }], paths });
  const c = parseLeashConfig(`${paths.configDir}/leash.yaml`, text);
  t.match(c.providers, [{ issuer: 'http://127.0.0.1:4321', clientId: 'leash-demo' }]);
  t.match(c.grants, [{ identity: 'alice@example.com', principals: ['leash-demo-abc123'], profile: DEMO_PROFILE }]);
  for (const p of [c.auditLog, c.recordingsLog, c.jwksCacheDir, c.runtimeDir]) t.ok(p.startsWith(`${paths.root}/`), `${p} is inside the demo's directory`);
});

t.test('sshd_config: loopback, keys only, both leash modes, only the demo account', async (t) => {
  const text = sshdConfig({ port: 40022, paths, leash: '/usr/bin/leash', verifier: 'leash-demo-abc123-v', agent: 'leash-demo-abc123' });
  for (const line of [
    'Port 40022',
    'ListenAddress 127.0.0.1',
    `HostKey ${paths.hostKey}`,
    'UsePAM no',
    'PasswordAuthentication no',
    `AuthorizedKeysCommand /usr/bin/leash --config-dir ${paths.configDir} verify %u %k %t`,
    'AuthorizedKeysCommandUser leash-demo-abc123-v',
    `TrustedUserCAKeys ${paths.userCaKey}`,
    `RevokedKeys ${paths.krl}`,
    'AllowUsers leash-demo-abc123',
    'DisableForwarding yes',
  ]) t.ok(text.split('\n').includes(line), line);
  t.notMatch(text, /\/etc\/ssh/, 'nothing of the host\'s /etc/ssh');
  t.throws(() => sshdConfig({ port: 1, paths, leash: '/usr/bin/leash\nForceCommand /bin/sh', verifier: 'v', agent: 'a' }), { code: 'DEMO_FAILED' }, 'a newline cannot add a directive');
  t.throws(() => sshdConfig({ port: 1, paths, leash: '/opt/my leash/leash', verifier: 'v', agent: 'a' }), { code: 'DEMO_FAILED' }, 'a blank would split the command');
});

t.test('the client side: each Host pins the demo host key and uses only its own key and certificate', async (t) => {
  const text = sshClientConfig({ port: 40022, user: 'leash-demo-abc123', knownHosts: paths.knownHosts, identities: [{ alias: 'alice', key: `${paths.clientDir}/alice`, cert: `${paths.clientDir}/alice-cert.pub` }] });
  for (const line of ['Host alice', '    Port 40022', '    User leash-demo-abc123', '    IdentitiesOnly yes', '    IdentityAgent none', '    StrictHostKeyChecking yes', `    UserKnownHostsFile ${paths.knownHosts}`, '    HostKeyAlias leash-demo']) t.ok(text.split('\n').includes(line), line);
  t.equal(knownHosts('ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHp0 leash-demo-host\n'), 'leash-demo ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHp0\n');
  t.throws(() => knownHosts('garbage'), { code: 'DEMO_FAILED' });
});
