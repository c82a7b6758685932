/**
 * The shell role end to end, through a real OpenSSH sshd: the built
 * dist/leash as a key `command=` (with `restrict`) and as a config
 * `ForceCommand` in a `Match User` block. One sshd serves every case.
 *
 * Needs root (sshd must switch users) and `npm run build` first.
 */
import t, { type Test as Tap } from 'tap';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, chown, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { e2eSkipReason, ensureUser, generateKey, setUpOrSkip, sshArgs, startSshd, type LocalUser, type SshResult } from '../helpers/sshd.js';
import { procStat, waitFor } from '../helpers/processes.js';
import { installBinary, trustedTempDir } from '../helpers/tmp.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LEASH = join(REPO, 'dist', 'leash');
const POLICY = join(REPO, 'policies', 'diagnostic.yaml');

/** Users for the two ways sshd can force the command. */
const KEY_USER = 'leash-e2e';
const FC_USER = 'leash-e2e-fc';

/** Bytes of the file the large-output case reads through sshd. */
const BIG_OUTPUT = 32 * 1024 * 1024;

const DENIED = /^leash: denied \([A-Z][A-Z0-9_]*\): \S/m;
/** /proc/loadavg: "0.00 0.01 0.05 1/123 4567". */
const LOADAVG = /^\d+\.\d+ \d+\.\d+ \d+\.\d+ \d+\/\d+ \d+\n$/;

/**
 * A config dir leash trusts (root-owned chain) with leash.yaml and the repo's
 * diagnostic profile. The audit log lives in it, pre-created and owned by the
 * session user: leash runs as that user and only appends.
 */
async function makeConfigDir(prefix: string, user: LocalUser): Promise<{ dir: string; audit: string; cleanup: () => Promise<void> }> {
  const tmp = await trustedTempDir(prefix);
  const audit = join(tmp.path, 'audit.jsonl');
  await writeFile(join(tmp.path, 'leash.yaml'), `audit_log: ${audit}\n`, { mode: 0o644 });
  await mkdir(join(tmp.path, 'policies'), { mode: 0o755 });
  await chmod(join(tmp.path, 'policies'), 0o755);
  const profile = join(tmp.path, 'policies', 'diagnostic.yaml');
  await copyFile(POLICY, profile);
  await chmod(profile, 0o644);
  // For the pty cases: what a command sees of its terminal, ^C, a big output.
  const pty = join(tmp.path, 'policies', 'e2e-pty.yaml');
  await writeFile(
    pty,
    `commands:
  uptime: {binary: /usr/bin/uptime}
  tty: {binary: /usr/bin/tty}
  stdout-is-tty: {binary: /usr/bin/test, always: ['-t', '1']}
  sleep: {binary: /usr/bin/sleep, operands: {int: [1, 60]}}
  cat: {binary: /usr/bin/cat, operands: path 1..1}
paths:
  allow: ['${join(tmp.path, 'big.bin')}']
`,
    { mode: 0o644 },
  );
  await chmod(pty, 0o644);
  await writeFile(join(tmp.path, 'big.bin'), randomBytes(BIG_OUTPUT), { mode: 0o644 });
  await writeFile(audit, '', { mode: 0o600 });
  await chown(audit, user.uid, user.gid);
  // Beside it, the recordings log (record_output, track C), kept the same way.
  await writeFile(join(tmp.path, 'recordings.jsonl'), '', { mode: 0o600 });
  await chown(join(tmp.path, 'recordings.jsonl'), user.uid, user.gid);
  return { dir: tmp.path, audit, cleanup: tmp.cleanup };
}

interface AuditLine {
  raw: string;
  record: Record<string, unknown>;
}

async function readAudit(path: string): Promise<AuditLine[]> {
  const text = await readFile(path, 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((raw) => ({ raw, record: JSON.parse(raw) as Record<string, unknown> }));
}

/** Everything a failing assertion should show: the three streams of the ssh run. */
const detail = (r: SshResult): Record<string, unknown> => ({ code: r.code, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut });

const skip = e2eSkipReason(LEASH);

/**
 * Everything the cases share: one installed binary, two config dirs, two
 * users with keys, one sshd. Each piece registers its own teardown as soon as
 * it exists, so a set-up that fails half-way still leaves nothing behind.
 */
async function setUp(t: Tap) {
  if (!existsSync(POLICY)) throw new Error(`${POLICY} is missing`);
  const keyUser = await ensureUser(KEY_USER);
  const fcUser = await ensureUser(FC_USER);
  const bin = await installBinary(LEASH);
  t.teardown(bin.cleanup);
  const cfgKey = await makeConfigDir('shell-e2e-key-', keyUser);
  t.teardown(cfgKey.cleanup);
  const cfgFc = await makeConfigDir('shell-e2e-fc-', fcUser);
  t.teardown(cfgFc.cleanup);
  // Client keys only need to be private to root, so an ordinary temp dir is fine.
  const keyDir = await mkdtemp(join(tmpdir(), 'leash-e2e-keys-'));
  t.teardown(() => rm(keyDir, { recursive: true, force: true }));
  const keyKey = await generateKey(keyDir, 'id_key_user');
  const ptyKey = await generateKey(keyDir, 'id_key_user_pty');
  const fcKey = await generateKey(keyDir, 'id_fc_user');

  const keyCommand = `${bin.path} shell --profile diagnostic --config-dir ${cfgKey.dir}`;
  const forceCommand = `${bin.path} shell --profile diagnostic --config-dir ${cfgFc.dir}`;
  const sshd = await startSshd({
    authorizedKeys: {
      [KEY_USER]: [`restrict,command="${keyCommand}" ${keyKey.publicKey}`, `restrict,pty,command="${bin.path} shell --profile e2e-pty --config-dir ${cfgKey.dir}" ${ptyKey.publicKey}`],
      // No options: the config's ForceCommand is what confines this user.
      [FC_USER]: [fcKey.publicKey],
    },
    match: [{ criteria: `User ${FC_USER}`, lines: [`ForceCommand ${forceCommand}`, 'PermitTTY no', 'DisableForwarding yes'] }],
  });
  t.teardown(async () => {
    // The sshd log is the first thing to read when a case fails.
    if (!t.passing()) console.error(`--- sshd log (${sshd.configPath}) ---\n${sshd.log()}`);
    await sshd.stop();
  });
  return { sshd, keyKey, ptyKey, fcKey, cfgKey, cfgFc, keyUser };
}

const env = await setUpOrSkip(t, skip, setUp);

if (env) {
  const { sshd, keyKey, ptyKey, fcKey, cfgKey, cfgFc, keyUser } = env;

  const asKeyUser = (command: string | undefined, tty?: 'force'): Promise<SshResult> =>
    sshd.ssh({ user: KEY_USER, key: keyKey.path, ...(command === undefined ? {} : { command }), ...(tty ? { tty } : {}) });
  const asFcUser = (command: string): Promise<SshResult> => sshd.ssh({ user: FC_USER, key: fcKey.path, command });

  /** Commands sent through the command= user, with the decision each must get in the audit log. */
  const sent: { command: string; denied: boolean; exit?: number }[] = [];

  await t.test('allowed command runs and its output comes back', async (t) => {
    const r = await asKeyUser('cat /proc/loadavg');
    sent.push({ command: 'cat /proc/loadavg', denied: false, exit: 0 });
    t.equal(r.code, 0, 'exit 0', detail(r));
    t.match(r.stdout, LOADAVG, 'stdout is /proc/loadavg');
    t.equal(r.stderr, '', 'nothing on stderr');
  });

  await t.test('command outside the profile is denied with 126', async (t) => {
    for (const command of ['ls /nonexistent-dir-xyz', 'cat /etc/shadow', 'bash']) {
      const r = await asKeyUser(command);
      sent.push({ command, denied: true });
      t.equal(r.code, 126, `${command}: exit 126`, detail(r));
      t.match(r.stderr, DENIED, `${command}: denial names a reason code`);
      t.equal(r.stdout, '', `${command}: nothing ran`);
    }
  });

  await t.test("an allowed command's own failure status comes back", async (t) => {
    const command = 'grep -i no-such-pattern-xyz /etc/os-release';
    const r = await asKeyUser(command);
    sent.push({ command, denied: false, exit: 1 });
    t.equal(r.code, 1, 'grep exits 1 (no match), not a leash status', detail(r));
    t.notMatch(r.stderr, /leash: denied/, 'not a denial');
  });

  await t.test('shell metacharacters are denied, not interpreted', async (t) => {
    const r = await asKeyUser('uptime; id');
    sent.push({ command: 'uptime; id', denied: true });
    t.equal(r.code, 126, 'exit 126', detail(r));
    t.match(r.stderr, DENIED, 'denial names a reason code');
    t.notMatch(r.stdout, /uid=/, 'id did not run');
  });

  await t.test('restrict: ssh -tt is refused a pty', async (t) => {
    // The client treats a refused pty it was told to get (-t/-tt) as fatal:
    // it closes the session (255), so whether the command ran is a race and
    // is not asserted. What matters is that no pty is ever handed out.
    const r = await asKeyUser('uptime', 'force');
    t.match(r.stderr, /PTY allocation request failed/, 'sshd refused the pty (restrict)', detail(r));
    t.equal(r.code, 255, 'the client gives up with 255');
  });

  await t.test('no command, plain: lists what is allowed and exits 126', async (t) => {
    const r = await asKeyUser(undefined);
    t.equal(r.code, 126, 'exit 126', detail(r));
    for (const c of ['uptime', 'id', 'cat']) t.match(r.stderr, new RegExp(`\\b${c}\\b`), `lists ${c}`);
    t.match(r.stderr, DENIED, 'and says it is denied');
  });

  await t.test('no command, from a terminal: pty refused, leash still answers without one', async (t) => {
    // `ssh host` typed at a terminal asks for a pty on its own (RequestTTY
    // auto); unlike -t that refusal is not fatal, so leash runs with no tty.
    const r = await sshd.ssh({ user: KEY_USER, key: keyKey.path, terminal: true });
    t.match(r.stdout, /PTY allocation request failed/, 'sshd refused the pty (restrict)', detail(r));
    t.equal(r.code, 126, 'exit 126');
    t.match(r.stdout, /\buptime\b/, 'lists the allowed commands');
  });

  await t.test('sshd logged the key-option forced command', async (t) => {
    await sshd.waitForLog(new RegExp(`forced-command \\(key-option\\) '[^']*' for ${KEY_USER} from 127\\.0\\.0\\.1`));
    t.pass('Starting session: forced-command (key-option)');
  });

  await t.test('every decision is in the audit log with the client address', async (t) => {
    const lines = await readAudit(cfgKey.audit);
    const dump = { lines: lines.map((l) => l.raw) };
    const find = (event: string, command: string): AuditLine | undefined => lines.find((l) => l.record['event'] === event && l.record['command'] === command);
    for (const { command, denied, exit } of sent) {
      const decision = find(denied ? 'shell.denied' : 'shell.allowed', command);
      if (!decision) {
        t.fail(`${command}: no ${denied ? 'shell.denied' : 'shell.allowed'} line`, dump);
        continue;
      }
      t.match(decision.record['client'], /^127\.0\.0\.1 \d+$/, `${command}: client address logged`, { line: decision.raw });
      t.equal(decision.record['user'], KEY_USER, `${command}: session user logged`);
      if (denied) t.match(decision.record['reason'], /^[A-Z][A-Z0-9_]*$/, `${command}: reason code logged`);
      else t.equal(find('shell.finished', command)?.record['exit'], exit, `${command}: outcome logged with exit ${exit}`, dump);
    }
    t.ok(
      lines.some((l) => l.record['event'] === 'shell.denied' && l.record['command'] === undefined),
      'the interactive login (no command) is logged as denied',
      dump,
    );
  });

  await t.test('ForceCommand in a Match User block confines the same way', async (t) => {
    const ok = await asFcUser('id');
    t.equal(ok.code, 0, 'id: exit 0', detail(ok));
    t.match(ok.stdout, `(${FC_USER})`, 'id ran as the session user');
    const no = await asFcUser('cat /etc/shadow');
    t.equal(no.code, 126, 'cat /etc/shadow: exit 126', detail(no));
    t.match(no.stderr, DENIED, 'denial names a reason code');
    await sshd.waitForLog(new RegExp(`forced-command \\(config\\) '[^']*' for ${FC_USER} from 127\\.0\\.0\\.1`));
    const audit = await readAudit(cfgFc.audit);
    const line = audit.find((l) => l.record['event'] === 'shell.denied' && l.record['command'] === 'cat /etc/shadow');
    t.ok(line, 'the denial is in its own audit log', { lines: audit.map((l) => l.raw) });
    t.equal(line?.record['user'], FC_USER, 'as the ForceCommand user');
  });

  const asPtyUser = (command: string): Promise<SshResult> => sshd.ssh({ user: KEY_USER, key: ptyKey.path, command, tty: 'force' });

  await t.test('ssh -tt through a key line with pty: the command runs, its output comes back (CRLF)', async (t) => {
    const r = await asPtyUser('uptime');
    t.equal(r.code, 0, 'exit 0', detail(r));
    t.match(r.stdout, /^ ?\d\d:\d\d:\d\d up .*load average: .*\r\n$/, 'uptime, with the pty\'s CRLF line end');
  });

  await t.test('with a pty the command still has no terminal: not on stdin, not on stdout', async (t) => {
    const tty = await asPtyUser('tty');
    t.equal(tty.code, 1, 'tty(1) exits 1: stdin is not a terminal', detail(tty));
    t.match(tty.stdout, /^not a tty\r\n$/);
    const out = await asPtyUser('stdout-is-tty');
    t.equal(out.code, 1, 'test -t 1 is false: stdout is a pipe to leash', detail(out));
  });

  await t.test('^C over the pty stops the command: exit 130, shell.killed SIGINT, nothing left running', async (t) => {
    const args = sshArgs({ port: sshd.port, user: KEY_USER, key: ptyKey.path, command: 'sleep 30', tty: 'force' });
    const ssh = spawn('/usr/bin/ssh', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((done) => ssh.on('close', (code) => done(code)));
    // The command runs once its decision is in the audit log and a `sleep 30` of the user exists.
    const sleepOfUser = (): number | undefined => {
      for (const name of readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        try {
          const st = statSync(`/proc/${name}`);
          if (st.uid === keyUser.uid && procStat(Number(name)).comm === 'sleep' && readFileSync(`/proc/${name}/cmdline`, 'utf8') === '/usr/bin/sleep\u000030\u0000') return Number(name);
        } catch {
          /* gone */
        }
      }
      return undefined;
    };
    let pid: number | undefined;
    t.ok(await waitFor(() => (pid = sleepOfUser()) !== undefined, 10_000), 'sleep 30 is running');
    ssh.stdin.write('\x03');
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r('timed out'), 10_000))]);
    if (code === 'timed out') ssh.kill('SIGKILL');
    t.equal(code, 130, 'the client gets 130 (leash stopped by SIGINT)');
    t.ok(await waitFor(() => pid === undefined || !existsSync(`/proc/${pid}`) || procStat(pid).state === 'Z', 3000), 'the command is gone');
    const lines = await readAudit(cfgKey.audit);
    t.ok(lines.some((l) => l.record['event'] === 'shell.killed' && l.record['signal'] === 'SIGINT' && l.record['command'] === 'sleep 30'), 'audited as shell.killed, SIGINT', { lines: lines.map((l) => l.raw).slice(-4) });
  });

  await t.test('a large output arrives whole through sshd (the relay keeps every byte)', async (t) => {
    const file = join(cfgKey.dir, 'big.bin');
    const r = spawn('/usr/bin/ssh', sshArgs({ port: sshd.port, user: KEY_USER, key: ptyKey.path, command: `cat ${file}` }), { stdio: ['ignore', 'pipe', 'pipe'] });
    const hash = createHash('sha256');
    let bytes = 0;
    r.stdout.on('data', (d: Buffer) => {
      bytes += d.length;
      hash.update(d);
    });
    const code = await new Promise<number | null>((done) => r.on('close', done));
    t.equal(code, 0);
    t.equal(bytes, BIG_OUTPUT, `${BIG_OUTPUT} bytes`);
    t.equal(hash.digest('hex'), createHash('sha256').update(await readFile(file)).digest('hex'), 'every byte as written');
  });
}
