/**
 * install.sh stopped at its critical point — sshd's configuration edited,
 * `sshd -t` not yet answered — by SIGINT, SIGTERM or SIGHUP: every sshd file
 * is put back byte for byte, whatever the layout (drop-in directory, marked
 * block at the top of sshd_config, --take-over of another
 * AuthorizedKeysCommand).
 *
 * To reach that point deterministically, install.sh runs for real, without
 * --root (which skips sshd -t), in a private mount namespace (`unshare
 * --mount`) where /etc/ssh, /usr/local, /var/cache, /var/log, /var/lib and
 * /etc/logrotate.d are empty tmpfs mounts, visible to nothing else on the
 * host; `--sshd` is a stand-in that, asked `-t` once leash's lines are in
 * place, sends the signal to install.sh and only then answers. Needs root.
 */
import t from 'tap';
import { execFile, spawn } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureUser } from '../helpers/sshd.js';
import { isRoot } from '../helpers/tmp.js';
import { installSourceTree } from '../helpers/install-source.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const USER = 'leash-inst-int';
const GROUP = 'leash-inst-int-audit';

const DEBIAN = 'Include /etc/ssh/sshd_config.d/*.conf\n\nKbdInteractiveAuthentication no\nUsePAM yes\nSubsystem\tsftp\t/usr/lib/openssh/sftp-server\n';
const NO_DROPIN = '# no Include line here\nPasswordAuthentication no\nSubsystem sftp /usr/lib/openssh/sftp-server';
const OPK = 'AuthorizedKeysCommand /usr/local/bin/opkssh verify %u %k %t\nAuthorizedKeysCommandUser opksshuser\n';

const run = (file: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
  new Promise((res) => execFile(file, args, { encoding: 'utf8' }, (err, stdout, stderr) => res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr })));

const skip = !isRoot() ? 'needs root (mount namespace, file owners)' : !existsSync('/usr/bin/unshare') ? 'needs util-linux unshare' : '';
if (skip) t.plan(0, skip);
else {
  await ensureUser(USER, { system: true });
  if ((await run('/usr/bin/getent', ['group', GROUP])).code !== 0) await run('/usr/sbin/groupadd', ['--system', GROUP]);

  const work = await mkdtemp(join(tmpdir(), 'leash-inst-int-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  // The pieces install.sh installs from; the binary is a stand-in.
  const src = join(work, 'src');
  await mkdir(src);
  await installSourceTree(src);

  /**
   * One install into the namespace. `files`: what /etc/ssh holds before.
   * Resolves with install.sh's exit and what /etc/ssh holds after (read
   * inside the namespace, before it goes away).
   */
  async function interrupted(signal: NodeJS.Signals, files: Record<string, string>, extra: string[] = []) {
    const case_ = await mkdtemp(join(work, 'case-'));
    const before = join(case_, 'before');
    const after = join(case_, 'after');
    for (const [rel, text] of Object.entries(files)) {
      await mkdir(dirname(join(before, rel)), { recursive: true });
      await writeFile(join(before, rel), text);
    }
    await mkdir(after);
    const fakeSshd = join(case_, 'sshd');
    // sshd -t after the edit: signal install.sh (which runs `$(sshd -t)`, so it is
    // this program's parent), then answer "valid" — too late.
    await writeFile(
      fakeSshd,
      `#!/bin/sh
if [ "$1" = -t ] && grep -rqs 'leash verify' /etc/ssh; then kill -${signal.slice(3)} "$PPID"; sleep 0.3; fi
exit 0
`,
      { mode: 0o755 },
    );
    const inside = [
      'set -e',
      'for d in /etc/ssh /usr/local /var/cache /var/log /var/lib /etc/logrotate.d; do mount -t tmpfs -o mode=0755 leash-test "$d"; done',
      `cp -a ${before}/. /etc/ssh/`,
      `sh ${join(src, 'install.sh')} --sshd ${fakeSshd} --user ${USER} --audit-group ${GROUP} --config-dir /usr/local/etc/leash --no-reload ${extra.join(' ')} && status=0 || status=$?`,
      `cp -a /etc/ssh/. ${after}/`,
      'exit $status',
    ].join('\n');
    const child = spawn('/usr/bin/unshare', ['--mount', '--propagation', 'private', '/bin/sh', '-c', inside], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const code = await new Promise<number | null>((done) => child.on('close', (c) => done(c)));
    const read = async (root: string): Promise<Record<string, string>> => {
      const out: Record<string, string> = {};
      const walk = async (d: string): Promise<void> => {
        for (const e of await readdir(d, { withFileTypes: true })) {
          if (e.isDirectory()) await walk(join(d, e.name));
          else out[join(d, e.name).slice(root.length + 1)] = await readFile(join(d, e.name), 'utf8');
        }
      };
      await walk(root);
      return out;
    };
    return { code, stdout, stderr, files: await read(after) };
  }

  const EXIT: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    t.test(`${signal} while sshd -t checks the new drop-in: the drop-in is removed again`, async (t) => {
      const files = { sshd_config: DEBIAN, 'sshd_config.d/.keep': '' };
      const r = await interrupted(signal, files);
      t.equal(r.code, EXIT[signal], `exit ${EXIT[signal]}`, r);
      t.match(r.stdout, /write +\/etc\/ssh\/sshd_config\.d\/10-leash\.conf/, 'it had written the drop-in');
      t.match(r.stderr, /stopped before sshd accepted its new configuration/);
      t.same(r.files, files, '/etc/ssh is exactly as before');
    });
  }

  t.test('SIGINT with the marked block at the top of sshd_config: sshd_config byte for byte as before', async (t) => {
    const files = { sshd_config: NO_DROPIN };
    const r = await interrupted('SIGINT', files);
    t.equal(r.code, 130, 'exit 130', r);
    t.match(r.stdout, /edit +\/etc\/ssh\/sshd_config \(leash block at the top\)/);
    t.same(r.files, files);
  });

  t.test('SIGTERM during --take-over: the other AuthorizedKeysCommand lines are enabled again', async (t) => {
    const files = { sshd_config: DEBIAN, 'sshd_config.d/60-opk-ssh.conf': OPK };
    const r = await interrupted('SIGTERM', files, ['--take-over']);
    t.equal(r.code, 143, 'exit 143', r);
    t.match(r.stdout, /disable +AuthorizedKeysCommand lines in \/etc\/ssh\/sshd_config\.d\/60-opk-ssh\.conf/);
    t.same(r.files, files);
  });
}
