import t from 'tap';
import { pipelineStatus, statusOf } from '../../src/shell/pipeline-status.js';

t.test('a stage status is its exit code, or 128+N for death by signal N', async (t) => {
  t.equal(statusOf({ code: 0 }), 0);
  t.equal(statusOf({ code: 3 }), 3);
  t.equal(statusOf({ signal: 'SIGKILL' }), 137);
  t.equal(statusOf({ signal: 'SIGPIPE' }), 141);
});

t.test('a single command: its own status', async (t) => {
  t.same(pipelineStatus([{ code: 0 }]), { status: 0, stage: 0 });
  t.same(pipelineStatus([{ code: 2 }]), { status: 2, stage: 0 });
  t.same(pipelineStatus([{ signal: 'SIGPIPE' }]), { status: 141, stage: 0 }, 'the last (only) stage dying of SIGPIPE is a failure');
});

t.test('a pipeline: the first failing stage from the left, else the last', async (t) => {
  t.same(pipelineStatus([{ code: 0 }, { code: 0 }, { code: 0 }]), { status: 0, stage: 2 });
  t.same(pipelineStatus([{ code: 0 }, { code: 1 }, { code: 0 }]), { status: 1, stage: 1 });
  t.same(pipelineStatus([{ code: 4 }, { code: 1 }, { code: 0 }]), { status: 4, stage: 0 });
  t.same(pipelineStatus([{ code: 0 }, { code: 0 }, { signal: 'SIGTERM' }]), { status: 143, stage: 2 });
});

t.test('a writer killed by SIGPIPE before the last stage did not fail', async (t) => {
  t.same(pipelineStatus([{ signal: 'SIGPIPE' }, { code: 0 }]), { status: 0, stage: 1 });
  t.same(pipelineStatus([{ signal: 'SIGPIPE' }, { signal: 'SIGPIPE' }, { code: 1 }]), { status: 1, stage: 2 });
  t.same(pipelineStatus([{ signal: 'SIGKILL' }, { code: 0 }]), { status: 137, stage: 0 }, 'any other signal is a failure');
});

t.test('no stages is a programming error', async (t) => {
  t.throws(() => pipelineStatus([]), RangeError);
});
