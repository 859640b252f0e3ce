// Cloud Run simulator behaviours the README promises, each against real instances (containers
// through the real Docker daemon, or processes where the launcher makes no difference): the 500
// "no available instance" after the queue wait, the retry of a refused connection on another
// instance, the startup CPU boost and the CPU cap read from the containers' real CPU limits, a
// WebSocket counted as a request in flight, and 502s counted per revision and in the metrics.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DevfileConfig, ServiceConfig } from '../core/devfile/types.js';
import { Engine } from '../core/engine/engine.js';
import { cloudRunPlugin, type CloudRunPluginOptions } from '../plugins/cloud-run/index.js';
import { hostCpus, LABEL_REVISION } from '../plugins/cloud-run/instances.js';
import { dockerPlugin, LABEL_PROJECT, projectId } from '../plugins/docker/index.js';
import { processPlugin } from '../plugins/local-process/index.js';
import { registryPlugin } from '../plugins/registry/index.js';
import { findFreePort } from '../plugins/shared/ports.js';
import { copyFixture, docker, ensureDockerInfra, removeImages, until, within } from './helpers.js';

/** Images are `devloop-crbtest-*`, removed when the file ends (not `dltest-`/`crtest-`: other suites remove those). */
const PREFIX = 'crbtest';

interface Reply { status: number; body: string; headers: http.IncomingHttpHeaders; ms: number; json?: any }

function request(url: string, options: { headers?: Record<string, string> } = {}): Promise<Reply> {
  const start = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, headers: options.headers, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => {
        let json: unknown;
        try { json = JSON.parse(body); } catch { /* not JSON */ }
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers, ms: Date.now() - start, json });
      });
    });
    req.once('timeout', () => req.destroy(new Error(`${url} timed out`)));
    req.once('error', reject);
    req.end();
  });
}


const engines: Engine[] = [];
const roots: string[] = [];

const FAST: CloudRunPluginOptions['scaling'] = { tickMs: 200, stableWindowMs: 2000, panicWindowMs: 1000, idleTimeoutMs: 600, scaleToZeroAfterMs: 800 };

async function start(name: string, service: Partial<ServiceConfig>, opts: { scaling?: CloudRunPluginOptions['scaling']; sim?: Record<string, unknown>; root?: string; yaml?: string } = {}) {
  const root = opts.root ?? copyFixture('cloud-run-app');
  roots.push(root);
  if (opts.yaml) writeFileSync(path.join(root, 'service.yaml'), opts.yaml);
  const port = await findFreePort();
  const metricsPort = await findFreePort();
  const devfile: DevfileConfig = {
    name: `${PREFIX}-${name}`,
    simulation: { cloudRun: { enabled: true, metricsPort, ...opts.sim } as never },
    services: { web: { build: { type: 'docker' }, port, ...(opts.yaml ? { cloudRun: { service: 'service.yaml' } } : {}), ...service } as ServiceConfig },
  };
  const engine = new Engine({ root, devfile, plugins: [dockerPlugin(), registryPlugin(), processPlugin(), cloudRunPlugin({ scaling: { ...FAST, ...opts.scaling } })] });
  engines.push(engine);
  await engine.start();
  await engine.idle();
  const s = engine.getState().services.web;
  assert.equal(s.phase, 'healthy', `web is healthy: ${s.error?.message ?? ''}\n${s.logTail.map((l) => l.message).join('\n')}`);
  return { engine, root, url: s.endpoints[0].url, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
}

/** A process instance of the fixture app (no image build): enough where the launcher plays no part. */
const PROCESS = { build: undefined, command: 'node server.js' } as Partial<ServiceConfig>;

function revisions(engine: Engine): any[] {
  return engine.getState().services.web.extra['cloud-run']?.revisions ?? [];
}

function logText(engine: Engine): string {
  return engine.getState().services.web.logTail.map((l) => l.message).join('\n');
}

/** A Knative Service named web (image from the Devfile build). */
function serviceYaml(annotations: Record<string, string>, container: string[] = []): string {
  const lines = ['apiVersion: serving.knative.dev/v1', 'kind: Service', 'metadata:', '  name: web', 'spec:', '  template:', '    metadata:', '      annotations:'];
  for (const [k, v] of Object.entries(annotations)) lines.push(`        ${k}: '${v}'`);
  lines.push('    spec:', '      containers:', '        - image: unused', ...container.map((l) => `          ${l}`));
  return `${lines.join('\n')}\n`;
}

/** The running instance containers of a project's revision: id -> HostConfig.NanoCpus. */
function containerCpus(root: string, revision: string): Map<string, number> {
  const ids = docker('ps', '-q', '--filter', `label=${LABEL_PROJECT}=${projectId(root)}`, '--filter', `label=${LABEL_REVISION}=${revision}`).split('\n').filter(Boolean);
  const out = new Map<string, number>();
  for (const id of ids) {
    try { out.set(id, Number(docker('inspect', '--format', '{{.HostConfig.NanoCpus}}', id))); } catch { /* gone meanwhile */ }
  }
  return out;
}

/** An HTTP/2 (prior knowledge) GET through the front end. */
function h2Get(url: string, p: string): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  return within(new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.once('error', reject);
    const stream = session.request({ ':path': p });
    let body = '';
    let headers: http2.IncomingHttpHeaders = {};
    stream.on('response', (h) => { headers = h; });
    stream.setEncoding('utf8');
    stream.on('data', (c) => { body += c; });
    stream.on('end', () => { session.close(); resolve({ status: Number(headers[':status']), headers, body }); });
    stream.on('error', (err) => { session.destroy(); reject(err); });
    stream.end();
  }), 15_000, `HTTP/2 GET ${p}`);
}

before(() => ensureDockerInfra());

after(async () => {
  await Promise.all(engines.map((e) => e.stop()));
  for (const r of roots) rmSync(r, { recursive: true, force: true });
  removeImages(PREFIX);
});

describe('cloud run behaviours', () => {
  it('a request still queued past the queue wait while below maxScale gets 500 "no available instance"', { timeout: 60_000 }, async () => {
    // Instances take 4 s to listen; the queue wait is shortened to 1 s (factor 0: the average
    // startup does not lengthen it). maxScale 5 is never reached: the one instance is still starting.
    const { engine, url } = await start('noinst', { ...PROCESS, env: { START_DELAY_MS: '4000' }, cloudRun: { containerConcurrency: 1, maxScale: 5 } },
      { sim: { instances: 'process' }, scaling: { queueWaitMinMs: 1000, queueWaitStartupFactor: 0 } });
    await until(() => revisions(engine)[0]?.instances.ready + revisions(engine)[0]?.instances.starting === 0, 15_000, 'scale to zero after the deploy check');
    const r = await request(url);
    assert.equal(r.status, 500, r.body);
    const [text, reason] = r.body.split('\n');
    assert.equal(text, 'The request was aborted because there was no available instance.');
    // Two are starting: one queued request at cc 1 wants ceil(1 / 0.6) = 2 instances (the 60% target).
    assert.match(reason, /^no instance became available within the 1\.0 s queue wait \(0 ready, [1-5] starting, maxScale 5\)$/);
    assert.equal(r.headers['x-devloop-cloud-run'], reason);
    // At the 1 s bound, not when the instance is ready (4 s). The upper margin allows a loaded machine.
    assert.ok(r.ms >= 950 && r.ms < 3900, `answered at the queue bound: ${r.ms} ms`);
    await until(() => revisions(engine)[0].errors[500] === 1, 3_000, 'the 500 counted');
    assert.match(logText(engine), /GET \/ -> 500 \(web-00001-[a-z]{3}\): no instance became available/);
  });

  it('a connection refused by an instance that stopped listening is retried once on another instance', { timeout: 120_000 }, async () => {
    const { engine, url } = await start('retry', { cloudRun: { containerConcurrency: 1, minScale: 2, maxScale: 3 } });
    await until(() => revisions(engine)[0].instances.ready === 2, 20_000, 'two ready instances');
    // The instance stops listening but its process lives on: the simulator still counts it ready.
    const closed = await request(`${url}/close-listener`);
    assert.equal(closed.json.closing, true);
    // Both instances idle: the next request goes to the same (first) instance, is refused, and is
    // retried on the other one. A few requests in case the choice differs; each must be served.
    const served: string[] = [];
    for (let i = 0; i < 4 && !/refused a connection/.test(logText(engine)); i++) {
      const r = await request(url);
      assert.equal(r.status, 200, `request ${i} served: ${r.body}`);
      served.push(r.json.instance);
    }
    assert.match(logText(engine), /web-00001-[a-z]{3}: instance [0-9a-f]{6} refused a connection \(ECONNREFUSED\); replacing it/);
    assert.ok(!served.includes(closed.json.instance), `served by another instance: ${served} vs ${closed.json.instance}`);
    // The broken instance was taken out and replaced (minScale 2).
    await until(() => revisions(engine)[0].instances.ready === 2 && revisions(engine)[0].coldStarts >= 3, 20_000, 'the broken instance replaced');
    for (let i = 0; i < 3; i++) {
      const r = await request(url);
      assert.equal(r.status, 200);
      assert.notEqual(r.json.instance, closed.json.instance, 'the closed instance gets no more requests');
    }
    assert.equal(revisions(engine)[0].errors[503], 0, 'no request failed');
  });

  it('startup CPU boost: 2x the CPU limit in the container until 10 s after ready, then the limit', { timeout: 120_000 }, async () => {
    const yaml = serviceYaml(
      { 'run.googleapis.com/startup-cpu-boost': 'true', 'run.googleapis.com/cpu-throttling': 'false', 'autoscaling.knative.dev/minScale': '1', 'autoscaling.knative.dev/maxScale': '1' },
      ['resources:', '  limits:', '    cpu: "1"', '    memory: 512Mi'],
    );
    const { engine, root, url } = await start('boost', {}, { yaml });
    const rev = revisions(engine)[0].name;
    const readyLine = engine.getState().services.web.logTail.find((l) => / instance [0-9a-f]{6} ready in \d+ ms/.test(l.message));
    assert.ok(readyLine, 'the ready line');
    const boosted = Math.min(2, hostCpus());
    // Right after ready: the container's limit and the kernel's quota inside it are 2x.
    const first = containerCpus(root, rev);
    assert.deepEqual([...first.values()], [boosted * 1e9], 'NanoCpus right after ready');
    assert.equal((await request(`${url}/cpu-quota`)).json.cpus, boosted, 'cgroup quota inside the container right after ready');
    // Sampled until the boost ends: it must hold until 10 s after ready and end soon after.
    let endedAt: number | undefined;
    let lastBoosted = Date.now();
    await until(() => {
      const v = [...containerCpus(root, rev).values()][0];
      if (v === boosted * 1e9) lastBoosted = Date.now();
      else if (v === 1e9) endedAt = Date.now();
      return endedAt;
    }, 30_000, 'the boost to end');
    const after = endedAt! - readyLine.time;
    // 10 s is the behaviour; the margin above it (sampling every ~100 ms, docker inspect and a
    // loaded machine) only allows noise. Below it is a failure: the boost ended early.
    assert.ok(lastBoosted - readyLine.time >= 9_500, `still boosted at ${lastBoosted - readyLine.time} ms after ready`);
    assert.ok(after >= 9_900 && after < 15_000, `the boost ended ${after} ms after ready`);
    assert.equal((await request(`${url}/cpu-quota`)).json.cpus, 1, 'cgroup quota inside the container after the boost');
  });

  it('a service asking for more CPU than the machine has gets the machine\'s cores, said once per revision', { timeout: 120_000 }, async (t) => {
    const cores = hostCpus();
    if (cores >= 8) { t.skip(`this machine has ${cores} cores: cpu 8 is not above them`); return; }
    const yaml = serviceYaml(
      { 'run.googleapis.com/cpu-throttling': 'false', 'autoscaling.knative.dev/minScale': '2' },
      ['resources:', '  limits:', '    cpu: "8"', '    memory: 4Gi'],
    );
    const { engine, root, url } = await start('cap', {}, { yaml });
    const rev = revisions(engine)[0].name;
    await until(() => revisions(engine)[0].instances.ready === 2, 20_000, 'two ready instances');
    assert.deepEqual([...containerCpus(root, rev).values()], [cores * 1e9, cores * 1e9], 'NanoCpus of both containers');
    assert.equal((await request(`${url}/cpu-quota`)).json.cpus, cores, 'cgroup quota inside the container');
    const notes = engine.getState().services.web.logTail.filter((l) => l.message.includes('is more than this machine'));
    assert.deepEqual(notes.map((l) => [l.level, l.message]), [['warn', `${rev}: cpu 8 is more than this machine's ${cores} cores; instances get ${cores}`]]);
  });

  it('an open WebSocket is a request in flight: with concurrency 1 a second request goes to another instance', { timeout: 60_000 }, async () => {
    const { engine, url } = await start('wsflight', { ...PROCESS, cloudRun: { containerConcurrency: 1, minScale: 1, maxScale: 3 } }, { sim: { instances: 'process' } });
    await until(() => revisions(engine)[0].instances.ready === 1, 10_000, 'one ready instance');
    const { socket, instance } = await within(new Promise<{ socket: Duplex; instance: string }>((resolve, reject) => {
      const req = http.request(url, { agent: false, headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' } });
      req.once('upgrade', (res, socket) => resolve({ socket, instance: String(res.headers['x-instance']) }));
      req.once('response', (res) => reject(new Error(`no upgrade: the simulator answered ${res.statusCode}`)));
      req.once('error', reject);
      req.end();
    }), 15_000, 'the WebSocket upgrade');
    try {
      const echoed = await within(new Promise<string>((resolve) => { socket.once('data', (d) => resolve(d.toString())); socket.write('still-open'); }), 5_000, 'the echo');
      assert.equal(echoed, 'still-open');
      await until(() => revisions(engine)[0].inFlight === 1, 3_000, 'the WebSocket published as one request in flight');
      const other = await request(url);
      assert.equal(other.status, 200);
      assert.notEqual(other.json.instance, instance, 'the WebSocket\'s instance had no free slot');
      // The published figures lag the release of the other request by a tick: wait for them to
      // settle, and they must settle at 1 (the WebSocket), not 0.
      await until(() => revisions(engine)[0].inFlight <= 1, 3_000, 'the other request released');
      assert.equal(revisions(engine)[0].inFlight, 1, 'the WebSocket still in flight after the other request');
    } finally {
      socket.destroy();
    }
    await until(() => revisions(engine)[0].inFlight === 0, 3_000, 'nothing in flight once the WebSocket closed');
  });

  it('a 502 (an instance status HTTP/2 cannot carry) is counted per revision and in the metrics', { timeout: 60_000 }, async () => {
    const { engine, url, metricsUrl } = await start('bad502', PROCESS, { sim: { instances: 'process' } });
    const r = await h2Get(url, '/status700');
    assert.equal(r.status, 502);
    assert.match(String(r.headers['x-devloop-cloud-run']), /status 700, which HTTP\/2 cannot carry/);
    const rev = revisions(engine)[0].name;
    await until(() => revisions(engine)[0].errors[502] === 1, 3_000, 'the 502 counted in the revision');
    assert.deepEqual(revisions(engine)[0].errors, { 429: 0, 500: 0, 502: 1, 503: 0, 504: 0 });
    const metrics = await request(metricsUrl);
    assert.match(metrics.body, new RegExp(`^devloop_cloudrun_rejected_requests_total\\{service="web",revision="${rev}",code="502"\\} 1$`, 'm'));
    assert.equal((await request(url)).status, 200, 'the next request is served');
  });
});
