/**
 * Autopilot simulator speed:
 * - admission throughput (objects/s) over a mixed manifest set (the shop fixture: Deployments,
 *   StatefulSet, Jobs, CronJob, DaemonSet, GPU and Spot workloads, Services), against the floor of
 *   any copy-on-write admission: structuredClone of the same objects plus a walk of their
 *   containers' resources;
 * - the time to plan 10,000 pending pods onto simulated nodes, against a naive first-fit of the
 *   same pods (resources only, no taints, affinity, zones or reasons).
 * Targets: >= 20,000 objects/s; <= 1 s for 10,000 pods.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { admit } from '../plugins/autopilot/admission.js';
import { readManifests } from '../plugins/autopilot/manifests.js';
import { plan, type PlanPod } from '../plugins/autopilot/scheduler.js';
import { resolveSettings } from '../plugins/autopilot/settings.js';
import type { K8sObject, PodSpec } from '../plugins/autopilot/types.js';
import { podTemplate } from '../plugins/autopilot/workload.js';
import { median, type BenchResult } from './types.js';

const shop = path.resolve(new URL('../test/fixtures/autopilot-shop', import.meta.url).pathname);

function walk(obj: K8sObject): number {
  const t = podTemplate(obj);
  let n = 0;
  for (const c of [...(t?.spec.initContainers ?? []), ...(t?.spec.containers ?? [])]) n += Object.keys(c.resources?.requests ?? {}).length;
  return n;
}

function timeOps(objects: K8sObject[], rounds: number, fn: (o: K8sObject) => unknown): number {
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (const o of objects) fn(o);
    rates.push(objects.length / ((performance.now() - t) / 1000));
  }
  return median(rates);
}

function pods10k(): PlanPod[] {
  const settings = resolveSettings({});
  const shapes: [string, number, Record<string, unknown>][] = [
    ['web', 5000, { cpu: '250m', memory: '512Mi' }],
    ['api', 2500, { cpu: '1', memory: '2Gi' }],
    ['worker', 1500, { cpu: '500m', memory: '1Gi', spot: true }],
    ['cache', 900, { cpu: '2', memory: '8Gi', cls: 'Balanced' }],
    ['gpu', 100, { cpu: '4', memory: '16Gi', gpu: 'nvidia-l4' }],
  ];
  const out: PlanPod[] = [];
  for (const [name, n, s] of shapes) {
    const nodeSelector: Record<string, string> = {};
    if (s.spot) nodeSelector['cloud.google.com/gke-spot'] = 'true';
    if (s.cls) nodeSelector['cloud.google.com/compute-class'] = String(s.cls);
    if (s.gpu) nodeSelector['cloud.google.com/gke-accelerator'] = String(s.gpu);
    const r = admit({ kind: 'Pod', metadata: { name }, spec: { nodeSelector, containers: [{ name: 'c', resources: { requests: { cpu: s.cpu, memory: s.memory }, ...(s.gpu ? { limits: { 'nvidia.com/gpu': 1 } } : {}) } }] } }, settings);
    for (let i = 0; i < n; i++) out.push({ name: `${name}-${i}`, labels: { app: name }, spec: r.mutated.spec as PodSpec, requests: r.podRequests, placement: r.placement });
  }
  return out;
}

/** First-fit on CPU and memory into 4 vCPU / 16 GiB bins: the least a planner can do. */
function naiveFirstFit(pods: PlanPod[]): number {
  const bins: { cpu: number; mem: number }[] = [];
  for (const p of pods) {
    const r = p.requests!;
    let bin = bins.find((b) => b.cpu >= r.cpuMilli && b.mem >= r.memoryBytes);
    if (!bin) { bin = { cpu: Math.max(3920, r.cpuMilli), mem: Math.max(13 * 1024 ** 3, r.memoryBytes) }; bins.push(bin); }
    bin.cpu -= r.cpuMilli;
    bin.mem -= r.memoryBytes;
  }
  return bins.length;
}

export async function run(): Promise<BenchResult[]> {
  const manifests = (await readManifests(['manifests'], { cwd: shop })).map((m) => m.object);
  // ~2,000 objects per round: the shop repeated, names varied so nothing is cached by identity.
  const objects: K8sObject[] = [];
  for (let i = 0; i < 72; i++) for (const m of manifests) objects.push({ ...structuredClone(m), metadata: { ...m.metadata, name: `${m.metadata?.name}-${i}` } });
  const settings = resolveSettings({});
  timeOps(objects, 2, (o) => admit(o, settings)); // warm up
  const admitRate = timeOps(objects, 15, (o) => admit(o, settings));
  const cloneRate = timeOps(objects, 15, (o) => walk(structuredClone(o)));
  const workloads = objects.filter((o) => podTemplate(o));
  const admitWorkloads = timeOps(workloads, 15, (o) => admit(o, settings));
  const cloneWorkloads = timeOps(workloads, 15, (o) => walk(structuredClone(o)));
  const oldSettings = resolveSettings({ gkeVersion: '1.29.8-gke.1211000' });
  const admitOld = timeOps(objects, 15, (o) => admit(o, oldSettings));

  const pods = pods10k();
  plan(pods.slice(0, 1000), { provisioning: 'fast' }); // warm up
  const planMs: number[] = [];
  const naiveMs: number[] = [];
  let nodes = 0;
  let bins = 0;
  for (let i = 0; i < 5; i++) {
    let t = performance.now();
    nodes = plan(pods, { provisioning: 'fast' }).nodes.length;
    planMs.push(performance.now() - t);
    t = performance.now();
    bins = naiveFirstFit(pods);
    naiveMs.push(performance.now() - t);
  }
  return [
    { name: 'admission throughput (bursting cluster)', value: Math.round(admitRate), unit: 'objects/s', baseline: { name: 'structuredClone + walk of the same objects', value: Math.round(cloneRate) }, note: `${objects.length} objects a round (shop fixture x72), median of 15; target >= 20000` },
    { name: 'admission throughput, workloads only', value: Math.round(admitWorkloads), unit: 'objects/s', baseline: { name: 'structuredClone + walk of the same objects', value: Math.round(cloneWorkloads) }, note: `${workloads.length} pod-bearing objects a round` },
    { name: 'admission throughput (pre-bursting cluster)', value: Math.round(admitOld), unit: 'objects/s', baseline: { name: 'structuredClone + walk of the same objects', value: Math.round(cloneRate) } },
    { name: 'plan 10,000 pending pods', value: median(planMs), unit: 'ms', baseline: { name: 'naive first-fit, resources only', value: median(naiveMs) }, note: `${nodes} nodes planned (first-fit: ${bins} bins); 5 classes incl. Spot, Balanced, GPU; median of 5; target <= 1000 ms` },
  ];
}
