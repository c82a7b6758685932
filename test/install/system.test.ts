/**
 * install.sh for real, on this machine: into /, with the real sshd -t/-T,
 * then the system's own sshd configuration (now including leash) on a
 * loopback port, and an OPKSSH certificate minted independently
 * (test/helpers/pktoken.ts: a real OIDC login + the real ssh-keygen) logs in
 * through the installed binary. leash doctor passes; broken configurations
 * make install.sh roll back with sshd -t still passing; uninstall leaves
 * /etc/ssh byte for byte as it was.
 *
 * This modifies the host, so it runs only as root on a throwaway machine:
 * CI=true or LEASH_SYSTEM_TESTS=1 (.ci/run sets it), and only if leash is not
 * already installed here. Needs `npm run build` first.
 */
import t, { type Test as Tap } from 'tap';
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, lstat, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { leashYaml } from '../helpers/leash-yaml.js';
import { fileURLToPath } from 'node:url';
import { startProvider } from '../helpers/oidc-provider.js';
import { mintLogin } from '../helpers/pktoken.js';
import { ensureUser, freePort, ssh } from '../helpers/sshd.js';
import { installBinary, isRoot } from '../helpers/tmp.js';
import { hostLock } from '../helpers/host-lock.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const INSTALL = join(REPO, 'install.sh');
const LEASH = join(REPO, 'dist', 'leash');
const AGENT = 'leash-sys-agent';
const BIN = '/usr/local/bin/leash';

interface Run { code: number | null; stdout: string; stderr: string }
function run(file: string, args: string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((res) => execFile(file, args, { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr })));
}
const install = (...args: string[]): Promise<Run> => run('/bin/sh', [INSTALL, ...args]);

/** path → mode, owner and sha256 of every entry under /etc/ssh. */
async function sshSnapshot(dir = '/etc/ssh'): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(dir)).sort()) {
    const p = join(dir, name);
    const st = await lstat(p);
    out.set(p, `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)} ${st.isFile() ? createHash('sha256').update(await readFile(p)).digest('hex') : '-'}`);
    if (st.isDirectory()) for (const [k, v] of await sshSnapshot(p)) out.set(k, v);
  }
  return out;
}


const enabled = process.env['CI'] === 'true' || process.env['LEASH_SYSTEM_TESTS'] === '1';
// One test at a time installs leash on this host (test/packaging/deb-install.test.ts takes the
// same lock), and whether leash is installed already is looked at only once it is held.
if (enabled && isRoot()) t.teardown(await hostLock());
const skip = !enabled
  ? 'modifies this host: set LEASH_SYSTEM_TESTS=1 (or CI=true) on a throwaway machine'
  : !isRoot()
    ? 'needs root'
    : !existsSync(LEASH)
      ? 'dist/leash is missing: run `npm run build` first'
      : !existsSync('/usr/sbin/sshd') || !existsSync('/etc/ssh/sshd_config')
        ? 'needs openssh-server'
        : existsSync(BIN) || existsSync('/etc/leash') || existsSync('/var/lib/leash')
          ? 'leash is already installed on this host; not touching it'
          : '';

async function systemTest(t: Tap): Promise<void> {
  const pristine = await sshSnapshot();
  const backup = await mkdtemp(join(tmpdir(), 'leash-sys-ssh-'));
  await run('/bin/cp', ['-a', '/etc/ssh', backup]);
  // Whatever happens: uninstall, and put /etc/ssh back exactly.
  t.teardown(async () => {
    await install('--uninstall', '--purge', '--no-reload');
    await run('/bin/rm', ['-rf', '/etc/ssh']);
    await run('/bin/cp', ['-a', join(backup, 'ssh'), '/etc/ssh']);
    await rm(backup, { recursive: true, force: true });
  });
  t.equal((await run('/usr/sbin/sshd', ['-t'])).code, 0, 'sshd -t passes before anything');

  // 1. An earlier drop-in (a hardening baseline, say) sets ExposeAuthInfo no;
  //    sshd uses the first value it reads, so sshd -t passes but sshd -T does
  //    not show leash's settings -> roll back.
  const trap = '/etc/ssh/sshd_config.d/05-leash-systest.conf';
  await writeFile(trap, 'ExposeAuthInfo no\n');
  const withTrap = await sshSnapshot();
  const r1 = await install();
  t.equal(r1.code, 1, 'install fails', r1);
  t.match(r1.stdout, /sshd -T does not show leash's settings in effect/);
  t.match(r1.stdout, /restored \/etc\/ssh\/sshd_config\.d\/10-leash\.conf/);
  t.same(await sshSnapshot(), withTrap, 'sshd files as they were, byte for byte');
  t.equal((await run('/usr/sbin/sshd', ['-t'])).code, 0, 'sshd -t still passes');
  await rm(trap);

  // 2. sshd -t itself rejects the result (a wrapper that fails once leash's drop-in exists).
  const wrapper = await installBinary('/bin/true', 'sshd-failing');
  t.teardown(wrapper.cleanup);
  await writeFile(wrapper.path, '#!/bin/sh\nif [ "$1" = -t ] && [ -e /etc/ssh/sshd_config.d/10-leash.conf ]; then echo "/etc/ssh/sshd_config.d/10-leash.conf line 3: injected failure" >&2; exit 255; fi\nexec /usr/sbin/sshd "$@"\n');
  await chmod(wrapper.path, 0o755);
  const r2 = await install('--sshd', wrapper.path);
  t.equal(r2.code, 1, 'install fails', r2);
  t.match(r2.stdout, /FAILED +sshd -t:[\s\S]*injected failure/);
  t.same(await sshSnapshot(), pristine, 'rolled back byte for byte');
  t.equal((await run('/usr/sbin/sshd', ['-t'])).code, 0, 'sshd -t still passes');

  // 3. The real install.
  const r3 = await install();
  t.equal(r3.code, 0, 'install', r3);
  t.match(r3.stdout, /check +sshd -T: \/usr\/local\/bin\/leash verify %u %k %t \(as leash\), exposeauthinfo yes/);
  const r4 = await install();
  t.match(r4.stdout, /nothing changed: leash is installed and up to date/, 'second run: nothing changed', r4);
  t.match((await run('/usr/bin/lsattr', ['-d', '/var/log/leash/audit.jsonl'])).stdout, /^\S*a\S* /, 'audit log is append-only');

  // The operator's steps: a provider and a grant, the session user in the audit group, the key cache.
  const op = await startProvider();
  t.teardown(op.stop);
  const agent = await ensureUser(AGENT);
  t.equal((await run('/usr/sbin/usermod', ['-aG', 'leash-audit', AGENT])).code, 0);
  await writeFile(
    '/etc/leash/leash.yaml',
    leashYaml({ issuer: op.issuer, clientId: op.clientId, grants: [{ identity: 'alice@example.com', principals: [AGENT] }], denyUsers: ['root'] }),
  );
  const refresh = await run('/usr/sbin/runuser', ['-u', 'leash', '--', BIN, 'jwks', 'refresh']);
  t.equal(refresh.code, 0, 'jwks refresh as leash', refresh);
  t.match((await install()).stdout, /ok +\/etc\/leash\/leash\.yaml \(edited by you/, 'the edited leash.yaml is left alone');

  const doctor = await run(BIN, ['doctor']);
  t.equal(doctor.code, 0, 'leash doctor passes', doctor);
  t.match(doctor.stdout, /\[ok\] +audit log: \/var\/log\/leash\/audit\.jsonl: append-only, appendable by leash, leash-sys-agent/);
  console.error(doctor.stdout);

  // The system's sshd configuration, on a loopback port, with its own pid file.
  const port = await freePort();
  const pidFile = join(backup, 'sshd.pid');
  const sshd = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', '/etc/ssh/sshd_config', '-o', `Port=${port}`, '-o', 'ListenAddress=127.0.0.1', '-o', `PidFile=${pidFile}`], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  sshd.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
  const exited = new Promise((r) => sshd.once('close', r));
  t.teardown(async () => {
    sshd.kill('SIGTERM');
    await exited;
  });
  for (let i = 0; i < 100 && !/Server listening/.test(log); i++) await new Promise((r) => setTimeout(r, 50));

  const keyDir = await mkdtemp(join(tmpdir(), 'leash-sys-keys-'));
  t.teardown(() => rm(keyDir, { recursive: true, force: true }));
  const alice = await mintLogin(op, 'alice', { dir: keyDir, name: 'alice' });
  const ok = await ssh({ port, user: agent.name, key: alice.keyPath, cert: alice.certPath, command: 'uptime' });
  t.equal(ok.code, 0, 'alice logs in and runs uptime', { ...ok, log });
  t.match(ok.stdout, /load average/);
  const denied = await ssh({ port, user: agent.name, key: alice.keyPath, cert: alice.certPath, command: 'cat /etc/shadow' });
  t.equal(denied.code, 126, 'the restricted profile applies', denied);
  const audit = await readFile('/var/log/leash/audit.jsonl', 'utf8');
  t.match(audit, /"event":"verify\.accepted"/, 'the verifier (as leash) appended');
  t.match(audit, /"event":"shell\.finished"/, 'the session user appended');

  // 4. Uninstall: sshd configuration back byte for byte, still valid.
  const u = await install('--uninstall', '--purge');
  t.equal(u.code, 0, 'uninstall', u);
  t.same(await sshSnapshot(), pristine, '/etc/ssh exactly as before');
  t.equal((await run('/usr/sbin/sshd', ['-t'])).code, 0, 'sshd -t passes');
  t.notOk(existsSync(BIN));
  t.equal((await run('/usr/bin/getent', ['passwd', 'leash'])).code, 2, 'the leash user is gone');
}

if (skip) t.plan(0, skip);
else await t.test('real install, login, doctor, rollback, uninstall', systemTest);
