import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { triggerPhrase, updateSummary } from './trigger.js';

describe('trigger words', () => {
  it('names the files, a manual deploy, a Devfile edit, the start-up', () => {
    assert.equal(triggerPhrase({ reason: 'file-change', files: ['src/server.ts'] }), 'after src/server.ts changed');
    assert.equal(triggerPhrase({ reason: 'file-change', files: ['a', 'b', 'c', 'd', 'e'] }), 'after a, b, c and 2 more changed');
    assert.equal(triggerPhrase({ reason: 'manual', files: [] }), 'after a manual deploy');
    assert.equal(triggerPhrase({ reason: 'config-change', files: ['Devfile.ts'] }), 'after a Devfile edit (Devfile.ts)');
    assert.equal(triggerPhrase({ reason: 'initial', files: [] }), 'at start-up');
    assert.equal(triggerPhrase({ reason: 'dependency', files: [] }), 'after dependency');
  });

  it('summarises an update in one line: total, steps, cause; a failure names its step', () => {
    const base = { id: 3, trigger: { reason: 'file-change', files: ['src/server.ts'] }, startedAt: 0, finishedAt: 1320 };
    assert.equal(
      updateSummary({ ...base, totalMs: 1320, outcome: 'done', steps: [{ name: 'build', ms: 810 }, { name: 'deploy', ms: 400 }, { name: 'healthy', ms: 106 }] }),
      'update #3 done in 1.32 s (build 0.81 s, deploy 0.40 s, healthy 0.11 s) after src/server.ts changed',
    );
    assert.equal(
      updateSummary({ ...base, totalMs: 52, outcome: 'failed', failedStep: 'build', steps: [{ name: 'build', ms: 50 }] }),
      'update #3 failed at build in 0.05 s (build 0.05 s) after src/server.ts changed',
    );
  });
});
