/**
 * setup.sh, the README's first command, judged on this machine without
 * changing it (--dry-run): it decides about the Debian packages as dpkg
 * says they are, about Node as `node --version` on root's PATH compares
 * with package.json's engines, and would install exactly the Node version
 * package.json's devDependencies pin; it refuses to run for real as
 * another user. (A real run is what CI's .ci/run does, with --no-demo.)
 */
import t, { type Test as Tap } from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SETUP = join(REPO, 'setup.sh');
const ROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string }; devDependencies: Record<string, string> };

interface Run { code: number; stdout: string; stderr: string }
const setup = (args: string[], o: { uid?: number; script?: string } = {}): Promise<Run> =>
  new Promise((res) =>
    execFile('/usr/bin/env', ['-i', `PATH=${ROOT_PATH}`, '/bin/bash', o.script ?? SETUP, ...args], { cwd: '/', timeout: 60_000, ...(o.uid === undefined ? {} : { uid: o.uid, gid: o.uid }) }, (err, stdout, stderr) =>
      res({ code: err ? Number(err.code ?? -1) : 0, stdout, stderr }),
    ),
  );

const newer = (a: string, b: string): boolean => {
  const [x, y] = [a, b].map((v) => v.split('.').map(Number));
  for (let i = 0; i < 3; i++) if ((x![i] ?? 0) !== (y![i] ?? 0)) return (x![i] ?? 0) > (y![i] ?? 0);
  return true;
};

t.test('--dry-run: the decisions match this machine, and nothing changes', async (t) => {
  const before = { local: readdirSync('/usr/local/bin').sort(), policy: existsSync('/usr/sbin/policy-rc.d') };
  const r = await setup(['--dry-run']);
  t.equal(r.code, 0, r.stderr);
  const out = r.stdout;

  const packages = /^PACKAGES=\(([^)]*)\)$/m.exec(readFileSync(SETUP, 'utf8'))![1]!.split(' ');
  const missing = packages.filter((p) => {
    try {
      return execFileSync('dpkg-query', ['-W', '-f', '${db:Status-Status}', p], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }) !== 'installed';
    } catch {
      return true;
    }
  });
  if (missing.length === 0) t.match(out, /Debian packages: all there/);
  else t.match(out, new RegExp(`Debian packages: installing ${missing.join(' ')}`), `missing here: ${missing.join(' ')}`);

  const min = /^>=(\d+\.\d+\.\d+)$/.exec(pkg.engines.node)?.[1];
  t.ok(min, `engines.node is ">=X.Y.Z": ${pkg.engines.node}`);
  let current = '';
  try {
    current = execFileSync('/usr/bin/env', ['-i', `PATH=${ROOT_PATH}`, 'node', '--version'], { encoding: 'utf8' }).trim().replace(/^v/, '');
  } catch {
    current = '';
  }
  if (current !== '' && newer(current, min!)) t.match(out, `Node: v${current} `, `node v${current} is new enough`);
  else {
    t.match(out, `installing node@${pkg.devDependencies['node']} (package.json's devDependencies) from the npm registry into /usr/local`, `node ${current || 'none'} is older than ${min}`);
    t.match(out, `would run: npm install --global --prefix /usr/local --no-audit --no-fund --loglevel=error node@${pkg.devDependencies['node']}`);
  }
  t.match(out, /npm ci: (skipped|installing)/);
  t.match(out, /would run: npm run build\n/);
  t.match(out, /would run: dist\/leash demo\n/);
  t.same({ local: readdirSync('/usr/local/bin').sort(), policy: existsSync('/usr/sbin/policy-rc.d') }, before, 'nothing was installed, no policy-rc.d left');
});

t.test('--no-demo stops after the build; unknown options are refused', async (t) => {
  const r = await setup(['--dry-run', '--no-demo']);
  t.equal(r.code, 0);
  t.notMatch(r.stdout, /leash demo/);
  t.match(r.stdout, /done \(--no-demo\)/);
  const bad = await setup(['--frobnicate']);
  t.equal(bad.code, 64);
  t.match(bad.stderr, /unknown option --frobnicate/);
});

/** A copy of setup.sh and the files it reads, in a new directory of mode `mode`. */
function copyOfSetup(t: Tap, mode: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'leash-setup-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of ['setup.sh', 'package.json', 'package-lock.json']) copyFileSync(join(REPO, f), join(dir, f));
  chmodSync(dir, mode);
  return join(dir, 'setup.sh');
}

t.test('a checkout other accounts cannot reach (under /root, say) is named, since tests run dist/leash as them', async (t) => {
  const script = copyOfSetup(t, 0o700);
  const r = await setup(['--dry-run'], { script });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, `warning: ${dirname(script)} is not searchable by other accounts`);
  const here = await setup(['--dry-run']);
  const reachable = REPO.split('/').every((_, i, parts) => (statSync(parts.slice(0, i + 1).join('/') || '/').mode & 0o001) !== 0);
  if (reachable) t.notMatch(here.stdout, /not searchable/, 'this checkout is reachable: no warning');
});

t.test('for real only as root', { skip: process.getuid?.() === 0 ? false : 'needs root (to run it as another user)' }, async (t) => {
  // A copy the other account can read wherever this checkout is.
  const r = await setup([], { uid: 65534, script: copyOfSetup(t, 0o755) });
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /run me as root/);
  t.equal(r.stdout, '', 'it did nothing first');
});
