/**
 * Recording through the relay: a large output reaches the client whole and
 * (streamed, with backpressure: a slow client slows the command instead of
 * leash buffering the output), while the recorder keeps only its first
 * `record_output` bytes and the true total.
 */
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCommand } from '../../src/shell/exec.js';
import { Recorder, type RecordingLine } from '../../src/session/recordings.js';

const dir = mkdtempSync(join(tmpdir(), 'leash-relay-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

t.test('64 MiB through the relay: all of it to the client, 64 KiB to the recordings, bounded buffering', async (t) => {
  const path = join(dir, 'recordings.jsonl');
  const recorder = Recorder.open({ path, session: 's', seq: 1, pid: process.pid, limit: 64 * 1024 });
  const hash = createHash('sha256');
  let received = 0;
  let inFlight = 0; // bytes handed to the client that it has not taken yet
  let maxInFlight = 0;
  const result = await runCommand({
    binary: '/usr/bin/head',
    argv: ['head', '-c', String(64 * 1024 * 1024), '/dev/urandom'],
    timeoutMs: 60_000,
    relay: {
      onOutput: recorder.onOutput,
      sink: (stream, chunk, written) => {
        if (stream !== 'stdout') return written();
        received += chunk.length;
        hash.update(chunk);
        inFlight += chunk.length;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // A slow client: each chunk takes a timer tick to go out.
        setTimeout(() => {
          inFlight -= chunk.length;
          written();
        }, 1);
      },
    },
  });
  recorder.close();
  t.equal(result.status, 0);
  t.equal(received, 64 * 1024 * 1024, 'every byte reached the client');
  t.ok(maxInFlight <= 256 * 1024, `bounded: at most ${maxInFlight} bytes waited for the slow client (not the 64 MiB)`);
  const lines = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as RecordingLine);
  const kept = lines.filter((l) => l.data !== undefined).reduce((n, l) => n + Buffer.from(l.data!, 'base64').length, 0);
  t.equal(kept, 64 * 1024, 'the recordings keep the first 64 KiB');
  t.match(lines.at(-1), { stream: 'stdout', bytes: 64 * 1024 * 1024, recorded: 64 * 1024, truncated: true });
});
