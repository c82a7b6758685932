/**
 * The reaper's audit of a command whose leash was SIGKILLed (it cannot write
 * its own shell.finished): the real dist/leash runs a command, is killed
 * with SIGKILL, and one reaper round logs shell.abandoned from the registry
 * — once — and clears the entry.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AuditEvent } from '../../src/audit/log.js';
import { reap } from '../../src/session/end-sessions.js';
import { descendants, processTable } from '../../src/session/proc.js';
import { makeRuntimeDir } from '../helpers/runtime-dir.js';
import { isRoot, trustedTempDir } from '../helpers/tmp.js';

const LEASH = join(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..'), 'dist', 'leash');
if (!isRoot() || !existsSync(LEASH)) {
  t.plan(0, 'needs root and dist/leash (npm run build)');
  process.exit(0);
}

const tmp = await trustedTempDir('reaper-');
t.teardown(tmp.cleanup);
const runtime = await makeRuntimeDir(tmp.path);
mkdirSync(join(tmp.path, 'policies'), { mode: 0o755 });
writeFileSync(join(tmp.path, 'policies', 't.yaml'), 'commands:\n  sleep: {binary: /usr/bin/sleep, operands: {int: [1, 60]}}\n', { mode: 0o644 });
writeFileSync(join(tmp.path, 'leash.yaml'), `audit_log: ${join(tmp.path, 'audit.jsonl')}\nruntime_dir: ${runtime}\n`, { mode: 0o644 });

t.test('SIGKILL to leash: the reaper logs the abandoned command once', async (t) => {
  const leash = spawn(LEASH, ['--config-dir', tmp.path, 'shell', '--profile', 't', '--session', 'sess-kill', '--identity', 'zed'], { env: { SSH_ORIGINAL_COMMAND: 'sleep 30', PATH: '/usr/bin:/bin' }, stdio: 'ignore' });
  const running = join(runtime, 'sessions', 'running');
  for (let i = 0; i < 200 && readdirSync(running).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
  t.equal(readdirSync(running).length, 1, 'the command is registered while it runs');
  const tree = descendants(processTable(), leash.pid!);
  leash.kill('SIGKILL');
  await new Promise((r) => leash.once('exit', r));
  for (const p of tree) if (p.pid !== leash.pid) process.kill(p.pid, 'SIGKILL'); // the runner's own guard does this (track A2)
  const events: AuditEvent[] = [];
  const report = await reap(runtime, [], Date.now(), (e) => void events.push(e));
  t.equal(report.abandoned, 1);
  t.match(events, [{ event: 'shell.abandoned', session: 'sess-kill', identity: 'zed', command: 'sleep 30', seq: 1 }]);
  t.same(readdirSync(running), [], 'its entry is cleared');
  const again: AuditEvent[] = [];
  await reap(runtime, [], Date.now(), (e) => void again.push(e));
  t.same(again.filter((e) => e.event === 'shell.abandoned'), [], 'and not reported twice');
});
