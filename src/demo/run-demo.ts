/**
 * `leash demo`: the whole product on loopback, step by step, through the
 * real ssh client against a throwaway sshd (demo-host.ts sets the stage).
 * Each step prints one line saying what it shows, then the evidence, and
 * checks it: a step that does not show what it says fails the demo
 * (DEMO_FAILED). Whatever ends the demo — the last step, a failure, ^C —
 * everything it made is removed again (teardown.ts), unless `keep` asked
 * to leave it running until ^C.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants as osConstants } from 'node:os';
import { LeashError, asLeashError } from '../errors.js';
import { formatEvent, parseAuditLine, type AuditRecord } from '../session/watch-format.js';
import { ACCOUNT_TOOLS } from './accounts.js';
import { CA_AGENT, DEMO_USERS, setUpHost, type DemoHost } from './demo-host.js';
import { DEMO_COMMANDS, DEMO_PROFILE } from './demo-files.js';
import { demoProcesses } from './leftovers.js';
import { mintLogin, type MintedLogin } from './opkssh-login.js';
import { interrupted, runOk, runProgram, waitFor, within, type Background, type RunResult } from './processes.js';
import { providerLogin } from './provider-login.js';
import { Report, quoted, seconds } from './report.js';
import { SSH, type Master } from './ssh-client.js';
import { Teardown } from './teardown.js';
import { SSHD, SSH_KEYGEN } from './throwaway-sshd.js';

export interface DemoOptions {
  /** This executable (sshd runs it as `leash verify` and `leash shell`). */
  self: string;
  /** This process, which the final check must not count as a leftover. */
  selfPid: number;
  /** Leave everything running until `signal` aborts. */
  keep: boolean;
  write: (text: string) => void;
  colour: boolean;
  /** Aborted by ^C (or another stop signal): the demo stops and removes everything. */
  signal: AbortSignal;
}

/** What the demo needs on the host, and the Debian package each comes in. */
const PROGRAMS: readonly [string, string][] = [
  [SSHD, 'openssh-server'],
  [SSH, 'openssh-client'],
  [SSH_KEYGEN, 'openssh-client'],
  ...ACCOUNT_TOOLS.map((p): [string, string] => [p, 'passwd']),
];

/**
 * Why the demo cannot run here, or null: it must be root (it makes accounts
 * and starts sshd), the built executable (sshd runs it), and find its programs.
 */
export function whyUnavailable(host: { root: boolean; builtExecutable: boolean; exists: (path: string) => boolean }): LeashError | null {
  if (!host.root) return new LeashError('DEMO_UNAVAILABLE', 'leash demo must run as root: it creates three local accounts and starts a throwaway sshd (all removed again afterwards)');
  if (!host.builtExecutable) return new LeashError('DEMO_UNAVAILABLE', 'leash demo runs from the built executable (npm run build, then dist/leash demo): sshd must be able to run it');
  const missing = PROGRAMS.filter(([p]) => !host.exists(p));
  if (missing.length > 0) return new LeashError('DEMO_UNAVAILABLE', `leash demo needs ${missing.map(([p]) => p).join(', ')} (Debian: apt-get install ${[...new Set(missing.map(([, pkg]) => pkg))].join(' ')})`);
  return null;
}

/** Everything the steps share: the stage, the output, and what earlier steps made. */
interface Demo {
  host: DemoHost;
  out: Report;
  /** Whether the output is a terminal (colour in `leash watch` lines, as leash watch does). */
  colour: boolean;
  logins: Map<string, MintedLogin>;
  masters: Map<string, Master>;
  /** alice's command in flight over her ControlMaster (the sessions step starts it, the revoke step ends it). */
  sleeping: Background | null;
  tally: { allowed: number; denied: number; refused: number };
}

const STEPS: readonly { title: string; run: (d: Demo) => Promise<void> }[] = [
  { title: 'A real OpenID login (authorization code + PKCE): alice, bob and mallory each get an OPKSSH certificate', run: logIn },
  { title: 'sshd asks `leash verify` about alice\'s certificate: accepted, pinned to the profile, and her commands run', run: allowedCommands },
  { title: 'Denied commands: nothing runs, the client gets the reason, exit 126', run: deniedCommands },
  { title: 'A pipeline: every stage decided on its own, joined by leash without a shell', run: pipeline },
  { title: 'An identity without a grant: mallory\'s certificate is genuine, and sshd refuses her', run: noGrant },
  { title: 'The audit log: one JSON line per decision (shown as `leash watch` shows them)', run: auditLog },
  { title: '`leash sessions`: who is connected, and what runs right now', run: sessions },
  { title: '`leash revoke --identity alice@example.com`: her live ControlMaster connection is cut; bob, on the same local user, works on', run: revoke },
  { title: 'CA mode: `leash grant` signs an agent\'s own key for 10 minutes; sshd checks it itself, and `leash revoke` puts it in the KRL', run: caMode },
];

export async function runDemo(o: DemoOptions): Promise<void> {
  const started = Date.now();
  const out = new Report(o.write, o.colour, STEPS.length);
  const teardown = new Teardown();
  let root = '';
  let failure: unknown = null;
  try {
    out.line('leash demo: the whole product on loopback — a throwaway sshd, a local OpenID provider, the real ssh client.');
    out.line('The host\'s sshd, /etc/ssh and /etc/leash are not touched.');
    const host = await setUpHost(o.self, o.selfPid, teardown, o.signal);
    root = host.paths.root;
    introduce(host, out, o.keep);
    const demo: Demo = { host, out, colour: o.colour, logins: new Map(), masters: new Map(), sleeping: null, tally: { allowed: 0, denied: 0, refused: 0 } };
    for (const [i, step] of STEPS.entries()) {
      out.step(step.title);
      try {
        await step.run(demo);
      } catch (err) {
        if (o.signal.aborted) throw interrupted(o.signal);
        const e = asLeashError(err, 'DEMO_FAILED');
        throw new LeashError(e.code, `step ${i + 1} (${step.title}): ${e.message}`);
      }
    }
    const t = demo.tally;
    out.line();
    out.line(`Done in ${seconds(Date.now() - started)}: ${t.allowed} commands ran, ${t.denied} were denied, ${t.refused} logins were refused by sshd.`);
    if (o.keep) {
      keepRunning(host, out);
      await new Promise<void>((resolve) => (o.signal.aborted ? resolve() : o.signal.addEventListener('abort', () => resolve(), { once: true })));
    }
  } catch (err) {
    failure = err;
  } finally {
    const failed = await teardown.close();
    const left = root === '' ? [] : demoProcesses({ uids: [], dir: root, roots: [], self: o.selfPid });
    if (failed.length > 0 || left.length > 0) {
      out.line(`leash demo: the clean-up did not finish: ${[...failed, ...left.map((p) => `process ${p.pid} (${p.comm}) still runs`)].join('; ')}`);
      failure ??= new LeashError('DEMO_FAILED', 'the clean-up did not finish');
    } else if (root !== '') {
      out.line(`Stopped everything the demo started and removed what it made (${root}, its accounts).`);
    }
  }
  if (failure !== null) throw failure;
}

/** The exit status after a stop signal: 128 + its number, as for `leash shell`. */
export function signalStatus(signal: AbortSignal): number {
  const n = (osConstants.signals as Record<string, number>)[String(signal.reason)];
  return 128 + (n ?? 2);
}

function introduce(h: DemoHost, out: Report, keep: boolean): void {
  const a = h.accounts;
  out.line(`Everything is in ${h.paths.root}${keep ? ' (kept running until ^C: --keep)' : ' and is removed at the end'}:`);
  out.line(`  accounts  ${a.agent.name} (the session user), ${a.verifier.name} (runs leash verify), group ${a.group.name} (may append to the audit log)`);
  out.line(`  provider  ${h.provider.issuer} (OpenID discovery, keys, authorization code + PKCE)`);
  out.line(`  sshd      127.0.0.1:${h.sshd.port}: AuthorizedKeysCommand leash verify; TrustedUserCAKeys and RevokedKeys for CA mode`);
  out.line(`  "ssh"     below is: ssh -F ${h.paths.sshConfig}`);
  out.line(`  "leash"   below is: ${h.leash} --config-dir ${h.paths.configDir}`);
  out.line(`  $DEMO     is ${h.paths.root}`);
}

// ------------------------------------------------------------- helpers

/** `ssh ALIAS 'COMMAND'`, shown and checked: its output, and that it ended with `expect`. */
async function ssh(d: Demo, alias: string, command: string, expect: number, via?: Master): Promise<RunResult> {
  d.out.command(`ssh ${via ? `-S ${short(d, via.socket)} ` : ''}${alias} ${quoted(command)}`);
  const r = await (via ? via.run(command) : d.host.ssh.run(alias, command));
  d.out.output(r.stdout, 8);
  d.out.output(r.stderr, 4);
  d.out.note(`exit ${r.code ?? r.signal}`);
  if (r.code !== expect) {
    // The client's own failures (exit 255) are explained by sshd's side.
    const sshdSays = r.code === 255 ? `; sshd's log ends: ${d.host.sshd.log().trimEnd().split('\n').slice(-4).join(' | ')}` : '';
    throw new LeashError('DEMO_FAILED', `ssh ${alias} ${command}: exit ${r.code ?? r.signal}, expected ${expect}: ${r.stderr.trim().slice(0, 300)}${sshdSays}`);
  }
  if (expect === 0) d.tally.allowed++;
  else if (expect === 126) d.tally.denied++;
  else d.tally.refused++;
  return r;
}

/** `leash ARGS` as the operator (root), shown (its output through `shown`); it must exit 0. */
async function leash(d: Demo, args: readonly string[], maxLines = 12, shown: (stdout: string) => string = (s) => s): Promise<RunResult> {
  // Paths in the demo's directory as $DEMO/…, unquoted: with DEMO set, the line runs as shown.
  d.out.command(`leash ${args.map((a) => (short(d, a) !== a ? short(d, a) : quoted(a))).join(' ')}`);
  const r = await d.host.operator(args);
  d.out.output(shown(r.stdout), maxLines);
  d.out.output(r.stderr, 4);
  if (r.code !== 0) throw new LeashError('DEMO_FAILED', `leash ${args.join(' ')}: exit ${r.code ?? r.signal}: ${r.stderr.trim().slice(0, 300)}`);
  return r;
}

/** The lines of `text` that match `keep`. */
function linesMatching(text: string, keep: RegExp): string {
  return text.split('\n').filter((l) => keep.test(l)).join('\n');
}

function auditEvents(d: Demo): AuditRecord[] {
  return readFileSync(d.host.paths.auditLog, 'utf8')
    .split('\n')
    .map(parseAuditLine)
    .filter((e): e is AuditRecord => e !== null);
}

/** A path as the steps show it: relative to the demo's directory. */
function short(d: Demo, path: string): string {
  return path.startsWith(`${d.host.paths.root}/`) ? `$DEMO/${path.slice(d.host.paths.root.length + 1)}` : path;
}

// --------------------------------------------------------------- steps

async function logIn(d: Demo): Promise<void> {
  const { provider, paths } = d.host;
  const before = provider.keyRequests();
  for (const u of DEMO_USERS) {
    const m = await mintLogin({ login: (user, nonce) => providerLogin(provider, user, nonce) }, u.name, { dir: paths.clientDir, name: u.name });
    d.logins.set(u.name, m);
    d.out.note(`${u.email}: ID token from ${provider.issuer}, its nonce the commitment to a new ${m.keyType.split('-cert')[0]} key; certificate ${short(d, m.certPath)}`);
  }
  if (provider.keyRequests() <= before) throw new LeashError('DEMO_FAILED', 'the logins did not go through the provider');
  const alice = d.logins.get('alice')!;
  d.out.command(`ssh-keygen -L -f ${short(d, alice.certPath)}`);
  const listing = await runOk(SSH_KEYGEN, ['-L', '-f', alice.certPath], { signal: d.host.signal });
  // The extension's value is the whole PK Token (hex): its size says enough.
  const pkt = /^(\s*)openpubkey-pkt UNKNOWN OPTION: [0-9a-f]{8}([0-9a-f]*)(?: \(len \d+\))?$/m;
  d.out.output(linesMatching(listing.stdout, /Type:|Key ID:|Signing CA:|Valid:|Principals:|opkssh-wildcard|Extensions:|openpubkey-pkt/).replace(pkt, (_, indent: string, hex: string) => `${indent}openpubkey-pkt (the PK Token: ${hex.length / 2} bytes)`));
  if (!listing.stdout.includes(`Key ID: "${alice.email}"`) || !listing.stdout.includes('openpubkey-pkt')) throw new LeashError('DEMO_FAILED', 'the certificate does not carry the PK Token');
  d.out.note('self-signed by the client key; the PK Token in the openpubkey-pkt extension is what leash verify checks');
}

async function allowedCommands(d: Demo): Promise<void> {
  const { accounts, paths } = d.host;
  const alice = d.logins.get('alice')!;
  d.out.command(`leash verify --explain --user ${accounts.agent.name} --cert ${short(d, alice.certPath)}`);
  const explain = await d.host.operator(['verify', '--explain', '--user', accounts.agent.name, '--cert', alice.certPath]);
  d.out.output(explain.stdout, 30, 1200);
  d.out.output(explain.stderr, 4);
  if (explain.code !== 0) throw new LeashError('DEMO_FAILED', `leash verify --explain: exit ${explain.code}: ${explain.stderr.trim()}`);
  for (const command of DEMO_COMMANDS.allowed) await ssh(d, 'alice', command, 0);
  const accepted = auditEvents(d).filter((e) => e['event'] === 'verify.accepted' && e['identity'] === alice.email);
  if (accepted.length === 0) throw new LeashError('DEMO_FAILED', `no verify.accepted event for ${alice.email} in ${paths.auditLog}`);
  d.out.note(`each login: sshd ran leash verify as ${accounts.verifier.name}, and leash shell --profile ${DEMO_PROFILE} as ${accounts.agent.name}, with no shell and a fixed environment`);
}

async function deniedCommands(d: Demo): Promise<void> {
  for (const [command, reason] of DEMO_COMMANDS.denied) {
    const r = await ssh(d, 'alice', command, 126);
    if (!r.stderr.includes(reason)) throw new LeashError('DEMO_FAILED', `${command}: the client was not told ${reason}: ${r.stderr.trim()}`);
  }
}

async function pipeline(d: Demo): Promise<void> {
  for (const command of DEMO_COMMANDS.pipelines) await ssh(d, 'alice', command, 0);
  const [command, reason] = DEMO_COMMANDS.deniedPipeline;
  const r = await ssh(d, 'alice', command, 126);
  if (!r.stderr.includes(reason)) throw new LeashError('DEMO_FAILED', `${command}: the client was not told ${reason}: ${r.stderr.trim()}`);
}

async function noGrant(d: Demo): Promise<void> {
  const r = await ssh(d, 'mallory', 'uptime', 255);
  if (!/Permission denied/.test(r.stderr)) throw new LeashError('DEMO_FAILED', `mallory's login was not refused by sshd: ${r.stderr.trim()}`);
  const refused = auditEvents(d).find((e) => e['event'] === 'verify.refused' && e['email'] === 'mallory@example.com' && e['reason'] === 'NO_GRANT');
  if (refused === undefined) throw new LeashError('DEMO_FAILED', 'no verify.refused NO_GRANT event for mallory in the audit log');
  d.out.note('the audit log says why (leash verify printed nothing, so sshd had no key to accept):');
  d.out.output(formatEvent(refused, d.colour), 1, 600);
}

async function auditLog(d: Demo): Promise<void> {
  const events = auditEvents(d);
  const ran = events.find((e) => e['event'] === 'shell.finished');
  const denied = events.find((e) => e['event'] === 'shell.denied');
  const refused = events.find((e) => e['event'] === 'verify.refused' && e['reason'] === 'NO_GRANT');
  if (!ran || !denied || !refused) throw new LeashError('DEMO_FAILED', 'the audit log lacks a finished command, a denied one or a refused login');
  const shown = events.filter((e) => e === refused || (e['session'] !== undefined && (e['session'] === ran['session'] || e['session'] === denied['session'])));
  d.out.note(`three logins of the ${events.length} events in ${short(d, d.host.paths.auditLog)}, as \`leash watch --replay\` shows them:`);
  d.out.output(shown.map((e) => formatEvent(e, d.colour)).join('\n'), 10, 600);
  d.out.note('a line as the log holds it:');
  d.out.output(JSON.stringify(denied), 1, 1200);
}

async function sessions(d: Demo): Promise<void> {
  for (const who of ['alice', 'bob']) {
    const m = await d.host.ssh.master(who);
    d.masters.set(who, m);
    await d.host.teardown.add(`stop ${who}'s ssh master`, () => m.client.stop());
    d.out.command(`ssh -M -S ${short(d, m.socket)} -N ${who} &`);
  }
  await ssh(d, 'bob', 'uptime', 0, d.masters.get('bob'));
  const alice = d.masters.get('alice')!;
  d.out.command(`ssh -S ${short(d, alice.socket)} alice ${quoted(DEMO_COMMANDS.running)} &`);
  const sleeping = await alice.start(DEMO_COMMANDS.running);
  await d.host.teardown.add("stop alice's sleep", () => sleeping.stop());
  d.sleeping = sleeping;
  await waitFor(`alice's ${DEMO_COMMANDS.running} in leash sessions`, async () => {
    const r = await d.host.operator(['sessions', '--json']);
    const list = r.code === 0 ? (JSON.parse(r.stdout) as { identity: string; state: string; current: { command: string }[] }[]) : [];
    return list.some((s) => s.identity === 'alice@example.com' && s.state === 'active' && s.current.some((c) => c.command === DEMO_COMMANDS.running)) ? true : undefined;
  }, { signal: d.host.signal });
  await leash(d, ['sessions']);
  d.out.note(`alice runs ${DEMO_COMMANDS.running} over her connection; bob ran uptime over his and is connected, idle`);
}

async function revoke(d: Demo): Promise<void> {
  const alice = d.masters.get('alice')!;
  const bob = d.masters.get('bob')!;
  const sleeping = d.sleeping;
  if (sleeping === null) throw new LeashError('DEMO_FAILED', `alice's ${DEMO_COMMANDS.running} was not started`);
  const started = Date.now();
  // Every earlier ssh of alice's was a session of its own, long ended: counted, not listed.
  const endedBefore = (out: string): string => {
    const lines = out.trimEnd().split('\n');
    const quiet = lines.filter((l) => l.endsWith(': not running')).length;
    return [...lines.filter((l) => !l.endsWith(': not running')), ...(quiet > 0 ? [`  (and ${quiet} earlier sessions of hers, already over: not running)`] : [])].join('\n');
  };
  await leash(d, ['revoke', '--identity', 'alice@example.com', '--reason', 'demo: access withdrawn'], 6, endedBefore);
  const ended = await within(sleeping.exited, 5000);
  if (d.host.signal.aborted) throw interrupted(d.host.signal);
  if (ended === null) throw new LeashError('DEMO_FAILED', `alice's ${DEMO_COMMANDS.running} still runs 5 s after the revocation`);
  d.out.note(`alice's ${DEMO_COMMANDS.running} ended ${seconds(Date.now() - started)} after leash revoke began (her ssh: exit ${ended.code ?? ended.signal})`);
  await waitFor("alice's ControlMaster to exit", () => (alice.client.running() ? undefined : true), { signal: d.host.signal, timeoutMs: 5000 });
  d.out.note('her ControlMaster connection is closed: the ssh -M process has exited');
  await ssh(d, 'alice', 'uptime', 255);
  await ssh(d, 'bob', 'uptime', 0, bob);
  d.out.note('bob\'s connection, same local user, still works; alice can no longer log in (`leash unrevoke` would let her again)');
}

async function caMode(d: Demo): Promise<void> {
  const { paths, accounts, leash: bin, signal } = d.host;
  await leash(d, ['ca', 'init', '--ca-dir', paths.caDir], 3);
  // What install.sh --ca-key does on each host: trust the CA's public key.
  writeFileSync(paths.userCaKey, readFileSync(join(paths.caDir, 'ca.pub')), { mode: 0o644 });
  d.out.note(`the CA's public key is now ${short(d, paths.userCaKey)}, sshd's TrustedUserCAKeys (install.sh --ca-key does this on a host)`);
  const key = join(paths.clientDir, CA_AGENT);
  d.out.command(`ssh-keygen -t ed25519 -f ${short(d, key)}   # the agent's own key`);
  await runOk(SSH_KEYGEN, ['-q', '-t', 'ed25519', '-N', '', '-C', CA_AGENT, '-f', key], { signal });
  const grant = await leash(d, ['grant', '--pubkey', `${key}.pub`, '--user', accounts.agent.name, '--profile', DEMO_PROFILE, '--ttl', '10m', '--identity', 'ci-bot', '--ca-dir', paths.caDir, '--leash-path', bin, '--target-config-dir', paths.configDir]);
  const session = /session ([0-9a-f]{32})/.exec(grant.stdout)?.[1];
  if (session === undefined) throw new LeashError('DEMO_FAILED', `leash grant printed no session: ${grant.stdout.trim()}`);
  d.out.command(`ssh-keygen -L -f ${short(d, `${key}-cert.pub`)}`);
  const listing = await runOk(SSH_KEYGEN, ['-L', '-f', `${key}-cert.pub`], { signal });
  d.out.output(linesMatching(listing.stdout, /Key ID:|Valid:|Principals:|^\s+leash-demo-|force-command|permit-pty/));
  await ssh(d, CA_AGENT, 'uptime', 0);
  const accepted = /Accepted certificate ID "[^"]*" \(serial \d+\) signed by ED25519 CA \S+ via \S+/.exec(d.host.sshd.log());
  if (!accepted) throw new LeashError('DEMO_FAILED', 'sshd did not log accepting the CA certificate');
  d.out.note(`sshd's log: ${accepted[0].replace(paths.root, '$DEMO')}`);
  await ssh(d, CA_AGENT, DEMO_COMMANDS.denied[0][0], 126);
  await leash(d, ['revoke', '--session', session, '--reason', 'demo: key lost']);
  d.out.command(`ssh-keygen -Q -f ${short(d, paths.krl)} ${short(d, `${key}-cert.pub`)}`);
  const q = await runProgram(SSH_KEYGEN, ['-Q', '-f', paths.krl, `${key}-cert.pub`], { signal });
  d.out.output(q.stdout.replaceAll(paths.root, '$DEMO'), 2);
  if (!/REVOKED/.test(q.stdout)) throw new LeashError('DEMO_FAILED', `ssh-keygen -Q does not find the certificate revoked: ${q.stdout.trim()}`);
  await ssh(d, CA_AGENT, 'uptime', 255);
  d.out.note('refused by sshd itself, from the KRL, before leash runs at all');
}

// --------------------------------------------------------------- --keep

function keepRunning(h: DemoHost, out: Report): void {
  const ssh = `ssh -F ${h.paths.sshConfig}`;
  const leash = `${h.leash} --config-dir ${h.paths.configDir}`;
  out.line();
  out.line('Everything is still running (--keep). Try, in another terminal (as root):');
  for (const l of [
    ...DEMO_COMMANDS.byHand.map((c) => `${ssh} bob ${quoted(c)}`),
    `${ssh} bob ${quoted(DEMO_COMMANDS.denied[0][0])}`,
    `${ssh} -t bob ${quoted(DEMO_COMMANDS.allowed[0])}     # on a pty`,
    `${ssh} alice uptime     # refused: alice is revoked (${leash} unrevoke --identity alice@example.com)`,
    `${leash} sessions`,
    `${leash} watch --output`,
    `${leash} explain --profile ${DEMO_PROFILE} -- ${quoted(DEMO_COMMANDS.byHand[3])}`,
    `${leash} describe --profile ${DEMO_PROFILE}`,
  ]) out.line(`  ${l}`);
  out.line(`The profile is ${join(h.paths.configDir, 'policies', `${DEMO_PROFILE}.yaml`)}, the audit log ${h.paths.auditLog}, sshd's log ${h.paths.sshdLog}.`);
  out.line('Stop it with ^C here (or kill this leash demo process with SIGTERM): everything is stopped and removed.');
}
