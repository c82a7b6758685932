import { statSync } from 'node:fs';
import type { CommandContext } from './context.js';
import { EXIT } from './exit-codes.js';
import { flag, guarded, operator } from './operator.js';
import { LeashError } from '../errors.js';
import { groupId, readPasswd } from '../session/passwd.js';
import { initRuntime } from '../session/runtime-init.js';
import { verifyStateDir } from '../runtime/layout.js';

/**
 * `leash runtime init [--verify-user USER] [--group GROUP]`: creates (or
 * repairs) the runtime directory tree under runtime_dir. Run at boot and
 * before each reaper round; install.sh sets both flags.
 */
export const runRuntime = guarded(async (ctx: CommandContext): Promise<number> => {
  if (ctx.positionals.join(' ') !== 'init') throw new LeashError('USAGE', 'usage: leash runtime init [--verify-user USER] [--group GROUP]');
  const op = await operator(ctx, 'runtime init');
  try {
    const passwd = readPasswd();
    // Without --verify-user: whoever owns verify/ already (a repair keeps it), else the usual `leash` account.
    const vName = flag(ctx, 'verify-user');
    let vUid = vName === undefined ? null : passwd.uidOf(vName);
    if (vName !== undefined && vUid === null) throw new LeashError('USAGE', `--verify-user ${vName}: no such user`);
    if (vName === undefined) {
      try {
        vUid = statSync(verifyStateDir(op.config.runtimeDir)).uid;
      } catch {
        vUid = passwd.uidOf('leash');
      }
    }
    const gName = flag(ctx, 'group');
    let gid = gName === undefined ? null : groupId(gName);
    if (gName !== undefined && gid === null) throw new LeashError('USAGE', `--group ${gName}: no such group`);
    // Without --group: the audit log's group, which every writer must be in already.
    if (gName === undefined) {
      try {
        const st = statSync(op.config.auditLog);
        if (st.gid !== 0) gid = st.gid;
      } catch {
        /* no audit log yet: any account may write */
      }
    }
    const verifier = vUid === null ? null : { uid: vUid, gid: passwd.gidOf(vUid) ?? vUid };
    for (const d of initRuntime(op.config.runtimeDir, { verifier, writersGid: gid })) {
      process.stdout.write(`${d.path} ${d.uid}:${d.gid} ${d.mode.toString(8)}\n`);
    }
    return EXIT.OK;
  } finally {
    op.close();
  }
});

