/**
 * install.sh --dry-run on a host (not --root) where leash's accounts do not
 * exist yet: it shows the owners the real run gives (the service user for the
 * cache, the audit group for the logs), not the root:root of accounts that
 * are not there yet. A dry run only reads, but it reads /etc/ssh and runs
 * `sshd -t`: it runs in a mount namespace of its own where /etc/ssh is a
 * tmpfs holding a Debian sshd_config and a fresh host key, so the host's
 * sshd configuration is never what it sees. Needs root (unshare).
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRoot } from '../helpers/tmp.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const USER = 'leash-dry-nouser';
const GROUP = 'leash-dry-nogroup';

interface Run { code: number | null; stdout: string; stderr: string }
function run(file: string, args: string[]): Promise<Run> {
  return new Promise((res) => execFile(file, args, { encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr })));
}

/** `script` in a private mount and pid namespace, with /etc/ssh replaced by a throwaway tmpfs. */
function inPrivateSsh(script: string): Promise<Run> {
  const setup = [
    'set -e',
    'mount -t tmpfs -o mode=0755 leash-test /etc/ssh',
    "printf 'Include /etc/ssh/sshd_config.d/*.conf\\nKbdInteractiveAuthentication no\\nUsePAM yes\\n' >/etc/ssh/sshd_config",
    'mkdir /etc/ssh/sshd_config.d',
    "ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key",
  ].join('\n');
  return run('/usr/bin/unshare', ['--mount', '--propagation', 'private', '--pid', '--fork', '--mount-proc', '/bin/sh', '-c', `${setup}\n${script}`]);
}

const skip = !isRoot() ? 'needs root (unshare, sshd -t)' : !existsSync('/usr/sbin/sshd') ? 'needs openssh-server' : '';
if (skip) t.plan(0, skip);
else {
  t.test('a dry run names the owners the real run gives, for accounts it would create', async (t) => {
    for (const [db, name] of [['passwd', USER], ['group', GROUP]] as const) t.not((await run('/usr/bin/getent', [db, name])).code, 0, `${name} does not exist`);
    const r = await inPrivateSsh(`sh ${join(REPO, 'install.sh')} --dry-run --binary /usr/bin/true --user ${USER} --audit-group ${GROUP} --no-reload`);
    t.equal(r.code, 0, 'exit 0', r);
    t.match(r.stdout, new RegExp(`useradd +${USER} `), 'it would create the user');
    t.match(r.stdout, new RegExp(`groupadd +${GROUP} `), 'and the group');
    t.match(r.stdout, new RegExp(`/var/cache/leash/ \\((-> )?${USER}:${USER} 0?755\\)`), 'the cache: the service user');
    t.match(r.stdout, new RegExp(`\\+ install -d -o ${USER} -g ${USER} -m 0755 /var/cache/leash`));
    for (const log of ['audit', 'recordings']) {
      t.match(r.stdout, new RegExp(`/var/log/leash/${log}\\.jsonl \\((-> )?root:${GROUP} 0620`), `the ${log} log: the audit group`);
    }
    t.notMatch(r.stdout, /leash\/(audit|recordings)\.jsonl \(root:root|cache\/leash\/ \(root:root/, 'never root:root for them');
    t.match(r.stdout, /dry run: \d+ change\(s\) would be made; nothing was changed/);
  });
}
