import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admit } from './admission.js';
import { CLUSTER_FEE_HOUR, EXTENDED_DURATION_S, POD_PRICES } from './data.js';
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

describe('scheduler: preferences', () => {
  const zoneOf = (p: ReturnType<typeof plan>, pod: string) => nodeNamed(p, nodeOf(p, pod)).zone;
  // Two ready nodes: pool-1-0001 in zone a holds two `fill` pods (the fuller one), pool-1-0002 in zone b one `other` pod.
  const twoNodes = () => [
    ...pods('fill', 2, { nodeSelector: { 'topology.kubernetes.io/zone': 'us-central1-a' } }),
    ...pods('other', 1, { nodeSelector: { 'topology.kubernetes.io/zone': 'us-central1-b' } }),
  ];
  const late = { arriveAt: 300 };
  const small = { cpu: '250m', memory: '512Mi' };

  it('without preferences a later pod bin-packs onto the fuller node (the baseline the next tests differ from)', () => {
    const p = plan([...twoNodes(), ...pods('web', 1, small, late)], { provisioning: 'fast' });
    assert.equal(zoneOf(p, 'web'), 'us-central1-a');
  });

  it('preferred node affinity outweighs bin packing among ready nodes, and says so', () => {
    const affinity = { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 80, preference: { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In' as const, values: ['us-central1-b'] }] } }] } };
    const p = plan([...twoNodes(), ...pods('web', 1, { ...small, affinity }, late)], { provisioning: 'fast' });
    assert.equal(zoneOf(p, 'web'), 'us-central1-b');
    const web = p.placements.find((x) => x.pod === 'web')!;
    assert.equal(web.decision, 'existing-node');
    assert.match(web.reason, /^placed on ready node gk3-devloop-pool-1-0002 \(e2-standard-2, general-purpose, on-demand, us-central1-b\) by preference: preferred node affinity weight 80 satisfied; best score among 2 feasible of 2 nodes$/);
  });

  it('a new node goes to the preferred zone when the region has it, else round robin', () => {
    const pref = (zone: string) => ({ nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 50, preference: { matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In' as const, values: [zone] }] } }] } });
    const p = plan(pods('web', 2, { affinity: pref('us-central1-c') }), { provisioning: 'fast' });
    assert.deepEqual(p.nodes.map((n) => n.zone), ['us-central1-c']);
    assert.match(p.placements[0].reason, /; zone us-central1-c by preference: preferred node affinity weight 50 satisfied$/);
    const elsewhere = plan(pods('web', 1, { affinity: pref('europe-west1-b') }), { provisioning: 'fast' });
    assert.equal(elsewhere.nodes[0].zone, 'us-central1-a');
  });

  it('preferred pod affinity draws a pod to the node of the pods it likes', () => {
    const affinity = { podAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'other' } } } }] } };
    const p = plan([...twoNodes(), ...pods('web', 1, { ...small, affinity }, late)], { provisioning: 'fast' });
    assert.equal(nodeOf(p, 'web'), nodeOf(p, 'other'));
    assert.match(p.placements.find((x) => x.pod === 'web')!.reason, /by preference: preferred pod affinity weight 100 satisfied \(1 matching pod in kubernetes\.io\/hostname=gk3-devloop-pool-1-0002\)/);
  });

  it('preferred pod anti-affinity keeps a pod off the node of the pods it avoids', () => {
    const affinity = { podAntiAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 60, podAffinityTerm: { topologyKey: 'topology.kubernetes.io/zone', labelSelector: { matchLabels: { app: 'fill' } } } }] } };
    const p = plan([...twoNodes(), ...pods('web', 1, { ...small, affinity }, late)], { provisioning: 'fast' });
    assert.equal(zoneOf(p, 'web'), 'us-central1-b');
    assert.match(p.placements.find((x) => x.pod === 'web')!.reason, /preferred pod anti-affinity weight 60 satisfied \(no matching pod in topology\.kubernetes\.io\/zone=us-central1-b\)/);
  });

  const soft = [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' as const, labelSelector: { matchLabels: { app: 'web' } } }];

  it('soft topology spread prefers the ready node whose zone has the fewest matching pods', () => {
    const p = plan([
      ...pods('web-a', 2, { nodeSelector: { 'topology.kubernetes.io/zone': 'us-central1-a' } }, { labels: { app: 'web' } }),
      ...pods('other', 1, { nodeSelector: { 'topology.kubernetes.io/zone': 'us-central1-b' } }),
      ...pods('web', 1, { ...small, topologySpreadConstraints: soft }, late),
    ], { provisioning: 'fast' });
    assert.equal(zoneOf(p, 'web'), 'us-central1-b');
    assert.match(p.placements.find((x) => x.pod === 'web')!.reason, /soft topology spread \(ScheduleAnyway\): lowest skew, 0 matching pods in topology\.kubernetes\.io\/zone=us-central1-b/);
  });

  it('soft topology spread puts a new node in a zone that lowers the skew', () => {
    const p = plan([
      ...pods('web-a', 2, { nodeSelector: { 'topology.kubernetes.io/zone': 'us-central1-a' } }, { labels: { app: 'web' } }),
      ...pods('web', 1, { cpu: '1', memory: '2Gi', topologySpreadConstraints: soft }, late),
    ], { provisioning: 'fast' });
    assert.equal(p.nodes.length, 2, 'the web pod does not fit beside web-a');
    assert.equal(zoneOf(p, 'web'), 'us-central1-b', 'round robin alone would pick us-central1-a, where the two matching pods are');
    assert.match(p.placements.find((x) => x.pod === 'web')!.reason, /zone us-central1-b by preference: soft topology spread/);
  });

  it('workload separation from required node affinity (custom key, In, one value) labels and taints the node', () => {
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'group', operator: 'In' as const, values: ['tenant-a'] }] }] } } };
    const p = plan([
      ...pods('tenant', 1, { affinity, tolerations: [{ key: 'group', operator: 'Equal', value: 'tenant-a', effect: 'NoSchedule' }] }),
      ...pods('other', 1),
    ], { provisioning: 'fast' });
    const n = nodeNamed(p, nodeOf(p, 'tenant'));
    assert.equal(n.labels.group, 'tenant-a');
    assert.deepEqual(n.taints, [{ key: 'group', value: 'tenant-a', effect: 'NoSchedule' }]);
    assert.notEqual(nodeOf(p, 'other'), n.name);
    assert.equal(p.placements.find((x) => x.pod === 'tenant')!.status, 'running');
  });
});

describe('scheduler: consolidation of underused nodes', () => {
  // pool-1-0001 holds a-0, a-1 and a2 (78% CPU); b arrives at t=300, does not fit, and gets pool-1-0002 (26% CPU).
  // When a2 leaves at t=400, b fits on pool-1-0001.
  const scene = (b: Partial<PlanPod> = {}) => [
    ...pods('agent', 1, { cpu: '50m', memory: '100Mi' }, { daemonSet: true }),
    ...pods('a', 2, { cpu: '500m', memory: '1Gi' }),
    ...pods('a2', 1, { cpu: '500m', memory: '1Gi' }, { deleteAt: 400 }),
    ...pods('b', 1, { cpu: '500m', memory: '1Gi' }, { arriveAt: 300, ...b }),
  ];
  const events = (p: ReturnType<typeof plan>, node: string) => p.timeline.filter((e) => e.node === node).map((e) => `${e.t} ${e.type}: ${e.detail}`);

  it('drains an underused node once its pods fit elsewhere; DaemonSet pods neither count nor block', () => {
    const p = plan(scene(), { provisioning: 'fast' });
    const second = nodeNamed(p, 'gk3-devloop-pool-1-0002');
    assert.deepEqual(second.pods, ['agent-0002', 'b']);
    assert.equal(second.removedAt, 400);
    const b = p.placements.find((x) => x.pod === 'b')!;
    assert.deepEqual([b.node, b.boundAt, b.status], ['gk3-devloop-pool-1-0001', 400, 'running']);
    assert.match(b.reason, /^moved from gk3-devloop-pool-1-0002 when it was scaled down \(underused: cpu 26%, memory 16% of allocatable for 98s\)/);
    assert.deepEqual(events(p, second.name).slice(4), [
      '312 no-scale-down: scale-down blocked: gk3-devloop-pool-1-0002 underused (cpu 26%, memory 16% of allocatable for 10s) but pod b fits on no other node (e.g. gk3-devloop-pool-1-0001: insufficient cpu (380m free, pod requests 500m))',
      '400 pod-evicted: b evicted from gk3-devloop-pool-1-0002 (scale-down of an underused node); recreated on gk3-devloop-pool-1-0001',
      '400 scale-down: gk3-devloop-pool-1-0002 removed: underused: cpu 26%, memory 16% of allocatable for 98s; moved 1 pod to gk3-devloop-pool-1-0001',
    ]);
    assert.equal(p.placements.find((x) => x.pod === 'agent-0002')!.status, 'deleted');
    assert.equal(p.nodes.filter((n) => n.removedAt === undefined).length, 1);
  });

  it('an extended-duration pod (safe-to-evict=false) holds its node for 7 days after it started', () => {
    const p = plan(scene({ annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' } }), { provisioning: 'fast' });
    const second = nodeNamed(p, 'gk3-devloop-pool-1-0002');
    assert.equal(second.removedAt, 302 + EXTENDED_DURATION_S, 'b was bound at t=302 when its node was ready');
    const blocked = events(p, second.name).filter((e) => e.includes('no-scale-down'));
    assert.deepEqual(blocked, [`312 no-scale-down: scale-down blocked: gk3-devloop-pool-1-0002 underused (cpu 26%, memory 16% of allocatable for 10s) but pod b is extended-duration (safe-to-evict=false) until t=${302 + EXTENDED_DURATION_S}s`], 'said once');
    const held = plan(scene({ annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' } }), { provisioning: 'fast', until: 100_000 });
    assert.equal(nodeNamed(held, 'gk3-devloop-pool-1-0002').removedAt, undefined);
  });

  it('a pod with no owner blocks scale-down', () => {
    const p = plan(scene({ owner: undefined }), { provisioning: 'fast' });
    assert.equal(nodeNamed(p, 'gk3-devloop-pool-1-0002').removedAt, undefined);
    const blocked = p.timeline.filter((e) => e.type === 'no-scale-down');
    assert.deepEqual(blocked.map((e) => `${e.t} ${e.node}`), ['312 gk3-devloop-pool-1-0002'], 'said once, though a2 leaving at t=400 made room');
    assert.match(blocked[0].detail, /but pod b has no controller \(a bare pod is not recreated once evicted\)$/);
  });

  it('moves respect topology spread: spread replicas stay on their underused nodes', () => {
    const spread = [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule' as const, labelSelector: { matchLabels: { app: 'web' } } }];
    const p = plan(pods('web', 2, { cpu: '250m', memory: '512Mi', topologySpreadConstraints: spread }), { provisioning: 'fast' });
    assert.equal(p.nodes.length, 2);
    assert.deepEqual(p.nodes.map((n) => n.removedAt), [undefined, undefined]);
    assert.ok(p.timeline.some((e) => e.type === 'no-scale-down' && /topology spread: skew would be 2 > maxSkew 1/.test(e.detail)), JSON.stringify(p.timeline));
  });

  it('nodes of pods that need their own (Performance, GPU) are not consolidated, however little they use', () => {
    // GPU pods are raised to their node's size at admission; a Performance pod keeps its small request (25% here).
    const p = plan(pods('perf', 2, { cpu: '1', memory: '4Gi', nodeSelector: { 'cloud.google.com/compute-class': 'Performance', 'cloud.google.com/machine-family': 'c3' } }), { provisioning: 'fast' });
    assert.deepEqual(p.nodes.map((n) => [n.machineType, n.peak.cpuMilli / n.allocatable.cpuMilli < 0.5]), [['c3-standard-4', true], ['c3-standard-4', true]]);
    assert.equal(p.nodes.length, 2);
    assert.deepEqual(p.nodes.map((n) => n.removedAt), [undefined, undefined]);
    assert.deepEqual(p.timeline.filter((e) => e.type === 'no-scale-down' || e.type === 'pod-evicted'), []);
  });
});
