/**
 * The session journal (`sessions/<sid>.u<uid>`) against other accounts, with
 * the real dist/leash run as real unprivileged users: a file or a symlink
 * another account plants under a session's journal name (the session id is in
 * `ps`) does not stop that session's commands, and the reaper clears it; a
 * journal is bounded, and at the bound the session's next command is refused
 * with its own reason while a new session works.
 */
import t from 'tap';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { reap } from '../../src/session/end-sessions.js';
import { MAX_JOURNAL_BYTES } from '../../src/session/registry.js';
import { runLeash } from '../helpers/leash-process.js';
import { makeRuntimeDir } from '../helpers/runtime-dir.js';
import { LEASH } from '../helpers/shell-fixture.js';
import { ensureUser } from '../helpers/sshd.js';
import { installBinary, isRoot, trustedTempDir } from '../helpers/tmp.js';

if (!isRoot() || !existsSync(LEASH)) {
  t.plan(0, 'needs root (real users) and dist/leash (npm run build)');
  process.exit(0);
}

const session = await ensureUser('leash-t-jrnl');
const other = await ensureUser('leash-t-jrnl2');
const bin = await installBinary(LEASH);
t.teardown(bin.cleanup);
const tmp = await trustedTempDir('journal-');
t.teardown(tmp.cleanup);
const conf = tmp.path;
const runtime = await makeRuntimeDir(conf);
const sessions = join(runtime, 'sessions');
const audit = join(conf, 'audit.jsonl');
writeFileSync(audit, '', { mode: 0o666 });
chmodSync(audit, 0o666);
mkdirSync(join(conf, 'policies'), { mode: 0o755 });
writeFileSync(join(conf, 'policies', 'p.yaml'), 'record_output: 0\ncommands:\n  uptime: {binary: /usr/bin/uptime}\n', { mode: 0o644 });
writeFileSync(join(conf, 'leash.yaml'), `audit_log: ${audit}\nruntime_dir: ${runtime}\n`, { mode: 0o644 });

const command = (sid: string) =>
  runLeash(bin.path, ['--config-dir', conf, 'shell', '--profile', 'p', '--session', sid, '--identity', 'bob@example.com'], { uid: session.uid, gid: session.gid, env: { SSH_ORIGINAL_COMMAND: 'uptime' } });
const asOther = (script: string): void => void execFileSync('/usr/sbin/runuser', ['-u', other.name, '--', '/bin/sh', '-c', `umask 077; ${script}`]);
const journals = (sid: string): string[] => readdirSync(sessions).filter((n) => n.startsWith(`${sid}.u${session.uid}`));

t.test('a name another account planted does not stop the session; the reaper clears it', async (t) => {
  const [file, link] = ['e'.repeat(32), 'f'.repeat(32)];
  asOther(`: > ${sessions}/${file}.u${session.uid}; ln -s /nonexistent ${sessions}/${link}.u${session.uid}`);
  for (const sid of [file, link]) {
    const r = await command(sid);
    t.equal(r.code, 0, `session ${sid.slice(0, 4)}…: its command runs`, r);
    const own = journals(sid).filter((n) => lstatSync(join(sessions, n)).uid === session.uid);
    t.equal(own.length, 1, 'its journal line went to a name of its own');
    t.match(own[0], new RegExp(`^${sid}\\.u${session.uid}\\.[0-9a-f]{16}$`), 'an unpredictable one');
  }
  const report = await reap(runtime, [], Date.now(), () => {});
  t.ok(report.removed >= 2, 'the reaper removed the planted names');
  for (const sid of [file, link]) t.notOk(journals(sid).some((n) => n === `${sid}.u${session.uid}`), `${sid.slice(0, 4)}…: the planted name is gone`);
  t.equal((await command(file)).code, 0);
  t.equal(lstatSync(join(sessions, `${file}.u${session.uid}`)).uid, session.uid, 'the session journals under its own name again');
});

t.test('a journal is bounded: at the bound the session is refused, a new one runs', async (t) => {
  const sid = 'b'.repeat(32);
  const path = join(sessions, `${sid}.u${session.uid}`);
  // A session that has already journalled MAX_JOURNAL_BYTES (its own file, as it would have written it).
  writeFileSync(path, `${'x'.repeat(1023)}\n`.repeat(MAX_JOURNAL_BYTES / 1024), { mode: 0o600 });
  chownSync(path, session.uid, session.gid);
  const full = await command(sid);
  t.equal(full.code, 126, 'refused', full);
  t.match(full.stderr, /SESSION_JOURNAL_FULL/);
  t.equal(lstatSync(path).size, MAX_JOURNAL_BYTES, 'nothing more was appended');
  t.equal((await command('c'.repeat(32))).code, 0, 'a new session (a new connection) runs');
});
