import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newService } from '../../core/store/reducer.js';
import type { UpdateRecord } from '../../core/store/state.js';
import { detailsLines } from './details-lines.js';

const update = (id: number, over: Partial<UpdateRecord> = {}): UpdateRecord => ({
  id, trigger: { reason: 'file-change', files: [`src/f${id}.ts`] }, startedAt: 0, finishedAt: 1320, totalMs: 1320,
  steps: [{ name: 'build', ms: 810 }, { name: 'deploy', ms: 400 }, { name: 'healthy', ms: 110 }], outcome: 'done', ...over,
});

describe('details view', () => {
  it('lists the last few updates, newest first, with each step time, the total and the trigger', () => {
    const s = { ...newService('api', 'esbuild', 'process', 'auto'), updates: [1, 2, 3, 4, 5, 6, 7].map((i) => update(i)) };
    s.updates[6] = update(7, { outcome: 'failed', failedStep: 'deploy', steps: [{ name: 'build', ms: 810 }, { name: 'deploy', ms: 5 }], totalMs: 900 });
    const lines = detailsLines(s, 0);
    const at = lines.findIndex((l) => l.label?.trim() === 'updates');
    assert.ok(at >= 0, lines.map((l) => `${l.label ?? ''}${l.text}`).join('\n'));
    const shown = lines.slice(at, at + 5).map((l) => l.text);
    assert.match(shown[0], /^#7 at .* · failed at deploy in 0\.90 s · build 0\.81 s, deploy 0\.01 s · after src\/f7\.ts changed$/);
    assert.equal(lines[at].colour, 'red');
    assert.match(shown[1], /^#6 at .* · done in 1\.32 s · build 0\.81 s, deploy 0\.40 s, healthy 0\.11 s · after src\/f6\.ts changed$/);
    assert.match(shown[4], /^#3 /);
    assert.ok(!lines.some((l) => /^#2 /.test(l.text)), 'five updates at most');
  });

  it('marks a live update and shows its own steps', () => {
    const s = { ...newService('api', 'esbuild', 'process', 'auto'), updates: [update(4, { live: true, steps: [{ name: 'sync', ms: 20 }, { name: 'restart', ms: 150 }], totalMs: 190 })] };
    const lines = detailsLines(s, 0);
    const line = lines.find((l) => l.label?.trim() === 'updates');
    assert.match(line?.text ?? '', /^#4 at .* · live update done in 0\.19 s · sync 0\.02 s, restart 0\.15 s · after src\/f4\.ts changed$/);
  });
});
