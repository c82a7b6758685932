/**
 * The Debian package installed for real: dpkg -i changes nothing in sshd's
 * configuration; the accounts, cache, logs and units are in place; man and
 * bash-completion find their files; leash doctor names what is missing
 * until `leash-setup` enables leash in sshd (validated, and sshd reloaded:
 * a running sshd on a loopback port lets a certificate login in only
 * afterwards); the forced command verify writes names /usr/bin/leash; dpkg -r
 * puts /etc/ssh back byte for byte and reloads sshd; dpkg -P removes the
 * rest. Then the other install path on the same system: install.sh, where
 * man and bash-completion find what it installed, and its --uninstall --purge.
 *
 * This changes the system it runs on, so it runs only where asked:
 *   LEASH_SYSTEM_TESTS=1 (or CI=true): on this host — a throwaway machine
 *     (.ci/run), where leash is not installed;
 *   LEASH_PACKAGE_TEST_ROOT=DIR: in a throwaway copy of the Debian root DIR
 *     (debootstrap --include=openssh-server,man-db,bash-completion bookworm
 *     DIR), entered with chroot, which leaves this host alone.
 * Asked for and unable to run, it fails rather than skips. Needs dist/leash.
 */
import t, { type Test as Tap } from 'tap';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync } from 'node:fs';
import { copyFile, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildDeb } from '../helpers/deb-build.js';
import { chrootTarget, hostTarget, type Target } from '../helpers/debian-target.js';
import { hostLock } from '../helpers/host-lock.js';
import { installSourceTree } from '../helpers/install-source.js';
import { leashYaml } from '../helpers/leash-yaml.js';
import { startProvider } from '../helpers/oidc-provider.js';
import { mintLogin } from '../helpers/pktoken.js';
import { freePort, ssh } from '../helpers/sshd.js';
import { isRoot } from '../helpers/tmp.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const AGENT = 'leash-deb-agent';
const rootCopy = process.env['LEASH_PACKAGE_TEST_ROOT'];
const onHost = rootCopy === undefined && (process.env['CI'] === 'true' || process.env['LEASH_SYSTEM_TESTS'] === '1');

/** path → owner, mode and sha256 of every entry under a directory (of the host's file system). */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of (await readdir(dir)).sort()) {
    const p = join(dir, name);
    const st = await lstat(p);
    out.set(p.slice(dir.length), `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)} ${st.isFile() ? createHash('sha256').update(await readFile(p)).digest('hex') : '-'}`);
    if (st.isDirectory()) for (const [k, v] of await snapshot(p)) out.set(`${p.slice(dir.length)}${k}`, v);
  }
  return out;
}

/** Whether a path exists, itself: a symbolic link counts, wherever it points (the target's links point into the target). */
function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Why this cannot run here; '' when it can. */
async function obstacle(target: Target): Promise<string> {
  if (!isRoot()) return 'needs root';
  if (!existsSync(join(REPO, 'dist', 'leash'))) return 'dist/leash is missing: run `npm run build` first';
  if (!existsSync('/usr/bin/dpkg-deb')) return 'needs dpkg-deb';
  if (!existsSync(target.path('/usr/sbin/sshd'))) return `needs openssh-server on ${target.what}`;
  const installed = await target.run(['dpkg-query', '-W', '-f', '${Status}', 'leash']);
  if (/installed|config-files/.test(installed.stdout)) return `the leash package is already on ${target.what}; not touching it`;
  for (const p of ['/etc/leash', '/var/lib/leash', '/usr/local/bin/leash']) if (existsSync(target.path(p))) return `${p} exists on ${target.what}: leash is installed there already; not touching it`;
  return '';
}

async function packageTest(t: Tap, target: Target): Promise<void> {
  const run = target.run;
  const work = await mkdtemp(join(tmpdir(), 'leash-deb-inst-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const built = await buildDeb(work);
  t.equal(built.code, 0, 'the package builds', built);
  await copyFile(built.deb, target.path('/var/tmp/leash-test.deb'));
  t.teardown(() => rm(target.path('/var/tmp/leash-test.deb'), { force: true }));

  const sshdT = async (): Promise<string> => (await run(['sshd', '-T'])).stdout.split('\n').filter((l) => /^(authorizedkeyscommand|authorizedkeyscommanduser|exposeauthinfo) /.test(l)).sort().join('\n');
  const pristine = await snapshot(target.path('/etc/ssh'));
  const pristineT = await sshdT();
  t.equal((await run(['sshd', '-t'])).code, 0, 'sshd -t passes before anything');

  // Whatever happens: the package purged, the test's accounts gone; on this host /etc/ssh restored exactly.
  // Its own directory, removed only after /etc/ssh is back (not with `work`, whose teardown runs first).
  const backupRoot = await mkdtemp(join(tmpdir(), 'leash-deb-ssh-'));
  const sshBackup = join(backupRoot, 'ssh');
  if (target.what === 'this host') {
    const copied = await run(['cp', '-a', '/etc/ssh', sshBackup]);
    if (copied.code !== 0 || !existsSync(join(sshBackup, 'sshd_config'))) throw new Error(`cannot back up /etc/ssh: ${copied.stderr}`);
  }
  t.teardown(async () => {
    await run(['dpkg', '--purge', 'leash']);
    await run(['userdel', '-r', AGENT]);
    // Debian keeps a package's system accounts on purge; the test host does not.
    await run(['userdel', 'leash']);
    await run(['groupdel', 'leash-audit']);
    // Put back only from a whole backup; never remove /etc/ssh without one.
    if (target.what === 'this host' && existsSync(join(sshBackup, 'sshd_config'))) {
      await run(['rm', '-rf', '/etc/ssh']);
      const back = await run(['cp', '-a', sshBackup, '/etc/ssh']);
      if (back.code !== 0) throw new Error(`/etc/ssh could not be restored from ${sshBackup} (kept): ${back.stderr}`);
    }
    await rm(backupRoot, { recursive: true, force: true });
  });

  // 1. dpkg -i: the host is set up, sshd's configuration is not touched.
  const inst = await run(['dpkg', '-i', '/var/tmp/leash-test.deb']);
  t.equal(inst.code, 0, 'dpkg -i', inst);
  t.match(inst.stdout, /skip +sshd's configuration \(--no-sshd: unchanged\)/);
  t.match(inst.stdout, /sshd is unchanged: leash is enabled in it by running leash-setup/);
  t.same(await snapshot(target.path('/etc/ssh')), pristine, 'installing leaves /etc/ssh byte for byte as it was');
  t.equal(await sshdT(), pristineT, 'and sshd -T shows the same settings');
  const st = await lstat(target.path('/usr/bin/leash'));
  t.same([st.uid, st.gid, st.mode & 0o7777], [0, 0, 0o755], '/usr/bin/leash root 0755');
  t.equal((await run(['getent', 'passwd', 'leash'])).code, 0, 'the leash user');
  t.equal((await run(['getent', 'group', 'leash-audit'])).code, 0, 'the leash-audit group');
  t.match((await run(['stat', '-c', '%U:%G %a', '/var/log/leash/audit.jsonl', '/var/cache/leash'])).stdout, /^root:leash-audit 620\nleash:leash 755\n$/);
  t.match((await run(['lsattr', '-d', '/var/log/leash/audit.jsonl'])).stdout, /^\S*a\S* /, 'the audit log is append-only');
  t.ok(present(target.path('/etc/systemd/system/timers.target.wants/leash-reap.timer')), 'the reaper timer is enabled');
  t.ok(present(target.path('/etc/systemd/system/multi-user.target.wants/leash-runtime.service')), 'the runtime unit is enabled');
  if (existsSync(target.path('/usr/bin/man'))) {
    t.equal((await run(['man', '-w', 'leash'])).stdout.trim(), '/usr/share/man/man1/leash.1.gz', 'man leash');
    t.equal((await run(['man', '-w', '5', 'leash.yaml'])).stdout.trim(), '/usr/share/man/man5/leash.yaml.5.gz', 'man 5 leash.yaml');
    t.match((await run(['man', 'leash-setup'], { env: { MANWIDTH: '80' } })).stdout, /^LEASH-SETUP\(8\)/, 'man leash-setup');
  }
  if (existsSync(target.path('/usr/share/bash-completion/bash_completion'))) {
    const c = await run(['bash', '--norc', '-c', 'source /usr/share/bash-completion/bash_completion; __load_completion leash && complete -p leash']);
    t.match(c.stdout, /^complete -F _leash leash$/m, 'bash-completion loads leash\'s');
  }

  // 2. Not enabled yet: leash doctor says so, and how to fix it.
  const before = await run(['leash', 'doctor']);
  t.equal(before.code, 1, 'leash doctor fails before sshd is enabled', before);
  t.match(before.stdout, /\[FAIL\] sshd: [\s\S]*fix: run install\.sh \(leash-setup where the Debian package is installed\)/);

  // The operator's steps: a provider and a grant, the session user in the audit group, the key cache.
  const op = await startProvider();
  t.teardown(op.stop);
  t.equal((await run(['useradd', '-m', '-s', '/bin/bash', AGENT])).code, 0, 'the session user');
  t.equal((await run(['usermod', '-aG', 'leash-audit', AGENT])).code, 0);
  await writeFile(target.path('/etc/leash/leash.yaml'), leashYaml({ issuer: op.issuer, clientId: op.clientId, grants: [{ identity: 'alice@example.com', principals: [AGENT] }], denyUsers: ['root'] }));
  const refresh = await run(['runuser', '-u', 'leash', '--', 'leash', 'jwks', 'refresh']);
  t.equal(refresh.code, 0, 'jwks refresh as leash', refresh);
  t.equal((await run(['leash', 'policy', 'check'])).code, 0, 'policy check');

  // A running sshd on a loopback port, with the pid file sshd_config names, so leash-setup can reload it.
  const pidFile = '/run/sshd.pid';
  const reloadable = !existsSync(target.path(pidFile));
  const port = await freePort();
  const sshd = target.start(['/usr/sbin/sshd', '-D', '-e', '-o', `Port=${port}`, '-o', 'ListenAddress=127.0.0.1', ...(reloadable ? [] : ['-o', `PidFile=/var/tmp/leash-test-sshd.pid`])]);
  let log = '';
  sshd.stderr?.setEncoding('utf8').on('data', (d: string) => (log += d));
  const exited = new Promise((r) => sshd.once('close', r));
  t.teardown(async () => {
    if (reloadable) await run(['sh', '-c', `[ -f ${pidFile} ] && kill "$(cat ${pidFile})"`]);
    sshd.kill('SIGTERM');
    await exited;
  });
  for (let i = 0; i < 100 && !/Server listening/.test(log); i++) await new Promise((r) => setTimeout(r, 50));
  const keys = await mkdtemp(join(tmpdir(), 'leash-deb-keys-'));
  t.teardown(() => rm(keys, { recursive: true, force: true }));
  const alice = await mintLogin(op, 'alice', { dir: keys, name: 'alice' });
  const login = (command: string): ReturnType<typeof ssh> => ssh({ port, user: AGENT, key: alice.keyPath, cert: alice.certPath, command });
  t.equal((await login('uptime')).code, 255, 'before leash-setup, sshd does not know the certificate');

  // 3. The one command that enables it: validated, then sshd reloaded.
  const dry = await run(['leash-setup', '--dry-run']);
  t.equal(dry.code, 0, 'leash-setup --dry-run', dry);
  t.match(dry.stdout, /write +\/etc\/ssh\/sshd_config\.d\/10-leash\.conf/);
  t.same(await snapshot(target.path('/etc/ssh')), pristine, 'the dry run changes nothing');
  const enable = await run(['leash-setup', ...(reloadable ? [] : ['--no-reload'])]);
  t.equal(enable.code, 0, 'leash-setup', enable);
  t.match(enable.stdout, /check +sshd -T: \/usr\/bin\/leash verify %u %k %t \(as leash\), exposeauthinfo yes/);
  if (reloadable) t.match(enable.stdout, /reload +sshd \(kill -HUP \d+ from \/run\/sshd\.pid\)/, 'sshd reloaded');
  else await run(['sh', '-c', 'kill -HUP "$(cat /var/tmp/leash-test-sshd.pid)"']);
  t.match(await readFile(target.path('/etc/ssh/sshd_config.d/10-leash.conf'), 'utf8'), /^AuthorizedKeysCommand \/usr\/bin\/leash verify %u %k %t\nAuthorizedKeysCommandUser leash\nExposeAuthInfo yes\n$/m);
  t.match((await run(['leash-setup'])).stdout, /nothing changed: leash is installed and up to date/, 'a second run changes nothing');
  const doctor = await run(['leash', 'doctor']);
  t.equal(doctor.code, 0, 'leash doctor passes', doctor);
  t.match(doctor.stdout, /\[ok\] +sshd: AuthorizedKeysCommand \/usr\/bin\/leash verify %u %k %t as leash/);

  // The line verify gives sshd pins the session to the binary that wrote it.
  const line = await run(['runuser', '-u', 'leash', '--', '/usr/bin/leash', 'verify', AGENT, alice.keyBase64, alice.keyType]);
  t.equal(line.code, 0, 'verify accepts, as the AuthorizedKeysCommandUser', line);
  t.match(line.stdout, /,command="\/usr\/bin\/leash shell --profile diagnostic --identity alice@example\.com --session [0-9a-f]{32} --expires \d+" /);

  let ok = await login('uptime');
  for (let i = 0; i < 20 && ok.code === 255; i++) ok = await login('uptime'); // sshd re-executes itself on SIGHUP
  t.equal(ok.code, 0, 'alice logs in and runs uptime', { ...ok, log });
  t.match(ok.stdout, /load average/);
  t.equal((await login('cat /etc/shadow')).code, 126, 'the profile applies');
  const audit = await readFile(target.path('/var/log/leash/audit.jsonl'), 'utf8');
  t.match(audit, /"event":"verify\.accepted"/, 'the verifier (as leash) appended');
  t.match(audit, /"event":"shell\.finished"/, 'the session user appended');

  // 4. dpkg -r: sshd's configuration back byte for byte, validated and reloaded; the data stays.
  const remove = await run(['dpkg', '-r', 'leash']);
  t.equal(remove.code, 0, 'dpkg -r', remove);
  t.match(remove.stdout, /leash leash-setup --uninstall[\s\S]*remove +\/etc\/ssh\/sshd_config\.d\/10-leash\.conf[\s\S]*check +sshd -t: ok/);
  t.same(await snapshot(target.path('/etc/ssh')), pristine, '/etc/ssh byte for byte as before');
  t.equal(await sshdT(), pristineT);
  t.equal((await run(['sshd', '-t'])).code, 0, 'sshd -t passes');
  t.notOk(existsSync(target.path('/usr/bin/leash')), 'the binary is gone');
  for (const kept of ['/etc/leash/leash.yaml', '/var/log/leash/audit.jsonl']) t.ok(existsSync(target.path(kept)), `${kept} is kept until purge`);
  if (reloadable) {
    let after = await login('uptime');
    for (let i = 0; i < 20 && after.code === 0; i++) after = await login('uptime');
    t.equal(after.code, 255, 'sshd was reloaded: the certificate no longer logs in');
  }

  // 5. dpkg -P: the rest goes.
  const purge = await run(['dpkg', '-P', 'leash']);
  t.equal(purge.code, 0, 'dpkg -P', purge);
  for (const gone of ['/etc/leash', '/var/log/leash', '/var/cache/leash', '/var/lib/leash', '/etc/cron.d/leash', '/etc/systemd/system/timers.target.wants/leash-reap.timer']) t.notOk(present(target.path(gone)), `${gone} is gone`);
  t.same(await snapshot(target.path('/etc/ssh')), pristine, '/etc/ssh still byte for byte as before');
  t.notMatch((await run(['dpkg-query', '-W', '-f', '${Status}', 'leash'])).stdout, /installed|config-files/, 'dpkg knows no leash');
}

/** The other install path on the same system: install.sh from a checkout, then man and bash-completion, then --uninstall --purge. */
async function installShTest(t: Tap, target: Target): Promise<void> {
  const run = target.run;
  const pristine = await snapshot(target.path('/etc/ssh'));
  const src = '/var/tmp/leash-test-src';
  await mkdir(target.path(src), { recursive: true });
  t.teardown(() => rm(target.path(src), { recursive: true, force: true }));
  await installSourceTree(target.path(src));
  await copyFile(join(REPO, 'dist', 'leash'), target.path(`${src}/dist/leash`));
  t.teardown(async () => {
    await run(['sh', `${src}/install.sh`, '--uninstall', '--purge', '--no-reload']);
    if (target.what === 'this host') await run(['rm', '-rf', '/etc/ssh/sshd_config.d/10-leash.conf']);
  });
  const inst = await run(['sh', `${src}/install.sh`, '--no-reload']);
  t.equal(inst.code, 0, 'install.sh', inst);
  if (existsSync(target.path('/usr/bin/man'))) {
    // man's search path names /usr/local/man, Debian's link to share/man.
    const found = async (...args: string[]): Promise<string> => (await run(['sh', '-c', 'readlink -f "$(man -w "$@")"', 'sh', ...args])).stdout.trim();
    t.equal(await found('leash'), '/usr/local/share/man/man1/leash.1', 'man leash');
    t.equal(await found('5', 'leash.yaml'), '/usr/local/share/man/man5/leash.yaml.5', 'man 5 leash.yaml');
    t.match((await run(['man', 'leash-profile'], { env: { MANWIDTH: '80' } })).stdout, /^LEASH-PROFILE\(5\)/, 'man leash-profile');
  }
  if (existsSync(target.path('/usr/share/bash-completion/bash_completion'))) {
    const c = await run(['bash', '--norc', '-c', 'source /usr/share/bash-completion/bash_completion; __load_completion leash && complete -p leash']);
    t.match(c.stdout, /^complete -F _leash leash$/m, 'bash-completion loads it from /usr/local/share');
  }
  const un = await run(['sh', `${src}/install.sh`, '--uninstall', '--purge', '--no-reload']);
  t.equal(un.code, 0, 'install.sh --uninstall --purge', un);
  for (const gone of ['/usr/local/share/man/man1/leash.1', '/usr/local/share/bash-completion', '/usr/local/bin/leash', '/etc/leash']) t.notOk(present(target.path(gone)), `${gone} is gone`);
  t.same(await snapshot(target.path('/etc/ssh')), pristine, '/etc/ssh byte for byte as before');
}

if (rootCopy === undefined && !onHost) {
  t.plan(0, 'installs a package: set LEASH_SYSTEM_TESTS=1 on a throwaway machine, or LEASH_PACKAGE_TEST_ROOT=<a Debian root to copy>');
} else {
  const target = rootCopy !== undefined ? await chrootTarget(rootCopy) : hostTarget();
  t.teardown(target.dispose);
  // On this host, one such test at a time (test/install/system.test.ts takes the same lock), and
  // whether leash is there already is looked at only once it is held.
  if (target.what === 'this host' && isRoot()) t.teardown(await hostLock());
  const why = await obstacle(target);
  if (why) t.fail(`asked to install the package on ${target.what}, but: ${why}`);
  else {
    await t.test(`the package on ${target.what}: dpkg -i, leash doctor, leash-setup, a login, dpkg -r, dpkg -P`, (t) => packageTest(t, target));
    await t.test(`install.sh on ${target.what}: man and bash-completion find their files; --uninstall --purge`, (t) => installShTest(t, target));
  }
}
