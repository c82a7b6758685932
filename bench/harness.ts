/**
 * leash's start-up benchmark (`npm run bench`; bench/run.mjs bundles and starts
 * this file with a clean environment). It sets up, with the test helpers:
 * a REAL OpenID provider on 127.0.0.1, an OPKSSH certificate from a real
 * login (test/helpers/pktoken.ts), a root-owned config directory with a warm
 * JWKS cache, a copy of dist/leash in a root-owned directory, an empty SEA
 * built exactly like dist/leash (the floor), and two sshd on loopback. Then:
 *
 *   verify   hyperfine: leash verify's first call (full, warm cache) and sshd's
 *            second call (answered from the memo) vs the runtime's `-e 0`, the empty SEA, /bin/true
 *   shell    hyperfine: leash shell running uptime vs uptime
 *   relay    hyperfine: 100 MB through leash shell (relayed, recorded, capped) vs the command directly
 *   explain  decisions per second in one process, and `leash explain` per process
 *   cold     hyperfine: verify with an empty JWKS cache (discovery + JWKS fetch) vs warm
 *   rss      peak RSS of each invocation (/usr/bin/time), a freshly written binary, page cache evicted
 *   callgrind instructions per invocation (valgrind; independent of machine load)
 *   e2e      ssh … uptime on ONE sshd (restarted RESTARTS times): leash verify, CA mode,
 *            authprogs (the peer) and a plain key, interleaved
 *   mux      the same command over open ControlMaster connections: leash, authprogs, plain
 *
 * Output goes to pipes, as under sshd (hyperfine --output=pipe; the ssh sections read both streams).
 *
 * hyperfine sections run in rounds (all commands once per round, order
 * rotated) and pool the rounds, so slow phases of a noisy machine hit every
 * command alike. Writes bench/results/latest.{json,md}.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startProvider, type TestProvider } from '../test/helpers/oidc-provider.js';
import { mintLogin, type MintedLogin } from '../test/helpers/pktoken.js';
import { AKC_USER, ensureAkcUser, ensureUser, generateKey, sshArgs, startSshd, type LocalUser, type SshdOptions } from '../test/helpers/sshd.js';
import { makeRuntimeDir } from '../test/helpers/runtime-dir.js';
import { installBinary, trustedTempDir, type InstalledBinary, type TempDir } from '../test/helpers/tmp.js';
import { loadProfile } from '../src/policy/load.js';
import { leashYaml } from '../test/helpers/leash-yaml.js';
import { decide } from '../src/shell/decide.js';
import { realFs } from '../src/policy/fs-view.js';
import { SEA_CONFIG, SEA_TARGET } from '../build/sea-config.mjs';

// ---------------------------------------------------------------- options

const { values: opt } = parseArgs({
  options: {
    repo: { type: 'string' },
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    rounds: { type: 'string' },
    runs: { type: 'string' },
    'e2e-runs': { type: 'string' },
    /** sshd is restarted this many times in e2e: its padding of unauthenticated requests is per instance. */
    restarts: { type: 'string' },
    'no-callgrind': { type: 'boolean', default: false },
    out: { type: 'string' },
    /** Set up, print the fixture paths and exit without cleaning up (for profiling by hand). */
    'setup-only': { type: 'boolean', default: false },
  },
});
const REPO = opt.repo ?? process.cwd();
const SECTIONS = ['verify', 'shell', 'relay', 'explain', 'cold', 'rss', 'callgrind', 'e2e', 'mux', 'resident'] as const;
type Section = (typeof SECTIONS)[number];
const only = new Set((opt.only ?? SECTIONS.join(',')).split(',').map((s) => s.trim()));
for (const s of only) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only: unknown section ${s} (${SECTIONS.join(', ')})`);
const want = (s: Section): boolean => only.has(s) && !(s === 'callgrind' && (opt['no-callgrind'] || !existsSync('/usr/bin/valgrind')));
/** hyperfine: ROUNDS × RUNS timed runs per command (plus 3 warm-ups per round). */
const ROUNDS = Number(opt.rounds ?? (opt.quick ? 2 : 5));
const RUNS = Number(opt.runs ?? (opt.quick ? 5 : 10));
const E2E_RUNS = Number(opt['e2e-runs'] ?? (opt.quick ? 8 : 40));
const RESTARTS = Math.max(1, Number(opt.restarts ?? (opt.quick ? 2 : 4)));
const RESULTS = opt.out ?? join(REPO, 'bench', 'results');

const RUNTIME = join(REPO, 'node_modules', 'node', 'bin', 'node');
const LEASH_SRC = join(REPO, 'dist', 'leash');
const AGENT = 'leash-bench';
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** What sshd gives an AuthorizedKeysCommand: (almost) nothing. */
const CLEAN_ENV = { PATH };
const UPTIME = '/usr/bin/uptime';
/** The relay section's output: 100 MB, as the issue asks. */
const RELAY_BYTES = 100_000_000;

const log = (s: string): void => void process.stderr.write(`bench: ${s}\n`);

// ---------------------------------------------------------------- statistics

export interface Stats {
  n: number;
  median: number;
  p25: number;
  p75: number;
  min: number;
  max: number;
  mean: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

function stats(xs: number[]): Stats {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, median: quantile(s, 0.5), p25: quantile(s, 0.25), p75: quantile(s, 0.75), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN, mean: s.reduce((a, b) => a + b, 0) / s.length };
}

const ms = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

// ---------------------------------------------------------------- processes

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runSync(file: string, args: readonly string[], env: Record<string, string> = CLEAN_ENV, timeout = 120_000): RunResult {
  const r = spawnSync(file, args, { env, encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? `\n${r.error.message}` : '') };
}

/**
 * Asynchronous: the OpenID provider lives in this process, so anything that
 * may talk to it (jwks refresh, cold verify) must not block the event loop.
 */
function run(file: string, args: readonly string[], env: Record<string, string> = CLEAN_ENV, timeout = 900_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => (stderr += `\n${err.message}`));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function mustRun(file: string, args: readonly string[], env: Record<string, string> = CLEAN_ENV): Promise<RunResult> {
  const r = await run(file, args, env);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r;
}

/** hyperfine -N splits its command string like a shell: quote what needs it. */
const q = (a: string): string => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'"'"'`)}'`);

interface Cmd {
  name: string;
  argv: string[];
  /** Run (untimed) before each run of this command. */
  prepare?: string[];
}

interface TimedCmd {
  name: string;
  command: string;
  wall: Stats;
  /** user+sys CPU per run (hyperfine's per-round means, pooled). */
  cpu: number;
  times: number[];
}

/**
 * Runs hyperfine `rounds` times over all commands, rotating their order, and
 * pools each command's wall times. Every command must exit 0 (a refused
 * verify would be fast and meaningless). Output goes to a pipe (hyperfine
 * --output=pipe), as under sshd: a program writing to /dev/null may skip
 * work (Node makes a net.Socket for process.stdout only on a pipe). hyperfine
 * gives stderr /dev/null either way; the e2e sections have pipes on both.
 * `prepare` (one per command) runs before each timed run, from the same
 * parent process as the run (hyperfine -N): what sshd's second
 * AuthorizedKeysCommand call needs, the first call from the same parent.
 */
async function hyperfine(cmds: Cmd[], env: Record<string, string>, rounds = ROUNDS, runs = RUNS): Promise<TimedCmd[]> {
  const dir = await mkdtemp(join(tmpdir(), 'leash-bench-hf-'));
  const acc = cmds.map((c) => ({ name: c.name, command: c.argv.map(q).join(' '), times: [] as number[], cpu: [] as number[] }));
  const prepared = cmds.some((c) => c.prepare !== undefined);
  try {
    for (let r = 0; r < rounds; r++) {
      const order = cmds.map((_, i) => (i + r) % cmds.length);
      const json = join(dir, `r${r}.json`);
      const args = ['-N', '--style', 'none', '--output', 'pipe', '-w', '3', '-r', String(runs), '--export-json', json];
      if (prepared) for (const i of order) args.push('--prepare', (cmds[i]!.prepare ?? ['/bin/true']).map(q).join(' '));
      for (const i of order) args.push('-n', cmds[i]!.name, acc[i]!.command);
      await mustRun('/usr/bin/hyperfine', args, env);
      const out = JSON.parse(await readFile(json, 'utf8')) as { results: { times: number[]; user: number; system: number }[] };
      out.results.forEach((res, k) => {
        const a = acc[order[k]!]!;
        a.times.push(...res.times.map((t) => t * 1000));
        a.cpu.push((res.user + res.system) * 1000);
      });
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return acc.map((a) => ({ name: a.name, command: a.command, times: a.times, wall: stats(a.times), cpu: stats(a.cpu).mean }));
}

/** Wall time of one child in ms, measured around spawn → exit. */
function timed(file: string, args: readonly string[], env: Record<string, string>, check: (r: RunResult) => string | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(file, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const t = Number(process.hrtime.bigint() - t0) / 1e6;
      const bad = check({ code, stdout, stderr });
      if (bad) reject(new Error(`${file} ${args.join(' ')}: ${bad} (exit ${code}, stderr ${JSON.stringify(stderr.slice(0, 500))})`));
      else resolve(t);
    });
  });
}

// ---------------------------------------------------------------- fixtures

interface Fixtures {
  leash: InstalledBinary;
  floorSea: InstalledBinary | null;
  op: TestProvider;
  alice: MintedLogin;
  cfg: TempDir;
  coldCfg: TempDir;
  sshdCfg: TempDir;
  audit: string;
  keyDir: string;
  /** RELAY_BYTES of text, for the relay section. */
  relayFile: string;
  cleanups: (() => Promise<void>)[];
}

/** An SEA of an empty script, built by the same pkg function with the same settings as dist/leash: the floor. */
async function buildFloorSea(work: string): Promise<string | null> {
  try {
    const require = createRequire(join(REPO, 'package.json'));
    const sea = (require('@yao-pkg/pkg/lib-es5/sea.js') as { default: (entry: string, o: unknown) => Promise<void> }).default;
    const entry = join(work, 'floor.cjs');
    await writeFile(entry, '"use strict";\n');
    const output = join(work, 'floor');
    // The same settings as dist/leash (build/sea-config.mjs).
    const seaConfig: Record<string, unknown> = { ...SEA_CONFIG };
    if (seaConfig['useSnapshot'] === true) {
      // A snapshot needs a main that registers a deserialize function.
      await writeFile(entry, '"use strict";\nrequire("v8").startupSnapshot.setDeserializeMainFunction(() => {});\n');
    }
    const saved = globalThis.fetch;
    globalThis.fetch = (async () => {
      throw new Error('network access attempted while building the floor SEA');
    }) as typeof fetch;
    try {
      await sea(entry, { targets: [{ ...SEA_TARGET, output }], nodePath: RUNTIME, signature: false, seaConfig });
    } finally {
      globalThis.fetch = saved;
    }
    const r = await run(output, []);
    if (r.code !== 0 || r.stderr !== '') throw new Error(`floor SEA: exit ${r.code} ${r.stderr}`);
    return output;
  } catch (err) {
    log(`could not build the empty SEA (${err instanceof Error ? err.message : String(err)}); the floor is the runtime's -e 0 only`);
    return null;
  }
}

/**
 * A configuration directory as install.sh leaves it, with its own runtime_dir
 * (never the host's /run/leash) whose verifier state belongs to `verifier`:
 * root for the standalone runs, the AuthorizedKeysCommandUser under sshd.
 */
async function writeConfig(dir: string, op: TestProvider, audit: string, cache: string, verifier?: LocalUser): Promise<void> {
  const runtimeDir = await makeRuntimeDir(dir, verifier);
  const yaml = leashYaml({ issuer: op.issuer, clientId: op.clientId, grants: [{ identity: 'alice@example.com', principals: [AGENT] }], auditLog: audit, jwksCacheDir: cache, runtimeDir });
  await writeFile(join(dir, 'leash.yaml'), yaml, { mode: 0o644 });
  await chmod(join(dir, 'leash.yaml'), 0o644);
  await mkdir(join(dir, 'policies'), { mode: 0o755 });
  await chmod(join(dir, 'policies'), 0o755);
  for (const p of ['diagnostic', 'remediation']) {
    const f = join(dir, 'policies', `${p}.yaml`);
    await copyFile(join(REPO, 'policies', `${p}.yaml`), f);
    await chmod(f, 0o644);
  }
  if (!existsSync(cache)) {
    await mkdir(cache, { mode: 0o755 });
    await chmod(cache, 0o755); // root-owned: leash accepts root or its own user as the cache's owner
  }
}

async function setUp(): Promise<Fixtures> {
  const cleanups: (() => Promise<void>)[] = [];
  try {
    return await setUpInto(cleanups);
  } catch (err) {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    throw err;
  }
}

async function setUpInto(cleanups: (() => Promise<void>)[]): Promise<Fixtures> {
  await ensureUser(AGENT);
  const akc = await ensureAkcUser();

  // A private copy: other builds of dist/leash during the run do not matter.
  const leash = await installBinary(LEASH_SRC);
  cleanups.push(leash.cleanup);
  const work = await mkdtemp(join(tmpdir(), 'leash-bench-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  log('building the empty SEA (the floor) with the build\'s pkg settings');
  const floorPath = await buildFloorSea(work);
  const floorSea = floorPath ? await installBinary(floorPath, 'floor') : null;
  if (floorSea) cleanups.push(floorSea.cleanup);

  log('starting the OpenID provider and minting a certificate from a real login');
  const op = await startProvider();
  cleanups.push(op.stop);
  const keyDir = join(work, 'keys');
  await mkdir(keyDir, { mode: 0o700 });
  const alice = await mintLogin(op, 'alice', { dir: keyDir, name: 'alice' });

  const cfg = await trustedTempDir('bench-');
  cleanups.push(cfg.cleanup);
  const coldCfg = await trustedTempDir('bench-cold-');
  cleanups.push(coldCfg.cleanup);
  // What sshd runs: the same configuration, its verifier state the AuthorizedKeysCommandUser's.
  const sshdCfg = await trustedTempDir('bench-sshd-');
  cleanups.push(sshdCfg.cleanup);
  // Appended to by root (standalone runs), leash-akc (verify under sshd) and the session user.
  const audit = join(cfg.path, 'audit.jsonl');
  // The recordings log beside it (the default place), for the same writers.
  for (const log of [audit, join(cfg.path, 'recordings.jsonl')]) {
    await writeFile(log, '', { mode: 0o666 });
    await chmod(log, 0o666);
  }
  await writeConfig(cfg.path, op, audit, join(cfg.path, 'jwks-cache'));
  await writeConfig(coldCfg.path, op, audit, join(coldCfg.path, 'jwks-cache'));
  await writeConfig(sshdCfg.path, op, audit, join(cfg.path, 'jwks-cache'), akc);
  // The relay section's profile and its 100 MB of output (a file: the page cache serves it).
  const relayFile = join(cfg.path, 'data', 'out.bin');
  await mkdir(join(cfg.path, 'data'), { mode: 0o755 });
  await writeFile(relayFile, Buffer.alloc(RELAY_BYTES, 'leash relay\n'), { mode: 0o644 });
  await writeFile(join(cfg.path, 'policies', 'relay.yaml'), `description: the benchmark's relay profile\npaths:\n  allow:\n    - ${join(cfg.path, 'data')}/**\ncommands:\n  cat:\n    binary: /usr/bin/cat\n    operands: path 1..1\n`, { mode: 0o644 });
  // Warm cache: what the refresh timer keeps filled.
  const refresh = await run(leash.path, ['--config-dir', cfg.path, 'jwks', 'refresh']);
  if (refresh.code !== 0) throw new Error(`leash jwks refresh: ${refresh.stdout}${refresh.stderr}`);
  // As install.sh does: validate as root and write the compiled cache, so
  // logins skip YAML parsing, in both configurations.
  for (const dir of [cfg.path, coldCfg.path, sshdCfg.path]) {
    const check = await run(leash.path, ['--config-dir', dir, 'policy', 'check']);
    if (check.code !== 0 || !check.stdout.includes('compiled cache updated')) throw new Error(`leash policy check: ${check.stdout}${check.stderr}`);
  }
  return { leash, floorSea, op, alice, cfg, coldCfg, sshdCfg, audit, keyDir, relayFile, cleanups };
}

// ---------------------------------------------------------------- results

interface Row {
  section: string;
  name: string;
  median_ms: number;
  p25_ms: number;
  p75_ms: number;
  min_ms: number;
  n: number;
  cpu_ms?: number;
  ratio?: { to: string; value: number };
}

interface Target {
  what: string;
  measured: number;
  limit: number;
  met: boolean;
  detail: string;
}

const rows: Row[] = [];
const targets: Target[] = [];
const extra: Record<string, unknown> = {};

function addTimed(section: string, t: TimedCmd, base?: TimedCmd): void {
  rows.push({
    section,
    name: t.name,
    median_ms: t.wall.median,
    p25_ms: t.wall.p25,
    p75_ms: t.wall.p75,
    min_ms: t.wall.min,
    n: t.wall.n,
    cpu_ms: t.cpu,
    ...(base ? { ratio: { to: base.name, value: t.wall.median / base.wall.median } } : {}),
  });
}

function target(what: string, measured: number, limit: number, detail: string): void {
  targets.push({ what, measured, limit, met: measured <= limit, detail });
}

// ---------------------------------------------------------------- sections

/** The verifier state directory of a configuration from writeConfig (the memos live there). */
const stateDir = (cfg: TempDir): string => join(cfg.path, 'run', 'verify');
const verifyArgv = (f: Fixtures, cfg = f.cfg): string[] => [f.leash.path, '--config-dir', cfg.path, 'verify', AGENT, f.alice.keyBase64, f.alice.keyType];
/** Before a first call: no memo left by the run before it (same parent, same arguments: it would answer). */
const forgetMemos = (f: Fixtures): string[] => ['/usr/bin/find', stateDir(f.cfg), '-mindepth', '1', '-delete'];
const acceptedCount = async (f: Fixtures): Promise<number> => (await readFile(f.audit, 'utf8')).split('\n').filter((l) => l.includes('"verify.accepted"')).length;

async function benchVerify(f: Fixtures): Promise<void> {
  const first: Cmd = { name: 'leash verify, first call (full, warm cache)', argv: verifyArgv(f), prepare: forgetMemos(f) };
  const second: Cmd = { name: 'leash verify, second call (from the memo)', argv: verifyArgv(f), prepare: verifyArgv(f) };
  const check = await run(first.argv[0]!, first.argv.slice(1));
  if (check.code !== 0 || !check.stdout.startsWith('cert-authority,')) throw new Error(`leash verify does not accept the benchmark certificate: ${check.stderr}`);
  if (!/jwks":"cache"|"jwks":"cache"/.test(await readFile(f.audit, 'utf8'))) log('warning: the warm verify did not report jwks source "cache"');
  // The pair from one parent (this process): the second must be answered from the first.
  await mustRun('/usr/bin/find', forgetMemos(f).slice(1));
  const before = await acceptedCount(f);
  const a = await run(first.argv[0]!, first.argv.slice(1));
  const b = await run(first.argv[0]!, first.argv.slice(1));
  if (a.code !== 0 || b.stdout !== a.stdout || (await acceptedCount(f)) !== before + 1) throw new Error(`the second verify call was not answered from the memo (${b.stderr})`);
  const floor: Cmd = { name: 'runtime -e 0 (floor)', argv: [RUNTIME, '-e', '0'] };
  const cmds: Cmd[] = [first, floor];
  if (f.floorSea) cmds.push({ name: 'empty SEA', argv: [f.floorSea.path] });
  cmds.push({ name: 'leash --version', argv: [f.leash.path, '--version'] });
  cmds.push({ name: '/bin/true', argv: ['/bin/true'] });
  log(`verify: hyperfine ${ROUNDS}×${RUNS} runs × ${cmds.length + 1} commands`);
  // The second call alone in its hyperfine, each round, after its own first
  // call (the prepare) and with no memo left over: a leftover memo would
  // answer the prepare, and the timed run would then be a first call.
  const floorBeside: Cmd = { name: 'runtime -e 0 (floor, timed beside the second call)', argv: floor.argv };
  const pooled: TimedCmd[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const main = await hyperfine(r % 2 === 0 ? cmds : [...cmds].reverse(), CLEAN_ENV, 1);
    await mustRun('/usr/bin/find', forgetMemos(f).slice(1));
    const [hit, hitFloor] = await hyperfine(r % 2 === 0 ? [second, floorBeside] : [floorBeside, second], CLEAN_ENV, 1).then((x) => (x[0]!.name === second.name ? x : [x[1]!, x[0]!]));
    const round = [...cmds.map((c) => main.find((m) => m.name === c.name)!), hitFloor!, hit!];
    round.forEach((t, i) => {
      const p = (pooled[i] ??= { name: t.name, command: t.command, times: [], wall: t.wall, cpu: 0 });
      p.times.push(...t.times);
      p.cpu += t.cpu / ROUNDS;
    });
  }
  for (const p of pooled) p.wall = stats(p.times);
  const hitT = pooled[pooled.length - 1]!;
  const hitFloorT = pooled[pooled.length - 2]!;
  const floorT = pooled[1]!;
  for (const r of pooled.slice(0, -2)) addTimed('verify', r, r === floorT ? undefined : floorT);
  addTimed('verify', hitT, hitFloorT);
  addTimed('verify', hitFloorT);
  extra['floor_ms'] = floorT.wall.median;
  const ratio = pooled[0]!.wall.median / floorT.wall.median;
  target('verify, first call ≤ 1.5 × floor (runtime -e 0)', ratio, 1.5, `${ms(pooled[0]!.wall.median)} ms vs ${ms(floorT.wall.median)} ms`);
  const ratio2 = hitT.wall.median / hitFloorT.wall.median;
  target("verify, sshd's second call ≤ 1.1 × floor", ratio2, 1.1, `${ms(hitT.wall.median)} ms vs ${ms(hitFloorT.wall.median)} ms`);
}

function shellArgv(f: Fixtures, bin: string, profile = 'diagnostic'): string[] {
  return [bin, '--config-dir', f.cfg.path, 'shell', '--profile', profile, '--identity', 'alice@example.com', '--session', '0123456789abcdef0123456789abcdef', '--expires', String(Math.floor(Date.now() / 1000) + 86_400)];
}

/** The environment sshd gives a forced command (roughly): the client's command and connection. */
const SESSION_ENV = { ...CLEAN_ENV, SSH_ORIGINAL_COMMAND: 'uptime', SSH_CONNECTION: '127.0.0.1 50000 127.0.0.1 22', USER: 'root', HOME: '/root', SHELL: '/bin/bash' };

async function benchShell(f: Fixtures): Promise<void> {
  const shell: Cmd = { name: 'leash shell: uptime', argv: shellArgv(f, f.leash.path) };
  const check = await run(shell.argv[0]!, shell.argv.slice(1), SESSION_ENV);
  if (check.code !== 0 || !/load average/.test(check.stdout)) throw new Error(`leash shell did not run uptime: ${check.stderr}`);
  const cmds: Cmd[] = [shell, { name: 'uptime', argv: [UPTIME] }, { name: 'runtime -e 0 (floor)', argv: [RUNTIME, '-e', '0'] }];
  log(`shell: hyperfine ${ROUNDS}×${RUNS} runs × ${cmds.length} commands`);
  const res = await hyperfine(cmds, SESSION_ENV);
  const [s, u, fl] = res as [TimedCmd, TimedCmd, TimedCmd];
  addTimed('shell', s, u);
  addTimed('shell', u);
  addTimed('shell', fl);
  const budget = fl.wall.median + u.wall.median;
  rows.push({ section: 'shell', name: 'floor + uptime (sum of medians)', median_ms: budget, p25_ms: NaN, p75_ms: NaN, min_ms: NaN, n: 0 });
  const ratio = s.wall.median / budget;
  rows[rows.length - 3]!.ratio = { to: 'floor + uptime', value: ratio };
  target('shell uptime ≤ 1.5 × (floor + uptime)', ratio, 1.5, `${ms(s.wall.median)} ms vs ${ms(fl.wall.median)} + ${ms(u.wall.median)} ms`);
}

/**
 * The relay: leash shell copies the command's output to its own stdout (the
 * output cap counts it, the recordings log keeps its first record_output
 * bytes) instead of handing the command its descriptor. 100 MB through it,
 * against the same command writing to the pipe directly.
 */
async function benchRelay(f: Fixtures): Promise<void> {
  const command = `cat ${f.relayFile}`;
  const env = { ...SESSION_ENV, SSH_ORIGINAL_COMMAND: command };
  const shell: Cmd = { name: 'leash shell: cat 100 MB (relayed, recorded, capped)', argv: shellArgv(f, f.leash.path, 'relay') };
  const check = await run(shell.argv[0]!, shell.argv.slice(1), env);
  if (check.code !== 0 || check.stdout.length !== RELAY_BYTES) throw new Error(`leash shell did not relay ${RELAY_BYTES} bytes (got ${check.stdout.length}, exit ${check.code}): ${check.stderr}`);
  const direct: Cmd = { name: 'cat 100 MB directly', argv: ['/usr/bin/cat', f.relayFile] };
  const runs = Math.max(3, Math.round(RUNS / 2));
  log(`relay: hyperfine ${ROUNDS}×${runs} runs × 2 commands`);
  const [s, d] = (await hyperfine([shell, direct], env, ROUNDS, runs)) as [TimedCmd, TimedCmd];
  addTimed('relay', s, d);
  addTimed('relay', d);
  const mbps = (t: TimedCmd): number => RELAY_BYTES / 1e6 / (t.wall.median / 1000);
  extra['relay'] = { bytes: RELAY_BYTES, leash_mb_per_s: mbps(s), direct_mb_per_s: mbps(d) };
  target('relay: 100 MB through leash shell within 20 % of direct', s.wall.median / d.wall.median, 1.2, `${mbps(s).toFixed(0)} vs ${mbps(d).toFixed(0)} MB/s`);
}

function corpus(): string[] {
  return readFileSync(join(REPO, 'bench', 'corpus.txt'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
}

async function benchExplain(f: Fixtures): Promise<void> {
  const lines = corpus();
  // 1. In one process: the same decide() leash shell calls, on the same runtime.
  const profile = await loadProfile(f.cfg.path, 'diagnostic');
  let allowed = 0;
  for (const l of lines) if (decide(profile, l, realFs).allow) allowed++;
  for (let i = 0; i < 20; i++) for (const l of lines) decide(profile, l, realFs); // warm up
  const t0 = process.hrtime.bigint();
  let n = 0;
  while (Number(process.hrtime.bigint() - t0) < 1e9) {
    for (const l of lines) decide(profile, l, realFs);
    n += lines.length;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  // First decisions in a fresh process are slower (cold code); measure that too.
  const first = await coldDecisions(f, lines);
  extra['explain'] = { commands: lines.length, allowed, denied: lines.length - allowed, decisions_per_second: n / secs, us_per_decision: (secs / n) * 1e6, first_pass_ms: first };
  log(`explain: ${(n / secs).toFixed(0)} decisions/s warm, first pass over ${lines.length} in a fresh process ${first.toFixed(1)} ms`);

  // 2. Per process: dist/leash explain on each corpus line (50 processes), against the floor.
  const t1 = process.hrtime.bigint();
  for (const l of lines) {
    const r = await run(f.leash.path, ['--config-dir', f.cfg.path, 'explain', '--profile', 'diagnostic', '--', l]);
    if (r.code !== 0 && r.code !== 126) throw new Error(`leash explain ${l}: exit ${r.code} ${r.stderr}`);
  }
  const perProcess = Number(process.hrtime.bigint() - t1) / 1e6 / lines.length;
  (extra['explain'] as Record<string, unknown>)['dist_leash_explain_ms_per_command'] = perProcess;
  const res = await hyperfine(
    [
      { name: 'leash explain (1 command)', argv: [f.leash.path, '--config-dir', f.cfg.path, 'explain', '--profile', 'diagnostic', '--', 'journalctl -u cron -n 50'] },
      { name: 'runtime -e 0 (floor)', argv: [RUNTIME, '-e', '0'] },
    ],
    CLEAN_ENV,
  );
  addTimed('explain', res[0]!, res[1]!);
  addTimed('explain', res[1]!);
}

/** The first pass over the corpus in a fresh runtime process (profile load + decisions, no code warm). */
async function coldDecisions(f: Fixtures, lines: string[]): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), 'leash-bench-cold-'));
  try {
    const script = join(work, 'cold.cjs');
    const { build } = (await import('esbuild')) as typeof import('esbuild');
    await build({ entryPoints: [join(REPO, 'bench', 'cold-decisions.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: script, logLevel: 'warning', absWorkingDir: REPO });
    const r = await mustRun(RUNTIME, [script, f.cfg.path, JSON.stringify(lines)]);
    return Number(r.stdout);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function benchCold(f: Fixtures): Promise<void> {
  const cache = join(f.coldCfg.path, 'jwks-cache');
  const verify = (cfg: string): string[] => [f.leash.path, '--config-dir', cfg, 'verify', AGENT, f.alice.keyBase64, f.alice.keyType];
  // An empty cache and no memo (hyperfine -N: the runs share a parent, so a memo would answer).
  const clear = `/bin/sh -c ${q(`find ${cache} ${stateDir(f.coldCfg)} -mindepth 1 -delete`)}`;
  const before = f.op.keyRequests();
  const res: TimedCmd[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'leash-bench-cold-'));
  try {
    // The cold command needs a --prepare (empty the cache before each run), so it gets its own hyperfine call per round.
    const cold: number[] = [];
    const cpu: number[] = [];
    const warm: number[] = [];
    const warmCpu: number[] = [];
    const warmCmd = verify(f.cfg.path);
    log(`cold: hyperfine ${ROUNDS}×${RUNS} runs, empty cache (discovery + JWKS from the local provider) vs warm`);
    for (let r = 0; r < ROUNDS; r++) {
      const json = join(dir, `c${r}.json`);
      await mustRun('/usr/bin/hyperfine', ['-N', '--style', 'none', '--output', 'pipe', '-w', '1', '-r', String(RUNS), '--prepare', clear, '--export-json', json, '-n', 'cold', verify(f.coldCfg.path).map(q).join(' ')], CLEAN_ENV);
      const jw = join(dir, `w${r}.json`);
      await mustRun('/usr/bin/hyperfine', ['-N', '--style', 'none', '--output', 'pipe', '-w', '3', '-r', String(RUNS), '--prepare', forgetMemos(f).map(q).join(' '), '--export-json', jw, '-n', 'warm', warmCmd.map(q).join(' ')], CLEAN_ENV);
      for (const [file, t, c] of [[json, cold, cpu], [jw, warm, warmCpu]] as const) {
        const o = JSON.parse(await readFile(file, 'utf8')) as { results: { times: number[]; user: number; system: number }[] };
        t.push(...o.results[0]!.times.map((x) => x * 1000));
        c.push((o.results[0]!.user + o.results[0]!.system) * 1000);
      }
    }
    res.push({ name: 'leash verify, cold (empty JWKS cache)', command: verify(f.coldCfg.path).map(q).join(' '), times: cold, wall: stats(cold), cpu: stats(cpu).mean });
    res.push({ name: 'leash verify, warm', command: warmCmd.map(q).join(' '), times: warm, wall: stats(warm), cpu: stats(warmCpu).mean });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const fetched = f.op.keyRequests() - before;
  if (fetched < ROUNDS * RUNS * 2) throw new Error(`cold verify made only ${fetched} discovery/JWKS requests for ${ROUNDS * RUNS} runs: the cache was not cold`);
  addTimed('cold', res[0]!, res[1]!);
  addTimed('cold', res[1]!);
  extra['cold_provider_requests'] = fetched;
}

/**
 * Peak RSS in KiB of one run, from GNU time. `before` runs first, from the
 * same parent as the measured run (sh, then exec'd into time with the same
 * pid): the second verify call's memo is keyed by the parent process.
 */
async function peakRss(argv: string[], env: Record<string, string>, before?: string[][]): Promise<number> {
  const r = before
    ? await run('/bin/sh', ['-c', `${before.map((b) => `${b.map(q).join(' ')} >/dev/null 2>&1; `).join('')}exec /usr/bin/time -f 'RSS %M' ${argv.map(q).join(' ')}`], env)
    : await run('/usr/bin/time', ['-f', 'RSS %M', ...argv], env);
  const m = /RSS (\d+)\s*$/.exec(r.stderr);
  if (!m) throw new Error(`/usr/bin/time ${argv.join(' ')}: ${r.stderr}`);
  return Number(m[1]);
}

interface RoleCmd {
  name: string;
  argv: string[];
  env: Record<string, string>;
  /** Run first, in turn, from the measured run's parent (the second verify call needs its first call from the same parent). */
  before?: string[][];
}

function roleCommands(f: Fixtures): RoleCmd[] {
  return [
    { name: 'runtime -e 0 (floor)', argv: [RUNTIME, '-e', '0'], env: CLEAN_ENV },
    ...(f.floorSea ? [{ name: 'empty SEA', argv: [f.floorSea.path], env: CLEAN_ENV }] : []),
    { name: 'leash --version', argv: [f.leash.path, '--version'], env: CLEAN_ENV },
    { name: 'leash verify, first call (full, warm cache)', argv: verifyArgv(f), env: CLEAN_ENV, before: [forgetMemos(f)] },
    { name: 'leash verify, second call (from the memo)', argv: verifyArgv(f), env: CLEAN_ENV, before: [forgetMemos(f), verifyArgv(f)] },
    { name: 'leash shell: uptime', argv: shellArgv(f, f.leash.path), env: SESSION_ENV },
    { name: 'leash explain (1 command)', argv: [f.leash.path, '--config-dir', f.cfg.path, 'explain', '--profile', 'diagnostic', '--', 'journalctl -u cron -n 50'], env: CLEAN_ENV },
  ];
}

/** Drops a file's pages from the page cache (posix_fadvise DONTNEED, by GNU dd), after writing them out. */
async function evictPageCache(file: string): Promise<void> {
  await mustRun('/usr/bin/sync', [file]);
  await mustRun('/usr/bin/dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none']);
}

/** Pages of a file in the page cache, by fincore (util-linux), or null without it. */
async function cachedPages(file: string): Promise<number | null> {
  const r = await run('/usr/bin/fincore', ['--noheadings', '--bytes', '--output', 'RES', file]);
  return r.code === 0 ? Number(r.stdout.trim()) : null;
}

async function benchRss(f: Fixtures): Promise<void> {
  // A freshly written copy of the binary, its page cache then evicted: a
  // just-written executable's pages are still the writer's, and read ~19 MiB
  // high in the RSS of its first runs (measured by the issue's author).
  const fresh = await installBinary(LEASH_SRC, 'leash-rss');
  f.cleanups.push(fresh.cleanup);
  const justWritten = await peakRss([fresh.path, '--version'], CLEAN_ENV);
  const cachedBefore = await cachedPages(fresh.path);
  await evictPageCache(fresh.path);
  const cachedAfter = await cachedPages(fresh.path);
  const rf: Fixtures = { ...f, leash: fresh };
  const out: Record<string, { median_kib: number; max_kib: number }> = {};
  for (const c of roleCommands(rf)) {
    const xs: number[] = [];
    for (let i = 0; i < 7; i++) {
      xs.push(await peakRss(c.argv, c.env, c.before));
    }
    const s = stats(xs);
    out[c.name] = { median_kib: s.median, max_kib: s.max };
  }
  // Cold verify: empty the cache first.
  const cache = join(f.coldCfg.path, 'jwks-cache');
  const coldXs: number[] = [];
  for (let i = 0; i < 5; i++) {
    await mustRun('/usr/bin/find', [cache, stateDir(f.coldCfg), '-mindepth', '1', '-delete']);
    coldXs.push(await peakRss([fresh.path, '--config-dir', f.coldCfg.path, 'verify', AGENT, f.alice.keyBase64, f.alice.keyType], CLEAN_ENV));
  }
  out['leash verify, cold (empty JWKS cache)'] = { median_kib: stats(coldXs).median, max_kib: stats(coldXs).max };
  extra['peak_rss'] = out;
  extra['rss_page_cache'] = { just_written_version_kib: justWritten, cached_bytes_before_eviction: cachedBefore, cached_bytes_after_eviction: cachedAfter };
  const leashMax = Math.max(...Object.entries(out).filter(([k]) => k.startsWith('leash')).map(([, v]) => v.max_kib));
  target('peak RSS of every leash invocation ≤ 80 MiB (fresh binary, page cache evicted)', leashMax / 1024, 80, `largest: ${(leashMax / 1024).toFixed(1)} MiB`);
}

async function benchCallgrind(f: Fixtures): Promise<void> {
  const out: Record<string, number> = {};
  for (const c of roleCommands(f)) {
    for (const b of c.before ?? []) await run(b[0]!, b.slice(1), c.env);
    const accepted = await acceptedCount(f);
    // valgrind runs leash in its own process: its parent is this process, as the `before` run's was.
    const r = await run('/usr/bin/valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null', ...c.argv], c.env, 600_000);
    const m = /Collected : (\d+)/.exec(r.stderr);
    if (!m) {
      log(`callgrind ${c.name}: no count (${r.stderr.slice(-300)})`);
      continue;
    }
    if (c.name.includes('second call') && (await acceptedCount(f)) !== accepted) log(`callgrind ${c.name}: not answered from the memo`);
    out[c.name] = Number(m[1]);
    log(`callgrind ${c.name}: ${(Number(m[1]) / 1e6).toFixed(0)} M instructions`);
  }
  extra['instructions'] = out;
}

// ---- end to end through sshd

/**
 * Four ways for the same user to log in to ONE sshd: sshd pads every
 * unauthenticated publickey request to a per-user, per-instance delay
 * (user_specific_delay), so logins are only comparable on the same instance
 * and user, and averaged over several instances (restarts).
 *  - plain: an authorized_keys entry, no forced command (the baseline);
 *  - leash: the OPKSSH certificate, AuthorizedKeysCommand `leash verify`
 *    (called twice, the second answered from the memo), forced `leash shell`;
 *  - ca: a certificate from `leash grant` (CA mode: TrustedUserCAKeys, the
 *    KRL in RevokedKeys), force-command `leash shell`, no verifier;
 *  - authprogs (Debian's Python forced-command allowlist, the peer): an
 *    authorized_keys entry with command="authprogs --run", allowing the same
 *    command names as the diagnostic profile.
 * sshd tries TrustedUserCAKeys, then the authorized_keys file, then the
 * command: the plain, ca and authprogs keys never start `leash verify`
 * (checked: no verify event in the audit log for their logins).
 */
interface LoginWays {
  plainKey: string;
  authprogsKey: string;
  caKey: string;
  caCert: string;
  options: SshdOptions;
}

type Way = 'plain' | 'leash' | 'ca' | 'authprogs';
const WAYS: Record<Way, string> = {
  leash: 'ssh uptime: leash (verify ×2 + shell)',
  ca: 'ssh uptime: leash CA mode (certificate + shell)',
  authprogs: 'ssh uptime: authprogs (the peer) as forced command',
  plain: 'ssh uptime: plain authorized_keys',
};

/** The diagnostic profile's command names as an authprogs allowlist (authprogs matches a command prefix, no more). */
async function authprogsConfig(f: Fixtures): Promise<string> {
  const profile = await loadProfile(f.sshdCfg.path, 'diagnostic');
  const rules = [...profile.commands.keys()].sort().map((name) => `    - command: ${name}\n      allow_trailing_args: true\n`);
  return `-\n  allow:\n${rules.join('')}`;
}

async function prepareLogins(f: Fixtures): Promise<LoginWays> {
  const plainKey = await generateKey(f.keyDir, 'id_plain', 'ecdsa'); // the same key type as the certificate's
  const apKey = await generateKey(f.keyDir, 'id_authprogs', 'ecdsa');
  const caKey = await generateKey(f.keyDir, 'id_ca_granted', 'ecdsa');
  const cfg = f.sshdCfg.path;
  // CA mode, as docs/ca.md sets it up: the CA (here on the target itself), its public key and an empty KRL for sshd.
  const caDir = join(cfg, 'ca');
  await mustRun(f.leash.path, ['--config-dir', cfg, 'ca', 'init', '--ca-dir', caDir]);
  await copyFile(join(caDir, 'ca.pub'), join(cfg, 'user-ca.pub'));
  await chmod(join(cfg, 'user-ca.pub'), 0o644);
  await mustRun('/usr/bin/ssh-keygen', ['-q', '-k', '-f', join(cfg, 'revoked.krl')]);
  await chmod(join(cfg, 'revoked.krl'), 0o644);
  const granted = await mustRun(f.leash.path, ['--config-dir', cfg, 'grant', '--pubkey', caKey.publicKeyPath, '--user', AGENT, '--profile', 'diagnostic', '--ttl', '2h', '--identity', 'bench-ca', '--ca-dir', caDir, '--leash-path', f.leash.path, '--target-config-dir', cfg, '--json']);
  const caCert = (JSON.parse(granted.stdout) as { file: string }).file;
  const apConfig = join(cfg, 'authprogs.yaml');
  await writeFile(apConfig, await authprogsConfig(f), { mode: 0o644 });
  await chmod(apConfig, 0o644);
  const options: SshdOptions = {
    authorizedKeys: { [AGENT]: [plainKey.publicKey, `restrict,command="/usr/bin/authprogs --run --configfile ${apConfig}" ${apKey.publicKey}`] },
    authorizedKeysCommand: `${f.leash.path} --config-dir ${cfg} verify %u %k %t`,
    authorizedKeysCommandUser: AKC_USER,
    extraConfig: [`TrustedUserCAKeys ${join(cfg, 'user-ca.pub')}`, `RevokedKeys ${join(cfg, 'revoked.krl')}`],
  };
  return { plainKey: plainKey.path, authprogsKey: apKey.path, caKey: caKey.path, caCert, options };
}

function loginArgs(f: Fixtures, w: LoginWays, way: Way, port: number, command?: string): string[] {
  const base = { port, user: AGENT, ...(command === undefined ? {} : { command }) };
  switch (way) {
    case 'plain':
      return sshArgs({ ...base, key: w.plainKey });
    case 'authprogs':
      return sshArgs({ ...base, key: w.authprogsKey });
    case 'ca':
      return sshArgs({ ...base, key: w.caKey, cert: w.caCert });
    case 'leash':
      return sshArgs({ ...base, key: f.alice.keyPath, cert: f.alice.certPath });
  }
}

const sshEnv = { PATH, HOME: '/root' };
const okUptime = (r: RunResult): string | null => (r.code === 0 && /load average/.test(r.stdout) ? null : 'did not print uptime');
const verifyEvents = async (f: Fixtures): Promise<number> => (await readFile(f.audit, 'utf8')).split('\n').filter((l) => l.includes('"event":"verify.')).length;

/** Runs every function once per iteration, the order rotated each time, after `warmup` untimed iterations. */
async function interleaved(pairs: [string, () => Promise<number>][], runs: number, warmup = 3, times = new Map<string, number[]>(pairs.map(([n]) => [n, []]))): Promise<Map<string, number[]>> {
  for (let i = 0; i < warmup; i++) for (const [, fn] of pairs) await fn();
  for (let i = 0; i < runs; i++) {
    const order = pairs.map((_, k) => pairs[(k + i) % pairs.length]!);
    for (const [name, fn] of order) times.get(name)!.push(await fn());
  }
  return times;
}

function addSample(section: string, t: Map<string, number[]>, a: string, b?: string): number {
  const sa = stats(t.get(a)!);
  const sb = b === undefined ? undefined : stats(t.get(b)!);
  rows.push({ section, name: a, median_ms: sa.median, p25_ms: sa.p25, p75_ms: sa.p75, min_ms: sa.min, n: sa.n, ...(sb ? { ratio: { to: b!, value: sa.median / sb.median } } : {}) });
  return sb ? sa.median / sb.median : NaN;
}

async function benchE2e(f: Fixtures, w: LoginWays): Promise<void> {
  const perInstance = Math.ceil(E2E_RUNS / RESTARTS);
  log(`e2e: ${RESTARTS} sshd instances × ${perInstance} logins per way (${Object.keys(WAYS).join(', ')}), interleaved`);
  const times = new Map<string, number[]>(Object.values(WAYS).map((n) => [n, []]));
  const acceptedBefore = await acceptedCount(f);
  let leashLogins = 0;
  const perRestart: Record<string, number>[] = [];
  for (let r = 0; r < RESTARTS; r++) {
    const sshd = await startSshd(w.options);
    try {
      if (r === 0) {
        // The plain, CA and authprogs keys must not start the verifier (sshd's order: CA, file, command).
        const before = await verifyEvents(f);
        for (const way of ['plain', 'ca', 'authprogs'] as const) await timed('/usr/bin/ssh', loginArgs(f, w, way, sshd.port, 'uptime'), sshEnv, okUptime);
        if ((await verifyEvents(f)) !== before) throw new Error('the AuthorizedKeysCommand ran for a key the authorized_keys file or the CA authorizes: the comparison would not be fair');
      }
      const mine = new Map<string, number[]>(Object.values(WAYS).map((n) => [n, []]));
      await interleaved(
        (Object.keys(WAYS) as Way[]).map((way) => [WAYS[way], () => ((leashLogins += way === 'leash' ? 1 : 0), timed('/usr/bin/ssh', loginArgs(f, w, way, sshd.port, 'uptime'), sshEnv, okUptime))] as [string, () => Promise<number>]),
        perInstance,
        2,
        mine,
      );
      for (const [k, v] of mine) times.get(k)!.push(...v);
      perRestart.push(Object.fromEntries([...mine].map(([k, v]) => [k, stats(v).median])));
    } finally {
      await sshd.stop();
    }
  }
  extra['e2e_per_instance_medians_ms'] = perRestart;
  // One verification per login: sshd's second call was answered from the memo (else 2).
  const perLogin = ((await acceptedCount(f)) - acceptedBefore) / leashLogins;
  extra['verify_accepted_per_login'] = perLogin;
  if (perLogin !== 1) log(`warning: ${perLogin.toFixed(2)} verify.accepted per login through sshd: the memo did not answer every second call`);
  const ratioLeash = addSample('e2e', times, WAYS.leash, WAYS.plain);
  const ratioCa = addSample('e2e', times, WAYS.ca, WAYS.plain);
  const ratioAp = addSample('e2e', times, WAYS.authprogs, WAYS.plain);
  addSample('e2e', times, WAYS.plain);
  const med = (way: Way): number => stats(times.get(WAYS[way])!).median;
  target('login through the verifier ≤ 1.6 × plain (stretch 1.3 ×)', ratioLeash, 1.6, `${ms(med('leash'))} ms vs ${ms(med('plain'))} ms (+${ms(med('leash') - med('plain'))} ms); authprogs ${ratioAp.toFixed(2)} ×`);
  target('login in CA mode ≤ 1.3 × plain', ratioCa, 1.3, `${ms(med('ca'))} ms vs ${ms(med('plain'))} ms (+${ms(med('ca') - med('plain'))} ms)`);
}

async function benchMux(f: Fixtures, w: LoginWays): Promise<void> {
  const ctlDir = await mkdtemp(join(tmpdir(), 'leash-bench-mux-'));
  f.cleanups.push(() => rm(ctlDir, { recursive: true, force: true }));
  const sshd = await startSshd(w.options);
  f.cleanups.push(sshd.stop);
  const ways = ['leash', 'authprogs', 'plain'] as const;
  const servers = ways.map((way) => ({ way, base: loginArgs(f, w, way, sshd.port), ctl: join(ctlDir, way) }));
  for (const srv of servers) {
    // The master: authenticates once and stays in the background.
    const dest = srv.base[srv.base.length - 1]!;
    const opts = srv.base.slice(0, -1);
    // -f: ssh forks into the background after authenticating; its stdio is
    // ignored so that nothing waits for the background master's pipes.
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('/usr/bin/ssh', [...opts, '-o', 'ControlMaster=yes', '-o', `ControlPath=${srv.ctl}`, '-o', 'ControlPersist=900', '-N', '-f', dest], { env: sshEnv, stdio: 'ignore' });
      child.on('error', () => resolve(null));
      child.on('exit', (c) => resolve(c));
    });
    if (code !== 0) throw new Error(`ssh ControlMaster for ${srv.way} exited ${code}`);
    await mustRun('/usr/bin/ssh', ['-F', '/dev/null', '-o', `ControlPath=${srv.ctl}`, '-O', 'check', dest], sshEnv);
    f.cleanups.push(async () => void (await run('/usr/bin/ssh', ['-F', '/dev/null', '-o', `ControlPath=${srv.ctl}`, '-O', 'exit', dest], sshEnv)));
  }
  const client = (srv: (typeof servers)[number]): string[] => {
    const dest = srv.base[srv.base.length - 1]!;
    return [...srv.base.slice(0, -1), '-o', 'ControlMaster=no', '-o', `ControlPath=${srv.ctl}`, dest, '--', 'uptime'];
  };
  const name = (way: Way): string => `ssh uptime over ControlMaster: ${way === 'leash' ? 'leash shell' : way === 'authprogs' ? 'authprogs (the peer)' : 'plain'}`;
  log(`mux: ${E2E_RUNS} commands each over open ControlMaster connections (${ways.join(', ')}), interleaved`);
  const t = await interleaved(
    servers.map((srv) => [name(srv.way), () => timed('/usr/bin/ssh', client(srv), sshEnv, okUptime)] as [string, () => Promise<number>]),
    E2E_RUNS,
  );
  const ratio = addSample('mux', t, name('leash'), name('plain'));
  const ratioAp = addSample('mux', t, name('authprogs'), name('plain'));
  addSample('mux', t, name('plain'));
  const med = (way: Way): number => stats(t.get(name(way))!).median;
  const extraLeash = med('leash') - med('plain');
  const extraAp = med('authprogs') - med('plain');
  const floor = extra['floor_ms'] as number | undefined;
  extra['mux_added_ms'] = { leash: extraLeash, authprogs: extraAp, floor };
  if (floor !== undefined) target('per command over ControlMaster: added time ≤ 1.5 × the runtime floor', extraLeash / floor, 1.5, `+${ms(extraLeash)} ms over plain; floor ${ms(floor)} ms`);
  target('per command over ControlMaster: below the peer (authprogs)', ratio / ratioAp, 1, `leash ${ratio.toFixed(2)} × plain, authprogs ${ratioAp.toFixed(2)} × plain (+${ms(extraLeash)} vs +${ms(extraAp)} ms)`);
}

// ---- the resident-verifier study (bench/resident/; a prototype, not part of leash)

interface Resident {
  client: string;
  socket: string;
  stop: () => Promise<void>;
}

/**
 * Compiles the client (gcc), bundles the daemon (esbuild) and starts it as
 * the AuthorizedKeysCommandUser on a socket in a directory only that user
 * can reach. Null (and the section is skipped) without gcc.
 */
async function startResident(f: Fixtures): Promise<Resident | null> {
  if (!existsSync('/usr/bin/gcc')) {
    log('resident: no gcc, the study is skipped');
    return null;
  }
  const akc = await ensureAkcUser();
  const work = await mkdtemp(join(tmpdir(), 'leash-bench-resident-'));
  f.cleanups.push(() => rm(work, { recursive: true, force: true }));
  await chmod(work, 0o755);
  await mustRun('/usr/bin/gcc', ['-O2', '-o', join(work, 'client'), join(REPO, 'bench', 'resident', 'client.c')]);
  const client = await installBinary(join(work, 'client'), 'leash-akc-client');
  f.cleanups.push(client.cleanup);
  const daemon = join(work, 'daemon.cjs');
  const { build } = (await import('esbuild')) as typeof import('esbuild');
  await build({ entryPoints: [join(REPO, 'bench', 'resident', 'daemon.ts')], bundle: true, platform: 'node', target: 'node24', format: 'cjs', outfile: daemon, logLevel: 'warning', absWorkingDir: REPO });
  await chmod(daemon, 0o644);
  const sockDir = join(work, 'sock');
  await mkdir(sockDir, { mode: 0o700 });
  await chown(sockDir, akc.uid, akc.gid);
  const socket = join(sockDir, 'verify.sock');
  const child = spawn(RUNTIME, [daemon, socket, f.leash.path], { env: CLEAN_ENV, uid: akc.uid, gid: akc.gid, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (d: string) => d.includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`resident daemon exited ${code}: ${stderr}`)));
  });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('close', r));
  };
  f.cleanups.push(stop);
  return { client: client.path, socket, stop };
}

async function benchResident(f: Fixtures, w: LoginWays | null): Promise<void> {
  const res = await startResident(f);
  if (res === null) return;
  const cfg = f.sshdCfg.path;
  const clientArgv = (key = f.alice.keyBase64): string[] => [res.client, res.socket, f.leash.path, cfg, AGENT, key, f.alice.keyType];
  const leashArgv = [f.leash.path, '--config-dir', cfg, 'verify', AGENT, f.alice.keyBase64, f.alice.keyType];
  const akc = await ensureAkcUser();
  // As sshd runs it: the AuthorizedKeysCommandUser, an empty environment.
  const asAkc = (argv: string[]): string[] => ['/usr/bin/setpriv', `--reuid=${akc.uid}`, `--regid=${akc.gid}`, '--clear-groups', ...argv];
  const answer = await run(res.client, clientArgv().slice(1));
  const direct = await run(leashArgv[0]!, leashArgv.slice(1));
  if (answer.code !== 0 || !answer.stdout.startsWith('cert-authority,')) throw new Error(`resident: the client was not answered: ${answer.code} ${answer.stderr}`);
  // One code path: the daemon's line is the one `leash verify` prints, but for the session id.
  const strip = (l: string): string => l.replace(/--session [0-9a-f]{32}/, '--session S');
  extra['resident_same_line'] = strip(answer.stdout) === strip(direct.stdout);
  // A login's two calls, each pair from a fresh parent (sh): the first full, the second from the memo.
  const pair = (argv: string[]): string[] => ['/bin/sh', '-c', `${argv.map(q).join(' ')} >/dev/null; exec ${argv.map(q).join(' ')}`];
  const cmds: Cmd[] = [
    { name: "a login's two verify calls: leash verify", argv: asAkc(pair(leashArgv)) },
    { name: "a login's two verify calls: resident client", argv: asAkc(pair(clientArgv())) },
    { name: 'one call: resident client (first call)', argv: asAkc(['/bin/sh', '-c', `exec ${clientArgv().map(q).join(' ')}`]) },
    { name: 'sh + setpriv alone', argv: asAkc(['/bin/sh', '-c', 'exec /bin/true']) },
  ];
  log(`resident: hyperfine ${ROUNDS}×${RUNS} runs × ${cmds.length} commands`);
  const t = await hyperfine(cmds, CLEAN_ENV);
  addTimed('resident', t[0]!);
  addTimed('resident', t[1]!, t[0]!);
  addTimed('resident', t[2]!);
  addTimed('resident', t[3]!);

  // Fail closed: the daemon down, the client runs the full verification (never accepts by itself).
  if (w !== null) {
    const perInstance = Math.ceil(E2E_RUNS / RESTARTS / 2);
    const A = 'ssh uptime: resident verifier (client ×2 + shell)';
    const B = 'ssh uptime: plain authorized_keys (same sshd)';
    const times = new Map<string, number[]>([[A, []], [B, []]]);
    log(`resident: ${RESTARTS} sshd instances × ${perInstance} logins each, resident client vs plain key`);
    for (let r = 0; r < RESTARTS; r++) {
      const sshd = await startSshd({ authorizedKeys: { [AGENT]: [(await readFile(`${w.plainKey}.pub`, 'utf8')).trim()] }, authorizedKeysCommand: `${res.client} ${res.socket} ${f.leash.path} ${cfg} %u %k %t`, authorizedKeysCommandUser: AKC_USER });
      try {
        await interleaved(
          [
            [A, () => timed('/usr/bin/ssh', loginArgs(f, w, 'leash', sshd.port, 'uptime'), sshEnv, okUptime)],
            [B, () => timed('/usr/bin/ssh', loginArgs(f, w, 'plain', sshd.port, 'uptime'), sshEnv, okUptime)],
          ],
          perInstance,
          2,
          times,
        );
      } finally {
        await sshd.stop();
      }
    }
    const ratio = addSample('resident', times, A, B);
    addSample('resident', times, B);
    extra['resident_login_ratio'] = ratio;
  }
  await res.stop();
  const fallback = await run(res.client, clientArgv().slice(1));
  const refused = await run(res.client, clientArgv(f.alice.keyBase64.slice(0, -8) + 'AAAAAAAA').slice(1));
  extra['resident_daemon_down'] = { fallback_exit: fallback.code, fallback_printed_line: fallback.stdout.startsWith('cert-authority,'), bad_key_exit: refused.code, bad_key_printed: refused.stdout.length };
  if (fallback.code !== 0 || refused.code === 0 || refused.stdout !== '') throw new Error('resident: with the daemon down the client did not fall back to the full verification');
}

// ---------------------------------------------------------------- report

function machine(): Record<string, unknown> {
  const c = cpus();
  const git = runSync('/usr/bin/git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']).stdout.trim();
  const dirty = runSync('/usr/bin/git', ['-C', REPO, 'status', '--porcelain', '--', 'src', 'build']).stdout.trim() !== '';
  const osRelease = readFileSync('/etc/os-release', 'utf8');
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memory_gib: +(totalmem() / 2 ** 30).toFixed(1),
    kernel: runSync('/usr/bin/uname', ['-r']).stdout.trim(),
    os: /^PRETTY_NAME="?([^"\n]*)/m.exec(osRelease)?.[1] ?? 'unknown',
    runtime: runSync(RUNTIME, ['--version']).stdout.trim(),
    openssh: runSync('/usr/bin/ssh', ['-V']).stderr.trim(),
    hyperfine: runSync('/usr/bin/hyperfine', ['--version']).stdout.trim(),
    leash: runSync(LEASH_SRC, ['--version']).stdout.trim(),
    dist_leash_mib: +(readFileSync(LEASH_SRC).length / 2 ** 20).toFixed(1),
    commit: `${git}${dirty ? ' (+ uncommitted changes in src/ or build/)' : ''}`,
  };
}

function markdown(info: Record<string, unknown>, started: string, load: { start: number[]; end: number[] }): string {
  const out: string[] = [];
  out.push(`# leash benchmark — ${started}`, '');
  out.push(
    `Machine: ${info['cpu']}, ${info['cores']} cores, ${info['memory_gib']} GiB, ${info['os']}, Linux ${info['kernel']}; ` +
      `${info['leash']} (${info['commit']}, ${info['dist_leash_mib']} MiB) on Node ${info['runtime']}; ${info['openssh']}; ${info['hyperfine']}. ` +
      `Load average ${load.start.map((x) => x.toFixed(2)).join(' ')} at the start, ${load.end.map((x) => x.toFixed(2)).join(' ')} at the end.`,
    '',
  );
  out.push('Wall time per run: median, interquartile range (p25–p75), minimum, runs. Ratio = median ÷ median of the row named, measured in the same run.', '');
  out.push('| section | command | median ms | p25–p75 ms | min ms | runs | CPU ms | ratio |', '|---|---|---:|---:|---:|---:|---:|---|');
  for (const r of rows) {
    const iqr = Number.isNaN(r.p25_ms) ? '' : `${ms(r.p25_ms)}–${ms(r.p75_ms)}`;
    out.push(`| ${r.section} | ${r.name} | ${ms(r.median_ms)} | ${iqr} | ${Number.isNaN(r.min_ms) ? '' : ms(r.min_ms)} | ${r.n || ''} | ${r.cpu_ms === undefined ? '' : ms(r.cpu_ms)} | ${r.ratio ? `${r.ratio.value.toFixed(2)} × ${r.ratio.to}` : ''} |`);
  }
  out.push('');
  if (targets.length) {
    out.push('| target | measured | limit | met |', '|---|---:|---:|---|');
    for (const t of targets) out.push(`| ${t.what} | ${t.measured.toFixed(2)} (${t.detail}) | ${t.limit} | ${t.met ? 'yes' : '**no**'} |`);
    out.push('');
  }
  const ex = extra['explain'] as Record<string, number> | undefined;
  if (ex) {
    out.push(
      `Policy evaluation (bench/corpus.txt, ${ex['commands']} lines, ${ex['allowed']} allowed, ${ex['denied']} denied, diagnostic profile, real filesystem): ` +
        `${Math.round(ex['decisions_per_second']!).toLocaleString('en')} decisions/s in one warm process (${ex['us_per_decision']!.toFixed(1)} µs each); ` +
        `profile load + first pass over all ${ex['commands']} in a fresh process ${ex['first_pass_ms']!.toFixed(1)} ms; ` +
        `\`dist/leash explain\` once per line: ${ex['dist_leash_explain_ms_per_command']!.toFixed(1)} ms per process. Start-up, not policy, is the cost.`,
      '',
    );
  }
  const rss = extra['peak_rss'] as Record<string, { median_kib: number; max_kib: number }> | undefined;
  const ins = extra['instructions'] as Record<string, number> | undefined;
  if (rss || ins) {
    const names = [...new Set([...Object.keys(rss ?? {}), ...Object.keys(ins ?? {})])];
    out.push('| invocation | peak RSS MiB (median / max) | instructions (callgrind) |', '|---|---:|---:|');
    for (const n of names) {
      const r = rss?.[n];
      const i = ins?.[n];
      out.push(`| ${n} | ${r ? `${(r.median_kib / 1024).toFixed(1)} / ${(r.max_kib / 1024).toFixed(1)}` : ''} | ${i ? `${(i / 1e6).toFixed(0)} M` : ''} |`);
    }
    out.push('');
  }
  if (extra['cold_provider_requests'] !== undefined) out.push(`Cold runs made ${extra['cold_provider_requests']} requests to the provider (discovery + JWKS each); warm runs none.`, '');
  return out.join('\n');
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  for (const k of Object.keys(process.env)) if (k.startsWith('NODE_')) throw new Error(`${k} is set: run through \`npm run bench\` (bench/run.mjs clears it)`);
  const started = new Date().toISOString();
  const loadStart = loadavg();
  const info = machine();
  log(`${info['cpu']}, ${info['cores']} cores, load ${loadStart.map((x) => x.toFixed(2)).join(' ')}`);
  const f = await setUp();
  if (opt['setup-only']) {
    const verify = [f.leash.path, '--config-dir', f.cfg.path, 'verify', AGENT, f.alice.keyBase64, f.alice.keyType];
    process.stdout.write(`${JSON.stringify({ leash: f.leash.path, floor: f.floorSea?.path, config: f.cfg.path, coldConfig: f.coldCfg.path, cert: f.alice.certPath, key: f.alice.keyPath, verify, shell: shellArgv(f, f.leash.path), shellEnv: SESSION_ENV }, null, 2)}\n`);
    log('--setup-only: left everything in place (the JWKS cache stays warm for an hour; the provider is gone)');
    return;
  }
  try {
    if (want('verify')) await benchVerify(f);
    if (want('shell')) await benchShell(f);
    if (want('relay')) await benchRelay(f);
    if (want('explain')) await benchExplain(f);
    if (want('cold')) await benchCold(f);
    if (want('rss')) await benchRss(f);
    if (want('callgrind')) await benchCallgrind(f);
    if (want('e2e') || want('mux') || want('resident')) {
      const ways = await prepareLogins(f);
      if (want('e2e')) await benchE2e(f, ways);
      if (want('mux')) await benchMux(f, ways);
      if (want('resident')) await benchResident(f, ways);
    }
  } finally {
    for (const c of f.cleanups.reverse()) await c().catch((err: unknown) => log(`cleanup: ${String(err)}`));
  }
  const load = { start: loadStart, end: loadavg() };
  const result = { started, machine: info, load, settings: { rounds: ROUNDS, runs: RUNS, e2e_runs: E2E_RUNS, sections: [...only] }, rows, targets, ...extra };
  await mkdir(RESULTS, { recursive: true });
  const md = markdown(info, started, load);
  await writeFile(join(RESULTS, 'latest.json'), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(join(RESULTS, 'latest.md'), md);
  process.stdout.write(`${md}\n`);
  log(`wrote ${join(RESULTS, 'latest.json')} and latest.md`);
}

await main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
