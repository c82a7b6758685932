/**
 * Network amplification: whatever an unauthenticated client presents, and
 * however the key cache is set up, the login path asks a provider at most
 * once per issuer per REFETCH_INTERVAL. Here the cache is root-owned (the
 * verifier cannot write it, which the docs allow), the verifier is the real
 * built executable run as a real unprivileged AuthorizedKeysCommandUser, and
 * many logins arrive at once: with made-up kids against a real provider, and
 * against a provider that accepts connections and never answers.
 */
import t from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localIssuer } from '../helpers/local-issuer.js';
import { runLeash } from '../helpers/leash-process.js';
import { startProvider } from '../helpers/oidc-provider.js';
import { mintLogin } from '../helpers/pktoken.js';
import { ensureAkcUser } from '../helpers/sshd.js';
import { isRoot } from '../helpers/tmp.js';
import { verifierConfig } from '../helpers/verifier-config.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LEASH = join(REPO, 'dist', 'leash');
const USER = 'agent';
const LOGINS = 16;

const skip = !isRoot() ? 'needs root (users are switched)' : !existsSync(LEASH) ? 'dist/leash is missing: run `npm run build` first' : '';
if (skip) {
  t.plan(0, skip);
} else {
  const akc = await ensureAkcUser();
  const keys = mkdtempSync(join(tmpdir(), 'leash-throttle-keys-'));
  t.teardown(() => rmSync(keys, { recursive: true, force: true }));
  const login = (dir: string, m: { keyBase64: string; keyType: string }) =>
    runLeash(LEASH, ['--config-dir', dir, 'verify', USER, m.keyBase64, m.keyType], { uid: akc.uid, gid: akc.gid, timeoutMs: 30_000 });

  t.test('made-up kids, many logins at once: one discovery and one key set in all', async (t) => {
    const op = await startProvider();
    t.teardown(op.stop);
    const c = await verifierConfig(t, { issuer: op.issuer, clientId: op.clientId, grants: [{ identity: 'alice@example.com', principals: [USER] }], stateOwner: akc });
    // The cache is root's (a refresh run as root): readable, not writable by the verifier.
    const refresh = await runLeash(LEASH, ['--config-dir', c.dir, 'jwks', 'refresh']);
    t.equal(refresh.code, 0, refresh.stdout);
    // Anyone can make these: a certificate of their own, claims naming the provider, a kid it never had.
    const forgers = Array.from({ length: LOGINS }, (_, i) => localIssuer({ issuer: op.issuer, clientId: op.clientId, header: { kid: `made-up-${i}` }, forgeSignature: true }));
    const certs = await Promise.all(forgers.map((f, i) => mintLogin(f, `anyone-${i}`, { dir: keys })));
    const before = op.keyRequests();
    const results = await Promise.all(certs.map((m) => login(c.dir, m)));
    for (const r of results) t.equal(r.code, 1, 'refused');
    t.equal(op.keyRequests() - before, 2, `${LOGINS} logins at once: one discovery and one JWKS request`, { requests: op.requests.slice(before) });
    const again = await Promise.all(certs.map((m) => login(c.dir, m)));
    t.equal(again.every((r) => r.code === 1), true);
    t.equal(op.keyRequests() - before, 2, 'and none for the next round either');
    const refusals = c.events().filter((e) => e['event'] === 'verify.refused');
    t.equal(refusals.length, 2 * LOGINS);
    t.equal(refusals.every((e) => e['reason'] === 'JWKS_KID_UNKNOWN'), true, 'each refused as an unknown kid');
    t.ok(refusals.filter((e) => (e['warnings'] as string[] | undefined)?.some((w) => w.startsWith('JWKS_REFETCH_THROTTLED'))).length >= 2 * LOGINS - 1, 'the others say they were throttled');
  });

  t.test('a provider that accepts and never answers: one request for many logins', async (t) => {
    const sockets = new Set<Socket>();
    let requests = 0;
    const server = createServer((s) => {
      sockets.add(s); // hold it open, say nothing
      // Counted by what arrives: Node's fetch may open a spare connection that never carries a request.
      s.once('data', () => requests++);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    t.teardown(() => {
      for (const s of sockets) s.destroy();
      server.close();
    });
    const issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const forger = localIssuer({ issuer, clientId: 'c', forgeSignature: true });
    const c = await verifierConfig(t, { issuer, clientId: 'c', grants: [{ identity: 'alice@example.com', principals: [USER] }], stateOwner: akc });
    const m = await mintLogin(forger, 'anyone', { dir: keys });
    const results = await Promise.all(Array.from({ length: LOGINS }, () => login(c.dir, m)));
    t.equal(results.every((r) => r.code === 1 && !r.timedOut), true, 'all refused');
    t.equal(requests, 1, `one request for ${LOGINS} logins`);
    const reasons = c.events().map((e) => e['reason']);
    t.same([...new Set(reasons)], ['JWKS_UNAVAILABLE']);
    t.equal(c.events().filter((e) => String(e['detail']).includes('JWKS_FETCH_TIMEOUT')).length, 1, 'one login waited for the deadline; the others were refused at once');
  });

  t.test('without a state directory: no request at all, however many logins', async (t) => {
    const op = await startProvider();
    t.teardown(op.stop);
    const c = await verifierConfig(t, { issuer: op.issuer, clientId: op.clientId, grants: [{ identity: 'alice@example.com', principals: [USER] }], stateOwner: 'none' });
    const forger = localIssuer({ issuer: op.issuer, clientId: op.clientId, forgeSignature: true });
    const m = await mintLogin(forger, 'anyone', { dir: keys });
    const results = await Promise.all(Array.from({ length: 8 }, () => login(c.dir, m)));
    t.equal(results.every((r) => r.code === 1), true);
    t.equal(op.keyRequests(), 0, 'the login path never fetches without its throttle');
    t.match(c.events()[0]?.['warnings'], [/^VERIFY_STATE_UNUSABLE: /]);
  });
}
