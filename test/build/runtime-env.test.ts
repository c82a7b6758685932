/**
 * The runtime's own environment variables (build/runtime-env.cjs): which
 * names count, and that dist/leash run with every one of them set behaves
 * exactly as with none — same output, same exit, same audit events, nothing
 * created — except for the few things the runtime does before any of
 * leash's code runs, which are asserted here exactly as docs/security.md
 * lists them. Needs root and `npm run build` for the binary cases.
 */
import t from 'tap';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { StdioOptions } from 'node:child_process';
import { LEASH, shellFixture, type ShellRun } from '../helpers/shell-fixture.js';
import { isRoot } from '../helpers/tmp.js';

const runtimeEnv = createRequire(import.meta.url)('../../build/runtime-env.cjs') as {
  runtimeVariables: (env: Record<string, string>) => string[];
  withoutRuntimeVariables: (env: Record<string, string>) => Record<string, string>;
};

t.test('which variables are the runtime’s', async (t) => {
  const env = {
    NODE_OPTIONS: '--inspect',
    NODE_V8_COVERAGE: '/x',
    UV_THREADPOOL_SIZE: '1',
    OPENSSL_CONF: '/x',
    ICU_DATA: '/x',
    LD_PRELOAD: '/x.so',
    MALLOC_ARENA_MAX: '1',
    SSL_CERT_FILE: '/x',
    GLIBC_TUNABLES: 'x',
    FORCE_COLOR: '1',
    LANG: 'de_DE.UTF-8',
    LC_ALL: 'C',
    TZ: 'Europe/Berlin',
    TERM: 'xterm',
    PATH: '/bin',
    SSH_ORIGINAL_COMMAND: 'uptime',
    SSH_CONNECTION: '1 2 3 4',
    LEASH_AUDIT_LOG: '/x',
    LEASH_CODE_CACHE_CHECK: '1',
  };
  t.same(runtimeEnv.runtimeVariables(env).sort(), ['FORCE_COLOR', 'ICU_DATA', 'NODE_OPTIONS', 'NODE_V8_COVERAGE', 'OPENSSL_CONF', 'SSL_CERT_FILE', 'UV_THREADPOOL_SIZE'], 'these make leash restart; the loader’s own (LD_*, MALLOC_*, GLIBC_TUNABLES) do not');
  t.same(Object.keys(runtimeEnv.withoutRuntimeVariables(env)).sort(), ['LANG', 'LC_ALL', 'LEASH_AUDIT_LOG', 'LEASH_CODE_CACHE_CHECK', 'PATH', 'SSH_CONNECTION', 'SSH_ORIGINAL_COMMAND', 'TERM', 'TZ'], 'a restart drops both kinds');
});

/**
 * Every NODE_* name the Node 24 runtime reads (`node --help` and the names
 * compiled into node_modules/node/bin/node), and the others it honours.
 * (NODE_DISABLE_COMPILE_CACHE is left out: it would only hide what
 * NODE_COMPILE_CACHE does.) NODE_DEBUG_NATIVE, NODE_CHANNEL_FD/NODE_UNIQUE_ID and
 * NODE_REPL_EXTERNAL_MODULE act before leash starts; they have their own
 * case below.
 */
const PATHS = ['NODE_V8_COVERAGE', 'NODE_COMPILE_CACHE', 'NODE_EXTRA_CA_CERTS', 'NODE_ICU_DATA', 'NODE_REDIRECT_WARNINGS', 'NODE_REPL_HISTORY', 'NODE_PATH', 'OPENSSL_CONF', 'OPENSSL_MODULES', 'OPENSSL_ENGINES', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'ICU_DATA', 'ICU_TIMEZONE_FILES_DIR'];
const VALUES: Record<string, string> = {
  NODE_OPTIONS: '--inspect=127.0.0.1:0 --require /nonexistent/preload.js',
  NODE_DEBUG: 'module,child_process,net,fs,stream,http,tls,timer',
  NODE_DISABLE_COLORS: '1',
  NO_COLOR: '1',
  FORCE_COLOR: '3',
  NODE_NO_WARNINGS: '0',
  NODE_PENDING_DEPRECATION: '1',
  NODE_PRESERVE_SYMLINKS: '1',
  NODE_PRESERVE_SYMLINKS_MAIN: '1',
  NODE_TLS_REJECT_UNAUTHORIZED: '0',
  NODE_SKIP_PLATFORM_CHECK: '1',
  NODE_PENDING_PIPE_INSTANCES: '1',
  NODE_TEST_CONTEXT: 'child-v8',
  NODE_TEST_WORKER_ID: '1',
  NODE_INSPECT_RESUME_ON_START: '1',
  NODE_USE_ENV_PROXY: '1',
  NODE_USE_SYSTEM_CA: '1',
  NODE_USE_V8_PLATFORM: '0',
  NODE_COMPILE_CACHE_PORTABLE: '1',
  NODE_CLUSTER_SCHED_POLICY: 'rr',
  NODE_CHANNEL_SERIALIZATION_MODE: 'advanced',
  NODE_REPL_MODE: 'strict',
  NODE_REPL_HISTORY_SIZE: '1',
  NODE_NO_READLINE: '1',
  NODE_RUN_SCRIPT_NAME: 'x',
  NODE_RUN_PACKAGE_JSON_PATH: '/nonexistent/package.json',
  UV_THREADPOOL_SIZE: '1',
  UV_USE_IO_URING: '0',
  OPENSSL_ia32cap: '~0x200000200000000',
};

const skip = !existsSync(LEASH) ? 'dist/leash is missing: run `npm run build` first' : !isRoot() ? 'needs root (the configuration must be root-owned)' : '';
if (skip) {
  t.test('dist/leash with the runtime’s variables', { skip }, async () => {});
} else {
  const fx = await shellFixture('runtime-env-', {
    t: `commands:
  both: {binary: '@BIN@/both'}
`,
  }, { both: '#!/bin/sh\necho to-stderr >&2\necho to-stdout\n' });
  t.teardown(fx.cleanup);

  /** Paths (relative to `root`) of everything below it. */
  const tree = (root: string): string[] =>
    readdirSync(root).flatMap((name) => {
      const p = join(root, name);
      return [relative(root, p), ...(statSync(p).isDirectory() ? tree(p).map((q) => join(name, q)) : [])];
    });

  /** The audit events of a run, without what differs between any two runs. */
  const normalized = (events: Array<Record<string, unknown>>): Array<Record<string, unknown>> =>
    events.map(({ ts: _ts, duration_ms: _d, ...rest }) => rest);

  /** A clean run and one with `env`; descriptor 3 of each is a pipe from this test (nothing else is inherited). */
  const runBoth = async (env: Record<string, string>): Promise<{ clean: ShellRun; dirty: ShellRun; cleanEvents: unknown; dirtyEvents: unknown }> => {
    const stdio: StdioOptions = ['ignore', 'pipe', 'pipe', 'pipe'];
    const n0 = fx.events().length;
    const clean = await fx.run('both', { stdio });
    const n1 = fx.events().length;
    const dirty = await fx.run('both', { env, stdio });
    return { clean, dirty, cleanEvents: normalized(fx.events().slice(n0, n1)), dirtyEvents: normalized(fx.events().slice(n1)) };
  };

  t.test('every NODE_* variable (and the other runtime variables) set: exactly as without', async (t) => {
    const scratch = join(fx.dir, 'scratch');
    mkdirSync(scratch, { mode: 0o700 });
    const env: Record<string, string> = { ...VALUES };
    for (const name of PATHS) env[name] = join(scratch, name.toLowerCase());
    const r = await runBoth(env);
    t.equal(r.dirty.code, r.clean.code, 'same exit');
    t.equal(r.dirty.stdout, r.clean.stdout, 'same stdout');
    t.equal(r.dirty.stderr, r.clean.stderr, 'same stderr');
    t.same(r.dirtyEvents, r.cleanEvents, 'same audit events');
    t.match(r.cleanEvents, [{ event: 'shell.allowed' }, { event: 'shell.finished', exit: 0 }]);
    // What the runtime does before leash's first line of JavaScript (docs/security.md):
    // NODE_V8_COVERAGE and NODE_COMPILE_CACHE each create their directory, and the
    // coverage profile is written when the executable restarts itself without them.
    const made = tree(scratch).sort();
    t.same(
      made.map((p) => p.replace(/coverage-\d+-\d+-\d+\.json$/, 'coverage-PID.json').replace(/v\d+\.\d+\.\d+-x64-[0-9a-f]+-\d+$/, 'VERSION')),
      ['node_compile_cache', 'node_compile_cache/VERSION', 'node_v8_coverage', 'node_v8_coverage/coverage-PID.json'],
      'nothing else is created; every other path named is never touched',
    );
  });

  t.test('runtime variables back after the restart (a wrapper that sets them on every exec): leash stops, it does not loop', async (t) => {
    const r = await fx.run('both', { env: { NODE_DEBUG: 'x', LEASH_RUNTIME_RESTARTED: '1' } });
    t.equal(r.code, 70);
    t.match(r.stderr, /^leash: NODE_DEBUG set again after leash restarted without them; nothing was run\n$/);
    t.equal(r.stdout, '');
  });

  t.test('the variables that act before leash starts: its decisions, audit and output are still unchanged', async (t) => {
    const debug = await runBoth({ NODE_DEBUG_NATIVE: 'SEA,CODE_CACHE,COMPILE_CACHE,INSPECTOR_PROFILER,MKSNAPSHOT' });
    t.equal(debug.dirty.code, debug.clean.code);
    t.equal(debug.dirty.stdout, debug.clean.stdout);
    t.same(debug.dirtyEvents, debug.cleanEvents);
    t.ok(debug.dirty.stderr.endsWith(debug.clean.stderr), "the runtime's own debug lines come first; leash's stderr is unchanged");
    // A REPL module: the runtime refuses to start at all. Nothing runs.
    const n0 = fx.events().length;
    const repl = await fx.run('both', { env: { NODE_REPL_EXTERNAL_MODULE: join(fx.dir, 'repl.js') } });
    t.not(repl.code, 0, 'NODE_REPL_EXTERNAL_MODULE: the runtime refuses to start');
    t.equal(repl.stdout, '', 'the command did not run');
    t.equal(fx.events().length, n0, 'nothing was decided');
    // An IPC channel on a descriptor (an inherited pipe, or none): depending on what
    // the descriptor is, the runtime aborts before leash starts, or leash then runs
    // exactly as without. Never anything in between.
    for (const env of [{ NODE_CHANNEL_FD: '3' }, { NODE_CHANNEL_FD: '9' }, { NODE_CHANNEL_FD: '987' }] as Array<Record<string, string>>) {
      const what = Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');
      const r = await runBoth(env);
      if (r.dirty.code === r.clean.code) {
        t.equal(r.dirty.stdout, r.clean.stdout, `${what}: leash ran, exactly as without`);
        t.same(r.dirtyEvents, r.cleanEvents, `${what}: same audit events`);
      } else {
        t.equal(r.dirty.stdout, '', `${what}: the runtime refused to start; the command did not run`);
        t.same(r.dirtyEvents, [], `${what}: nothing was decided`);
      }
    }
  });
}
