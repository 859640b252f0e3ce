// What a first hour with the Cloud Run simulator runs into (issue 11), against real process
// instances of the fixture app: a request that arrives while the first revision is still starting
// waits for it; an explicit port that is taken fails naming its holder (an implicit one moves,
// said once); a startup probe answered 4xx fails at once naming the field to fix; hints that fit
// the case; `devloop status` and /metrics counting the same requests.
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { DevfileConfig, ServiceConfig } from '../core/devfile/types.js';
import { Engine } from '../core/engine/engine.js';
import { cloudRunPlugin, type CloudRunPluginOptions } from '../plugins/cloud-run/index.js';
import { processPlugin } from '../plugins/local-process/index.js';
import { findFreePort } from '../plugins/shared/ports.js';
import { copyFixture, ensureDockerInfra, repoRoot, startCli, until, within } from './helpers.js';

const PREFIX = 'crfhtest';

interface Reply { status: number; body: string; headers: http.IncomingHttpHeaders }

function request(url: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { agent: false, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.once('timeout', () => req.destroy(new Error(`${url} timed out`)));
    req.once('error', reject);
    req.end();
  });
}

const engines: Engine[] = [];
const roots: string[] = [];

const FAST: CloudRunPluginOptions['scaling'] = { tickMs: 200, stableWindowMs: 2000, panicWindowMs: 1000, idleTimeoutMs: 600, scaleToZeroAfterMs: 800 };

/** A process instance of the fixture app (no image build). */
const PROCESS = { command: 'node server.js' } as Partial<ServiceConfig>;

/** Starts the engine without waiting for the deploy: returns once the front end listens (or the deploy ended). */
async function launch(name: string, service: Partial<ServiceConfig>, opts: { sim?: Record<string, unknown>; yaml?: string; metricsPort?: number; files?: Record<string, string> } = {}) {
  const root = copyFixture('cloud-run-app');
  roots.push(root);
  if (opts.yaml) writeFileSync(path.join(root, 'service.yaml'), opts.yaml);
  for (const [file, text] of Object.entries(opts.files ?? {})) writeFileSync(path.join(root, file), text);
  const metricsPort = opts.metricsPort ?? await findFreePort();
  const devfile: DevfileConfig = {
    name: `${PREFIX}-${name}`,
    simulation: { cloudRun: { enabled: true, metricsPort, instances: 'process', ...opts.sim } as never },
    services: { web: { ...PROCESS, port: await findFreePort(), ...(opts.yaml ? { cloudRun: { service: 'service.yaml' } } : {}), ...service } as ServiceConfig },
  };
  const engine = new Engine({ root, devfile, plugins: [processPlugin(), cloudRunPlugin({ scaling: FAST })] });
  engines.push(engine);
  await engine.start();
  return { engine, root, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics` };
}

function web(engine: Engine) {
  return engine.getState().services.web;
}

function logText(engine: Engine): string {
  return web(engine).logTail.map((l) => l.message).join('\n');
}

/** The URL once the front end listens (before the first revision is ready). */
function frontEnd(engine: Engine): Promise<string> {
  return until(() => web(engine).endpoints[0]?.url, 15_000, 'the front end listening');
}

after(async () => {
  await Promise.all(engines.map((e) => e.stop()));
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

describe('a request while the first revision starts', () => {
  it('waits for the starting revision and is served by it', { timeout: 60_000 }, async () => {
    const { engine } = await launch('hold', { env: { START_DELAY_MS: '2500' } });
    const url = await frontEnd(engine);
    assert.equal(web(engine).phase === 'healthy', false, 'the request is sent before the revision is ready');
    const r = await request(url);
    assert.equal(r.status, 200, r.body);
    assert.match(JSON.parse(r.body).revision, /^web-00001-[a-z]{3}$/);
    await engine.idle();
    assert.equal(web(engine).phase, 'healthy');
  });

  it('gets 503 once the request timeout passes before the revision is ready', { timeout: 60_000 }, async () => {
    const { engine } = await launch('holdtimeout', { env: { START_DELAY_MS: '4000' }, cloudRun: { timeoutSeconds: 1 } });
    const url = await frontEnd(engine);
    const r = await request(url);
    assert.equal(r.status, 503, r.body);
    assert.match(r.body, /service web has no revision serving traffic yet: web-00001-[a-z]{3} was still starting after 1 s \(the request timeout, timeoutSeconds\)/);
  });

  it('gets 503 saying why when the starting revision fails', { timeout: 60_000 }, async () => {
    const { engine } = await launch('holdfail', { command: 'node -e "setTimeout(() => process.exit(3), 1500)"' });
    const url = await frontEnd(engine);
    const r = await request(url);
    assert.equal(r.status, 503, r.body);
    assert.match(r.body, /service web has no revision serving traffic: revision web-00001-[a-z]{3} failed to start \(.*exited/);
  });
});

/** Holds `port` on every interface from this test process, as another program would. */
async function hold(port: number): Promise<net.Server> {
  const server = net.createServer();
  await within(new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, () => resolve()); }), 5_000, `holding port ${port}`);
  return server;
}

function release(server: net.Server): Promise<void> {
  return within(new Promise<void>((resolve) => server.close(() => resolve())), 5_000, 'releasing the port');
}

/** A Knative Service named web whose container port (so the URL's wanted port) is `port`. */
function portYaml(port: number): string {
  return ['apiVersion: serving.knative.dev/v1', 'kind: Service', 'metadata:', '  name: web', 'spec:', '  template:', '    spec:', '      containers:',
    '        - image: unused', '          ports:', `            - containerPort: ${port}`].join('\n') + '\n';
}

describe('a taken port', () => {
  it('an explicit port (services.web.port) that is taken fails the deploy naming the process that holds it', { timeout: 60_000 }, async () => {
    const port = await findFreePort();
    const holder = await hold(port);
    try {
      const { engine } = await launch('explicit', { port });
      await engine.idle();
      const s = web(engine);
      assert.equal(s.phase, 'failed', logText(engine));
      assert.ok(s.error?.message.endsWith(`services.web.port: port ${port} is in use by node (pid ${process.pid})`), s.error?.message);
      assert.match(s.error?.hint ?? '', new RegExp(`kill ${process.pid}.*set services\\.web\\.port in Devfile\\.ts to a free port`));
      assert.deepEqual(s.endpoints, [], 'no URL on another port');
    } finally {
      await release(holder);
    }
  });

  it('an implicit port (the container port) moves when taken, and says so once a session', { timeout: 60_000 }, async () => {
    const taken = await findFreePort();
    const holder = await hold(taken);
    try {
      const { engine, root } = await launch('implicit', { port: undefined }, { yaml: portYaml(taken) });
      await engine.idle();
      assert.equal(web(engine).phase, 'healthy', logText(engine));
      const moved = Number(new URL(web(engine).endpoints[0].url).port);
      assert.notEqual(moved, taken);
      // Away to a free container port (the service starts over there), then back to the taken one.
      const other = await findFreePort();
      for (const p of [other, taken]) {
        writeFileSync(path.join(root, 'service.yaml'), portYaml(p));
        engine.trigger('web', { reason: 'config-change', files: ['service.yaml'] });
        await engine.idle();
        assert.equal(web(engine).phase, 'healthy', logText(engine));
      }
      assert.notEqual(Number(new URL(web(engine).endpoints[0].url).port), taken);
      const warnings = web(engine).logTail.filter((l) => l.level === 'warn' && l.message.startsWith(`port ${taken} is in use`));
      assert.equal(warnings.length, 1, logText(engine));
      assert.match(warnings[0].message, new RegExp(`^port ${taken} is in use by node \\(pid ${process.pid}\\); web is at port \\d+ instead`));
    } finally {
      await release(holder);
    }
  });
});

/** A server that serves GET /ok and answers 404 to every other path. */
const ONLY_OK = "require('node:http').createServer((req, res) => { res.statusCode = req.url === '/ok' ? 200 : 404; res.end(); }).listen(Number(process.env.PORT), '127.0.0.1');\n";

/** A Knative Service named web with the given lines under its container. */
function probeYaml(container: string[]): string {
  return ['apiVersion: serving.knative.dev/v1', 'kind: Service', 'metadata:', '  name: web', 'spec:', '  template:', '    spec:', '      containers:',
    '        - image: unused', ...container.map((l) => `          ${l}`)].join('\n') + '\n';
}

describe('a probe answered 4xx', () => {
  it('a startup probe answered 404 fails the revision at once, naming the field to fix', { timeout: 60_000 }, async () => {
    // Three attempts 20 s apart would take 40 s: the test's own timeout would end it first.
    const yaml = probeYaml(['startupProbe:', '  periodSeconds: 20', '  failureThreshold: 3', '  httpGet:', '    path: /healthz']);
    const { engine } = await launch('startup404', { command: 'node only-ok.js' }, { yaml, files: { 'only-ok.js': ONLY_OK } });
    await engine.idle();
    const s = web(engine);
    assert.equal(s.phase, 'failed', logText(engine));
    assert.match(s.error?.message ?? '', /revision web-00001-[a-z]{3} is not ready: startup probe GET \/healthz answered 404: set spec\.template\.spec\.containers\[0\]\.startupProbe\.httpGet\.path \(in the service's YAML\) to a path your service serves$/);
    assert.match(s.error?.hint ?? '', /point startupProbe\.httpGet\.path at a route that answers GET with 2xx or 3xx, or remove startupProbe/);
    assert.doesNotMatch(s.error?.hint ?? '', /listen on \$PORT/, 'not the hint for a container that does not listen');
  });

  it('a startup probe answered 429 keeps trying (the service may be busy)', { timeout: 60_000 }, async () => {
    const busy = "let n = 0; require('node:http').createServer((req, res) => { res.statusCode = ++n < 3 ? 429 : 200; res.end(); }).listen(Number(process.env.PORT), '127.0.0.1');\n";
    const yaml = probeYaml(['startupProbe:', '  periodSeconds: 1', '  failureThreshold: 5', '  httpGet:', '    path: /healthz']);
    const { engine } = await launch('startup429', { command: 'node busy.js' }, { yaml, files: { 'busy.js': busy } });
    await engine.idle();
    assert.equal(web(engine).phase, 'healthy', logText(engine));
  });

  it('a liveness probe answered 404 replaces the instance at the first answer, naming the field to fix', { timeout: 60_000 }, async () => {
    const yaml = probeYaml(['livenessProbe:', '  periodSeconds: 1', '  failureThreshold: 30', '  httpGet:', '    path: /live']);
    const { engine } = await launch('live404', { command: 'node only-ok.js' }, { yaml, files: { 'only-ok.js': ONLY_OK } });
    await engine.idle();
    assert.equal(web(engine).phase, 'healthy', logText(engine));
    // 30 failures a second apart would take 30 s; the wrong path is said at the first.
    const line = await until(() => web(engine).logTail.find((l) => l.level === 'error' && l.message.includes('liveness probe')), 10_000, 'the liveness failure');
    assert.match(line.message, /instance [0-9a-f]{6} failed its liveness probe 1 times \(liveness probe GET \/live answered 404: set spec\.template\.spec\.containers\[0\]\.livenessProbe\.httpGet\.path/);
  });
});

describe('an image that is not on this machine', () => {
  const DIGEST = 'us-docker.pkg.dev/crfh-project/repo/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef';
  const SERVER = 'require("node:http").createServer((q, s) => s.end("ok")).listen(Number(process.env.PORT))';

  function exportYaml(userImage: string): string {
    return ['apiVersion: serving.knative.dev/v1', 'kind: Service', 'metadata:', '  name: web', '  annotations:', `    client.knative.dev/user-image: ${userImage}`,
      'spec:', '  template:', '    spec:', '      containers:', `        - image: ${DIGEST}`, `          command: ["node", "-e", ${JSON.stringify(SERVER)}]`].join('\n') + '\n';
  }

  it('says to build or pull it, not that the container must listen on $PORT', { timeout: 60_000 }, async () => {
    ensureDockerInfra();
    const { engine } = await launch('noimage', { command: undefined, image: 'devloop-test/crfh-absent:1' }, { sim: { instances: 'docker' } });
    await engine.idle();
    const s = web(engine);
    assert.equal(s.phase, 'failed', logText(engine));
    assert.match(s.error?.message ?? '', /services\.web\.image: image devloop-test\/crfh-absent:1 is not on this machine and could not be pulled/);
    assert.match(s.error?.hint ?? '', /^build it \(docker build -t devloop-test\/crfh-absent:1 \.\) or pull it \(docker pull devloop-test\/crfh-absent:1\)/);
    assert.doesNotMatch(`${s.error?.message} ${s.error?.hint}`, /listen on \$PORT/);
  });

  it('an exported digest runs the tag its user-image annotation names, when that is here', { timeout: 60_000 }, async () => {
    ensureDockerInfra();
    const { engine } = await launch('userimage', { command: undefined }, { sim: { instances: 'docker' }, yaml: exportYaml('devloop-test/node:20') });
    await engine.idle();
    assert.equal(web(engine).phase, 'healthy', logText(engine));
    assert.match(logText(engine), /image us-docker\.pkg\.dev\/crfh-project\/repo\/web@sha256:[0-9a-f]{64} is not on this machine; running devloop-test\/node:20, the image it was deployed from \(annotation client\.knative\.dev\/user-image\)/);
    assert.equal((await request(web(engine).endpoints[0].url)).body, 'ok');
  });

  it('an exported digest whose user-image is not here either points at the annotation', { timeout: 60_000 }, async () => {
    ensureDockerInfra();
    const { engine } = await launch('nouserimage', { command: undefined }, { sim: { instances: 'docker' }, yaml: exportYaml('us-docker.pkg.dev/crfh-project/repo/web:v7') });
    await engine.idle();
    const s = web(engine);
    assert.equal(s.phase, 'failed', logText(engine));
    assert.match(s.error?.message ?? '', /spec\.template\.spec\.containers\[0\]\.image: image us-docker\.pkg\.dev\/crfh-project\/repo\/web@sha256:[0-9a-f]{64} is not on this machine/);
    assert.match(s.error?.hint ?? '', /the tag you deployed is in the annotation client\.knative\.dev\/user-image: us-docker\.pkg\.dev\/crfh-project\/repo\/web:v7\. Build it \(docker build -t us-docker\.pkg\.dev\/crfh-project\/repo\/web:v7 \.\) or pull it/);
  });
});

describe('the hint for a process instance that does not start', () => {
  it('names the port that instance was given, not the container port', { timeout: 60_000 }, async () => {
    const { engine } = await launch('procport', { command: 'node -e "console.log(\'my port \' + process.env.PORT); process.exit(1)"' });
    await engine.idle();
    const s = web(engine);
    assert.equal(s.phase, 'failed', logText(engine));
    const given = /my port (\d+)/.exec(logText(engine))?.[1];
    assert.ok(given, logText(engine));
    assert.equal(s.error?.hint, `the process must start and listen on $PORT (${given} for the instance that failed; each process instance gets its own); its log above says why it did not`);
  });
});

describe('request counts', () => {
  /** Requests of service web in /metrics (devloop_cloudrun_requests_total, every revision and status). */
  async function metricsCount(url: string): Promise<number> {
    const text = await (await fetch(url)).text();
    let n = 0;
    for (const m of text.matchAll(/^devloop_cloudrun_requests_total\{([^}]*)\} (\d+)$/gm)) if (m[1].includes('service="web"')) n += Number(m[2]);
    return n;
  }

  /** Requests of service web in the store, which `devloop status -o json` prints. */
  function statusCount(engine: Engine): number {
    return (web(engine).extra['cloud-run']?.revisions as Array<{ requests: number }> | undefined ?? []).reduce((n, r) => n + r.requests, 0);
  }

  it('devloop status and /metrics count the same requests: answered ones, a retried one once, none before a revision is chosen', { timeout: 60_000 }, async () => {
    const { engine, metricsUrl } = await launch('counts', {});
    await engine.idle();
    assert.equal(web(engine).phase, 'healthy', logText(engine));
    const url = web(engine).endpoints[0].url;
    const bothCount = async (n: number) => {
      let last = { status: -1, metrics: -1 };
      await until(async () => {
        last = { status: statusCount(engine), metrics: await metricsCount(metricsUrl) };
        return last.status === n && last.metrics === n;
      }, 10_000, `${n} requests in devloop status and in /metrics`).catch((err: Error) => { throw new Error(`${err.message}; last seen: ${JSON.stringify(last)}`); });
    };
    const replies = await Promise.all(Array.from({ length: 20 }, () => request(url)));
    assert.deepEqual(new Set(replies.map((r) => r.status)), new Set([200]));
    // An unknown tag is answered before any revision is chosen: counted by neither.
    const tagged = await new Promise<number>((resolve, reject) => {
      http.get(url, { agent: false, headers: { host: 'nope---web.local' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0); }).once('error', reject);
    });
    assert.equal(tagged, 404);
    // The instance stops listening: the next request is refused by it and retried on a new one, still one request.
    assert.equal((await request(`${url}/close-listener`)).status, 200);
    assert.equal((await request(url)).status, 200);
    // A request still in flight is not counted yet, by either.
    const slow = request(`${url}/slow?ms=3000`);
    await until(() => web(engine).extra['cloud-run']?.inFlight === 1, 10_000, 'the slow request in flight');
    await bothCount(22);
    assert.equal((await slow).status, 200);
    await bothCount(23);
  });
});

describe('recipes/hello-cloud-run: seeing instances grow', () => {
  it('20 parallel requests to /work?ms=200 start instances up to the maxScale of 4', { timeout: 120_000 }, async () => {
    const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-crfh-recipe-')));
    roots.push(dir);
    cpSync(path.join(repoRoot, 'recipes', 'hello-cloud-run'), dir, { recursive: true, filter: (src) => !src.includes('.devloop') });
    const port = await findFreePort();
    const devfile = path.join(dir, 'Devfile.ts');
    writeFileSync(devfile, readFileSync(devfile, 'utf8').replace('cloudRun: { enabled: true }', `cloudRun: { enabled: true, instances: 'process', metricsPort: ${await findFreePort()} }`));
    const yaml = path.join(dir, 'service.yaml');
    writeFileSync(yaml, readFileSync(yaml, 'utf8').replace('          startupProbe:', `          ports:\n            - containerPort: ${port}\n          startupProbe:`));
    const up = startCli(['up', '--output', 'json'], { cwd: dir });
    try {
      const healthy = await up.waitFor((e) => e.type === 'service/health' && e.service === 'hello' && e.health === 'healthy', 60_000, 'hello healthy');
      const url = healthy.state.endpoints[0].url as string;
      const replies = await Promise.all(Array.from({ length: 20 }, async () => (await fetch(`${url}/work?ms=200`)).json() as Promise<{ worked: number; instance: string }>));
      assert.deepEqual(new Set(replies.map((r) => r.worked)), new Set([200]));
      const peak = Math.max(...up.events.filter((e) => e.type === 'service/extra' && e.plugin === 'cloud-run' && e.service === 'hello').map((e) => Number(e.data.instances)));
      assert.equal(peak, 4, 'the burst asks for ceil(20 / (2 x 0.6)) = 17 instances, held to maxScale 4');
      assert.ok(new Set(replies.map((r) => r.instance)).size >= 2, `the requests were served by more than one instance: ${JSON.stringify(replies)}`);
    } finally {
      up.child.kill('SIGINT');
      await up.exited;
    }
  });
});

describe('a taken metrics port', () => {
  it('an asked-for simulation.cloudRun.metricsPort that is taken is not moved: the endpoint is not started, saying who holds it', { timeout: 60_000 }, async () => {
    const port = await findFreePort();
    const holder = await hold(port);
    try {
      const { engine } = await launch('metricsport', {}, { metricsPort: port });
      await engine.idle();
      assert.equal(web(engine).phase, 'healthy', 'the service runs without its metrics');
      const warning = engine.getState().logTail.find((l) => l.level === 'warn' && l.message.startsWith('Cloud Run metrics endpoint not started'));
      assert.equal(warning?.message.split('; ')[0], `Cloud Run metrics endpoint not started: simulation.cloudRun.metricsPort: port ${port} is in use by node (pid ${process.pid})`);
      assert.ok(!engine.getState().logTail.some((l) => /Cloud Run simulator metrics at/.test(l.message)), 'no endpoint on another port');
    } finally {
      await release(holder);
    }
  });
});
