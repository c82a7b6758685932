/**
 * Every option of the shipped profiles, checked against the real program's
 * own parsing: what the profile says an option takes (nothing, a required
 * value, an optional attached value) must be what the program's getopt does,
 * or a value leash checked would reach the program as an operand (`date
 * --iso-8601 seconds` once made date try to set the clock to "seconds").
 *
 * The programs run as an unprivileged system user, never as root, with no
 * operands at all, stdin closed and an empty working directory: a probe only
 * ever passes one option (bare, or with the value "@").
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandSpec, OptionSpec, Profile, TopCommandSpec } from '../../src/policy/types.js';
import { shippedProfile } from '../helpers/profiles.js';
import { ensureUser } from '../helpers/sshd.js';
import { isRoot } from '../helpers/tmp.js';

if (!isRoot()) {
  t.plan(0, 'probing runs the programs as a dedicated unprivileged user: run as root');
  process.exit(0);
}

/** Programs with their own option parser, not getopt; covered by hand below or in decide.test.ts. */
const NOT_GETOPT: Record<string, string> = {
  ps: 'procps ps parses UNIX, BSD and GNU styles itself',
  top: 'procps top parses its options itself (-w takes the next word if there is one: tested below)',
  kill: 'util-linux kill parses -s SIGNAL itself',
  ip: "iproute2 reads whole-word options (option_style: words): tested below",
};

const user = await ensureUser('leash-probe', { system: true });
const cwd = mkdtempSync(join(tmpdir(), 'leash-probe-'));
chmodSync(cwd, 0o755);
t.teardown(() => rmSync(cwd, { recursive: true, force: true }));

interface Probe {
  code: number | null;
  out: string;
  err: string;
}

function probe(binary: string, argv0: string, args: string[]): Promise<Probe> {
  return new Promise((resolve) => {
    const child = spawn(binary, args, {
      argv0,
      cwd,
      uid: user.uid,
      gid: user.gid,
      env: { LANG: 'C', LC_ALL: 'C', PATH: '/usr/bin:/bin', SYSTEMD_PAGER: 'cat', PAGER: 'cat' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 3000,
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out = (out + d).slice(0, 1 << 20)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(0, 1 << 20)));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

type Arity = 'flag' | 'required' | 'optional' | 'missing' | 'ambiguous';

/** How the program's getopt reads `name`, from getopt's own messages (glibc, LANG=C). */
async function arity(binary: string, argv0: string, name: string): Promise<Arity> {
  const bare = await probe(binary, argv0, [name]);
  const long = name.startsWith('--');
  if (long ? /unrecognized option/.test(bare.err) : new RegExp(`invalid option -- '${name[1]}'`).test(bare.err)) return 'missing';
  if (/is ambiguous/.test(bare.err)) return 'ambiguous';
  if (/requires an argument/.test(bare.err)) return 'required';
  const withValue = await probe(binary, argv0, [long ? `${name}=@` : `${name}@`]);
  if (long ? /doesn't allow an argument/.test(withValue.err) : /invalid option -- '@'/.test(withValue.err)) return 'flag';
  // Some flags act at once (uptime -s prints and exits, systemctl -r refuses a
  // non-root caller) before getopt reaches the rest of the cluster: then "-x@"
  // behaves exactly as "-x", and the @ was never read as a value.
  if (!long && withValue.code === bare.code && withValue.err === bare.err) return 'flag';
  return 'optional';
}

function declared(opt: OptionSpec): Arity {
  if (opt.value === null) return 'flag';
  return opt.valueOptional ? 'optional' : 'required';
}

/** Every distinct option spelling of a command, from every subcommand level. */
function spellings(spec: CommandSpec, out = new Map<string, OptionSpec>()): Map<string, OptionSpec> {
  for (const [name, opt] of spec.options) out.set(name, opt);
  for (const sub of new Set(spec.subcommands?.values() ?? [])) spellings(sub, out);
  return out;
}

async function pool<T>(items: T[], size: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: size }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await work(item);
  }));
}

const profiles: Profile[] = [shippedProfile('diagnostic'), shippedProfile('remediation')];
const commands = new Map<string, TopCommandSpec>();
for (const p of profiles) for (const [name, spec] of p.commands) commands.set(`${p.name}:${name}`, spec);

t.test('every getopt option of the shipped profiles takes what the real program takes', async (t) => {
  const jobs: Array<{ where: string; spec: TopCommandSpec; name: string; opt: OptionSpec }> = [];
  const absent: string[] = [];
  for (const [where, spec] of commands) {
    const cmd = where.split(':')[1]!;
    if (cmd in NOT_GETOPT) continue;
    if (!existsSync(spec.binary)) {
      absent.push(`${cmd} (${spec.binary})`);
      continue;
    }
    for (const [name, opt] of spellings(spec)) jobs.push({ where, spec, name, opt });
  }
  if (absent.length > 0) t.comment(`not installed here, so not probed: ${[...new Set(absent)].join(', ')}`);
  const wrong: string[] = [];
  await pool(jobs, 8, async ({ where, spec, name, opt }) => {
    const real = await arity(spec.binary, spec.name, name);
    if (real !== declared(opt)) wrong.push(`${where} ${name}: the profile says ${declared(opt)}, ${spec.name} reads it as ${real}`);
  });
  t.ok(jobs.length > 200, `${jobs.length} option spellings probed`);
  t.same(wrong.sort(), []);
});

t.test("ip: each option word is a real flag that consumes nothing, each object alias is the object", async (t) => {
  const ip = commands.get('diagnostic:ip')!;
  // `ip WORD -V` prints the version only if WORD is an option that takes no argument
  // (-b would be -batch and read "-V" as its file; -n would be -netns).
  for (const name of ip.options.keys()) {
    const r = await probe(ip.binary, 'ip', [name, '-V']);
    t.ok(r.code === 0 && /ip utility/.test(r.out), `ip ${name} is a flag (${r.err.trim()})`);
  }
  for (const bad of ['-b', '-n', '-batch', '-netns', '-rcvbuf']) {
    const r = await probe(ip.binary, 'ip', [bad, '-V']);
    t.notOk(r.code === 0 && /ip utility/.test(r.out), `ip ${bad} takes an argument (a file, a namespace), so the probe itself can fail`);
  }
  for (const bad of ['-b', '-n', '-batch', '-netns', '-force', '-c', '-color']) t.notOk(ip.options.has(bad), `${bad} is not in the profile`);
  // Every spelling of an object names the same object: its default (show) prints the same.
  for (const sub of new Set(ip.subcommands!.values())) {
    const outputs = await Promise.all(sub.names.map(async (n) => (await probe(ip.binary, 'ip', ['-j', n])).out));
    t.ok(outputs.every((o) => o === outputs[0] && o.startsWith('[')), `ip ${sub.names.join(' = ')}`);
  }
});

t.test('top: -w takes the next word only when one follows, so a bare -w is a flag', async (t) => {
  const top = commands.get('diagnostic:top')!;
  const bare = await probe(top.binary, 'top', ['-b', '-n', '1', '-w']);
  t.equal(bare.code, 0, bare.err);
  const width = await probe(top.binary, 'top', ['-b', '-n', '1', '-w', '100']);
  t.equal(width.code, 0, width.err);
  t.ok(width.out.split('\n').every((l) => l.length <= 100), 'the next word is the width');
  const notNumber = await probe(top.binary, 'top', ['-b', '-n', '1', '-w', 'x']);
  t.not(notNumber.code, 0, 'a word after -w is always read as its value (leash then sees an operand, which top has none of: refused)');
});
