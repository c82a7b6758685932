/**
 * A configuration directory for running the built `leash shell` as its own
 * process, as sshd would (but without sshd): a root-owned directory that
 * leash trusts, a leash.yaml naming an audit log inside it, one profile, and
 * test programs in <dir>/bin (root-owned shell scripts, pinnable like any
 * binary). Needs root.
 */
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { trustedTempDir } from './tmp.js';

export const LEASH = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'leash');

export interface ShellFixture {
  dir: string;
  audit: string;
  /** The audit log's events so far. */
  events: () => Array<Record<string, unknown>>;
  /** Starts `leash shell --profile <profile>` with SSH_ORIGINAL_COMMAND=command and only the given extra environment. */
  start: (command: string, o?: { env?: Record<string, string>; stdio?: StdioOptions; profile?: string; args?: string[] }) => ChildProcess;
  /** start(), collecting its output, resolved when it exits. */
  run: (command: string, o?: { env?: Record<string, string>; profile?: string; args?: string[]; stdio?: StdioOptions }) => Promise<ShellRun>;
  cleanup: () => Promise<void>;
}

export interface ShellRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * `profiles`: name → YAML text, in which `@BIN@` stands for <dir>/bin and
 * `@DIR@` for <dir>. `programs`: name → script text (the same placeholders),
 * written as <dir>/bin/<name>, root-owned 0755.
 */
export async function shellFixture(prefix: string, profiles: Record<string, string>, programs: Record<string, string> = {}): Promise<ShellFixture> {
  const tmp = await trustedTempDir(prefix);
  const dir = tmp.path;
  const fill = (text: string): string => text.replaceAll('@BIN@', join(dir, 'bin')).replaceAll('@DIR@', dir);
  const audit = join(dir, 'audit.jsonl');
  mkdirSync(join(dir, 'policies'), { mode: 0o755 });
  mkdirSync(join(dir, 'bin'), { mode: 0o755 });
  writeFileSync(join(dir, 'leash.yaml'), `audit_log: ${audit}\n`, { mode: 0o644 });
  for (const [name, text] of Object.entries(profiles)) writeFileSync(join(dir, 'policies', `${name}.yaml`), fill(text), { mode: 0o644 });
  for (const [name, text] of Object.entries(programs)) writeFileSync(join(dir, 'bin', name), fill(text), { mode: 0o755 });
  const first = Object.keys(profiles)[0] as string;

  // Through `env -i`: the test runner adds its own NODE_OPTIONS to every process
  // it spawns, and leash must see exactly the environment the test means.
  const start: ShellFixture['start'] = (command, o = {}) =>
    spawn(
      '/usr/bin/env',
      ['-i', ...Object.entries({ SSH_ORIGINAL_COMMAND: command, ...o.env }).map(([k, v]) => `${k}=${v}`), LEASH, 'shell', '--config-dir', dir, '--profile', o.profile ?? first, ...(o.args ?? [])],
      { cwd: '/', stdio: o.stdio ?? ['ignore', 'pipe', 'pipe'] },
    );
  const run: ShellFixture['run'] = (command, o = {}) =>
    new Promise((done) => {
      const child = start(command, o);
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
    });
  const events = (): Array<Record<string, unknown>> =>
    existsSync(audit)
      ? readFileSync(audit, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as Record<string, unknown>)
      : [];
  return { dir, audit, events, start, run, cleanup: tmp.cleanup };
}
