import { spawnSync } from 'node:child_process';
import { lstatSync, readFileSync } from 'node:fs';
import type { CommandContext } from './context.js';
import { DEFAULT_CONFIG_DIR, resolveConfigDir } from '../config/dir.js';
import { loadLeashConfig } from '../config/load.js';
import { printable } from '../encoding/printable.js';
import { LeashError, asLeashError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { selfPath, type VerifyIo } from './verifier-process.js';
import { verifyStateDir } from '../runtime/layout.js';
import { loadOpksshFiles } from '../verify/grants/opkssh-files.js';
import { usableVerifyState } from '../verify/state-dir.js';
import { verifyLogin, type VerifyContext, type VerifyFacts, type VerifyRequest } from '../verify/verify-login.js';

/**
 * `leash verify --explain --user USER --cert FILE`: every check with pass or
 * fail, for an operator debugging a refused login.
 *
 * It judges as sshd's AuthorizedKeysCommandUser would, by running as it:
 * started as root, it reads the certificate file, then becomes the owner of
 * `<runtime_dir>/verify` (the verifier's state directory, which belongs to
 * that user) before anything else is read, so the key cache, the fetch
 * throttle and the configuration are seen exactly as a login sees them. If
 * no such owner can be found it judges as root and says so. It writes no
 * audit event and never reads or leaves a memo; a provider-key fetch happens
 * exactly when a login would make one now.
 *
 * Everything it prints that came from the certificate or the token is
 * escaped (printable): a forged certificate cannot draw lines of its own.
 */
export async function runVerifyExplain(ctx: CommandContext, io: VerifyIo): Promise<number> {
  const user = ctx.values['user'];
  const certFile = ctx.values['cert'];
  if (typeof user !== 'string' || typeof certFile !== 'string' || ctx.positionals.length > 0) {
    throw new LeashError('USAGE', 'usage: leash verify --explain --user USER --cert FILE');
  }
  const out = (s: string): void => io.out(`${s}\n`);
  const report = (ok: boolean | 'warn', check: string, detail: string): void => out(`${ok === 'warn' ? '[warn]' : ok ? '[ok]  ' : '[FAIL]'} ${check}: ${printable(detail)}`);

  let request: VerifyRequest;
  let verifyCtx: VerifyContext;
  try {
    // A -cert.pub line: "<type> <base64> [comment]". Read as the caller, before any change of user.
    const [keyType = '', keyBase64 = ''] = readFileSync(certFile, 'utf8').trim().split(/\s+/);
    request = { user, keyBase64, keyType };
    const configDir = resolveConfigDir(ctx.configDirFlag, ctx.env, true);
    const as = becomeVerifierUser((await loadLeashConfig(configDir, true)).runtimeDir);
    report(as.ok, 'judging as', as.detail);
    // Again, as that user: what it cannot read, a login cannot either.
    const config = await loadLeashConfig(configDir, true);
    const migrated = loadOpksshFiles(configDir, config);
    for (const p of migrated.problems) report('warn', 'opkssh migration', p);
    const state = usableVerifyState(config.runtimeDir, process.geteuid?.() ?? -1);
    if ('problem' in state) report('warn', 'verifier state', `${state.problem.message}: a login would not fetch provider keys, and sshd's second call would verify again`);
    verifyCtx = {
      config,
      migrated,
      now: Math.floor(Date.now() / 1000),
      leashPath: selfPath(),
      configDir: configDir === DEFAULT_CONFIG_DIR ? undefined : configDir,
      stateDir: 'dir' in state ? state.dir : null,
      report: (check, ok, detail) => report(ok, check, detail),
    };
  } catch (err) {
    const e = asLeashError(err, 'INTERNAL');
    report(false, 'configuration', `${e.code}: ${e.message}`);
    return EXIT.CONFIG;
  }
  const facts: VerifyFacts = {};
  try {
    const r = await verifyLogin(request, verifyCtx, facts);
    for (const w of facts.warnings ?? []) report('warn', 'provider keys', w);
    out(`accepted; sshd would receive:\n${r.line}`);
    return EXIT.OK;
  } catch {
    for (const w of facts.warnings ?? []) report('warn', 'provider keys', w);
    out('refused: sshd would receive nothing');
    return EXIT.VERIFY_REFUSED;
  }
}

/**
 * As root, switches this process for good to the owner of the verifier's
 * state directory, with that account's groups (as sshd starts the command).
 * Returns what the report says about it.
 */
function becomeVerifierUser(runtimeDir: string): { ok: boolean | 'warn'; detail: string } {
  const euid = process.geteuid?.() ?? -1;
  const dir = verifyStateDir(runtimeDir);
  if (euid !== 0) return { ok: true, detail: `uid ${euid}, the user running this command (run it as root to judge as the owner of ${dir})` };
  let owner: number | null = null;
  try {
    const st = lstatSync(dir);
    owner = st.isDirectory() ? st.uid : null;
  } catch {
    owner = null;
  }
  if (owner === null || owner === 0) {
    return { ok: 'warn', detail: `root: ${dir} ${owner === 0 ? 'is owned by root' : 'is missing'}, so the AuthorizedKeysCommandUser is unknown; a login may see the key cache differently` };
  }
  const account = accountOf(owner);
  if (account === null) throw new LeashError('INTERNAL', `cannot look up uid ${owner}, the owner of ${dir}`);
  process.setgroups?.(account.groups);
  process.setgid?.(account.gid);
  process.setuid?.(owner);
  if (process.geteuid?.() !== owner) throw new LeashError('INTERNAL', `could not switch to uid ${owner}`);
  return { ok: true, detail: `${account.name} (uid ${owner}), the owner of ${dir}: what sshd's AuthorizedKeysCommandUser sees` };
}

/** name, primary gid and groups of a uid, as the system's account database (NSS) gives them to id(1). */
function accountOf(uid: number): { name: string; gid: number; groups: number[] } | null {
  const r = spawnSync('/usr/bin/id', [String(uid)], { encoding: 'utf8', env: {}, timeout: 5000 });
  const m = /^uid=\d+\(([^)]+)\) gid=(\d+)\([^)]*\)(?: groups=(\S+))?/.exec(r.stdout ?? '');
  if (r.status !== 0 || m === null) return null;
  const groups = (m[3] ?? '').split(',').map((g) => Number(/^\d+/.exec(g)?.[0])).filter((g) => Number.isSafeInteger(g));
  return { name: m[1]!, gid: Number(m[2]), groups: groups.length > 0 ? groups : [Number(m[2])] };
}
