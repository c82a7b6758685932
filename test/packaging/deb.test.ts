/**
 * The Debian package as dpkg-deb built it, without installing it: its
 * control fields, every file with owner and mode, the conffiles, that
 * /usr/sbin/leash-setup is install.sh but for one line, that every file
 * naming the binary names /usr/bin/leash, the manual pages as man reads
 * them, the md5sums, the maintainer scripts (shellcheck), the same package
 * from the same inputs; with dpkg-shlibdeps and lintian when they are
 * installed, the library dependencies and lintian's verdict. Needs
 * dist/leash (`npm run build`) and dpkg-deb.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { PACKAGE_VERSION, buildDeb } from '../helpers/deb-build.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LEASH = join(REPO, 'dist', 'leash');

interface Run { code: number | null; stdout: string; stderr: string }
function run(file: string, args: string[], env: Record<string, string> = { PATH: '/usr/bin:/bin', LC_ALL: 'C.UTF-8' }, cwd?: string): Promise<Run> {
  return new Promise((res) => execFile(file, args, { encoding: 'utf8', env, cwd, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr })));
}
const sha = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** What the package must hold, from the repository: path → mode. */
function expectedFiles(): Map<string, string> {
  const files = new Map<string, string>([
    ['usr/bin/leash', '-rwxr-xr-x'],
    ['usr/sbin/leash-setup', '-rwxr-xr-x'],
    ['etc/leash/leash.yaml', '-rw-r--r--'],
    ['etc/cron.d/leash', '-rw-r--r--'],
    ['etc/logrotate.d/leash', '-rw-r--r--'],
    ['usr/share/bash-completion/completions/leash', '-rw-r--r--'],
    ['usr/share/doc/leash/copyright', '-rw-r--r--'],
    ['usr/share/doc/leash/changelog.gz', '-rw-r--r--'],
    ['usr/share/lintian/overrides/leash', '-rw-r--r--'],
  ]);
  for (const f of readdirSync(join(REPO, 'policies'))) files.set(`etc/leash/policies/${f}`, '-rw-r--r--');
  for (const f of readdirSync(join(REPO, 'contrib', 'systemd'))) files.set(`lib/systemd/system/${f}`, '-rw-r--r--');
  for (const f of readdirSync(join(REPO, 'docs'))) {
    const page = /^(.+)\.([1-8])\.md$/.exec(f);
    files.set(page ? `usr/share/man/man${page[2]}/${page[1]}.${page[2]}.gz` : `usr/share/doc/leash/${f}`, '-rw-r--r--');
  }
  return files;
}

const skip = !existsSync(LEASH) ? 'dist/leash is missing: run `npm run build` first' : !existsSync('/usr/bin/dpkg-deb') ? 'needs dpkg-deb' : '';
if (skip) t.plan(0, skip);
else {
  const work = await mkdtemp(join(tmpdir(), 'leash-deb-t-'));
  t.teardown(() => rm(work, { recursive: true, force: true }));
  const built = await buildDeb(join(work, 'out'));
  const deb = built.deb;
  const x = join(work, 'x');
  const control = join(work, 'control');

  t.test('npm run package builds leash_<version>_amd64.deb', async (t) => {
    t.equal(built.code, 0, 'exit 0', built);
    t.match(built.stdout, new RegExp(`leash_${PACKAGE_VERSION.replace(/\./g, '\\.')}_amd64\\.deb`));
    t.ok(existsSync(deb));
    t.same(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).scripts.package, 'npm run build && node packaging/build.mjs', 'the npm script');
    t.equal((await run('/usr/bin/dpkg-deb', ['-x', deb, x])).code, 0, 'dpkg-deb -x');
    t.equal((await run('/usr/bin/dpkg-deb', ['-e', deb, control])).code, 0, 'dpkg-deb -e');
  });

  t.test('control fields', async (t) => {
    const field = async (name: string): Promise<string> => (await run('/usr/bin/dpkg-deb', ['-f', deb, name])).stdout.trim();
    t.equal(await field('Package'), 'leash');
    t.equal(await field('Version'), PACKAGE_VERSION);
    t.equal(await field('Architecture'), 'amd64');
    t.match(await field('Depends'), /libc6 \(>= [0-9.]+\), libgcc-s1 .*libstdc\+\+6 .*openssh-client, passwd, e2fsprogs/);
    t.match(await field('Recommends'), /openssh-server/);
    const size = Number(await field('Installed-Size'));
    t.ok(size * 1024 >= readFileSync(LEASH).length, 'Installed-Size counts the binary');
  });

  t.test('every file: the expected set, root-owned, with its mode', async (t) => {
    const listing = (await run('/usr/bin/dpkg-deb', ['-c', deb])).stdout.trim().split('\n');
    const files = new Map<string, string>();
    for (const line of listing) {
      const [mode = '', owner = '', , , , path = ''] = line.split(/\s+/);
      t.equal(owner, 'root/root', `${path}: root/root`);
      if (mode.startsWith('d')) t.equal(mode, 'drwxr-xr-x', `${path}: directory 0755`);
      else files.set(path.replace(/^\.\//, ''), mode);
    }
    t.same(Object.fromEntries([...files].sort()), Object.fromEntries([...expectedFiles()].sort()));
    t.equal(sha(join(x, 'usr/bin/leash')), sha(LEASH), '/usr/bin/leash is dist/leash');
  });

  t.test('conffiles: every file under /etc, and nothing else', async (t) => {
    const conffiles = readFileSync(join(control, 'conffiles'), 'utf8').trim().split('\n').sort();
    t.same(conffiles, [...expectedFiles().keys()].filter((f) => f.startsWith('etc/')).map((f) => `/${f}`).sort());
    t.ok(conffiles.includes('/etc/leash/leash.yaml') && conffiles.includes('/etc/leash/policies/diagnostic.yaml'), 'the shipped profiles and leash.yaml');
  });

  t.test('leash-setup is install.sh with PACKAGED=1, and nothing else changed', async (t) => {
    const ours = readFileSync(join(REPO, 'install.sh'), 'utf8').split('\n');
    const shipped = readFileSync(join(x, 'usr/sbin/leash-setup'), 'utf8').split('\n');
    t.equal(shipped.length, ours.length);
    const differ = ours.flatMap((l, i) => (l === shipped[i] ? [] : [[l, shipped[i]]]));
    t.same(differ, [['PACKAGED=0', 'PACKAGED=1']]);
  });

  t.test('every shipped file that names the binary names /usr/bin/leash', async (t) => {
    const named = ['etc/cron.d/leash', ...readdirSync(join(x, 'lib/systemd/system')).map((u) => `lib/systemd/system/${u}`)];
    for (const f of named) t.notMatch(readFileSync(join(x, f), 'utf8'), /\/usr\/local\/bin\/leash/, `${f}: no /usr/local/bin/leash`);
    for (const u of ['leash-jwks-refresh.service', 'leash-reap.service', 'leash-runtime.service']) t.match(readFileSync(join(x, 'lib/systemd/system', u), 'utf8'), /^ExecStart=\/usr\/bin\/leash /m, u);
    const cron = readFileSync(join(x, 'etc/cron.d/leash'), 'utf8');
    t.match(cron, /^\*\/15 \* \* \* \* leash .*\/usr\/bin\/leash jwks refresh/m, 'cron: the key refresh');
    t.match(cron, /^\* \* \* \* \* root .*\/usr\/bin\/leash sessions --reap/m, 'cron: the reaper');
    t.match(readFileSync(join(x, 'usr/sbin/leash-setup'), 'utf8'), /^\[ "\$PACKAGED" = 0 \] \|\| PREFIX=\/usr$/m, 'leash-setup: /usr/bin/leash in the drop-in it writes');
  });

  t.test('the manual pages: compressed, and man reads every one (-l and MANPATH)', { skip: existsSync('/usr/bin/man') ? false : 'man-db is not installed' }, async (t) => {
    const man = join(x, 'usr/share/man');
    const env = { PATH: '/usr/bin:/bin', LC_ALL: 'C.UTF-8', MANWIDTH: '80', MANPATH: man };
    for (const [section, name] of [['1', 'leash'], ['5', 'leash.yaml'], ['5', 'leash-profile'], ['8', 'leash-setup']] as const) {
      const file = join(man, `man${section}`, `${name}.${section}.gz`);
      t.ok(gunzipSync(readFileSync(file)).toString('utf8').startsWith("'\\\" t\n.TH "), `${name}(${section}) is roff`);
      const page = await run('/usr/bin/man', ['-l', file], env);
      t.equal(page.code, 0, `man -l ${name}.${section}.gz`, page);
      t.match(page.stdout, new RegExp(`^${name.toUpperCase().replace('.', '\\.')}\\(${section}\\)`), 'its header');
      t.equal((await run('/usr/bin/man', ['-w', section, name], env)).stdout.trim(), file, `MANPATH: man -w ${section} ${name}`);
    }
  });

  t.test('md5sums cover every file but the conffiles, and match', async (t) => {
    const sums = readFileSync(join(control, 'md5sums'), 'utf8').trim().split('\n');
    t.same(sums.map((l) => l.slice(34)).sort(), [...expectedFiles().keys()].filter((f) => !f.startsWith('etc/')).sort());
    const check = await run('/usr/bin/md5sum', ['--check', '--quiet', join(control, 'md5sums')], { PATH: '/usr/bin:/bin' }, x);
    t.equal(check.code, 0, 'md5sum --check', check);
  });

  t.test('the maintainer scripts and leash-setup pass shellcheck', { skip: existsSync('/usr/bin/shellcheck') ? false : 'shellcheck is not installed' }, async (t) => {
    for (const f of [join(control, 'postinst'), join(control, 'prerm'), join(control, 'postrm'), join(x, 'usr/sbin/leash-setup')]) {
      const r = await run('/usr/bin/shellcheck', ['-s', 'sh', f]);
      t.equal(r.code, 0, f.slice(work.length), r);
    }
    t.match(readFileSync(join(control, 'postinst'), 'utf8'), /^ {4}leash-setup --no-sshd$/m, 'postinst sets up the host but not sshd');
    t.match(readFileSync(join(control, 'prerm'), 'utf8'), /remove\)\n {4}leash-setup --uninstall\n/, 'prerm restores sshd on removal');
  });

  t.test('the copyright file names leash, the runtime and every bundled package', async (t) => {
    const text = readFileSync(join(x, 'usr/share/doc/leash/copyright'), 'utf8');
    t.match(text, /^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/$/m);
    t.match(text, /^License: Apache-2\.0$/m);
    t.match(text, /^License: Node\.js$/m);
    const lock = JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; version: string }> };
    for (const [path, p] of Object.entries(lock.packages)) if (path !== '' && !p.dev) t.match(text, `(bundled: ${path.replace('node_modules/', '')} ${p.version})`, path);
  });

  t.test('the same inputs give the same package', async (t) => {
    const again = await buildDeb(join(work, 'again'));
    t.equal(again.code, 0);
    t.equal(sha(again.deb), sha(deb), 'byte for byte');
  });

  t.test('the library dependencies are what dpkg-shlibdeps computes', { skip: existsSync('/usr/bin/dpkg-shlibdeps') ? false : 'dpkg-dev is not installed' }, async (t) => {
    const tree = join(work, 'shlibs');
    await mkdir(join(tree, 'debian'), { recursive: true });
    await writeFile(join(tree, 'debian', 'control'), 'Source: leash\n\nPackage: leash\nArchitecture: amd64\n');
    const r = await run('/usr/bin/dpkg-shlibdeps', ['-O', join(x, 'usr/bin/leash')], { PATH: '/usr/bin:/bin', LC_ALL: 'C.UTF-8' }, tree);
    t.equal(r.code, 0, 'dpkg-shlibdeps', r);
    const computed = r.stdout.trim().replace(/^shlibs:Depends=/, '');
    t.ok((await run('/usr/bin/dpkg-deb', ['-f', deb, 'Depends'])).stdout.startsWith(computed), `Depends starts with ${computed}`);
  });

  t.test('lintian has nothing to say beyond the overrides (compression aside: this build is uncompressed)', { skip: existsSync('/usr/bin/lintian') ? false : 'lintian is not installed' }, async (t) => {
    const r = await run('/usr/bin/lintian', ['--pedantic', '--suppress-tags', 'uses-no-compression-for-data-tarball,uses-no-compression-for-control-tarball', deb], { PATH: '/usr/bin:/bin', LC_ALL: 'C.UTF-8', HOME: work });
    const tags = r.stdout.split('\n').filter((l) => /^[EWIP]: /.test(l));
    t.same(tags, [], 'no error, warning, information or pedantic tag');
  });
}
