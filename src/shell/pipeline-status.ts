import { constants } from 'node:os';

/** How one stage ended: its exit code, or the signal it died of. */
export type StageEnd = { code: number; signal?: undefined } | { code?: undefined; signal: NodeJS.Signals };

/** The status a stage's end stands for: its exit code, or 128+N for death by signal N (as a shell says it). */
export function statusOf(end: StageEnd): number {
  return end.signal === undefined ? end.code : 128 + (constants.signals[end.signal] ?? 0);
}

export interface PipelineStatus {
  /** leash's exit status for the run. */
  status: number;
  /** 0-based index of the stage it comes from. */
  stage: number;
}

/**
 * The status of a pipeline, as `set -o pipefail` would give it but reading
 * from the left: the first stage that failed, or else the last stage (0).
 * A stage other than the last that died of SIGPIPE did not fail: a later
 * stage stopped reading (`journalctl | head -n 5`), which is how a pipeline
 * ends early on purpose. A single command is a pipeline of one stage.
 */
export function pipelineStatus(ends: readonly StageEnd[]): PipelineStatus {
  if (ends.length === 0) throw new RangeError('a pipeline has at least one stage');
  const last = ends.length - 1;
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i] as StageEnd;
    if (i < last && end.signal === 'SIGPIPE') continue;
    const status = statusOf(end);
    if (status !== 0) return { status, stage: i };
  }
  return { status: 0, stage: last };
}
