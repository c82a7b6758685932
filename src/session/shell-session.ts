/**
 * What `leash shell` does for sessions, in the order it does it:
 *   1. refuse a revoked session, identity or user (the revocation list is
 *      read before every command; an unreadable or malformed list refuses);
 *   2. record the decision in the session's journal (its seq in the session);
 *   3. for an allowed command, register it as running under the
 *      per-identity limit, and release it when it has finished.
 * A session without a session id (a hand-written ForceCommand) is checked
 * against the list but not recorded: nothing names it.
 */
import { findConnection, type ConnectionRef } from './connection.js';
import { startTime } from './proc.js';
import { acquireCommandSlot, journalCommand, type CommandContext, type CommandSlot } from './registry.js';
import { assertNotRevoked, readRevocations } from './revocations.js';

/** What leash shell knows about its command (the registry context, less what is found here). */
export type ShellSessionInput = Omit<CommandContext, 'conn' | 'self' | 'session'> & {
  configDir: string;
  session: string | undefined;
  /** process.pid and process.ppid of this leash. */
  pid: number;
  ppid: number;
};

export class ShellSession {
  private readonly ctx: CommandContext | null;

  private constructor(
    private readonly input: ShellSessionInput,
    readonly connection: ConnectionRef | null,
  ) {
    const start = startTime(input.pid);
    this.ctx =
      input.session === undefined || start === null
        ? null
        : { runtimeDir: input.runtimeDir, session: input.session, identity: input.identity, user: input.user, uid: input.uid, profile: input.profile, expires: input.expires, client: input.client, conn: connection, self: { pid: input.pid, start } };
  }

  /** Finds this leash's sshd connection (through /proc ancestry). */
  static open(input: ShellSessionInput): ShellSession {
    return new ShellSession(input, findConnection(input.ppid));
  }

  /** Throws SESSION_REVOKED or REVOCATIONS_INVALID; `now` is unix seconds. */
  assertNotRevoked(now: number): void {
    assertNotRevoked(readRevocations(this.input.configDir), { session: this.input.session, identity: this.input.identity, user: this.input.user }, now);
  }

  /** Journals the decision; returns the command's seq, or undefined without a session id. */
  record(verdict: 'allowed' | 'denied', command: string | undefined): number | undefined {
    return this.ctx ? journalCommand(this.ctx, verdict, command) : undefined;
  }

  /** Registers the running command (CONCURRENCY_LIMIT over `limit`); null without a session id. */
  claimSlot(seq: number | undefined, command: string | undefined, limit: number): CommandSlot | null {
    return this.ctx ? acquireCommandSlot(this.ctx, seq ?? null, command, limit) : null;
  }
}
