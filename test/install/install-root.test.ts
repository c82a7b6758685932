/**
 * install.sh --root: everything it writes into a staging root (files, owners,
 * modes, the sshd snippet), idempotence, *.new for edited defaults, the
 * marked block when sshd_config has no drop-in directory, refusing another
 * AuthorizedKeysCommand (and --take-over), --dry-run, uninstall byte for byte.
 * Accounts are never created with --root; the host's are used for owners, so
 * the test makes its own system user and group. Needs root.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, cp, lstat, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseLeashConfig } from '../../src/config/parse.js';
import { ensureUser } from '../helpers/sshd.js';
import { isRoot } from '../helpers/tmp.js';
import { installSourceTree } from '../helpers/install-source.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const USER = 'leash-inst-t';
const GROUP = 'leash-inst-t-audit';

interface Run { code: number | null; stdout: string; stderr: string }
function run(file: string, args: string[]): Promise<Run> {
  return new Promise((res) => execFile(file, args, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr })));
}
function runEnv(file: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((res) => execFile(file, args, { encoding: 'utf8', timeout: 60_000, env }, (err, stdout, stderr) => res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr })));
}

/** A copy of the pieces install.sh installs from, so a test can change a shipped default. */
async function sourceTree(): Promise<string> {
  return installSourceTree(await mkdtemp(join(tmpdir(), 'leash-inst-src-')));
}

const DEBIAN_SSHD_CONFIG = 'Include /etc/ssh/sshd_config.d/*.conf\n\nKbdInteractiveAuthentication no\nUsePAM yes\nSubsystem\tsftp\t/usr/lib/openssh/sftp-server\n';

async function stagingRoot(sshdConfig: string | null = DEBIAN_SSHD_CONFIG): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'leash-inst-root-'));
  for (const d of ['etc/ssh/sshd_config.d', 'etc/logrotate.d', 'etc/systemd/system']) await mkdir(join(root, d), { recursive: true });
  if (sshdConfig !== null) await writeFile(join(root, 'etc/ssh/sshd_config'), sshdConfig);
  return root;
}

/** path → "uid:gid mode sha256" for everything under root: what "changes nothing" is measured against. */
async function snapshot(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const st = await lstat(p);
      const hash = st.isFile() ? createHash('sha256').update(await readFile(p)).digest('hex') : '-';
      out.set(p.slice(root.length), `${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)} ${hash}`);
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk(root);
  return out;
}

const skip = !isRoot() ? 'needs root (chown to the service user)' : !existsSync('/usr/sbin/sshd') ? 'needs openssh-server' : '';
if (skip) t.plan(0, skip);
else {
  const user = await ensureUser(USER, { system: true });
  if ((await run('/usr/bin/getent', ['group', GROUP])).code !== 0) await run('/usr/sbin/groupadd', ['--system', GROUP]);
  const gid = Number((await run('/usr/bin/getent', ['group', GROUP])).stdout.split(':')[2]);
  const src = await sourceTree();
  t.teardown(() => rm(src, { recursive: true, force: true }));
  const install = (root: string, ...args: string[]): Promise<Run> => run('/bin/sh', [join(src, 'install.sh'), '--root', root, '--user', USER, '--audit-group', GROUP, ...args]);

  t.test('fresh install: files, owners, modes and the sshd drop-in', async (t) => {
    const root = await stagingRoot();
    t.teardown(() => rm(root, { recursive: true, force: true }));
    const r = await install(root);
    t.equal(r.code, 0, 'exit 0', r);
    const s = await snapshot(root);
    const meta = (p: string): string => (s.get(p) ?? 'missing').split(' ').slice(0, 2).join(' ');
    t.equal(meta('/usr/local/bin/leash'), '0:0 755');
    t.equal(meta('/etc/leash'), '0:0 755');
    t.equal(meta('/etc/leash/leash.yaml'), '0:0 644');
    t.equal(meta('/etc/leash/policies/diagnostic.yaml'), '0:0 644');
    t.equal(meta('/etc/leash/policies/remediation.yaml'), '0:0 644');
    t.equal(meta('/var/cache/leash'), `${user.uid}:${user.gid} 755`, 'cache: the service user alone may write');
    t.equal(meta('/var/log/leash'), '0:0 755', 'log dir: nobody but root may create, rename or delete');
    t.equal(meta('/var/log/leash/audit.jsonl'), `0:${gid} 620`, 'audit log: root-owned, the group may only write');
    t.equal(meta('/etc/ssh/sshd_config.d/10-leash.conf'), '0:0 644');
    t.equal(meta('/etc/logrotate.d/leash'), '0:0 644');
    t.equal(await readFile(join(root, 'etc/ssh/sshd_config'), 'utf8'), DEBIAN_SSHD_CONFIG, 'sshd_config itself untouched');
    t.equal(
      await readFile(join(root, 'etc/ssh/sshd_config.d/10-leash.conf'), 'utf8'),
      [
        '# Managed by leash install.sh: it is rewritten on every install, removed by install.sh --uninstall.',
        '# leash verifies OPKSSH certificates and pins every login to a command profile.',
        'AuthorizedKeysCommand /usr/local/bin/leash verify %u %k %t',
        `AuthorizedKeysCommandUser ${USER}`,
        'ExposeAuthInfo yes',
        '',
      ].join('\n'),
    );
    const template = await readFile(join(root, 'etc/leash/leash.yaml'), 'utf8');
    const cfg = parseLeashConfig('/etc/leash/leash.yaml', template);
    t.same(cfg.deny.users, ['root'], 'the template parses, and denies root');
    t.same([cfg.providers.length, cfg.grants.length], [0, 0], 'no provider, no grant: every login refused until configured');
    t.match(await readFile(join(root, 'etc/logrotate.d/leash'), 'utf8'), new RegExp(`-g ${GROUP} `), 'logrotate snippet uses the audit group');
    t.match(r.stdout, /skip +chattr \+a \(--root/);
    t.notOk(existsSync(join(root, 'etc/passwd')), 'no account files written into the root');

    for (const page of ['man1/leash.1', 'man5/leash.yaml.5', 'man5/leash-profile.5', 'man8/leash-setup.8']) t.equal(meta(`/usr/local/share/man/${page}`), '0:0 644', page);
    t.equal(meta('/usr/local/share/bash-completion/completions/leash'), '0:0 644', 'the bash completion');
    t.equal(await readFile(join(root, 'usr/local/share/bash-completion/completions/leash'), 'utf8'), await readFile(join(REPO, 'contrib/bash-completion/leash'), 'utf8'));

    const again = await install(root);
    t.equal(again.code, 0);
    t.match(again.stdout, /nothing changed: leash is installed and up to date/);
    t.same(await snapshot(root), s, 'a second run changes nothing');

    if (existsSync('/usr/sbin/logrotate')) {
      const lr = await run('/usr/sbin/logrotate', ['-d', join(root, 'etc/logrotate.d/leash')]);
      t.equal(lr.code, 0, 'logrotate -d accepts the snippet', lr);
    }
  });

  t.test('man finds the manual pages under the prefix, and bash-completion the completion', async (t) => {
    const root = await stagingRoot();
    t.teardown(() => rm(root, { recursive: true, force: true }));
    t.equal((await install(root)).code, 0);
    const man = join(root, 'usr/local/share/man');
    t.test('man -l and MANPATH', { skip: existsSync('/usr/bin/man') ? false : 'man-db is not installed (/usr/bin/man)' }, async (t) => {
      const env = { LC_ALL: 'C.UTF-8', MANWIDTH: '80', MANPATH: man, PATH: '/usr/bin:/bin' };
      const page = await runEnv('/usr/bin/man', ['-l', join(man, 'man1/leash.1')], env);
      t.equal(page.code, 0, 'man -l renders leash(1)', page);
      t.match(page.stdout, /leash - short-lived, command-restricted SSH access/);
      t.match(page.stdout, /SYNOPSIS[\s\S]*leash verify USER KEY TYPE/);
      for (const [args, file] of [[['leash'], 'man1/leash.1'], [['5', 'leash.yaml'], 'man5/leash.yaml.5'], [['leash-profile'], 'man5/leash-profile.5'], [['leash-setup'], 'man8/leash-setup.8']] as const) {
        const w = await runEnv('/usr/bin/man', ['-w', ...args], env);
        t.equal(w.stdout.trim(), join(man, file), `MANPATH: man -w ${args.join(' ')}`);
      }
      const yaml = await runEnv('/usr/bin/man', ['5', 'leash.yaml'], env);
      t.match(yaml.stdout, /LEASH\.YAML\(5\)/, 'man 5 leash.yaml shows the page');
    });
    const loader = '/usr/share/bash-completion/bash_completion';
    t.test('bash-completion', { skip: existsSync(loader) ? false : 'bash-completion is not installed' }, async (t) => {
      // bash-completion looks in $XDG_DATA_DIRS/bash-completion/completions (default /usr/local/share:/usr/share).
      const r = await runEnv('/bin/bash', ['--norc', '-c', `source ${loader}; __load_completion leash && complete -p leash`], { XDG_DATA_DIRS: join(root, 'usr/local/share'), PATH: '/usr/bin:/bin' });
      t.match(r.stdout, /^complete -F _leash leash$/m, 'bash-completion loads it on demand');
    });
  });

  t.test('edited defaults are kept; a new default goes beside them as *.new', async (t) => {
    const root = await stagingRoot();
    t.teardown(() => rm(root, { recursive: true, force: true }));
    t.equal((await install(root)).code, 0);
    const yaml = join(root, 'etc/leash/leash.yaml');
    const diag = join(root, 'etc/leash/policies/diagnostic.yaml');
    await writeFile(yaml, (await readFile(yaml, 'utf8')) + '# the operator was here\n');
    const edited = await readFile(yaml, 'utf8');

    const same = await install(root);
    t.match(same.stdout, /nothing changed/, 'edited, default unchanged: nothing to do');
    t.notOk(existsSync(`${yaml}.new`));

    // The repository ships new defaults for both files.
    const shippedYaml = join(src, 'contrib/leash.yaml');
    const shippedDiag = join(src, 'policies/diagnostic.yaml');
    const [oldYaml, oldDiag] = [await readFile(shippedYaml, 'utf8'), await readFile(shippedDiag, 'utf8')];
    t.teardown(async () => {
      await writeFile(shippedYaml, oldYaml);
      await writeFile(shippedDiag, oldDiag);
    });
    await writeFile(shippedYaml, oldYaml + '# new default\n');
    await writeFile(shippedDiag, oldDiag + '# new default\n');
    const r = await install(root);
    t.equal(r.code, 0);
    t.equal(await readFile(yaml, 'utf8'), edited, "the operator's file is untouched");
    t.equal(await readFile(`${yaml}.new`, 'utf8'), oldYaml + '# new default\n', 'the new default is beside it');
    t.match(r.stdout, /new +\/etc\/leash\/leash\.yaml\.new/);
    t.match(r.stdout, /kept your edited files/);
    t.equal(await readFile(diag, 'utf8'), oldDiag + '# new default\n', 'an unedited default is simply updated');
    t.notOk(existsSync(`${diag}.new`));
    const again = await install(root);
    t.match(again.stdout, /nothing changed/, 'and then it is idempotent again');
    t.match(again.stdout, /yours is kept; the new default is still in \/etc\/leash\/leash\.yaml\.new/);
  });

  t.test('--dry-run prints every action and changes nothing', async (t) => {
    const root = await stagingRoot();
    t.teardown(() => rm(root, { recursive: true, force: true }));
    const before = await snapshot(root);
    const r = await install(root, '--dry-run');
    t.equal(r.code, 0, 'exit 0', r);
    t.match(r.stdout, /\+ install -o root -g root -m 0755 .*\/dist\/leash .*\/usr\/local\/bin\/leash\.leash-new/);
    t.match(r.stdout, /write +\/etc\/ssh\/sshd_config\.d\/10-leash\.conf/);
    t.match(r.stdout, /dry run: \d+ change\(s\) would be made; nothing was changed/);
    t.same(await snapshot(root), before);
  });

  t.test('without a drop-in directory: a marked block at the top; uninstall restores sshd_config byte for byte', async (t) => {
    const original = 'Port 22\nUsePAM yes\nMatch User backup\n    ForceCommand /bin/false'; // no final newline
    const root = await stagingRoot(original);
    t.teardown(() => rm(root, { recursive: true, force: true }));
    const r = await install(root);
    t.equal(r.code, 0, 'exit 0', r);
    const cfg = await readFile(join(root, 'etc/ssh/sshd_config'), 'utf8');
    t.ok(cfg.startsWith('# BEGIN leash (managed by leash install.sh; remove with: install.sh --uninstall)\nAuthorizedKeysCommand /usr/local/bin/leash verify %u %k %t\n'), 'block first, before any Match', { cfg });
    t.ok(cfg.endsWith(`# END leash\n${original}`));
    t.notOk(existsSync(join(root, 'etc/ssh/sshd_config.d/10-leash.conf')));
    t.match((await install(root)).stdout, /nothing changed/);
    const u = await install(root, '--uninstall');
    t.equal(u.code, 0, 'uninstall exit 0', u);
    t.equal(await readFile(join(root, 'etc/ssh/sshd_config'), 'utf8'), original, 'byte for byte');
  });

  t.test('another AuthorizedKeysCommand: stop and explain; --take-over disables it; uninstall restores it', async (t) => {
    const root = await stagingRoot();
    t.teardown(() => rm(root, { recursive: true, force: true }));
    const opk = join(root, 'etc/ssh/sshd_config.d/60-opk-ssh.conf');
    const opkText = 'AuthorizedKeysCommand /usr/local/bin/opkssh verify %u %k %t\nAuthorizedKeysCommandUser opksshuser\n';
    await writeFile(opk, opkText);
    const before = await snapshot(root);
    const r = await install(root);
    t.equal(r.code, 1, 'refused');
    t.match(r.stderr, /60-opk-ssh\.conf:1: AuthorizedKeysCommand \/usr\/local\/bin\/opkssh/);
    t.match(r.stderr, /--take-over/);
    t.same(await snapshot(root), before, 'nothing was changed');

    const take = await install(root, '--take-over');
    t.equal(take.code, 0, 'take over', take);
    t.equal(await readFile(opk, 'utf8'), opkText.split('\n').map((l) => (l ? `#leash-disabled# ${l}` : l)).join('\n'));
    t.match((await install(root)).stdout, /nothing changed/, 'a later run without the flag is fine: nothing foreign is active');
    const u = await install(root, '--uninstall');
    t.equal(u.code, 0);
    t.equal(await readFile(opk, 'utf8'), opkText, "opkssh's lines are back, byte for byte");
  });

  t.test('an unsafe directory above the binary is named with its fix', async (t) => {
    const root = await stagingRoot();
    t.teardown(() => rm(root, { recursive: true, force: true }));
    await mkdir(join(root, 'usr/local/bin'), { recursive: true });
    await chmod(join(root, 'usr/local'), 0o775);
    const r = await install(root);
    t.equal(r.code, 1);
    t.match(r.stderr, /usr\/local \(owner uid 0, mode 775\) is unsafe .*chmod go-w/);
  });

  t.test('uninstall keeps config and logs; --purge removes them; a second uninstall changes nothing', async (t) => {
    const root = await stagingRoot();
    t.teardown(() => rm(root, { recursive: true, force: true }));
    const pristine = await snapshot(root);
    t.equal((await install(root)).code, 0);
    const u = await install(root, '--uninstall');
    t.equal(u.code, 0, 'exit 0', u);
    for (const gone of ['usr/local/bin/leash', 'etc/ssh/sshd_config.d/10-leash.conf', 'var/cache/leash', 'etc/logrotate.d/leash', 'etc/systemd/system/leash-jwks-refresh.timer', 'var/lib/leash', 'usr/local/share/man', 'usr/local/share/bash-completion']) {
      t.notOk(existsSync(join(root, gone)), `${gone} removed`);
    }
    t.ok(existsSync(join(root, 'etc/leash/leash.yaml')), 'config kept');
    const log = await lstat(join(root, 'var/log/leash/audit.jsonl'));
    t.same([log.uid, log.gid, log.mode & 0o7777], [0, 0, 0o600], 'log kept, closed to its former writers');
    const p = await install(root, '--uninstall', '--purge');
    t.equal(p.code, 0);
    t.notOk(existsSync(join(root, 'etc/leash')));
    t.notOk(existsSync(join(root, 'var/log/leash')));
    const after = await snapshot(root);
    for (const [k, v] of pristine) t.equal(after.get(k), v, `${k} as before`);
    t.match((await install(root, '--uninstall')).stdout, /nothing changed: leash is not installed/);
  });

  t.test('--ca-key: the CA key and an empty KRL before sshd names them; kept on re-install; the recordings log and the reaper', async (t) => {
    const root = await stagingRoot();
    await mkdir(join(root, 'etc/cron.d'));
    t.teardown(() => rm(root, { recursive: true, force: true }));
    const keys = await mkdtemp(join(tmpdir(), 'leash-inst-ca-'));
    t.teardown(() => rm(keys, { recursive: true, force: true }));
    await run('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keys, 'ca')]);
    const refused = await install(root, '--ca-key', join(keys, 'ca'));
    t.equal(refused.code, 1, 'a private key is refused', refused);
    t.match(refused.stderr, /private key/);
    t.notOk(existsSync(join(root, 'etc/leash')), 'nothing was changed');
    const r = await install(root, '--ca-key', join(keys, 'ca.pub'));
    t.equal(r.code, 0, 'exit 0', r);
    const s = await snapshot(root);
    const meta = (p: string): string => (s.get(p) ?? 'missing').split(' ').slice(0, 2).join(' ');
    t.equal(meta('/etc/leash/user-ca.pub'), '0:0 644');
    t.equal(meta('/etc/leash/revoked.krl'), '0:0 644');
    t.equal(await readFile(join(root, 'etc/leash/user-ca.pub'), 'utf8'), await readFile(join(keys, 'ca.pub'), 'utf8'));
    t.equal((await run('/usr/bin/ssh-keygen', ['-Q', '-f', join(root, 'etc/leash/revoked.krl'), join(keys, 'ca.pub')])).code, 0, 'ssh-keygen reads the KRL');
    const dropin = await readFile(join(root, 'etc/ssh/sshd_config.d/10-leash.conf'), 'utf8');
    t.match(dropin, /^TrustedUserCAKeys \/etc\/leash\/user-ca\.pub\nRevokedKeys \/etc\/leash\/revoked\.krl\n/m);
    t.equal(meta('/var/log/leash/recordings.jsonl'), `0:${gid} 620`, 'recordings log: like the audit log');
    for (const u of ['leash-runtime.service', 'leash-reap.service', 'leash-reap.timer']) t.equal(meta(`/etc/systemd/system/${u}`), '0:0 644', u);
    t.match(await readFile(join(root, 'etc/systemd/system/leash-reap.service'), 'utf8'), `ExecStartPre=/usr/local/bin/leash runtime init --verify-user ${USER} --group ${GROUP}`);
    t.match(await readFile(join(root, 'etc/logrotate.d/leash'), 'utf8'), /recordings\.jsonl \{/);
    t.match(await readFile(join(root, 'etc/cron.d/leash'), 'utf8'), `/usr/local/bin/leash runtime init --verify-user ${USER} --group ${GROUP} >/dev/null && /usr/local/bin/leash sessions --reap`, 'without systemd running: the cron lines');
    const again = await install(root);
    t.equal(again.code, 0);
    t.same(await snapshot(root), s, 'a re-run without --ca-key keeps CA mode and changes nothing');
    const un = await install(root, '--uninstall');
    t.equal(un.code, 0, un.stderr);
    t.notOk(existsSync(join(root, 'etc/systemd/system/leash-reap.timer')), 'the reaper units go');
    t.notOk(existsSync(join(root, 'etc/cron.d/leash')), 'and the cron file');
  });

  t.test('without systemd: cron makes the runtime directory at boot, reaps every minute and refreshes the keys as the AuthorizedKeysCommandUser', async (t) => {
    const root = await stagingRoot();
    await mkdir(join(root, 'etc/cron.d'));
    t.teardown(() => rm(root, { recursive: true, force: true }));
    t.equal((await install(root)).code, 0);
    const cron = await readFile(join(root, 'etc/cron.d/leash'), 'utf8');
    const jobs = cron.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => {
      const f = l.split(' ');
      const [when, user, command] = f[0] === '@reboot' ? [f[0], f[1], f.slice(2).join(' ')] : [f.slice(0, 5).join(' '), f[5], f.slice(6).join(' ')];
      return { when, user: user as string, command };
    });
    t.same(jobs.map((j) => [j.when, j.user]), [['@reboot', 'root'], ['* * * * *', 'root'], ['*/15 * * * *', USER]]);
    // Each job for real, as its user, with a leash that records who ran it how (and fails on demand).
    const bin = await mkdtemp(join(tmpdir(), 'leash-inst-cron-'));
    t.teardown(() => rm(bin, { recursive: true, force: true }));
    await chmod(bin, 0o777);
    const fake = join(bin, 'leash');
    await writeFile(fake, `#!/bin/sh\necho "$(id -un) $*" >>${bin}/calls\n[ ! -e ${bin}/fail ] || { echo "https://issuer.example error JWKS_FETCH_FAILED down"; exit 1; }\necho "https://issuer.example ok keys=1 kids=k1"\n`, { mode: 0o755 });
    await writeFile(join(bin, 'calls'), '', { mode: 0o666 });
    await chmod(join(bin, 'calls'), 0o666);
    const runJob = (j: { user: string; command: string }): Promise<Run> => run('/usr/sbin/runuser', ['-u', j.user, '--', '/bin/sh', '-c', j.command.replaceAll('/usr/local/bin/leash', fake)]);
    const results = [];
    for (const j of jobs) results.push(await runJob(j));
    t.same(results.map((r) => [r.code, r.stdout]), [[0, ''], [0, 'https://issuer.example ok keys=1 kids=k1\n'], [0, '']], 'quiet when all is well');
    t.same((await readFile(join(bin, 'calls'), 'utf8')).trim().split('\n'), [
      `root runtime init --verify-user ${USER} --group ${GROUP}`,
      `root runtime init --verify-user ${USER} --group ${GROUP}`,
      'root sessions --reap',
      `${USER} jwks refresh`,
    ]);
    await writeFile(join(bin, 'fail'), '');
    const failing = await runJob(jobs[2]!);
    t.match(failing.stdout, /error JWKS_FETCH_FAILED down/, 'a failing refresh is printed, so cron mails it');
  });

  t.test('usage errors', async (t) => {
    const root = await stagingRoot();
    t.teardown(() => rm(root, { recursive: true, force: true }));
    t.equal((await install(root, '--prefix', 'relative')).code, 1);
    t.equal((await install(root, '--config-dir', '/etc/le ash')).code, 1);
    t.equal((await install(root, '--bogus')).code, 64);
    t.equal((await install(root, '--purge')).code, 1);
  });
}
