/**
 * Recording through the runner's relay: a large output reaches the client
 * whole, while the recorder keeps only its first `record_output` bytes and
 * the true total. (The relay's backpressure against a slow client is
 * test/shell/runner.test.ts's.)
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { realFs } from '../../src/policy/fs-view.js';
import { guardPrograms } from '../../src/shell/guard.js';
import { runPipeline } from '../../src/shell/runner.js';
import { Recorder, type RecordingLine } from '../../src/session/recordings.js';

const dir = mkdtempSync(join(tmpdir(), 'leash-relay-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const guard = guardPrograms(realFs);
if (!guard.ok) throw new Error(guard.detail);

t.test('64 MiB through the relay: all of it to the client, 64 KiB to the recordings', async (t) => {
  const path = join(dir, 'recordings.jsonl');
  const out = join(dir, 'client-stdout');
  const recorder = Recorder.open({ path, session: 's', seq: 1, pid: process.pid, limit: 64 * 1024 });
  const relayed = createHash('sha256');
  const [outFd, errFd] = [openSync(out, 'w'), openSync('/dev/null', 'w')];
  const SIZE = 64 * 1024 * 1024;
  let result;
  try {
    result = await runPipeline({
      stages: [{ command: 'head', binary: '/usr/bin/head', argv: ['head', '-c', String(SIZE), '/dev/urandom'] }],
      guard: guard.programs,
      timeoutMs: 60_000,
      maxOutputBytes: 2 * SIZE,
      input: 'none',
      stdoutFd: outFd,
      stderrFd: errFd,
      onOutput: (stage, stream, chunk) => {
        recorder.onOutput(stage, stream, chunk);
        if (stream === 'stdout') relayed.update(chunk);
      },
    });
  } finally {
    closeSync(outFd);
    closeSync(errFd);
    recorder.close();
  }
  t.match(result, { ending: { kind: 'exited' } });
  const received = readFileSync(out);
  t.equal(received.length, SIZE, 'every byte reached the client');
  t.equal(createHash('sha256').update(received).digest('hex'), relayed.digest('hex'), 'the hook saw exactly what the client got');
  const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RecordingLine);
  const kept = lines.filter((l) => l.data !== undefined).reduce((n, l) => n + Buffer.from(l.data!, 'base64').length, 0);
  t.equal(kept, 64 * 1024, 'the recordings keep the first 64 KiB');
  t.match(lines.at(-1), { stream: 'stdout', bytes: SIZE, recorded: 64 * 1024, truncated: true });
});
