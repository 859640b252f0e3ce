import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { updateSpans } from './update-spans.js';

describe('updateSpans: one trace per pipeline run', () => {
  it('a root span over the whole run, the steps laid end to end back from the finish, the wait before them as queued', () => {
    const spans = updateSpans('api', {
      id: 3, trigger: { reason: 'change', files: ['a.ts', 'b.ts'] }, startedAt: 1_000, finishedAt: 2_000, totalMs: 1_000,
      steps: [{ name: 'build', ms: 500 }, { name: 'deploy', ms: 300 }, { name: 'healthy', ms: 100 }], outcome: 'failed', failedStep: 'deploy',
    }, 'ab'.repeat(16));
    const [root, ...rest] = spans;
    assert.equal(root.name, 'update api #3');
    assert.deepEqual([root.startMs, root.endMs, root.parentSpanId], [1_000, 2_000, undefined]);
    assert.equal(root.status?.code, 'error');
    assert.ok(spans.every((s) => s.traceId === 'ab'.repeat(16)));
    assert.ok(rest.every((s) => s.parentSpanId === root.spanId));
    const at = Object.fromEntries(rest.map((s) => [s.name, [s.startMs, s.endMs, s.status?.code]]));
    assert.deepEqual(at, { queued: [1_000, 1_100, undefined], build: [1_100, 1_600, 'unset'], deploy: [1_600, 1_900, 'error'], healthy: [1_900, 2_000, 'unset'] });
  });

  it('steps longer than the run (clock rounding) never start before it, and no queued span is made of nothing', () => {
    const spans = updateSpans('api', { id: 1, trigger: { reason: 'initial', files: [] }, startedAt: 0, finishedAt: 10, totalMs: 10, steps: [{ name: 'deploy', ms: 12 }], outcome: 'done' });
    assert.deepEqual(spans.map((s) => [s.name, s.startMs, s.endMs]), [['update api #1', 0, 10], ['deploy', 0, 10]]);
    assert.equal(spans[0].status?.code, 'ok');
  });
});
