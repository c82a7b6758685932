/**
 * The resident-verifier study's daemon (a prototype for measuring, not part
 * of leash): the same runVerify that `leash verify` runs, kept warm in one
 * process, answering bench/resident/client.c on a UNIX socket that only its
 * user (the AuthorizedKeysCommandUser) can reach.
 *
 *   runtime daemon.cjs SOCKET LEASH
 *
 * One request at a time (runVerify reads process.ppid for the memo of sshd's
 * second call; the client sends its parent's pid, which a real daemon would
 * take from SO_PEERCRED and /proc instead of trusting the client). Reply: "0"
 * and the line, or "1" (refused). Its stderr is what sshd would have logged.
 */
import { chmodSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { runVerify } from '../../src/commands/verify.js';

const [socketPath, leashPath] = process.argv.slice(2) as [string, string];
// selfPath(): the line's command= must name the leash executable, not this script.
process.argv[1] = leashPath;

let queue: Promise<void> = Promise.resolve();

async function answer(request: Buffer): Promise<string> {
  const fields = request.toString('utf8').split('\u0000');
  if (fields.length !== 6 || fields[5] !== '') return '1';
  const [ppid, configDir, user, keyBase64, keyType] = fields as [string, string, string, string, string];
  if (!/^[1-9][0-9]{0,9}$/.test(ppid)) return '1';
  Object.defineProperty(process, 'ppid', { value: Number(ppid), configurable: true });
  let out = '';
  try {
    const code = await runVerify({ configDirFlag: configDir, values: {}, positionals: [user, keyBase64, keyType], env: {} }, { out: (s) => void (out += s), err: (s) => void process.stderr.write(s) });
    return code === 0 ? `0${out}` : '1';
  } catch {
    return '1';
  }
}

// allowHalfOpen: the client shuts its side after the request and waits for the answer.
const server = createServer({ allowHalfOpen: true }, (conn) => {
  const chunks: Buffer[] = [];
  let size = 0;
  conn.on('data', (d: Buffer) => {
    size += d.length;
    if (size > 256 * 1024) conn.destroy();
    else chunks.push(d);
  });
  conn.on('error', () => conn.destroy());
  conn.on('end', () => {
    queue = queue.then(async () => {
      const reply = await answer(Buffer.concat(chunks));
      if (!conn.destroyed) conn.end(reply);
    });
  });
});
rmSync(socketPath, { force: true });
server.listen(socketPath, () => {
  chmodSync(socketPath, 0o600);
  process.stdout.write('ready\n');
});
