/**
 * CA mode end to end: a real sshd with TrustedUserCAKeys and RevokedKeys and
 * no AuthorizedKeysCommand; certificates made by `leash grant` (and, for
 * comparison, by `ssh-keygen -s` with the same options and the same CA key);
 * the real ssh client. A granted key runs its profile's commands and nothing
 * else; the audit names the granted identity and session; an expired grant
 * and a revoked one are refused by sshd itself (the KRL leash writes, which
 * `ssh-keygen -Q` agrees with) while another grant works; TTL over the
 * maximum and an unknown profile are refused; the --authorized-keys line
 * works as a plain key's forced command with expiry-time.
 *
 * Needs root (sshd must switch users) and `npm run build` first.
 */
import t, { type Test as Tap } from 'tap';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeRuntimeDir } from '../helpers/runtime-dir.js';
import { e2eSkipReason, ensureUser, generateKey, setUpOrSkip, startSshd, type KeyPair, type SshResult } from '../helpers/sshd.js';
import { installBinary, trustedTempDir } from '../helpers/tmp.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LEASH = join(REPO, 'dist', 'leash');
const AGENT = 'leash-e2e-ca';
const skip = e2eSkipReason(LEASH);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const detail = (r: SshResult): Record<string, unknown> => ({ code: r.code, stdout: r.stdout, stderr: r.stderr });

const PROFILE = `timeout: 5m
commands:
  uptime: {binary: /usr/bin/uptime}
  id: {binary: /usr/bin/id}
  sleep: {binary: /usr/bin/sleep, operands: {int: [1, 120]}}
`;

interface Granted {
  certificate: string;
  file: string;
  session: string;
  serial: string;
  key_id: string;
  expires: string;
}

async function setUp(t: Tap) {
  const agent = await ensureUser(AGENT);
  const bin = await installBinary(LEASH);
  t.teardown(bin.cleanup);
  const cfg = await trustedTempDir('ca-e2e-');
  t.teardown(cfg.cleanup);
  const audit = join(cfg.path, 'audit.jsonl');
  for (const f of [audit, join(cfg.path, 'recordings.jsonl')]) {
    await writeFile(f, '', { mode: 0o600 });
    await chown(f, agent.uid, agent.gid);
  }
  const runtime = await makeRuntimeDir(cfg.path);
  await mkdir(join(cfg.path, 'policies'), { mode: 0o755 });
  await writeFile(join(cfg.path, 'policies', 'e2e.yaml'), PROFILE, { mode: 0o644 });
  await writeFile(join(cfg.path, 'leash.yaml'), `audit_log: ${audit}\nruntime_dir: ${runtime}\nmax_grant_ttl: 24h\n`, { mode: 0o644 });
  const caDir = join(cfg.path, 'ca');
  const keys = await mkdtemp(join(tmpdir(), 'leash-ca-e2e-'));
  t.teardown(() => rm(keys, { recursive: true, force: true }));
  await chmod(keys, 0o700);
  const run = (args: string[]): { code: number; stdout: string; stderr: string } => {
    try {
      return { code: 0, stdout: execFileSync(bin.path, ['--config-dir', cfg.path, ...args], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] }), stderr: '' };
    } catch (err) {
      const e = err as { status: number; stdout: string; stderr: string };
      return { code: e.status, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const init = run(['ca', 'init', '--ca-dir', caDir]);
  if (init.code !== 0) throw new Error(`leash ca init: ${init.stderr}`);
  // The target side, as install.sh --ca-key does it: the CA's public key and an empty KRL.
  await writeFile(join(cfg.path, 'user-ca.pub'), readFileSync(join(caDir, 'ca.pub')), { mode: 0o644 });
  execFileSync('/usr/bin/ssh-keygen', ['-q', '-k', '-f', join(cfg.path, 'revoked.krl')]);
  const sshd = await startSshd({
    authorizedKeys: {},
    extraConfig: [`TrustedUserCAKeys ${join(cfg.path, 'user-ca.pub')}`, `RevokedKeys ${join(cfg.path, 'revoked.krl')}`],
  });
  t.teardown(async () => {
    if (!t.passing()) console.error(`--- sshd log ---\n${sshd.log().slice(-5000)}\n--- audit ---\n${readFileSync(audit, 'utf8').slice(-4000)}`);
    await sshd.stop();
  });
  return { agent, bin: bin.path, cfg: cfg.path, caDir, audit, keys, sshd, run };
}

const env = await setUpOrSkip(t, skip, setUp);

if (env) {
  const { agent, bin, cfg, caDir, audit, keys, sshd, run } = env;
  const grantArgs = (key: KeyPair, extra: string[] = []): string[] => [
    'grant', '--pubkey', key.publicKeyPath, '--user', agent.name, '--profile', 'e2e', '--ttl', '2h', '--ca-dir', caDir, '--leash-path', bin, '--target-config-dir', cfg, '--json', ...extra,
  ];
  const grant = (key: KeyPair, extra: string[] = []): Granted => {
    const r = run(grantArgs(key, extra));
    if (r.code !== 0) throw new Error(`leash grant: ${r.code} ${r.stderr}`);
    return JSON.parse(r.stdout) as Granted;
  };
  const login = (key: KeyPair, cert: string | undefined, command: string): Promise<SshResult> => sshd.ssh({ user: agent.name, key: key.path, ...(cert ? { cert } : {}), command });
  const events = (): Record<string, unknown>[] => readFileSync(audit, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l) as Record<string, unknown>);
  const revokedPerKeygen = (cert: string): boolean => {
    const r = (() => {
      try {
        return execFileSync('/usr/bin/ssh-keygen', ['-Q', '-f', join(cfg, 'revoked.krl'), cert], { encoding: 'utf8' });
      } catch (err) {
        return (err as { stdout: string }).stdout;
      }
    })();
    return /REVOKED/.test(r);
  };
  const one = await generateKey(keys, 'agent-one');
  const two = await generateKey(keys, 'agent-two');

  await t.test('a granted key logs in and runs its profile; a denied command is refused; the audit names identity and session', async (t) => {
    const g = grant(one, ['--identity', 'agent-one']);
    t.match(g.session, /^[0-9a-f]{32}$/);
    t.equal(g.session.slice(0, 16), BigInt(g.serial).toString(16).padStart(16, '0'), 'the session id begins with the serial');
    t.equal(g.file, `${one.path}-cert.pub`);
    t.match(g.key_id, `leash:${g.session}:agent-one`);
    const ok = await login(one, g.file, 'uptime');
    t.equal(ok.code, 0, 'uptime runs', detail(ok));
    t.match(ok.stdout, /load average/);
    const no = await login(one, g.file, 'cat /etc/shadow');
    t.equal(no.code, 126, 'outside the profile: denied', detail(no));
    const ev = events();
    t.ok(ev.some((e) => e['event'] === 'shell.finished' && e['identity'] === 'agent-one' && e['session'] === g.session && e['command'] === 'uptime'), 'shell.finished with identity and session', { ev });
    t.ok(ev.some((e) => e['event'] === 'shell.denied' && e['identity'] === 'agent-one' && e['session'] === g.session), 'shell.denied with identity and session');
    await sshd.waitForLog(new RegExp(`Accepted certificate ID "leash:${g.session}:agent-one" \\(serial ${g.serial}\\) signed by ED25519 CA SHA256:\\S+ via ${cfg}\\/user-ca\\.pub`));
    t.pass('sshd accepted it through TrustedUserCAKeys');
    const ledger = readFileSync(join(caDir, 'ledger.jsonl'), 'utf8');
    t.match(ledger, `"serial":"${g.serial}"`, 'the grant is in the ledger');
  });

  await t.test('an ssh-keygen -s certificate with the same options behaves the same', async (t) => {
    const g = grant(two, ['--identity', 'agent-two', '--out', join(keys, 'leash-two-cert.pub')]);
    const listing = execFileSync('/usr/bin/ssh-keygen', ['-L', '-f', g.file], { encoding: 'utf8' });
    const force = /force-command (.+)\n/.exec(listing)![1]!;
    const valid = /Valid: from (\S+) to (\S+)/.exec(listing)!;
    const stamp = (s: string): string => s.replace(/[-:T]/g, '');
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-s', join(caDir, 'ca'), '-I', g.key_id, '-n', agent.name, '-z', g.serial, '-V', `${stamp(valid[1]!)}:${stamp(valid[2]!)}`, '-O', 'clear', '-O', `force-command=${force}`, '-O', 'permit-pty', two.publicKeyPath], { env: { TZ: process.env['TZ'] ?? '' } });
    const theirs = `${two.path}-cert.pub`;
    for (const command of ['id', 'cat /etc/shadow']) {
      const a = await login(two, g.file, command);
      const b = await login(two, theirs, command);
      t.equal(b.code, a.code, `${command}: same exit (${a.code})`, { leash: detail(a), keygen: detail(b) });
      t.equal(b.stdout, a.stdout, `${command}: same output`);
    }
    const ev = events().filter((e) => e['session'] === g.session && String(e['event']).startsWith('shell.'));
    t.equal(ev.length, 6, 'both certificates ran as the same session (allowed, finished, denied each)', { ev });
  });

  await t.test('sessions lists the CA session; revoke --session: sshd refuses that certificate, another grant works', async (t) => {
    const a = grant(one, ['--identity', 'agent-one']);
    const b = grant(two, ['--identity', 'agent-two']);
    t.equal((await login(one, a.file, 'id')).code, 0);
    const list = JSON.parse(run(['sessions', '--json', '--all']).stdout) as { session: string; identity: string; source: string }[];
    t.match(list.find((s) => s.session === a.session), { identity: 'agent-one', source: 'claim' }, 'the CA session is in leash sessions');
    const r = run(['revoke', '--session', a.session, '--reason', 'lost laptop']);
    t.equal(r.code, 0, 'leash revoke', r);
    t.equal(revokedPerKeygen(a.file), true, 'ssh-keygen -Q: the revoked certificate is REVOKED');
    t.equal(revokedPerKeygen(b.file), false, 'ssh-keygen -Q: the other is ok');
    const refused = await login(one, a.file, 'id');
    t.equal(refused.code, 255, 'sshd refuses the revoked certificate', detail(refused));
    await sshd.waitForLog(/revoked by file|is revoked|Authentication key .* revoked/);
    t.equal((await login(two, b.file, 'id')).code, 0, 'the other grant still works');
    run(['unrevoke', '--session', a.session]);
  });

  await t.test('revoke --serial and revoke --key: sshd refuses that certificate (ssh-keygen -Q agrees); unrevoke lets it in again', async (t) => {
    const bySerialKey = await generateKey(keys, 'agent-serial');
    const byKeyKey = await generateKey(keys, 'agent-bykey');
    const s = grant(bySerialKey, ['--identity', 'agent-serial']);
    const k = grant(byKeyKey, ['--identity', 'agent-bykey']);
    t.equal((await login(bySerialKey, s.file, 'id')).code, 0, 'both log in before');
    t.equal((await login(byKeyKey, k.file, 'id')).code, 0);
    t.equal(run(['revoke', '--serial', s.serial, '--reason', 'serial test']).code, 0, 'revoke --serial');
    t.equal(revokedPerKeygen(s.file), true, 'ssh-keygen -Q: REVOKED by serial');
    t.equal(revokedPerKeygen(k.file), false, 'the other is not');
    t.equal((await login(bySerialKey, s.file, 'id')).code, 255, 'sshd refuses the certificate of that serial');
    t.equal(run(['revoke', '--key', byKeyKey.publicKeyPath, '--reason', 'key test']).code, 0, 'revoke --key');
    t.equal(revokedPerKeygen(k.file), true, 'ssh-keygen -Q: REVOKED by key');
    t.equal((await login(byKeyKey, k.file, 'id')).code, 255, 'sshd refuses every certificate of that key');
    const again = grant(byKeyKey, ['--identity', 'agent-bykey']);
    t.equal((await login(byKeyKey, again.file, 'id')).code, 255, 'a new grant for a revoked key is refused too');
    t.equal(run(['unrevoke', '--serial', s.serial]).code, 0, 'unrevoke --serial');
    t.equal(run(['unrevoke', '--key', byKeyKey.publicKeyPath]).code, 0, 'unrevoke --key');
    t.equal(revokedPerKeygen(s.file), false, 'ssh-keygen -Q: no longer revoked');
    t.equal((await login(bySerialKey, s.file, 'id')).code, 0, 'the serial logs in again');
    t.equal((await login(byKeyKey, again.file, 'id')).code, 0, 'the key logs in again');
  });

  await t.test('ssh -tt through a grant: permit-pty, the command runs on a terminal', async (t) => {
    const key = await generateKey(keys, 'agent-tty');
    const g = grant(key, ['--identity', 'agent-tty']);
    const r = await sshd.ssh({ user: agent.name, key: key.path, cert: g.file, command: 'uptime', tty: 'force' });
    t.equal(r.code, 0, 'exit 0', detail(r));
    t.match(r.stdout, /load average/, 'uptime ran');
    t.notMatch(r.stderr, /PTY allocation request failed/);
  });

  await t.test('an expired grant is refused by sshd', async (t) => {
    const key = await generateKey(keys, 'agent-short');
    const g = grant(key, ['--ttl', '1s']);
    await sleep(Math.max(0, Date.parse(g.expires) + 1500 - Date.now()));
    const r = await login(key, g.file, 'id');
    t.equal(r.code, 255, 'refused after its validity', detail(r));
    t.match(r.stderr, /Permission denied/);
  });

  await t.test('refusals: TTL over the maximum, an unknown profile, a weak key', async (t) => {
    const key = await generateKey(keys, 'agent-refused');
    const long = run(grantArgs(key, ['--ttl', '25h']));
    t.equal(long.code !== 0, true, 'TTL 25h refused');
    t.match(long.stderr, /GRANT_TTL_INVALID|max_grant_ttl/);
    const unknown = run([...grantArgs(key).map((a) => (a === 'e2e' ? 'nosuch' : a))]);
    t.not(unknown.code, 0, 'unknown profile refused');
    t.match(unknown.stderr, /nosuch/);
    execFileSync('/usr/bin/ssh-keygen', ['-q', '-t', 'rsa', '-b', '2048', '-N', '', '-f', join(keys, 'weak')]);
    const weak = run(['grant', '--pubkey', join(keys, 'weak.pub'), '--user', agent.name, '--profile', 'e2e', '--ttl', '1h', '--ca-dir', caDir]);
    t.not(weak.code, 0, 'RSA 2048 refused');
    t.match(weak.stderr, /3072/);
  });

  await t.test('--authorized-keys: the line works as a plain key\'s forced command with expiry-time', async (t) => {
    const key = await generateKey(keys, 'agent-plain');
    const r = run(['grant', '--authorized-keys', '--pubkey', key.publicKeyPath, '--user', agent.name, '--profile', 'e2e', '--ttl', '1h', '--identity', 'plain-agent', '--leash-path', bin, '--target-config-dir', cfg]);
    t.equal(r.code, 0, r.stderr);
    const line = r.stdout.trim();
    t.match(line, /^expiry-time="\d{14}Z",restrict,pty,command="\S+ --config-dir \S+ shell --profile e2e --session [0-9a-f]{32} --identity plain-agent --expires \d+" ssh-ed25519 /);
    await sshd.setAuthorizedKeys(agent.name, [line]);
    const ok = await login(key, undefined, 'uptime');
    t.equal(ok.code, 0, 'uptime', detail(ok));
    const no = await login(key, undefined, 'cat /etc/shadow');
    t.equal(no.code, 126, 'denied');
    const expired = line.replace(/expiry-time="\d{14}Z"/, 'expiry-time="20200101000000Z"');
    await sshd.setAuthorizedKeys(agent.name, [expired]);
    t.equal((await login(key, undefined, 'uptime')).code, 255, 'an expired line is refused by sshd');
    await sshd.setAuthorizedKeys(agent.name, []);
  });

  void execFile;
}
