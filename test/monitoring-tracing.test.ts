// devloop:monitoring with Jaeger, against the real parts: the Engine in-process with the Cloud Run
// simulator (process instances), the real `jaeger` binary (test/infra/jaeger.sh) and Jaeger's
// query API. A request sent with a traceparent comes back from Jaeger as one trace holding the
// front end's span (service devloop) and the instance's own span (exported by the instance with
// a plain OTLP/JSON POST), the instance's span a child of the front end's; the pipeline run that
// deployed the service is a trace of its own.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { DevfileConfig } from '../core/devfile/types.js';
import { Engine } from '../core/engine/engine.js';
import { cloudRunPlugin, type CloudRunPluginOptions } from '../plugins/cloud-run/index.js';
import { processPlugin } from '../plugins/local-process/index.js';
import { findBinary } from '../plugins/monitoring/local-binary.js';
import { monitoringPlugin } from '../plugins/monitoring/plugin.js';
import { findFreePort } from '../plugins/shared/ports.js';
import { registryIdle } from '../plugins/shared/process-registry.js';
import { httpGet, until } from './helpers.js';

if (!findBinary(['jaeger'])) throw new Error('jaeger is not on PATH: run bash test/infra/jaeger.sh (as root; builds Jaeger v2 from the Go module proxy once) or put the release from jaegertracing.io on PATH');

const FAST: CloudRunPluginOptions['scaling'] = { tickMs: 200, stableWindowMs: 2000, panicWindowMs: 1000, idleTimeoutMs: 600, scaleToZeroAfterMs: 800 };

// The instance: answers with the traceparent it got, after exporting its own span (a child of the
// span that traceparent names) to the OTLP endpoint written in $TRACE_OTLP_FILE, as an SDK would.
const SERVER = `
const http = require('node:http');
const fs = require('node:fs');
const crypto = require('node:crypto');
http.createServer(async (req, res) => {
  const tp = String(req.headers.traceparent || '');
  console.log('traceparent ' + tp);
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(tp);
  let exported = 'no traceparent';
  if (m && req.url !== '/') {
    const start = BigInt(Date.now()) * 1000000n;
    const span = { traceId: m[1], spanId: crypto.randomBytes(8).toString('hex'), parentSpanId: m[2], name: 'instance handle', kind: 2,
      startTimeUnixNano: String(start), endTimeUnixNano: String(start + 1000000n) };
    const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'tracing-web' } }] },
      scopeSpans: [{ scope: { name: 'test-instance' }, spans: [span] }] }] };
    try {
      const r = await fetch(fs.readFileSync(process.env.TRACE_OTLP_FILE, 'utf8').trim() + '/v1/traces',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      exported = String(r.status);
    } catch (err) { exported = String(err); }
  }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ traceparent: tp, exported }));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

interface JaegerSpan { traceID: string; spanID: string; operationName: string; processID: string; references: { refType: string; spanID: string }[]; tags: { key: string; value: unknown }[] }
interface JaegerTrace { traceID: string; spans: JaegerSpan[]; processes: Record<string, { serviceName: string }> }

const tag = (s: JaegerSpan, key: string) => s.tags.find((t) => t.key === key)?.value;
const parentOf = (s: JaegerSpan) => s.references.find((r) => r.refType === 'CHILD_OF')?.spanID;

function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, headers, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('timeout', () => req.destroy(new Error(`${url} timed out`)));
    req.once('error', reject);
    req.end();
  });
}

async function traces(url: string): Promise<JaegerTrace[]> {
  const r = await httpGet(url);
  if (r.status !== 200) return [];
  return (JSON.parse(r.body) as { data: JaegerTrace[] | null }).data ?? [];
}

describe('devloop:monitoring with Jaeger: devloop\'s spans and a service\'s own in one trace', { timeout: 180_000 }, () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'devloop-tracing-'));
  let engine: Engine | undefined;
  after(async () => {
    await engine?.stop('test over');
    // Exits of stopped process groups are unrecorded after stop() returns.
    await registryIdle(root);
    rmSync(root, { recursive: true, force: true });
  });

  it('a request with a traceparent through the Cloud Run front end: the front end\'s span (cold start, queue) is the parent of the instance\'s span; the update is a trace of its own', async () => {
    writeFileSync(path.join(root, 'server.js'), SERVER);
    const otlpFile = path.join(root, 'otlp-endpoint');
    writeFileSync(otlpFile, 'http://127.0.0.1:1');
    const devfile: DevfileConfig = {
      name: 'tracing',
      simulation: { cloudRun: { enabled: true, instances: 'process' } as never },
      services: { web: { runtime: 'cloud-run', command: ['node', 'server.js'], port: await findFreePort(), env: { TRACE_OTLP_FILE: otlpFile } } },
      monitoring: { jaeger: true, metrics: true },
    };
    engine = new Engine({ root, devfile, plugins: [processPlugin(), cloudRunPlugin({ scaling: FAST }), monitoringPlugin()] });
    const e = engine;
    await e.start();

    const mon = () => e.getState().extra['devloop:monitoring'] as { urls: Record<string, string>; notes: string[] } | undefined;
    const urls = await until(() => {
      const m = mon();
      if (m?.notes.some((n) => n.startsWith('jaeger'))) throw new Error(m.notes.join('\n'));
      return m?.urls.jaeger && m.urls.otlp ? m.urls : undefined;
    }, 40_000, 'Jaeger started (urls.jaeger and urls.otlp published)');
    assert.match(urls.jaeger, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(urls.otlp, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(e.tracing.sink, 'the span sink is set while Jaeger runs');
    writeFileSync(otlpFile, urls.otlp);

    const web = () => e.getState().services.web;
    const url = await until(() => web().phase === 'healthy' && web().endpoints[0]?.url, 30_000, 'web healthy');
    // Scaled to zero: the traced request pays a cold start, which the front end's span shows.
    await until(() => (web().extra['cloud-run'] as { instances?: number } | undefined)?.instances === 0, 30_000, 'web scaled to zero');

    const traceId = randomBytes(16).toString('hex');
    const caller = randomBytes(8).toString('hex');
    const res = await get(`${url}/hello?x=1`, { traceparent: `00-${traceId}-${caller}-01` });
    assert.equal(res.status, 200, res.body);
    const seen = JSON.parse(res.body) as { traceparent: string; exported: string };
    assert.equal(seen.exported, '200', 'the instance exported its span to Jaeger\'s OTLP receiver');
    const [, seenTrace, frontSpanId] = seen.traceparent.split('-');
    assert.equal(seenTrace, traceId, 'the instance continues the caller\'s trace');
    assert.notEqual(frontSpanId, caller, 'the instance\'s parent is the front end\'s span, not the caller\'s');

    const trace = await until(async () => {
      const [t] = await traces(`${urls.jaeger}/api/traces/${traceId}`);
      const front = t?.spans.find((s) => s.operationName === 'cloud-run web');
      const inst = t?.spans.find((s) => s.operationName === 'instance handle');
      return front && inst && t.spans.some((s) => s.operationName === 'cold start') ? { t, front, inst } : undefined;
    }, 30_000, `trace ${traceId} in Jaeger with the front end's span, its cold start and the instance's span`);
    const { t, front, inst } = trace;
    assert.equal(t.traceID, traceId);
    assert.equal(t.processes[front.processID].serviceName, 'devloop');
    assert.equal(t.processes[inst.processID].serviceName, 'tracing-web');
    assert.equal(front.spanID, frontSpanId, 'the front end\'s span has the id the instance saw as its parent');
    assert.equal(parentOf(front), caller, 'the front end\'s span is a child of the caller\'s');
    assert.equal(parentOf(inst), front.spanID, 'the instance\'s span is a child of the front end\'s');
    assert.equal(tag(front, 'http.request.method'), 'GET');
    assert.equal(tag(front, 'url.path'), '/hello');
    assert.equal(Number(tag(front, 'http.response.status_code')), 200);
    assert.equal(tag(front, 'cloud_run.cold_start'), true);
    assert.match(String(tag(front, 'cloud_run.revision')), /^web-/);
    assert.ok(Number(tag(front, 'cloud_run.queue_wait_ms')) > 0, 'it waited for the instance');
    for (const name of ['queue', 'cold start']) {
      const child = t.spans.find((s) => s.operationName === name)!;
      assert.ok(child, `a ${name} span`);
      assert.equal(parentOf(child), front.spanID, `the ${name} span is the front end's child`);
    }

    // The pipeline run that deployed web: its own trace, a root span and its steps as children.
    const update = await until(async () => {
      const all = await traces(`${urls.jaeger}/api/traces?service=devloop&limit=100&lookback=1h`);
      const u = all.find((x) => x.spans.some((s) => s.operationName === 'update web #1'));
      return u && u.spans.length > 1 ? u : undefined;
    }, 20_000, 'the trace of update web #1');
    const rootSpan = update.spans.find((s) => s.operationName === 'update web #1')!;
    assert.equal(parentOf(rootSpan), undefined, 'the update is a trace\'s root');
    assert.equal(tag(rootSpan, 'devloop.update.outcome'), 'done');
    const steps = update.spans.filter((s) => parentOf(s) === rootSpan.spanID).map((s) => s.operationName);
    assert.ok(steps.includes('deploy'), `a deploy step under the update (got ${steps.join(', ')})`);

    await e.stop('test over');
    engine = undefined;
    assert.equal(e.tracing.sink, undefined, 'no sink once monitoring stopped');
    await assert.rejects(httpGet(`${urls.jaeger}/api/services`, { timeoutMs: 1_000 }), 'Jaeger stopped with devloop');
  });

  it('no jaeger binary: one note naming test/infra/jaeger.sh, no span sink, and the service runs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'devloop-tracing-nobin-'));
    writeFileSync(path.join(dir, 'server.js'), 'require("node:http").createServer((q, s) => s.end("ok")).listen(Number(process.env.PORT), "127.0.0.1");\n');
    const devfile: DevfileConfig = { name: 'nojaeger', services: { api: { runtime: 'process', command: ['node', 'server.js'], port: await findFreePort(), health: { http: '/' } } }, monitoring: { jaeger: true, metrics: false } };
    const e = new Engine({ root: dir, devfile, plugins: [processPlugin(), monitoringPlugin({ binaries: { jaeger: [path.join(dir, 'no-such-jaeger')] } })] });
    try {
      await e.start();
      const note = await until(() => (e.getState().extra['devloop:monitoring'] as { notes: string[] } | undefined)?.notes.find((n) => n.startsWith('jaeger not started')), 20_000, 'the jaeger note');
      assert.match(note, /bash test\/infra\/jaeger\.sh/);
      assert.match(note, /jaegertracing\.io/);
      assert.equal(e.tracing.sink, undefined, 'nothing gathers spans without Jaeger');
      await until(() => e.getState().services.api?.phase === 'healthy', 30_000, 'api healthy');
    } finally {
      await e.stop('test over');
      await registryIdle(dir);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
