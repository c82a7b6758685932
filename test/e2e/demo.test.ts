/**
 * `dist/leash demo` end to end, as the README's first command runs it: every
 * step's evidence is in its output (from the real sshd, ssh, ssh-keygen and
 * leash's own commands), it ends with exit 0, and afterwards nothing of it
 * is left — no directory, no account, no process — while /etc/ssh and
 * /etc/leash are exactly as before. With --keep, the ssh and leash command
 * lines it prints work for real until SIGTERM, which then removes everything.
 * (^C and a failure mid-demo: demo-interrupt.test.ts.)
 *
 * Needs root and `npm run build` first.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_DIR, accountUids, demoTraces, demoUids, startDemo, treeSnapshot } from '../helpers/demo-run.js';
import { e2eSkipReason } from '../helpers/sshd.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LEASH = join(REPO, 'dist', 'leash');
const skip = e2eSkipReason(LEASH);

/** Each step's title (the line that says what it shows) and what its evidence must contain. */
const STEPS: [RegExp, RegExp[]][] = [
  [/A real OpenID login/, [/Key ID: "alice@example\.com"/, /opkssh-wildcard/, /openpubkey-pkt \(the PK Token: \d+ bytes\)/]],
  [/sshd asks `leash verify`/, [/\[ok\] +nonce commitment/, /accepted; sshd would receive:/, /command="\S+ shell --profile demo --identity alice@example\.com --session [0-9a-f]{32}/, /load average/, /uid=\d+\(leash-demo-[0-9a-f]{6}\)/, /VERSION_ID=/]],
  [/Denied commands/, [/leash: denied \(PATH_NOT_ALLOWED\)/, /leash: denied \(COMMAND_NOT_ALLOWED\): "rm"/, /leash: denied \(METACHAR_FORBIDDEN\): ";"/, /a redirection \(>\) needs a shell/]],
  [/A pipeline/, [/^ {4}NAME=/m, /^ {4}\d+$/m, /stage 2 \(sh\)/]],
  [/An identity without a grant/, [/Permission denied \(publickey\)/, /verify\.refused .*NO_GRANT/]],
  [/The audit log/, [/shell\.finished .*\$ uptime {2}exit 0/, /"event":"shell\.denied"/]],
  [/`leash sessions`/, [/SESSION +IDENTITY/, /alice@example\.com .* active/, /bob@example\.com .* idle/, /#1 sleep 120 +\(pids/]],
  [/`leash revoke --identity alice@example\.com`/, [/revoked identity alice@example\.com/, /process\(es\) killed/, /sleep 120 ended \d+\.\d s after leash revoke began/, /ssh -M process has exited/]],
  [/CA mode/, [/fingerprint: SHA256:/, /certificate for leash-demo-[0-9a-f]{6}, profile demo, session [0-9a-f]{32}/, /force-command \S+ --config-dir \S+ shell --profile demo/, /Accepted certificate ID "leash:[0-9a-f]{32}:ci-bot"/, /: REVOKED/]],
];

if (skip) t.plan(0, skip);
else {
  const sshBefore = treeSnapshot('/etc/ssh');
  const leashBefore = treeSnapshot('/etc/leash');

  t.test('the demo shows every step, exits 0 and leaves nothing behind', async (t) => {
    const demo = startDemo(LEASH);
    t.teardown(demo.stop);
    const [, dir, id] = await demo.waitFor(DEMO_DIR);
    const uidsDuring = await demo.waitFor(/\[2\/9\]/).then(() => accountUids(id!));
    const code = await demo.exited;
    const out = demo.stdout();
    t.equal(code, 0, 'exit 0', { stderr: demo.stderr(), tail: out.slice(-2000) });
    // The steps in order, each with its evidence (between its title and the next one).
    const titles = [...out.matchAll(/^\[(\d)\/9\] (.*)$/gm)];
    t.same(titles.map((m) => Number(m[1])), [1, 2, 3, 4, 5, 6, 7, 8, 9], 'nine steps, in order');
    for (const [i, [title, evidence]] of STEPS.entries()) {
      const at = titles[i];
      t.match(at?.[2], title, `step ${i + 1}: ${title.source}`);
      const body = at === undefined ? '' : out.slice(at.index, titles[i + 1]?.index ?? out.length);
      for (const e of evidence) t.match(body, e, `step ${i + 1} shows ${e.source}`);
    }
    t.match(out, /Done in \d+\.\d s: \d+ commands ran, \d+ were denied, 3 logins were refused by sshd\./);
    t.match(out, /Stopped everything the demo started and removed what it made/);
    t.notMatch(out, /\x1b\[/, 'no colour when stdout is not a terminal');
    const uids = [...new Set([...uidsDuring, ...demoUids(out)])];
    t.equal(uids.length, 2, 'the two accounts were seen while it ran', { uidsDuring, printed: demoUids(out) });
    t.same(demoTraces(dir!, id!, uids), { dirExists: false, accounts: [], processes: [] }, 'no directory, account or process left');
    t.equal(treeSnapshot('/etc/ssh'), sshBefore, '/etc/ssh is exactly as before');
    t.equal(treeSnapshot('/etc/leash'), leashBefore, '/etc/leash is exactly as before');
  });

  t.test('--keep: the printed command lines work for real until SIGTERM, which removes everything', async (t) => {
    const demo = startDemo(LEASH, ['--keep']);
    t.teardown(demo.stop);
    const [, dir, id] = await demo.waitFor(DEMO_DIR);
    await demo.waitFor(/Stop it with \^C here/);
    const uids = accountUids(id!);
    const out = demo.stdout();
    // The first suggestion, split as a shell would split it (it has no quotes).
    const sshLine = /^ {2}(ssh -F \S+ bob uptime)$/m.exec(out)?.[1];
    t.ok(sshLine, 'an ssh line to try by hand', { out: out.slice(-2500) });
    const [file, ...args] = sshLine!.split(' ');
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((res) => execFile(`/usr/bin/${file}`, args, { timeout: 20_000 }, (err, stdout, stderr) => res({ code: err ? Number(err.code ?? -1) : 0, stdout, stderr })));
    t.equal(r.code, 0, `${sshLine}: exit 0`, r);
    t.match(r.stdout, /load average/);
    const sessionsLine = /^ {2}(\S+ --config-dir \S+ sessions)$/m.exec(out)?.[1];
    t.ok(sessionsLine, 'a leash sessions line');
    const [bin, ...rest] = sessionsLine!.split(' ');
    const s = await new Promise<{ code: number; stdout: string }>((res) => execFile(bin!, rest, { timeout: 20_000 }, (err, stdout) => res({ code: err ? Number(err.code ?? -1) : 0, stdout })));
    t.equal(s.code, 0, 'leash sessions runs on the kept configuration');
    t.match(s.stdout, /bob@example\.com/, 'and lists bob, still connected');
    t.ok(demoTraces(dir!, id!, uids).processes.length > 0, 'it is still running (sshd, the masters)');
    demo.child.kill('SIGTERM');
    t.equal(await demo.exited, 0, 'SIGTERM after the steps: exit 0 (stopping is what --keep waits for)', { stderr: demo.stderr() });
    t.match(demo.stderr(), /SIGTERM: stopping everything it started/);
    t.same(demoTraces(dir!, id!, uids), { dirExists: false, accounts: [], processes: [] }, 'nothing left');
    t.equal(treeSnapshot('/etc/ssh'), sshBefore, '/etc/ssh is exactly as before');
  });
}
