/**
 * What devloop:monitoring's `/metrics` costs a scraper: one GET of the session endpoint as the
 * monitoring runtime serves it (devloop's registry, the services' CPU and memory, the Cloud Run
 * simulator's series through engine.metrics) with 100 services, each with ten finished updates
 * and a revision that served requests of three status codes, against the same endpoint with one
 * service, in the same run. Client-observed (keep-alive off, as Prometheus opens a connection per
 * scrape only when it must; here each GET pays the connect too: the worse case). Also the cost
 * of feeding one store action to DevloopMetrics (every action devloop dispatches goes through it).
 */
import http from 'node:http';
import { MetricsSources } from '../core/engine/metrics.js';
import type { Action } from '../core/store/actions.js';
import { reduce } from '../core/store/reducer.js';
import { initialState } from '../core/store/state.js';
import { CloudRunMetrics } from '../plugins/cloud-run/metrics.js';
import { DevloopMetrics } from '../plugins/monitoring/devloop-metrics.js';
import { serveMetricsEndpoint } from '../plugins/shared/metrics-endpoint.js';
import { median, type BenchResult } from './types.js';

function get(url: string): Promise<{ ms: number; bytes: number }> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    http.get(url, { agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => { bytes += c.length; });
      res.on('end', () => resolve({ ms: performance.now() - t, bytes }));
    }).once('error', reject);
  });
}

function updateAction(service: string, id: number): Action {
  return { type: 'update/finished', service, update: { id, trigger: { reason: 'change', files: ['src/a.ts'] }, startedAt: 0, finishedAt: 1, totalMs: 800 + id, outcome: 'done', steps: [{ name: 'build', ms: 300 + id }, { name: 'deploy', ms: 200 }, { name: 'healthy', ms: 100 }] } };
}

async function endpoint(services: number) {
  const m = new DevloopMetrics();
  const cloudRun = new CloudRunMetrics();
  const names = Array.from({ length: services }, (_, i) => `svc-${i}`);
  let state = initialState();
  const feed = (a: Action) => { state = reduce(state, a); m.onAction(state, a); };
  feed({ type: 'config/loaded', file: 'Devfile.ts', services: names.map((name) => ({ name, kind: 'esbuild', target: 'cloud-run', triggerMode: 'auto' })) });
  for (const name of names) {
    feed({ type: 'service/phase', service: name, phase: 'healthy' });
    for (let u = 1; u <= 10; u++) feed(updateAction(name, u));
    for (const [status, n] of [[200, 50], [404, 5], [500, 2]] as const) for (let i = 0; i < n; i++) cloudRun.requestFinished(name, `${name}-00001-abc`, status, 0.01 * (i % 7));
    cloudRun.coldStart(name, `${name}-00001-abc`, 0.4);
  }
  const sources = new MetricsSources();
  sources.add({ name: 'devloop:cloud-run', collect: () => cloudRun.metrics() });
  const usage = names.map((service, i) => ({ service, runtime: 'cloud-run', cpuSeconds: 1.5 + i, memoryBytes: 50e6 + i }));
  const server = await serveMetricsEndpoint({
    what: 'bench', contentType: m.registry.contentType,
    collect: async () => `${await m.registry.metrics()}${DevloopMetrics.usageText(usage)}${await sources.collect()}`,
  });
  return { server, m, state };
}

async function scrapeMs(url: string): Promise<{ ms: number; bytes: number }> {
  for (let i = 0; i < 10; i++) await get(url);
  const runs: number[] = [];
  let bytes = 0;
  for (let i = 0; i < 60; i++) { const r = await get(url); runs.push(r.ms); bytes = r.bytes; }
  return { ms: median(runs), bytes };
}

export async function run(): Promise<BenchResult[]> {
  const big = await endpoint(100);
  const small = await endpoint(1);
  try {
    // Interleaved rounds so whatever else loads the machine hits both alike.
    const bigMs: number[] = [];
    const smallMs: number[] = [];
    let bigBytes = 0;
    let smallBytes = 0;
    for (let round = 0; round < 5; round++) {
      const b = await scrapeMs(big.server.url);
      const s = await scrapeMs(small.server.url);
      bigMs.push(b.ms); smallMs.push(s.ms); bigBytes = b.bytes; smallBytes = s.bytes;
    }
    // One action through DevloopMetrics (a health change: the common case), against the reducer alone.
    const n = 100_000;
    const action: Action = { type: 'service/health', service: 'svc-7', health: 'healthy' };
    let state = big.state;
    let t = performance.now();
    for (let i = 0; i < n; i++) { state = reduce(state, action); big.m.onAction(state, action); }
    const withMetrics = ((performance.now() - t) * 1000) / n;
    t = performance.now();
    for (let i = 0; i < n; i++) state = reduce(state, action);
    const reducerOnly = ((performance.now() - t) * 1000) / n;
    return [
      { name: 'GET /metrics, 100 services (median of 5 rounds x 60)', value: median(bigMs), unit: 'ms', baseline: { name: '1 service', value: median(smallMs) }, note: `${Math.round(bigBytes / 1024)} KiB vs ${Math.round(smallBytes / 1024)} KiB` },
      { name: 'one store action through the reducer and DevloopMetrics', value: withMetrics, unit: 'us', baseline: { name: 'the reducer alone', value: reducerOnly } },
    ];
  } finally {
    await big.server.close();
    await small.server.close();
  }
}
