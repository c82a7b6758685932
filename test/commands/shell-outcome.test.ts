import t from 'tap';
import { clientDetail, outcomeOf, signalNumber, stageFields } from '../../src/commands/shell-outcome.js';
import type { Stage } from '../../src/shell/decide.js';
import type { RunResult } from '../../src/shell/runner.js';

const ps: Stage = { command: 'ps', binary: '/usr/bin/ps', argv: ['ps', 'aux'] };
const grep: Stage = { command: 'grep', binary: '/usr/bin/grep', argv: ['grep', 'nginx'] };
const head: Stage = { command: 'head', binary: '/usr/bin/head', argv: ['head', '-n', '5'] };
const profile = { name: 'diagnostic', maxOutputBytes: 1000 };
const result = (over: Partial<RunResult>): RunResult => ({ ending: { kind: 'exited' }, status: 0, statusStage: 0, stageStatuses: [0], outputBytes: 10, durationMs: 5, ...over });

t.test('what runs: argv (and binary) of a plain command; every stage of a pipeline', async (t) => {
  t.same(stageFields([ps]), { argv: ['ps', 'aux'] });
  t.same(stageFields([ps, grep, head]), { argv: ['ps', 'aux'], stages: [['ps', 'aux'], ['grep', 'nginx'], ['head', '-n', '5']], binaries: ['/usr/bin/ps', '/usr/bin/grep', '/usr/bin/head'] });
});

t.test('a command that exited: its status, no message', async (t) => {
  t.same(outcomeOf(result({ status: 3, stageStatuses: [3] }), profile, [ps], ''), { event: { event: 'shell.finished', exit: 3, child_status: 3 }, exit: 3 });
});

t.test('a pipeline that exited: which stage the status is from, in the event and on stderr', async (t) => {
  const o = outcomeOf(result({ status: 1, statusStage: 1, stageStatuses: [141, 1, 0] }), profile, [ps, grep, head], '');
  t.same(o.event, { event: 'shell.finished', exit: 1, child_status: 1, stage_exits: [141, 1, 0], status_stage: 2 });
  t.equal(o.exit, 1);
  t.equal(o.message, 'exit status 1 from stage 2 of 3 (grep)');
  const ok = outcomeOf(result({ status: 0, statusStage: 2, stageStatuses: [141, 0, 0] }), profile, [ps, grep, head], '');
  t.equal(ok.message, undefined, 'nothing to say when it succeeded');
  t.same(ok.event, { event: 'shell.finished', exit: 0, child_status: 0, stage_exits: [141, 0, 0], status_stage: 3 });
});

t.test('the other endings', async (t) => {
  t.match(outcomeOf(result({ ending: { kind: 'timeout' }, status: 143 }), profile, [ps], 'it ran longer than 5s'), { event: { event: 'shell.timeout', exit: 124, child_status: 143 }, exit: 124, message: 'timed out: it ran longer than 5s; its process group was killed' });
  t.match(outcomeOf(result({ ending: { kind: 'output_limit' } }), profile, [ps], ''), { event: { event: 'shell.output_limit', exit: 125, max_output: 1000 }, exit: 125, message: /more than 1000 bytes \(max_output of profile diagnostic\)/ });
  t.match(outcomeOf(result({ ending: { kind: 'signal', signal: 'SIGQUIT' } }), profile, [ps], ''), { event: { event: 'shell.killed', exit: 131, signal: 'SIGQUIT' }, exit: 131, message: 'stopped by SIGQUIT; the command was killed' });
  const closed = outcomeOf(result({ ending: { kind: 'output_closed', code: 'EPIPE' } }), profile, [ps], '');
  t.match(closed, { event: { event: 'shell.killed', exit: 141, signal: 'SIGPIPE', detail: /EPIPE/ }, exit: 141 });
  t.equal(closed.message, undefined, 'nobody is reading');
  t.match(outcomeOf(result({ ending: { kind: 'failed', detail: 'cannot start ps: EACCES' } }), profile, [ps], ''), { event: { event: 'shell.failed', exit: 70, reason: 'INTERNAL', detail: 'cannot start ps: EACCES' }, exit: 70 });
});

t.test('signal numbers', async (t) => {
  t.equal(signalNumber('SIGTERM'), 15);
  t.equal(signalNumber('SIGHUP'), 1);
  t.equal(signalNumber('nonsense'), 0);
  t.equal(signalNumber(undefined), 0);
});

t.test("what the client is told: a decision in full, a problem of the host's configuration in one generic line", async (t) => {
  t.equal(clientDetail('PATH_NOT_ALLOWED', 'operand 1: /etc/shadow is outside the allowed paths'), 'operand 1: /etc/shadow is outside the allowed paths');
  t.equal(clientDetail('SESSION_REVOKED', 'identity a@example.com is revoked'), 'identity a@example.com is revoked');
  t.equal(clientDetail('CONCURRENCY_LIMIT', 'a already runs 8 command(s)'), 'a already runs 8 command(s)');
  const detail = '/etc/leash/policies/ops.yaml:11:5: commands.tail: unknown key "lines"';
  for (const code of ['PROFILE_INVALID', 'CONFIG_INVALID', 'CONFIG_UNSAFE', 'GUARD_UNAVAILABLE', 'SESSION_REGISTRY_UNAVAILABLE', 'REVOCATIONS_INVALID', 'RECORDINGS_UNWRITABLE', 'INTERNAL'] as const) {
    const told = clientDetail(code, detail);
    t.notMatch(told, /ops\.yaml|unknown key|:\d+:/, `${code}: no file, position or key`);
    t.match(told, /the details are in the audit log/, code);
  }
  t.match(clientDetail('AUDIT_UNWRITABLE', '/var/log/leash/audit.jsonl: EACCES'), /^the audit log cannot be written.*leash doctor/);
});
