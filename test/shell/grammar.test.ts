/**
 * The grammar: what programs accept, said exactly — options before a
 * subcommand, aliases and default verbs, optional values, signed offsets,
 * time specifications, units named -.mount, regular expressions in quotes —
 * and the shipped profiles covering what an on-call engineer types, on a
 * host with or without each program.
 */
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { decide } from '../../src/shell/decide.js';
import { parseProfile } from '../../src/policy/parse.js';
import { valueProblem } from '../../src/shell/values.js';
import { fsWithBinaries, shippedProfile } from '../helpers/profiles.js';

const diagnostic = shippedProfile('diagnostic');
const remediation = shippedProfile('remediation');
// Every binary present, installed here or not: iostat (sysstat) is missing on this host and is still decided.
const fs = fsWithBinaries([...remediation.commands.values()].map((c) => c.binary));
const argvOf = (profile: typeof diagnostic, cmd: string) => {
  const d = decide(profile, cmd, fs);
  return d.allow ? d.stages.map((s) => s.argv) : `${d.code}: ${d.detail}`;
};

t.test('the grammar says what the programs accept, with the exact argv that runs', async (t) => {
  const cases: Array<[string, string[]]> = [
    // options before the subcommand, where the program takes them there
    ['systemctl --failed', ['systemctl', '--no-pager', '--failed']],
    ['systemctl -l status nginx', ['systemctl', '-l', 'status', '--no-pager', 'nginx']],
    ['ip -br addr', ['ip', '-br', 'addr']],
    ['ip -4 addr show', ['ip', '-4', 'addr', 'show']],
    ['ip -s link', ['ip', '-s', 'link']],
    ['ip -j route', ['ip', '-j', 'route']],
    ['ip -br -4 a', ['ip', '-br', '-4', 'a']],
    // subcommand aliases and default verbs
    ['ip a', ['ip', 'a']],
    ['ip addr', ['ip', 'addr']],
    ['ip r', ['ip', 'r']],
    ['ip route get 10.0.0.1', ['ip', 'route', 'get', '10.0.0.1']],
    ['ip neigh show dev lo', ['ip', 'neigh', 'show', 'dev', 'lo']],
    ['systemctl', ['systemctl', '--no-pager']],
    ['timedatectl', ['timedatectl', '--no-pager']],
    ['timedatectl status', ['timedatectl', 'status', '--no-pager']],
    ['hostnamectl status', ['hostnamectl', 'status', '--no-pager']],
    // optional values exactly as the program reads them
    ['journalctl -b -1 -u nginx', ['journalctl', '--no-pager', '-b', '-1', '-u', 'nginx']],
    ['journalctl -b -u nginx', ['journalctl', '--no-pager', '-b', '-u', 'nginx']],
    ['journalctl -u nginx -n', ['journalctl', '--no-pager', '-u', 'nginx', '-n']],
    ['journalctl -u nginx -n 20', ['journalctl', '--no-pager', '-u', 'nginx', '-n', '20']],
    ['date -Iseconds', ['date', '-Iseconds']],
    ['date -I', ['date', '-I']],
    ['date --iso-8601=minutes', ['date', '--iso-8601=minutes']],
    ['ls --color=never /var/log', ['ls', '--color=never', '/var/log']],
    ['top -w', ['top', '-b', '-n', '1', '-w']],
    ['top -w 200', ['top', '-b', '-n', '1', '-w', '200']],
    // signed offsets and time specifications
    ['tail -n +2 /var/log/dpkg.log', ['tail', '-n', '+2', '/var/log/dpkg.log']],
    ['head -n -5 /var/log/dpkg.log', ['head', '-n', '-5', '/var/log/dpkg.log']],
    ['journalctl -u nginx --since "1 hour ago"', ['journalctl', '--no-pager', '-u', 'nginx', '--since', '1 hour ago']],
    ['journalctl -u nginx --since yesterday', ['journalctl', '--no-pager', '-u', 'nginx', '--since', 'yesterday']],
    ['journalctl -u nginx --since -1h', ['journalctl', '--no-pager', '-u', 'nginx', '--since', '-1h']],
    ['journalctl -u nginx --since=-1h', ['journalctl', '--no-pager', '-u', 'nginx', '--since=-1h']],
    ["journalctl -u nginx --since '2026-11-30 10:00:00' --until '2026-11-30 11:00'", ['journalctl', '--no-pager', '-u', 'nginx', '--since', '2026-11-30 10:00:00', '--until', '2026-11-30 11:00']],
    // units whose name begins with -
    ['systemctl status -- -.mount', ['systemctl', 'status', '--no-pager', '--', '-.mount']],
    ['journalctl -u -.mount', ['journalctl', '--no-pager', '-u', '-.mount']],
    ['systemctl is-active -- -.slice', ['systemctl', 'is-active', '--no-pager', '--', '-.slice']],
  ];
  for (const [cmd, argv] of cases) t.same(argvOf(diagnostic, cmd), [argv], cmd);
});

t.test('an optional value is never turned into an operand', async (t) => {
  const cases: Array<[string, string]> = [
    // date would read "seconds" as a date to set
    ['date --iso-8601 seconds', 'OPERAND_INVALID'],
    ['date -I seconds', 'OPERAND_INVALID'],
    // ls would list a file named "never"
    ['ls --color never /var/log', 'PATH_NOT_ALLOWED'],
    // journalctl takes the word after -b or -n only if it is a value: then it must be a valid one
    ['journalctl -u nginx -b 99999', 'OPTION_VALUE_INVALID'],
    ['journalctl -u nginx -n 100001', 'OPTION_VALUE_INVALID'],
    ['journalctl -u nginx -n x', 'OPTION_VALUE_INVALID'],
    ['top -w x', 'OPTION_VALUE_INVALID'],
    ['top -w 1000', 'OPTION_VALUE_INVALID'],
  ];
  for (const [cmd, code] of cases) t.match(decide(diagnostic, cmd, fs), { allow: false, code }, cmd);
});

t.test('quoted metacharacters only where the value is a regular expression', async (t) => {
  const allowed: Array<[string, string[]]> = [
    ["grep -E 'error|fail' /var/log/dpkg.log", ['grep', '-E', 'error|fail', '/var/log/dpkg.log']],
    ['grep -E "error|fail" /var/log/dpkg.log', ['grep', '-E', 'error|fail', '/var/log/dpkg.log']],
    ["grep '^Start.*(ok|done)$' /var/log/dpkg.log", ['grep', '^Start.*(ok|done)$', '/var/log/dpkg.log']],
    ["grep -c '[0-9]{3}' /var/log/dpkg.log", ['grep', '-c', '[0-9]{3}', '/var/log/dpkg.log']],
    ["journalctl -u nginx -g 'timeout|refused'", ['journalctl', '--no-pager', '-u', 'nginx', '-g', 'timeout|refused']],
    ["journalctl -u nginx --grep='a;b'", ['journalctl', '--no-pager', '-u', 'nginx', '--grep=a;b']],
    ["pgrep -f 'nginx: (master|worker)'", ['pgrep', '-f', 'nginx: (master|worker)']],
    ["grep -E 'a'\\''b'' /var/log/dpkg.log", ['grep', '-E', 'a', '/var/log/dpkg.log']],
  ];
  for (const [cmd, argv] of allowed) {
    const got = argvOf(diagnostic, cmd);
    if (cmd.includes("\\'")) t.notSame(got, [argv], `${cmd}: a backslash is never an escape`);
    else t.same(got, [argv], cmd);
  }
  const refused: Array<[string, string]> = [
    ['grep -E error|fail /var/log/dpkg.log', 'OPERAND_COUNT'], // unquoted: a pipe, and `grep -E error` alone has no file
    ["cat '/var/log/*.log'", 'METACHAR_FORBIDDEN'], // a path
    ["ls '/var/log/[a-z]*'", 'METACHAR_FORBIDDEN'],
    ["'c|at' /var/log/dpkg.log", 'COMMAND_NOT_ALLOWED'], // a command name
    ["systemctl status 'ngin*'", 'METACHAR_FORBIDDEN'], // a unit (systemctl would glob it)
    ["journalctl -u 'ssh*'", 'METACHAR_FORBIDDEN'],
    ["id 'root|x'", 'METACHAR_FORBIDDEN'], // a regex-checked value that is not a regular expression
    ["ps -o 'pid;x'", 'METACHAR_FORBIDDEN'],
    ["journalctl -u nginx -o 'json|x'", 'METACHAR_FORBIDDEN'], // an enum
    ["'-g|x' nginx", 'COMMAND_NOT_ALLOWED'],
    ["journalctl '-u|x'", 'METACHAR_FORBIDDEN'], // -u with "|x" attached: a unit
    ["grep -m '5;' x /var/log/dpkg.log", 'METACHAR_FORBIDDEN'], // an integer
    ["grep '$HOME' /var/log/dpkg.log", 'ALLOWED'], // single quotes: a literal $ in a pattern
    ['grep "$HOME" /var/log/dpkg.log', 'METACHAR_FORBIDDEN'], // double quotes: a shell would expand it
  ];
  for (const [cmd, code] of refused) t.match(decide(diagnostic, cmd, fs), { code }, cmd);
  t.match(decide(diagnostic, "cat '/var/log/*.log'", fs), { hint: /only in a regular-expression value/ });
});

t.test('value types: regexes are anchored whole, integers exact, no empty path', async (t) => {
  const p = parseProfile('v.yaml', `commands:
  id: {binary: /usr/bin/id, operands: {regex: '^root|nobody$', count: 0..1}}
  big: {binary: /usr/bin/true, operands: {int: [0, 9007199254740991]}}
  ls: {binary: /usr/bin/ls, operands: path 1..2}
paths: {allow: ['/var/log/**']}
`, 'v');
  const code = (cmd: string) => {
    const d = decide(p, cmd, fs);
    return d.allow ? 'ALLOWED' : d.code;
  };
  t.equal(code('id root'), 'ALLOWED');
  t.equal(code('id nobody'), 'ALLOWED');
  t.equal(code('id rootXX'), 'OPERAND_INVALID', '^root|nobody$ is compiled as ^(?:^root|nobody$)$: no prefix match');
  t.equal(code('id XXnobody'), 'OPERAND_INVALID', 'no suffix match');
  t.equal(code('big 9007199254740991'), 'ALLOWED', '2^53 - 1');
  t.equal(code('big 9007199254740993'), 'OPERAND_INVALID', '2^53 + 1 does not round down into range');
  t.equal(code('big 99999999999999999999'), 'OPERAND_INVALID', '20 digits');
  t.equal(code('big 0x10'), 'OPERAND_INVALID');
  t.equal(code('big 1e3'), 'OPERAND_INVALID');
  t.equal(code('big 010'), 'OPERAND_INVALID', 'no leading zeros (octal in some programs)');
  t.equal(code("ls ''"), 'PATH_NOT_FOUND', "ls '' is not ls /");
  t.equal(code("ls /var/log ''"), 'PATH_NOT_FOUND');
  t.match(decide(p, "ls ''", fs), { detail: /empty path/ });

  const unit = { kind: 'unit' as const, allow: null, except: ['ssh.service'] };
  t.equal(valueProblem('-.mount', unit), null);
  t.equal(valueProblem('-.slice', unit), null);
  t.match(valueProblem('-foo.mount', unit), /not a unit name/);
  t.match(valueProblem('1234', unit), /process ID/, 'systemctl reads a number as a PID');
  t.match(valueProblem('ssh', unit), /excluded/, 'a bare name is matched as NAME.service');
  const time = { kind: 'time' as const };
  for (const ok of ['today', 'yesterday', 'now', '-1h', '+30min', '-2d', '1 hour ago', '2h 30min ago', '2026-11-30', '2026-11-30 10:00', '2026-11-30 10:00:00', '2026-11-30T10:00:00', '10:00', '@1764500000']) t.equal(valueProblem(ok, time), null, ok);
  for (const bad of ['1 hour', 'soon', '-1', '2026-11-30 10', '$(date)', '-1h; id', '']) t.not(valueProblem(bad, time), null, JSON.stringify(bad));
  const list = { kind: 'enum' as const, values: ['A', 'B'], list: true };
  t.equal(valueProblem('A,B', list), null);
  t.not(valueProblem('A,C', list), null);
  t.not(valueProblem('A,', list), null);
});

/** Issue 12's list and the everyday commands of an on-call engineer, read-only. */
t.test('the diagnostic profile covers the job, read-only, and every command ends by itself', async (t) => {
  const cases: Array<[string, string[]]> = [
    ['systemctl is-enabled nginx', ['systemctl', 'is-enabled', '--no-pager', 'nginx']],
    ['systemctl is-system-running', ['systemctl', 'is-system-running', '--no-pager']],
    ['systemctl list-unit-files', ['systemctl', 'list-unit-files', '--no-pager']],
    ['systemctl list-dependencies nginx', ['systemctl', 'list-dependencies', '--no-pager', 'nginx']],
    ['systemctl list-sockets', ['systemctl', 'list-sockets', '--no-pager']],
    ['systemctl show -p ActiveState,SubState,MainPID nginx', ['systemctl', 'show', '--no-pager', '-p', 'ActiveState,SubState,MainPID', 'nginx']],
    ['systemctl status nginx -n 50', ['systemctl', 'status', '--no-pager', 'nginx', '-n', '50']],
    ['journalctl -x -e -u nginx', ['journalctl', '--no-pager', '-x', '-e', '-u', 'nginx']],
    ["journalctl -u nginx -g 'error' -o short-iso", ['journalctl', '--no-pager', '-u', 'nginx', '-g', 'error', '-o', 'short-iso']],
    ['journalctl -k -p err -o json', ['journalctl', '--no-pager', '-k', '-p', 'err', '-o', 'json']],
    ['journalctl --list-boots', ['journalctl', '--no-pager', '--list-boots']],
    ['journalctl --disk-usage', ['journalctl', '--no-pager', '--disk-usage']],
    ['ip route get 1.1.1.1', ['ip', 'route', 'get', '1.1.1.1']],
    ['who', ['who']],
    ['who -b', ['who', '-b']],
    ['w', ['w']],
    ['last -n 20', ['last', '-n', '20']],
    ['last reboot', ['last', 'reboot']],
    ['vmstat 1 5', ['vmstat', '1', '5']],
    ['vmstat -s', ['vmstat', '-s']],
    ['iostat -x 1 3', ['iostat', '-x', '1', '3']],
    ['dmesg -T', ['dmesg', '--nopager', '-T']],
    ['dmesg -l err,warn', ['dmesg', '--nopager', '-l', 'err,warn']],
    ['timedatectl status', ['timedatectl', 'status', '--no-pager']],
    ['hostnamectl', ['hostnamectl', '--no-pager']],
    ['nproc', ['nproc']],
    ['lscpu', ['lscpu']],
    ['free -s 1 -c 3', ['free', '-s', '1', '-c', '3']],
    ['free -h', ['free', '-h']],
    ['cat /etc/hostname', ['cat', '/etc/hostname']],
    ['cat /etc/hosts', ['cat', '/etc/hosts']],
    ['cat /proc/pressure/cpu', ['cat', '/proc/pressure/cpu']],
    ['cat /proc/loadavg', ['cat', '/proc/loadavg']],
    ['ps aux | grep nginx', ['ps', 'aux']],
    ['ss -tlnp', ['ss', '-tlnp']],
    ['df -h', ['df', '-h']],
    ['df -h /', ['df', '-h', '/']],
    ['du -h /var/log', ['du', '--max-depth=1', '-h', '/var/log']],
    ['du -sh /var/log', ['du']],
    ['uptime', ['uptime']],
    ['ip -br a', ['ip', '-br', 'a']],
    ['pgrep -a cron', ['pgrep', '-a', 'cron']],
    ['systemd-analyze blame', ['systemd-analyze', 'blame', '--no-pager']],
    ['systemd-analyze', ['systemd-analyze', '--no-pager']],
    ['uname -a', ['uname', '-a']],
    ['ls -l /var/log', ['ls', '-l', '/var/log']],
  ];
  for (const [cmd, argv] of cases) {
    const got = argvOf(diagnostic, cmd);
    if (cmd === 'du -sh /var/log') t.match(got, /^OPTION_NOT_ALLOWED/, 'du -s: not listed (the depth is forced to at most 1)');
    else t.same(Array.isArray(got) ? got[0] : got, argv, cmd);
  }
  // The cat of /etc/resolv.conf runs whatever it links to, if that is allowed.
  t.match(decide(diagnostic, 'cat /proc/pressure/memory', fs), { allow: true });

  const neverEnding: Array<[string, string]> = [
    ['journalctl -u nginx -f', 'OPTION_NOT_ALLOWED'],
    ['journalctl -u nginx --follow', 'OPTION_NOT_ALLOWED'],
    ['tail -f /var/log/dpkg.log', 'OPTION_NOT_ALLOWED'],
    ['tail -F /var/log/dpkg.log', 'OPTION_NOT_ALLOWED'],
    ['dmesg -w', 'OPTION_NOT_ALLOWED'],
    ['dmesg --follow', 'OPTION_NOT_ALLOWED'],
    ['vmstat 1', 'OPERAND_COUNT'],
    ['iostat 1', 'OPERAND_COUNT'],
    ['free -s 1', 'OPTION_REQUIRED'],
    ['top -n 100', 'OPTION_VALUE_INVALID'],
    ['watch uptime', 'COMMAND_NOT_ALLOWED'],
    ['timedatectl --monitor', 'OPTION_NOT_ALLOWED'],
    ['ss -E', 'OPTION_NOT_ALLOWED'],
  ];
  for (const [cmd, code] of neverEnding) t.match(decide(diagnostic, cmd, fs), { allow: false, code }, cmd);

  const stateChanges: Array<[string, string]> = [
    ['timedatectl set-time 10:00', 'SUBCOMMAND_NOT_ALLOWED'],
    ['timedatectl set-ntp false', 'SUBCOMMAND_NOT_ALLOWED'],
    ['hostnamectl hostname evil', 'SUBCOMMAND_NOT_ALLOWED'],
    ['hostnamectl set-hostname evil', 'SUBCOMMAND_NOT_ALLOWED'],
    ['systemctl show nginx', 'OPTION_REQUIRED'], // all properties: Environment too
    // sshd's log, by the back doors: a slice's log is every unit's in it; status without units shows many
    ['journalctl -u system.slice', 'OPTION_VALUE_INVALID'],
    ['journalctl -u -.slice', 'OPTION_VALUE_INVALID'],
    ['journalctl --unit=system-ssh.slice', 'OPTION_VALUE_INVALID'],
    ['journalctl -u sshd', 'OPTION_VALUE_INVALID'],
    ['journalctl -u ssh@1-10.0.0.1:22-10.0.0.2:50000.service', 'OPTION_VALUE_INVALID'],
    ['journalctl -t sshd', 'OPTION_VALUE_INVALID'],
    ['journalctl -p err', 'OPTION_REQUIRED'],
    ['journalctl -g password', 'OPTION_REQUIRED'],
    ['systemctl status system.slice', 'OPERAND_INVALID'],
    ['systemctl status', 'OPERAND_COUNT'],
    ['systemctl status --all', 'OPERAND_COUNT'],
    ['systemctl status --failed', 'OPERAND_COUNT'],
    ['systemctl status -t service', 'OPERAND_COUNT'],
    ['systemctl status 1234', 'OPERAND_INVALID'],
    ['cat /var/log/auth.log', 'PATH_DENIED'],
    ['cat /var/log/auth.log.1', 'PATH_DENIED'],
    ['cat /var/log/journal/x/system.journal', 'PATH_DENIED'],
    ['systemctl show -p Environment nginx', 'OPTION_VALUE_INVALID'],
    ['systemctl show -p ActiveState,Environment nginx', 'OPTION_VALUE_INVALID'],
    ['systemctl show -p LoadCredential nginx', 'OPTION_VALUE_INVALID'],
    ['systemctl show -p ExecStart nginx', 'OPTION_VALUE_INVALID'],
    ['last -f /var/log/btmp', 'OPTION_NOT_ALLOWED'],
    ['who /var/log/btmp', 'OPERAND_COUNT'],
    ['dmesg -C', 'OPTION_NOT_ALLOWED'],
    ['systemd-analyze cat-config systemd/system.conf', 'SUBCOMMAND_NOT_ALLOWED'],
    ['systemd-analyze dump', 'SUBCOMMAND_NOT_ALLOWED'],
    ['sort -o /tmp/x /var/log/dpkg.log', 'OPTION_NOT_ALLOWED'],
    ['uniq /var/log/dpkg.log /tmp/out', 'OPERAND_COUNT'],
    ['hostname evil', 'OPERAND_COUNT'],
    ['date 010100002030', 'OPERAND_INVALID'],
    ['lscpu -s /tmp', 'OPTION_NOT_ALLOWED'],
    ['pkill nginx', 'COMMAND_NOT_ALLOWED'],
    ['systemctl restart nginx', 'SUBCOMMAND_NOT_ALLOWED'],
    ['kill -s TERM 1234', 'COMMAND_NOT_ALLOWED'],
  ];
  for (const [cmd, code] of stateChanges) t.match(decide(diagnostic, cmd, fs), { allow: false, code }, cmd);
});

t.test('remediation: diagnostic plus listed units, and kill only by pid type', async (t) => {
  t.same(argvOf(remediation, 'systemctl restart nginx'), [['systemctl', 'restart', '--no-pager', 'nginx']]);
  t.same(argvOf(remediation, 'systemctl reload-or-restart nginx.service'), [['systemctl', 'reload-or-restart', '--no-pager', 'nginx.service']]);
  t.same(argvOf(remediation, 'systemctl kill -s HUP nginx'), [['systemctl', 'kill', '--no-pager', '-s', 'HUP', 'nginx']]);
  t.match(argvOf(remediation, 'systemctl restart ssh'), /^OPERAND_INVALID/);
  t.match(argvOf(remediation, 'systemctl kill -s KILL ssh'), /^OPERAND_INVALID/);
  t.match(argvOf(remediation, 'systemctl enable nginx'), /^SUBCOMMAND_NOT_ALLOWED/);
  t.match(argvOf(remediation, 'kill -s TERM 1'), /^PID_PROTECTED/);
  // A root process outside any unit and not under this (node, so "leash") test process: an orphaned sleep.
  const orphan = Number(spawnSync('sh', ['-c', 'sleep 60 >/dev/null 2>&1 & echo $!'], { encoding: 'utf8' }).stdout.trim());
  t.teardown(() => process.kill(orphan, 'SIGKILL'));
  t.match(argvOf(remediation, `kill -s TERM ${orphan}`), /^PID_NOT_ALLOWED/, 'not in a listed unit');
  t.match(argvOf(remediation, `kill -s TERM ${process.pid}`), /^PID_PROTECTED/, 'a process running the deciding executable is leash');
  t.match(argvOf(remediation, 'kill -s TERM -- -1'), /^OPERAND_DASH/);
  t.match(argvOf(remediation, 'kill -9 1234'), /^OPTION_NOT_ALLOWED/);
  t.same(argvOf(remediation, 'ps aux | grep nginx'), [['ps', 'aux'], ['grep', 'nginx']], 'diagnostic commands stay');
});

t.test("remediation's read-only systemctl is diagnostic's, unit for unit", async (t) => {
  const strip = (spec: unknown) => JSON.parse(JSON.stringify(spec, (_k, v: unknown) => (v instanceof Map ? [...v] : v instanceof RegExp ? v.source : v)));
  const diag = diagnostic.commands.get('systemctl')!;
  const rem = remediation.commands.get('systemctl')!;
  t.same(strip([...rem.options]), strip([...diag.options]), 'the same options');
  for (const [name, sub] of diag.subcommands!) t.same(strip(rem.subcommands!.get(name)), strip(sub), `systemctl ${name}`);
  t.same(strip(diagnostic.commands.get('journalctl')!.options.get('-u')), strip(diag.subcommands!.get('status')!.operands[0]!.value.kind === 'unit' ? { names: ['-u', '--unit'], value: diag.subcommands!.get('status')!.operands[0]!.value, valueOptional: false, valueNext: false, requires: [] } : null), 'journalctl -u and systemctl status exclude the same ssh units');
});
