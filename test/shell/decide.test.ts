import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decide } from '../../src/shell/decide.js';
import { parseProfile } from '../../src/policy/parse.js';
import { fsWithBinaries, shippedProfile } from '../helpers/profiles.js';

const diagnostic = shippedProfile('diagnostic');
const fs = fsWithBinaries([...diagnostic.commands.values()].map((c) => c.binary));
const run = (cmd: string) => decide(diagnostic, cmd, fs);

t.test('the documented diagnostics are allowed with the exact argv that runs', async (t) => {
  const cases: Array<[string, string[]]> = [
    ['df -h', ['df', '-h']],
    ['df -h /', ['df', '-h', '/']],
    ['findmnt /', ['findmnt', '/']],
    ['id root', ['id', 'root']],
    ['top -bn1', ['top', '-b', '-n', '1', '-bn1']],
    ['free -m', ['free', '-m']],
    ['ps aux', ['ps', 'aux']],
    ['ss -tlnp', ['ss', '-tlnp']],
    ['uptime', ['uptime']],
    ['uname -a', ['uname', '-a']],
    ['hostname', ['hostname']],
    ['id', ['id']],
    ['date', ['date']],
    ['date +%s', ['date', '+%s']],
    ['top -b -n 1', ['top', '-b', '-n', '1', '-b', '-n', '1']],
    ['ip addr show', ['ip', 'addr', 'show']],
    ['ip link show dev lo', ['ip', 'link', 'show', 'dev', 'lo']],
    ['lsblk', ['lsblk']],
    ['findmnt', ['findmnt']],
    ['cat /proc/loadavg', ['cat', '/proc/loadavg']],
    // journalctl names what it reads, and never sshd (see 'the sshd log' below): these were
    // `-u ssh …`, `-n50 -p err -b`, `--boot=-1 --since today` and `--since … --until now` unfiltered.
    ['journalctl -u cron -n 50 --no-pager', ['journalctl', '--no-pager', '-u', 'cron', '-n', '50', '--no-pager']],
    ['journalctl -n50 -p err -b -u cron', ['journalctl', '--no-pager', '-n50', '-p', 'err', '-b', '-u', 'cron']],
    ['journalctl --boot=-1 --since today -k', ['journalctl', '--no-pager', '--boot=-1', '--since', 'today', '-k']],
    ["journalctl -t cron --since '2024-01-01 10:00' --until now", ['journalctl', '--no-pager', '-t', 'cron', '--since', '2024-01-01 10:00', '--until', 'now']],
    // was `systemctl status ssh`: status prints the unit's last log lines, and sshd's are left out.
    ['systemctl status cron', ['systemctl', 'status', '--no-pager', 'cron']],
    ['systemctl is-active ssh cron', ['systemctl', 'is-active', '--no-pager', 'ssh', 'cron']],
    ['systemctl list-units --failed', ['systemctl', 'list-units', '--no-pager', '--failed']],
    ['systemctl list-timers', ['systemctl', 'list-timers', '--no-pager']],
    ['tail -n 100 /var/log/dpkg.log', ['tail', '-n', '100', '/var/log/dpkg.log']],
    ['grep -i error /var/log/dpkg.log', ['grep', '-i', 'error', '/var/log/dpkg.log']],
    ["grep -c 'status installed' /var/log/dpkg.log", ['grep', '-c', 'status installed', '/var/log/dpkg.log']],
    ['ls -la /var/log', ['ls', '-la', '/var/log']],
    ['ls  -la   /var/log', ['ls', '-la', '/var/log']],
    ['head -n5 /var/log/dpkg.log', ['head', '-n5', '/var/log/dpkg.log']],
    ['stat /proc/uptime', ['stat', '/proc/uptime']],
    ['wc -l /var/log/dpkg.log', ['wc', '-l', '/var/log/dpkg.log']],
    // The child gets the resolved path, not the client's spelling.
    ['cat /etc/os-release', ['cat', '/usr/lib/os-release']],
    ['cat /var/log/../log/dpkg.log', ['cat', '/var/log/dpkg.log']],
    ['cat -- /proc/loadavg', ['cat', '--', '/proc/loadavg']],
    // Quotes only group words: no shell runs, so what is checked is what runs.
    ["c'a't /proc/loadavg", ['cat', '/proc/loadavg']],
  ];
  for (const [cmd, argv] of cases) {
    const d = run(cmd);
    t.match(d, { allow: true, code: 'ALLOWED' }, cmd);
    t.same(d.allow ? d.stages[0]!.argv : d, argv, `${cmd}: argv`);
  }
});

/** Every input-level bypass class of restricted-shell-attacks.md §4. */
t.test('input-level bypasses are refused before parsing', async (t) => {
  const cases: Array<[string, string]> = [
    ['ls\nid', 'BYTE_FORBIDDEN'],
    ['uptime\rid', 'BYTE_FORBIDDEN'],
    ['uptime\tid', 'BYTE_FORBIDDEN'],
    ['echo\x0btest', 'BYTE_FORBIDDEN'],
    ['cat /var/log/\x00crash', 'BYTE_FORBIDDEN'],
    ['uptime\x7f', 'BYTE_FORBIDDEN'],
    ['uptime\x1b[2J', 'BYTE_FORBIDDEN'],
    ['c\u0430t /proc/loadavg', 'BYTE_FORBIDDEN'],
    ['uptime\uff1b id', 'BYTE_FORBIDDEN'],
    ['cat \u2024\u2024/etc/shadow', 'BYTE_FORBIDDEN'],
    ['uptime \u202eid', 'BYTE_FORBIDDEN'],
    ['ca\\\nt /proc/loadavg', 'METACHAR_FORBIDDEN'],
    ['cat /proc/loadavg\n', 'BYTE_FORBIDDEN'],
    ['ca\\t /proc/loadavg', 'METACHAR_FORBIDDEN'],
    ['uptime; id', 'METACHAR_FORBIDDEN'],
    ['uptime && id', 'METACHAR_FORBIDDEN'],
    ['uptime || id', 'METACHAR_FORBIDDEN'],
    ['echo ok ||| echo pwn', 'METACHAR_FORBIDDEN'],
    ['& echo ok', 'METACHAR_FORBIDDEN'],
    ['| echo ok', 'PIPELINE_STAGE_EMPTY'],
    ['uptime &', 'METACHAR_FORBIDDEN'],
    ['uptime | id', 'PIPELINE_NOT_FILTER'],
    ['uptime > /tmp/x', 'METACHAR_FORBIDDEN'],
    ['cat < /etc/shadow', 'METACHAR_FORBIDDEN'],
    ['echo "$(bash 1>&2)"', 'METACHAR_FORBIDDEN'],
    ['echo `id`', 'METACHAR_FORBIDDEN'],
    ['echo $(echo $(echo ok))', 'METACHAR_FORBIDDEN'],
    ['echo ${LSHELL_WORD:-a||b&&c}', 'METACHAR_FORBIDDEN'],
    ['cat${IFS}/etc/passwd', 'METACHAR_FORBIDDEN'],
    ['cat $HOME/x', 'METACHAR_FORBIDDEN'],
    ['echo () bash && echo', 'METACHAR_FORBIDDEN'],
    ['{cat,/etc/passwd}', 'METACHAR_FORBIDDEN'],
    ['cat /etc/{passwd,shadow}', 'METACHAR_FORBIDDEN'],
    ['cat /var/log/../../etc/*', 'METACHAR_FORBIDDEN'],
    ['cat /e??/shad*', 'METACHAR_FORBIDDEN'],
    ['cat /var/log/[a-z]pkg.log', 'METACHAR_FORBIDDEN'],
    ['cat ~root/.ssh/id_rsa', 'METACHAR_FORBIDDEN'],
    ['cat ~/x', 'METACHAR_FORBIDDEN'],
    ['ls #/etc', 'METACHAR_FORBIDDEN'],
    ['uptime !', 'METACHAR_FORBIDDEN'],
    ["echo 'unterminated", 'QUOTE_UNBALANCED'],
    ['cat "/proc/loadavg', 'QUOTE_UNBALANCED'],
    [`cat ${'/proc/loadavg '.repeat(300)}`, 'COMMAND_TOO_LONG'],
    [`cat ${'a '.repeat(300)}`, 'TOO_MANY_ARGUMENTS'],
    ['', 'COMMAND_EMPTY'],
    ['   ', 'COMMAND_EMPTY'],
    // Command words: exact names only, never a path or an assignment.
    ["echo'/1.sh'", 'COMMAND_NOT_ALLOWED'],
    ['./ls /var/log', 'COMMAND_NOT_ALLOWED'],
    ['bin/ls /var/log', 'COMMAND_NOT_ALLOWED'],
    ['/bin/ls /var/log', 'COMMAND_NOT_ALLOWED'],
    ['/usr/bin/cat /proc/loadavg', 'COMMAND_NOT_ALLOWED'],
    ['PATH=/tmp id', 'COMMAND_NOT_ALLOWED'],
    ['A=1 sudo cat /etc/passwd', 'COMMAND_NOT_ALLOWED'],
    ['BASH_ENV=/tmp/x uptime', 'COMMAND_NOT_ALLOWED'],
    ['UPTIME', 'COMMAND_NOT_ALLOWED'],
    // Subsystem requests arrive as the Subsystem command line.
    ['/usr/lib/openssh/sftp-server', 'SUBSYSTEM_DENIED'],
    ['internal-sftp', 'SUBSYSTEM_DENIED'],
  ];
  for (const [cmd, code] of cases) t.match(run(cmd), { allow: false, code }, JSON.stringify(cmd).slice(0, 80));
});

/** restricted-shell-attacks.md §3a: per-command escapes against the read-only profile. */
t.test('per-command escapes are refused', async (t) => {
  const notInProfile = [
    'less /var/log/dpkg.log', 'more /var/log/dpkg.log', 'vi /var/log/dpkg.log', 'vim -c :shell', 'man man', 'tee /tmp/x',
    'xargs -a /dev/null sh', 'env sh', 'timeout 0 sh', 'nice sh', 'ionice sh', 'nohup sh', 'stdbuf -o0 sh', 'setsid sh',
    'watch -x sh', 'awk BEGIN', 'sed -n 1e /var/log/dpkg.log', 'tar cf /dev/null /dev/null --checkpoint=1',
    'find / -name x', 'curl file:///etc/shadow', 'wget -i /etc/shadow', 'docker ps', 'git help config', 'ssh -o ProxyCommand=x h',
    'scp -S x a b', 'rsync -e sh a b', 'sh', 'bash -i', 'python3', 'perl -e 1', 'busybox sh', 'sudo id', 'su', 'strace id',
    'script /dev/null', 'zip x /etc/hosts', 'dig -f /etc/shadow', 'ping 127.0.0.1', 'netstat -c',
    'systemd-run id', 'chroot / sh', 'nsenter -t 1', 'unshare sh', 'flock /tmp sh', 'taskset 1 sh', 'kill 1',
  ];
  for (const cmd of notInProfile) t.match(run(cmd), { allow: false, code: 'COMMAND_NOT_ALLOWED' }, cmd);

  const cases: Array<[string, string]> = [
    // cat / head / tail / paths
    ['cat /etc/shadow', 'PATH_NOT_ALLOWED'],
    ['cat /var/log/../../etc/shadow', 'PATH_NOT_ALLOWED'],
    ['cat /dev/zero', 'PATH_NOT_ALLOWED'],
    ['cat /dev/stdin', 'PATH_SENSITIVE'],
    ['cat -', 'OPERAND_DASH'],
    ['cat -- -n', 'OPERAND_DASH'],
    ['cat /proc/self/environ', 'PATH_SENSITIVE'],
    ['cat /proc/1/environ', 'PATH_SENSITIVE'],
    ['cat /proc/1/task/1/environ', 'PATH_SENSITIVE'],
    ['cat /proc/1/mem', 'PATH_SENSITIVE'],
    ['cat /proc/kcore', 'PATH_SENSITIVE'],
    ['cat /proc/kmsg', 'PATH_SENSITIVE'],
    ['cat /proc/self/root/etc/shadow', 'PATH_SENSITIVE'],
    ['cat /proc/self/root/etc/os-release', 'PATH_SENSITIVE'],
    ['cat /proc/1/root/etc/os-release', 'PATH_SENSITIVE'],
    ['cat /proc/1/cwd/etc/os-release', 'PATH_SENSITIVE'],
    ['cat /proc/self/fd/0', 'PATH_SENSITIVE'],
    ['cat /proc/thread-self/environ', 'PATH_SENSITIVE'],
    ['cat /dev/fd/0', 'PATH_SENSITIVE'],
    ['ls /proc/1/map_files', 'PATH_SENSITIVE'],
    // A missing path answers as an existing one would: denied, or outside (no oracle).
    ['cat /run/secrets/x', 'PATH_DENIED'],
    ['cat /nonexistent-leash-test', 'PATH_NOT_ALLOWED'],
    ['cat /var/log/nonexistent-leash-test', 'PATH_NOT_FOUND'],
    ['cat', 'OPERAND_COUNT'],
    ['ls', 'OPERAND_COUNT'],
    ['cat --help', 'OPTION_NOT_ALLOWED'],
    ['head -c-0 /etc/shadow', 'PATH_NOT_ALLOWED'],
    ['tail -f /var/log/dpkg.log', 'OPTION_NOT_ALLOWED'],
    ['tail --follow=name /var/log/dpkg.log', 'OPTION_NOT_ALLOWED'],
    ['tail -F /var/log/dpkg.log', 'OPTION_NOT_ALLOWED'],
    ['tail --pid=1 /var/log/dpkg.log', 'OPTION_NOT_ALLOWED'],
    ['tail -n -5 /var/log/dpkg.log', 'OPTION_VALUE_INVALID'],
    // grep: option-embedded paths, recursion, permuted options
    ['grep -f /etc/shadow /var/log/dpkg.log', 'OPTION_NOT_ALLOWED'],
    ['grep --file=/etc/shadow x /var/log/dpkg.log', 'OPTION_NOT_ALLOWED'],
    ['grep -r x /var/log', 'OPTION_NOT_ALLOWED'],
    ['grep -R x /var/log', 'OPTION_NOT_ALLOWED'],
    ['grep -irf /etc/shadow /var/log', 'OPTION_NOT_ALLOWED'],
    ['grep --include=x x /var/log/dpkg.log', 'OPTION_NOT_ALLOWED'],
    ['grep --exclude-from=/etc/shadow x /var/log/dpkg.log', 'OPTION_NOT_ALLOWED'],
    ['grep -P x /var/log/dpkg.log', 'OPTION_NOT_ALLOWED'],
    ['grep error /var/log/dpkg.log -f /etc/shadow', 'OPTION_NOT_ALLOWED'],
    ['grep x /etc/shadow', 'PATH_NOT_ALLOWED'],
    ['grep -e x /var/log/dpkg.log', 'OPTION_NOT_ALLOWED'],
    ['grep -m x error /var/log/dpkg.log', 'OPTION_VALUE_INVALID'],
    // ls
    ['ls -R /var/log', 'OPTION_NOT_ALLOWED'],
    ['ls -laR /var/log', 'OPTION_NOT_ALLOWED'],
    ['ls --hide=x /var/log', 'OPTION_NOT_ALLOWED'],
    ['ls /', 'PATH_NOT_ALLOWED'],
    ['df relative', 'OPERAND_INVALID'],
    ['ls /root', 'PATH_NOT_ALLOWED'],
    ['ls --color=always /var/log', 'OPTION_VALUE_INVALID'],
    // ps shows environments with `e`
    ['ps auxe', 'OPERAND_INVALID'],
    ['ps e', 'OPERAND_INVALID'],
    ['ps aux ax', 'OPERAND_COUNT'],
    // top: interactive commands need a terminal; only batch mode runs
    ['top -s', 'OPTION_NOT_ALLOWED'],
    ['top -n 1000', 'OPTION_VALUE_INVALID'],
    // journalctl: other journals, follow, pager, vacuum, machines, abbreviations
    ['journalctl --file=/etc/shadow', 'OPTION_NOT_ALLOWED'],
    ['journalctl -D /', 'OPTION_NOT_ALLOWED'],
    ['journalctl --directory=/', 'OPTION_NOT_ALLOWED'],
    ['journalctl --root=/', 'OPTION_NOT_ALLOWED'],
    ['journalctl -f', 'OPTION_NOT_ALLOWED'],
    ['journalctl --follow', 'OPTION_NOT_ALLOWED'],
    ['journalctl -ef', 'OPTION_NOT_ALLOWED'],
    ['journalctl --vacuum-size=1', 'OPTION_NOT_ALLOWED'],
    ['journalctl -M foo', 'OPTION_NOT_ALLOWED'],
    ['journalctl --no-pag', 'OPTION_NOT_ALLOWED'],
    ['journalctl --no-pager=no', 'OPTION_VALUE_UNEXPECTED'],
    ['journalctl -u -f', 'OPTION_VALUE_INVALID'],
    ['journalctl -u', 'OPTION_VALUE_MISSING'],
    ['journalctl -u cron -n 0x10', 'OPTION_VALUE_INVALID'],
    ['journalctl -u cron -n 100001', 'OPTION_VALUE_INVALID'],
    ['journalctl -u cron -p x', 'OPTION_VALUE_INVALID'],
    ['journalctl -u cron --output=export', 'OPTION_VALUE_INVALID'],
    ['journalctl --output-fields=x', 'OPTION_NOT_ALLOWED'],
    ['journalctl -u cron _PID=1', 'OPERAND_COUNT'],
    // systemctl: state changes, other hosts, user managers, environments
    ['ip', 'SUBCOMMAND_MISSING'],
    ['systemctl enable ssh', 'SUBCOMMAND_NOT_ALLOWED'],
    ['systemctl restart ssh', 'SUBCOMMAND_NOT_ALLOWED'],
    ['systemctl edit ssh', 'SUBCOMMAND_NOT_ALLOWED'],
    ['systemctl link /tmp/x.service', 'SUBCOMMAND_NOT_ALLOWED'],
    ['systemctl cat ssh', 'SUBCOMMAND_NOT_ALLOWED'],
    ['systemctl show-environment', 'SUBCOMMAND_NOT_ALLOWED'],
    ['systemctl --user status', 'OPTION_NOT_ALLOWED'],
    ['systemctl status --user', 'OPTION_NOT_ALLOWED'],
    ['systemctl status -H user@host', 'OPTION_NOT_ALLOWED'],
    ['systemctl status --host=x', 'OPTION_NOT_ALLOWED'],
    ['systemctl status -M x', 'OPTION_NOT_ALLOWED'],
    ['systemctl status -- -H', 'OPERAND_DASH'],
    ['systemctl is-active', 'OPERAND_COUNT'],
    // ss: file read/write, socket kill, namespaces, grouped smuggling
    ['ss -F /etc/shadow', 'OPTION_NOT_ALLOWED'],
    ['ss -D /tmp/x', 'OPTION_NOT_ALLOWED'],
    ['ss --diag=/tmp/x', 'OPTION_NOT_ALLOWED'],
    ['ss -K', 'OPTION_NOT_ALLOWED'],
    ['ss -tlnpK', 'OPTION_NOT_ALLOWED'],
    ['ss -N foo', 'OPTION_NOT_ALLOWED'],
    ['ss -tlnpD/tmp/x', 'OPTION_NOT_ALLOWED'],
    // ip: batch files, namespaces, state changes, abbreviations
    ['ip -batch /etc/shadow', 'OPTION_NOT_ALLOWED'],
    ['ip -force -batch x', 'OPTION_NOT_ALLOWED'],
    ['ip -b /etc/shadow', 'OPTION_NOT_ALLOWED'],
    ['ip -n foo addr', 'OPTION_NOT_ALLOWED'],
    ['ip -netns foo addr', 'OPTION_NOT_ALLOWED'],
    ['ip --brief addr', 'OPTION_NOT_ALLOWED'],
    ['ip netns exec foo sh', 'SUBCOMMAND_NOT_ALLOWED'],
    ['ip link set lo down', 'SUBCOMMAND_NOT_ALLOWED'],
    ['ip addr add 10.0.0.1 dev lo', 'SUBCOMMAND_NOT_ALLOWED'],
    ['ip monitor', 'SUBCOMMAND_NOT_ALLOWED'],
    ['ip addr flush dev lo', 'SUBCOMMAND_NOT_ALLOWED'],
    ['ip route add default via 10.0.0.1', 'SUBCOMMAND_NOT_ALLOWED'],
    ['ip addr show -s', 'OPTION_NOT_ALLOWED'],
    ['ip addr -4', 'OPTION_NOT_ALLOWED'],
    // date would set the clock with a non-format operand
    ['date 010100002030', 'OPERAND_INVALID'],
    ['date -s 2030-01-01', 'OPTION_NOT_ALLOWED'],
    ['date --set=2030-01-01', 'OPTION_NOT_ALLOWED'],
    ['date -f /etc/shadow', 'OPTION_NOT_ALLOWED'],
    ['hostname newname', 'OPERAND_COUNT'],
    ['hostname -F /etc/shadow', 'OPTION_NOT_ALLOWED'],
    ['uptime --help', 'OPTION_NOT_ALLOWED'],
    ['uptime -V', 'OPTION_NOT_ALLOWED'],
    // dmesg: read-only options only; du: no -a (every file name below a tree)
    ['dmesg -H', 'OPTION_NOT_ALLOWED'],
    ['dmesg -C', 'OPTION_NOT_ALLOWED'],
    ['dmesg -c', 'OPTION_NOT_ALLOWED'],
    ['dmesg -w', 'OPTION_NOT_ALLOWED'],
    ['dmesg -W', 'OPTION_NOT_ALLOWED'],
    ['dmesg -F /var/log/dpkg.log', 'OPTION_NOT_ALLOWED'],
    ['dmesg -n 1', 'OPTION_NOT_ALLOWED'],
    ['du -a /var/log', 'OPTION_NOT_ALLOWED'],
    ['du -d 2 /var/log', 'OPTION_VALUE_INVALID'],
  ];
  for (const [cmd, code] of cases) t.match(run(cmd), { allow: false, code }, cmd);
});

t.test('binaries: missing denies only that command, unsafe denies loudly', async (t) => {
  const profile = parseProfile('b.yaml', `commands:\n  gone: {binary: /usr/bin/leash-test-not-installed}\n  uptime: {binary: /usr/bin/uptime}\n  tmpbin: {binary: /tmp}\n`, 'b');
  t.match(decide(profile, 'gone', fs), { allow: false, code: 'BINARY_MISSING' });
  t.match(decide(profile, 'uptime', fs), { allow: true });
  t.match(decide(profile, 'tmpbin', fs), { allow: false, code: 'BINARY_UNSAFE' });
  const dir = mkdtempSync(join(tmpdir(), 'leash-bin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'tool'), '#!/bin/sh\n', { mode: 0o755 });
  const inTmp = parseProfile('c.yaml', `commands:\n  tool: {binary: ${dir}/tool}\n`, 'c');
  t.match(decide(inTmp, 'tool', fs), { allow: false, code: 'BINARY_UNSAFE', detail: /writable/ }, 'a binary under world-writable /tmp is unsafe');
});

t.test('sftp is allowed only when the profile says so', async (t) => {
  const profile = parseProfile('f.yaml', `commands: {uptime: {binary: /usr/bin/uptime}}\nsftp: {binary: /usr/bin/true}\n`, 'f');
  t.match(decide(profile, '/usr/lib/openssh/sftp-server', fs), { allow: true, stages: [{ command: 'sftp', argv: ['sftp-server', '-R'] }] });
});
