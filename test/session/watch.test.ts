/**
 * `leash watch`'s parts: the follower keeps reading across rotation and
 * truncation; the formatter escapes every byte of session text (a hostile
 * command or identity cannot drive the operator's terminal); the recorder
 * keeps the first N bytes of each stream and says how much there was.
 */
import t from 'tap';
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Follower } from '../../src/session/follow.js';
import { Recorder, type RecordingLine } from '../../src/session/recordings.js';
import { formatEvent, formatOutput, matches } from '../../src/session/watch-format.js';

const dir = mkdtempSync(join(tmpdir(), 'leash-watch-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('the follower starts at the end, and survives rotation and truncation', async (t) => {
  const log = join(dir, 'audit.jsonl');
  writeFileSync(log, 'old-1\nold-2\n');
  const f = new Follower(log, false);
  t.same(f.poll(), [], 'starts at the end');
  appendFileSync(log, 'new-1\nhalf');
  t.same(f.poll(), ['new-1'], 'only complete lines');
  appendFileSync(log, '-line\n');
  t.same(f.poll(), ['half-line']);
  appendFileSync(log, 'last-of-old\n');
  renameSync(log, `${log}.1`);
  writeFileSync(log, 'first-of-new\n');
  t.same(f.poll(), ['last-of-old', 'first-of-new'], 'the old file to its end, then the new one from its start');
  truncateSync(log, 0);
  t.same(f.poll(), [], 'truncated (seen while shorter than what was read)');
  appendFileSync(log, 'after-truncate\n');
  t.same(f.poll(), ['after-truncate'], 'read again from its start');
  f.close();
  const replay = new Follower(`${log}.1`, true);
  t.same(replay.poll(), ['old-1', 'old-2', 'new-1', 'half-line', 'last-of-old'], '--replay reads from the start');
  replay.close();
});

t.test('every byte of session text is escaped; colour only on request', async (t) => {
  const hostile = { ts: '2026-12-01T10:00:00.000Z', event: 'shell.denied', session: 'abcdef0123456789', identity: 'eve\x1b]0;pwned\x07', user: 'agent', seq: 3, command: 'cat \x1b[2J\x1b[31m[ok]\r\nfake', reason: 'PATH_DENIED', detail: 'x\u202ey', extra: 'z\x00' };
  const line = formatEvent(hostile, false);
  t.notMatch(line, /[\x00-\x1f\x7f]/, 'no control character reaches the terminal');
  t.notMatch(line, /\u202e/, 'no bidi override');
  t.match(line, 'cat \\x1b[2J\\x1b[31m[ok]\\x0d\\x0afake');
  t.match(line, 'eve\\x1b]0;pwned\\x07 as agent');
  t.match(line, /#3/);
  t.match(line, /extra=z\\x00/);
  const coloured = formatEvent(hostile, true);
  t.match(coloured, '\x1b[31mshell.denied', 'the event name is coloured on a terminal');
  t.equal(coloured.replace(/\x1b\[[0-9;]*m/g, ''), line, 'and colour is all that differs');
  t.notMatch(formatOutput('abcdef01', 2, 'stdout', 'out\x1b[2Jput', false), /\x1b/);
  t.notMatch(formatOutput('\x1b[2J\x1b[8m', 2, 'stdout', 'x', false), /\x1b/, 'a recording line anyone in the audit group appended: its session is escaped too');
  t.ok(matches(hostile, { identity: 'eve\x1b]0;pwned\x07' }));
  t.notOk(matches(hostile, { user: 'root' }));
});

t.test('the recorder keeps the first N bytes per stream and records the totals', async (t) => {
  const path = join(dir, 'recordings.jsonl');
  const r = Recorder.open({ path, session: 's1', seq: 4, pid: 99, limit: 10 });
  r.onOutput(0, 'stdout', Buffer.from('hello '));
  r.onOutput(0, 'stdout', Buffer.from('world, and more'));
  r.onOutput(0, 'stderr', Buffer.from('oops'));
  r.close();
  const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RecordingLine);
  const data = (s: string): string => lines.filter((l) => l.stream === s && l.data !== undefined).map((l) => Buffer.from(l.data!, 'base64').toString()).join('');
  t.equal(data('stdout'), 'hello worl', 'first 10 bytes of stdout');
  t.equal(data('stderr'), 'oops');
  t.match(lines.find((l) => l.stream === 'stdout' && l.bytes !== undefined), { session: 's1', seq: 4, bytes: 21, recorded: 10, truncated: true });
  t.match(lines.find((l) => l.stream === 'stderr' && l.bytes !== undefined), { bytes: 4, truncated: false });
  const off = Recorder.open({ path: join(dir, 'never'), session: 's1', seq: 1, pid: 1, limit: 0 });
  off.onOutput(0, 'stdout', Buffer.from('x'));
  off.close();
  t.throws(() => readFileSync(join(dir, 'never')), { code: 'ENOENT' }, 'record_output 0 opens nothing');
  t.throws(() => Recorder.open({ path: join(dir, 'no-such-dir', 'r.jsonl'), session: 's', seq: 1, pid: 1, limit: 5 }), { code: 'RECORDINGS_UNWRITABLE' });
});
