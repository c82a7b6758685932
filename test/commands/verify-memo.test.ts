/**
 * One login = one verification: sshd's second AuthorizedKeysCommand call is
 * answered from the first (src/verify/memo.ts), through the command itself —
 * in this process (runVerify), and as the built executable run by real
 * unprivileged users, whose memos must never serve each other. Also what the
 * hit path loads, measured on the bundle. The login through sshd is in
 * test/e2e/verify-sshd.test.ts.
 *
 * Tokens come from a local issuer with a pinned key (no provider matters
 * here); certificates from the real ssh-keygen.
 */
import t, { type Test as Tap } from 'tap';
import { build } from 'esbuild';
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandContext } from '../../src/commands/context.js';
import { runVerify } from '../../src/commands/verify.js';
import { MEMO_LIFE_MS, memoName } from '../../src/verify/memo.js';
import { localIssuer } from '../helpers/local-issuer.js';
import { runLeash } from '../helpers/leash-process.js';
import { mintLogin } from '../helpers/pktoken.js';
import { ensureAkcUser, ensureUser, type LocalUser } from '../helpers/sshd.js';
import { isRoot } from '../helpers/tmp.js';
import { verifierConfig, type VerifierConfig } from '../helpers/verifier-config.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LEASH = join(REPO, 'dist', 'leash');
const BUNDLE = join(REPO, 'dist', 'leash.cjs');
const RUNTIME = join(REPO, 'node_modules', 'node', 'bin', 'node');
const USER = 'agent';
const SESSION = / --session ([0-9a-f]{32}) /;

if (!isRoot()) {
  t.plan(0, 'needs root (configuration must be root-owned; users are switched)');
} else {
  const keys = mkdtempSync(join(tmpdir(), 'leash-memo-keys-'));
  t.teardown(() => rmSync(keys, { recursive: true, force: true }));
  const issuer = localIssuer();
  const alice = await mintLogin(issuer, 'alice', { dir: keys });
  const setUp = (t: Tap, stateOwner?: LocalUser | 'none'): Promise<VerifierConfig> =>
    verifierConfig(t, { issuer: issuer.issuer, clientId: issuer.clientId, jwksFileText: issuer.jwksFileText, grants: [{ identity: 'alice@example.com', principals: [USER, 'ops'] }], ...(stateOwner === undefined ? {} : { stateOwner }) });
  const args = (c: VerifierConfig, user = USER): string[] => ['--config-dir', c.dir, 'verify', user, alice.keyBase64, alice.keyType];

  const inProcess = async (c: VerifierConfig, user = USER): Promise<{ code: number; out: string; err: string }> => {
    let out = '';
    let err = '';
    const ctx: CommandContext = { configDirFlag: c.dir, values: {}, positionals: [user, alice.keyBase64, alice.keyType], env: {} };
    const code = await runVerify(ctx, { out: (s) => void (out += s), err: (s) => void (err += s) });
    return { code, out, err };
  };
  const accepted = (c: VerifierConfig): Record<string, unknown>[] => c.events().filter((e) => e['event'] === 'verify.accepted');

  t.test('sshd\'s two calls: one verification, one verify.accepted, one session id; the memo is gone after', async (t) => {
    const c = await setUp(t);
    const first = await inProcess(c);
    t.equal(first.code, 0, first.err);
    t.equal(readdirSync(c.stateDir).filter((n) => n.startsWith('memo-')).length, 1, 'the first call left a memo');
    const second = await inProcess(c);
    t.equal(second.code, 0, second.err);
    t.equal(second.out, first.out, 'the second call prints exactly the first call\'s line');
    t.equal(second.err, '');
    t.equal(accepted(c).length, 1, 'one verify.accepted');
    t.equal(accepted(c)[0]!['session'], SESSION.exec(first.out)![1], 'whose session is the line\'s');
    t.same(readdirSync(c.stateDir), [], 'deleted on use');
    const third = await inProcess(c);
    t.equal(accepted(c).length, 2, 'a third call is a new verification');
    t.not(SESSION.exec(third.out)![1], SESSION.exec(first.out)![1], 'with its own session');
  });

  t.test('other arguments are never answered from the memo', async (t) => {
    const c = await setUp(t);
    const first = await inProcess(c);
    const other = await inProcess(c, 'ops');
    t.equal(other.code, 0);
    t.not(SESSION.exec(other.out)![1], SESSION.exec(first.out)![1], 'another local user: verified on its own');
    t.equal(accepted(c).length, 2);
    const refused = await inProcess(c, 'root');
    t.equal(refused.code, 1, 'no grant for root: the memo of agent does not help');
  });

  t.test('an old memo, or a tampered one, is never used: the call verifies in full', async (t) => {
    const c = await setUp(t);
    const memoFile = (): string => {
      const names = readdirSync(c.stateDir).filter((n) => n.startsWith('memo-'));
      t.equal(names.length, 1, 'the first call left one memo');
      return join(c.stateDir, names[0]!);
    };
    const spoilers: [string, (text: string) => string][] = [
      ['older than its life', (text) => text.replace(/"at":(\d+)/, (_m, at: string) => `"at":${Number(at) - MEMO_LIFE_MS - 1000}`)],
      ['dated in the future', (text) => text.replace(/"at":(\d+)/, (_m, at: string) => `"at":${Number(at) + 60_000}`)],
      ['cut short', (text) => text.slice(0, text.length - 10)],
      ['arguments edited (another user)', (text) => text.replace(`"${USER}"`, '"ops"')],
      ['a line that is not an authorized_keys line', (text) => text.replace('"line":"cert-authority,', '"line":"command=\\"/bin/sh\\" ')],
    ];
    let verifications = 0;
    for (const [what, spoil] of spoilers) {
      const first = await inProcess(c);
      verifications++;
      const file = memoFile();
      const original = readFileSync(file, 'utf8');
      const spoiled = spoil(original);
      t.not(spoiled, original, `${what}: the memo was changed`);
      writeFileSync(file, spoiled, { mode: 0o600 });
      const second = await inProcess(c);
      verifications++;
      t.equal(second.code, 0, `${what}: accepted`);
      t.equal(accepted(c).length, verifications, `${what}: by a full verification`);
      t.not(SESSION.exec(second.out)![1], SESSION.exec(first.out)![1], `${what}: with a session of its own`);
      for (const n of readdirSync(c.stateDir)) rmSync(join(c.stateDir, n), { force: true });
    }
  });

  t.test('without a usable state directory every call verifies, and the event says why', async (t) => {
    const c = await setUp(t, 'none');
    const [a, b] = [await inProcess(c), await inProcess(c)];
    t.equal(a.code + b.code, 0);
    t.equal(accepted(c).length, 2, 'two verifications');
    t.not(SESSION.exec(a.out)![1], SESSION.exec(b.out)![1]);
    t.match((accepted(c)[0]!['warnings'] as string[])[0], /^VERIFY_STATE_UNUSABLE: .*\/run\/verify: ENOENT/);
  });

  const built = existsSync(LEASH) && existsSync(BUNDLE);
  t.test('as real users, with the built executable', { skip: built ? false : 'dist/leash is missing: run `npm run build` first' }, async (t) => {
    const akc = await ensureAkcUser();
    const other = await ensureUser('leash-memo-other', { system: true });
    const as = (u: LocalUser) => ({ uid: u.uid, gid: u.gid });

    await t.test('the AuthorizedKeysCommandUser: the second call is answered from the first', async (t) => {
      const c = await setUp(t, akc);
      const first = await runLeash(LEASH, args(c), as(akc));
      const second = await runLeash(LEASH, args(c), as(akc));
      t.equal(first.code, 0, first.stderr);
      t.equal(second.code, 0, second.stderr);
      t.equal(second.stdout, first.stdout);
      t.equal(accepted(c).length, 1, 'one verify.accepted');
    });

    await t.test('a memo planted by another uid in the state directory is never used', async (t) => {
      const c = await setUp(t, akc);
      // Exactly the arguments the next run will have (its parent is this process), with a line of root's choosing.
      const memoArgs = [String(process.pid), c.dir, USER, alice.keyType, alice.keyBase64];
      const planted = join(c.stateDir, memoName(memoArgs));
      const forged = 'cert-authority,principals="opkssh-wildcard",restrict,pty,expiry-time="20991231000000Z",command="/bin/sh" ssh-ed25519 AAAA';
      writeFileSync(planted, JSON.stringify({ format: 1, at: Date.now(), args: memoArgs, line: forged }), { mode: 0o600 });
      const r = await runLeash(LEASH, args(c), as(akc));
      t.equal(r.code, 0, r.stderr);
      t.notOk(r.stdout.includes('/bin/sh'), 'not the planted line');
      t.match(r.stdout, / shell --profile diagnostic --identity alice@example\.com --session [0-9a-f]{32} /, 'a full verification');
      t.equal(accepted(c).length, 1);
      // The control: the same file owned by akc itself is answered (the trust boundary is the owner).
      rmSync(planted, { force: true });
      writeFileSync(planted, JSON.stringify({ format: 1, at: Date.now(), args: memoArgs, line: forged }), { mode: 0o600 });
      chownSync(planted, akc.uid, akc.gid);
      const control = await runLeash(LEASH, args(c), as(akc));
      t.equal(control.stdout, `${forged}\n`, 'owned by the verifier\'s own user, it would be: only that user and root can write there');
    });

    await t.test('another user can use neither the memo nor the state directory', async (t) => {
      const c = await setUp(t, akc);
      const first = await runLeash(LEASH, args(c), as(akc));
      const second = await runLeash(LEASH, args(c), as(other));
      t.equal(first.code, 0, first.stderr);
      t.equal(second.code, 0, second.stderr);
      t.not(SESSION.exec(second.stdout)?.[1], SESSION.exec(first.stdout)?.[1], 'verified on its own');
      t.equal(accepted(c).length, 2);
      t.match((accepted(c)[1]!['warnings'] as string[])[0], /^VERIFY_STATE_UNUSABLE: .* owned by uid \d+, not by uid \d+/);
      t.equal(readdirSync(c.stateDir).filter((n) => n.startsWith('memo-')).length, 1, "akc's memo is still there, unused");
    });

    await t.test('a state directory owned by root is not used by the AuthorizedKeysCommandUser', async (t) => {
      const c = await setUp(t); // root-owned 0700
      const a = await runLeash(LEASH, args(c), as(akc));
      const b = await runLeash(LEASH, args(c), as(akc));
      t.equal(a.code, 0, a.stderr);
      t.equal(b.code, 0, b.stderr);
      t.equal(accepted(c).length, 2, 'no memo: two verifications, and no crash on EACCES');
    });

    await t.test('what the hit path loads (the bundle, on the embedded runtime)', async (t) => {
      const c = await setUp(t);
      const probe = join(c.dir, 'probe.cjs');
      writeFileSync(probe, `process.on('exit', () => require('node:fs').writeFileSync(process.env.PROBE_OUT, JSON.stringify(process.moduleLoadList)));\n`);
      const loaded = async (name: string): Promise<string[]> => {
        const out = join(c.dir, name);
        const r = await runLeash(RUNTIME, ['-r', probe, BUNDLE, ...args(c)], { env: { PROBE_OUT: out } });
        t.equal(r.code, 0, r.stderr);
        return JSON.parse(readFileSync(out, 'utf8')) as string[];
      };
      const miss = await loaded('miss.json');
      const hit = await loaded('hit.json');
      t.equal(accepted(c).length, 1, 'the second run was a hit');
      t.ok(miss.includes('NativeModule crypto'), 'the probe sees node:crypto where a full verification loads it');
      t.notOk(hit.includes('NativeModule crypto'), 'the hit path does not load node:crypto');
      t.notOk(hit.includes('NativeModule net'), 'nor net (process.stdout on a pipe)');
      t.notOk(hit.some((m) => m.includes('tty')), 'nor tty');
      t.comment(`hit path: ${hit.length} modules and bindings, miss: ${miss.length}`);
    });
  });

  t.test('statically: nothing the verify command imports eagerly reaches node:crypto', async (t) => {
    // The esbuild metafile of the real entry: the static closure of src/commands/verify.ts
    // (what is evaluated before its first await import) must not import node:crypto.
    const result = await build({ entryPoints: [join(REPO, 'src', 'main.ts')], bundle: true, platform: 'node', format: 'cjs', write: false, metafile: true, logLevel: 'silent', absWorkingDir: REPO, outfile: join(REPO, 'dist', 'ignored.cjs') });
    const inputs = result.metafile.inputs;
    const closure = new Set<string>();
    const stack = ['src/commands/verify.ts'];
    while (stack.length > 0) {
      const f = stack.pop()!;
      if (closure.has(f)) continue;
      closure.add(f);
      for (const i of inputs[f]?.imports ?? []) if (!i.external && i.kind === 'import-statement') stack.push(i.path);
    }
    const crypto = [...closure].filter((f) => (inputs[f]?.imports ?? []).some((i) => i.external && (i.path === 'node:crypto' || i.path === 'crypto')));
    t.same(crypto, [], 'no module on the hit path imports node:crypto');
    t.ok(closure.has('src/verify/memo.ts') && closure.has('src/config/load.ts'), 'the walk covers the memo and the config loader');
    t.notOk(closure.has('src/verify/verify-login.ts'), 'verify-login.ts is loaded only on a miss');
    t.comment(`hit path modules: ${[...closure].sort().join(' ')}`);
  });
}
