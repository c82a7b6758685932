/**
 * A denial keeps its stable code and detail, and adds a hint when a nearby
 * allowed form is known. Every hint proposed here is checked to be allowed.
 */
import t from 'tap';
import { decide } from '../../src/shell/decide.js';
import { fsWithBinaries, shippedProfile } from '../helpers/profiles.js';

const diagnostic = shippedProfile('diagnostic');
const fs = fsWithBinaries([...diagnostic.commands.values()].map((c) => c.binary));
const run = (cmd: string) => decide(diagnostic, cmd, fs);

t.test('follow is named only where the option follows: the same letter means a file or a width elsewhere', async (t) => {
  for (const cmd of ['last -f /var/log/wtmp', 'dmesg -F /var/log/dmesg']) {
    const d = run(cmd);
    t.match(d, { allow: false, code: 'OPTION_NOT_ALLOWED' }, cmd);
    if (!d.allow) t.notMatch(d.hint ?? '', /follow/, `${cmd}: not told about following`);
  }
  const w = run('dmesg --follow');
  t.match(w, { allow: false }, 'dmesg --follow');
  if (!w.allow) t.match(w.hint, /never ends/, 'any --follow is following');
});

t.test('a nearby allowed form, where one exists', async (t) => {
  const cases: Array<[string, string, RegExp, string?]> = [
    ['journalctl -u nginx -f', 'OPTION_NOT_ALLOWED', /follow.*never ends.*use -n N/, 'journalctl -u nginx -n 50'],
    ['journalctl -u nginx --follow', 'OPTION_NOT_ALLOWED', /use -n N/],
    ['tail -f /var/log/dpkg.log', 'OPTION_NOT_ALLOWED', /use -n N/, 'tail -n 50 /var/log/dpkg.log'],
    ['dmesg -w', 'OPTION_NOT_ALLOWED', /never ends/],
    ['journalctl -u nginx --no-pag', 'OPTION_NOT_ALLOWED', /spell it in full: --no-pager/, 'journalctl -u nginx --no-pager'],
    ['cat /etc/shadow', 'PATH_NOT_ALLOWED', /allowed paths: \/var\/log\/\*\* \/proc\/\*\*/],
    ['/usr/bin/cat /proc/loadavg', 'COMMAND_NOT_ALLOWED', /give the command name \(cat\)/, 'cat /proc/loadavg'],
    ['uptme', 'COMMAND_NOT_ALLOWED', /did you mean uptime/, 'uptime'],
    ['systemctl stauts nginx', 'SUBCOMMAND_NOT_ALLOWED', /did you mean status/, 'systemctl status nginx'],
    ['systemctl -n 5 status nginx', 'OPTION_NOT_ALLOWED', /-n is allowed with systemctl status/, 'systemctl status -n 5 nginx'],
    ['ip addr show -s', 'OPTION_NOT_ALLOWED', /put it first: ip -s addr show/, 'ip -s addr show'],
    ['systemctl status -.mount', 'OPTION_NOT_ALLOWED', /systemctl status -- -\.mount/, 'systemctl status -- -.mount'],
    ['uptime; id', 'METACHAR_FORBIDDEN', /leash runs no shell.*\|/],
    ['ps aux > /tmp/ps.txt', 'METACHAR_FORBIDDEN', /redirect on your side of ssh/],
    ['bash -c uptime', 'COMMAND_NOT_ALLOWED', /leash runs no shell/],
    ['ps aux | id', 'PIPELINE_NOT_FILTER', /can follow \| in profile diagnostic: head, tail, wc, grep, sort, uniq, cut, tr/],
    ['ps aux | grep x /var/log/dpkg.log', 'PIPELINE_FILE_OPERAND', /drop the file/, 'ps aux | grep x'],
    ["cat '/var/log/*.log'", 'METACHAR_FORBIDDEN', /only in a regular-expression value/],
  ];
  for (const [cmd, code, hint, nearby] of cases) {
    const d = run(cmd);
    t.match(d, { allow: false, code }, cmd);
    if (!d.allow) t.match(d.hint, hint, `${cmd}: hint`);
    if (nearby) t.match(run(nearby), { allow: true }, `${cmd}: the nearby form "${nearby}" is allowed`);
  }
});

t.test('no hint when nothing nearby is known; the detail stays the stable explanation', async (t) => {
  const d = run('journalctl -u ssh');
  t.match(d, { allow: false, code: 'OPTION_VALUE_INVALID', detail: '-u: unit ssh.service is excluded (ssh.service, sshd.service, ssh@*.service, sshd@*.service, ssh.socket, sshd.socket, *.slice)' });
  t.equal(d.allow ? '' : d.hint, undefined);
  t.equal((run('ls -R /var/log') as { hint?: string }).hint, undefined);
});
