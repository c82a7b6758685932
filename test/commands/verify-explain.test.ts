/**
 * `leash verify --explain`: what an operator reads. Every byte that came from
 * a certificate or a token is escaped (a forged certificate cannot draw
 * lines of its own), and as root it judges as sshd's AuthorizedKeysCommandUser
 * would: it becomes the owner of <runtime_dir>/verify, so it uses the key
 * cache that user keeps, as the login did, instead of fetching.
 */
import t from 'tap';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandContext } from '../../src/commands/context.js';
import { runVerify } from '../../src/commands/verify.js';
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
/** What a line of the report may start with. */
const LINE_START = /^(\[ok\]  |\[FAIL\]|\[warn\]) [a-zA-Z_ ]+: |^accepted; sshd would receive:$|^cert-authority,|^refused: sshd would receive nothing$/;

if (!isRoot()) {
  t.plan(0, 'needs root (configuration must be root-owned)');
} else {
  const keys = mkdtempSync(join(tmpdir(), 'leash-explain-keys-'));
  t.teardown(() => rmSync(keys, { recursive: true, force: true }));

  const explain = async (configDir: string, certPath: string): Promise<{ code: number; out: string }> => {
    let out = '';
    const ctx: CommandContext = { configDirFlag: configDir, values: { explain: true, user: USER, cert: certPath }, positionals: [], env: {} };
    const code = await runVerify(ctx, { out: (s) => void (out += s), err: (s) => void (out += s) });
    return { code, out };
  };

  t.test('a forged certificate whose claims carry escape sequences cannot draw lines of its own', async (t) => {
    const spoof = '\u001b[2K\r[ok]   provider signature: valid\n[ok]   authorization: granted agent\u001b]0;owned\u0007\u202e\u009b31m';
    // A signature nobody can have made: the claims are the attacker's, unauthenticated.
    const forger = localIssuer({ forgeSignature: true, claims: () => ({ sub: spoof, email: `${spoof}@example.com` }) });
    const c = await verifierConfig(t, { issuer: forger.issuer, clientId: forger.clientId, jwksFileText: forger.jwksFileText, grants: [{ identity: 'alice@example.com', principals: [USER] }] });
    const m = await mintLogin(forger, 'x', { dir: keys }); // key id = that email, too
    const r = await explain(c.dir, m.certPath);
    t.equal(r.code, 1, 'refused', { out: r.out });
    t.notMatch(r.out, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/, 'no control, C1 or bidi character anywhere');
    const lines = r.out.trimEnd().split('\n');
    for (const l of lines) t.match(l, LINE_START, `a line of the report: ${JSON.stringify(l.slice(0, 60))}`);
    t.match(r.out, /^\[ok\]   PK Token: .*sub \\x1b\[2K\\x0d\[ok\]   provider signature: valid\\x0a\[ok\]/m, 'the claims are there, escaped, on the PK Token line');
    t.match(r.out, /^\[FAIL\] provider signature: JWS_SIGNATURE_INVALID: /m, 'the real failure is shown');
    t.equal(lines.filter((l) => l.startsWith('[ok]   authorization')).length, 0, 'no fake authorization line');
    t.equal(lines.filter((l) => l.startsWith('[FAIL]')).length, 1);
    t.match(r.out, /^refused: sshd would receive nothing$/m);
  });

  t.test('as root, without a state directory owner: judges as root and says so', async (t) => {
    const issuer = localIssuer();
    const c = await verifierConfig(t, { issuer: issuer.issuer, clientId: issuer.clientId, jwksFileText: issuer.jwksFileText, grants: [{ identity: 'alice@example.com', principals: [USER] }], stateOwner: 'none' });
    const m = await mintLogin(issuer, 'alice', { dir: keys });
    const r = await explain(c.dir, m.certPath);
    t.equal(r.code, 0, r.out);
    t.match(r.out, /^\[warn\] judging as: root: \S+\/run\/verify is missing, so the AuthorizedKeysCommandUser is unknown/m);
    t.match(r.out, /^\[warn\] verifier state: /m);
    t.match(r.out, /^accepted; sshd would receive:\ncert-authority,/m);
  });

  t.test('as root, it judges as the AuthorizedKeysCommandUser: that user\'s key cache, no fetch', { skip: existsSync(LEASH) ? false : 'dist/leash is missing: run `npm run build` first' }, async (t) => {
    const akc = await ensureAkcUser();
    const op = await startProvider();
    t.teardown(op.stop);
    const c = await verifierConfig(t, { issuer: op.issuer, clientId: op.clientId, grants: [{ identity: 'alice@example.com', principals: [USER] }], stateOwner: akc, cacheOwner: akc });
    // The refresh timer, as the AuthorizedKeysCommandUser: the cache files are that user's.
    const refresh = await runLeash(LEASH, ['--config-dir', c.dir, 'jwks', 'refresh'], { uid: akc.uid, gid: akc.gid });
    t.equal(refresh.code, 0, refresh.stdout + refresh.stderr);
    const m = await mintLogin(op, 'alice', { dir: keys });
    const before = op.keyRequests();
    const r = await runLeash(LEASH, ['--config-dir', c.dir, 'verify', '--explain', '--user', USER, '--cert', m.certPath]);
    t.equal(r.code, 0, r.stdout + r.stderr);
    t.match(r.stdout, new RegExp(`^\\[ok\\]   judging as: ${akc.name} \\(uid ${akc.uid}\\), the owner of \\S+/run/verify: what sshd's AuthorizedKeysCommandUser sees$`, 'm'));
    t.match(r.stdout, /^\[ok\]   provider signature: RS256 kid \S+ \(keys from cache, \d+s old\)$/m, 'the cache the login uses');
    t.equal(op.keyRequests(), before, 'and no request to the provider');
    t.notMatch(r.stdout, /JWKS_CACHE_UNSAFE/);
    t.equal(c.events().length, 0, '--explain writes no audit event');
  });
}
