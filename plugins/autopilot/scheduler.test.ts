import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admit } from './admission.js';
import { CLUSTER_FEE_HOUR, POD_PRICES } from './data.js';
import { usd } from './estimate.js';
import { plan, type PlanPod } from './scheduler.js';
import type { PodSpec } from './types.js';

/** Admitted pods, as the CLI builds them: replicas share one spec object. */
function pods(name: string, n: number, spec: Partial<PodSpec> & { cpu?: string; memory?: string; gpu?: number } = {}, extra: Partial<PlanPod> = {}): PlanPod[] {
  const { cpu = '500m', memory = '2Gi', gpu, ...rest } = spec;
  const limits = gpu ? { 'nvidia.com/gpu': gpu } : undefined;
  const r = admit({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { app: name } }, spec: { containers: [{ name: 'c', resources: { requests: { cpu, memory, 'ephemeral-storage': '1Gi' }, ...(limits ? { limits } : {}) } }], ...rest } });
  assert.equal(r.allowed, true, r.message);
  return Array.from({ length: n }, (_, i) => ({ name: n === 1 ? name : `${name}-${i}`, labels: { app: name }, spec: r.mutated.spec, requests: r.podRequests, placement: r.placement, owner: name, ...extra }));
}

const nodeOf = (p: ReturnType<typeof plan>, pod: string) => p.placements.find((x) => x.pod === pod)!.node!;
const nodeNamed = (p: ReturnType<typeof plan>, name: string) => p.nodes.find((n) => n.name === name)!;

describe('scheduler', () => {
  it('pods that fit share a node, provisioned once for the batch', () => {
    const p = plan(pods('web', 3, { cpu: '500m', memory: '1Gi' }), { provisioning: 'fast' });
    assert.equal(p.nodes.length, 1);
    assert.deepEqual(p.nodes[0].pods, ['web-0', 'web-1', 'web-2']);
    assert.equal(p.nodes[0].machineType, 'e2-standard-2');
    assert.deepEqual(p.placements.map((x) => x.decision), ['new-node', 'upcoming-node', 'upcoming-node']);
    assert.match(p.placements[0].reason, /provisioned e2-standard-2 \(general-purpose, on-demand, us-central1-a\) sized for 3 pending pods/);
  });

  it('a GPU pod gets its own GPU node; two GPU pods get two', () => {
    const p = plan([...pods('web', 2), ...pods('llm', 2, { cpu: '4', memory: '16Gi', nodeSelector: { 'cloud.google.com/gke-accelerator': 'nvidia-l4' }, gpu: 1 })], { provisioning: 'fast' });
    const a = nodeNamed(p, nodeOf(p, 'llm-0'));
    const b = nodeNamed(p, nodeOf(p, 'llm-1'));
    assert.notEqual(a.name, b.name);
    for (const n of [a, b]) {
      assert.deepEqual(n.gpu, { type: 'nvidia-l4', count: 1 });
      assert.equal(n.family, 'g2');
      assert.equal(n.pods.length, 1);
      assert.deepEqual(n.taints.map((t) => t.key), ['cloud.google.com/compute-class', 'nvidia.com/gpu']);
    }
    assert.equal(nodeNamed(p, nodeOf(p, 'web-0')).gpu, undefined);
    assert.equal(a.readyAt - a.createdAt, 5, 'GPU nodes take the GPU boot time');
  });

  it('Spot pods land only on Spot nodes, and on-demand pods never do', () => {
    const p = plan([...pods('batch', 4, { nodeSelector: { 'cloud.google.com/gke-spot': 'true' } }), ...pods('api', 2)], { provisioning: 'fast' });
    for (const x of p.placements) {
      const n = nodeNamed(p, x.node!);
      assert.equal(n.spot, x.pod.startsWith('batch'), `${x.pod} on ${n.name}`);
    }
    const api = p.placements.find((x) => x.pod === 'api-0')!;
    assert.ok(api.filtered.some((f) => f.reason === 'taint cloud.google.com/gke-spot=true:NoSchedule not tolerated'), JSON.stringify(api.filtered));
  });

  it('an empty node is removed after the scale-down delay', () => {
    const p = plan([...pods('job', 1, {}, { deleteAt: 30 }), ...pods('web', 1, { nodeSelector: { 'cloud.google.com/gke-spot': 'true' } })], { provisioning: { scanIntervalS: 10, nodeBootS: 90, scaleDownDelayS: 600 } });
    const jobNode = nodeNamed(p, nodeOf(p, 'job'));
    assert.equal(jobNode.readyAt, 90);
    assert.equal(jobNode.removedAt, 90 + 600, 'the job was deleted before its node was ready, so the node is empty from t=90');
    assert.equal(nodeNamed(p, nodeOf(p, 'web')).removedAt, undefined);
    const types = p.timeline.filter((e) => e.node === jobNode.name).map((e) => `${e.t} ${e.type}`);
    assert.deepEqual(types, ['0 scale-up', '90 node-ready', '90 node-empty', '690 scale-down']);
    assert.equal(p.placements.find((x) => x.pod === 'job')!.status, 'deleted');
  });

  it('a node stays while it has pods and goes the delay after the last one leaves', () => {
    const p = plan([...pods('a', 1, {}, { deleteAt: 200 }), ...pods('b', 1, {}, { deleteAt: 500 })], { provisioning: 'realistic' });
    assert.equal(p.nodes.length, 1);
    assert.equal(p.nodes[0].readyAt, 100, 'realistic boot: 100 s');
    assert.equal(p.nodes[0].removedAt, 500 + 600);
    assert.deepEqual(p.costAtEnd, { pods: 0, nodes: 0, clusterFee: CLUSTER_FEE_HOUR, total: CLUSTER_FEE_HOUR });
  });

  it('the cost is the sum of requests times the price table, plus the cluster fee (arithmetic over data.ts)', { timeout: 30_000 }, () => {
    const p = plan([...pods('web', 3, { cpu: '500m', memory: '2Gi' }), ...pods('spot', 2, { cpu: '1', memory: '4Gi', nodeSelector: { 'cloud.google.com/gke-spot': 'true' } })], { provisioning: 'fast' });
    const gp = POD_PRICES['us-central1']['general-purpose'];
    const onDemand = 3 * (0.5 * gp.onDemand.vcpu + 2 * gp.onDemand.memoryGiB + 1 * gp.onDemand.ephemeralGiB);
    const spot = 2 * (1 * gp.spot.vcpu + 4 * gp.spot.memoryGiB + 1 * gp.spot.ephemeralGiB);
    assert.equal(p.costPerHour.pods, usd(onDemand + spot));
    assert.equal(p.costPerHour.nodes, 0);
    assert.equal(p.costPerHour.clusterFee, CLUSTER_FEE_HOUR);
    assert.equal(p.costPerHour.total, usd(onDemand + spot + CLUSTER_FEE_HOUR));
  });

  it('node-billed pods cost their node (arithmetic over data.ts)', { timeout: 30_000 }, () => {
    const p = plan(pods('llm', 1, { cpu: '4', memory: '16Gi', nodeSelector: { 'cloud.google.com/gke-accelerator': 'nvidia-l4' }, gpu: 1 }), { provisioning: 'fast' });
    assert.equal(p.costPerHour.pods, 0);
    assert.equal(p.costPerHour.nodes, p.nodes[0].usdPerHour);
    assert.ok(p.nodes[0].usdPerHour > 0);
  });

  it('a later pod is bin-packed onto a ready node with room, and says why', () => {
    const p = plan([...pods('a', 1), ...pods('b', 1, {}, { arriveAt: 300 })], { provisioning: 'fast' });
    const b = p.placements.find((x) => x.pod === 'b')!;
    assert.equal(b.decision, 'existing-node');
    assert.equal(b.boundAt, 300);
    assert.match(b.reason, /^bin-packed onto ready node gk3-devloop-pool-1-0001 \(e2-standard-2, general-purpose, on-demand, us-central1-a\): best fit among 1 feasible of 1 nodes$/);
  });

  it('required pod anti-affinity on the hostname puts replicas on separate nodes', () => {
    const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'db' } } }] } };
    const p = plan(pods('db', 3, { affinity: anti }), { provisioning: 'fast' });
    assert.equal(new Set(p.placements.map((x) => x.node)).size, 3);
    assert.ok(p.nodes.every((n) => n.machineType === 'e2-standard-2'), 'each node is sized for one replica');
  });

  it('zone topology spread places replicas across zones', () => {
    const spread = [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' as const, labelSelector: { matchLabels: { app: 'web' } } }];
    const p = plan(pods('web', 4, { topologySpreadConstraints: spread }), { provisioning: 'fast' });
    const zones = p.placements.map((x) => nodeNamed(p, x.node!).zone).sort();
    assert.deepEqual(zones, ['us-central1-a', 'us-central1-b', 'us-central1-c', 'us-central1-f']);
  });

  it('workload separation: a custom selector and toleration get a tainted, labelled node of their own', () => {
    const p = plan([
      ...pods('tenant', 1, { nodeSelector: { group: 'tenant-a' }, tolerations: [{ key: 'group', operator: 'Equal', value: 'tenant-a', effect: 'NoSchedule' }] }),
      ...pods('other', 1),
    ], { provisioning: 'fast' });
    const n = nodeNamed(p, nodeOf(p, 'tenant'));
    assert.equal(n.labels.group, 'tenant-a');
    assert.deepEqual(n.taints, [{ key: 'group', value: 'tenant-a', effect: 'NoSchedule' }]);
    assert.notEqual(nodeOf(p, 'other'), n.name);
  });

  it('a DaemonSet runs one copy on every node it tolerates, sized in', () => {
    const ds = pods('agent', 1, { cpu: '50m', memory: '100Mi' }, { daemonSet: true });
    const p = plan([...ds, ...pods('web', 1), ...pods('spot', 1, { nodeSelector: { 'cloud.google.com/gke-spot': 'true' } })], { provisioning: 'fast' });
    const copies = p.placements.filter((x) => x.decision === 'daemonset');
    assert.equal(copies.length, 1, 'the DaemonSet does not tolerate the Spot taint');
    assert.equal(copies[0].node, nodeOf(p, 'web'));
    assert.equal(copies[0].status, 'running');
  });

  it('big pods get big machines; a pod no machine can hold is unschedulable', () => {
    const p = plan(pods('big', 1, { cpu: '20', memory: '80Gi' }), { provisioning: 'fast' });
    assert.equal(p.nodes[0].machineType, 'e2-standard-32');
    const gpu = plan(pods('huge', 1, { cpu: '25', memory: '200Gi', nodeSelector: { 'cloud.google.com/gke-accelerator': 'nvidia-h100-80gb' }, gpu: 1 }), { provisioning: 'fast' });
    assert.equal(gpu.nodes[0].machineType, 'a3-highgpu-1g');
  });

  it('Arm pods without a compute class run on a C4A node labelled and tainted for arm64', () => {
    // "Deploy Autopilot workloads on Arm architecture": kubernetes.io/arch: arm64 alone places Pods on
    // C4A machine types from 1.31.3-gke.1056000 (the default version is later).
    const p = plan([...pods('arm', 2, { cpu: '500m', memory: '1Gi', nodeSelector: { 'kubernetes.io/arch': 'arm64' } }), ...pods('web', 1)], { provisioning: 'fast' });
    const arm = nodeNamed(p, nodeOf(p, 'arm-0'));
    assert.equal(nodeOf(p, 'arm-1'), arm.name);
    assert.equal(arm.family, 'c4a');
    assert.match(arm.machineType, /^c4a-standard-/);
    assert.equal(arm.labels['kubernetes.io/arch'], 'arm64');
    assert.deepEqual(arm.taints.map((t) => t.key), ['kubernetes.io/arch']);
    assert.notEqual(nodeOf(p, 'web'), arm.name, 'an x86 pod does not land on the Arm node');
    assert.equal(p.placements.filter((x) => x.status === 'running').length, 3);
  });

  it('is deterministic', () => {
    const input = [...pods('a', 5, { cpu: '300m', memory: '1Gi' }), ...pods('b', 3, { nodeSelector: { 'cloud.google.com/gke-spot': 'true' } }, { deleteAt: 50 })];
    assert.deepEqual(plan(input, { provisioning: 'fast' }), plan(input, { provisioning: 'fast' }));
  });

  it('plans 10,000 pods within a few seconds (the bench holds the 1 s target)', () => {
    const input = [
      ...pods('web', 6000, { cpu: '250m', memory: '512Mi' }),
      ...pods('api', 3000, { cpu: '1', memory: '2Gi' }),
      ...pods('batch', 1000, { cpu: '500m', memory: '1Gi', nodeSelector: { 'cloud.google.com/gke-spot': 'true' } }),
    ];
    const t = performance.now();
    const p = plan(input, { provisioning: 'fast' });
    const ms = performance.now() - t;
    assert.equal(p.placements.filter((x) => x.status === 'running').length, 10_000);
    assert.ok(ms < 5000, `${ms} ms`);
  });
});
