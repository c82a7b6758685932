/**
 * writeAll, how verify writes its line for sshd: everything, or an error —
 * never a line cut short and left as if it were whole. A FIFO opened
 * non-blocking whose reader never reads stands for a descriptor that never drains.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAll } from '../../src/commands/verifier-process.js';

t.test('a descriptor that never drains: writeAll throws instead of returning with part of the text written', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'leash-writeall-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'fifo');
  execFileSync('/usr/bin/mkfifo', [fifo]);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  t.teardown(() => {
    closeSync(writer);
    closeSync(reader);
  });
  const text = 'x'.repeat(1024 * 1024); // more than a pipe holds
  t.throws(() => writeAll(writer, text), { code: 'INTERNAL', message: /then only EAGAIN/ });
  // And a text that fits is written whole.
  const buf = Buffer.alloc(1024 * 1024);
  while (true) {
    try {
      if (readSync(reader, buf) === 0) break;
    } catch {
      break; // EAGAIN: drained
    }
  }
  writeAll(writer, 'hello\n');
  t.equal(buf.subarray(0, readSync(reader, buf)).toString(), 'hello\n');
});
