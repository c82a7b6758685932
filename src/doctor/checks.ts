/**
 * `leash doctor`'s judgements: each takes facts gathered from the host
 * (command.ts) and returns one checklist line, with a fix for every failure.
 * Nothing here touches the system, so every rule is unit-tested.
 */
import { CLOCK_CEILING, CLOCK_FLOOR } from '../clock.js';
import { unsafeReason } from '../trust/ownership.js';

export type Status = 'ok' | 'warn' | 'fail';

/** What sets a host up, in fixes: the script from a checkout, or its copy in the Debian package (leash-setup(8)). */
export const SETUP = 'install.sh (leash-setup where the Debian package is installed)';

export interface CheckResult {
  name: string;
  status: Status;
  detail: string;
  /** What to do about it; every 'fail' has one. */
  fix?: string;
}

/** The subset of stat(2) the checks need. */
export interface FileFacts {
  uid: number;
  gid: number;
  mode: number;
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
}

/** A local account as `id` sees it: its uid and every group it gets at login. */
export interface Account {
  name: string;
  uid: number;
  gids: number[];
}

const ok = (name: string, detail: string): CheckResult => ({ name, status: 'ok', detail });
const warn = (name: string, detail: string, fix?: string): CheckResult => (fix === undefined ? { name, status: 'warn', detail } : { name, status: 'warn', detail, fix });
const fail = (name: string, detail: string, fix: string): CheckResult => ({ name, status: 'fail', detail, fix });

/** Whether `who` gets `bit` (4 read, 2 write) on a file, by owner, group, then other bits (root: always). */
export function mayAccess(st: Pick<FileFacts, 'uid' | 'gid' | 'mode'>, who: Account, bit: 2 | 4): boolean {
  if (who.uid === 0) return true;
  if (st.uid === who.uid) return (st.mode & (bit << 6)) !== 0;
  if (who.gids.includes(st.gid)) return (st.mode & (bit << 3)) !== 0;
  return (st.mode & bit) !== 0;
}

// ------------------------------------------------------------------ sshd

/** The settings of `sshd -T` that leash needs (lower-case keys, as sshd prints them). */
function parseSshdT(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(' ');
    if (i > 0) m.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  return m;
}

export interface AkcSetting {
  /** argv[0] of sshd's AuthorizedKeysCommand. */
  program: string;
  configDir: string | undefined;
  user: string;
}

/**
 * sshd's effective AuthorizedKeysCommand must be `<leash> [--config-dir D]
 * verify %u %k %t`, run as a dedicated unprivileged user, with ExposeAuthInfo.
 * Returns the check and, when it is leash's, what it runs.
 */
export function checkSshd(sshdT: { ok: true; text: string } | { ok: false; error: string }, configDir: string, defaultConfigDir: string): { result: CheckResult; akc: AkcSetting | null } {
  const name = 'sshd';
  if (!sshdT.ok) {
    return { result: fail(name, `sshd -T failed: ${sshdT.error}`, 'run leash doctor as root on the host sshd runs on; sshd -t shows configuration errors'), akc: null };
  }
  const t = parseSshdT(sshdT.text);
  const cmd = t.get('authorizedkeyscommand') ?? 'none';
  const user = t.get('authorizedkeyscommanduser') ?? 'none';
  const reinstall = `run ${SETUP} (it writes the sshd drop-in, checks it with sshd -t and sshd -T, and reloads sshd)`;
  const words = cmd.split(/\s+/);
  const m = /^(\/\S+) (?:--config-dir (\/\S+) )?verify %u %k %t$/.exec(cmd);
  const ca = t.get('trustedusercakeys') ?? 'none';
  if (cmd === 'none' && ca !== 'none') {
    return { result: ok(name, `CA mode only: TrustedUserCAKeys ${ca}, no AuthorizedKeysCommand (docs/ca.md)`), akc: null };
  }
  if (cmd === 'none' || !m || !/(^|\/)leash$/.test(words[0] ?? '')) {
    return { result: fail(name, `AuthorizedKeysCommand is ${JSON.stringify(cmd)}, not leash's "<prefix>/bin/leash verify %u %k %t"`, reinstall), akc: null };
  }
  const akc: AkcSetting = { program: m[1]!, configDir: m[2], user };
  const effectiveDir = m[2] ?? defaultConfigDir;
  if (effectiveDir !== configDir) {
    return { result: fail(name, `sshd's AuthorizedKeysCommand reads ${effectiveDir}, but this check is for ${configDir}`, `run leash doctor --config-dir ${effectiveDir}, or install.sh --config-dir ${configDir}`), akc };
  }
  if (user === 'none' || user === 'root' || user === 'nobody') {
    return { result: fail(name, `AuthorizedKeysCommandUser is ${user}: leash verify must run as its own unprivileged user`, reinstall), akc };
  }
  if (t.get('exposeauthinfo') !== 'yes') {
    return { result: fail(name, 'ExposeAuthInfo is not yes', reinstall), akc };
  }
  return { result: ok(name, `AuthorizedKeysCommand ${cmd} as ${user}; ExposeAuthInfo yes`), akc };
}

// ------------------------------------------------------------------ files

/**
 * Every directory from `path`'s parent up to / (as [path, facts] from the
 * path itself upwards) must be root-owned and not group/world-writable:
 * sshd's rule for an AuthorizedKeysCommand, and leash's for configuration.
 */
export function unsafeInChain(chain: readonly (readonly [string, FileFacts])[]): string | null {
  for (const [p, st] of chain) {
    const why = st.isSymlink ? `${p} is a symbolic link` : unsafeReason(p, st);
    if (why) return why;
  }
  return null;
}

/** Fix text for an unsafe path. */
export function chainFix(reason: string): string {
  const p = /^(\/\S*) /.exec(reason)?.[1] ?? 'the path';
  return `chown root:root ${p} && chmod go-w ${p} (every directory above leash and its configuration must be root-owned and not group/world-writable)`;
}

// ------------------------------------------------------------------ JWKS

export interface CacheFacts {
  issuer: string;
  file: string;
  /** null = no cache file. */
  state: null | { ok: true; fetchedAt: number; uid: number; mode: number } | { ok: false; error: string };
  /** Only asked when the cache is not fresh: undefined = not tried. */
  reachable?: { ok: true } | { ok: false; error: string };
  pinned?: { ok: true; keys: number } | { ok: false; error: string };
}

/**
 * A provider is fine when its keys are pinned and load, its cache is fresh
 * (younger than refreshAge), or the provider answers now (the next login
 * fetches). A cache only `leash verify` can still use (younger than
 * max_stale) with an unreachable provider is a failure: logins work until it
 * ages out.
 */
export function checkProviderKeys(f: CacheFacts, o: { now: number; refreshAge: number; maxStale: number; akcUid: number | null; akcUser: string; bin: string }): CheckResult {
  const name = `keys ${f.issuer}`;
  const refresh = `runuser -u ${o.akcUser} -- ${o.bin} jwks refresh (and keep it fresh: systemctl enable --now leash-jwks-refresh.timer, or cron)`;
  if (f.pinned) {
    return f.pinned.ok ? ok(name, `pinned jwks_file, ${f.pinned.keys} key(s)`) : fail(name, `pinned jwks_file: ${f.pinned.error}`, 'fix the jwks_file (root-owned, not group/world-writable, a JWK Set)');
  }
  let cache: string;
  if (f.state === null) cache = 'no cached keys';
  else if (!f.state.ok) cache = `cache ${f.file} unusable: ${f.state.error}`;
  else if (unsafeReason(f.file, f.state, o.akcUid ?? undefined) !== null) {
    cache = unsafeReason(f.file, { uid: f.state.uid, mode: 0 }, o.akcUid ?? undefined) !== null ? `cache ${f.file} is owned by uid ${f.state.uid}, not root or ${o.akcUser}: leash discards it` : `cache ${f.file} is group- or world-writable: leash discards it`;
  }
  else {
    const age = o.now - f.state.fetchedAt;
    if (age < -300) return fail(name, `cache ${f.file} was fetched ${-age}s in the future: the clock went backwards`, 'fix the clock (timedatectl, chrony or ntpd), then ' + refresh);
    if (age <= o.refreshAge) return ok(name, `cached ${age}s ago (fresh: logins make no request)`);
    if (age <= o.maxStale) cache = `cached ${age}s ago (older than ${o.refreshAge}s: the next login fetches)`;
    else cache = `cached ${age}s ago, older than max_stale ${o.maxStale}s: leash no longer uses it`;
  }
  if (f.reachable?.ok) return warn(name, `${cache}; the provider is reachable, so logins fetch the keys`, refresh);
  const why = f.reachable ? `; the provider is not reachable: ${f.reachable.error}` : '';
  return fail(name, `${cache}${why}`, refresh);
}

// ------------------------------------------------------------------ audit log

export interface AuditFacts {
  path: string;
  /** null = missing. */
  file: FileFacts | null;
  /** lsattr's flags for the file, or null when they could not be read. */
  appendOnly: boolean | null;
  /** The directory chain above the file, from its directory up to /. */
  dirChain: readonly (readonly [string, FileFacts])[];
  /** The AuthorizedKeysCommandUser and every local user a grant names. */
  writers: readonly Account[];
  /** Grant principals that are not local accounts (nobody can log in as them). */
  unknownPrincipals: readonly string[];
  /** The group that should hold the writers (install.sh's --audit-group), for fixes. */
  groupName: string | null;
}

export function checkAuditLog(f: AuditFacts): CheckResult[] {
  const name = 'audit log';
  const out: CheckResult[] = [];
  const setup = `run ${SETUP} (it creates the log root:leash-audit 0620, append-only)`;
  if (f.file === null) return [fail(name, `${f.path} does not exist; leash refuses every login and command until it can be written`, setup)];
  if (f.file.isSymlink || !f.file.isFile) return [fail(name, `${f.path} is not a regular file (leash never follows a symlink)`, `remove it, then ${setup}`)];
  const dir = unsafeInChain(f.dirChain);
  if (dir) return [fail(name, `${dir}: a writer could replace the log`, chainFix(dir))];
  if (f.file.uid !== 0) out.push(fail(name, `${f.path} is owned by uid ${f.file.uid}: its owner could rewrite it`, `chattr -a ${f.path}; chown root ${f.path}; chattr +a ${f.path}`));
  if ((f.file.mode & 0o002) !== 0) out.push(fail(name, `${f.path} is world-writable`, `chattr -a ${f.path}; chmod o-w ${f.path}; chattr +a ${f.path}`));
  if (f.appendOnly !== true) {
    out.push(fail(name, `${f.path} is not append-only${f.appendOnly === null ? ' (lsattr could not read its attributes)' : ''}: a writer could truncate or rewrite past events`, `chattr +a ${f.path} (needs ext4, xfs or btrfs; mode and owner first, chmod refuses an append-only file)`));
  }
  const cannot = f.writers.filter((w) => !mayAccess(f.file!, w, 2));
  for (const w of cannot) {
    const fix = f.groupName ? `usermod -aG ${f.groupName} ${w.name} (takes effect at its next login)` : `let ${w.name} write ${f.path} (${SETUP} puts every writer in a group)`;
    out.push(fail(name, `${w.name} cannot append to ${f.path}: its ${w.name === f.writers[0]?.name ? 'logins' : 'sessions'} are refused (AUDIT_UNWRITABLE)`, fix));
  }
  for (const p of f.unknownPrincipals) out.push(warn(name, `grant principal ${p} is not a local user: nobody can log in as it`, `useradd -m ${p} && usermod -aG ${f.groupName ?? '<audit group>'} ${p}, or remove it from the grant`));
  if (!out.some((r) => r.status === 'fail')) {
    out.unshift(ok(name, `${f.path}: append-only, appendable by ${f.writers.map((w) => w.name).join(', ') || 'nobody yet'}`));
  }
  return out;
}

// ------------------------------------------------------------------ clock

export function checkClock(now: number, synchronized: boolean | null): CheckResult {
  const name = 'clock';
  const iso = Number.isSafeInteger(now) ? new Date(now * 1000).toISOString() : String(now);
  if (!Number.isSafeInteger(now) || now < CLOCK_FLOOR || now > CLOCK_CEILING) {
    return fail(name, `${iso} is not plausible; leash verify refuses every login (CLOCK_INSANE)`, 'set the time (timedatectl set-ntp true, chrony or ntpd)');
  }
  if (synchronized === false) return warn(name, `${iso}, but the system clock is not NTP-synchronized`, 'timedatectl set-ntp true (or run chrony/ntpd)');
  return ok(name, iso);
}

// ------------------------------------------------------------------ sessions and CA mode

export interface RuntimeFacts {
  runtimeDir: string;
  /** [path, facts or null when missing] for runtime_dir, verify/, logins/, sessions/, sessions/running/. */
  dirs: readonly (readonly [string, FileFacts | null])[];
  /** The AuthorizedKeysCommandUser's uid, when known. */
  akcUid: number | null;
}

/**
 * The runtime tree must exist (logins and commands are refused without it)
 * with the owners and modes `leash runtime init` gives it.
 */
export function checkRuntimeDir(f: RuntimeFacts, initCommand: string): CheckResult {
  const name = 'runtime dir';
  const fix = `${initCommand} (and make sure it runs at boot: leash-runtime.service, or the @reboot line in /etc/cron.d/leash)`;
  for (const [p, st] of f.dirs) {
    if (st === null) return fail(name, `${p} does not exist: every login and command is refused (SESSION_REGISTRY_UNAVAILABLE)`, fix);
    if (st.isSymlink || !st.isDirectory) return fail(name, `${p} is not a directory`, `remove ${p}, then ${fix}`);
  }
  const [[root, r], [verify, v], [logins, l], [sessions, s], [running, u]] = f.dirs as [[string, FileFacts], [string, FileFacts], [string, FileFacts], [string, FileFacts], [string, FileFacts]];
  if (r.uid !== 0 || (r.mode & 0o022) !== 0) return fail(name, `${root} must be root-owned and not group/world-writable`, fix);
  for (const [p, st] of [[verify, v], [logins, l]] as const) {
    if ((st.mode & 0o077) !== 0 || (f.akcUid !== null && st.uid !== f.akcUid)) return fail(name, `${p} must be the AuthorizedKeysCommandUser's alone (0700)`, fix);
  }
  for (const [p, st] of [[sessions, s], [running, u]] as const) {
    if (st.uid !== 0 || (st.mode & 0o1000) === 0) return fail(name, `${p} must be root-owned with the sticky bit (nobody may remove another's entry)`, fix);
  }
  if ((s.mode & 0o002) !== 0) return warn(name, `${sessions} is writable by every account (no audit group given to leash runtime init)`, `${initCommand} --group <audit group>`);
  return ok(name, `${f.runtimeDir}: registry directories in place`);
}

export interface KrlFacts {
  /** sshd -T's revokedkeys (none = not set). */
  path: string;
  file: FileFacts | null;
  /** null when it parses as a KRL; otherwise why not. */
  problem: string | null;
}

/** sshd refuses EVERY public-key login while RevokedKeys names a missing or unreadable file. */
export function checkKrl(f: KrlFacts): CheckResult {
  const name = 'revoked keys';
  const fix = `leash revoke --list (any revoke or unrevoke rewrites it), or: ssh-keygen -k -f ${f.path}`;
  if (f.file === null) return fail(name, `${f.path} (sshd's RevokedKeys) does not exist: sshd refuses every public-key login`, fix);
  if (f.file.isSymlink || !f.file.isFile) return fail(name, `${f.path} is not a regular file`, `remove it, then ${fix}`);
  const why = unsafeReason(f.path, f.file);
  if (why) return fail(name, `${why}: whoever can write it decides which certificates sshd refuses`, `chown root:root ${f.path} && chmod 0644 ${f.path}`);
  if (f.problem) return fail(name, `${f.path}: ${f.problem}: sshd refuses every public-key login`, fix);
  return ok(name, `${f.path}: a valid KRL`);
}

/** The revocation list is read at every login and command: a broken one refuses everyone. */
export function checkRevocations(problem: string | null, entries: number): CheckResult {
  if (problem !== null) return fail('revocations', problem, 'fix or remove the file (leash revoke --list shows it once it parses)');
  return ok('revocations', entries === 0 ? 'nothing revoked' : `${entries} revocation(s) in force`);
}

/** A CA private key on this host must be its owner's alone. */
export function checkCaKey(path: string, st: FileFacts | null): CheckResult | null {
  if (st === null) return null;
  if (st.isSymlink || !st.isFile || st.uid !== 0 || (st.mode & 0o077) !== 0) {
    return fail('CA key', `${path} must be a regular file, root-owned, mode 0600: whoever reads it can grant access to every host that trusts it`, `chown root:root ${path} && chmod 0600 ${path}`);
  }
  return ok('CA key', `${path}: root-only`);
}
