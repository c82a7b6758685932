/**
 * `dist/leash demo` as a process, for the end-to-end tests of the demo: its
 * output as it comes, a wait for a line, and what the demo left on the host
 * (its directory, its accounts, its processes), judged from the host itself
 * rather than from what the demo says about itself.
 *
 * Through `env -i` (as leash-process.ts): tap adds NODE_OPTIONS to every
 * child's environment, and the demo passes nothing of it on anyway.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';

export interface DemoRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit status (or the signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** Resolves with the first match of `re` in stdout; rejects after `timeoutMs` or when the demo exits first. */
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  /**
   * For t.teardown: SIGTERM if it still runs, so that it cleans up after itself
   * (SIGKILL would leave everything behind), and SIGKILL only after 60 s.
   */
  stop: () => Promise<void>;
}

/**
 * `privateRun`: in a mount namespace of its own with an empty tmpfs on /run
 * (so /run/sshd is missing, as on a host whose sshd never ran), the rest of
 * the filesystem shared; after the demo, stderr says whether /run/sshd is
 * there ("/run/sshd: present" or "/run/sshd: absent").
 */
export function startDemo(bin: string, args: readonly string[] = [], o: { uid?: number; gid?: number; privateRun?: boolean } = {}): DemoRun {
  const demo = ['/usr/bin/env', '-i', 'PATH=/usr/sbin:/usr/bin:/sbin:/bin', bin, 'demo', ...args];
  const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
  const [file, ...argv] = o.privateRun
    ? ['/usr/bin/unshare', '--mount', '--propagation', 'private', '/bin/sh', '-c', `mount -t tmpfs tmpfs /run || exit 99; ${demo.map(quote).join(' ')}; s=$?; if [ -d /run/sshd ]; then echo '/run/sshd: present' >&2; else echo '/run/sshd: absent' >&2; fi; exit $s`]
    : demo;
  const child = spawn(file!, argv, { cwd: '/', stdio: ['ignore', 'pipe', 'pipe'], ...(o.uid === undefined ? {} : { uid: o.uid, gid: o.gid ?? o.uid }) });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  let done = false;
  const exited = new Promise<number | string>((resolve) => child.once('close', (code, signal) => resolve(code ?? signal ?? 'unknown'))).finally(() => (done = true));
  const waitFor = async (re: RegExp, timeoutMs = 90_000): Promise<RegExpMatchArray> => {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(out);
      if (m) return m;
      if (done) throw new Error(`the demo exited before printing ${re}:\n${out.slice(-3000)}\n${err.slice(-2000)}`);
      if (Date.now() > end) throw new Error(`the demo did not print ${re} in ${timeoutMs} ms:\n${out.slice(-3000)}\n${err.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async (): Promise<void> => {
    if (done) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
  };
  return { child, stdout: () => out, stderr: () => err, exited, waitFor, stop };
}

/** The demo's id, from its first lines: /var/lib/leash-demo-<id>. */
export const DEMO_DIR = /Everything is in (\/var\/lib\/leash-demo-([0-9a-f]{6}))/;

export interface DemoTraces {
  dirExists: boolean;
  /** Lines of /etc/passwd, group, shadow and gshadow naming the demo's accounts. */
  accounts: string[];
  /** "pid command line" of every process naming the directory or running as one of `uids`. */
  processes: string[];
}

function lines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n');
  } catch {
    return [];
  }
}

/** What of demo `id` (directory `dir`, accounts `uids`) is still on this host. */
export function demoTraces(dir: string, id: string, uids: readonly number[]): DemoTraces {
  const accounts = ['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/gshadow'].flatMap((f) => lines(f).filter((l) => l.startsWith(`leash-demo-${id}`)).map((l) => `${f}: ${l.split(':')[0]}`));
  const processes: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      if (/^State:\s+[ZX]/m.test(status)) continue; // exited, waiting to be reaped
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'latin1').replace(/\0/g, ' ').trim();
      if (uids.includes(uid) || cmdline.includes(dir)) processes.push(`${name} ${cmdline}`);
    } catch {
      /* gone while reading */
    }
  }
  return { dirExists: existsSync(dir), accounts, processes };
}

/** The uids the demo printed: its session user's (`id`) and its verifier's (`leash verify --explain`). */
export function demoUids(stdout: string): number[] {
  const agent = /uid=(\d+)\(leash-demo-[0-9a-f]{6}\)/.exec(stdout)?.[1];
  const verifier = /judging as: leash-demo-[0-9a-f]{6}-v \(uid (\d+)\)/.exec(stdout)?.[1];
  return [agent, verifier].filter((u): u is string => u !== undefined).map(Number);
}

/** The uids of demo `id`'s accounts, read from /etc/passwd while they exist. */
export function accountUids(id: string): number[] {
  return lines('/etc/passwd')
    .map((l) => l.split(':'))
    .filter((f) => f[0] === `leash-demo-${id}` || f[0] === `leash-demo-${id}-v`)
    .map((f) => Number(f[2]));
}

/** Every entry under `dir` (default /etc/ssh) with its owner, mode and content hash, or 'absent'. */
export function treeSnapshot(dir: string): string {
  if (!existsSync(dir)) return 'absent';
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d).sort()) {
      const p = `${d}/${name}`;
      const st = lstatSync(p);
      out.push(`${p} ${st.uid}:${st.gid} ${(st.mode & 0o7777).toString(8)} ${st.isFile() ? createHash('sha256').update(readFileSync(p)).digest('hex') : st.isDirectory() ? 'dir' : 'other'}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.join('\n');
}
