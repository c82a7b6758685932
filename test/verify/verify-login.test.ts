/**
 * The whole `leash verify` pipeline against a REAL OpenID provider
 * (oidc-provider on 127.0.0.1) and certificates made by the REAL ssh-keygen,
 * with login material minted independently of src/ (test/helpers/pktoken.ts):
 * verifyLogin in-process for every accept/refuse decision, and runVerify for
 * what sshd and the audit log see (stdout, exit status, verify.* events).
 */
import t, { type Test as Tap } from 'tap';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandContext } from '../../src/commands/context.js';
import { parseLeashConfig } from '../../src/config/parse.js';
import type { LeashConfig } from '../../src/config/types.js';
import { runVerify } from '../../src/commands/verify.js';
import type { VerifyIo } from '../../src/commands/verifier-process.js';
import { REFETCH_INTERVAL } from '../../src/verify/keys/fetch-throttle.js';
import { REFRESH_AGE } from '../../src/verify/keys/provider-keys.js';
import { verifyLogin, type VerifyContext, type VerifyFacts, type VerifyResult } from '../../src/verify/verify-login.js';
import { localIssuer, type LocalIssuer } from '../helpers/local-issuer.js';
import { signingKey, startProvider, type TestProvider } from '../helpers/oidc-provider.js';
import { mintLogin, sshFingerprint, tamperKeyId, type MintOptions, type MintedLogin } from '../helpers/pktoken.js';
import { isRoot, trustedTempDir } from '../helpers/tmp.js';
import { verifierConfig } from '../helpers/verifier-config.js';

const LEASH_PATH = '/usr/local/bin/leash';
const CONFIG_DIR = '/etc/leash-test';
const USER = 'agent';
const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/** The line for alice, exactly (leashPath and config dir escaped in). */
function lineRe(leashPath: string, configDir: string | undefined, principal = 'opkssh-wildcard', keyType = 'ecdsa-sha2-nistp256'): RegExp {
  const dir = configDir === undefined ? '' : ` --config-dir ${esc(configDir)}`;
  return new RegExp(
    `^cert-authority,principals="${esc(principal)}",restrict,pty,expiry-time="\\d{14}Z",` +
      `command="${esc(leashPath)} shell --profile diagnostic --identity alice@example\\.com --session [0-9a-f]{32} --expires \\d+${dir}" ` +
      `${esc(keyType)} [A-Za-z0-9+/=]+$`,
  );
}

const work = mkdtempSync(join(tmpdir(), 'leash-verify-login-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
let cacheCount = 0;
/** A new, empty JWKS cache dir (0700, owned by this user: what cache-store accepts). */
function freshCache(): string {
  const dir = join(work, `jwks-${++cacheCount}`);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}
const sharedCache = freshCache();
const keysDir = join(work, 'keys');
mkdirSync(keysDir, { mode: 0o700 });

const op = await startProvider();
t.teardown(op.stop);

interface ConfigOptions {
  issuer?: string;
  clientId?: string;
  expiration?: string;
  maxSession?: string;
  cacheDir?: string;
  auditLog?: string;
  runtimeDir?: string;
}

/** leash.yaml text: alice → agent (+root), bob → someone-else, mallory granted but deny-listed, root deny-listed. */
function configYaml(p: TestProvider, o: ConfigOptions = {}): string {
  const grant = (identity: string, principals: string[], extra = ''): string =>
    `  - identity: ${identity}\n    issuer: ${p.issuer}\n    principals: [${principals.join(', ')}]\n    profile: diagnostic\n${extra}`;
  return [
    'providers:',
    `  - issuer: ${o.issuer ?? p.issuer}`,
    `    client_id: ${o.clientId ?? p.clientId}`,
    `    expiration: ${o.expiration ?? '24h'}`,
    'grants:',
    grant('alice@example.com', [USER, 'root'], o.maxSession === undefined ? '' : `    max_session: ${o.maxSession}\n`).trimEnd(),
    grant('bob@example.com', ['someone-else']).trimEnd(),
    grant('mallory@example.com', [USER]).trimEnd(),
    'deny:',
    '  identities: [mallory@example.com]',
    '  users: [root]',
    `jwks_cache_dir: ${o.cacheDir ?? sharedCache}`,
    ...(o.auditLog === undefined ? [] : [`audit_log: ${o.auditLog}`]),
    ...(o.runtimeDir === undefined ? [] : [`runtime_dir: ${o.runtimeDir}`]),
    '',
  ].join('\n');
}

function config(o: ConfigOptions = {}, p: TestProvider = op): LeashConfig {
  return parseLeashConfig(`${CONFIG_DIR}/leash.yaml`, configYaml(p, o));
}

const nowS = (): number => Math.floor(Date.now() / 1000);

/** The verifier state directory (fetch throttle) that goes with a cache dir: `<dir>.state`, 0700. */
function stateOf(cacheDir: string): string {
  mkdirSync(`${cacheDir}.state`, { recursive: true, mode: 0o700 });
  return `${cacheDir}.state`;
}

function ctx(o: ConfigOptions = {}, over: Partial<VerifyContext> = {}, p: TestProvider = op): VerifyContext {
  return { config: config(o, p), migrated: { providers: [], grants: [] }, now: nowS(), leashPath: LEASH_PATH, configDir: CONFIG_DIR, stateDir: stateOf(o.cacheDir ?? sharedCache), ...over };
}

const mint = (user: string, o: Partial<MintOptions> = {}, p: TestProvider = op): Promise<MintedLogin> => mintLogin(p, user, { dir: keysDir, ...o });
const verify = (m: Pick<MintedLogin, 'keyBase64' | 'keyType'>, c: VerifyContext = ctx(), user = USER): Promise<VerifyResult> =>
  verifyLogin({ user, keyBase64: m.keyBase64, keyType: m.keyType }, c);
const claims = (m: MintedLogin): { iat: number; exp: number } => JSON.parse(Buffer.from(m.idToken.split('.')[1]!, 'base64url').toString()) as { iat: number; exp: number };

const alice = await mint('alice');

t.test('granted identity: one authorized_keys line, the certificate key at its end', async (t) => {
  const r = await verify(alice);
  t.match(r.line, lineRe(LEASH_PATH, CONFIG_DIR));
  t.notOk(r.line.includes('\n'), 'a single line');
  t.equal(r.line.split(' ').slice(-2).join(' '), alice.publicKey, 'the key is the certificate key (ssh-keygen -y of the client key)');
  t.equal(r.identity, 'alice@example.com');
  t.equal(r.profile, 'diagnostic');
  t.match(r.line, ` --session ${r.sessionId} --expires ${r.expiresAt} `, 'session and expiry are in the forced command');
  t.equal(r.expiresAt, claims(alice).iat + 86400, '24h policy: iat + 24h');

  const noDir = await verify(alice, ctx({}, { configDir: undefined }));
  t.match(noDir.line, lineRe(LEASH_PATH, undefined), 'no --config-dir when it is the default');
});

t.test('facts for the audit are gathered without a report callback', async (t) => {
  const facts: VerifyFacts = {};
  await t.rejects(verifyLogin({ user: 'nobody-granted', keyBase64: alice.keyBase64, keyType: alice.keyType }, ctx(), facts), { code: 'GRANT_OTHER_USER' });
  t.same(facts, { fingerprint: await sshFingerprint(alice.pubPath), keyId: 'alice@example.com', iss: op.issuer, sub: 'alice', email: 'alice@example.com', emailVerified: true, jti: undefined, warnings: [] });
});

t.test('a second verification asks the provider nothing and gets a new session', async (t) => {
  const first = await verify(alice);
  const requests = op.requests.length;
  const keyRequests = op.keyRequests();
  const second = await verify(alice);
  t.equal(op.requests.length, requests, 'no request of any kind reached the provider');
  t.equal(op.keyRequests(), keyRequests);
  t.equal(second.keySource, 'cache');
  t.not(second.sessionId, first.sessionId, 'a new session id');
});

t.test('Ed25519 client key (EdDSA upk)', async (t) => {
  const m = await mint('alice', { keyType: 'ed25519' });
  const r = await verify(m);
  t.match(r.line, lineRe(LEASH_PATH, CONFIG_DIR, 'opkssh-wildcard', 'ssh-ed25519'));
  t.equal(r.line.split(' ').slice(-2).join(' '), m.publicKey);
});

t.test('certificate principals: the user itself, or refused when only other users', async (t) => {
  const named = await mint('alice', { principals: [USER] });
  t.match((await verify(named)).line, lineRe(LEASH_PATH, CONFIG_DIR, USER), 'principals="agent" when the cert names the user');
  const other = await mint('alice', { principals: ['someone'] });
  await t.rejects(verify(other), { code: 'CERT_PRINCIPAL_MISMATCH' });
});

t.test('authorization refusals', async (t) => {
  const [bob, carol, mallory] = await Promise.all([mint('bob'), mint('carol'), mint('mallory')]);
  await t.rejects(verify(carol), { code: 'NO_GRANT' }, 'identity without a grant');
  await t.rejects(verify(bob), { code: 'GRANT_OTHER_USER' }, 'a grant for another local user');
  await t.rejects(verify(mallory), { code: 'DENY_IDENTITY' }, 'deny.identities wins over her grant');
  await t.rejects(verify(alice, ctx(), 'root'), { code: 'DENY_USER' }, 'deny.users wins over alice → root');
  await t.rejects(verify(alice, ctx(), 'bob'), { code: 'GRANT_OTHER_USER' }, 'alice as a user she has no grant for');
});

t.test('provider configuration refusals', async (t) => {
  await t.rejects(verify(alice, ctx({ clientId: 'some-other-client' })), { code: 'AUDIENCE_MISMATCH' });
  await t.rejects(verify(alice, ctx({ issuer: 'https://accounts.example.net' })), { code: 'ISSUER_UNKNOWN' });
  await t.rejects(verify(alice, ctx({ issuer: `${op.issuer}/` })), { code: 'ISSUER_UNKNOWN' }, 'a trailing slash is another issuer');
});

t.test('expiry', async (t) => {
  const { iat, exp } = claims(alice);
  await t.rejects(verify(alice, ctx({ expiration: 'oidc', cacheDir: freshCache() }, { now: exp })), { code: 'TOKEN_EXPIRED' }, 'oidc: at exp');
  await t.rejects(verify(alice, ctx({ expiration: 'oidc', cacheDir: freshCache() }, { now: exp + 1 })), { code: 'TOKEN_EXPIRED' }, 'oidc: past exp');
  t.equal((await verify(alice, ctx({ expiration: 'oidc', cacheDir: freshCache() }, { now: exp - 1 }))).expiresAt, exp, 'oidc: a second before exp is fine and ends at exp');
  await t.rejects(verify(alice, ctx({ expiration: '12h', cacheDir: freshCache() }, { now: iat + 43200 })), { code: 'TOKEN_EXPIRED' }, '12h: at iat + 12h');
  t.equal((await verify(alice, ctx({ expiration: '12h', cacheDir: freshCache() }, { now: iat + 43199 }))).expiresAt, iat + 43200, '12h: just before');
  await t.rejects(verify(alice, ctx({ cacheDir: freshCache() }, { now: iat - 300 })), { code: 'TOKEN_ISSUED_IN_FUTURE' }, 'iat 5 minutes ahead of our clock');
});

t.test('max_session caps the expiry', async (t) => {
  const now = nowS();
  const r = await verify(alice, ctx({ maxSession: '30m' }, { now }));
  t.equal(r.expiresAt, now + 1800, 'now + 30m, well before iat + 24h');
  t.match(r.line, ` --expires ${now + 1800} `);
  const d = new Date((now + 1800) * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  t.match(r.line, `expiry-time="${d}Z"`, 'sshd expiry-time agrees');
});

t.test('binding refusals', async (t) => {
  await t.rejects(verify(await mint('alice', { certKeyDiffers: true })), { code: 'KEY_BINDING_MISMATCH' }, 'the PK Token in a certificate for another key');
  await t.rejects(verify(await mint('alice', { nonceForOtherKey: true })), { code: 'NONCE_MISMATCH' }, 'the nonce commits to another key');
});

t.test('certificate refusals', async (t) => {
  await t.rejects(verify({ keyType: alice.keyType, keyBase64: tamperKeyId(alice.keyBase64, alice.email) }), { code: 'CERT_SIGNATURE_INVALID' }, 'a changed key id breaks the signature');
  const [plainType, plainB64] = alice.publicKey.split(' ') as [string, string];
  await t.rejects(verify({ keyType: plainType, keyBase64: plainB64 }), { code: 'CERT_NOT_CERTIFICATE' }, 'a plain key');
  await t.rejects(verify({ keyType: 'ssh-ed25519-cert-v01@openssh.com', keyBase64: alice.keyBase64 }), { code: 'CERT_TYPE_MISMATCH' }, '%t and %k disagree');
});

t.test('provider key rotation: a new kid costs one refetch, then it is cached', async (t) => {
  const p = await startProvider();
  t.teardown(p.stop);
  const cacheDir = freshCache();
  const t0 = nowS();
  const before = await mintLogin(p, 'alice', { dir: keysDir });
  t.equal((await verify(before, ctx({ cacheDir }, { now: t0 }, p))).keySource, 'fetched');

  p.setKeys([signingKey('RS256')]);
  const after = await mintLogin(p, 'alice', { dir: keysDir });
  const n0 = p.keyRequests();
  // Unknown kids are throttled (REFETCH_INTERVAL) so made-up kids cannot make every login fetch.
  await t.rejects(verify(after, ctx({ cacheDir }, { now: t0 + 10 }, p)), { code: 'JWKS_KID_UNKNOWN' }, 'right after the last fetch: throttled');
  t.equal(p.keyRequests(), n0, 'the throttled attempt made no request');

  const later = t0 + REFETCH_INTERVAL + 1;
  const r = await verify(after, ctx({ cacheDir }, { now: later }, p));
  t.equal(r.keySource, 'fetched', 'new kid: fetched');
  t.equal(p.keyRequests(), n0 + 2, 'one refetch: discovery + jwks');
  t.equal((await verify(after, ctx({ cacheDir }, { now: later + 1 }, p))).keySource, 'cache', 'then from the cache');
  t.equal(p.keyRequests(), n0 + 2, 'no further request');
});

t.test('provider down: a warm cache carries on, no cache refuses', async (t) => {
  const p = await startProvider();
  t.teardown(p.stop);
  const warm = freshCache();
  const m = await mintLogin(p, 'alice', { dir: keysDir });
  const t0 = nowS();
  await verify(m, ctx({ cacheDir: warm }, { now: t0 }, p));
  await p.stop();
  // Older than REFRESH_AGE, so leash tries the provider, fails, and uses the stale set (max_stale 7d).
  const r = await verify(m, ctx({ cacheDir: warm }, { now: t0 + REFRESH_AGE + 1 }, p));
  t.equal(r.keySource, 'stale-cache');
  t.match(r.line, lineRe(LEASH_PATH, CONFIG_DIR));
  await t.rejects(verify(m, ctx({ cacheDir: freshCache() }, {}, p)), { code: 'JWKS_UNAVAILABLE' });
});

// ------------------------------------- token content: a local issuer, its key pinned

/** A VerifyContext for a localIssuer whose key is pinned in a root-owned jwks_file; the grants are configYaml's. */
async function pinnedCtx(t: Tap, issuer: LocalIssuer, over: Partial<VerifyContext> = {}): Promise<VerifyContext> {
  const dir = await trustedTempDir('verify-pinned-');
  t.teardown(dir.cleanup);
  const jwks = join(dir.path, 'jwks.json');
  await writeFile(jwks, issuer.jwksFileText, { mode: 0o644 });
  const p = { issuer: issuer.issuer, clientId: issuer.clientId } as TestProvider;
  const text = configYaml(p).replace(`    expiration: 24h\n`, `    expiration: 24h\n    jwks_file: ${jwks}\n`);
  return { config: parseLeashConfig(`${CONFIG_DIR}/leash.yaml`, text), migrated: { providers: [], grants: [] }, now: nowS(), leashPath: LEASH_PATH, configDir: CONFIG_DIR, stateDir: null, ...over };
}

t.test('nbf in the future is refused (RFC 7519), with the skew iat gets', { skip: isRoot() ? false : 'needs root (jwks_file must be root-owned)' }, async (t) => {
  const now = nowS();
  const at = (nbf: number) => localIssuer({ claims: () => ({ nbf }) });
  for (const [nbf, ok] of [[now - 10, true], [now + 60, true], [now + 61, false], [now + 3600, false]] as const) {
    const issuer = at(nbf);
    const m = await mintLogin(issuer, 'alice', { dir: keysDir });
    const c = await pinnedCtx(t, issuer, { now });
    if (ok) t.equal((await verify(m, c)).identity, 'alice@example.com', `nbf now${nbf - now >= 0 ? '+' : ''}${nbf - now}: accepted`);
    else await t.rejects(verify(m, c), { code: 'TOKEN_NOT_YET_VALID' }, `nbf now+${nbf - now}: refused`);
  }
  const str = localIssuer({ claims: () => ({ nbf: String(now) }) });
  await t.rejects(verify(await mintLogin(str, 'alice', { dir: keysDir }), await pinnedCtx(t, str, { now })), { code: 'TOKEN_TIME_INVALID' }, 'nbf must be a number');
});

// ---------------------------------------------------------------- runVerify (the CLI sshd runs)

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the command with its output collected through the io it takes. */
async function capture(run: (io: VerifyIo) => Promise<number>): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const code = await run({ out: (text) => void (stdout += text), err: (text) => void (stderr += text) });
  return { code, stdout, stderr };
}

interface CliEnv {
  dir: string;
  audit: string;
}

async function cliConfigDir(t: Tap): Promise<CliEnv> {
  const tmp = await trustedTempDir('verify-login-');
  t.teardown(tmp.cleanup);
  const audit = join(tmp.path, 'audit.jsonl');
  const cache = join(tmp.path, 'jwks');
  await mkdir(cache, { mode: 0o700 });
  // runtime_dir root-owned 0755 (trustedTempDir's chain), its verify/ 0700 for the user leash runs as (root here).
  await mkdir(join(tmp.path, 'run', 'verify'), { recursive: true, mode: 0o700 });
  await chmod(join(tmp.path, 'run'), 0o755);
  await writeFile(join(tmp.path, 'leash.yaml'), configYaml(op, { cacheDir: cache, auditLog: audit, runtimeDir: join(tmp.path, 'run') }), { mode: 0o644 });
  await chmod(join(tmp.path, 'leash.yaml'), 0o644);
  return { dir: tmp.path, audit };
}

const cli = (env: CliEnv, values: CommandContext['values'], positionals: string[]): Promise<Captured> =>
  capture((io) => runVerify({ configDirFlag: env.dir, values, positionals, env: {} }, io));

const auditLines = (file: string): Record<string, unknown>[] =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/** Nothing that would let a reader replay the login: no signature segment, no whole token. */
function assertNoSecrets(t: Tap, text: string, m: MintedLogin, where: string): void {
  const [, , opSig] = m.idToken.split('.');
  const cicSig = m.compact.split(':')[4]!;
  t.notOk(text.includes(opSig!), `${where}: no ID token signature`);
  t.notOk(text.includes(cicSig), `${where}: no CIC signature`);
  t.notOk(text.includes(m.idToken), `${where}: no ID token`);
  t.notOk(text.includes(m.compact), `${where}: no PK Token`);
  t.notOk(text.includes(m.idToken.split('.')[1]!), `${where}: no token payload segment`);
}

t.test('runVerify: the sshd path', { skip: isRoot() ? false : 'needs root (config dirs must be root-owned)' }, async (t) => {
  const env = await cliConfigDir(t);
  const fp = await sshFingerprint(alice.pubPath);

  const ok = await cli(env, {}, [USER, alice.keyBase64, alice.keyType]);
  t.equal(ok.code, 0, 'exit 0', ok);
  const lines = ok.stdout.split('\n');
  t.equal(lines.length, 2, 'exactly one line on stdout');
  t.equal(lines[1], '', 'newline-terminated');
  t.match(lines[0], /^cert-authority,principals="opkssh-wildcard",restrict,pty,expiry-time="\d{14}Z",command="\/\S+ shell --profile diagnostic --identity alice@example\.com --session [0-9a-f]{32} --expires \d+ --config-dir /);
  t.ok(lines[0]!.includes(` --config-dir ${env.dir}" ${alice.publicKey}`), 'config dir and key');
  const session = /--session ([0-9a-f]{32})/.exec(lines[0]!)![1];

  let audit = auditLines(env.audit);
  t.equal(audit.length, 1, 'one audit event');
  t.match(audit[0], {
    event: 'verify.accepted',
    user: USER,
    identity: 'alice@example.com',
    session,
    profile: 'diagnostic',
    key: fp,
    key_id: 'alice@example.com',
    iss: op.issuer,
    sub: 'alice',
    email: 'alice@example.com',
  });
  t.match(audit[0]!['key'], /^SHA256:[A-Za-z0-9+/]{43}$/);

  const carol = await mint('carol');
  const refused = await cli(env, {}, [USER, carol.keyBase64, carol.keyType]);
  t.equal(refused.code, 1, 'exit 1', refused);
  t.equal(refused.stdout, '', 'nothing for sshd');
  t.match(refused.stderr, /^leash: verify refused \(NO_GRANT\): /);
  audit = auditLines(env.audit);
  t.equal(audit.length, 2);
  t.match(audit[1], { event: 'verify.refused', user: USER, reason: 'NO_GRANT', iss: op.issuer, sub: 'carol', email: 'carol@example.com', key: await sshFingerprint(carol.pubPath) });

  const swapped = await mint('alice', { certKeyDiffers: true });
  const r3 = await cli(env, {}, [USER, swapped.keyBase64, swapped.keyType]);
  t.equal(r3.code, 1);
  t.equal(r3.stdout, '');
  t.match(auditLines(env.audit)[2], { event: 'verify.refused', reason: 'KEY_BINDING_MISMATCH' });

  const text = readFileSync(env.audit, 'utf8');
  for (const [m, what] of [[alice, 'alice'], [carol, 'carol'], [swapped, 'swapped']] as const) {
    assertNoSecrets(t, text, m, `audit (${what})`);
    assertNoSecrets(t, ok.stderr + refused.stderr + r3.stderr, m, `stderr (${what})`);
  }
});

t.test('runVerify --explain', { skip: isRoot() ? false : 'needs root (config dirs must be root-owned)' }, async (t) => {
  const env = await cliConfigDir(t);
  const ok = await cli(env, { explain: true, user: USER, cert: alice.certPath }, []);
  t.equal(ok.code, 0, 'exit 0', ok);
  const checks = ['clock', 'certificate', 'certificate signature', 'PK Token', 'CIC signature', 'issuer', 'audience', 'provider signature', 'nonce commitment', 'expiry', 'key binding', 'authorization', 'authorized_keys line'];
  for (const c of checks) t.match(ok.stdout, new RegExp(`^\\[ok\\]\\s+${esc(c)}: `, 'm'), `[ok] ${c}`);
  t.notMatch(ok.stdout, /\[FAIL\]/);
  t.match(ok.stdout, /^accepted; sshd would receive:\ncert-authority,/m);

  const carol = await mint('carol');
  const no = await cli(env, { explain: true, user: USER, cert: carol.certPath }, []);
  t.equal(no.code, 1, 'exit 1', no);
  t.match(no.stdout, /^\[FAIL\] authorization: NO_GRANT: /m, 'an identity without a grant');
  t.match(no.stdout, /^\[ok\]\s+key binding: /m, 'the checks before it passed');
  t.notMatch(no.stdout, /cert-authority/, 'no line shown');
  t.match(no.stdout, /refused: sshd would receive nothing/);
  const other = await cli(env, { explain: true, user: 'nobody-granted', cert: alice.certPath }, []);
  t.equal(other.code, 1);
  t.match(other.stdout, /^\[FAIL\] authorization: GRANT_OTHER_USER: /m, 'alice as a user she has no grant for');
  t.notOk(existsSync(env.audit), '--explain writes no audit event');
});

t.test('runVerify: warnings reach the audit event, of an acceptance and of a refusal', { skip: isRoot() ? false : 'needs root (config dirs must be root-owned)' }, async (t) => {
  const p = await startProvider();
  t.teardown(p.stop);
  const m = await mintLogin(p, 'alice', { dir: keysDir });
  const codes = (e: Record<string, unknown> | undefined): string[] => ((e?.['warnings'] ?? []) as string[]).map((w) => w.split(':')[0]!);
  // A world-writable cache leash must not use (and says so); first no runtime_dir/verify: no throttle, so no fetch.
  const setup = { issuer: p.issuer, clientId: p.clientId, grants: [{ identity: 'alice@example.com', principals: [USER] }], cacheMode: 0o777 };
  const none = await verifierConfig(t, { ...setup, stateOwner: 'none' });
  const refused = await cli({ dir: none.dir, audit: none.audit }, {}, [USER, m.keyBase64, m.keyType]);
  t.equal(refused.code, 1, 'no usable key: refused', refused);
  t.match(none.events().at(-1), { event: 'verify.refused', reason: 'JWKS_UNAVAILABLE' });
  t.same(codes(none.events().at(-1)), ['VERIFY_STATE_UNUSABLE', 'JWKS_CACHE_UNSAFE'], 'why: no state dir (so no fetch), an unsafe cache');
  t.match(none.events().at(-1)?.['detail'], /VERIFY_STATE_UNUSABLE: .*does not fetch/);
  t.equal(p.keyRequests(), 0, 'no fetch without the throttle');

  const state = await verifierConfig(t, setup);
  const ok = await cli({ dir: state.dir, audit: state.audit }, {}, [USER, m.keyBase64, m.keyType]);
  t.equal(ok.code, 0, 'fetched in memory: accepted', ok);
  t.match(state.events().at(-1), { event: 'verify.accepted', jwks: 'fetched' });
  t.same(codes(state.events().at(-1)), ['JWKS_CACHE_UNSAFE', 'JWKS_CACHE_UNWRITABLE'], 'the unsafe cache, and that the keys were not saved');
  t.same(readdirSync(state.cacheDir), [], 'nothing written into the world-writable cache');
});
