/**
 * The JWKS cache against a REAL oidc-provider on 127.0.0.1 (test/helpers/oidc-provider.ts).
 * Request counts come from the provider's own log of what it served.
 */
import t, { type Test } from 'tap';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LeashError } from '../../../src/errors.js';
import { REFETCH_INTERVAL } from '../../../src/verify/keys/fetch-throttle.js';
import { REFRESH_AGE, cacheFileStem, getSigningKey, refreshProvider, type JwksOptions } from '../../../src/verify/keys/provider-keys.js';
import { publicJwk, signingKey, startProvider, type TestProvider } from '../../helpers/oidc-provider.js';
import { trustedTempDir } from '../../helpers/tmp.js';

const T0 = Math.floor(Date.now() / 1000);
const DAY = 86400;

function cacheDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'leash-jwks-'));
  t.teardown(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}.state`, { recursive: true, force: true });
  });
  return dir;
}
/** The verifier state directory (the fetch throttle) that goes with a cache dir: `<dir>.state`, 0700. */
function stateOf(dir: string): string {
  mkdirSync(`${dir}.state`, { recursive: true, mode: 0o700 });
  return `${dir}.state`;
}
function opts(dir: string, now = T0, extra: Partial<JwksOptions> = {}): JwksOptions {
  return { cacheDir: dir, maxStale: 7 * DAY, now, stateDir: stateOf(dir), ...extra };
}
async function provider(t: Test, ...args: Parameters<typeof startProvider>): Promise<TestProvider> {
  const op = await startProvider(...args);
  t.teardown(op.stop);
  return op;
}
/** Number of key requests `fn` caused. */
async function counting<T>(op: TestProvider, fn: () => Promise<T>): Promise<{ value: T; requests: number }> {
  const before = op.keyRequests();
  const value = await fn();
  return { value, requests: op.keyRequests() - before };
}
async function rejectsCode(t: Test, p: Promise<unknown>, code: string, msg?: string): Promise<LeashError> {
  try {
    await p;
  } catch (err) {
    t.type(err, LeashError);
    t.equal((err as LeashError).code, code, msg ?? `rejects with ${code}`);
    return err as LeashError;
  }
  t.fail(`expected rejection with ${code}`);
  return new LeashError('INTERNAL', 'no rejection');
}

t.test('cold cache: one discovery + one jwks request, file written atomically', async (t) => {
  const key = signingKey('RS256');
  const op = await provider(t, { keys: [key] });
  const dir = cacheDir(t);
  const { value, requests } = await counting(op, () => getSigningKey({ issuer: op.issuer }, key.kid, opts(dir)));
  t.equal(value.source, 'fetched');
  t.equal(value.jwk.kid, key.kid);
  t.equal(value.jwk.kty, 'RSA');
  t.notOk('d' in value.jwk, 'no private member');
  t.same(value.warnings, []);
  t.equal(requests, 2);
  t.same(op.requests.slice(-2), ['/.well-known/openid-configuration', '/jwks']);

  const stem = cacheFileStem(op.issuer);
  t.same(readdirSync(dir).sort(), [`${stem}.json`], 'no temp files left behind, no throttle record in the cache');
  t.same(readdirSync(`${dir}.state`), [`fetch-${stem}-${Math.floor(T0 / REFETCH_INTERVAL)}`], 'the attempt is recorded in the state directory');
  const file = join(dir, `${stem}.json`);
  t.equal(statSync(file).mode & 0o777, 0o644);
  const record = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  t.equal(record['issuer'], op.issuer);
  t.equal(record['jwks_uri'], `${op.issuer}/jwks`);
  t.equal(record['fetched_at'], T0);
  t.same((record['jwks'] as { keys: { kid: string }[] }).keys.map((k) => k.kid), [key.kid]);

  // A refresh replaces the file by rename (new inode), never rewrites it in place.
  const inode = statSync(file).ino;
  const r = await refreshProvider({ issuer: op.issuer }, { cacheDir: dir, now: T0 + 10 });
  t.equal(r.persisted, true);
  t.not(statSync(file).ino, inode, 'replaced by rename');
});

t.test('warm cache: zero requests, up to REFRESH_AGE', async (t) => {
  const key = signingKey('ES256');
  const op = await provider(t, { keys: [key] });
  const dir = cacheDir(t);
  await refreshProvider({ issuer: op.issuer }, { cacheDir: dir, now: T0 });
  for (const now of [T0, T0 + 60, T0 + REFRESH_AGE]) {
    const { value, requests } = await counting(op, () => getSigningKey({ issuer: op.issuer }, key.kid, opts(dir, now)));
    t.equal(value.source, 'cache');
    t.equal(value.age, now - T0);
    t.equal(requests, 0, `no request at age ${now - T0}s`);
  }
  // Past REFRESH_AGE the login path refreshes once (the timer should have).
  const { value, requests } = await counting(op, () => getSigningKey({ issuer: op.issuer }, key.kid, opts(dir, T0 + REFRESH_AGE + 1)));
  t.equal(value.source, 'fetched');
  t.equal(requests, 2);
});

t.test('unknown kid: one refetch, then cached; a second unknown kid inside the window makes no request', async (t) => {
  const a = signingKey('RS256');
  const b = signingKey('EdDSA');
  const op = await provider(t, { keys: [a] });
  const dir = cacheDir(t);
  await refreshProvider({ issuer: op.issuer }, { cacheDir: dir, now: T0 }); // the timer's fill: no throttle stamp
  op.setKeys([b, a]); // rotation at the provider

  let r = await counting(op, () => getSigningKey({ issuer: op.issuer }, b.kid, opts(dir, T0 + 5)));
  t.equal(r.value.source, 'fetched');
  t.equal(r.value.jwk.kty, 'OKP');
  t.equal(r.requests, 2, 'one refetch');
  r = await counting(op, () => getSigningKey({ issuer: op.issuer }, b.kid, opts(dir, T0 + 6)));
  t.equal(r.value.source, 'cache');
  t.equal(r.requests, 0, 'then cached');

  const before = op.keyRequests();
  const err = await rejectsCode(t, getSigningKey({ issuer: op.issuer }, 'made-up-kid', opts(dir, T0 + 7)), 'JWKS_KID_UNKNOWN');
  t.match(err.message, /JWKS_REFETCH_THROTTLED/);
  t.equal(op.keyRequests(), before, 'throttled: no request');

  // After the window one more attempt is allowed; the kid is still unknown.
  const { requests } = await counting(op, () =>
    rejectsCode(t, getSigningKey({ issuer: op.issuer }, 'made-up-kid', opts(dir, T0 + 6 + REFETCH_INTERVAL)), 'JWKS_KID_UNKNOWN'),
  );
  t.equal(requests, 2);
});

t.test('a kid the provider has withdrawn stops working once the cache is refreshed', async (t) => {
  const a = signingKey('RS256');
  const b = signingKey('RS256');
  const op = await provider(t, { keys: [a] });
  const dir = cacheDir(t);
  await refreshProvider({ issuer: op.issuer }, { cacheDir: dir, now: T0 });
  op.setKeys([b]);
  t.equal((await getSigningKey({ issuer: op.issuer }, a.kid, opts(dir, T0 + 100))).source, 'cache', 'still served inside REFRESH_AGE');
  await rejectsCode(t, getSigningKey({ issuer: op.issuer }, a.kid, opts(dir, T0 + REFRESH_AGE + 1)), 'JWKS_KID_UNKNOWN', 'fresh set is authoritative');
});

t.test('provider unreachable: cache within max_stale serves (stale-cache), older is refused', async (t) => {
  const key = signingKey('RS256');
  const op = await provider(t, { keys: [key] });
  const dirs = [cacheDir(t), cacheDir(t), cacheDir(t)] as const;
  for (const d of dirs) await refreshProvider({ issuer: op.issuer }, { cacheDir: d, now: T0 });
  await op.stop();

  t.equal((await getSigningKey({ issuer: op.issuer }, key.kid, opts(dirs[0], T0 + 60))).source, 'cache', 'fresh cache: no attempt at all');

  const stale = await getSigningKey({ issuer: op.issuer }, key.kid, opts(dirs[0], T0 + 2 * DAY));
  t.equal(stale.source, 'stale-cache');
  t.equal(stale.age, 2 * DAY);
  t.same(stale.warnings.map((w) => w.code), ['JWKS_FETCH_FAILED']);

  const err = await rejectsCode(t, getSigningKey({ issuer: op.issuer }, key.kid, opts(dirs[1], T0 + 8 * DAY)), 'JWKS_STALE');
  t.match(err.message, /max_stale/);
  // max_stale also caps the no-request window when it is shorter than REFRESH_AGE.
  await rejectsCode(t, getSigningKey({ issuer: op.issuer }, key.kid, opts(dirs[2], T0 + 120, { maxStale: 60 })), 'JWKS_STALE');

  // No cache at all.
  await rejectsCode(t, getSigningKey({ issuer: op.issuer }, key.kid, opts(cacheDir(t), T0)), 'JWKS_UNAVAILABLE');
});

t.test('corrupt, foreign-issuer, unsafe or symlinked cache files are discarded and refetched', async (t) => {
  const key = signingKey('ES256');
  const op = await provider(t, { keys: [key] });
  const other = await provider(t, { keys: [signingKey('RS256')] });
  const stem = cacheFileStem(op.issuer);

  const cases: [string, (dir: string, file: string) => void, string][] = [
    ['garbage', (_d, f) => writeFileSync(f, '{"version":1,"issuer":'), 'JWKS_CACHE_DISCARDED'],
    ['bad jwks', (_d, f) => writeFileSync(f, JSON.stringify({ version: 1, issuer: op.issuer, jwks_uri: 'x', fetched_at: T0, jwks: { keys: 'no' } })), 'JWKS_CACHE_DISCARDED'],
    ['future fetched_at', (_d, f) => writeFileSync(f, JSON.stringify({ version: 1, issuer: op.issuer, jwks_uri: 'x', fetched_at: T0 + DAY, jwks: { keys: [] } })), 'JWKS_CACHE_DISCARDED'],
    [
      'another issuer\'s file under this name',
      (d, f) => {
        copyFileSync(join(d, `${cacheFileStem(other.issuer)}.json`), f);
      },
      'JWKS_CACHE_DISCARDED',
    ],
    ['world-writable', (_d, f) => chmodSync(f, 0o666), 'JWKS_CACHE_UNSAFE'],
    ['owned by someone else', (_d, f) => chownSync(f, 4242, 4242), 'JWKS_CACHE_UNSAFE'],
    [
      'symlink',
      (d, f) => {
        rmSync(f);
        symlinkSync(join(d, `${cacheFileStem(other.issuer)}.json`), f);
      },
      'JWKS_CACHE_UNSAFE',
    ],
  ];
  for (const [name, spoil, code] of cases) {
    const dir = cacheDir(t);
    await refreshProvider({ issuer: op.issuer }, { cacheDir: dir, now: T0 });
    await refreshProvider({ issuer: other.issuer }, { cacheDir: dir, now: T0 });
    const file = join(dir, `${stem}.json`);
    spoil(dir, file);
    const { value, requests } = await counting(op, () => getSigningKey({ issuer: op.issuer }, key.kid, opts(dir, T0 + 1)));
    t.equal(value.source, 'fetched', `${name}: not trusted`);
    t.same(value.warnings.map((w) => w.code), [code], `${name}: ${code}`);
    t.equal(requests, 2, `${name}: refetched`);
    const st = statSync(file);
    t.ok(st.isFile() && st.uid === 0 && (st.mode & 0o777) === 0o644, `${name}: replaced by a good file`);
    t.equal((await getSigningKey({ issuer: op.issuer }, key.kid, opts(dir, T0 + 2))).source, 'cache', `${name}: cache good again`);
  }
});

t.test('an unsafe or missing cache directory is not used: fetch in memory, say why', async (t) => {
  const key = signingKey('RS256');
  const op = await provider(t, { keys: [key] });

  const open = cacheDir(t);
  chmodSync(open, 0o777);
  let r = await getSigningKey({ issuer: op.issuer }, key.kid, opts(open));
  t.equal(r.source, 'fetched');
  t.same(r.warnings.map((w) => w.code), ['JWKS_CACHE_UNSAFE', 'JWKS_CACHE_UNWRITABLE'], 'not used, so not saved either');
  t.same(readdirSync(open), [], 'nothing written into a group/world-writable dir');

  const missing = join(cacheDir(t), 'nope');
  r = await getSigningKey({ issuer: op.issuer }, key.kid, opts(missing));
  t.equal(r.source, 'fetched');
  t.same(r.warnings.map((w) => w.code), ['JWKS_CACHE_UNWRITABLE']);
  const refreshed = await refreshProvider({ issuer: op.issuer }, { cacheDir: missing, now: T0 });
  t.equal(refreshed.persisted, false);
});

t.test('running as an unprivileged user that cannot write the cache: reads it, fetches in memory (throttled in its state directory)', { skip: process.geteuid?.() !== 0 && 'needs root (seteuid)' }, async (t) => {
  const a = signingKey('RS256');
  const b = signingKey('ES256');
  const op = await provider(t, { keys: [a] });
  const dir = cacheDir(t);
  chmodSync(dir, 0o755); // root-owned, readable by all, writable only by root
  await refreshProvider({ issuer: op.issuer }, { cacheDir: dir, now: T0 });
  op.setKeys([b, a]);
  chownSync(stateOf(dir), 65534, 65534); // the verifier's own state directory is nobody's
  const seteuid = process.seteuid as (id: number) => void; // POSIX-only, present under root on Linux
  seteuid(65534); // nobody
  let hit, miss;
  try {
    hit = await counting(op, () => getSigningKey({ issuer: op.issuer }, a.kid, opts(dir, T0 + 1)));
    miss = await counting(op, () => getSigningKey({ issuer: op.issuer }, b.kid, opts(dir, T0 + 2)));
  } finally {
    seteuid(0);
  }
  t.equal(hit.value.source, 'cache', 'root-owned cache is readable and trusted');
  t.equal(hit.requests, 0);
  t.equal(miss.value.source, 'fetched');
  t.equal(miss.requests, 2);
  t.same(miss.value.warnings.map((w) => w.code), ['JWKS_CACHE_UNWRITABLE']);
});

t.test('discovery naming another issuer is refused', async (t) => {
  const key = signingKey('RS256');
  const op = await provider(t, { keys: [key], issuerHost: 'localhost' }); // discovery says http://localhost:PORT
  const dir = cacheDir(t);
  const err = await rejectsCode(t, getSigningKey({ issuer: op.url }, key.kid, opts(dir)), 'JWKS_UNAVAILABLE');
  t.match(err.message, /DISCOVERY_ISSUER_MISMATCH/);
  await rejectsCode(t, refreshProvider({ issuer: op.url }, { cacheDir: dir, now: T0 }), 'DISCOVERY_ISSUER_MISMATCH');
  t.notOk(op.requests.includes('/jwks'), 'the key set was never fetched');
  // A trailing slash is a different issuer, too (byte-exact, as opkssh).
  await rejectsCode(t, refreshProvider({ issuer: `${op.issuer}/` }, { cacheDir: dir, now: T0 }), 'DISCOVERY_ISSUER_MISMATCH');
  t.same(readdirSync(dir).filter((f) => f.endsWith('.json')), [], 'nothing cached');
});

t.test('http is refused for a non-loopback issuer before any request', async (t) => {
  const dir = cacheDir(t);
  for (const issuer of ['http://example.com', 'http://10.0.0.1:8080', 'http://127.0.0.1.example.com', 'ftp://127.0.0.1/x', 'https://user:pw@example.com']) {
    await rejectsCode(t, getSigningKey({ issuer }, 'k', opts(dir)), 'JWKS_URL_INSECURE', issuer);
  }
});

t.test('a provider that accepts and never answers is given up on within the timeout', async (t) => {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s); // hold the connection open, say nothing
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const port = (server.address() as { port: number }).port;
  const dir = cacheDir(t);
  const issuer = `http://127.0.0.1:${port}`;

  let start = Date.now();
  const err = await rejectsCode(t, getSigningKey({ issuer }, 'k', opts(dir)), 'JWKS_UNAVAILABLE');
  const took = Date.now() - start;
  t.match(err.message, /JWKS_FETCH_TIMEOUT/);
  t.ok(took >= 2900 && took < 4500, `gave up after ${took} ms (deadline 3000 ms)`);

  // The next login inside REFETCH_INTERVAL does not wait again.
  start = Date.now();
  await rejectsCode(t, getSigningKey({ issuer }, 'k', opts(dir, T0 + 10)), 'JWKS_UNAVAILABLE');
  t.ok(Date.now() - start < 500, 'throttled: refused at once');
});

t.test('pinned jwks_file: read from disk, never fetched', async (t) => {
  const key = signingKey('ES256');
  const op = await provider(t, { keys: [key] });
  const conf = await trustedTempDir('jwks-pinned-');
  t.teardown(conf.cleanup);
  const file = join(conf.path, 'provider.jwks.json');
  writeFileSync(file, JSON.stringify({ keys: [publicJwk(key)] }), { mode: 0o644 });
  const p = { issuer: op.issuer, jwksFile: file };
  const dir = cacheDir(t);

  const { value, requests } = await counting(op, () => getSigningKey(p, key.kid, opts(dir)));
  t.equal(value.source, 'pinned');
  t.equal(value.age, null);
  t.equal(requests, 0);
  t.same(readdirSync(dir), [], 'no cache files for a pinned provider');
  await rejectsCode(t, getSigningKey(p, 'other', opts(dir)), 'JWKS_KID_UNKNOWN');
  await rejectsCode(t, refreshProvider(p, { cacheDir: dir, now: T0 }), 'JWKS_PINNED');
  t.equal(op.keyRequests(), 0);

  chmodSync(file, 0o666);
  await rejectsCode(t, getSigningKey(p, key.kid, opts(dir)), 'CONFIG_UNSAFE', 'a writable pinned file is not trusted');
  chmodSync(file, 0o644);
  writeFileSync(file, 'not json');
  await rejectsCode(t, getSigningKey(p, key.kid, opts(dir)), 'JWKS_INVALID');
});

t.test('without a verifier state directory the login path never fetches', async (t) => {
  const key = signingKey('RS256');
  const op = await provider(t, { keys: [key] });
  const dir = cacheDir(t);
  const err = await rejectsCode(t, getSigningKey({ issuer: op.issuer }, key.kid, opts(dir, T0, { stateDir: null })), 'JWKS_UNAVAILABLE');
  t.match(err.message, /VERIFY_STATE_UNUSABLE/);
  t.equal(op.keyRequests(), 0, 'no request at all');
  await refreshProvider({ issuer: op.issuer }, { cacheDir: dir, now: T0 });
  t.equal((await getSigningKey({ issuer: op.issuer }, key.kid, opts(dir, T0 + 1, { stateDir: null }))).source, 'cache', 'the refresh timer\'s cache still serves');
});

t.test('the throttle holds for many concurrent logins with an unknown kid and a root-owned cache directory', async (t) => {
  const op = await provider(t, { keys: [signingKey('RS256')] });
  const dir = cacheDir(t);
  chmodSync(dir, 0o755);
  await refreshProvider({ issuer: op.issuer }, { cacheDir: dir, now: T0 });
  const before = op.keyRequests();
  // Made-up kids, as anyone can present: 20 logins at once, then 20 more over the next minutes.
  const warnings: string[][] = [];
  const attempt = async (now: number, i: number): Promise<void> => {
    const o = opts(dir, now, { warnings: [] });
    await rejectsCode(t, getSigningKey({ issuer: op.issuer }, `made-up-${i}`, o), 'JWKS_KID_UNKNOWN');
    warnings.push((o.warnings ?? []).map((w) => w.code));
  };
  await Promise.all(Array.from({ length: 20 }, (_, i) => attempt(T0 + 1, i)));
  for (let i = 0; i < 20; i++) await attempt(T0 + 2 + i * 14, 100 + i); // up to T0 + 268: inside one interval
  t.equal(op.keyRequests() - before, 2, 'one discovery and one key set for all 40 logins');
  t.ok(warnings.filter((w) => w.includes('JWKS_REFETCH_THROTTLED')).length >= 39, 'the others were throttled');
});

t.test('state directory records: one per slot, foreign or garbled ones count as a recent attempt', async (t) => {
  const op = await provider(t, { keys: [signingKey('RS256')] });
  const dir = cacheDir(t);
  const state = stateOf(dir);
  const stem = cacheFileStem(op.issuer);
  const slot = Math.floor(T0 / REFETCH_INTERVAL);
  writeFileSync(join(state, `fetch-${stem}-${slot - 1}`), 'garbage');
  const err = await rejectsCode(t, getSigningKey({ issuer: op.issuer }, 'k', opts(dir, T0)), 'JWKS_UNAVAILABLE');
  t.match(err.message, /JWKS_REFETCH_THROTTLED/);
  t.equal(op.keyRequests(), 0);
  symlinkSync('/etc/hostname', join(state, `fetch-${stem}-${slot}`));
  rmSync(join(state, `fetch-${stem}-${slot - 1}`));
  await rejectsCode(t, getSigningKey({ issuer: op.issuer }, 'k', opts(dir, T0)), 'JWKS_UNAVAILABLE');
  t.equal(op.keyRequests(), 0, 'a symlink in the slot is not followed, and no fetch');
  t.equal(readFileSync('/etc/hostname', 'utf8').length > 0, true, 'the symlink target is untouched');
});
