/**
 * Pipelines, the decision side: an unquoted | separates stages, each decided
 * on its own; a later stage must be a filter (it reads the previous stage's
 * output) and names no file; everything else a shell would do is refused
 * with a message that says leash runs no shell.
 */
import t from 'tap';
import { decide } from '../../src/shell/decide.js';
import { parseProfile } from '../../src/policy/parse.js';
import { MAX_PIPELINE_STAGES } from '../../src/policy/types.js';
import { fsWithBinaries, shippedProfile } from '../helpers/profiles.js';

const diagnostic = shippedProfile('diagnostic');
const fs = fsWithBinaries([...diagnostic.commands.values()].map((c) => c.binary));
const run = (cmd: string) => decide(diagnostic, cmd, fs);
const argvs = (cmd: string) => {
  const d = run(cmd);
  return d.allow ? d.stages.map((s) => s.argv) : d;
};

t.test('each stage is decided on its own and runs exactly as decided', async (t) => {
  const cases: Array<[string, string[][]]> = [
    ['ps aux | grep nginx', [['ps', 'aux'], ['grep', 'nginx']]],
    ['ps aux|grep nginx', [['ps', 'aux'], ['grep', 'nginx']]],
    ['journalctl -u app -n 200 | grep -i error | tail -n 20', [['journalctl', '--no-pager', '-u', 'app', '-n', '200'], ['grep', '-i', 'error'], ['tail', '-n', '20']]],
    ['cat /var/log/dpkg.log | wc -l', [['cat', '/var/log/dpkg.log'], ['wc', '-l']]],
    ['ps aux | grep -E \'ssh|cron\' | sort -k 3 -rn | head -n 5', [['ps', 'aux'], ['grep', '-E', 'ssh|cron'], ['sort', '--buffer-size=64M', '--temporary-directory=/proc', '-k', '3', '-rn'], ['head', '-n', '5']]],
    ["ps aux | tr -s ' ' | cut -d ' ' -f 1 | sort | uniq -c", [['ps', 'aux'], ['tr', '-s', ' '], ['cut', '-d', ' ', '-f', '1'], ['sort', '--buffer-size=64M', '--temporary-directory=/proc'], ['uniq', '-c']]],
    ['systemctl --failed | wc -l', [['systemctl', '--no-pager', '--failed'], ['wc', '-l']]],
    // A quoted "$(id)" is four characters of a grep pattern: no shell ever sees it.
    ["ps aux | grep '$(id)'", [['ps', 'aux'], ['grep', '$(id)']]],
    ["ps aux | grep '|'", [['ps', 'aux'], ['grep', '|']]],
  ];
  for (const [cmd, want] of cases) t.same(argvs(cmd), want, cmd);
  const d = run('ps aux | grep nginx');
  t.match(d, { allow: true, stages: [{ command: 'ps', binary: '/usr/bin/ps' }, { command: 'grep', binary: '/usr/bin/grep' }] });
});

t.test('one timeout for the whole pipeline: the smallest of its stages', async (t) => {
  const p = parseProfile('p.yaml', "timeout: 10m\ncommands:\n  ps: {binary: /usr/bin/ps, timeout: 30s}\n  wc: {binary: /usr/bin/wc, filter: true, timeout: 2m}\n  uptime: {binary: /usr/bin/uptime}\n", 'p');
  t.match(decide(p, 'ps | wc', fs), { allow: true, timeoutSeconds: 30 });
  t.match(decide(p, 'uptime | wc', fs), { allow: true, timeoutSeconds: 120 });
  t.match(decide(p, 'uptime', fs), { allow: true, timeoutSeconds: 600 });
});

t.test('a later stage must be a filter, and reads only its standard input', async (t) => {
  const cases: Array<[string, string, RegExp?]> = [
    ['uptime | id', 'PIPELINE_NOT_FILTER', /stage 2 \(id\): id does not read a pipe/],
    ['ps aux | cat', 'PIPELINE_NOT_FILTER'],
    ['ps aux | ls /var/log', 'PIPELINE_NOT_FILTER'],
    ['ps aux | journalctl -u cron', 'PIPELINE_NOT_FILTER'],
    ['ps aux | grep x | sh', 'COMMAND_NOT_ALLOWED', /stage 3 \(sh\)/],
    ['cat /var/log/dpkg.log | tee /tmp/x', 'COMMAND_NOT_ALLOWED'],
    ['ps aux | xargs kill', 'COMMAND_NOT_ALLOWED'],
    // A file operand in a later stage would make the filter ignore the pipe.
    ['ps aux | grep x /var/log/dpkg.log', 'PIPELINE_FILE_OPERAND', /grep reads the previous command's output here/],
    ['ps aux | wc -l /proc/loadavg', 'PIPELINE_FILE_OPERAND'],
    ['ps aux | sort /etc/shadow', 'PIPELINE_FILE_OPERAND'],
    ['ps aux | tail -n 5 /var/log/dpkg.log', 'PIPELINE_FILE_OPERAND'],
    // The first stage reads nothing from the client: a filter there needs its file.
    ['grep x | head', 'OPERAND_COUNT'],
    ['wc -l | head', 'OPERAND_COUNT'],
    // Each stage is still checked in full.
    ['ps aux | grep -f /etc/shadow', 'OPTION_NOT_ALLOWED', /stage 2 \(grep\)/],
    ['cat /etc/shadow | wc -l', 'PATH_NOT_ALLOWED', /stage 1 \(cat\)/],
    ['ps aux | tail -f', 'OPTION_NOT_ALLOWED'],
    ['ps aux | sort -o /tmp/x', 'OPTION_NOT_ALLOWED'],
    ['ps aux | sort --compress-program=sh', 'OPTION_NOT_ALLOWED'],
    ['ps aux | uniq -c /tmp/out', 'PIPELINE_FILE_OPERAND'],
    ['/usr/lib/openssh/sftp-server | wc', 'COMMAND_NOT_ALLOWED'],
  ];
  for (const [cmd, code, detail] of cases) t.match(run(cmd), { allow: false, code, ...(detail ? { detail } : {}) }, cmd);
});

/** Every shell form: each is refused, and the message says leash runs no shell and what it accepts. */
t.test('everything else a shell would do is refused, saying leash runs no shell', async (t) => {
  const cases: Array<[string, string]> = [
    ['uptime; id', 'METACHAR_FORBIDDEN'],
    ['uptime && id', 'METACHAR_FORBIDDEN'],
    ['uptime || id', 'METACHAR_FORBIDDEN'],
    ['ps aux |& grep x', 'METACHAR_FORBIDDEN'],
    ['uptime &', 'METACHAR_FORBIDDEN'],
    ['uptime & id', 'METACHAR_FORBIDDEN'],
    ['ps aux > /tmp/x', 'METACHAR_FORBIDDEN'],
    ['ps aux >> /tmp/x', 'METACHAR_FORBIDDEN'],
    ['ps aux 2>&1 | grep x', 'METACHAR_FORBIDDEN'],
    ['grep x < /etc/shadow', 'METACHAR_FORBIDDEN'],
    ['ps aux | grep $(id)', 'METACHAR_FORBIDDEN'],
    ['ps aux | grep "$(id)"', 'METACHAR_FORBIDDEN'],
    ['ps aux | grep `id`', 'METACHAR_FORBIDDEN'],
    ['ps aux | grep "`id`"', 'METACHAR_FORBIDDEN'],
    ['ps aux | grep "x\\y"', 'METACHAR_FORBIDDEN'],
    ['(ps aux) | grep x', 'METACHAR_FORBIDDEN'],
    ['{ ps aux; } | grep x', 'METACHAR_FORBIDDEN'],
    ['ps aux | grep x # comment', 'METACHAR_FORBIDDEN'],
    ['echo ok ||| echo pwn', 'METACHAR_FORBIDDEN'],
    ['| uptime', 'PIPELINE_STAGE_EMPTY'],
    ['uptime |', 'PIPELINE_STAGE_EMPTY'],
    ['uptime | | wc', 'PIPELINE_STAGE_EMPTY'],
    ['uptime |  ', 'PIPELINE_STAGE_EMPTY'],
    ['|', 'PIPELINE_STAGE_EMPTY'],
    [`uptime${' | wc'.repeat(MAX_PIPELINE_STAGES)}`, 'PIPELINE_TOO_LONG'],
    ['ps aux | grep x\n| sh', 'BYTE_FORBIDDEN'],
  ];
  for (const [cmd, code] of cases) {
    const d = run(cmd);
    t.match(d, { allow: false, code }, JSON.stringify(cmd));
    if (code !== 'BYTE_FORBIDDEN') t.match(d.allow ? '' : `${d.detail} ${d.hint ?? ''}`, /leash runs no shell|leash runs none|needs a shell/, `${JSON.stringify(cmd)}: says there is no shell`);
  }
  const d = run('uptime; id');
  t.match(d, { hint: /one command, or commands joined by \| .*\(head, tail, wc, grep, sort, uniq, cut, tr\).*single quotes/ }, 'the hint names the forms leash accepts and the filters of this profile');
  t.match(run(`uptime${' | wc'.repeat(MAX_PIPELINE_STAGES - 1)}`), { allow: true, stages: { length: MAX_PIPELINE_STAGES } }, `${MAX_PIPELINE_STAGES} stages are allowed`);
});
