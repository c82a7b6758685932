'use strict';
// The main script of dist/leash (build/build.mjs; see build/README.md, "Warm
// code cache"). It runs the bundle, stored as the SEA asset "leash.js", through
// vm.Script with a V8 code cache from the assets: "leash.verify.cache",
// "leash.shell.cache" or "leash.explain.cache" for those commands, else
// "leash.cache". build/warm-cache.mjs made them on the same runtime AFTER
// running each role, so they also hold the lazily compiled functions a real
// run needs (Node's own SEA code cache is made without running anything and
// holds only the eagerly compiled ones). One per role, because V8 deserializes
// all of a cache at start-up, needed or not.
//
// "leash.js" is dist/leash.cjs wrapped as `(function (exports, require, module,
// __filename, __dirname) {...})`, the CommonJS wrapper: the bundle gets this
// script's own require (built-ins only), module, __filename and __dirname, so
// it behaves exactly as when it was the SEA main itself (process.argv,
// process.execPath and node:sea's isSea() are the executable's either way).
//
// A rejected or missing cache only makes leash slower: V8 then compiles from
// the source. Nothing here can change what leash does. LEASH_CODE_CACHE_CHECK=1
// only makes a rejection visible on stderr (the build's smoke test uses it).
// Before anything else: restart without any environment variable the runtime
// itself reads (build/runtime-env.cjs). The build bundles that file in.
require('./runtime-env.cjs').leaveRuntimeEnvironment();

const sea = require('node:sea');
const { Script } = require('node:vm');
const { isAscii } = require('node:buffer');

// The command name as cli.ts finds it: the first argument after any leading
// `--config-dir DIR` / `--config-dir=DIR`. Only the choice of cache depends on it.
const argv = process.argv;
let i = 2;
while (i < argv.length) {
  if (argv[i] === '--config-dir') i += 2;
  else if (argv[i].startsWith('--config-dir=')) i += 1;
  else break;
}
const role = argv[i];
const cacheName = role === 'verify' || role === 'shell' || role === 'explain' ? `leash.${role}.cache` : 'leash.cache';

// getRawAsset: the bytes in the executable, not a copy (nothing writes to them).
// The build keeps the bundle ASCII (build/build.mjs), so Latin-1 decodes it to
// the same text as UTF-8 would, as a one-byte string: a plain copy, and half
// the bytes for V8 to hash and scan than the two-byte string TextDecoder
// makes of a text with any non-ASCII character in it.
const raw = sea.getRawAsset('leash.js');
const source = isAscii(raw) ? Buffer.from(raw).toString('latin1') : new TextDecoder().decode(new Uint8Array(raw));
let cachedData;
try {
  cachedData = new Uint8Array(sea.getRawAsset(cacheName));
} catch {
  cachedData = undefined;
}
const script = new Script(source, { filename: 'leash.cjs', cachedData });
if (script.cachedDataRejected !== false && process.env.LEASH_CODE_CACHE_CHECK === '1') {
  process.stderr.write(`leash: code cache ${cacheName} ${cachedData === undefined ? 'missing' : 'rejected'}\n`);
}
script.runInThisContext().call(module.exports, module.exports, require, module, __filename, __dirname);
