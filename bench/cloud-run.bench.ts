/**
 * The Cloud Run simulator (plugins/cloud-run) against what it stands in for, each measured in the
 * same run on the same image (test/fixtures/cloud-run-app, FROM devloop-test/node:20):
 *
 * a. Proxy overhead. One instance (minScale 1, maxScale 1, containerConcurrency 1000, CPU always
 *    allocated so it keeps its 1 vCPU whoever sends the requests) is loaded with autocannon at 1
 *    and 64 connections (1 s warm-up, then 5 s measured; two rounds, the second in reverse
 *    order), GET /:
 *      - directly, on its bridge address (172.17.x.y:PORT): the floor;
 *      - through nginx on 127.0.0.1 (proxy_pass to the same container, keepalive upstream,
 *        1 worker): the reference reverse proxy;
 *      - through a minimal node:http reverse proxy (own process; keep-alive agent, pipe): what
 *        any proxy on Node's http module costs here, shown beside the nginx figures;
 *      - through the simulator's URL on 127.0.0.1.
 *    Figures: p50/p99 latency each proxy adds over direct, simulator-added / nginx-added (target
 *    <= 1.5x) and the simulator's throughput as a % of direct (target >= 80%).
 *    The load generator is a child process (this file run with `--load`), so it never shares the
 *    simulator's event loop, and is the same program for every target. Latencies come from
 *    autocannon's per-response `response` event (fractional ms); its own histogram rounds to whole
 *    milliseconds, too coarse for sub-millisecond differences on loopback.
 *
 * b. Cold start overhead. Bare: dockerode create + start of the image with the HostConfig the
 *    simulator uses (init, 1 vCPU, 512Mi), then a TCP connect to its bridge address every 2 ms
 *    until it accepts. Simulator: scaled to zero with tiny windows, then one request; its own
 *    measured cold start (`lastColdStartMs`) and that request's latency. Interleaved, 10 of each,
 *    medians. Overhead = simulator cold start - bare (target <= 50 ms). Both go through the same
 *    client library (dockerode) to the same daemon; the docker CLI would add ~100 ms of its own.
 *
 * c. Scale-out burst. containerConcurrency 1, maxScale 10, from zero: 200 concurrent GET
 *    /slow?ms=500. Time to 10 ready instances (store polled every 10 ms), time until the last
 *    request is answered, the status mix. Baseline: 10 bare containers started in parallel
 *    (as in b) until all accept TCP.
 *
 * Everything runs on one machine with 2 cores: the load generator, the container, and nginx or
 * the simulator compete for them, so absolute figures are pessimistic; the comparisons are not
 * skewed, as every target gets the same machine. On this VM (Firecracker) two things make the
 * proxy figures noisy: throughput drifts by tens of percent from one minute to the next (hence
 * the interleaved rounds), and at 1 connection a request takes about 0.1 ms, much of it waking
 * idle vCPUs, which goes faster when one more busy process keeps them awake: nginx has come out
 * faster than direct at c=1. The c=64 figures are the ones to compare.
 *
 * Needs: the test infrastructure (`bash test/infra/up.sh`, run here if `docker info` fails), nginx
 * (`bash test/infra/nginx.sh`, run here if nginx is missing) and autocannon (devDependency).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, cpSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import type { EventEmitter } from 'node:events';
import http from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import type { CloudRunServiceConfig, DevfileConfig } from '../core/devfile/types.js';
import { Engine } from '../core/engine/engine.js';
import { cloudRunPlugin, type CloudRunPluginOptions } from '../plugins/cloud-run/index.js';
import { LABEL_INSTANCE, tcpOpen } from '../plugins/cloud-run/instances.js';
import type { RevisionSnapshot } from '../plugins/cloud-run/revision.js';
import { DockerDaemon, dockerPlugin, LABEL_PROJECT, projectId } from '../plugins/docker/index.js';
import { processPlugin } from '../plugins/local-process/index.js';
import { registryPlugin } from '../plugins/registry/index.js';
import { findFreePort } from '../plugins/shared/ports.js';
import { sleep } from '../plugins/shared/time.js';
import { median, percentile, type BenchResult } from './types.js';

const self = fileURLToPath(import.meta.url);
const repo = path.resolve(path.dirname(self), '..');
const fixture = path.join(repo, 'test', 'fixtures', 'cloud-run-app');
/** Devfile name of every engine here: one image repository (devloop-bench-cloud-run-web) to remove at the end. */
const PROJECT = 'bench-cloud-run';
/** On the containers this bench starts itself, so a sweep at the end finds them. */
const BENCH_LABEL = 'dev.devloop.bench';
/** What the simulator gives a container with Cloud Run's defaults (1 vCPU, 512Mi); the bare baseline gets the same. */
const MEMORY = 512 * 1024 * 1024;
const NANO_CPUS = 1e9;
/** Scale to zero within half a second of the last request (b and c). */
const TINY: CloudRunPluginOptions['scaling'] = { tickMs: 100, idleTimeoutMs: 200, scaleToZeroAfterMs: 300, stableWindowMs: 1000, panicWindowMs: 500 };

const LOAD_CONNECTIONS = [1, 64];
const LOAD_SECONDS = 5;
const WARMUP_SECONDS = 1;
const LOAD_ROUNDS = 2;
const COLD_RUNS = 10;
const BURST_REQUESTS = 200;
const BURST_MAX_SCALE = 10;
const BURST_SLOW_MS = 500;

const log = (line: string) => console.error(`[cloud-run bench] ${line}`);
const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 0)} ms`;

// ---------------------------------------------------------------------------------------------
// The load generator (child process)

/** The part of autocannon's programmatic API used here (the package ships no types). */
interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  warmup?: { connections: number; duration: number };
}
interface AutocannonResult {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  requests: { total: number; average: number };
}
/** The returned tracker is an EventEmitter and a promise of the result. `response` fires per response of the measured run. */
type AutocannonRun = EventEmitter & PromiseLike<AutocannonResult>;
type Autocannon = (options: AutocannonOptions) => AutocannonRun;

interface LoadTarget { name: string; url: string; connections: number }
interface LoadFigures { name: string; connections: number; p50: number; p99: number; rps: number; responses: number; non2xx: number; errors: number }

/**
 * Runs every target LOAD_ROUNDS times (warm-up, then the measured seconds), the order reversed
 * every other round so no target always follows the same one, and prints one JSON line: per
 * target, the percentiles over all its measured responses and its requests/s over all its rounds.
 * Two short rounds each rather than one long one: this VM's throughput drifts by tens of percent
 * between minutes, and interleaving spreads that drift over every target.
 */
async function loadMain(targets: LoadTarget[]): Promise<void> {
  const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
  const acc = new Map<LoadTarget, { latencies: number[]; requests: number; seconds: number; non2xx: number; errors: number }>();
  for (const t of targets) acc.set(t, { latencies: [], requests: 0, seconds: 0, non2xx: 0, errors: 0 });
  for (let round = 0; round < LOAD_ROUNDS; round++) {
    for (const t of round % 2 ? [...targets].reverse() : targets) {
      const a = acc.get(t)!;
      const run = autocannon({ url: t.url, connections: t.connections, duration: LOAD_SECONDS, warmup: { connections: t.connections, duration: WARMUP_SECONDS } });
      run.on('response', (_client: unknown, status: number, _bytes: number, responseMs: number) => {
        if (status >= 200 && status < 300) a.latencies.push(responseMs);
      });
      const r = await run;
      a.requests += r.requests.total;
      a.seconds += r.duration;
      a.non2xx += r.non2xx;
      a.errors += r.errors + r.timeouts;
    }
  }
  const out: LoadFigures[] = targets.map((t) => {
    const a = acc.get(t)!;
    return {
      name: t.name, connections: t.connections,
      p50: percentile(a.latencies, 50), p99: percentile(a.latencies, 99),
      rps: a.requests / a.seconds, responses: a.latencies.length, non2xx: a.non2xx, errors: a.errors,
    };
  });
  process.stdout.write(`@@LOAD@@${JSON.stringify(out)}\n`);
}

/** Starts the load generator (this file with `--load`) and waits for its figures. */
function runLoad(targets: LoadTarget[]): Promise<LoadFigures[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', self, '--load', JSON.stringify(targets)], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = stdout.split('\n').find((l) => l.startsWith('@@LOAD@@'));
      if (line) resolve(JSON.parse(line.slice('@@LOAD@@'.length)) as LoadFigures[]);
      else reject(new Error(`load generator exited with ${code} and no figures:\n${stdout}`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers

interface Reply { status: number; ms: number; body: string }

/** One GET on a fresh connection. */
function get(url: string, timeoutMs = 60_000): Promise<Reply> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body }));
    });
    req.once('timeout', () => req.destroy(new Error(`${url}: no answer in ${timeoutMs} ms`)));
    req.once('error', reject);
  });
}

async function waitFor(what: string, fn: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 10): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

function commandExists(cmd: string): boolean {
  try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore', env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } }); return true; } catch { return false; }
}

// ---------------------------------------------------------------------------------------------
// Everything the bench starts, for the cleanup after each bench (which runs even when one fails)

interface Sim { engine: Engine; root: string; url: string; port: number }

const sims: Sim[] = [];
const tempDirs: string[] = [];
const children: ChildProcess[] = [];
let daemon: DockerDaemon;

function tempDir(tag: string): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), `devloop-bench-cr-${tag}-`)));
  tempDirs.push(dir);
  return dir;
}

/** Stops what the benches started; `final` also removes the image the engines built. */
async function cleanup(final: boolean): Promise<void> {
  await Promise.allSettled(sims.map((s) => s.engine.stop()));
  for (const c of children.splice(0)) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await Promise.race([exited, sleep(3000)]);
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  if (daemon) {
    // Bare containers of this bench, and any instance an engine left behind.
    const ours = await daemon.docker.listContainers({ all: true, filters: { label: [BENCH_LABEL] } }).catch(() => []);
    const left = (await Promise.all(sims.map((s) => simContainers(s, true).catch(() => [])))).flat();
    await Promise.allSettled([...ours, ...left].map((c) => daemon.docker.getContainer(c.Id).remove({ force: true })));
    if (left.length) log(`WARNING: ${left.length} simulator container(s) still there after engine.stop(); removed`);
  }
  sims.length = 0;
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
  if (final) {
    try {
      // By tag, not by id and not with -f: the same content built by another project (the tests)
      // has the same image id, and `rmi -f <id>` would untag theirs too.
      const refs = execFileSync('docker', ['images', '--format', '{{.Repository}}:{{.Tag}}', `devloop-${PROJECT}-web`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
      if (refs.length) execFileSync('docker', ['rmi', ...refs], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      // Never hides the error of a failed bench.
      log(`WARNING: could not remove the image devloop-${PROJECT}-web: ${String((err as { stderr?: unknown }).stderr ?? err).trim()}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The simulator

/** An Engine serving the fixture with the Cloud Run simulator (containers), healthy. */
async function startSim(cloudRun: CloudRunServiceConfig, scaling?: CloudRunPluginOptions['scaling']): Promise<Sim> {
  const root = tempDir('app');
  cpSync(fixture, root, { recursive: true });
  const port = await findFreePort();
  const devfile: DevfileConfig = {
    name: PROJECT,
    simulation: { cloudRun: { enabled: true } },
    services: { web: { build: { type: 'docker' }, port, cloudRun } },
  };
  const engine = new Engine({ root, devfile, plugins: [dockerPlugin(), registryPlugin(), processPlugin(), cloudRunPlugin({ scaling, metrics: false })] });
  const sim: Sim = { engine, root, port, url: '' };
  sims.push(sim);
  await engine.start();
  await engine.idle();
  const s = engine.getState().services.web;
  if (s.phase !== 'healthy' || !s.endpoints[0]) {
    throw new Error(`the simulator did not come up (${s.phase}): ${s.error?.message ?? ''}\n${s.logTail.map((l) => l.message).join('\n')}`);
  }
  sim.url = s.endpoints[0].url;
  return sim;
}

/** The (single) revision's figures as the simulator publishes them to the store. */
function revision(engine: Engine): RevisionSnapshot {
  const cr = engine.getState().services.web.extra['cloud-run'] as { revisions?: RevisionSnapshot[] } | undefined;
  const rev = cr?.revisions?.at(-1);
  if (!rev) throw new Error('no revision in the store');
  return rev;
}

const live = (engine: Engine) => { const i = revision(engine).instances; return i.ready + i.starting; };

/** The simulator's instance containers (running ones, or all with `all`), by their labels. */
function simContainers(sim: Sim, all = false): Promise<Docker.ContainerInfo[]> {
  return daemon.docker.listContainers({ all, filters: { label: [`${LABEL_PROJECT}=${projectId(sim.root)}`, LABEL_INSTANCE] } });
}

/** Waits until the revision has no instance and Docker no container of it (the last one's removal done). */
async function waitScaledToZero(sim: Sim): Promise<void> {
  await waitFor('scale to zero', async () => live(sim.engine) === 0 && (await simContainers(sim, true)).length === 0, 20_000, 20);
}

// ---------------------------------------------------------------------------------------------
// Bare containers (the baselines of b and c)

/** CFS throttling of a container so far (cgroup v1, as on this machine); undefined where unreadable. */
function cpuThrottling(id: string): { periods: number; ms: number } | undefined {
  try {
    const stat = readFileSync(`/sys/fs/cgroup/cpu/docker/${id}/cpu.stat`, 'utf8');
    const field = (k: string) => Number(new RegExp(`^${k} (\\d+)$`, 'm').exec(stat)?.[1] ?? NaN);
    return { periods: field('nr_throttled'), ms: field('throttled_time') / 1e6 };
  } catch {
    return undefined;
  }
}

/** A container's address on the default bridge (172.17.x.y). */
async function bridgeAddress(c: Docker.Container): Promise<string> {
  const info = await c.inspect();
  const ip = Object.values(info.NetworkSettings.Networks ?? {})[0]?.IPAddress;
  if (!ip) throw new Error(`container ${info.Name} has no bridge address`);
  return ip;
}

/** Creates and starts one container of `image` as the simulator would, and times it until its port accepts. */
async function bareStart(image: string, port: number): Promise<number> {
  const t0 = performance.now();
  const c = await daemon.docker.createContainer({
    Image: image,
    Env: [`PORT=${port}`],
    Labels: { [BENCH_LABEL]: 'cloud-run' },
    ExposedPorts: { [`${port}/tcp`]: {} },
    HostConfig: { Init: true, Memory: MEMORY, MemorySwap: MEMORY, NanoCpus: NANO_CPUS, RestartPolicy: { Name: 'no' } },
  });
  await c.start();
  const ip = await bridgeAddress(c);
  await waitFor(`bare container ${ip}:${port} to accept`, () => tcpOpen(ip, port, 1000), 30_000, 2);
  return performance.now() - t0;
}

async function removeBare(): Promise<void> {
  const ours = await daemon.docker.listContainers({ all: true, filters: { label: [BENCH_LABEL] } });
  await Promise.all(ours.map((c) => daemon.docker.getContainer(c.Id).remove({ force: true })));
}

// ---------------------------------------------------------------------------------------------
// a. Proxy overhead

async function startNginx(upstream: string): Promise<string> {
  const nginx = ['nginx', '/usr/sbin/nginx'].find((n) => n.includes('/') ? existsSync(n) : commandExists(n));
  if (!nginx) throw new Error('nginx not found: run bash test/infra/nginx.sh');
  const dir = tempDir('nginx');
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(path.join(dir, d));
  const port = await findFreePort();
  // A plain reverse proxy: one worker (the simulator is one Node process too), keep-alive to the
  // container, no request limit per client connection (the simulator and Node have none).
  writeFileSync(path.join(dir, 'nginx.conf'), `
daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  upstream app {
    server ${upstream};
    keepalive 128;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`);
  const child = spawn(nginx, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: 'ignore' });
  children.push(child);
  await waitFor('nginx to listen', () => {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}: ${readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
    return tcpOpen('127.0.0.1', port, 1000);
  }, 10_000);
  return `http://127.0.0.1:${port}`;
}

/**
 * The least a reverse proxy on node:http does: one keep-alive agent, headers copied, bodies piped.
 * A second reference beside nginx: what any proxy written on Node's http module costs here,
 * before it does anything Cloud Run-specific. Its own process, as nginx is.
 */
const NODE_PROXY = `
const http = require('node:http');
const [host, port, listen] = [process.argv[1], Number(process.argv[2]), Number(process.argv[3])];
const agent = new http.Agent({ keepAlive: true, maxSockets: 1000 });
http.createServer((req, res) => {
  const up = http.request({ host, port, method: req.method, path: req.url, headers: req.headers, agent }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  up.on('error', () => { res.statusCode = 502; res.end(); });
  req.pipe(up);
}).listen(listen, '127.0.0.1');
`;

async function startNodeProxy(host: string, port: number): Promise<string> {
  const listen = await findFreePort();
  const child = spawn(process.execPath, ['-e', NODE_PROXY, host, String(port), String(listen)], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  await waitFor('the node:http proxy to listen', () => {
    if (child.exitCode !== null) throw new Error(`the node:http proxy exited with ${child.exitCode}`);
    return tcpOpen('127.0.0.1', listen, 1000);
  }, 10_000);
  return `http://127.0.0.1:${listen}`;
}

async function proxyOverhead(): Promise<BenchResult[]> {
  // cpuThrottling false (CPU always allocated): with Cloud Run's default the simulator drops an
  // instance it sees idle to 0.01 CPU, and the direct, nginx and node:http paths bypass it, so
  // they would be measured against a throttled container (100-200 ms per request).
  const sim = await startSim({ containerConcurrency: 1000, minScale: 1, maxScale: 1, cpuThrottling: false });
  await waitFor('one ready instance', () => revision(sim.engine).instances.ready === 1, 20_000);
  const containers = await simContainers(sim);
  if (containers.length !== 1) throw new Error(`expected one instance container, found ${containers.length}`);
  const ip = await bridgeAddress(daemon.docker.getContainer(containers[0].Id));
  const direct = `http://${ip}:${sim.port}`;
  const viaNginx = await startNginx(`${ip}:${sim.port}`);
  const viaNode = await startNodeProxy(ip, sim.port);
  // All four answer the same instance before anything is measured.
  for (const u of [direct, viaNginx, viaNode, sim.url]) {
    const r = await get(`${u}/`);
    if (r.status !== 200) throw new Error(`${u}/ answered ${r.status}: ${r.body}`);
  }
  log(`proxy overhead: direct ${direct}, nginx ${viaNginx}, node:http proxy ${viaNode}, simulator ${sim.url}; ${LOAD_ROUNDS} rounds of ${LOAD_CONNECTIONS.length * 4} runs of ${WARMUP_SECONDS}+${LOAD_SECONDS} s`);

  const targets: LoadTarget[] = [];
  for (const connections of LOAD_CONNECTIONS) {
    for (const [name, url] of [['direct', direct], ['nginx', viaNginx], ['node-proxy', viaNode], ['simulator', sim.url]]) targets.push({ name, url: `${url}/`, connections });
  }
  const throttledBefore = cpuThrottling(containers[0].Id);
  const figures = await runLoad(targets);
  const throttledAfter = cpuThrottling(containers[0].Id);
  const silent = figures.filter((f) => f.responses === 0);
  if (silent.length) throw new Error(`no 2xx responses from ${silent.map((f) => `${f.name} (c=${f.connections}: ${f.non2xx} non-2xx, ${f.errors} errors)`).join(', ')}`);
  for (const f of figures) log(`  c=${f.connections} ${f.name.padEnd(10)} p50 ${ms(f.p50)}  p99 ${ms(f.p99)}  ${Math.round(f.rps)} req/s  (${f.responses} responses, ${f.non2xx} non-2xx, ${f.errors} errors)`);
  // The instance's 1 vCPU quota binds all four paths alike; a lot of throttling here means the
  // container, not the proxy, was the bottleneck.
  if (throttledBefore && throttledAfter) {
    log(`  instance container over its 1 vCPU quota in ${throttledAfter.periods - throttledBefore.periods} CFS periods, ${Math.round(throttledAfter.ms - throttledBefore.ms)} ms throttled in all`);
  }
  // The direct path is the floor: if it came out slower than the simulator, the container was
  // starved while the other paths ran (as with CPU throttling on, see above). Printed, flagged.
  const stalled = LOAD_CONNECTIONS.filter((c) => {
    const d = figures.find((f) => f.name === 'direct' && f.connections === c)!;
    const s = figures.find((f) => f.name === 'simulator' && f.connections === c)!;
    return d.rps < s.rps;
  });
  if (stalled.length) log(`  WARNING: direct was slower than the simulator at c=${stalled.join(', ')}: the proxy figures of this run are not valid`);
  const rev = revision(sim.engine);
  if (rev.coldStarts !== 1 || live(sim.engine) !== 1) log(`  WARNING: the simulator had ${live(sim.engine)} instance(s) and ${rev.coldStarts} cold start(s); expected exactly one`);

  const results: BenchResult[] = [];
  for (const connections of LOAD_CONNECTIONS) {
    const pick = (name: string) => figures.find((f) => f.name === name && f.connections === connections)!;
    const [d, n, np, s] = [pick('direct'), pick('nginx'), pick('node-proxy'), pick('simulator')];
    const failures = [d, n, np, s].filter((f) => f.non2xx || f.errors).map((f) => `${f.name}: ${f.non2xx} non-2xx, ${f.errors} errors`);
    const raw = `p50/p99: direct ${ms(d.p50)}/${ms(d.p99)}, nginx ${ms(n.p50)}/${ms(n.p99)}, node:http proxy ${ms(np.p50)}/${ms(np.p99)}, simulator ${ms(s.p50)}/${ms(s.p99)}${failures.length ? `; ${failures.join('; ')}` : ''}`;
    for (const p of ['p50', 'p99'] as const) {
      const simAdded = s[p] - d[p];
      const nginxAdded = n[p] - d[p];
      const nodeAdded = np[p] - d[p];
      // A proxy's share below 10% of the direct figure (or 0.01 ms) is within the noise between
      // runs, and a ratio to it means nothing: the row is left out rather than printed huge.
      const floor = Math.max(0.01, 0.1 * d[p]);
      const measurable = nginxAdded >= floor;
      results.push({
        name: `proxy c=${connections}: ${p} latency added by the simulator over direct`,
        value: simAdded, unit: 'ms',
        baseline: { name: 'added by nginx over direct', value: nginxAdded },
        note: [p === 'p50' ? raw : `node:http proxy adds ${ms(nodeAdded)}`, measurable ? '' : `nginx added less than ${ms(floor)}, within the noise: no ratio`].filter(Boolean).join('; '),
      });
      if (measurable) {
        results.push({
          name: `proxy c=${connections}: ${p} simulator-added / nginx-added`,
          value: simAdded / nginxAdded, unit: 'x',
          note: `target <= 1.5; simulator-added / node:http-proxy-added ${nodeAdded >= floor ? `${(simAdded / nodeAdded).toFixed(2)} x` : 'n/a'}`,
        });
      }
    }
    results.push({
      name: `proxy c=${connections}: simulator throughput, % of direct`,
      value: (100 * s.rps) / d.rps, unit: '%',
      baseline: { name: 'nginx, % of direct', value: (100 * n.rps) / d.rps },
      note: `${stalled.includes(connections) ? 'INVALID: direct was slower than the simulator (see the log); ' : ''}target >= 80%; node:http proxy ${((100 * np.rps) / d.rps).toFixed(1)} %; req/s: direct ${Math.round(d.rps)}, nginx ${Math.round(n.rps)}, node:http proxy ${Math.round(np.rps)}, simulator ${Math.round(s.rps)}; 2 cores shared by load generator, container and proxy`,
    });
  }
  return results;
}

// ---------------------------------------------------------------------------------------------
// b. Cold start overhead

async function coldStart(): Promise<BenchResult[]> {
  const sim = await startSim({}, TINY);
  const image = sim.engine.getState().services.web.image;
  if (!image) throw new Error('the engine reported no image for web');
  const bare: number[] = [];
  const cold: number[] = [];
  const request: number[] = [];
  log(`cold start: ${COLD_RUNS} bare starts and ${COLD_RUNS} simulator cold starts of ${image}, interleaved`);
  for (let i = 0; i < COLD_RUNS; i++) {
    bare.push(await bareStart(image, sim.port));
    await removeBare();

    await waitScaledToZero(sim);
    const before = revision(sim.engine).coldStarts;
    const r = await get(`${sim.url}/`);
    if (r.status !== 200) throw new Error(`cold request answered ${r.status}: ${r.body}`);
    // The store is published at most every 100 ms.
    await waitFor('the cold start in the store', () => revision(sim.engine).coldStarts === before + 1, 2_000);
    cold.push(revision(sim.engine).lastColdStartMs!);
    request.push(r.ms);
    log(`  ${i + 1}: bare ${ms(bare[i])}, simulator cold start ${ms(cold[i])}, cold request ${ms(r.ms)}`);
  }
  const errors = revision(sim.engine).errors;
  const spread = (xs: number[]) => `min ${ms(Math.min(...xs))}, max ${ms(Math.max(...xs))}`;
  return [
    {
      name: `cold start: simulator overhead (simulator cold start - bare), median of ${COLD_RUNS}`,
      value: median(cold) - median(bare), unit: 'ms',
      note: `target <= 50 ms; simulator ${ms(median(cold))} (${spread(cold)}), bare ${ms(median(bare))} (${spread(bare)})`,
    },
    {
      name: `cold start: simulator's measured cold start (lastColdStartMs), median of ${COLD_RUNS}`,
      value: median(cold), unit: 'ms',
      baseline: { name: 'bare dockerode create+start until TCP accepts', value: median(bare) },
      note: 'same image and HostConfig (init, 1 vCPU, 512Mi); simulator also starts the metadata server and follows logs',
    },
    {
      name: `cold start: latency of the request that caused it, median of ${COLD_RUNS}`,
      value: median(request), unit: 'ms',
      baseline: { name: 'bare dockerode create+start until TCP accepts', value: median(bare) },
      note: `${spread(request)}; request minus cold start, median ${ms(median(request.map((x, i) => x - cold[i])))}; simulator errors ${JSON.stringify(errors)}`,
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// c. Scale-out burst

async function burst(): Promise<BenchResult[]> {
  const sim = await startSim({ containerConcurrency: 1, maxScale: BURST_MAX_SCALE }, TINY);
  const image = sim.engine.getState().services.web.image!;

  // Baseline: 10 bare containers started at once, until all accept.
  const t0 = performance.now();
  await Promise.all(Array.from({ length: BURST_MAX_SCALE }, () => bareStart(image, sim.port)));
  const bareAll = performance.now() - t0;
  await removeBare();
  log(`burst: ${BURST_MAX_SCALE} bare containers in parallel all accepting after ${ms(bareAll)}`);

  await waitScaledToZero(sim);
  const status: Record<string, number> = {};
  let readyAt: number | undefined;
  let peak = 0;
  const start = performance.now();
  // The store, every 10 ms: when 10 instances are first ready, and the most ever running.
  const poll = setInterval(() => {
    const i = revision(sim.engine).instances;
    peak = Math.max(peak, i.ready + i.starting);
    if (readyAt === undefined && i.ready >= BURST_MAX_SCALE) readyAt = performance.now() - start;
  }, 10);
  let lastAnswer = 0;
  const replies = await Promise.all(Array.from({ length: BURST_REQUESTS }, () => get(`${sim.url}/slow?ms=${BURST_SLOW_MS}`, 120_000).then(
    (r) => { lastAnswer = performance.now() - start; return r.status; },
    (err: Error) => { lastAnswer = performance.now() - start; log(`  request failed: ${err.message}`); return 0; },
  )));
  clearInterval(poll);
  for (const s of replies) status[s] = (status[s] ?? 0) + 1;
  const rev = revision(sim.engine);
  const mix = [200, 429, 500, 503, 504].map((c) => `${c}: ${status[c] ?? 0}`).join(', ');
  const other = Object.entries(status).filter(([c]) => !['200', '429', '500', '503', '504'].includes(c)).map(([c, n]) => `${c === '0' ? 'no answer' : c}: ${n}`);
  log(`  10 ready after ${readyAt === undefined ? 'never' : ms(readyAt)}, last answer after ${ms(lastAnswer)}, peak ${peak} instances; ${mix}${other.length ? `, ${other.join(', ')}` : ''}`);
  log(`  simulator errors ${JSON.stringify(rev.errors)}, cold starts ${rev.coldStarts} (${rev.coldStartMs.map((x) => Math.round(x)).join(', ')} ms)`);
  // Lower bound for the whole burst: 10 instances, each serving 500 ms requests one at a time.
  const floor = (BURST_REQUESTS / BURST_MAX_SCALE) * BURST_SLOW_MS;
  return [
    // Never 10 ready: the row says so with the burst's whole duration as a lower bound (no NaN: results travel as JSON).
    {
      name: `burst: time to ${BURST_MAX_SCALE} ready instances (${BURST_REQUESTS} concurrent requests from zero, cc 1)`,
      value: readyAt ?? lastAnswer, unit: 'ms',
      baseline: { name: `${BURST_MAX_SCALE} bare containers started in parallel until all accept`, value: bareAll },
      note: `peak ${peak} instances (maxScale ${BURST_MAX_SCALE})${readyAt === undefined ? `; NEVER reached ${BURST_MAX_SCALE} ready (value is the whole burst)` : ''}`,
    },
    {
      name: `burst: duration until the last of ${BURST_REQUESTS} requests to /slow?ms=${BURST_SLOW_MS} is answered`,
      value: lastAnswer, unit: 'ms',
      baseline: { name: `bare parallel start + ${BURST_REQUESTS}/${BURST_MAX_SCALE} x ${BURST_SLOW_MS} ms of serving`, value: bareAll + floor },
      note: `status mix ${mix}${other.length ? `, ${other.join(', ')}` : ''}`,
    },
    {
      name: `burst: requests answered 200`,
      value: status[200] ?? 0, unit: `of ${BURST_REQUESTS}`,
      note: `429 after the queue wait bound (max(10 s, 3.5 x startup)) at maxScale is Cloud Run's behaviour; ${mix}`,
    },
  ];
}

// ---------------------------------------------------------------------------------------------

export async function run(): Promise<BenchResult[]> {
  const began = performance.now();
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore' });
    execFileSync('docker', ['image', 'inspect', 'devloop-test/node:20'], { stdio: 'ignore' });
  } catch {
    execFileSync('bash', [path.join(repo, 'test', 'infra', 'up.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  }
  if (!commandExists('nginx')) execFileSync('bash', [path.join(repo, 'test', 'infra', 'nginx.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  daemon = new DockerDaemon();
  await daemon.connect();
  // Anything else running skews every figure here (2 cores): say so.
  const others = (await daemon.docker.listContainers()).length;
  log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}; ${others} other container(s) running`);
  const results: BenchResult[] = [];
  try {
    // One engine at a time: each is stopped before the next bench, so none holds CPU or containers.
    results.push(...await proxyOverhead());
    await cleanup(false);
    results.push(...await coldStart());
    await cleanup(false);
    results.push(...await burst());
  } finally {
    await cleanup(true);
    log(`done in ${((performance.now() - began) / 1000).toFixed(0)} s`);
  }
  return results;
}

// `node --import tsx bench/cloud-run.bench.ts --load '<targets JSON>'`: the load generator.
if (process.argv[1] && path.resolve(process.argv[1]) === self && process.argv[2] === '--load') {
  loadMain(JSON.parse(process.argv[3]) as LoadTarget[]).then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
}
