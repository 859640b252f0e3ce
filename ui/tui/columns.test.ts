import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newService } from '../../core/store/reducer.js';
import { initialState, type EngineState, type ServiceState } from '../../core/store/state.js';
import { layoutColumns } from './columns.js';

/** The quickstart's table: one Cloud Run service, healthy after a build, with instances and a queue. */
function cloudRunState(): EngineState {
  const hello: ServiceState = {
    ...newService('hello', 'esbuild', 'cloud-run', 'auto'),
    phase: 'healthy',
    health: 'healthy',
    endpoints: [{ name: 'http', url: 'http://127.0.0.1:8080' }],
    lastBuild: { id: 2, startedAt: 0, finishedAt: 120, durationMs: 120, trigger: { reason: 'file-change', files: ['src/server.ts'] } },
    image: 'hello:0123456789abcdef',
    extra: { 'cloud-run': { instances: 3, queueDepth: 2 } },
  };
  return { ...initialState(), order: ['hello'], services: { hello } };
}

const headers = (width: number) => layoutColumns(cloudRunState(), width, 1000).columns.map((c) => c.header);

describe('resource table columns', () => {
  it('at 80 columns keeps SERVICE, STATUS, URL and INST; TRIGGER and RESTARTS go first', () => {
    const h = headers(80);
    for (const keep of ['SERVICE', 'STATUS', 'URL', 'INST']) assert.ok(h.includes(keep), `${keep} shown at 80: ${h.join(' ')}`);
    for (const gone of ['TRIGGER', 'RESTARTS', 'IMAGE', 'BUILD → RUN']) assert.ok(!h.includes(gone), `${gone} hidden at 80: ${h.join(' ')}`);
  });

  it('at 100 columns adds QUEUE before TRIGGER or RESTARTS', () => {
    const h = headers(100);
    for (const keep of ['SERVICE', 'STATUS', 'URL', 'INST', 'QUEUE']) assert.ok(h.includes(keep), `${keep} shown at 100: ${h.join(' ')}`);
    for (const gone of ['TRIGGER', 'RESTARTS']) assert.ok(!h.includes(gone), `${gone} hidden at 100: ${h.join(' ')}`);
  });

  it('at 120 columns adds LAST BUILD, and every column stays within the width', () => {
    const h = headers(120);
    for (const keep of ['SERVICE', 'STATUS', 'URL', 'INST', 'QUEUE', 'HEALTH', 'LAST BUILD']) assert.ok(h.includes(keep), `${keep} shown at 120: ${h.join(' ')}`);
    assert.deepEqual(headers(140).filter((x) => x === 'RESTARTS' || x === 'TRIGGER'), ['TRIGGER', 'RESTARTS'], 'both come back with room');
    for (const width of [80, 100, 120]) {
      const { widths, columns } = layoutColumns(cloudRunState(), width, 1000);
      assert.ok(2 + widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1) <= width, `fits in ${width}`);
    }
  });

  it('drops in the declared order as the terminal narrows: no column comes back at a narrower width', () => {
    let before = headers(200);
    for (let w = 199; w >= 20; w--) {
      const now = headers(w);
      for (const h of now) assert.ok(before.includes(h), `${h} reappears at ${w}`);
      before = now;
    }
  });
});
