/**
 * What devloop's Autopilot admission webhook (plugins/autopilot/webhook/) costs a pod create
 * through the real API server of the test cluster under load: an open-loop arrival rate of 200
 * creates/s (a fixed schedule of send times, not one create after another, several in flight on
 * keep-alive connections), against a no-op webhook (same TLS, same two configurations, answers
 * "allowed" at once) and against no webhook, all in the same run.
 *
 * The variants share one schedule and take turns in 250 ms slices (a namespace each, the order
 * shuffled each round), so whatever else loads the machine (the API server and etcd share its
 * cores with this process) hits all alike, and none always follows the same one. Latency is the
 * client's, from the actual send to the response; a send the pool held back counts as late, and
 * a rate the client or the cluster cannot sustain shows as an achieved rate below the target:
 * the figures are then those at the achieved rate. The webhooks' own handling time (request
 * headers in to response written, per AdmissionReview, two per create) is measured on both
 * servers, and the API server's own timing of each webhook call (a mean, from its metrics).
 * Pods are bound to a node that does not exist, so neither scheduler nor kubelet adds work; the
 * pods (one collection delete), namespaces and webhook configurations are deleted at the end, on
 * failure and on SIGINT/SIGTERM too. Needs the test cluster (`bash test/infra/k8s-up.sh`).
 *
 * DEVLOOP_BENCH_APW_RATE (creates/s, default 200) and DEVLOOP_BENCH_APW_SECONDS (measured seconds
 * per variant, default 10) change the load; DEVLOOP_BENCH_APW_PATCHING_NOOP=1 adds the `patch`
 * variant below.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import { AutopilotWebhook, configurations, makeCerts, mutate } from '../plugins/autopilot/webhook/index.js';
import { MUTATOR_WEBHOOK } from '../plugins/autopilot/webhook/server.js';
import { WARDEN_WEBHOOK } from '../plugins/autopilot/warden.js';
import { kubeconfig, kubectl, kubectlWithin } from '../test/k8s-helpers.js';
import { median, percentile, type BenchResult } from './types.js';

const RATE = Number(process.env.DEVLOOP_BENCH_APW_RATE ?? 200);
const SECONDS = Number(process.env.DEVLOOP_BENCH_APW_SECONDS ?? 10);
/**
 * Each variant's turn on the schedule: short, so that a stall (a GC, an etcd compaction, another
 * process) spreads over all three rather than landing in one variant's p99.
 */
const SLICE_MS = 250;
/** Unmeasured turns per variant first (1 s each): connections opened, caches and JIT warm. */
const WARMUP_SLICES = 4;
/**
 * Creates in flight at most. At 200/s and the ~5-20 ms a create takes here that is 1-4; 64
 * leaves room for stalls (a GC, an etcd fsync) without letting the client pile up more requests
 * than the API server would admit (--max-mutating-requests-inflight is 200). A full pool delays
 * sends, which shows in the achieved rate.
 */
const MAX_IN_FLIGHT = 64;
const REQUEST_TIMEOUT_MS = 30_000;
/**
 * Below this share of the target the rate counts as not sustained; above this share of sends
 * more than 10 ms late (held back by a full pool, then sent in a burst) it was not steady.
 */
const SUSTAINED = 0.95;
const LATE_SHARE = 0.05;
const TARGET_RATIO = 1.5;

/**
 * `patch` (DEVLOOP_BENCH_APW_PATCHING_NOOP=1) is the no-op server answering the mutator with the
 * very patch devloop's answers for these pods: it separates what the API server spends applying
 * a mutation and storing the bigger pod from what devloop's server costs.
 */
type Variant = 'devloop' | 'noop' | 'none' | 'patch';
const VARIANTS: Variant[] = ['devloop', 'noop', 'none', ...(process.env.DEVLOOP_BENCH_APW_PATCHING_NOOP === '1' ? ['patch' as const] : [])];

const pod = (name: string, namespace: string) => ({
  apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace },
  spec: { nodeName: 'devloop-bench-nowhere', containers: [{ name: 'app', image: '127.0.0.1:5001/devloop-test/busybox:latest', resources: { requests: { cpu: '100m', memory: '128Mi' } } }] },
});

async function untilServiceAccount(api: KubernetesObjectApi, namespace: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try { await api.read({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace } }); return; } catch { await new Promise((r) => setTimeout(r, 100)); }
  }
  throw new Error(`namespace ${namespace} got no default ServiceAccount in 30 s`);
}

/**
 * Handling time (ms) of each request `server` answers while `on()` says so. Listeners run in the
 * order added, so this one starts just after the server's own handler has attached its body
 * listeners: all of reading, parsing, reviewing and writing is inside.
 */
function timeRequests(server: https.Server, on: () => boolean): { times: number[]; connections: number } {
  const out = { times: [] as number[], connections: 0 };
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (!on()) return;
    const t = performance.now();
    res.once('finish', () => out.times.push(performance.now() - t));
  });
  // New TLS connections mid-run would mean the API server is not reusing them: a handshake per review.
  server.on('secureConnection', () => { if (on()) out.connections++; });
  return out;
}

/** A webhook that allows everything at once (with `patch` on /mutate if given), served and registered like devloop's. */
async function noopWebhook(api: KubernetesObjectApi, namespace: string, name: string, patch?: string) {
  const certs = await makeCerts();
  const calls = { inNamespace: 0, elsewhere: 0 };
  const server = https.createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = JSON.parse(Buffer.concat(chunks).toString('utf8')).request;
      if (request.namespace === namespace) calls.inNamespace++; else calls.elsewhere++;
      const patched = patch && req.url === '/mutate' ? { patchType: 'JSONPatch', patch } : {};
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: request.uid, allowed: true, ...patched } }));
    });
  });
  // As devloop's server: the API server's idle connections must not be closed between slices.
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const objects = configurations(`devloop-bench-${name}-${process.pid}`, url, certs.ca, [namespace], { 'devloop.dev/session': String(process.pid) });
  // Names of their own, so the API server's metrics tell its calls from devloop's.
  for (const o of objects) for (const w of (o as { webhooks: { name: string }[] }).webhooks) w.name = `${name}-${w.name.split('.')[0]}.bench.devloop.dev`;
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const o of objects) await api.delete(o).catch(() => undefined);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  return {
    server, calls, close,
    async register() {
      for (const o of objects) await api.patch(o, undefined, undefined, 'devloop-bench', true, PatchStrategy.ServerSideApply);
      // The API server picks configurations up asynchronously: dry-run creates until it calls us.
      for (let i = 0; calls.inNamespace === 0 && i < 100; i++) {
        await api.create(pod(`probe-${i}`, namespace), undefined, 'All').catch(() => undefined);
        if (calls.inNamespace === 0) await new Promise((r) => setTimeout(r, 100));
      }
      if (calls.inNamespace === 0) throw new Error('the API server never called the no-op webhook');
    },
  };
}

/** POSTs pods to the API server on keep-alive connections (the client library opens a new agent, so a new TLS connection, per request). */
async function podPoster(kc: KubeConfig) {
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const server = new URL(kc.getCurrentCluster()!.server);
  const agent = new https.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized ?? true });
  let closed = false;
  const request = (method: string, path: string, body = '') => new Promise<{ status: number; body: string }>((resolve, reject) => {
    if (closed) { reject(new Error(`${method} ${path}: the bench's API client is closed`)); return; }
    const req = https.request({
      protocol: server.protocol, hostname: server.hostname, port: server.port, agent, method, path, timeout: REQUEST_TIMEOUT_MS,
      headers: { ...(opts.headers ?? {}), 'Content-Type': 'application/json', Accept: 'application/json', 'Content-Length': Buffer.byteLength(body) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  });
  return {
    post: (namespace: string, object: KubernetesObject) => request('POST', `/api/v1/namespaces/${namespace}/pods`, JSON.stringify(object)),
    /** Mean seconds and calls so far of each admission webhook, by name, from the API server's metrics. */
    async webhookMetrics(): Promise<Map<string, { sum: number; count: number }>> {
      const { status, body } = await request('GET', '/metrics');
      if (status !== 200) throw new Error(`GET /metrics answered HTTP ${status}: ${body.slice(0, 200)}`);
      const out = new Map<string, { sum: number; count: number }>();
      for (const m of body.matchAll(/^apiserver_admission_webhook_admission_duration_seconds_(sum|count)\{name="([^"]+)"[^}]*\} (\S+)$/gm)) {
        const e = out.get(m[2]) ?? { sum: 0, count: 0 };
        e[m[1] as 'sum' | 'count'] += Number(m[3]);
        out.set(m[2], e);
      }
      return out;
    },
    close: () => { closed = true; agent.destroy(); },
  };
}

interface Outcome { latencies: number[]; errors: Map<string, number>; sent: number }

/**
 * Sends creates on a fixed schedule, `RATE` per second, the variant changing every `SLICE_MS`,
 * whatever the answers take (open loop); only a full pool of `MAX_IN_FLIGHT` delays a send.
 */
async function drive(post: (ns: string, o: KubernetesObject) => Promise<{ status: number; body: string }>, namespaces: Record<Variant, string>, onMeasure: (on: boolean) => void, signal: AbortSignal) {
  const perSlice = Math.max(1, Math.round((RATE * SLICE_MS) / 1000));
  const slices = VARIANTS.length * (WARMUP_SLICES + Math.ceil((SECONDS * 1000) / SLICE_MS));
  const total = slices * perSlice;
  const firstMeasured = VARIANTS.length * WARMUP_SLICES * perSlice;
  const turns: Variant[] = [];
  while (turns.length < slices) {
    const round = [...VARIANTS];
    for (let k = round.length - 1; k > 0; k--) { const j = Math.floor(Math.random() * (k + 1)); [round[k], round[j]] = [round[j], round[k]]; }
    turns.push(...round);
  }
  const names = {} as Record<Variant, string>;
  const interval = 1000 / RATE;
  const outcome = Object.fromEntries(VARIANTS.map((v) => [v, { latencies: [], errors: new Map(), sent: 0 } as Outcome])) as Record<Variant, Outcome>;
  let inFlight = 0;
  let slot: (() => void) | undefined;
  const pending = new Set<Promise<void>>();
  let measuredStart = 0;
  let measuredDue = 0;
  let maxLate = 0;
  let late = 0;
  let maxInFlight = 0;
  // How busy this process (client and webhook servers alike) is in each variant's turns.
  const busy = Object.fromEntries(VARIANTS.map((v) => [v, { idle: 0, active: 0 }])) as Record<Variant, { idle: number; active: number }>;
  let elu = performance.eventLoopUtilization();
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const due = t0 + i * interval;
    const wait = due - performance.now();
    if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
    while (inFlight >= MAX_IN_FLIGHT) await new Promise<void>((r) => { slot = r; });
    // Cleaning up after a signal: pods created now would outlive the collection delete.
    signal.throwIfAborted();
    const variant = turns[Math.floor(i / perSlice)];
    const measured = i >= firstMeasured;
    if (i % perSlice === 0 && i > firstMeasured) {
      const d = performance.eventLoopUtilization(elu);
      busy[turns[i / perSlice - 1]].idle += d.idle; busy[turns[i / perSlice - 1]].active += d.active;
    }
    if (i % perSlice === 0) elu = performance.eventLoopUtilization();
    if (measured) names[variant] ??= `${variant}-${i}`;
    const sent = performance.now();
    if (i === firstMeasured) { measuredStart = sent; measuredDue = due; onMeasure(true); }
    if (measured) { maxLate = Math.max(maxLate, sent - due); if (sent - due > 10) late++; outcome[variant].sent++; }
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const p: Promise<void> = post(namespaces[variant], pod(`${variant}-${i}`, namespaces[variant])).then(
      ({ status, body }) => {
        if (!measured) return;
        if (status === 201) { outcome[variant].latencies.push(performance.now() - sent); return; }
        let message = body.slice(0, 300);
        try { message = JSON.parse(body).message ?? message; } catch { /* not a Status */ }
        const key = `HTTP ${status}: ${message}`;
        outcome[variant].errors.set(key, (outcome[variant].errors.get(key) ?? 0) + 1);
      },
      (err: Error) => { if (measured) outcome[variant].errors.set(err.message, (outcome[variant].errors.get(err.message) ?? 0) + 1); },
    ).finally(() => {
      inFlight--;
      pending.delete(p);
      const s = slot; slot = undefined; s?.();
    });
    pending.add(p);
  }
  const lastSend = performance.now();
  await Promise.all([...pending]);
  onMeasure(false);
  const measuredSends = total - firstMeasured;
  return {
    outcome,
    /** Sends per second over the measured part, from its first scheduled send (a late start must not inflate it). */
    achieved: (measuredSends - 1) / ((lastSend - measuredDue) / 1000),
    /** Successful creates per second, first measured send to last answer. */
    completed: VARIANTS.reduce((n, v) => n + outcome[v].latencies.length, 0) / ((performance.now() - measuredStart) / 1000),
    maxLate, maxInFlight, late,
    /** Share of each variant's turns this process's event loop was busy. */
    busy: Object.fromEntries(VARIANTS.map((v) => [v, busy[v].active / (busy[v].active + busy[v].idle || 1)])) as Record<Variant, number>,
    /** A pod of each variant created in the measured part. */
    names,
  };
}

const ms = (x: number | undefined) => (x === undefined ? 'n/a' : `${x.toFixed(1)} ms`);
const errorCount = (o: Outcome) => [...o.errors.values()].reduce((a, b) => a + b, 0);

export async function run(): Promise<BenchResult[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = KubernetesObjectApi.makeApiClient(kc);
  const id = `${process.pid}-${Date.now().toString(36)}`;
  const namespaces = Object.fromEntries(VARIANTS.map((v) => [v, `devloop-bench-apw-${v}-${id}`])) as Record<Variant, string>;
  const created: string[] = [];
  const logger = { info: () => {}, warn: (m: string) => console.error(m) };
  let webhook: AutopilotWebhook | undefined;
  let fake: Awaited<ReturnType<typeof noopWebhook>> | undefined;
  let patching: Awaited<ReturnType<typeof noopWebhook>> | undefined;
  let poster: Awaited<ReturnType<typeof podPoster>> | undefined;
  let cleaning: Promise<void> | undefined;
  const stopping = new AbortController();
  // Configurations first (failurePolicy Fail must not outlive the servers), then pods and namespaces.
  const cleanup = () => cleaning ??= (async () => {
    stopping.abort(new Error('the bench was stopped'));
    poster?.close();
    await webhook?.stop().catch((err) => console.error(`autopilot-webhook bench: stopping devloop's webhook: ${err}`));
    for (const f of [fake, patching]) await f?.close().catch((err) => console.error(`autopilot-webhook bench: removing a no-op webhook: ${err}`));
    // Pods bound to a node that does not exist never finish a graceful delete: left to the
    // namespace controller they wait for the pod GC, which removes thousands at ~20/s. One
    // collection delete with no grace period per namespace takes seconds.
    const core = kc.makeApiClient(CoreV1Api);
    await Promise.all(created.map((namespace) => core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 }).catch((err) => console.error(`autopilot-webhook bench: deleting the pods of namespace ${namespace}: ${err instanceof Error ? err.message : String(err)}`))));
    if (created.length) try { kubectl('delete', 'namespace', ...created, '--ignore-not-found', '--wait=false'); } catch (err) { console.error(`autopilot-webhook bench: ${(err as Error).message}; delete them with "kubectl delete namespace ${created.join(' ')}"`); }
  })();
  const onSignal = (signal: NodeJS.Signals) => { void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143)); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let ok = false;
  try {
    for (const ns of Object.values(namespaces)) { kubectl('create', 'namespace', ns); created.push(ns); }
    for (const ns of created) await untilServiceAccount(api, ns);
    webhook = await AutopilotWebhook.start({ kc, logger, session: { 'devloop.dev/session': String(process.pid) } });
    if (!(await webhook.watch(namespaces.devloop))) throw new Error('the webhook did not register');
    fake = await noopWebhook(api, namespaces.noop, 'noop');
    await fake.register();
    if (namespaces.patch) {
      const review = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'bench', kind: { group: '', version: 'v1', kind: 'Pod' }, namespace: namespaces.patch, operation: 'CREATE' as const, object: pod('x', namespaces.patch) } };
      const patch = mutate(review, {}).response.patch;
      if (!patch) throw new Error('devloop\'s mutator returned no patch for the bench pod: the patching no-op would be a plain no-op');
      patching = await noopWebhook(api, namespaces.patch, 'patch', patch);
      await patching.register();
    }
    poster = await podPoster(kc);

    let measuring = false;
    const servers: [Variant, https.Server][] = [['devloop', webhook.httpsServer], ['noop', fake.server], ...(patching ? [['patch', patching.server] as [Variant, https.Server]] : [])];
    const serverSide = new Map(servers.map(([v, s]) => [v, timeRequests(s, () => measuring)]));
    const callsBefore = { ...fake.calls };
    const metricsBefore = await poster.webhookMetrics();
    const result = await drive(poster.post, namespaces, (on) => { measuring = on; }, stopping.signal);
    const { outcome } = result;
    const metricsAfter = await poster.webhookMetrics();
    // Mean ms per call as the API server times it (its histograms are too coarse for percentiles).
    const apiServerMean = (webhook: string) => {
      const a = metricsAfter.get(webhook); const b = metricsBefore.get(webhook) ?? { sum: 0, count: 0 };
      return a && a.count > b.count ? ((a.sum - b.sum) / (a.count - b.count)) * 1000 : undefined;
    };
    const webhookNames = (v: Variant) => (v === 'devloop' ? [MUTATOR_WEBHOOK, WARDEN_WEBHOOK] : [`${v}-${MUTATOR_WEBHOOK.split('.')[0]}.bench.devloop.dev`, `${v}-${WARDEN_WEBHOOK.split('.')[0]}.bench.devloop.dev`]);
    const apiServerView = [...serverSide.keys()].map((v) => { const [m, w] = webhookNames(v).map(apiServerMean); return `${v} mutate ${ms(m)}, validate ${ms(w)}`; }).join('; ');

    const check = JSON.parse(kubectl('get', 'pod', result.names.devloop, '-n', namespaces.devloop, '-o', 'json'));
    if (!check.metadata.annotations?.['autopilot.gke.io/warden-version']) throw new Error('the pods were not admitted by devloop\'s webhook');
    if (fake.calls.elsewhere !== callsBefore.elsewhere) throw new Error(`the no-op webhook was called ${fake.calls.elsewhere - callsBefore.elsewhere} times outside its namespace`);

    const lat = Object.fromEntries(VARIANTS.map((v) => [v, { p50: median(outcome[v].latencies), p99: percentile(outcome[v].latencies, 99) }])) as Record<Variant, { p50: number; p99: number }>;
    const srv = (xs: number[]) => (xs.length ? { p50: median(xs), p99: percentile(xs, 99) } : undefined);
    const server = new Map([...serverSide].map(([v, t]) => [v, srv(t.times)]));
    const [devloopServer, noopServer] = [server.get('devloop'), server.get('noop')];
    const ratio = { p50: lat.devloop.p50 / lat.noop.p50, p99: lat.devloop.p99 / lat.noop.p99 };
    const met = ratio.p50 <= TARGET_RATIO && ratio.p99 <= TARGET_RATIO;
    const sustained = result.achieved >= SUSTAINED * RATE;
    const steady = result.late <= LATE_SHARE * VARIANTS.length * outcome.devloop.sent;

    const load = `${RATE}/s open loop for ${SECONDS} s per variant (${SLICE_MS} ms slices, order shuffled each round, ${WARMUP_SLICES} warm-up slices each, <= ${MAX_IN_FLIGHT} in flight)`;
    const rate = `achieved ${result.achieved.toFixed(1)} sends/s, ${result.completed.toFixed(1)} successful creates/s${!sustained ? ` - ${RATE}/s NOT sustained, figures are at the achieved rate` : steady ? '' : ` - ${RATE}/s reached only in bursts after stalls (cluster saturated)`}; most in flight ${result.maxInFlight}, ${result.late} sends more than 10 ms behind schedule (worst ${result.maxLate.toFixed(0)} ms)`;
    const verdict = `devloop/no-op: p50 ${ratio.p50.toFixed(2)}x, p99 ${ratio.p99.toFixed(2)}x - target <= ${TARGET_RATIO}x ${met ? 'MET' : 'NOT MET'}`;
    console.error(`autopilot-webhook: ${load}`);
    console.error(`autopilot-webhook: ${rate}`);
    for (const v of VARIANTS) {
      const t = serverSide.get(v);
      console.error(`autopilot-webhook: ${v.padEnd(7)} creates ${outcome[v].sent}, ok ${outcome[v].latencies.length}, errors ${errorCount(outcome[v])}; event loop busy ${(result.busy[v] * 100).toFixed(0)}%; client p50 ${ms(lat[v].p50)}, p90 ${ms(percentile(outcome[v].latencies, 90))}, p99 ${ms(lat[v].p99)}`
        + (t ? `; webhook handling per review p50 ${ms(server.get(v)?.p50)}, p99 ${ms(server.get(v)?.p99)} (${t.times.length} reviews, ${t.connections} new TLS connections)` : ''));
      for (const [e, n] of outcome[v].errors) console.error(`autopilot-webhook:   ${n} x ${e}`);
    }
    console.error(`autopilot-webhook: webhook call as the API server times it, mean over the run incl. warm-up: ${apiServerView}`);
    console.error(`autopilot-webhook: ${verdict}`);
    const vsPatch = namespaces.patch ? `devloop/patching no-op: p50 ${(lat.devloop.p50 / lat.patch.p50).toFixed(2)}x, p99 ${(lat.devloop.p99 / lat.patch.p99).toFixed(2)}x` : '';
    if (vsPatch) console.error(`autopilot-webhook: ${vsPatch}`);
    ok = true;
    const note = `${load}; ${rate}`;
    const target = `${verdict}; no webhook: p50 ${ms(lat.none.p50)}, p99 ${ms(lat.none.p99)}`;
    return [
      { name: `pod create p50 at ${RATE}/s, devloop Autopilot webhook`, value: lat.devloop.p50, unit: 'ms', baseline: { name: 'no-op webhook', value: lat.noop.p50 }, note },
      { name: `pod create p99 at ${RATE}/s, devloop Autopilot webhook`, value: lat.devloop.p99, unit: 'ms', baseline: { name: 'no-op webhook', value: lat.noop.p99 }, note: target },
      ...(namespaces.patch ? [
        { name: `pod create p50 at ${RATE}/s, devloop Autopilot webhook`, value: lat.devloop.p50, unit: 'ms', baseline: { name: 'no-op webhook returning the same patch', value: lat.patch.p50 }, note: vsPatch },
        { name: `pod create p99 at ${RATE}/s, devloop Autopilot webhook`, value: lat.devloop.p99, unit: 'ms', baseline: { name: 'no-op webhook returning the same patch', value: lat.patch.p99 } },
      ] : []),
      ...(devloopServer && noopServer ? [
        { name: 'webhook handling per review p50, devloop', value: devloopServer.p50, unit: 'ms', baseline: { name: 'no-op webhook', value: noopServer.p50 }, note: `request headers in to response written, in this process; as the API server times a call (mean, incl. warm-up): ${apiServerView}` },
        { name: 'webhook handling per review p99, devloop', value: devloopServer.p99, unit: 'ms', baseline: { name: 'no-op webhook', value: noopServer.p99 } },
      ] : []),
      { name: 'pod creates/s achieved (all variants)', value: result.achieved, unit: '/s', baseline: { name: 'target', value: RATE }, note: !sustained ? 'rate not sustained' : steady ? '' : 'reached only in bursts' },
      { name: 'failed pod creates, devloop webhook', value: errorCount(outcome.devloop), unit: '', baseline: { name: 'no-op webhook', value: errorCount(outcome.noop) }, note: `no webhook: ${errorCount(outcome.none)}` },
    ];
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
    // On success, wait so the next bench does not pay for the deletion.
    if (ok && created.length) try { kubectlWithin(200_000, 'wait', '--for=delete', ...created.map((n) => `namespace/${n}`), '--timeout=180s'); } catch (err) { console.error(`autopilot-webhook bench: ${(err as Error).message}`); }
  }
}
