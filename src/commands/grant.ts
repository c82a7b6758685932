import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { CommandContext } from './context.js';
import { EXIT } from './exit-codes.js';
import { flag, guarded } from './operator.js';
import { profilePath, resolveConfigDir } from '../config/dir.js';
import { loadLeashConfig } from '../config/load.js';
import { parseDuration } from '../config/yaml-reader.js';
import { LeashError } from '../errors.js';
import { DEFAULT_CA_DIR, caPaths, loadCa } from '../ca/ca-key.js';
import { signUserCertificate } from '../ca/certificate.js';
import { authorizedKeysLine, planGrant, type GrantPlan } from '../ca/grant.js';
import { appendLedger, ledgerSerials } from '../ca/ledger.js';
import { grantableKey, readKeyLine } from '../ca/public-key.js';
import { writeFileAtomic } from '../trust/atomic-write.js';
import { fingerprint } from '../verify/verify-login.js';

/**
 * `leash grant --pubkey FILE|- --user LOCALUSER --profile NAME --ttl DURATION …`:
 * signs a short-lived user certificate that pins the key to one profile on
 * hosts that trust the CA (docs/ca.md); `--authorized-keys` prints the
 * equivalent authorized_keys line instead. Both are recorded in the ledger.
 */
export const runGrant = guarded(async (ctx: CommandContext): Promise<number> => {
  const need = (name: string): string => {
    const v = flag(ctx, name);
    if (v === undefined) throw new LeashError('USAGE', `leash grant needs --${name} (leash help grant)`);
    return v;
  };
  const pubkeyArg = need('pubkey');
  const user = need('user');
  const profile = need('profile');
  const ttlText = need('ttl');
  const ttl = parseDuration(ttlText);
  if (ttl === null) throw new LeashError('GRANT_TTL_INVALID', `--ttl ${JSON.stringify(ttlText.slice(0, 40))}: a duration like 30m, 2h, 1d`);
  const configDir = resolveConfigDir(ctx.configDirFlag, ctx.env, true);
  const config = await loadLeashConfig(configDir, false);
  // The profile must exist where this command can see it (the target's own config dir, or a copy of it).
  if (!existsSync(profilePath(configDir, profile))) throw new LeashError('GRANT_PROFILE_UNKNOWN', `profile ${profile} is not in ${configDir}/policies (leash grant checks the profile against this config dir)`);

  let keyText: string;
  try {
    keyText = pubkeyArg === '-' ? readFileSync(0, 'utf8') : readFileSync(pubkeyArg, 'utf8');
  } catch (err) {
    throw new LeashError('GRANT_KEY_INVALID', `cannot read --pubkey ${pubkeyArg}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const keyLine = readKeyLine(keyText);
  const key = grantableKey(keyLine);
  const asLines = ctx.values['authorized-keys'] === true;
  const caDir = flag(ctx, 'ca-dir') ?? DEFAULT_CA_DIR;
  const paths = caPaths(caDir);
  const ca = asLines ? null : loadCa(caDir, process.geteuid?.() ?? -1);
  const used = ca !== null || existsSync(paths.ledger) ? ledgerSerials(paths.ledger) : new Set<string>();
  let serial: bigint;
  do serial = randomBytes(8).readBigUInt64BE(0) & ((1n << 63n) - 1n);
  while (serial === 0n || used.has(serial.toString()));

  const keyFp = fingerprint(key.blob);
  const plan: GrantPlan = planGrant({
    key,
    keyFingerprint: keyFp,
    user,
    profile,
    ttlSeconds: ttl,
    maxTtlSeconds: config.maxGrantTtl,
    identity: flag(ctx, 'identity'),
    sourceAddress: flag(ctx, 'source-address'),
    leashPath: flag(ctx, 'leash-path'),
    targetConfigDir: flag(ctx, 'target-config-dir'),
    now: Math.floor(Date.now() / 1000),
    serial,
    sessionTail: randomBytes(8).toString('hex'),
  });
  const c = plan.certificate;
  const iso = (s: number): string => new Date(s * 1000).toISOString();
  const ledger = {
    at: new Date().toISOString(),
    by: ctx.env['SUDO_USER'] ?? userInfo().username,
    kind: asLines ? ('authorized_keys' as const) : ('certificate' as const),
    serial: serial.toString(),
    key_id: plan.keyId,
    session: plan.session,
    identity: plan.identity,
    user,
    profile,
    valid_after: iso(c.validAfter),
    valid_before: iso(c.validBefore),
    key: keyFp,
    source_address: c.criticalOptions['source-address'] ?? null,
  };

  if (asLines) {
    const line = authorizedKeysLine(plan);
    if (existsSync(caDir)) appendLedger(paths.ledger, ledger);
    process.stdout.write(ctx.values['json'] === true ? `${JSON.stringify({ authorized_keys: line, session: plan.session, expires: iso(c.validBefore) })}\n` : `${line}\n`);
    return EXIT.OK;
  }
  const cert = signUserCertificate(c, ca!);
  const text = `${cert.type} ${cert.blob.toString('base64')} ${plan.keyId}\n`;
  const out = flag(ctx, 'out') ?? (pubkeyArg === '-' ? undefined : `${pubkeyArg.replace(/\.pub$/, '')}-cert.pub`);
  // Ledger first: a certificate that exists is always in the ledger.
  appendLedger(paths.ledger, ledger);
  if (out !== undefined) writeFileAtomic(out, text, 0o644);
  if (ctx.values['json'] === true) {
    process.stdout.write(`${JSON.stringify({ certificate: text.trim(), file: out ?? null, session: plan.session, serial: serial.toString(), key_id: plan.keyId, identity: plan.identity, user, profile, valid_after: iso(c.validAfter), expires: iso(c.validBefore) })}\n`);
  } else if (out === undefined) process.stdout.write(text);
  else process.stdout.write(`${out}: certificate for ${user}, profile ${profile}, session ${plan.session}, serial ${serial}, valid until ${iso(c.validBefore)}\n`);
  return EXIT.OK;
});
