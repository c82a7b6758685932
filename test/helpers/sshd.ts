/**
 * A real OpenSSH server and client for end-to-end tests (Debian's
 * /usr/sbin/sshd and /usr/bin/ssh). Measured behaviour these helpers rely on
 * is in /work/shared/design/openssh-node-facts.md. Everything here needs root:
 * sshd must start as root to switch to the session user.
 *
 * Typical use:
 *   const user = await ensureUser('leash-e2e');
 *   const key = await generateKey(dir, 'id_user');
 *   const sshd = await startSshd({ authorizedKeys: { [user.name]: [`restrict,command="..." ${key.publicKey}`] } });
 *   t.teardown(sshd.stop);
 *   const r = await sshd.ssh({ user: user.name, key: key.path, command: 'uptime' });
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Test as Tap } from 'tap';
import { isRoot, trustedTempDir } from './tmp.js';
import { accepts as canConnect, freePort } from '../../src/demo/loopback.js';

const SSHD_BIN = '/usr/sbin/sshd';
const SSH_BIN = '/usr/bin/ssh';
const SSH_KEYGEN_BIN = '/usr/bin/ssh-keygen';
/** A dedicated unprivileged user for AuthorizedKeysCommandUser; see ensureAkcUser(). */
export const AKC_USER = 'leash-akc';

// ---------------------------------------------------------------- processes

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program without a shell; never rejects on a non-zero exit. */
function run(file: string, args: readonly string[], timeoutMs = 10_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function runOk(file: string, args: readonly string[]): Promise<string> {
  const r = await run(file, args);
  if (r.code !== 0) throw new Error(`${file} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- users

export interface LocalUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;

async function lookupUser(name: string): Promise<LocalUser | null> {
  const r = await run('/usr/bin/getent', ['passwd', name]);
  if (r.code !== 0) return null;
  const f = r.stdout.trim().split(':');
  return { name, uid: Number(f[2]), gid: Number(f[3]), home: f[5] ?? '' };
}

/**
 * useradd/usermod take a lock on /etc/passwd; tap runs test files in
 * parallel, so a second caller may briefly find it held. Retry a few times,
 * and treat "someone else just created it" as success.
 */
async function retryingAccountCommand(args: readonly string[], file: string, done: () => Promise<boolean>): Promise<void> {
  let last = '';
  for (let i = 0; i < 6; i++) {
    const r = await run(file, args);
    if (r.code === 0 || (await done())) return;
    last = r.stderr.trim();
    await sleep(100 * (i + 1));
  }
  throw new Error(`${file} ${args.join(' ')} failed: ${last}`);
}

/**
 * Returns the local user `name`, creating it if absent. Login users get a
 * home, /bin/bash and the password field '*': with `UsePAM no`, sshd treats
 * '!' (useradd's default) as "account locked" and refuses even key logins,
 * while '*' only means "no password". `system: true` makes a no-login system
 * account (no home), meant for AuthorizedKeysCommandUser. The users are left
 * in place afterwards so reruns are fast and parallel test files can share them.
 */
export async function ensureUser(name: string, opts: { system?: boolean } = {}): Promise<LocalUser> {
  if (!USER_NAME.test(name)) throw new Error(`ensureUser: invalid user name ${JSON.stringify(name)}`);
  if (!isRoot()) throw new Error('ensureUser needs root');
  const exists = async (): Promise<boolean> => (await lookupUser(name)) !== null;
  if (!(await exists())) {
    const args = opts.system ? ['-r', '-M', '-d', '/nonexistent', '-s', '/usr/sbin/nologin', name] : ['-m', '-s', '/bin/bash', name];
    await retryingAccountCommand(args, '/usr/sbin/useradd', exists);
  }
  if (!opts.system) {
    const passwordIsStar = async (): Promise<boolean> => (await run('/usr/bin/getent', ['shadow', name])).stdout.split(':')[1] === '*';
    if (!(await passwordIsStar())) await retryingAccountCommand(['-p', '*', name], '/usr/sbin/usermod', passwordIsStar);
  }
  const user = await lookupUser(name);
  if (!user) throw new Error(`ensureUser: ${name} still missing after useradd`);
  return user;
}

/** The unprivileged AuthorizedKeysCommandUser for `leash verify` (a system account, no home, no shell). */
export function ensureAkcUser(): Promise<LocalUser> {
  return ensureUser(AKC_USER, { system: true });
}

// ---------------------------------------------------------------- keys

export type KeyType = 'ed25519' | 'ecdsa';

export interface KeyPair {
  /** Private key path (what `ssh -i` takes). */
  path: string;
  publicKeyPath: string;
  /** The public key line without its comment: "ssh-ed25519 AAAA…". */
  publicKey: string;
}

/** `ssh-keygen -t ed25519|ecdsa(P-256)` with no passphrase, into `dir/name`. */
export async function generateKey(dir: string, name: string, type: KeyType = 'ed25519'): Promise<KeyPair> {
  const path = join(dir, name);
  const typeArgs = type === 'ecdsa' ? ['-t', 'ecdsa', '-b', '256'] : ['-t', 'ed25519'];
  await runOk(SSH_KEYGEN_BIN, ['-q', ...typeArgs, '-N', '', '-C', name, '-f', path]);
  const line = (await readFile(`${path}.pub`, 'utf8')).trim().split(' ');
  return { path, publicKeyPath: `${path}.pub`, publicKey: `${line[0]} ${line[1]}` };
}

export interface CertOptions {
  keyId: string;
  principals: readonly string[];
  serial?: number;
  /** ssh-keygen -V syntax; default '+1h'. */
  validity?: string;
  /** Non-critical extensions, e.g. { 'openpubkey-pkt': '…' }. */
  extensions?: Record<string, string>;
}

/** Signs `key` with `signer` (a CA, or the key itself for a self-signed cert); returns the -cert.pub path. */
export async function signCertificate(signer: KeyPair, key: KeyPair, o: CertOptions): Promise<string> {
  const args = ['-q', '-s', signer.path, '-I', o.keyId, '-n', o.principals.join(','), '-z', String(o.serial ?? 1), '-V', o.validity ?? '+1h'];
  for (const [name, value] of Object.entries(o.extensions ?? {})) args.push('-O', `extension:${name}=${value}`);
  await runOk(SSH_KEYGEN_BIN, [...args, key.publicKeyPath]);
  return `${key.path}-cert.pub`;
}

// ---------------------------------------------------------------- authorized_keys

/**
 * Writes an authorized_keys file root:root 0644. StrictModes accepts it when
 * its directory chain is root-owned and not group/world-writable (sshd allows
 * root or the user as owner), which a trustedTempDir guarantees; 0644 lets
 * sshd read it after it drops to the user's uid. Keeping the file out of the
 * user's home means StrictModes stays on and nothing is left in /home.
 */
export async function writeAuthorizedKeys(path: string, lines: readonly string[]): Promise<void> {
  for (const l of lines) if (/[\r\n]/.test(l)) throw new Error('authorized_keys line contains a newline');
  await writeFile(path, lines.map((l) => `${l}\n`).join(''), { mode: 0o644 });
  await chown(path, 0, 0);
  await chmod(path, 0o644);
}

// ---------------------------------------------------------------- ssh client

export interface SshOptions {
  port: number;
  user: string;
  /** Private key path. */
  key: string;
  /** Certificate to present with the key (-o CertificateFile=). */
  cert?: string;
  /** The remote command; omitted = an interactive session request (SSH_ORIGINAL_COMMAND unset). */
  command?: string;
  /**
   * true = -t (ignored by ssh when stdin is not a terminal, as in tests); 'force' = -tt.
   * Note: with -t/-tt a refused pty is FATAL for the client (exit 255, the
   * command's output is dropped); only an automatic request (see `terminal`) is not.
   */
  tty?: boolean | 'force';
  /**
   * Run the client on a real pseudo-terminal (util-linux `script`), as a
   * person at a terminal would: ssh then requests a pty by itself
   * (RequestTTY auto) for a session without a command, and carries on if it
   * is refused. The remote stdout and stderr both arrive in `stdout`, with
   * CRLF line ends.
   */
  terminal?: boolean;
  host?: string;
  /** Extra client arguments, inserted before the destination. */
  extraArgs?: readonly string[];
  /** Data for the remote stdin; default none (immediate EOF). */
  input?: string;
  /** Default 15 s. */
  timeoutMs?: number;
}

export interface SshResult {
  /** ssh's exit status: the remote command's status, or 255 for ssh's own errors. null if killed. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
}

/** The argv for the real ssh client (exported so a failing test can print a reproducible command). */
export function sshArgs(o: SshOptions): string[] {
  const args = [
    // -F /dev/null: ignore ~/.ssh/config and /etc/ssh/ssh_config (SendEnv, ControlMaster, … would change behaviour).
    '-F', '/dev/null',
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'LogLevel=ERROR',
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'IdentityAgent=none',
    '-o', 'ConnectTimeout=5',
    '-p', String(o.port),
    '-i', o.key,
  ];
  if (o.cert) args.push('-o', `CertificateFile=${o.cert}`);
  if (o.tty === 'force') args.push('-tt');
  else if (o.tty === true) args.push('-t');
  else if (!o.terminal) args.push('-T');
  args.push(...(o.extraArgs ?? []), `${o.user}@${o.host ?? '127.0.0.1'}`);
  // One argument: ssh would join several with spaces anyway, and the remote
  // side sees exactly this string as SSH_ORIGINAL_COMMAND.
  if (o.command !== undefined) args.push('--', o.command);
  return args;
}

const shellQuote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;

/** Runs the ssh client once and collects its output. Never rejects. */
export function ssh(o: SshOptions): Promise<SshResult> {
  const started = Date.now();
  const env = { ...process.env };
  delete env['SSH_AUTH_SOCK'];
  const args = sshArgs(o);
  // script -e: exit with the child's status; -q: no banner; the log goes to /dev/null.
  const [file, argv] = o.terminal ? ['/usr/bin/script', ['-qec', [SSH_BIN, ...args].map(shellQuote).join(' '), '/dev/null']] : [SSH_BIN, args];
  return new Promise((resolve) => {
    // stdin is a pipe closed at once (or after `input`): the remote side sees EOF, never the test runner's stdin.
    const child = spawn(file, argv, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.on('error', () => {}); // EPIPE if ssh exits before reading its input
    child.stdin.end(o.input ?? '');
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, o.timeoutMs ?? 15_000);
    child.on('error', (err) => (stderr += `\n[spawn error] ${err.message}`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, ms: Date.now() - started });
    });
  });
}

// ---------------------------------------------------------------- sshd

export interface SshdOptions {
  /**
   * authorized_keys content per user, kept in this server's own trusted
   * directory (see writeAuthorizedKeys). Giving this (even `{}`) sets
   * AuthorizedKeysFile to `<dir>/authorized_keys/%u` unless
   * `authorizedKeysFile` says otherwise; sshd.setAuthorizedKeys() then works.
   */
  authorizedKeys?: Record<string, readonly string[]>;
  /** AuthorizedKeysFile; default 'none' (or the managed directory, see above). */
  authorizedKeysFile?: string;
  /**
   * AuthorizedKeysCommand, e.g. `${bin} verify %u %k %t --config-dir ${dir}`.
   * Its program must sit in a root-owned, not group/world-writable chain
   * (use installBinary), never under /tmp; sshd runs it with an empty environment.
   */
  authorizedKeysCommand?: string;
  /** Default 'nobody'; use ensureAkcUser() and AKC_USER for a dedicated account. */
  authorizedKeysCommandUser?: string;
  /** Global ForceCommand (wins over a key's command=). */
  forceCommand?: string;
  /** Default true; the helpers keep every file in root-owned dirs, so it can stay on. */
  strictModes?: boolean;
  /** Extra global lines (they go before the Match blocks). */
  extraConfig?: readonly string[];
  /** `Match <criteria>` blocks, e.g. { criteria: 'User bob', lines: ['ForceCommand /x'] }. */
  match?: readonly { criteria: string; lines: readonly string[] }[];
  /** How long to wait for the port to accept connections; default 5 s. */
  startTimeoutMs?: number;
}

export interface Sshd {
  port: number;
  pid: number;
  /** The server's trusted temp dir (config, host key, pid file, managed authorized_keys). */
  dir: string;
  configPath: string;
  /** sshd's stderr/stdout so far (-e sends its log there). */
  log: () => string;
  /** Resolves once the log matches `re`; rejects after `timeoutMs` (default 3 s) with the log tail. */
  waitForLog: (re: RegExp, timeoutMs?: number) => Promise<string>;
  /** Replaces a user's managed authorized_keys (read per login, so no reload needed). */
  setAuthorizedKeys: (user: string, lines: readonly string[]) => Promise<void>;
  /** ssh() with this server's port filled in. */
  ssh: (o: Omit<SshOptions, 'port'>) => Promise<SshResult>;
  /** SIGTERM (then SIGKILL after 3 s), then removes `dir`. Safe to call twice; suitable for t.teardown. */
  stop: () => Promise<void>;
}

function configLine(key: string, value: string): string {
  if (/[\r\n]/.test(value)) throw new Error(`sshd_config ${key}: value contains a newline`);
  return `${key} ${value}`;
}

/** A port the kernel just handed out. Racy by nature; startSshd retries on EADDRINUSE. (The demo's, src/demo/loopback.ts.) */
export { freePort };


/** Every sshd still running, so a crashing test process does not leave listeners behind. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of running) c.kill('SIGKILL');
});

/**
 * Starts a private sshd (`sshd -D -e -f <cfg>`) on 127.0.0.1 and a free port,
 * with its own ed25519 host key, and waits until the port accepts connections.
 * Call `stop()` in t.teardown.
 */
export async function startSshd(opts: SshdOptions = {}): Promise<Sshd> {
  if (!isRoot()) throw new Error('startSshd needs root');
  // The privilege-separation directory; the Debian package creates it at boot via tmpfiles, containers often lack it.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  await chmod('/run/sshd', 0o755);

  const tmp = await trustedTempDir('sshd-');
  try {
    const dir = tmp.path;
    const hostKey = join(dir, 'ssh_host_ed25519_key');
    await runOk(SSH_KEYGEN_BIN, ['-q', '-t', 'ed25519', '-N', '', '-C', 'leash-test-host', '-f', hostKey]);

    const akDir = join(dir, 'authorized_keys');
    const managed = opts.authorizedKeys !== undefined;
    if (managed) {
      await mkdir(akDir, { mode: 0o755 });
      await chmod(akDir, 0o755);
      for (const [user, lines] of Object.entries(opts.authorizedKeys ?? {})) await writeAuthorizedKeys(join(akDir, user), lines);
    }
    const authorizedKeysFile = opts.authorizedKeysFile ?? (managed ? join(akDir, '%u') : 'none');

    const configPath = join(dir, 'sshd_config');
    const pidFile = join(dir, 'sshd.pid');
    const render = (port: number): string => {
      const lines = [
        configLine('Port', String(port)),
        'ListenAddress 127.0.0.1',
        configLine('HostKey', hostKey),
        configLine('PidFile', pidFile),
        // Key logins only, and no PAM: PAM would need a service file and
        // would bring the host's account/session stack into the test.
        'UsePAM no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PubkeyAuthentication yes',
        configLine('AuthorizedKeysFile', authorizedKeysFile),
        configLine('StrictModes', opts.strictModes === false ? 'no' : 'yes'),
        // Gives the session SSH_USER_AUTH (the key/cert that logged in).
        'ExposeAuthInfo yes',
        'LogLevel VERBOSE',
        // No agent/X11 noise; these tests are about commands.
        'X11Forwarding no',
        'PrintMotd no',
        'PrintLastLog no',
      ];
      if (opts.authorizedKeysCommand !== undefined) {
        lines.push(configLine('AuthorizedKeysCommand', opts.authorizedKeysCommand));
        lines.push(configLine('AuthorizedKeysCommandUser', opts.authorizedKeysCommandUser ?? 'nobody'));
      }
      if (opts.forceCommand !== undefined) lines.push(configLine('ForceCommand', opts.forceCommand));
      lines.push(...(opts.extraConfig ?? []));
      // Match blocks last: everything after a Match line belongs to it.
      for (const m of opts.match ?? []) {
        lines.push(configLine('Match', m.criteria));
        for (const l of m.lines) lines.push(`    ${l}`);
      }
      return lines.map((l) => `${l}\n`).join('');
    };

    let lastLog = '';
    for (let attempt = 0; attempt < 4; attempt++) {
      const port = await freePort();
      await writeFile(configPath, render(port), { mode: 0o644 });
      // sshd -t reports config mistakes with a clear message instead of a dead server.
      const check = await run(SSHD_BIN, ['-t', '-f', configPath]);
      if (check.code !== 0) throw new Error(`sshd -t rejected ${configPath}: ${check.stderr.trim()}\n${render(port)}`);

      // Empty environment like `env -i`: nothing from the test runner (NODE_OPTIONS,
      // NODE_EXTRA_CA_CERTS, …) may leak into the server or its sessions.
      const child = spawn(SSHD_BIN, ['-D', '-e', '-f', configPath], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: ['ignore', 'pipe', 'pipe'] });
      running.add(child);
      let log = '';
      let exited = false;
      const exitedP = new Promise<void>((resolve) => child.once('close', () => resolve()));
      child.once('close', () => {
        exited = true;
        running.delete(child);
      });
      child.stdout.setEncoding('utf8').on('data', (d: string) => (log += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (log += d));
      child.on('error', (err) => (log += `\n[spawn error] ${err.message}`));

      const deadline = Date.now() + (opts.startTimeoutMs ?? 5000);
      let up = false;
      while (!exited && Date.now() < deadline) {
        if (await canConnect(port)) {
          up = true;
          break;
        }
        await sleep(25);
      }
      if (!up || exited) {
        child.kill('SIGKILL');
        await exitedP;
        lastLog = log;
        if (/Address already in use/.test(log)) continue; // lost the port race; pick another
        throw new Error(`sshd did not start on port ${port}:\n${log}`);
      }

      let stopped: Promise<void> | undefined;
      const stop = (): Promise<void> =>
        (stopped ??= (async () => {
          if (!exited) {
            child.kill('SIGTERM');
            const t = setTimeout(() => child.kill('SIGKILL'), 3000);
            await exitedP;
            clearTimeout(t);
          }
          await tmp.cleanup();
        })());

      return {
        port,
        pid: child.pid ?? -1,
        dir,
        configPath,
        log: () => log,
        waitForLog: async (re, timeoutMs = 3000) => {
          const end = Date.now() + timeoutMs;
          for (;;) {
            const m = re.exec(log);
            if (m) return m[0];
            if (Date.now() > end) throw new Error(`sshd log never matched ${re}; log tail:\n${log.slice(-2000)}`);
            await sleep(20);
          }
        },
        setAuthorizedKeys: async (user, lines) => {
          if (!managed) throw new Error('setAuthorizedKeys: start sshd with the authorizedKeys option');
          if (!USER_NAME.test(user)) throw new Error(`setAuthorizedKeys: invalid user ${user}`);
          await writeAuthorizedKeys(join(akDir, user), lines);
        },
        ssh: (o) => ssh({ ...o, port }),
        stop,
      };
    }
    throw new Error(`sshd could not get a free port after 4 attempts:\n${lastLog}`);
  } catch (err) {
    await tmp.cleanup();
    throw err;
  }
}

/** Why an end-to-end test through real sshd cannot run here ('' when it can). */
export function e2eSkipReason(leash: string): string {
  if (!existsSync(leash)) return 'dist/leash is missing: run `npm run build` first';
  if (!isRoot()) return 'needs root (sshd must switch users)';
  if (!existsSync(SSHD_BIN)) return 'needs openssh-server';
  return '';
}

/**
 * Runs an end-to-end test's one set-up, or plans nothing when `skip` says
 * why it cannot run. A failing set-up is one clear failure, not a cascade.
 */
export async function setUpOrSkip<T>(t: Tap, skip: string, setUp: (t: Tap) => Promise<T>): Promise<T | undefined> {
  if (skip) {
    t.plan(0, skip);
    return undefined;
  }
  try {
    return await setUp(t);
  } catch (err) {
    t.fail(`set-up failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    return undefined;
  }
}
