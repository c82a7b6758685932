// Builds dist/leash: one esbuild bundle (dist/leash.cjs) baked into the Node
// runtime from the npm `node` package as a single executable application
// (pkg's simple SEA mode). Fully offline: see build/README.md.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { BUILD_ID_PLACEHOLDER, buildIdOf } from './build-id.mjs';
import { RUNTIME_MAJOR, SEA_CONFIG, SEA_TARGET } from './sea-config.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(ROOT, 'dist');
const ENTRY = join(ROOT, 'src', 'main.ts');
const BUNDLE = join(DIST, 'leash.cjs');
const OUTPUT = join(DIST, 'leash');
const RUNTIME = join(ROOT, 'node_modules', 'node', 'bin', 'node');
// The SEA main that runs the bundle with the warm code cache, and the script
// that makes that cache (build/README.md, "Warm code cache").
const LOADER = join(ROOT, 'build', 'sea-loader.cjs');
// The first thing the executable runs: a restart without the runtime's own
// environment variables (build/runtime-env.cjs); bundled into the SEA main.
const RUNTIME_ENV = join(ROOT, 'build', 'runtime-env.cjs');
const WARM_DRIVER = join(ROOT, 'build', 'warm-cache.mjs');
const SEA_DIR = join(DIST, 'sea');
const SEA_SOURCE = join(SEA_DIR, 'leash.js');
const SEA_MAIN = join(SEA_DIR, 'main.cjs');
// Made by build/warm-cache.mjs; the loader picks one by the command name.
const SEA_CACHES = ['leash.cache', 'leash.verify.cache', 'leash.shell.cache', 'leash.explain.cache'];
// `--no-warm-cache`: the bundle itself is the SEA main, with Node's own code
// cache only (the previous layout; kept to measure the difference).
const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--no-warm-cache');
if (unknown.length) {
  writeSync(2, `build: unknown argument(s) ${unknown.join(' ')} (only --no-warm-cache)\n`);
  process.exit(64);
}
const WARM = !args.includes('--no-warm-cache');

const t0 = performance.now();
// Synchronous writes, so nothing is lost when fail() exits.
const log = (msg) => writeSync(1, `build: ${msg}\n`);
const fail = (msg) => {
  writeSync(2, `build: FAILED: ${msg}\n`);
  process.exit(1);
};
const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');
const size = (file) => `${(statSync(file).size / 1024).toFixed(1)} KiB`;
const rel = (p) => relative(ROOT, p);

// 1. The runtime to embed: node_modules/node/bin/node, Node 24, for this host.
if (process.platform !== 'linux' || process.arch !== 'x64') fail(`only linux-x64 is supported (this is ${process.platform}-${process.arch})`);
if (!existsSync(RUNTIME)) fail(`${rel(RUNTIME)} is missing: run \`npm ci\` (the "node" devDependency provides the runtime)`);
let runtimeVersion;
try {
  runtimeVersion = execFileSync(RUNTIME, ['--version'], { encoding: 'utf8', env: {} }).trim();
} catch (err) {
  fail(`${rel(RUNTIME)} --version failed: ${err.message}`);
}
if (!new RegExp(`^v${RUNTIME_MAJOR}\\.\\d+\\.\\d+$`).test(runtimeVersion)) {
  fail(`${rel(RUNTIME)} is ${runtimeVersion}, expected Node ${RUNTIME_MAJOR}.x`);
}
// Run the build itself on that runtime (pkg needs Node >= 22; `npm run build`
// already does, via node_modules/.bin/node, but `node build/build.mjs` may not).
if (process.execPath !== realpathSync(RUNTIME)) {
  log(`re-running under ${rel(RUNTIME)} (this is ${process.execPath} ${process.version})`);
  try {
    execFileSync(RUNTIME, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
    process.exit(0);
  } catch (err) {
    process.exit(typeof err.status === 'number' && err.status !== 0 ? err.status : 1);
  }
}
const pkgJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const version = pkgJson.version;
if (typeof version !== 'string' || !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) fail(`bad package.json version ${JSON.stringify(version)}`);
log(`leash ${version}; runtime ${rel(RUNTIME)} ${runtimeVersion}`);

rmSync(DIST, { recursive: true, force: true });
mkdirSync(DIST);

// 2. Bundle: every dependency inlined; only Node built-ins stay as require().
// "use strict" because the sources are ES modules (strict) but the output is CJS.
const result = await build({
  entryPoints: [ENTRY],
  outfile: BUNDLE,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  define: { LEASH_VERSION: JSON.stringify(version), LEASH_BUILD_ID: JSON.stringify(BUILD_ID_PLACEHOLDER) },
  banner: { js: '"use strict";' },
  legalComments: 'eof',
  minify: true,
  metafile: true,
  logLevel: 'warning',
  absWorkingDir: ROOT,
});
// Fail on any warning (e.g. import.meta, which is empty in CJS output).
if (result.warnings.length) fail(`esbuild reported ${result.warnings.length} warning(s), printed above`);
const meta = result.metafile;
const out = meta.outputs[rel(BUNDLE)];
const external = out.imports.filter((i) => i.external).map((i) => i.path);
const nonBuiltin = external.filter((p) => !isBuiltin(p));
if (nonBuiltin.length) fail(`bundle leaves non-built-in imports: ${nonBuiltin.join(', ')}`);
// The build id (build/build-id.mjs): the compiled configuration cache is tied to it.
const withPlaceholder = readFileSync(BUNDLE, 'utf8');
if (!withPlaceholder.includes(BUILD_ID_PLACEHOLDER)) fail('the build id placeholder is not in the bundle (src/version.ts BUILD_ID)');
const buildId = buildIdOf(withPlaceholder);
writeFileSync(BUNDLE, withPlaceholder.replaceAll(BUILD_ID_PLACEHOLDER, buildId));
const code = readFileSync(BUNDLE, 'utf8');
// A single executable can import() only built-ins. This also rejects the text
// "import(" in a comment or string: rename it rather than loosen the check.
if (/\bimport\(/.test(code)) fail('bundle still contains "import(": a single executable cannot resolve a dynamic import');
// The loader decodes an ASCII bundle as Latin-1, a plain copy (build/sea-loader.cjs);
// esbuild escapes non-ASCII text in strings, and minifyWhitespace drops the comments.
const nonAscii = /[^\x00-\x7f]/.exec(code);
if (nonAscii) fail(`bundle is not ASCII (${JSON.stringify(code.slice(Math.max(0, nonAscii.index - 40), nonAscii.index + 10))}): the loader would decode it the slow way`);
// LANG, LC_* and TZ reach leash from sshd and are left in place (build/runtime-env.cjs):
// that is sound only while nothing in leash depends on the locale or the local time zone.
const localeDependent = code.match(/\b(?:toLocale\w*|localeCompare|Intl\.\w+|getTimezoneOffset|toDateString|toTimeString|get(?:FullYear|Month|Date|Day|Hours|Minutes|Seconds)\(\))/g);
if (localeDependent) fail(`bundle uses locale- or time-zone-dependent functions (${[...new Set(localeDependent)].join(', ')}): they would make LANG/LC_*/TZ change what leash does`);

// The roles cli.ts loads with `await import()` must not be reachable from the
// entry through static imports, or esbuild evaluates them at start-up.
const edges = (file, kinds) => meta.inputs[file].imports.filter((i) => kinds.includes(i.kind) && !i.external).map((i) => i.path);
const eager = new Set();
const stack = [rel(ENTRY)];
while (stack.length) {
  const f = stack.pop();
  if (eager.has(f)) continue;
  eager.add(f);
  stack.push(...edges(f, ['import-statement', 'require-call']));
}
const lazy = [...new Set([...eager].flatMap((f) => edges(f, ['dynamic-import'])))].sort();
const eagerLazy = lazy.filter((f) => eager.has(f));
if (eagerLazy.length) fail(`lazily imported modules are also imported statically from the entry: ${eagerLazy.join(', ')}`);
log(`bundled ${rel(BUNDLE)} (${size(BUNDLE)}, ${Object.keys(meta.inputs).length} modules; ${eager.size} evaluated at start-up; lazy: ${lazy.join(' ') || 'none'})`);
log(`  built-ins required: ${[...new Set(external)].sort().join(' ') || 'none'}`);

// 3. Warm code caches. The bundle goes into the executable as the SEA asset
// "leash.js", wrapped in the CommonJS function wrapper, and build/sea-loader.cjs
// (the SEA main) compiles it with vm.Script and one of the cache assets. They
// are made here by build/warm-cache.mjs: on the same runtime, with no flags
// and an empty environment (V8 rejects a cache made under other flags), it
// compiles the same text, runs leash's roles for real, one child process per
// role, and writes script.createCachedData() after each, which then holds
// every function that role compiled, not only the eagerly compiled ones that
// Node's own SEA cache has.
const seaAssets = {};
mkdirSync(SEA_DIR);
if (WARM) {
  writeFileSync(SEA_SOURCE, `(function (exports, require, module, __filename, __dirname) {${code}\n})`);
  seaAssets['leash.js'] = SEA_SOURCE;
  const tWarm = performance.now();
  // The driver imports the tests' TypeScript minter: bundle it first.
  const driver = join(SEA_DIR, 'warm-cache.mjs');
  await build({ entryPoints: [WARM_DRIVER], outfile: driver, bundle: true, platform: 'node', target: 'node24', format: 'esm', packages: 'external', define: { REPOSITORY_ROOT: JSON.stringify(ROOT) }, logLevel: 'warning', absWorkingDir: ROOT });
  const warm = spawnSync(RUNTIME, [driver, SEA_SOURCE, SEA_DIR], { encoding: 'utf8', env: {}, cwd: DIST, timeout: 300_000 });
  if (warm.error || warm.status !== 0) {
    fail(`${rel(WARM_DRIVER)}: status ${warm.status}${warm.error ? `, ${warm.error.message}` : ''}\n${warm.stdout}${warm.stderr}`);
  }
  // Only the "not root" notice may appear on stderr; it is passed on.
  if (warm.stderr !== '') writeSync(2, `build: WARNING: ${warm.stderr}`);
  for (const name of SEA_CACHES) if (existsSync(join(SEA_DIR, name))) seaAssets[name] = join(SEA_DIR, name);
  if (!seaAssets['leash.cache']) fail(`${rel(WARM_DRIVER)} made no ${rel(join(SEA_DIR, 'leash.cache'))}`);
  log(`warm code caches in ${((performance.now() - tWarm) / 1000).toFixed(1)} s: ${warm.stdout.trim().split('\n').join('; ')}`);
}

// 4. The SEA main, one file: build/sea-loader.cjs with build/runtime-env.cjs
// bundled in; with --no-warm-cache, runtime-env.cjs's restart followed by the
// bundle itself (no loader, Node's own code cache).
await build({
  ...(WARM
    ? { entryPoints: [LOADER] }
    : { stdin: { contents: `require(${JSON.stringify(RUNTIME_ENV)}).leaveRuntimeEnvironment();\nrequire(${JSON.stringify(BUNDLE)});\n`, resolveDir: ROOT, loader: 'js' } }),
  outfile: SEA_MAIN,
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'cjs',
  logLevel: 'warning',
  absWorkingDir: ROOT,
});

// 5. Single executable: pkg's simple SEA mode (sea-config main = dist/sea/main.cjs;
// no VFS bootstrap) with `nodePath` set,
// so pkg neither resolves a version nor downloads a runtime. fetch is
// disabled in this process as a guarantee.
globalThis.fetch = async (url) => {
  throw new Error(`network access attempted during build (${url}); the build must be offline`);
};
const require = createRequire(import.meta.url);
const pkgVersion = require('@yao-pkg/pkg/package.json').version;
const sea = require('@yao-pkg/pkg/lib-es5/sea.js').default;
const seaConfig = SEA_CONFIG;
// pkg runs the runtime to generate the blob with this process's environment:
// extra Node/V8 flags there would make the code cache be rejected at run time.
delete process.env.NODE_OPTIONS;
const tSea = performance.now();
try {
  await sea(SEA_MAIN, {
    targets: [{ ...SEA_TARGET, output: OUTPUT }],
    nodePath: RUNTIME,
    signature: false,
    // Node's sea-config "assets": read back with node:sea getAsset()/getRawAsset().
    seaConfig: WARM ? { ...seaConfig, assets: seaAssets } : seaConfig,
  });
} catch (err) {
  fail(`pkg ${pkgVersion} SEA step: ${err.message}`);
}
chmodSync(OUTPUT, 0o755);
log(`pkg ${pkgVersion} simple SEA, main ${rel(SEA_MAIN)} from ${rel(WARM ? LOADER : BUNDLE)} (${JSON.stringify(seaConfig)}) in ${((performance.now() - tSea) / 1000).toFixed(1)} s`);

// 6. Smoke test with an empty environment. Any stderr (e.g. "Code cache data
// rejected") fails the build. Then each cache is loaded once with
// LEASH_CODE_CACHE_CHECK=1, which makes the loader say on stderr when V8
// rejected it (it only prints; leash works either way): a usage error
// (exit 64) is enough, V8 has accepted or rejected the cache by then.
const smoke = spawnSync(OUTPUT, ['--version'], { encoding: 'utf8', env: {}, cwd: DIST, timeout: 10_000 });
const line = smoke.stdout?.trim();
if (smoke.error || smoke.status !== 0 || smoke.stderr !== '' || line !== `leash ${version}`) {
  fail(`${rel(OUTPUT)} --version: status ${smoke.status}, stdout ${JSON.stringify(smoke.stdout)}, stderr ${JSON.stringify(smoke.stderr)}${smoke.error ? `, ${smoke.error.message}` : ''}; expected "leash ${version}"`);
}
log(`${rel(OUTPUT)} --version: ${line}`);
// The same with variables the runtime reads: the executable restarts without
// them (build/runtime-env.cjs) and must answer exactly the same.
const dirty = spawnSync(OUTPUT, ['--version'], { encoding: 'utf8', env: { NODE_DEBUG: 'module,child_process', NODE_PENDING_DEPRECATION: '1', UV_THREADPOOL_SIZE: '1', FORCE_COLOR: '3' }, cwd: DIST, timeout: 10_000 });
if (dirty.error || dirty.status !== 0 || dirty.stderr !== '' || dirty.stdout !== smoke.stdout) {
  fail(`${rel(OUTPUT)} --version with NODE_DEBUG etc. set: status ${dirty.status}, stdout ${JSON.stringify(dirty.stdout)}, stderr ${JSON.stringify(dirty.stderr)}; expected exactly the clean run's output`);
}
log(`  with the runtime's variables set: the same (restarted without them)`);
if (WARM) {
  const checked = [];
  for (const name of Object.keys(seaAssets).filter((n) => n.endsWith('.cache'))) {
    const role = name.split('.').length === 3 ? name.split('.')[1] : 'help';
    const r = spawnSync(OUTPUT, [role, '--no-such-flag'], { encoding: 'utf8', env: { LEASH_CODE_CACHE_CHECK: '1' }, cwd: DIST, timeout: 10_000 });
    if (r.error || r.status !== 64 || /code cache|Code cache/.test(r.stderr)) {
      fail(`${rel(OUTPUT)} ${role} --no-such-flag with LEASH_CODE_CACHE_CHECK=1: status ${r.status}, stderr ${JSON.stringify(r.stderr)}${r.error ? `, ${r.error.message}` : ''}; expected exit 64 and the ${name} cache accepted`);
    }
    checked.push(name);
  }
  log(`  code caches accepted at run time: ${checked.join(' ')}`);
}
log(`  ${rel(BUNDLE)} sha256 ${sha256(BUNDLE)}; build id ${buildId}`);
log(`  ${rel(OUTPUT)} sha256 ${sha256(OUTPUT)} (${(statSync(OUTPUT).size / 1048576).toFixed(1)} MiB, mode 0755)`);
log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
