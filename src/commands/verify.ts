import { readFileSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CommandContext } from './context.js';
import { AuditLog } from '../audit/log.js';
import { DEFAULT_CONFIG_DIR, resolveConfigDir } from '../config/dir.js';
import { loadLeashConfig } from '../config/load.js';
import { LeashError, asLeashError } from '../errors.js';
import { EXIT } from './exit-codes.js';
import { loadOpksshFiles } from '../verify/grants/opkssh-files.js';
import { admitLogin } from '../session/login.js';
import { verifyLogin, type VerifyContext, type VerifyFacts, type VerifyRequest } from '../verify/verify-login.js';

/**
 * `leash verify USER KEY TYPE` (sshd's AuthorizedKeysCommand) and
 * `leash verify --explain --user USER --cert FILE`. On success exactly one
 * line on stdout; on any failure nothing on stdout, exit 1, one audit event
 * and one line on stderr (which sshd logs).
 */
export async function runVerify(ctx: CommandContext): Promise<number> {
  if (ctx.values['explain'] === true) return explain(ctx);
  if (ctx.positionals.length !== 3 || ctx.values['user'] !== undefined || ctx.values['cert'] !== undefined) {
    throw new LeashError('USAGE', 'usage: leash verify USER KEY_BASE64 KEY_TYPE (sshd: %u %k %t)');
  }
  const [user, keyBase64, keyType] = ctx.positionals as [string, string, string];
  const request: VerifyRequest = { user, keyBase64, keyType };
  const facts: VerifyFacts = {};
  let audit: AuditLog | undefined;
  try {
    const { verifyCtx, log, problems, configDir } = await setUp(ctx);
    audit = log;
    for (const p of problems) process.stderr.write(`leash: opkssh migration: ${p}\n`);
    const result = await verifyLogin(request, verifyCtx, facts);
    // Sessions (src/session/login.ts): refuse a revoked identity or user; record the login and its connection.
    admitLogin({ configDir, runtimeDir: verifyCtx.config.runtimeDir, session: result.sessionId, identity: result.identity, user, profile: result.profile, expires: result.expiresAt, ppid: process.ppid, now: verifyCtx.now });
    // The decision is logged before sshd sees it: no audit, no login.
    audit.write({
      event: 'verify.accepted',
      user,
      identity: result.identity,
      session: result.sessionId,
      profile: result.profile,
      expires: result.expiresAt,
      jwks: result.keySource,
      ...factFields(facts),
    });
    process.stdout.write(`${result.line}\n`);
    return EXIT.OK;
  } catch (err) {
    const e = asLeashError(err, 'INTERNAL');
    process.stderr.write(`leash: verify refused (${e.code}): ${e.message}\n`);
    try {
      audit?.write({ event: 'verify.refused', user, reason: e.code, detail: e.message, ...factFields(facts) });
    } catch (auditErr) {
      process.stderr.write(`leash: audit log unwritable (${asLeashError(auditErr).code})\n`);
    }
    return EXIT.VERIFY_REFUSED;
  } finally {
    audit?.close();
  }
}

/** Configuration, opkssh rows, the audit log and this binary's path: everything a verification needs. */
async function setUp(ctx: CommandContext): Promise<{ verifyCtx: VerifyContext; log: AuditLog; problems: string[]; configDir: string }> {
  const configDir = resolveConfigDir(ctx.configDirFlag, ctx.env, true);
  const config = await loadLeashConfig(configDir, true);
  const log = AuditLog.open((ctx.env['SSH_CONNECTION'] === undefined ? ctx.env['LEASH_AUDIT_LOG'] : undefined) ?? config.auditLog);
  const migrated = loadOpksshFiles(configDir, config);
  return {
    log,
    configDir,
    problems: migrated.problems,
    verifyCtx: {
      config,
      migrated,
      now: Math.floor(Date.now() / 1000),
      leashPath: selfPath(),
      configDir: configDir === DEFAULT_CONFIG_DIR ? undefined : configDir,
    },
  };
}

/**
 * The executable sshd should run as the forced command: this very binary
 * (resolved, as sshd resolves it). When running from sources instead of the
 * built executable, the entry script stands in.
 */
function selfPath(): string {
  let sea = false;
  try {
    // node:sea exists from Node 20.12; isSea() tells the compiled executable apart.
    sea = (process.getBuiltinModule?.('node:sea') as { isSea?: () => boolean } | undefined)?.isSea?.() === true;
  } catch {
    sea = false;
  }
  return realpathSync(sea ? process.execPath : resolve(process.argv[1] ?? process.execPath));
}

function factFields(f: VerifyFacts): Record<string, string | undefined> {
  return { key: f.fingerprint, key_id: f.keyId, iss: f.iss, sub: f.sub, email: f.email, jti: f.jti };
}

/** `verify --explain`: every check with pass/fail, for an operator debugging a refused login. */
async function explain(ctx: CommandContext): Promise<number> {
  const user = ctx.values['user'];
  const certFile = ctx.values['cert'];
  if (typeof user !== 'string' || typeof certFile !== 'string' || ctx.positionals.length > 0) {
    throw new LeashError('USAGE', 'usage: leash verify --explain --user USER --cert FILE');
  }
  const out = (s: string): void => void process.stdout.write(`${s}\n`);
  let request: VerifyRequest;
  let verifyCtx: VerifyContext;
  try {
    // A -cert.pub line: "<type> <base64> [comment]".
    const [keyType = '', keyBase64 = ''] = readFileSync(certFile, 'utf8').trim().split(/\s+/);
    request = { user, keyBase64, keyType };
    const configDir = resolveConfigDir(ctx.configDirFlag, ctx.env, true);
    const config = await loadLeashConfig(configDir, true);
    const migrated = loadOpksshFiles(configDir, config);
    for (const p of migrated.problems) out(`[warn] opkssh migration: ${p}`);
    verifyCtx = {
      config,
      migrated,
      now: Math.floor(Date.now() / 1000),
      leashPath: selfPath(),
      configDir: configDir === DEFAULT_CONFIG_DIR ? undefined : configDir,
      report: (check, ok, detail) => out(`${ok ? '[ok]  ' : '[FAIL]'} ${check}: ${detail}`),
    };
  } catch (err) {
    const e = asLeashError(err, 'INTERNAL');
    out(`[FAIL] configuration: ${e.code}: ${e.message}`);
    return EXIT.CONFIG;
  }
  try {
    const r = await verifyLogin(request, verifyCtx);
    out(`accepted; sshd would receive:\n${r.line}`);
    return EXIT.OK;
  } catch {
    out('refused: sshd would receive nothing');
    return EXIT.VERIFY_REFUSED;
  }
}
