// `npm run bench`: bundles bench/harness.ts (and the test helpers it uses)
// with esbuild and runs it on the embedded runtime (node_modules/node/bin/node)
// with NODE_EXTRA_CA_CERTS, NODE_OPTIONS and every other NODE_* variable
// removed, as sshd would start leash. See bench/README.md.
//
//   npm run bench                      # everything (~10 min on 2 cores)
//   npm run bench -- --quick           # fewer runs, for trying the harness
//   npm run bench -- --only verify,shell,rss
//   npm run bench -- --no-callgrind    # skip the instruction counts
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RUNTIME = join(ROOT, 'node_modules', 'node', 'bin', 'node');
// Inside node_modules so that the external packages (oidc-provider, pkg) resolve.
const OUT_DIR = join(ROOT, 'node_modules', '.cache', 'leash-bench');
const OUT = join(OUT_DIR, 'harness.mjs');

const fail = (msg) => {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(1);
};
if (process.getuid?.() !== 0) fail('needs root (it starts sshd, creates users and root-owned config directories)');
if (!existsSync(join(ROOT, 'dist', 'leash'))) fail('dist/leash is missing: run `npm run build` first');
if (!existsSync(RUNTIME)) fail('node_modules/node/bin/node is missing: run `npm ci`');
if (!existsSync('/usr/sbin/sshd')) fail('needs openssh-server (/usr/sbin/sshd)');

// Tools from Debian: hyperfine (timings), GNU time (peak RSS) and authprogs
// (the forced-command peer the ssh sections compare with); valgrind is optional.
const missing = [
  ['hyperfine', '/usr/bin/hyperfine'],
  ['time', '/usr/bin/time'],
  ['authprogs', '/usr/bin/authprogs'],
].filter(([, path]) => !existsSync(path));
if (missing.length) {
  const pkgs = missing.map(([p]) => p);
  process.stderr.write(`bench: installing ${pkgs.join(' ')} with apt-get\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], { stdio: 'inherit', env });
  }
  if (r.status !== 0) fail(`could not install ${pkgs.join(' ')}`);
}

mkdirSync(OUT_DIR, { recursive: true });
const { build } = await import('esbuild');
await build({
  entryPoints: [join(ROOT, 'bench', 'harness.ts')],
  outfile: OUT,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  packages: 'external',
  logLevel: 'warning',
  absWorkingDir: ROOT,
});

// Start from a clean environment: no NODE_* variable reaches the harness or
// anything it starts (it passes an explicit environment to every child).
const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8' };
const r = spawnSync(RUNTIME, [OUT, '--repo', ROOT, ...process.argv.slice(2)], { stdio: 'inherit', env });
process.exit(r.status ?? 1);
