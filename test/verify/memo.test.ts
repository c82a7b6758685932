/**
 * The memo of sshd's first AuthorizedKeysCommand call (src/verify/memo.ts)
 * on real files: what it answers, and every refusal, each of which must be a
 * miss (null), never a line.
 */
import t, { type Test } from 'tap';
import { chmodSync, chownSync, linkSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MEMO_LIFE_MS, answerFromMemo, memoName, saveMemo, type MemoKey } from '../../src/verify/memo.js';

const EUID = process.geteuid?.() ?? -1;
const LINE = 'cert-authority,principals="opkssh-wildcard",restrict,pty,expiry-time="20261124061500Z",command="/usr/local/bin/leash shell --profile diagnostic --identity alice@example.com --session 0123456789abcdef0123456789abcdef --expires 1795500900" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA';
const ARGS = ['4242', '/etc/leash', 'agent', 'ssh-ed25519-cert-v01@openssh.com', 'AAAAHHNzaC1lZDI1NTE5LWNlcnQtdjAxQG9wZW5zc2guY29t'];
const NOW = 1_790_000_000_000;

function stateDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'leash-memo-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  chmodSync(dir, 0o700);
  return dir;
}
const key = (dir: string, args: readonly string[] = ARGS, pid = 1000): MemoKey => ({ dir, args, euid: EUID, pid });
const path = (dir: string, args: readonly string[] = ARGS): string => join(dir, memoName(args));

t.test('the second call gets the first call\'s line once; the file is gone after', async (t) => {
  const dir = stateDir(t);
  t.equal(answerFromMemo(key(dir), NOW), null, 'nothing yet: a miss');
  t.equal(saveMemo(key(dir), LINE, NOW), null);
  const st = statSync(path(dir));
  t.equal(st.mode & 0o777, 0o600, 'mode 0600');
  t.equal(st.uid, EUID);
  t.equal(answerFromMemo(key(dir), NOW + 1500), LINE, 'the same line');
  t.same(readdirSync(dir), [], 'deleted on use, nothing left behind');
  t.equal(answerFromMemo(key(dir), NOW + 1600), null, 'a third call verifies again');
});

t.test('only exactly the same arguments: another parent (connection), user, key, type or config', async (t) => {
  const dir = stateDir(t);
  for (let i = 0; i < ARGS.length; i++) {
    saveMemo(key(dir), LINE, NOW);
    const other = ARGS.map((a, j) => (j === i ? `${a}x` : a));
    t.equal(answerFromMemo(key(dir, other), NOW + 1), null, `argument ${i} differs`);
    t.equal(answerFromMemo(key(dir), NOW + 1), LINE, 'the memo was not used up by the miss');
  }
  // A forced name collision (the name is only a cheap hash): the content decides.
  saveMemo(key(dir), LINE, NOW);
  const content = JSON.parse(readFileSync(path(dir), 'utf8')) as { args: string[] };
  content.args = [...ARGS.slice(0, 2), 'root', ...ARGS.slice(3)];
  writeFileSync(path(dir), JSON.stringify(content), { mode: 0o600 });
  t.equal(answerFromMemo(key(dir), NOW + 1), null, 'a memo holding other arguments under this name');
  t.equal(answerFromMemo(key(dir, content.args), NOW + 1), null, 'and it is not found under their own name either');
});

t.test('short life: older than MEMO_LIFE_MS, or from the future, is a miss', async (t) => {
  const dir = stateDir(t);
  saveMemo(key(dir), LINE, NOW);
  t.equal(answerFromMemo(key(dir), NOW + MEMO_LIFE_MS + 1), null, 'too old');
  saveMemo(key(dir), LINE, NOW);
  t.equal(answerFromMemo(key(dir), NOW - 1), null, 'dated after now');
  saveMemo(key(dir), LINE, NOW);
  t.equal(answerFromMemo(key(dir), NOW + MEMO_LIFE_MS), LINE, 'at the boundary still');
});

t.test('a file that is not exactly what saveMemo writes is a miss', async (t) => {
  const dir = stateDir(t);
  const good = JSON.stringify({ format: 1, at: NOW, args: ARGS, line: LINE });
  const cases: [string, string][] = [
    ['garbage', '{"format":1,'],
    ['empty', ''],
    ['another format', good.replace('"format":1', '"format":2')],
    ['no time', JSON.stringify({ format: 1, args: ARGS, line: LINE })],
    ['a time that is a string', JSON.stringify({ format: 1, at: String(NOW), args: ARGS, line: LINE })],
    ['args not a list', JSON.stringify({ format: 1, at: NOW, args: ARGS.join(' '), line: LINE })],
    ['one argument more', JSON.stringify({ format: 1, at: NOW, args: [...ARGS, 'x'], line: LINE })],
    ['a line that is not an authorized_keys line', JSON.stringify({ format: 1, at: NOW, args: ARGS, line: 'ssh-ed25519 AAAA' })],
    ['two lines', JSON.stringify({ format: 1, at: NOW, args: ARGS, line: `${LINE}\n${LINE}` })],
  ];
  for (const [what, text] of cases) {
    writeFileSync(path(dir), text, { mode: 0o600 });
    chmodSync(path(dir), 0o600);
    t.equal(answerFromMemo(key(dir), NOW + 1), null, what);
  }
  writeFileSync(path(dir), good, { mode: 0o600 });
  t.equal(answerFromMemo(key(dir), NOW + 1), LINE, 'and the real thing is a hit');
});

t.test('ownership and type: another owner, group/other permission, a second link, a symlink, a directory', async (t) => {
  const dir = stateDir(t);
  const spoilers: [string, (p: string) => void][] = [
    ['owned by another uid', (p) => chownSync(p, 4242, 4242)],
    ['group-readable', (p) => chmodSync(p, 0o640)],
    ['world-writable', (p) => chmodSync(p, 0o606)],
    ['a second hard link', (p) => linkSync(p, join(dir, 'elsewhere'))],
    [
      'a symlink to a good memo',
      (p) => {
        const real = join(dir, 'real');
        writeFileSync(real, readFileSync(p), { mode: 0o600 });
        rmSync(p);
        symlinkSync(real, p);
      },
    ],
    [
      'a directory',
      (p) => {
        rmSync(p);
        mkdirSync(p);
      },
    ],
  ];
  for (const [what, spoil] of spoilers) {
    if (what.includes('uid') && EUID !== 0) continue;
    saveMemo(key(dir), LINE, NOW);
    spoil(path(dir));
    t.equal(answerFromMemo(key(dir), NOW + 1), null, what);
    rmSync(path(dir), { recursive: true, force: true });
    rmSync(join(dir, 'elsewhere'), { force: true });
  }
  t.notOk(readdirSync(dir).some((n) => n.startsWith('claimed-')), 'a refused memo is not claimed');
});

t.test('a memo is used once, whichever process of the user asks first', async (t) => {
  const dir = stateDir(t);
  saveMemo(key(dir), LINE, NOW);
  const results = [answerFromMemo(key(dir, ARGS, 1), NOW + 1), answerFromMemo(key(dir, ARGS, 2), NOW + 1)];
  t.same(results, [LINE, null], 'exactly one of two calls gets it');
});

t.test('saving sweeps memos and claims older than their life; failing to save says why', async (t) => {
  const dir = stateDir(t);
  const stale = join(dir, memoName(['old']));
  writeFileSync(stale, '{}', { mode: 0o600 });
  writeFileSync(join(dir, 'claimed-1-memo-0'), '{}', { mode: 0o600 });
  writeFileSync(join(dir, 'unrelated'), 'kept', { mode: 0o600 });
  const old = (NOW - 3 * MEMO_LIFE_MS) / 1000;
  for (const f of [stale, join(dir, 'claimed-1-memo-0'), join(dir, 'unrelated')]) utimesSync(f, old, old);
  saveMemo(key(dir), LINE, NOW);
  t.same(readdirSync(dir).sort(), [memoName(ARGS), 'unrelated'].sort());
  const failed = saveMemo(key(join(dir, 'missing')), LINE, NOW);
  t.match(failed, { code: 'VERIFY_STATE_UNUSABLE' });
});
