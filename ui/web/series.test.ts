import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStore } from '../../core/store/store.js';
import { SeriesSampler } from './series.js';

/** Cloud Run simulator text for one service: `ok` 2xx and `bad` 5xx answers, latencies in buckets. */
function text(ok: number, bad: number, fast: number, slow: number, coldStarts = 0): string {
  return [
    `devloop_cloudrun_requests_total{service="api",revision="api-1",code_class="2xx",code="200"} ${ok}`,
    `devloop_cloudrun_requests_total{service="api",revision="api-1",code_class="5xx",code="503"} ${bad}`,
    `devloop_cloudrun_request_latency_seconds_bucket{service="api",revision="api-1",le="0.01"} ${fast}`,
    `devloop_cloudrun_request_latency_seconds_bucket{service="api",revision="api-1",le="0.1"} ${fast + slow}`,
    `devloop_cloudrun_request_latency_seconds_bucket{service="api",revision="api-1",le="+Inf"} ${fast + slow}`,
    `devloop_cloudrun_cold_starts_total{service="api",revision="api-1"} ${coldStarts}`,
  ].join('\n');
}

function storeWith(services: string[]) {
  const store = createStore();
  store.dispatch({ type: 'config/loaded', file: '/p/Devfile.ts', services: services.map((name) => ({ name, kind: 'none', target: 'process', triggerMode: 'auto' })) });
  return store;
}

describe('SeriesSampler', () => {
  it('turns counter and histogram deltas into rates and quantiles over the interval', async () => {
    const store = storeWith(['api', 'db']);
    store.dispatch({ type: 'service/extra', service: 'api', plugin: 'cloud-run', data: { queueDepth: 2, revisions: [{ instances: { ready: 2, starting: 1, busy: 1 } }, { instances: { ready: 1, starting: 0, busy: 0 } }] } });
    let metrics = text(100, 0, 100, 0);
    let cpu = 10;
    const sampler = new SeriesSampler({ getState: store.getState, metrics: () => metrics, usage: (s) => (s === 'db' ? { cpuSeconds: cpu, memoryBytes: 64 * 2 ** 20 } : undefined) });
    const first = await sampler.sample(1_000);
    // The first sample has no interval yet: gauges only.
    assert.deepEqual(first.points.api, { ready: 3, starting: 1, busy: 1, queue: 2 });
    assert.deepEqual(first.points.db, { memoryMiB: 64 });
    // In 2 s: 40 more answers (10 of them 503), 20 fast and 20 slow; 1 cold start; db used 0.5 s CPU.
    metrics = text(130, 10, 120, 20, 1);
    cpu = 10.5;
    const second = await sampler.sample(3_000);
    assert.equal(second.points.api.rps, 20);
    assert.equal(second.points.api.errors, 5);
    assert.equal(second.points.api.coldStarts, 1);
    assert.equal(second.points.api.p50Ms, 10);
    assert.equal(second.points.api.p99Ms, 98.2);
    assert.equal(second.points.db.cpu, 0.25);
    const snap = sampler.snapshot();
    assert.deepEqual(snap.t, [1_000, 3_000]);
    assert.deepEqual(snap.services.api.rps, [null, 20]);
    assert.deepEqual(snap.services.db.memoryMiB, [64, 64]);
  });

  it('treats a counter that went down as reset (as rate() does) and keeps a bounded history', async () => {
    const store = storeWith(['api']);
    let metrics = text(500, 0, 500, 0);
    const sampler = new SeriesSampler({ getState: store.getState, metrics: () => metrics }, 1000, 3);
    await sampler.sample(1_000);
    metrics = text(4, 0, 4, 0);
    const after = await sampler.sample(2_000);
    assert.equal(after.points.api.rps, 4);
    await sampler.sample(3_000);
    await sampler.sample(4_000);
    const snap = sampler.snapshot();
    assert.deepEqual(snap.t, [2_000, 3_000, 4_000]);
    assert.equal(snap.services.api.rps?.length, 3);
  });
});
