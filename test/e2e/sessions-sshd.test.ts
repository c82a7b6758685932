/**
 * Sessions end to end: a real sshd runs the built leash as its
 * AuthorizedKeysCommand (verifier mode, a real OpenID provider) and as the
 * forced command; real ssh clients hold ControlMaster connections. Two
 * identities share one local user. What is checked: `leash sessions` lists
 * both; `leash revoke --identity` ends one identity's connection and running
 * command within a second while the other keeps working, and its next login
 * is refused; a master that never ran a command (`ssh -fN`) is listed from
 * the verifier's login record alone and revoke closes it; `--session` ends
 * one connection only; `--for` runs out; a 20-second max_session closes idle
 * connections — one that never ran a command too — at the reaper's round; a
 * login entry the AuthorizedKeysCommandUser forges makes root kill neither
 * the sshd listener nor another user's connection;
 * `leash watch --json` shows events as they happen; 32 parallel sessions keep
 * the audit log, the registry and the recordings consistent; nothing of the
 * killed sessions is left running.
 *
 * Needs root (sshd must switch users) and `npm run build` first.
 */
import t, { type Test as Tap } from 'tap';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startProvider } from '../helpers/oidc-provider.js';
import { mintLogin, type MintedLogin } from '../helpers/pktoken.js';
import { childrenOf } from '../helpers/processes.js';
import { makeRuntimeDir } from '../helpers/runtime-dir.js';
import { AKC_USER, e2eSkipReason, ensureAkcUser, ensureUser, setUpOrSkip, sshArgs, startSshd, type SshResult } from '../helpers/sshd.js';
import { installBinary, trustedTempDir } from '../helpers/tmp.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LEASH = join(REPO, 'dist', 'leash');
const AGENT = 'leash-e2e-sess';
const skip = e2eSkipReason(LEASH);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const detail = (r: SshResult): Record<string, unknown> => ({ code: r.code, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut });

const PROFILE = `timeout: 5m
commands:
  uptime: {binary: /usr/bin/uptime}
  id: {binary: /usr/bin/id}
  sleep: {binary: /usr/bin/sleep, operands: {int: [1, 120]}}
`;

interface SessionJson {
  session: string;
  identity: string;
  user: string;
  state: string;
  commands: number;
  denied: number;
  pids: number[];
  client: string | null;
  current: { command: string; pids: number[] }[];
  connection: { monitor: number; pids: number[] } | null;
  source: 'login' | 'claim';
}

async function setUp(t: Tap) {
  const agent = await ensureUser(AGENT);
  const akc = await ensureAkcUser();
  const op = await startProvider();
  t.teardown(op.stop);
  const bin = await installBinary(LEASH);
  t.teardown(bin.cleanup);
  const cfg = await trustedTempDir('sessions-e2e-');
  t.teardown(cfg.cleanup);
  const audit = join(cfg.path, 'audit.jsonl');
  const recordings = join(cfg.path, 'recordings.jsonl');
  const cache = join(cfg.path, 'jwks-cache');
  await mkdir(cache, { mode: 0o755 });
  const { chown } = await import('node:fs/promises');
  await chown(cache, akc.uid, akc.gid);
  for (const f of [audit, recordings]) {
    // 0666 only here: install.sh's model is a shared group and chattr +a.
    await writeFile(f, '', { mode: 0o666 });
    await chmod(f, 0o666);
  }
  const runtime = await makeRuntimeDir(cfg.path, akc);
  await mkdir(join(cfg.path, 'policies'), { mode: 0o755 });
  await writeFile(join(cfg.path, 'policies', 'e2e.yaml'), PROFILE, { mode: 0o644 });
  const grant = (identity: string, extra = ''): string[] => [`  - identity: ${identity}`, `    issuer: ${op.issuer}`, `    principals: [${AGENT}]`, '    profile: e2e', ...(extra ? [`    ${extra}`] : [])];
  const yaml = [
    'providers:',
    `  - issuer: ${op.issuer}`,
    `    client_id: ${op.clientId}`,
    '    expiration: 24h',
    'grants:',
    ...grant('alice@example.com'),
    ...grant('bob@example.com'),
    ...grant('carol@example.com', 'max_session: 20s'),
    ...grant('dave@example.com'),
    ...grant('erin@example.com'),
    `audit_log: ${audit}`,
    `recordings_log: ${recordings}`,
    `jwks_cache_dir: ${cache}`,
    `runtime_dir: ${runtime}`,
    'max_concurrent_commands: 40',
    '',
  ].join('\n');
  await writeFile(join(cfg.path, 'leash.yaml'), yaml, { mode: 0o644 });

  const keyDir = await mkdtemp(join(tmpdir(), 'ls-'));
  t.teardown(() => rm(keyDir, { recursive: true, force: true }));
  const logins = await Promise.all(['alice', 'bob', 'carol', 'dave', 'erin'].map((u) => mintLogin(op, u, { dir: keyDir, name: u })));
  const sshd = await startSshd({
    authorizedKeysCommand: `${bin.path} --config-dir ${cfg.path} verify %u %k %t`,
    authorizedKeysCommandUser: AKC_USER,
    authorizedKeysFile: 'none',
    extraConfig: ['MaxSessions 50', 'MaxStartups 100:30:200'],
  });
  t.teardown(async () => {
    if (!t.passing()) console.error(`--- sshd log ---\n${sshd.log().slice(-6000)}\n--- audit ---\n${(await readFile(audit, 'utf8').catch(() => '')).slice(-6000)}`);
    await sshd.stop();
  });
  const [alice, bob, carol, dave, erin] = logins as [MintedLogin, MintedLogin, MintedLogin, MintedLogin, MintedLogin];
  return { agent, akc, bin: bin.path, cfg: cfg.path, audit, recordings, runtime, sshd, keyDir, alice, bob, carol, dave, erin };
}

const env = await setUpOrSkip(t, skip, setUp);

if (env) {
  const { agent, akc, bin, cfg, audit, recordings, runtime, sshd, keyDir, alice, bob, carol, dave, erin } = env;
  const leash = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((res) => {
      execFile(bin, ['--config-dir', cfg, ...args], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, timeout: 20_000 }, (err, stdout, stderr) => {
        res({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
      });
    });
  const sessions = async (all = false): Promise<SessionJson[]> => {
    const r = await leash(['sessions', '--json', ...(all ? ['--all'] : [])]);
    if (r.code !== 0) throw new Error(`leash sessions: ${r.code} ${r.stderr}`);
    return JSON.parse(r.stdout) as SessionJson[];
  };
  const waitFor = async <T>(what: string, get: () => Promise<T | undefined>, ms = 10_000): Promise<T> => {
    const end = Date.now() + ms;
    for (;;) {
      const v = await get();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await sleep(100);
    }
  };
  const events = (): Record<string, unknown>[] =>
    readFileSync(audit, 'utf8')
      .split('\n')
      .filter((l) => l)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  let n = 0;
  /** A ControlMaster connection of `who`: its first command starts the master, later ones ride it. */
  const master = (who: MintedLogin): { run: (command: string, timeoutMs?: number) => Promise<SshResult>; path: string } => {
    const path = join(keyDir, `cm${n++}`);
    const cm = ['-o', 'ControlMaster=auto', '-o', `ControlPath=${path}`, '-o', 'ControlPersist=120'];
    return { path, run: (command, timeoutMs = 15_000) => sshd.ssh({ user: agent.name, key: who.keyPath, cert: who.certPath, command, extraArgs: cm, timeoutMs }) };
  };
  /** `ssh -O check`: 0 while the master of that control socket runs. */
  const check = (path: string): Promise<number | null> =>
    new Promise((res) => execFile('/usr/bin/ssh', ['-F', '/dev/null', '-o', `ControlPath=${path}`, '-O', 'check', 'x'], (err) => res(err ? (typeof err.code === 'number' ? err.code : -1) : 0)));
  /**
   * `ssh -fN`: a ControlMaster master that opens no session channel, so it never runs the forced
   * command: only the verifier's login record can make it known. Resolves with its control path
   * once it is authenticated and in the background.
   */
  const idleMaster = async (who: MintedLogin): Promise<string> => {
    const path = join(keyDir, `cm${n++}`);
    const args = sshArgs({ port: sshd.port, user: agent.name, key: who.keyPath, cert: who.certPath, extraArgs: ['-f', '-N', '-o', 'ControlMaster=yes', '-o', `ControlPath=${path}`, '-o', 'ControlPersist=120'] });
    // The backgrounded master keeps its descriptors: wait for the foreground's exit, not for its output to close.
    const code = await new Promise<number | null>((res) => spawn('/usr/bin/ssh', args, { stdio: 'ignore' }).on('exit', res));
    if (code !== 0 || (await check(path)) !== 0) throw new Error(`ssh -fN for ${who.certPath} exited ${code}`);
    return path;
  };
  const plain = (who: MintedLogin, command: string): Promise<SshResult> => sshd.ssh({ user: agent.name, key: who.keyPath, cert: who.certPath, command });
  const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/^[^)]*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^[^(]*\(/, '('));
  // Exited processes waiting to be reaped do not count (this machine's PID 1 is slow to reap orphans).
  const agentPids = (): number[] =>
    readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p) && alive(Number(p)))
      .filter((p) => {
        try {
          return /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] === String(agent.uid);
        } catch {
          return false;
        }
      })
      .map(Number);

  // carol's grant lasts 20 s: her connections open first, the other cases run while they age.
  // One ran a command; the other never does (ssh -fN).
  const carolCm = master(carol);
  const carolFirst = await carolCm.run('uptime');
  const carolOpened = Date.now();
  const carolIdle = await idleMaster(carol);

  await t.test('two identities on one local user: both listed, revoking one ends it within a second, the other works on', async (t) => {
    t.equal(carolFirst.code, 0, 'carol ran uptime', detail(carolFirst));
    const a = master(alice);
    const b = master(bob);
    t.equal((await a.run('uptime')).code, 0, 'alice: uptime through her master');
    t.equal((await b.run('id')).code, 0, 'bob: id through his master');
    const aliceSleep = a.run('sleep 60', 70_000);
    const bobSleep = b.run('sleep 5', 70_000);
    const listed = await waitFor('both sleeps in leash sessions', async () => {
      const s = await sessions();
      // Active, and the sleep itself started (not only its leash).
      const sa = s.find((x) => x.identity === 'alice@example.com' && x.state === 'active' && x.pids.length >= 2);
      const sb = s.find((x) => x.identity === 'bob@example.com' && x.state === 'active' && x.pids.length >= 2);
      return sa && sb ? { sa, sb, all: s } : undefined;
    });
    t.equal(listed.sa.user, agent.name);
    t.equal(listed.sb.user, agent.name, 'both on the same local user');
    t.not(listed.sa.session, listed.sb.session);
    t.match(listed.sa.current, [{ command: 'sleep 60' }], "alice's running command");
    t.equal(listed.sa.commands, 2, 'alice: two commands so far (uptime, sleep)');
    t.match(listed.sa.client, /^127\.0\.0\.1 \d+$/);
    t.ok(listed.sa.pids.length >= 2, 'pids of leash and sleep', listed.sa);
    const alicePids = [...listed.sa.pids, ...(listed.sa.connection?.pids ?? [])];

    const started = Date.now();
    const r = await leash(['revoke', '--identity', 'alice@example.com', '--reason', 'e2e test']);
    t.equal(r.code, 0, 'leash revoke: everything of alice is gone', r);
    t.match(r.stdout, /ended session [0-9a-f]{12}/);
    const ended = await Promise.race([aliceSleep, sleep(1000).then(() => null)]);
    t.ok(ended, `alice's ssh ended within 1 s of revoke (${Date.now() - started} ms after it started)`);
    t.not(ended?.code, 0, "alice's sleep did not finish normally");
    for (const pid of alicePids) t.notOk(alive(pid), `pid ${pid} of alice's session is gone`);

    const bobNow = await b.run('uptime');
    t.equal(bobNow.code, 0, 'bob, same local user, still works over his connection', detail(bobNow));
    t.equal((await bobSleep).code, 0, "bob's running sleep finished normally");
    const again = await plain(alice, 'uptime');
    t.equal(again.code, 255, 'alice cannot log in again', detail(again));
    const ev = events();
    t.ok(ev.some((e) => e['event'] === 'session.revoked' && e['identity'] === 'alice@example.com' && e['reason'] === 'e2e test' && e['by'] === 'root'), 'session.revoked audited');
    t.ok(ev.some((e) => e['event'] === 'session.killed' && e['session'] === listed.sa.session && Array.isArray(e['pids'])), 'session.killed audited with the pids');
    t.ok(ev.some((e) => e['event'] === 'verify.refused' && e['reason'] === 'SESSION_REVOKED'), 'the new login: verify.refused SESSION_REVOKED');
    const state = (await sessions(true)).find((s) => s.session === listed.sa.session);
    t.equal(state?.state, 'revoked', 'sessions --all shows it revoked');
  });

  await t.test('a master that never ran a command (ssh -fN) is listed, and revoke --identity closes it', async (t) => {
    const path = await idleMaster(erin);
    const listed = await waitFor('erin in leash sessions', async () => (await sessions()).find((s) => s.identity === 'erin@example.com'), 5000);
    t.match(listed, { state: 'idle', user: agent.name, source: 'login', commands: 0, connection: { monitor: Number } }, 'listed from the login alone, with its connection');
    const started = Date.now();
    const r = await leash(['revoke', '--identity', 'erin@example.com', '--reason', 'idle master']);
    t.equal(r.code, 0, 'revoke: everything of erin is gone', r);
    t.match(r.stdout, new RegExp(`ended session ${listed.session}`));
    let open = await check(path);
    while (open === 0 && Date.now() - started < 1000) open = await check(path);
    t.not(open, 0, `the master is closed within 1 s of the revoke (${Date.now() - started} ms)`);
    t.equal((await sessions(true)).find((s) => s.session === listed.session)?.state, 'revoked');
    t.ok(events().some((e) => e['event'] === 'session.killed' && e['session'] === listed.session && e['closed'] === true), 'session.killed audited');
    t.equal((await leash(['unrevoke', '--identity', 'erin@example.com'])).code, 0);
  });

  await t.test('--session ends one connection; another connection of the same identity stays', async (t) => {
    const bobs = async () => (await sessions()).filter((x) => x.identity === 'bob@example.com' && x.state === 'idle').map((x) => x.session);
    const before = new Set(await bobs());
    const one = master(bob);
    t.equal((await one.run('uptime')).code, 0);
    // `one`'s session: the idle one of bob's that was not there before it logged in.
    const ofOne = (await bobs()).filter((id) => !before.has(id));
    const two = master(bob);
    t.equal((await two.run('uptime')).code, 0);
    t.equal(ofOne.length, 1, 'one new session for the first connection', { ofOne });
    t.ok((await bobs()).length >= 2, 'bob has idle connections');
    const target = { session: ofOne[0]! };
    const r = await leash(['revoke', '--session', target.session]);
    t.equal(r.code, 0, 'revoke --session', r);
    t.not(await check(one.path), 0, 'that connection is closed (ssh -O check finds no master)');
    t.equal(await check(two.path), 0, 'the other master is running');
    t.equal((await two.run('id')).code, 0, 'the other connection of bob works');
  });

  await t.test('--for: a revocation that runs out by itself', async (t) => {
    // Long enough for a login on a loaded machine; the list is read at once, before the login.
    const r = await leash(['revoke', '--identity', 'dave@example.com', '--for', '8s']);
    const until = Date.now() + 8000;
    t.equal(r.code, 0, r.stderr);
    const list = await leash(['revoke', '--list']);
    t.match(list.stdout, /identity dave@example\.com\s+until /);
    t.equal((await plain(dave, 'uptime')).code, 255, 'dave is refused while it lasts');
    await sleep(Math.max(0, until - Date.now()) + 500);
    const later = await plain(dave, 'uptime');
    t.equal(later.code, 0, 'after the 8 s dave logs in again', detail(later));
  });

  await t.test('leash watch --json shows events as they happen', async (t) => {
    const watch = spawn(bin, ['--config-dir', cfg, 'watch', '--json', '--identity', 'dave@example.com'], { env: { PATH: '/usr/bin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    watch.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    t.teardown(() => void watch.kill('SIGKILL'));
    await sleep(500);
    t.equal(out, '', 'nothing before the login: it starts at the end of the log');
    const r = await plain(dave, 'id');
    t.equal(r.code, 0);
    const seen = await waitFor('watch output', async () => (out.includes('"shell.finished"') ? out : undefined), 5000);
    const lines = seen.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    t.ok(lines.some((e) => e['event'] === 'verify.accepted'), 'verify.accepted');
    t.ok(lines.some((e) => e['event'] === 'shell.allowed' && e['command'] === 'id'), 'shell.allowed');
    t.ok(lines.every((e) => e['identity'] === 'dave@example.com'), 'only dave');
    const raw = readFileSync(audit, 'utf8').split('\n');
    for (const l of seen.trim().split('\n')) t.ok(raw.includes(l), 'passed through byte for byte');
    watch.kill('SIGTERM');
  });

  await t.test('32 parallel sessions: audit log, registry and recordings agree', async (t) => {
    const who = [alice, bob, dave].slice(1);
    const runs = await Promise.all(Array.from({ length: 32 }, (_, i) => plain(who[i % 2]!, 'uptime')));
    t.same(runs.map((r) => r.code), runs.map(() => 0), 'all 32 ran', { failed: runs.filter((r) => r.code !== 0).map(detail) });
    const ev = events();
    const finished = ev.filter((e) => e['event'] === 'shell.finished' && e['command'] === 'uptime');
    const bySession = new Map(finished.map((e) => [e['session'] as string, e]));
    const all = await sessions(true);
    const recorded = readFileSync(recordings, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l) as Record<string, unknown>);
    let checked = 0;
    for (const s of all.filter((x) => x.commands === 1 && bySession.has(x.session))) {
      const e = bySession.get(s.session)!;
      t.equal(e['seq'], 1, 'the audit event carries seq 1');
      const out = recorded.filter((r) => r['session'] === s.session && r['seq'] === 1 && typeof r['data'] === 'string').map((r) => Buffer.from(r['data'] as string, 'base64').toString()).join('');
      t.match(out, /load average/, `session ${s.session.slice(0, 8)}: its recorded output is its uptime`);
      checked++;
    }
    t.ok(checked >= 32, `${checked} sessions checked across the three records`);
    t.ok(ev.filter((e) => e['event'] === 'shell.allowed').every((e) => ev.some((v) => v['event'] === 'verify.accepted' && v['session'] === e['session'])), 'every command belongs to an accepted login');
  });

  await t.test('max_session 20s: the idle connection is closed by the reaper after expiry', async (t) => {
    const carols = (await sessions()).filter((s) => s.identity === 'carol@example.com');
    const mine = carols.find((s) => s.commands > 0);
    const never = carols.find((s) => s.commands === 0);
    t.equal(mine?.state, 'idle', 'carol is connected and idle', { carols });
    t.match(never, { state: 'idle', source: 'login' }, 'and her master that never ran a command is listed too');
    const wait = carolOpened + 21_000 - Date.now();
    if (wait > 0) await sleep(wait);
    const refused = await carolCm.run('uptime');
    t.equal(refused.code, 126, 'a command after expiry is refused', detail(refused));
    // cron or the systemd timer runs this every minute.
    const r = await leash(['sessions', '--reap', '--json']);
    t.equal(r.code, 0, r.stderr);
    const all = await sessions(true);
    for (const s of [mine, never]) {
      const after = all.find((x) => x.session === s?.session);
      t.equal(after?.state, 'expired', `session ${s?.session.slice(0, 8)}: expired and its connection gone`);
      t.notOk(after?.connection, 'no connection left');
    }
    t.not(await check(carolIdle), 0, 'the master that never ran a command is closed');
    t.ok(events().some((e) => (e['event'] === 'session.expired' || e['event'] === 'shell.denied') && e['session'] === mine?.session), 'expiry audited');
  });

  await t.test("a login entry forged by the AuthorizedKeysCommandUser kills neither the listener nor another user's connection", async (t) => {
    // bob's new connection: the one monitor of the agent user that appears with it (found in /proc, not through leash).
    const title = (pid: number): string => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0] ?? '';
      } catch {
        return ''; // gone meanwhile
      }
    };
    const monitors = (): number[] => childrenOf(sshd.pid).filter((p) => title(p) === `sshd: ${agent.name} [priv]`);
    const before = new Set(monitors());
    const path = await idleMaster(bob);
    const [victim, ...more] = monitors().filter((p) => !before.has(p));
    t.ok(victim !== undefined && more.length === 0, "bob's fresh master and its monitor", { victim, more });
    const startOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[19]);
    const forge = (sid: string, user: string, pid: number): void => {
      const entry = JSON.stringify({ session: sid, identity: 'mallory@example.com', user, profile: 'e2e', expires: 1, monitor: { pid, start: startOf(pid) }, at: 1 });
      execFileSync('/usr/bin/setpriv', ['--reuid', String(akc.uid), '--regid', String(akc.gid), '--clear-groups', '/bin/sh', '-c', `printf '%s\\n' '${entry}' > ${join(runtime, 'logins', `${sid}.json`)}`]);
    };
    forge('forged-listener', agent.name, sshd.pid); // "expired", naming the sshd listener
    forge('forged-other-user', 'root', victim!); // bob's monitor, claimed for another user
    const r = await leash(['sessions', '--reap', '--json']);
    t.equal(r.code, 0, r.stderr);
    t.notMatch(r.stdout, /forged/, 'the reaper ended neither');
    t.ok(alive(sshd.pid), 'the listener is alive');
    t.ok(alive(victim!), "bob's connection monitor is alive (the reaper waits for what it kills)");
    t.equal(await check(path), 0, "bob's master is open");
    t.equal((await plain(bob, 'id')).code, 0, 'and the server takes new logins');
    t.notOk(events().some((e) => typeof e['session'] === 'string' && e['session'].startsWith('forged') && (e['event'] === 'session.expired' || e['event'] === 'session.killed')), 'nothing was killed for them');
  });

  await t.test('a kill leaves nothing of the session behind', async (t) => {
    const r = await leash(['revoke', '--user', agent.name, '--reason', 'end of test']);
    t.equal(r.code, 0, r.stderr);
    await leash(['unrevoke', '--user', agent.name]);
    await sleep(300);
    const left = agentPids();
    t.same(left, [], `no process of ${agent.name} is left`, { left: left.map((p) => `${p}: ${readFileSync(`/proc/${p}/cmdline`, 'latin1').replace(/\0/g, ' ')} (ppid ${readFileSync(`/proc/${p}/stat`, 'latin1').split(') ')[1]?.split(' ')[1]})`), revoke: r.stdout });
    t.same(await sessions(), [], 'no live session');
    void runtime;
  });
}
