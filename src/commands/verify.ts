import type { CommandContext } from './context.js';
import { DEFAULT_CONFIG_DIR, resolveConfigDir } from '../config/dir.js';
import { loadLeashConfig } from '../config/load.js';
import { DEFAULT_AUDIT_LOG, type LeashConfig } from '../config/types.js';
import { LeashError, asLeashError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { FD_IO, auditLogPath, selfPath, type VerifyIo } from './verifier-process.js';
import { answerFromMemo, saveMemo, type MemoKey } from '../verify/memo.js';
import { usableVerifyState } from '../verify/state-dir.js';
import type { AuditLog } from '../audit/log.js';
import type { VerifyFacts, VerifyRequest } from '../verify/verify-login.js';

/**
 * `leash verify USER KEY TYPE`, sshd's AuthorizedKeysCommand (and, with
 * --explain, verify-explain.ts). On success exactly one line on stdout; on
 * any failure nothing on stdout, exit 1, one line on stderr (which sshd logs)
 * and, where an audit log can be opened, one `verify.refused` event.
 *
 * In this order:
 *  1. leash.yaml (a broken one refuses, and says why: refuseUnconfigured);
 *  2. sshd's second call of a login is answered from the first (memo.ts):
 *     nothing but node:fs is loaded for it, and nothing is logged again;
 *  3. otherwise a full verification (verifyFully), whose modules are loaded
 *     only now.
 */
export async function runVerify(ctx: CommandContext, io: VerifyIo = FD_IO): Promise<number> {
  if (ctx.values['explain'] === true) return (await import('./verify-explain.js')).runVerifyExplain(ctx, io);
  if (ctx.positionals.length !== 3 || ctx.values['user'] !== undefined || ctx.values['cert'] !== undefined) {
    throw new LeashError('USAGE', 'usage: leash verify USER KEY_BASE64 KEY_TYPE (sshd: %u %k %t)');
  }
  const [user, keyBase64, keyType] = ctx.positionals as [string, string, string];
  const request: VerifyRequest = { user, keyBase64, keyType };

  let configDir: string;
  let config: LeashConfig;
  try {
    configDir = resolveConfigDir(ctx.configDirFlag, ctx.env, true);
    config = await loadLeashConfig(configDir, true);
  } catch (err) {
    return refuseUnconfigured(ctx, io, request, asLeashError(err, 'INTERNAL'));
  }

  const euid = process.geteuid?.() ?? -1;
  const state = usableVerifyState(config.runtimeDir, euid);
  // Both calls of one login come from the same sshd process (the connection's), with the same arguments.
  const memo: MemoKey | null = 'dir' in state ? { dir: state.dir, args: [String(process.ppid), configDir, user, keyType, keyBase64], euid, pid: process.pid } : null;
  const remembered = memo === null ? null : answerFromMemo(memo, Date.now());
  if (remembered !== null) {
    io.out(`${remembered}\n`);
    return EXIT.OK;
  }

  const facts: VerifyFacts = { warnings: 'problem' in state ? [`${state.problem.code}: ${state.problem.message}`] : [] };
  return verifyFully(ctx, io, request, { configDir, config, stateDir: 'dir' in state ? state.dir : null, memo, facts });
}

interface FullVerification {
  configDir: string;
  config: LeashConfig;
  stateDir: string | null;
  memo: MemoKey | null;
  facts: VerifyFacts;
}

/**
 * Every check (verify-login.ts), then, for an accepted key: the audit event
 * (no audit, no login), the memo for sshd's second call, the line. A refusal
 * is logged with what was learnt before it. Anything else that may refuse a
 * login belongs before the event; anything that records an accepted one,
 * after it and before the line.
 */
async function verifyFully(ctx: CommandContext, io: VerifyIo, request: VerifyRequest, v: FullVerification): Promise<number> {
  const [{ AuditLog: Log }, { verifyLogin }, { loadOpksshFiles }, { printable }, { admitLogin }] = await Promise.all([
    import('../audit/log.js'),
    import('../verify/verify-login.js'),
    import('../verify/grants/opkssh-files.js'),
    import('../encoding/printable.js'),
    import('../session/login.js'),
  ]);
  const { facts } = v;
  let audit: AuditLog;
  try {
    audit = Log.open(auditLogPath(ctx, v.config));
  } catch (err) {
    const e = asLeashError(err, 'AUDIT_UNWRITABLE');
    io.err(`leash: verify refused (${e.code}): ${printable(e.message)}\n`);
    return EXIT.VERIFY_REFUSED;
  }
  try {
    const migrated = loadOpksshFiles(v.configDir, v.config);
    for (const p of migrated.problems) io.err(`leash: opkssh migration: ${printable(p)}\n`);
    const now = Math.floor(Date.now() / 1000);
    const result = await verifyLogin(
      request,
      {
        config: v.config,
        migrated,
        now,
        leashPath: selfPath(),
        configDir: v.configDir === DEFAULT_CONFIG_DIR ? undefined : v.configDir,
        stateDir: v.stateDir,
      },
      facts,
    );
    // Sessions (src/session/login.ts): refuse a revoked identity or user; record the login and its connection.
    admitLogin({ configDir: v.configDir, runtimeDir: v.config.runtimeDir, session: result.sessionId, identity: result.identity, user: request.user, profile: result.profile, expires: result.expiresAt, ppid: process.ppid, now });
    // The decision is logged before sshd sees it: no audit, no login.
    audit.write({
      event: 'verify.accepted',
      user: request.user,
      identity: result.identity,
      session: result.sessionId,
      profile: result.profile,
      expires: result.expiresAt,
      jwks: result.keySource,
      ...factFields(facts),
    });
    if (v.memo !== null) {
      const unsaved = saveMemo(v.memo, result.line, Date.now());
      if (unsaved !== null) io.err(`leash: verify memo not written (${unsaved.code}): ${printable(unsaved.message)}\n`);
    }
    io.out(`${result.line}\n`);
    return EXIT.OK;
  } catch (err) {
    const e = asLeashError(err, 'INTERNAL');
    io.err(`leash: verify refused (${e.code}): ${printable(e.message)}\n`);
    try {
      audit.write({ event: 'verify.refused', user: request.user, reason: e.code, detail: e.message, ...factFields(facts) });
    } catch (auditErr) {
      io.err(`leash: audit log unwritable (${asLeashError(auditErr).code})\n`);
    }
    return EXIT.VERIFY_REFUSED;
  } finally {
    audit.close();
  }
}

/**
 * leash.yaml could not be loaded, so every login is refused: say why on
 * stderr (sshd's log) and, since leash.yaml cannot say where its audit log
 * is, in the default audit log (DEFAULT_AUDIT_LOG; LEASH_AUDIT_LOG outside
 * an SSH session) if that can be opened.
 */
async function refuseUnconfigured(ctx: CommandContext, io: VerifyIo, request: VerifyRequest, e: LeashError): Promise<number> {
  const [{ AuditLog: Log }, { printable }] = await Promise.all([import('../audit/log.js'), import('../encoding/printable.js')]);
  io.err(`leash: verify refused (${e.code}): ${printable(e.message)}\n`);
  try {
    const audit = Log.open(auditLogPath(ctx, { auditLog: DEFAULT_AUDIT_LOG }));
    try {
      audit.write({ event: 'verify.refused', user: request.user, reason: e.code, detail: e.message });
    } finally {
      audit.close();
    }
  } catch (auditErr) {
    io.err(`leash: audit log unwritable (${asLeashError(auditErr).code}): the refusal above is not in any audit log\n`);
  }
  return EXIT.VERIFY_REFUSED;
}

function factFields(f: VerifyFacts): Record<string, string | boolean | readonly string[] | undefined> {
  return {
    key: f.fingerprint,
    key_id: f.keyId,
    iss: f.iss,
    sub: f.sub,
    email: f.email,
    email_verified: f.email === undefined ? undefined : f.emailVerified,
    jti: f.jti,
    warnings: f.warnings !== undefined && f.warnings.length > 0 ? f.warnings : undefined,
  };
}
