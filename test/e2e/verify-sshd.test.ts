/**
 * `leash verify` end to end: a real OpenSSH sshd runs the built dist/leash
 * as its AuthorizedKeysCommand (as the unprivileged leash-akc), against a
 * real OpenID provider on 127.0.0.1, with OPKSSH certificates minted by
 * test/helpers/pktoken.ts (a real login + the real ssh-keygen). The line
 * leash prints then makes sshd run `leash shell` as the forced command.
 * One provider, one sshd.
 *
 * Needs root (sshd must switch users) and `npm run build` first.
 */
import t, { type Test as Tap } from 'tap';
import { leashYaml } from '../helpers/leash-yaml.js';
import { existsSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProvider } from '../helpers/oidc-provider.js';
import { makeRuntimeDir } from '../helpers/runtime-dir.js';
import { mintLogin, sshFingerprint, type MintedLogin } from '../helpers/pktoken.js';
import { AKC_USER, e2eSkipReason, ensureAkcUser, ensureUser, setUpOrSkip, startSshd, type SshResult } from '../helpers/sshd.js';
import { installBinary, trustedTempDir } from '../helpers/tmp.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LEASH = join(REPO, 'dist', 'leash');
const POLICY = join(REPO, 'policies', 'diagnostic.yaml');
/** The local account alice is granted. */
const AGENT = 'leash-e2e-agent';
const DENIED = /^leash: denied \([A-Z][A-Z0-9_]*\): \S/m;

const skip = e2eSkipReason(LEASH);

const detail = (r: SshResult): Record<string, unknown> => ({ code: r.code, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function setUp(t: Tap) {
  if (!existsSync(POLICY)) throw new Error(`${POLICY} is missing`);
  const agent = await ensureUser(AGENT);
  const akc = await ensureAkcUser();

  // ID tokens normally live an hour; one login below asks for a 1-second token.
  let idTokenTtl = 3600;
  // A provider that lets a user choose a sub spelled like someone else's email (the reported impersonation):
  // the account "alice@example.com" has sub "alice@example.com" and mallory's unverified address.
  const op = await startProvider({
    idTokenTtl: () => idTokenTtl,
    accountClaims: (login) => (login === 'alice@example.com' ? { email: 'mallory@example.com', email_verified: false } : {}),
  });
  t.teardown(op.stop);

  const bin = await installBinary(LEASH);
  t.teardown(bin.cleanup);

  // Config dir: root-owned chain (leash's rule), readable by leash-akc (verify)
  // and by the session user (shell): dirs 0755, files 0644.
  const cfg = await trustedTempDir('verify-e2e-');
  t.teardown(cfg.cleanup);
  const audit = join(cfg.path, 'audit.jsonl');
  const cache = join(cfg.path, 'jwks-cache');
  await mkdir(cache, { mode: 0o755 });
  await chown(cache, akc.uid, akc.gid); // cache-store accepts root or the user leash runs as
  await chmod(cache, 0o755);
  // Appended to by leash-akc (verify.*) and by the session user (shell.*). 0666
  // only for this test: the real permission model (a shared group) comes with install.sh.
  await writeFile(audit, '', { mode: 0o666 });
  await chmod(audit, 0o666);
  // The recordings log and the session registry (track C).
  await writeFile(join(cfg.path, 'recordings.jsonl'), '', { mode: 0o666 });
  await chmod(join(cfg.path, 'recordings.jsonl'), 0o666);
  // runtime_dir: the verifier's state (leash-akc, 0700: the memo and the fetch throttle) and the session registry.
  const runtimeDir = await makeRuntimeDir(cfg.path, akc);
  await mkdir(join(cfg.path, 'policies'), { mode: 0o755 });
  await chmod(join(cfg.path, 'policies'), 0o755);
  await copyFile(POLICY, join(cfg.path, 'policies', 'diagnostic.yaml'));
  await chmod(join(cfg.path, 'policies', 'diagnostic.yaml'), 0o644);
  const yaml = leashYaml({
    issuer: op.issuer,
    clientId: op.clientId,
    // `oidc` (valid until the ID token's exp) rather than 24h, so that a
    // 1-second token can expire during the test.
    expiration: 'oidc',
    grants: [
      { identity: 'alice@example.com', principals: [AGENT] },
      { identity: 'bob@example.com', principals: ['someone-else'] },
      { identity: 'trudy@example.com', principals: [AGENT] },
    ],
    denyIdentities: ['trudy@example.com'],
    auditLog: audit,
    jwksCacheDir: cache,
    runtimeDir,
  });
  await writeFile(join(cfg.path, 'leash.yaml'), yaml, { mode: 0o644 });
  await chmod(join(cfg.path, 'leash.yaml'), 0o644);

  // Client keys and certificates only need to be private to root.
  const keyDir = await mkdtemp(join(tmpdir(), 'leash-verify-e2e-'));
  t.teardown(() => rm(keyDir, { recursive: true, force: true }));

  // The short-lived token first, so that it has expired by the time it is used.
  idTokenTtl = 1;
  const expired = await mintLogin(op, 'alice', { dir: keyDir, name: 'alice-expired' });
  idTokenTtl = 3600;
  const [alice, bob, carol, trudy] = await Promise.all(['alice', 'bob', 'carol', 'trudy'].map((u) => mintLogin(op, u, { dir: keyDir, name: u })));
  const impostor = await mintLogin(op, 'alice@example.com', { dir: keyDir, name: 'impostor' });

  const sshd = await startSshd({
    // sshd passes only the tokens given here; the global --config-dir stands before the command.
    authorizedKeysCommand: `${bin.path} --config-dir ${cfg.path} verify %u %k %t`,
    authorizedKeysCommandUser: AKC_USER,
    authorizedKeysFile: 'none',
  });
  t.teardown(async () => {
    if (!t.passing()) console.error(`--- sshd log (${sshd.configPath}) ---\n${sshd.log()}\n--- audit ---\n${await readFile(audit, 'utf8').catch(() => '')}`);
    await sshd.stop();
  });
  return { op, sshd, audit, alice: alice!, bob: bob!, carol: carol!, trudy: trudy!, impostor, expired };
}

const env = await setUpOrSkip(t, skip, setUp);

if (env) {
  const { op, sshd, audit, alice, bob, carol, trudy, impostor, expired } = env;
  const login = (m: MintedLogin, command: string): Promise<SshResult> => sshd.ssh({ user: AGENT, key: m.keyPath, cert: m.certPath, command });
  const readAudit = async (): Promise<Record<string, unknown>[]> =>
    (await readFile(audit, 'utf8'))
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const refusedLogin = (t: Tap, r: SshResult, what: string): void => {
    t.equal(r.code, 255, `${what}: ssh gives up`, detail(r));
    t.match(r.stderr, /Permission denied \(publickey\)/, `${what}: Permission denied`);
    t.equal(r.stdout, '', `${what}: nothing ran`);
  };

  await t.test('alice logs in with her OPKSSH certificate; the profile confines her', async (t) => {
    const ok = await login(alice, 'uptime');
    t.equal(ok.code, 0, 'uptime: exit 0', detail(ok));
    t.match(ok.stdout, /load average/, 'uptime ran');
    const no = await login(alice, 'cat /etc/shadow');
    t.equal(no.code, 126, 'cat /etc/shadow: exit 126', detail(no));
    t.match(no.stderr, DENIED, 'leash: denied (CODE)');
    t.equal(no.stdout, '');
    // sshd trusted the certificate's own key as the CA of this login (notes §3.11).
    const fp = await sshFingerprint(alice.pubPath);
    await sshd.waitForLog(new RegExp(`Accepted certificate ID "alice@example\\.com" \\(serial 0\\) signed by CA ECDSA ${fp.replace(/[+/]/g, '\\$&')} found at `));
    t.pass('sshd: the certificate was accepted with its own key as CA');
  });

  await t.test('refused identities get Permission denied', async (t) => {
    refusedLogin(t, await login(bob, 'uptime'), 'bob (granted another local user)');
    refusedLogin(t, await login(carol, 'uptime'), 'carol (no grant)');
    refusedLogin(t, await login(trudy, 'uptime'), 'trudy (deny-listed, despite a grant)');
  });

  await t.test('the reported impersonation: sub "alice@example.com" with mallory\'s unverified email gets no grant of alice\'s', async (t) => {
    const claims = JSON.parse(Buffer.from(impostor.idToken.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    t.match(claims, { sub: 'alice@example.com', email: 'mallory@example.com', email_verified: false }, 'the provider issued exactly that token');
    refusedLogin(t, await login(impostor, 'uptime'), 'the impostor');
    const events = await readAudit();
    const theirs = events.filter((l) => l['sub'] === 'alice@example.com');
    t.ok(theirs.length > 0, 'refused and logged', { audit: events });
    for (const e of theirs) {
      t.match(e, { event: 'verify.refused', reason: 'NO_GRANT', sub: 'alice@example.com', email: 'mallory@example.com', email_verified: false }, 'the audit names who really logged in');
      t.notOk('identity' in e, 'and no identity label of alice\'s');
    }
  });

  await t.test('ssh -tt works: the line allows a pty', async (t) => {
    const r = await sshd.ssh({ user: AGENT, key: alice.keyPath, cert: alice.certPath, command: 'uptime', tty: 'force' });
    t.equal(r.code, 0, 'exit 0', detail(r));
    t.match(r.stdout, /load average/, 'uptime ran');
    t.notMatch(r.stderr, /PTY allocation request failed/);
  });

  await t.test('an expired ID token is refused', async (t) => {
    const exp = (JSON.parse(Buffer.from(expired.idToken.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp;
    const wait = exp * 1000 + 50 - Date.now();
    if (wait > 0) await sleep(wait);
    refusedLogin(t, await login(expired, 'uptime'), 'alice with a token past its exp');
  });

  await t.test('the audit log ties the shell session to the verification: one login, one verify.accepted', async (t) => {
    const lines = await readAudit();
    const dump = { audit: lines };
    const accepted = lines.filter((l) => l['event'] === 'verify.accepted');
    // Three alice logins (uptime, cat, the -tt one); sshd runs the AuthorizedKeysCommand twice per login
    // (query, then signed request) and the second call is answered from the first: one event per login.
    t.equal(accepted.length, 3, 'one verify.accepted per login', dump);
    for (const a of accepted) {
      t.match(a, { user: AGENT, identity: 'alice@example.com', profile: 'diagnostic', iss: op.issuer, sub: 'alice', email: 'alice@example.com', email_verified: true, key_id: 'alice@example.com' });
      t.match(a['session'], /^[0-9a-f]{32}$/);
      t.match(a['key'], /^SHA256:[A-Za-z0-9+/]{43}$/);
    }
    const sessions = new Set(accepted.map((a) => a['session']));
    t.equal(sessions.size, accepted.length, 'every login has its own session id');

    const allowed = lines.find((l) => l['event'] === 'shell.allowed' && l['command'] === 'uptime');
    const denied = lines.find((l) => l['event'] === 'shell.denied' && l['command'] === 'cat /etc/shadow');
    t.ok(allowed, 'uptime: shell.allowed', dump);
    t.ok(denied, 'cat /etc/shadow: shell.denied', dump);
    t.ok(sessions.has(allowed?.['session']), "uptime's session is the session of one of its verifications", { session: allowed?.['session'], sessions: [...sessions] });
    t.ok(sessions.has(denied?.['session']), "cat's session likewise");
    t.not(allowed?.['session'], denied?.['session'], 'two logins, two sessions');
    for (const s of [allowed, denied]) t.equal(s?.['identity'], 'alice@example.com', 'the shell event names the identity');
    // What sshd itself ran: the forced command of each accepted login carries the session id.
    const forced = [...sshd.log().matchAll(/forced-command \(key-option\) '[^']* shell --profile diagnostic --identity alice@example\.com --session ([0-9a-f]{32}) /g)].map((m) => m[1]);
    t.equal(forced.length, 3, 'sshd started three sessions with a forced command');
    t.same(forced.slice(0, 2), [allowed?.['session'], denied?.['session']], "sshd's forced commands carry the sessions the shell logged");
    t.same(forced, accepted.map((a) => a['session']), "and each forced command's --session is its login's verify.accepted session");
    const finished = lines.find((l) => l['event'] === 'shell.finished' && l['session'] === allowed?.['session']);
    t.equal(finished?.['exit'], 0, 'uptime finished with 0 in the same session', dump);

    const refused = lines.filter((l) => l['event'] === 'verify.refused');
    const reasonFor = (email: string): unknown[] => refused.filter((l) => l['email'] === email).map((l) => l['reason']);
    t.ok(reasonFor('bob@example.com').includes('GRANT_OTHER_USER'), 'bob: GRANT_OTHER_USER', dump);
    t.ok(reasonFor('carol@example.com').includes('NO_GRANT'), 'carol: NO_GRANT', dump);
    t.ok(reasonFor('trudy@example.com').includes('DENY_IDENTITY'), 'trudy: DENY_IDENTITY', dump);
    const expiredFp = refused.filter((l) => l['reason'] === 'TOKEN_EXPIRED');
    t.equal(expiredFp.length >= 1 && expiredFp.every((l) => l['email'] === 'alice@example.com'), true, 'the expired token: TOKEN_EXPIRED', dump);
    for (const l of refused) t.equal(l['user'], AGENT);

    const text = await readFile(audit, 'utf8');
    for (const m of [alice, bob, carol, trudy, impostor, expired]) {
      t.notOk(text.includes(m.idToken.split('.')[2]!), 'no ID token signature in the audit log');
      t.notOk(text.includes(m.compact), 'no PK Token in the audit log');
    }
  });

  await t.test('the provider was asked for its keys once for all these logins', async (t) => {
    // Discovery + JWKS by the first AuthorizedKeysCommand run; every later run used leash-akc's cache.
    t.equal(op.keyRequests(), 2, 'one discovery and one JWKS request', { requests: op.requests });
  });
}

