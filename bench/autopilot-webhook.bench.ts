/**
 * What devloop's Autopilot admission webhook (plugins/autopilot/webhook/) costs a pod create
 * through the real API server of the test cluster: the latency of 200 sequential creates in a
 * namespace it admits, against the same creates in a namespace served by a no-op webhook (same
 * TLS, same two configurations, answers "allowed" at once) and in one with no webhook, all in the
 * same run. Pods are bound to a node that does not exist, so neither scheduler nor kubelet adds
 * work. Needs the test cluster (`bash test/infra/k8s-up.sh`).
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { AutopilotWebhook, configurations, makeCerts } from '../plugins/autopilot/webhook/index.js';
import { kubeconfig, kubectl } from '../test/k8s-helpers.js';
import { median, percentile, type BenchResult } from './types.js';

const CREATES = 200;
const WARMUP = 10;

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

/** Latencies (ms) of sequential pod creates in `namespace`, after a warm-up. */
async function creates(api: KubernetesObjectApi, namespace: string, label: string): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < WARMUP + CREATES; i++) {
    const t = performance.now();
    await api.create(pod(`${label}-${i}`, namespace));
    if (i >= WARMUP) out.push(performance.now() - t);
  }
  return out;
}

/** A webhook that allows everything at once, registered like devloop's, and the configurations to delete. */
async function noopWebhook(api: KubernetesObjectApi, namespace: string): Promise<{ close(): Promise<void>; seen(): number }> {
  const certs = await makeCerts();
  let calls = 0;
  const server = https.createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      calls++;
      const uid = JSON.parse(body).request.uid;
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid, allowed: true } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const objects = configurations(`devloop-bench-noop-${process.pid}`, url, certs.ca, [namespace], { 'devloop.dev/session': String(process.pid) });
  for (const o of objects) await api.patch(o, undefined, undefined, 'devloop-bench', true, PatchStrategy.ServerSideApply);
  // The API server picks configurations up asynchronously: dry-run creates until it calls us.
  for (let i = 0; calls === 0 && i < 100; i++) {
    await api.create(pod(`probe-${i}`, namespace), undefined, 'All').catch(() => undefined);
    if (calls === 0) await new Promise((r) => setTimeout(r, 100));
  }
  if (calls === 0) throw new Error('the API server never called the no-op webhook');
  return {
    seen: () => calls,
    async close() {
      for (const o of objects) await api.delete(o).catch(() => undefined);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

export async function run(): Promise<BenchResult[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const api = KubernetesObjectApi.makeApiClient(kc);
  const id = `${process.pid}-${Date.now().toString(36)}`;
  const [none, noop, devloop] = ['none', 'noop', 'devloop'].map((k) => `devloop-bench-apw-${k}-${id}`);
  for (const ns of [none, noop, devloop]) kubectl('create', 'namespace', ns);
  const logger = { info: () => {}, warn: (m: string) => console.error(m) };
  let webhook: AutopilotWebhook | undefined;
  let fake: Awaited<ReturnType<typeof noopWebhook>> | undefined;
  try {
    for (const ns of [none, noop, devloop]) await untilServiceAccount(api, ns);
    webhook = await AutopilotWebhook.start({ kc, logger, session: { 'devloop.dev/session': String(process.pid) } });
    if (!(await webhook.watch(devloop))) throw new Error('the webhook did not register');
    fake = await noopWebhook(api, noop);

    const plain = await creates(api, none, 'p');
    const baseline = await creates(api, noop, 'p');
    const before = fake.seen();
    const admitted = await creates(api, devloop, 'p');
    const check = JSON.parse(kubectl('get', 'pod', 'p-0', '-n', devloop, '-o', 'json'));
    if (!check.metadata.annotations?.['autopilot.gke.io/warden-version']) throw new Error('the pods were not admitted by devloop\'s webhook');
    if (fake.seen() !== before) throw new Error('the no-op webhook was called outside its namespace');

    const note = `${CREATES} sequential pod creates after ${WARMUP} warm-up; no webhook: p50 ${median(plain).toFixed(1)} ms, p99 ${percentile(plain, 99).toFixed(1)} ms`;
    return [
      { name: 'pod create p50, devloop Autopilot webhook', value: median(admitted), unit: 'ms', baseline: { name: 'no-op webhook', value: median(baseline) }, note },
      { name: 'pod create p99, devloop Autopilot webhook', value: percentile(admitted, 99), unit: 'ms', baseline: { name: 'no-op webhook', value: percentile(baseline, 99) } },
    ];
  } finally {
    await webhook?.stop();
    await fake?.close();
    for (const ns of [none, noop, devloop]) try { kubectl('delete', 'namespace', ns, '--wait=false'); } catch { /* best effort */ }
  }
}
