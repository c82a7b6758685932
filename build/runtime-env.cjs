'use strict';
// The environment variables the embedded runtime reads on its own: Node, V8,
// ICU, OpenSSL, libuv, glibc. leash reads none of them, but each one changes
// what the runtime does (NODE_V8_COVERAGE and NODE_COMPILE_CACHE create
// directories, NODE_EXTRA_CA_CERTS and NODE_TLS_REJECT_UNAUTHORIZED change
// which TLS peers are trusted, NODE_CHANNEL_FD opens an IPC channel,
// NODE_DEBUG prints). build/sea-loader.cjs, the executable's first
// JavaScript, restarts the executable without them (process.execve) before
// leash's own code runs, so that leash behaves exactly as with a clean
// environment. What the runtime already did with them before that point is
// listed in docs/security.md ("The runtime").
//
// Found by reading the runtime's own list (`node --help`, "Environment
// variables"), the names compiled into the binary (strings(1) on
// node_modules/node/bin/node), and strace of `dist/leash` with each one set.
// A whole prefix is listed wherever the runtime reads several names under it,
// so that a name added by a later runtime is covered too.
//
// Not listed, on purpose: LANG, LANGUAGE, LC_* and TZ (sshd passes them on
// by default; they only change locale- and time-zone-dependent functions,
// which the build refuses in the bundle, see build/build.mjs), TERM (colours
// of a console on a terminal, which leash never uses), and PATH, HOME, USER
// (leash never resolves a program through PATH; children get their own
// fixed environment, src/shell/env.ts).

/** Every variable whose name starts with one of these. */
const RUNTIME_VARIABLE_PREFIXES = Object.freeze([
  'NODE_', // Node itself (NODE_OPTIONS is also refused by execArgvExtension "none")
  'UV_', // libuv: UV_THREADPOOL_SIZE, UV_USE_IO_URING
  'OPENSSL_', // OPENSSL_CONF, OPENSSL_MODULES, OPENSSL_ENGINES, OPENSSL_ia32cap, …
  'ICU_', // ICU_DATA, ICU_TIMEZONE_FILES_DIR
]);

/** And these names. */
const RUNTIME_VARIABLE_NAMES = Object.freeze([
  'FORCE_COLOR', // Node's colour detection
  'NO_COLOR',
  'SSL_CERT_FILE', // OpenSSL's default trust store
  'SSL_CERT_DIR',
  'GCONV_PATH', // glibc, when a conversion or a locale is first used
  'LOCPATH',
  'NLSPATH',
  'TZDIR',
  'HOSTALIASES', // glibc's resolver
  'LOCALDOMAIN',
  'RES_OPTIONS',
]);

/**
 * The dynamic loader's and the C library's start-up variables (LD_PRELOAD,
 * LD_LIBRARY_PATH, LD_AUDIT, …, GLIBC_TUNABLES, MALLOC_*) act before any
 * program code runs, leash's included: a restart cannot undo what they did,
 * so they do not cause one (tools that work by LD_PRELOAD, such as valgrind,
 * keep working). When leash restarts for another variable they are dropped
 * as well, so the restarted executable starts clean.
 */
const LOADER_VARIABLE_PREFIXES = Object.freeze(['LD_', 'MALLOC_']);
const LOADER_VARIABLE_NAMES = Object.freeze(['GLIBC_TUNABLES']);

/** Set in the environment of the restarted executable: if runtime variables are back there, leash stops instead of restarting again. */
const RESTARTED = 'LEASH_RUNTIME_RESTARTED';

const matches = (name, prefixes, names) => names.includes(name) || prefixes.some((p) => name.startsWith(p));

/** The names in `env` that the runtime would read (and that make leash restart). */
function runtimeVariables(env) {
  return Object.keys(env).filter((name) => matches(name, RUNTIME_VARIABLE_PREFIXES, RUNTIME_VARIABLE_NAMES));
}

/** A copy of `env` without them, and without the loader's variables. */
function withoutRuntimeVariables(env) {
  const kept = {};
  for (const name of Object.keys(env)) {
    if (!matches(name, RUNTIME_VARIABLE_PREFIXES, RUNTIME_VARIABLE_NAMES) && !matches(name, LOADER_VARIABLE_PREFIXES, LOADER_VARIABLE_NAMES)) kept[name] = env[name];
  }
  return kept;
}

/**
 * Restarts this executable, with the same arguments, without any variable
 * the runtime reads; returns only if there was none. If the restart fails,
 * leash does not run at all (exit 70): running on in the environment it was
 * given is what this exists to prevent.
 */
function leaveRuntimeEnvironment() {
  const found = runtimeVariables(process.env);
  if (found.length === 0) return;
  if (process.env[RESTARTED] !== undefined) {
    // Something puts them back on every exec (or set the marker): never loop, never run with them.
    process.stderr.write(`leash: ${found.join(', ')} set again after leash restarted without them; nothing was run\n`);
    process.exit(70);
  }
  try {
    process.execve(process.execPath, [process.argv0, ...process.argv.slice(2)], { ...withoutRuntimeVariables(process.env), [RESTARTED]: '1' });
  } catch (err) {
    process.stderr.write(`leash: cannot restart without the runtime's environment variables (${err && err.code ? err.code : String(err)}); nothing was run\n`);
    process.exit(70);
  }
}

module.exports = { RUNTIME_VARIABLE_PREFIXES, RUNTIME_VARIABLE_NAMES, LOADER_VARIABLE_PREFIXES, LOADER_VARIABLE_NAMES, runtimeVariables, withoutRuntimeVariables, leaveRuntimeEnvironment };
