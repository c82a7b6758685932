/**
 * The path check as real, unprivileged users, with the built dist/leash:
 * whoever can write a directory above a path (another account, the session
 * user through a 0555 directory it owns, or root) is refused, so the swap of
 * a checked file for a link between leash's check and cat's open() cannot
 * happen. The race itself runs here: a writer account swaps an allowed file
 * for a symlink to a secret in a loop while sessions ask to cat it.
 *
 * Needs root (to create the users and the root-owned tree) and `npm run build`.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureUser, type LocalUser } from '../helpers/sshd.js';
import { installBinary, isRoot, trustedTempDir } from '../helpers/tmp.js';

const LEASH = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'dist', 'leash');
const skip = !isRoot() ? 'needs root (users, a root-owned tree)' : !existsSync(LEASH) ? 'dist/leash is missing: run `npm run build` first' : '';
if (skip) {
  t.plan(0, skip);
  process.exit(0);
}

/** Rounds of the race: each one is a whole leash shell run, decision and cat, while the writer swaps. */
const ROUNDS = 40;
const SECRET = 'SECRET-OUTSIDE-THE-ALLOWLIST';

const writer = await ensureUser('leash-race-w', { system: true });
const session = await ensureUser('leash-race-s', { system: true });
const bin = await installBinary(LEASH);
t.teardown(bin.cleanup);
const tmp = await trustedTempDir('path-race-');
t.teardown(tmp.cleanup);
const root = tmp.path;
const conf = join(root, 'conf');
const audit = join(root, 'audit.jsonl');

mkdirSync(join(conf, 'policies'), { recursive: true, mode: 0o755 });
chmodSync(conf, 0o755);
chmodSync(join(conf, 'policies'), 0o755);
writeFileSync(join(conf, 'leash.yaml'), `audit_log: ${audit}\n`, { mode: 0o644 });
writeFileSync(join(conf, 'policies', 'race.yaml'), `commands:\n  cat: {binary: /usr/bin/cat, operands: path}\npaths:\n  allow: ['${root}/shared/**', '${root}/own/**', '${root}/safe/**']\n`, { mode: 0o644 });
writeFileSync(audit, '', { mode: 0o666 });
chmodSync(audit, 0o666);
// Readable by the session user, outside the allowlist.
writeFileSync(join(root, 'secret'), `${SECRET}\n`, { mode: 0o644 });
// A directory another account (a service) can write.
const shared = join(root, 'shared');
mkdirSync(shared, { mode: 0o755 });
writeFileSync(join(shared, 'app.log'), 'public\n', { mode: 0o644 });
chownSync(shared, writer.uid, writer.gid);
chownSync(join(shared, 'app.log'), writer.uid, writer.gid);
// A read-only directory the session user owns: access(W_OK) says no, but its owner can chmod it.
const own = join(root, 'own');
mkdirSync(own, { mode: 0o755 });
writeFileSync(join(own, 'app.log'), 'own\n', { mode: 0o644 });
chownSync(own, session.uid, session.gid);
chmodSync(own, 0o555);
// A directory only root can write.
const safe = join(root, 'safe');
mkdirSync(safe, { mode: 0o755 });
writeFileSync(join(safe, 'app.log'), 'safe\n', { mode: 0o644 });

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function leash(user: LocalUser | null, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(bin.path, ['--config-dir', conf, ...args], {
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
      cwd: '/',
      env: { PATH: '/usr/bin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 20_000,
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('close', (code) => done({ code, out, err }));
  });
}

const explain = async (user: LocalUser | null, file: string) => JSON.parse((await leash(user, ['explain', '--profile', 'race', '--json', '--', `cat ${file}`])).out) as { decision: string; reason: string; detail?: string };

t.test('the real check, as a real unprivileged session user and as root', async (t) => {
  t.match(await explain(session, join(safe, 'app.log')), { decision: 'allow' }, 'a file in a root-owned tree');
  t.match(await explain(session, join(shared, 'app.log')), { decision: 'deny', reason: 'PATH_UNSAFE_PARENT', detail: new RegExp(`${shared} is owned by uid ${writer.uid}`) }, 'a directory another account can write, though the session user cannot');
  t.match(await explain(session, join(own, 'app.log')), { decision: 'deny', reason: 'PATH_UNSAFE_PARENT', detail: new RegExp(`${own} is owned by uid ${session.uid}`) }, 'a 0555 directory the session user owns');
  t.match(await explain(null, join(shared, 'app.log')), { decision: 'deny', reason: 'PATH_UNSAFE_PARENT' }, 'root sessions are checked too');
  t.match(await explain(writer, join(shared, 'app.log')), { decision: 'deny', reason: 'PATH_UNSAFE_PARENT' }, 'and the writer itself');
});

t.test('a writer swapping the file for a symlink in a loop never gets a session to read the secret', async (t) => {
  // The writer: replace app.log atomically, in turn with a symlink to the secret and with a plain file.
  const loop = `while :; do ln -sf ${join(root, 'secret')} ${shared}/.l && mv -fT ${shared}/.l ${shared}/app.log; printf 'public\\n' > ${shared}/.f && mv -fT ${shared}/.f ${shared}/app.log; done`;
  const swapper = spawn('/bin/sh', ['-c', loop], { uid: writer.uid, gid: writer.gid, stdio: 'ignore', detached: true });
  t.teardown(() => {
    try {
      process.kill(-swapper.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  });
  let leaked = 0;
  let public_ = 0;
  const reasons = new Map<string, number>();
  for (let i = 0; i < ROUNDS; i++) {
    const r = await leash(session, ['shell', '--profile', 'race'], { SSH_ORIGINAL_COMMAND: `cat ${shared}/app.log` });
    if (r.out.includes(SECRET)) leaked++;
    if (r.out.includes('public')) public_++;
    const reason = /denied \(([A-Z_]+)\)/.exec(r.err)?.[1] ?? `exit ${r.code}`;
    reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
  }
  t.equal(leaked, 0, `no round read the secret (${JSON.stringify(Object.fromEntries(reasons))})`);
  t.equal(public_, 0, 'none ran at all: the directory is writable by another account');
  // Each round is refused: for the writable parent when the plain file is in place, and
  // for what the link points to (outside, or a link caught mid-swap) when it is not.
  t.same([...reasons.keys()].filter((r) => !['PATH_UNSAFE_PARENT', 'PATH_NOT_ALLOWED', 'PATH_SPECIAL_FILE'].includes(r)), [], `all ${ROUNDS} rounds were refused`);
  t.ok((reasons.get('PATH_UNSAFE_PARENT') ?? 0) > 0, 'the plain file is refused for its parent');
});
