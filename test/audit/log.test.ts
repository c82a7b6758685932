/**
 * The audit writer (src/audit/log.ts): what it opens, and the bounds every
 * line is held to whatever event is written. The FIFO cases run in a child
 * process with a deadline, so a writer that blocks fails the test instead of
 * hanging it.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AUDIT_BOUNDS, AuditLog, auditLine } from '../../src/audit/log.js';
import { TRUNCATED } from '../../src/encoding/printable.js';
import { runTs, srcModule } from '../helpers/ts-child.js';

const dir = mkdtempSync(join(tmpdir(), 'leash-audit-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const NOW = new Date('2026-11-23T18:21:29.461Z');
const parse = (line: string): Record<string, unknown> => JSON.parse(line) as Record<string, unknown>;

t.test('a 60 KB key id (unauthenticated) is cut to the default bound', async (t) => {
  const keyId = 'A'.repeat(60_000);
  const line = auditLine({ event: 'verify.refused', user: 'agent', reason: 'CERT_SIGNATURE_INVALID', key_id: keyId }, NOW);
  t.ok(line.length < 2 * AUDIT_BOUNDS.DEFAULT_CHARS, `line is ${line.length} chars`);
  const r = parse(line);
  t.equal(r['key_id'], 'A'.repeat(AUDIT_BOUNDS.DEFAULT_CHARS) + TRUNCATED);
  t.equal(r['ts'], NOW.toISOString(), 'ts first and exact');
  t.equal(Object.keys(r)[0], 'ts');
});

t.test('every field of every event is bounded, including fields no event has yet', async (t) => {
  const huge = 'x'.repeat(100_000);
  const r = parse(auditLine({ event: huge, some_future_field: huge, command: huge, detail: huge, argv: [huge, huge], nested: [[huge]] }, NOW));
  t.equal((r['event'] as string).length, AUDIT_BOUNDS.DEFAULT_CHARS + TRUNCATED.length, 'even the event name');
  t.equal((r['some_future_field'] as string).length, AUDIT_BOUNDS.DEFAULT_CHARS + TRUNCATED.length, 'an unknown field gets the default');
  t.equal((r['command'] as string).length, AUDIT_BOUNDS.FIELD_CHARS['command']! + TRUNCATED.length);
  t.equal((r['detail'] as string).length, AUDIT_BOUNDS.FIELD_CHARS['detail']! + TRUNCATED.length);
  t.same((r['argv'] as string[]).map((a) => a.length), [AUDIT_BOUNDS.FIELD_CHARS['argv']! + TRUNCATED.length, AUDIT_BOUNDS.FIELD_CHARS['argv']! + TRUNCATED.length]);
  t.equal(((r['nested'] as string[][])[0]![0] as string).length, AUDIT_BOUNDS.DEFAULT_CHARS + TRUNCATED.length, 'arrays of arrays too');

  const many = Array.from({ length: 10_000 }, (_, i) => String(i));
  const a = parse(auditLine({ event: 'x', argv: many }, NOW))['argv'] as string[];
  t.equal(a.length, AUDIT_BOUNDS.MAX_ITEMS + 1, 'at most MAX_ITEMS entries and a marker');
  t.equal(a.at(-1), `${TRUNCATED} ${10_000 - AUDIT_BOUNDS.MAX_ITEMS} more`);
  const deep: unknown[] = [];
  let cur = deep;
  for (let i = 0; i < 50; i++) cur.push((cur = []));
  t.ok(auditLine({ event: 'x', deep: deep as never }, NOW).length < 200, 'nesting is cut');

  t.same(parse(auditLine({ event: 'x', n: 3, b: false, z: null, u: undefined, short: 'ok' }, NOW)), { ts: NOW.toISOString(), event: 'x', n: 3, b: false, z: null, short: 'ok' }, 'small values unchanged, undefined left out');
});

t.test('a line is printable ASCII and decodes to exactly what was written', async (t) => {
  const nasty = 'a\u001b]0;owned\u0007\u001b[2J\nb\r\u202e\u2028é\u0000😀\ud800z\u007f';
  const line = auditLine({ event: 'verify.refused', sub: nasty }, NOW);
  t.match(line, /^[\x20-\x7e]+$/, 'no byte outside printable ASCII, no newline');
  t.equal(parse(line)['sub'], nasty, 'lossless (a lone surrogate stays one)');
});

t.test('open: regular files only, never through a symlink', async (t) => {
  const file = join(dir, 'audit.jsonl');
  const log = AuditLog.open(file);
  log.write({ event: 'one', v: 'é' });
  log.write({ event: 'two' });
  log.close();
  const lines = readFileSync(file, 'latin1').split('\n');
  t.equal(lines.length, 3);
  t.same(lines.slice(0, 2).map((l) => parse(l)['event']), ['one', 'two']);
  t.equal(parse(lines[0]!)['v'], 'é');

  symlinkSync(file, join(dir, 'link'));
  t.throws(() => AuditLog.open(join(dir, 'link')), { code: 'AUDIT_UNWRITABLE' }, 'a symlink');
  mkdirSync(join(dir, 'sub'));
  t.throws(() => AuditLog.open(join(dir, 'sub')), { code: 'AUDIT_UNWRITABLE' }, 'a directory');
  t.throws(() => AuditLog.open('/dev/null'), { code: 'AUDIT_UNWRITABLE', message: /not a regular file/ }, 'a device');
  t.throws(() => AuditLog.open(join(dir, 'missing-dir', 'a.jsonl')), { code: 'AUDIT_UNWRITABLE' });
  writeFileSync(join(dir, 'append.jsonl'), 'old\n');
  const again = AuditLog.open(join(dir, 'append.jsonl'));
  again.write({ event: 'new' });
  again.close();
  t.match(readFileSync(join(dir, 'append.jsonl'), 'utf8'), /^old\n\{"ts":/, 'appends, never truncates');
});

t.test('a FIFO as audit_log is refused at once, with or without a reader', async (t) => {
  const fifo = join(dir, 'fifo.jsonl');
  execFileSync('mkfifo', [fifo]);
  const code = (path: string): string => `
    import { AuditLog } from ${srcModule('audit/log.ts')};
    try { AuditLog.open(${JSON.stringify(path)}); console.log('opened'); } catch (e) { console.log(e.code); }`;
  const alone = await runTs(code(fifo), { timeoutMs: 15_000 });
  t.equal(alone.timedOut, false, 'no reader: did not block', alone);
  t.equal(alone.stdout.trim(), 'AUDIT_UNWRITABLE');

  // A reader holds the FIFO open: an open for writing would now succeed, the type check must refuse it.
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  t.teardown(() => closeSync(reader));
  const read = await runTs(code(fifo), { timeoutMs: 15_000 });
  t.equal(read.timedOut, false, 'with a reader: did not block', read);
  t.equal(read.stdout.trim(), 'AUDIT_UNWRITABLE');
});
