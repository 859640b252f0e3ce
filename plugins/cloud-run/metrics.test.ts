import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { register as globalRegister } from 'prom-client';
import { CloudRunMetrics, serveMetrics } from './metrics.js';

/** The value of one sample line (`name{labels} value`), or undefined when the series is absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v) && Object.keys(got).length === Object.keys(labels).length) return Number(m[3]);
  }
  return undefined;
}

function fetchText(url: string, method = 'GET'): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const P = 'devloop_cloudrun_';
const A = { service: 'api', revision: 'api-00001-abc' };
const B = { service: 'api', revision: 'api-00002-def' };

describe('CloudRunMetrics', () => {
  it('documents every metric with HELP and TYPE, with conventional names, on its own registry', { timeout: 30_000 }, async () => {
    const m = new CloudRunMetrics();
    const text = await m.metrics();
    const want: Array<[string, string]> = [
      ['requests_total', 'counter'],
      ['request_latency_seconds', 'histogram'],
      ['instances', 'gauge'],
      ['in_flight_requests', 'gauge'],
      ['queued_requests', 'gauge'],
      ['cold_start_seconds', 'histogram'],
      ['cold_starts_total', 'counter'],
      ['rejected_requests_total', 'counter'],
    ];
    for (const [name, type] of want) {
      assert.match(text, new RegExp(`^# HELP ${P}${name} \\S.{10,}$`, 'm'), name);
      assert.match(text, new RegExp(`^# TYPE ${P}${name} ${type}$`, 'm'), name);
    }
    assert.equal((await globalRegister.metrics()).includes(P), false, 'nothing on the global registry');
    // Two instances do not collide: each has its own registry, so what one counts the other does not see.
    const other = new CloudRunMetrics();
    m.requestFinished(A.service, A.revision, 200, 0.01);
    assert.equal(sample(await m.metrics(), `${P}requests_total`, { ...A, code_class: '2xx', code: '200' }), 1);
    assert.equal(sample(await other.metrics(), `${P}requests_total`, { ...A, code_class: '2xx', code: '200' }), undefined);
    other.requestFinished(B.service, B.revision, 500, 0.01);
    assert.equal(sample(await m.metrics(), `${P}requests_total`, { ...B, code_class: '5xx', code: '500' }), undefined);
  });

  it('counts requests by code and code class and observes latency', async () => {
    const m = new CloudRunMetrics();
    m.requestFinished(A.service, A.revision, 200, 0.004);
    m.requestFinished(A.service, A.revision, 200, 0.2);
    m.requestFinished(A.service, A.revision, 404, 0.0005);
    m.requestFinished(A.service, A.revision, 503, 12);
    const text = await m.metrics();
    assert.equal(sample(text, `${P}requests_total`, { ...A, code_class: '2xx', code: '200' }), 2);
    assert.equal(sample(text, `${P}requests_total`, { ...A, code_class: '4xx', code: '404' }), 1);
    assert.equal(sample(text, `${P}requests_total`, { ...A, code_class: '5xx', code: '503' }), 1);
    assert.equal(sample(text, `${P}request_latency_seconds_count`, A), 4);
    assert.ok(Math.abs(sample(text, `${P}request_latency_seconds_sum`, A)! - 12.2045) < 1e-9);
    // Buckets span 1 ms .. 300 s.
    assert.equal(sample(text, `${P}request_latency_seconds_bucket`, { ...A, le: '0.001' }), 1);
    assert.equal(sample(text, `${P}request_latency_seconds_bucket`, { ...A, le: '0.005' }), 2);
    assert.equal(sample(text, `${P}request_latency_seconds_bucket`, { ...A, le: '0.25' }), 3);
    assert.equal(sample(text, `${P}request_latency_seconds_bucket`, { ...A, le: '300' }), 4);
    assert.equal(sample(text, `${P}request_latency_seconds_bucket`, { ...A, le: '+Inf' }), 4);
  });

  it('sets instance, in-flight and queue gauges', async () => {
    const m = new CloudRunMetrics();
    m.setInstances(A.service, A.revision, { starting: 1, ready: 3, busy: 2, idle: 1 });
    m.setInFlight(A.service, A.revision, 7);
    m.setQueueDepth(A.service, A.revision, 4);
    m.setInstances(A.service, A.revision, { starting: 0, ready: 4, busy: 3, idle: 1 });
    const text = await m.metrics();
    assert.equal(sample(text, `${P}instances`, { ...A, state: 'starting' }), 0);
    assert.equal(sample(text, `${P}instances`, { ...A, state: 'ready' }), 4);
    assert.equal(sample(text, `${P}instances`, { ...A, state: 'busy' }), 3);
    assert.equal(sample(text, `${P}instances`, { ...A, state: 'idle' }), 1);
    assert.equal(sample(text, `${P}in_flight_requests`, A), 7);
    assert.equal(sample(text, `${P}queued_requests`, A), 4);
  });

  it('records cold starts (histogram and counter) and rejections by code', async () => {
    const m = new CloudRunMetrics();
    m.coldStart(A.service, A.revision, 0.12);
    m.coldStart(A.service, A.revision, 3.2);
    m.rejected(A.service, A.revision, 429);
    m.rejected(A.service, A.revision, 429);
    m.rejected(A.service, A.revision, 504);
    const text = await m.metrics();
    assert.equal(sample(text, `${P}cold_start_seconds_count`, A), 2);
    assert.equal(sample(text, `${P}cold_start_seconds_bucket`, { ...A, le: '0.25' }), 1);
    assert.equal(sample(text, `${P}cold_start_seconds_bucket`, { ...A, le: '5' }), 2);
    assert.equal(sample(text, `${P}cold_starts_total`, A), 2);
    assert.equal(sample(text, `${P}rejected_requests_total`, { ...A, code: '429' }), 2);
    assert.equal(sample(text, `${P}rejected_requests_total`, { ...A, code: '504' }), 1);
    assert.equal(sample(text, `${P}rejected_requests_total`, { ...A, code: '500' }), undefined);
  });

  it('removeRevision drops every series of that revision and keeps the others', async () => {
    const m = new CloudRunMetrics();
    for (const r of [A, B]) {
      m.requestFinished(r.service, r.revision, 200, 0.01);
      m.requestFinished(r.service, r.revision, 500, 0.01);
      m.setInstances(r.service, r.revision, { starting: 0, ready: 1, busy: 0, idle: 1 });
      m.setInFlight(r.service, r.revision, 1);
      m.setQueueDepth(r.service, r.revision, 0);
      m.coldStart(r.service, r.revision, 1);
      m.rejected(r.service, r.revision, 503);
    }
    m.removeRevision(A.service, A.revision);
    const text = await m.metrics();
    assert.equal(text.includes(A.revision), false, 'no series of the removed revision');
    assert.equal(sample(text, `${P}requests_total`, { ...B, code_class: '2xx', code: '200' }), 1);
    assert.equal(sample(text, `${P}request_latency_seconds_count`, B), 2);
    assert.equal(sample(text, `${P}instances`, { ...B, state: 'idle' }), 1);
    assert.equal(sample(text, `${P}cold_starts_total`, B), 1);
    assert.equal(sample(text, `${P}rejected_requests_total`, { ...B, code: '503' }), 1);
    // A revision that comes back starts from zero; removing an unknown one is harmless.
    m.requestFinished(A.service, A.revision, 200, 0.01);
    m.removeRevision('nope', 'nope');
    assert.equal(sample(await m.metrics(), `${P}requests_total`, { ...A, code_class: '2xx', code: '200' }), 1);
  });

  it('takes another prefix', async () => {
    const m = new CloudRunMetrics('sim_');
    m.requestFinished('s', 'r', 201, 0.1);
    assert.equal(sample(await m.metrics(), 'sim_requests_total', { service: 's', revision: 'r', code_class: '2xx', code: '201' }), 1);
  });
});

describe('serveMetrics', () => {
  it('serves GET /metrics on 127.0.0.1 with the registry content type, 404 otherwise', async () => {
    const m = new CloudRunMetrics();
    m.requestFinished(A.service, A.revision, 200, 0.05);
    const server = await serveMetrics(m);
    try {
      assert.equal(server.url, `http://127.0.0.1:${server.port}/metrics`);
      const r = await fetchText(server.url);
      assert.equal(r.status, 200);
      assert.equal(r.type, m.registry.contentType);
      assert.equal(sample(r.body, `${P}requests_total`, { ...A, code_class: '2xx', code: '200' }), 1);
      // Live: later calls show up.
      m.requestFinished(A.service, A.revision, 200, 0.05);
      assert.equal(sample((await fetchText(server.url)).body, `${P}requests_total`, { ...A, code_class: '2xx', code: '200' }), 2);
      assert.equal((await fetchText(`http://127.0.0.1:${server.port}/`)).status, 404);
      assert.equal((await fetchText(`http://127.0.0.1:${server.port}/metricsx`)).status, 404);
      assert.equal((await fetchText(server.url, 'POST')).status, 404);
    } finally {
      await server.close();
    }
  });
});
