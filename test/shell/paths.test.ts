import t from 'tap';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkPath } from '../../src/shell/paths.js';
import { SENSITIVE_PATHS } from '../../src/policy/sensitive-paths.js';
import { decide } from '../../src/shell/decide.js';
import { parseProfile } from '../../src/policy/parse.js';
import { realFs } from '../../src/policy/fs-view.js';
import type { PathRules } from '../../src/policy/types.js';
import { fakeHost } from '../helpers/fake-host.js';
import { shippedProfile } from '../helpers/profiles.js';
import { isRoot, trustedTempDir } from '../helpers/tmp.js';

const rules = (over: Partial<PathRules> = {}): PathRules => ({ allow: ['/logs/**'], deny: ['/logs/**/*.key'], allowSensitive: [], allowHardLinks: [], trustedGroups: [], ...over });

t.test('directories above a path: sshd\'s rule, whoever asks (injected facts)', async (t) => {
  const check = (files: Parameters<typeof fakeHost>[0]['files'], over: Partial<PathRules> = {}, extra: Partial<Parameters<typeof fakeHost>[0]> = {}) =>
    checkPath('/logs/app/x.log', rules(over), fakeHost({ files, ...extra }), 'read');
  t.match(check({ '/logs/app/x.log': {} }), { ok: true, resolved: '/logs/app/x.log' }, 'root-owned 0755 all the way up');
  t.match(check({ '/logs/app': { type: 'dir', uid: 1000, mode: 0o555 }, '/logs/app/x.log': {} }), { ok: false, code: 'PATH_UNSAFE_PARENT', detail: /\/logs\/app is owned by uid 1000/ }, 'a 0555 directory owned by a user: its owner can chmod it and swap the file');
  t.match(check({ '/logs/app': { type: 'dir', uid: 0, mode: 0o777 }, '/logs/app/x.log': {} }), { ok: false, code: 'PATH_UNSAFE_PARENT' }, 'world-writable');
  t.match(check({ '/logs/app': { type: 'dir', uid: 0, mode: 0o1777 }, '/logs/app/x.log': {} }), { ok: false, code: 'PATH_UNSAFE_PARENT' }, 'sticky and world-writable (/tmp)');
  t.match(check({ '/logs': { type: 'dir', uid: 105, mode: 0o755 }, '/logs/app/x.log': {} }), { ok: false, code: 'PATH_UNSAFE_PARENT', detail: /\/logs is owned by uid 105/ }, 'any directory above, not only the nearest (a service RuntimeDirectory)');
  // Ubuntu's /var/log is root:syslog 0775; /var/log/postgresql is root:postgres 1775.
  const groupWritable = { '/logs/app': { type: 'dir' as const, uid: 0, gid: 104, mode: 0o775 }, '/logs/app/x.log': {} };
  t.match(check(groupWritable), { ok: false, code: 'PATH_UNSAFE_PARENT', detail: /trusted_groups/ }, 'a group-writable directory is refused by default');
  t.match(check(groupWritable, { trustedGroups: ['syslog'] }, { groups: { syslog: 104 } }), { ok: true }, 'unless the profile trusts that group');
  t.match(check(groupWritable, { trustedGroups: ['syslog'] }, { groups: { syslog: 104 }, callerGroups: [104] }), { ok: false, code: 'PATH_UNSAFE_PARENT', detail: /you are in it/ }, 'and never when the session user is in it');
  t.match(check(groupWritable, { trustedGroups: ['adm'] }, { groups: { adm: 4, syslog: 104 } }), { ok: false, code: 'PATH_UNSAFE_PARENT' }, 'another trusted group does not cover it');
  t.match(check({ '/logs/app': { type: 'dir', uid: 0, gid: 104, mode: 0o777 }, '/logs/app/x.log': {} }, { trustedGroups: ['syslog'] }, { groups: { syslog: 104 } }), { ok: false, code: 'PATH_UNSAFE_PARENT' }, 'a trusted group does not excuse world-writable');
  t.match(check({ '/logs/1234': { type: 'dir', uid: 1000, mode: 0o555, kernel: true }, '/logs/app/x.log': {}, '/logs/1234/status': {} }), { ok: true }, 'unrelated user-owned directories do not matter');
  t.match(checkPath('/logs/1234/status', rules(), fakeHost({ files: { '/logs/1234': { type: 'dir', uid: 1000, mode: 0o555, kernel: true }, '/logs/1234/status': {} } }), 'read'), { ok: true }, '/proc/PID is owned by its process\'s user, but proc lets nobody create or rename entries');
});

t.test('file types, hard links and empty words (injected facts)', async (t) => {
  const host = fakeHost({
    files: {
      '/logs/pipe': { type: 'fifo' },
      '/logs/sock': { type: 'socket' },
      '/logs/linked.log': { nlink: 2 },
      '/logs/kept/linked.log': { nlink: 3 },
      '/logs/dir': { type: 'dir', nlink: 5 },
    },
  });
  t.match(checkPath('/logs/pipe', rules(), host, 'read'), { ok: false, code: 'PATH_SPECIAL_FILE' }, 'a FIFO is not a file to read');
  t.match(checkPath('/logs/pipe', rules(), host, 'stat'), { ok: true }, 'but may be looked at (ls -l, stat)');
  t.match(checkPath('/logs/sock', rules(), host, 'stat'), { ok: true }, 'so may a socket');
  t.match(checkPath('/logs/linked.log', rules(), host, 'read'), { ok: false, code: 'PATH_HARD_LINK', detail: /2 hard links/ }, 'a second name could be a file from outside the tree');
  t.match(checkPath('/logs/linked.log', rules(), host, 'stat'), { ok: false, code: 'PATH_HARD_LINK' }, 'its metadata too');
  t.match(checkPath('/logs/kept/linked.log', rules({ allowHardLinks: ['/logs/kept/**'] }), host, 'read'), { ok: true }, 'unless the profile allows hard links there');
  t.match(checkPath('/logs/dir', rules(), host, 'read'), { ok: true }, 'directories always have several links');
  t.match(checkPath('', rules({ allow: ['/**'] }), host, 'read'), { ok: false, code: 'PATH_NOT_FOUND', detail: /empty path/ }, "'' is no file (path.resolve would make it /)");
});

t.test('no existence oracle outside the allowed trees', async (t) => {
  const host = fakeHost({ files: { '/home/alice/secret': {}, '/home/alice/real.key': {}, '/home/alice/link': { link: '/home/alice/secret' }, '/logs/in-tree-link': { link: '/home/alice/secret' }, '/logs/btmp': {} } });
  const r = rules({ deny: ['/logs/btmp*', '/home/alice/**/*.key'] });
  const answer = (p: string) => {
    const c = checkPath(p, r, host, 'read');
    return c.ok ? 'allowed' : `${c.code}: ${c.detail}`;
  };
  t.equal(answer('/home/alice/secret'), 'PATH_NOT_ALLOWED: /home/alice/secret is outside the allowed paths');
  t.equal(answer('/home/alice/nothing'), 'PATH_NOT_ALLOWED: /home/alice/nothing is outside the allowed paths', 'a missing file outside answers exactly like an existing one');
  t.equal(answer('/home/alice/link'), 'PATH_NOT_ALLOWED: /home/alice/link is outside the allowed paths', 'and a link outside does not reveal its target');
  // A deny rule is the profile's own text: answering "denied" says nothing about what exists.
  t.equal(answer('/home/alice/x.key'), 'PATH_DENIED: /home/alice/x.key matches deny rule /home/alice/**/*.key', 'a missing file under a deny rule is denied');
  t.equal(answer('/home/alice/real.key'), 'PATH_DENIED: /home/alice/real.key matches deny rule /home/alice/**/*.key', 'exactly as an existing one is');
  t.match(answer('/logs/in-tree-link'), /^PATH_NOT_ALLOWED: \/home\/alice\/secret \(from \/logs\/in-tree-link\)/, 'a link inside the tree may show where it points (ls -l would)');
  t.match(answer('/logs/nothing'), /^PATH_NOT_FOUND/, 'inside the tree, missing is missing');
  t.match(answer('/logs/btmp'), /^PATH_DENIED/);
  t.match(answer('/logs/btmp.1'), /^PATH_DENIED/, 'a missing denied file is denied, as an existing one is');
});

t.test('built-in sensitive paths, old and new', async (t) => {
  const diagnostic = shippedProfile('diagnostic');
  for (const p of ['/proc/kpageflags', '/proc/kpagecount', '/proc/kpagecgroup', '/sys/kernel/tracing/trace', '/sys/kernel/debug/tracing/trace', '/sys/firmware/acpi/tables/DSDT', '/sys/kernel/security/apparmor/profiles', '/sys/kernel/mm/page_idle/bitmap', '/proc/1/environ', '/proc/self/root/etc/hostname']) {
    t.match(checkPath(p, diagnostic.paths, realFs, 'read'), { ok: false, code: 'PATH_SENSITIVE' }, p);
  }
  t.ok(SENSITIVE_PATHS.includes('/sys/firmware/**') && SENSITIVE_PATHS.includes('/sys/kernel/tracing/**'));
  t.match(checkPath('/sys/firmware', diagnostic.paths, realFs, 'stat'), { ok: false, code: 'PATH_SENSITIVE' }, 'the directory itself too');
});

t.test('real files: symlinks, sibling prefixes, deny rules, FIFOs, hard links', { skip: isRoot() ? false : 'needs root (a root-owned tree)' }, async (t) => {
  const tmp = await trustedTempDir('paths-');
  t.teardown(tmp.cleanup);
  const root = tmp.path;
  mkdirSync(join(root, 'logs/app'), { recursive: true, mode: 0o755 });
  mkdirSync(join(root, 'logs2'), { mode: 0o755 });
  writeFileSync(join(root, 'logs/app/ok.log'), 'ok\n');
  writeFileSync(join(root, 'logs/app/secret.key'), 'k\n');
  writeFileSync(join(root, 'logs2/other.log'), 'x\n');
  writeFileSync(join(root, 'outside'), 'secret\n');
  symlinkSync('/etc/passwd', join(root, 'logs/app/passwdlink'));
  symlinkSync(join(root, 'logs2'), join(root, 'logs/app/dirlink'));
  symlinkSync('ok.log', join(root, 'logs/app/inner'));
  linkSync(join(root, 'outside'), join(root, 'logs/app/hardlink'));
  execFileSync('mkfifo', [join(root, 'logs/app/pipe')]);
  const text = `
commands:
  cat: {binary: /usr/bin/cat, operands: path 1..4}
  stat: {binary: /usr/bin/stat, operands: {type: stat_path, count: 1..4}}
paths:
  allow: ['${root}/logs/**']
  deny: ['${root}/**/*.key']
`;
  const profile = parseProfile('t.yaml', text, 't');
  const d = (cmd: string) => decide(profile, cmd, realFs);
  t.match(d(`cat ${root}/logs/app/ok.log`), { allow: true, stages: [{ argv: ['cat', `${root}/logs/app/ok.log`] }] });
  t.match(d(`cat ${root}/logs/app/inner`), { allow: true, stages: [{ argv: ['cat', `${root}/logs/app/ok.log`] }] }, 'a symlink inside the tree runs as its target');
  t.match(d(`cat ${root}/logs/app/passwdlink`), { allow: false, code: 'PATH_NOT_ALLOWED', detail: /\/etc\/passwd/ }, 'symlink out of the tree');
  t.match(d(`cat ${root}/logs/app/dirlink/other.log`), { allow: false, code: 'PATH_NOT_ALLOWED' }, 'directory symlink out of the tree');
  t.match(d(`cat ${root}/logs2/other.log`), { allow: false, code: 'PATH_NOT_ALLOWED' }, 'sibling prefix logs2 is not logs');
  t.match(d(`cat ${root}/logs/app/secret.key`), { allow: false, code: 'PATH_DENIED' }, 'deny wins over allow');
  t.match(d(`cat ${root}/logs/app/pipe`), { allow: false, code: 'PATH_SPECIAL_FILE' }, 'a FIFO is not a file to read');
  t.match(d(`stat ${root}/logs/app/pipe`), { allow: true, stages: [{ argv: ['stat', `${root}/logs/app/pipe`] }] }, 'stat of a FIFO reads only metadata');
  t.match(d(`cat ${root}/logs/app/hardlink`), { allow: false, code: 'PATH_HARD_LINK' }, 'a hard link to a file outside the tree');
  t.match(d(`cat ${root}/logs/app/ok.log ${root}/logs/app/passwdlink`), { allow: false, code: 'PATH_NOT_ALLOWED' }, 'every operand is checked');
  const linksOk = parseProfile('h.yaml', `${text}  allow_hard_links: ['${root}/logs/app/hardlink']\n`, 'h');
  t.match(decide(linksOk, `cat ${root}/logs/app/hardlink`, realFs), { allow: true }, 'allow_hard_links re-allows it');

  const sensitive = parseProfile('s.yaml', `commands: {cat: {binary: /usr/bin/cat, operands: path}}\npaths: {allow: ['/proc/**'], allow_sensitive: ['/proc/*/environ']}\n`, 's');
  t.match(decide(sensitive, 'cat /proc/1/environ', realFs), { allow: true }, 'a sensitive path is allowed only when listed explicitly');
  t.match(decide(sensitive, 'cat /proc/1/mem', realFs), { allow: false, code: 'PATH_SENSITIVE' });
});
