/**
 * Where a test that installs system packages does it: this host itself (CI:
 * a throwaway machine, LEASH_SYSTEM_TESTS=1), or a copy of a Debian root
 * file system prepared beforehand (LEASH_PACKAGE_TEST_ROOT=DIR, e.g. made
 * with `debootstrap --include=openssh-server,man-db,bash-completion
 * bookworm DIR`), entered with chroot: the copy is thrown away afterwards
 * and the host's /etc, /var and sshd are never touched. Each command runs
 * in a mount namespace of its own with /proc and /dev mounted in the copy;
 * processes are the host's (no pid namespace), so sshd's pid file inside
 * the copy names a process a command inside it can signal.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface TargetRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Target {
  /** For test names: "this host" or "a copy of DIR". */
  what: string;
  /** The host path of a path on the target. */
  path: (p: string) => string;
  /** Runs a program on the target (no shell), as root, with a plain environment plus `env`. */
  run: (argv: readonly string[], o?: { env?: Record<string, string>; timeoutMs?: number }) => Promise<TargetRun>;
  /** Starts a long-running program on the target; stop it with kill(). */
  start: (argv: readonly string[]) => ChildProcess;
  /** Removes what the target needs removed (the copy); safe to call twice. */
  dispose: () => Promise<void>;
}

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function execute(file: string, args: readonly string[], env: Record<string, string>, timeoutMs: number): Promise<TargetRun> {
  return new Promise((res) =>
    execFile(file, args, { encoding: 'utf8', env, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      res({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr }),
    ),
  );
}

/** This host. */
export function hostTarget(): Target {
  return {
    what: 'this host',
    path: (p) => p,
    run: (argv, o = {}) => execute(argv[0] as string, argv.slice(1), { PATH, LC_ALL: 'C.UTF-8', ...o.env }, o.timeoutMs ?? 120_000),
    start: (argv) => spawn(argv[0] as string, argv.slice(1), { env: { PATH }, stdio: ['ignore', 'pipe', 'pipe'] }),
    dispose: async () => {},
  };
}

/** A throwaway copy of the Debian root at `source`, under /var/tmp (not /tmp: the copy's /tmp must be its own). */
export async function chrootTarget(source: string): Promise<Target> {
  if (!existsSync(join(source, 'usr/bin/dpkg'))) throw new Error(`${source} is not a Debian root file system (no usr/bin/dpkg)`);
  const work = await mkdtemp('/var/tmp/leash-target-');
  const root = join(work, 'root');
  // cp -a: device nodes, hard links and modes as they are.
  const copied = await execute('/bin/cp', ['-a', source, root], { PATH }, 300_000);
  if (copied.code !== 0) throw new Error(`cp -a ${source}: ${copied.stderr}`);
  await mkdir(join(root, 'run/sshd'), { recursive: true, mode: 0o755 });
  // In a private mount namespace: /proc and /dev inside the copy, then chroot; `exec` keeps the pid.
  const enter = (argv: readonly string[], env: Record<string, string>): string[] => [
    '--mount',
    '--propagation',
    'private',
    '/bin/sh',
    '-c',
    'r=$1; shift; mount -t proc proc "$r/proc" && mount --rbind /dev "$r/dev" && exec chroot "$r" "$@"',
    'sh',
    root,
    '/usr/bin/env',
    '-i',
    ...Object.entries({ PATH, LC_ALL: 'C.UTF-8', HOME: '/root', ...env }).map(([k, v]) => `${k}=${v}`),
    ...argv,
  ];
  let disposed: Promise<void> | undefined;
  return {
    what: `a copy of ${source}`,
    path: (p) => join(root, p),
    run: (argv, o = {}) => execute('/usr/bin/unshare', enter(argv, o.env ?? {}), { PATH }, o.timeoutMs ?? 120_000),
    start: (argv) => spawn('/usr/bin/unshare', enter(argv, {}), { env: { PATH }, stdio: ['ignore', 'pipe', 'pipe'] }),
    // The copy's own files may be append-only (the audit logs): lift that first, inside the copy.
    dispose: () =>
      (disposed ??= (async () => {
        await execute('/usr/bin/chattr', ['-R', '-a', join(root, 'var/log')], { PATH }, 60_000);
        await rm(work, { recursive: true, force: true });
      })()),
  };
}
