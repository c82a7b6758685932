import { constants } from 'node:os';
import type { AuditEvent } from '../audit/log.js';
import type { Profile } from '../policy/types.js';
import type { Stage } from '../shell/decide.js';
import type { RunResult } from '../shell/runner.js';
import { EXIT } from './exit-codes.js';
import type { ReasonCode } from '../errors.js';

/**
 * How `leash shell` reports a run: the audit fields for what runs, and for
 * each way a run can end (runner.ts RunEnding) its audit event, leash's exit
 * status and the line the client gets on stderr. Pure, so every ending is
 * tested without running anything.
 */

/** The stages as audit fields: `argv` of the first (of the only one, for a plain command), and every stage's for a pipeline. */
export function stageFields(stages: readonly Stage[]): Partial<AuditEvent> {
  const first = stages[0] as Stage;
  if (stages.length === 1) return { argv: first.argv };
  return { argv: first.argv, stages: stages.map((s) => s.argv), binaries: stages.map((s) => s.binary) };
}

/** The audit event, leash's exit status and the line for the client, for each way a run can end. */
export interface Outcome {
  /** The outcome event, without the fields every event of the run carries. */
  event: AuditEvent;
  exit: number;
  /** For the client's stderr, after `leash: `. */
  message?: string;
}

export function outcomeOf(r: RunResult, profile: Pick<Profile, 'name' | 'maxOutputBytes'>, stages: readonly Stage[], timedOutBecause: string): Outcome {
  const pipeline = stages.length > 1 ? { stage_exits: r.stageStatuses, status_stage: r.statusStage + 1 } : {};
  const status = { child_status: r.status, ...pipeline };
  switch (r.ending.kind) {
    case 'exited': {
      const from = stages[r.statusStage] as Stage;
      const message = stages.length > 1 && r.status !== 0 ? `exit status ${r.status} from stage ${r.statusStage + 1} of ${stages.length} (${from.command})` : undefined;
      return { event: { event: 'shell.finished', exit: r.status, ...status }, exit: r.status, ...(message ? { message } : {}) };
    }
    case 'timeout':
      return { event: { event: 'shell.timeout', exit: EXIT.TIMEOUT, ...status }, exit: EXIT.TIMEOUT, message: `timed out: ${timedOutBecause}; its process group was killed` };
    case 'output_limit':
      return {
        event: { event: 'shell.output_limit', exit: EXIT.OUTPUT_LIMIT, max_output: profile.maxOutputBytes, ...status },
        exit: EXIT.OUTPUT_LIMIT,
        message: `output limit: the command wrote more than ${profile.maxOutputBytes} bytes (max_output of profile ${profile.name}); it was stopped`,
      };
    case 'signal': {
      const exit = 128 + signalNumber(r.ending.signal);
      return { event: { event: 'shell.killed', exit, signal: r.ending.signal, ...status }, exit, message: `stopped by ${r.ending.signal}; the command was killed` };
    }
    case 'output_closed': {
      const exit = 128 + signalNumber('SIGPIPE');
      return { event: { event: 'shell.killed', exit, signal: 'SIGPIPE', detail: `the output could not be written (${r.ending.code})`, ...status }, exit };
    }
    case 'failed':
      return { event: { event: 'shell.failed', exit: EXIT.INTERNAL, reason: 'INTERNAL', detail: r.ending.detail, ...status }, exit: EXIT.INTERNAL, message: `internal error: ${r.ending.detail}` };
  }
}

/**
 * Refusals caused by the host, not by the command: a profile or leash.yaml
 * that does not load, the guard programs, the session registry, the
 * revocation list, the recordings log, a bug.
 */
const HOST_PROBLEMS: ReadonlySet<ReasonCode> = new Set(['PROFILE_INVALID', 'GUARD_UNAVAILABLE', 'SESSION_REGISTRY_UNAVAILABLE', 'REVOCATIONS_INVALID', 'RECORDINGS_UNWRITABLE', 'AUDIT_UNWRITABLE', 'INTERNAL']);

/**
 * What the client is told of a refusal. A decision about the command or the
 * session (its words, paths, expiry, revocation, the concurrency limit) is
 * explained in full: the agent needs that to correct itself. A problem of
 * the host gets one generic line: its detail names files, lines and paths of
 * the host's configuration (`ops.yaml:11:5: commands.tail: unknown key`),
 * which is for the operator, and is in the audit log.
 */
export function clientDetail(code: ReasonCode, detail: string): string {
  if (!HOST_PROBLEMS.has(code) && !code.startsWith('CONFIG_')) return detail;
  // Nothing can be logged then: `leash doctor` names the file and the fix.
  if (code === 'AUDIT_UNWRITABLE') return 'the audit log cannot be written, so nothing runs until the operator fixes it (leash doctor on this host says how)';
  return "leash's configuration on this host has a problem, so nothing runs until the operator fixes it (the details are in the audit log)";
}

/** A signal's number (SIGTERM → 15); 0 for anything that is not a signal name. */
export function signalNumber(signal: unknown): number {
  return typeof signal === 'string' ? (constants.signals as Record<string, number>)[signal] ?? 0 : 0;
}

