// The single executable's settings, shared by build/build.mjs (dist/leash)
// and bench/harness.ts (the empty SEA that is the benchmarks' floor), so the
// floor is always packaged exactly as leash is. See build/README.md.

/** The Node major version of the embedded runtime (npm package `node`). */
export const RUNTIME_MAJOR = 24;

/** sea-config.json fields (Node's single-executable-applications.md). */
export const SEA_CONFIG = Object.freeze({
  disableExperimentalSEAWarning: true,
  // Measured in build/README.md: the code cache removes most of the cost of
  // compiling the bundle at start-up (but its bytes differ from build to build);
  // a snapshot gains nothing more and would freeze build-time state.
  useCodeCache: true,
  useSnapshot: false,
  // Ignore NODE_OPTIONS: nothing in the caller's environment may add Node flags.
  execArgvExtension: 'none',
  // Node flags (not V8 flags: those would make V8 reject the code caches;
  // these leave them accepted, the build checks it). --disable-sigusr1: no
  // signal can start the inspector (by default SIGUSR1 makes it listen on
  // 127.0.0.1:9229 with no authentication). --openssl-config=/dev/null: no
  // file — the system's openssl.cnf or one named by OPENSSL_CONF, which can
  // load provider modules — configures the runtime's OpenSSL.
  execArgv: Object.freeze(['--disable-sigusr1', '--openssl-config=/dev/null']),
});

/** pkg's target for that runtime on the one supported platform. */
export const SEA_TARGET = Object.freeze({ nodeRange: `node${RUNTIME_MAJOR}`, platform: 'linux', arch: 'x64' });
