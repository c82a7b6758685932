/**
 * `dist/leash demo` stopped half-way: by ^C (SIGINT) while its ControlMaster
 * connections are up and a command runs over one, and by a failure (its sshd
 * killed under it, so the next step cannot log in). Either way it stops,
 * says why, exits non-zero, and leaves no process, account, file or
 * directory behind — checked on the host, not taken from its output. And
 * without root it refuses before making anything.
 *
 * Needs root and `npm run build` first.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_DIR, accountUids, demoTraces, startDemo, treeSnapshot } from '../helpers/demo-run.js';
import { e2eSkipReason } from '../helpers/sshd.js';
import { installBinary } from '../helpers/tmp.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LEASH = join(REPO, 'dist', 'leash');
const skip = e2eSkipReason(LEASH);
const nothingLeft = { dirExists: false, accounts: [], processes: [] };

/** The pid of the listener of the demo's sshd (its command line names the demo's sshd_config). */
function demoSshd(dir: string): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // sshd rewrites its title ("sshd: /usr/sbin/sshd -D -e -f FILE [listener] …"); only the listener names the file.
      if (readFileSync(`/proc/${name}/cmdline`, 'latin1').includes(`${dir}/sshd/sshd_config`)) return Number(name);
    } catch {
      /* gone */
    }
  }
  return undefined;
}

if (skip) t.plan(0, skip);
else {
  const sshBefore = treeSnapshot('/etc/ssh');

  t.test('^C while a command runs over a ControlMaster connection: exit 130, nothing left', async (t) => {
    const demo = startDemo(LEASH);
    t.teardown(demo.stop);
    const [, dir, id] = await demo.waitFor(DEMO_DIR);
    await demo.waitFor(/alice 'sleep 120' &/);
    await demo.waitFor(/#1 sleep 120 +\(pids/); // leash sessions shows it running
    const uids = accountUids(id!);
    t.equal(uids.length, 2, 'both accounts exist');
    const during = demoTraces(dir!, id!, uids);
    t.ok(during.dirExists && during.accounts.length >= 2, 'its directory and accounts exist', during);
    t.ok(during.processes.some((p) => / sshd: /.test(p) || p.includes('sleep 120')), 'processes of its sessions run', during);
    demo.child.kill('SIGINT');
    t.equal(await demo.exited, 130, 'exit 128 + SIGINT', { stderr: demo.stderr() });
    t.match(demo.stderr(), /SIGINT: stopping everything it started and removing what it made/);
    t.match(demo.stdout(), /Stopped everything the demo started and removed what it made/);
    t.same(demoTraces(dir!, id!, uids), nothingLeft, 'no process, account, file or directory left');
    t.equal(treeSnapshot('/etc/ssh'), sshBefore, '/etc/ssh is exactly as before');
  });

  t.test('a failed step (its sshd killed under it): exit 1 naming the step, nothing left; /run/sshd, which it had to make, stays for others', async (t) => {
    // An empty /run of its own: the demo must make /run/sshd, and must not take it away again
    // (any other sshd started meanwhile — another demo's, the host's — needs it for every connection).
    const demo = startDemo(LEASH, [], { privateRun: true });
    t.teardown(demo.stop);
    const [, dir, id] = await demo.waitFor(DEMO_DIR);
    await demo.waitFor(/^\[3\/9\]/m);
    const uids = accountUids(id!);
    const sshd = demoSshd(dir!);
    t.ok(sshd, "the demo's sshd runs");
    if (sshd === undefined) return;
    process.kill(sshd, 'SIGKILL');
    t.equal(await demo.exited, 1, 'exit 1', { stdout: demo.stdout().slice(-1500) });
    t.match(demo.stderr(), /^leash: DEMO_FAILED: step [3-5] \(/m, 'the step that failed, by number and title');
    t.match(demo.stderr(), /^\/run\/sshd: present$/m, '/run/sshd is left in place');
    t.same(demoTraces(dir!, id!, uids), nothingLeft, 'no process, account, file or directory left');
    t.equal(treeSnapshot('/etc/ssh'), sshBefore, '/etc/ssh is exactly as before');
  });

  t.test('not root: refused before anything is made', async (t) => {
    // A copy another account can run (a checkout under /root is not searchable by it).
    const bin = await installBinary(LEASH);
    t.teardown(bin.cleanup);
    const before = readdirSync('/var/lib').filter((n) => n.startsWith('leash-demo-'));
    const demo = startDemo(bin.path, [], { uid: 65534, gid: 65534 });
    t.equal(await demo.exited, 1);
    t.match(demo.stderr(), /^leash: DEMO_UNAVAILABLE: leash demo must run as root/);
    t.equal(demo.stdout(), '', 'no step was started');
    t.same(readdirSync('/var/lib').filter((n) => n.startsWith('leash-demo-')), before, 'no demo directory');
  });
}
