import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consolidationPlan, type ConsolidationHooks, type ConsolidationNode, type ConsolidationOptions, type ConsolidationPod } from './consolidate.js';

const Gi = 1024 ** 3;
const node = (name: string, extra: Partial<ConsolidationNode> = {}): ConsolidationNode => ({
  name, allocatable: { cpuMilli: 4000, memoryBytes: 16 * Gi, pods: 32 }, labels: { 'kubernetes.io/hostname': name }, taints: [], removable: true, ...extra,
});
const pod = (name: string, on: string, cpuMilli: number, memGi: number, extra: Partial<ConsolidationPod> = {}): ConsolidationPod => ({
  name, node: on, requests: { cpuMilli, memoryBytes: memGi * Gi }, owner: 'Deployment default/web', boundAt: 0, ...extra,
});
const opts = (extra: Partial<ConsolidationOptions> = {}, since: Record<string, number> = { small: 0 }): ConsolidationOptions => ({
  now: 600, utilizationThreshold: 0.5, unneededSinceByNode: new Map(Object.entries(since)), delayS: 600, extendedDurationS: 7 * 24 * 3600, ...extra,
});

// `small` is underused (25% CPU, 12.5% memory); `roomy` (12.5% CPU) and `busy` (50% / 50%) have room for its pods.
const nodes = () => [node('small'), node('roomy'), node('busy')];
const pods = () => [
  pod('s1', 'small', 500, 1), pod('s2', 'small', 500, 1),
  pod('b1', 'busy', 2000, 8),
  pod('r1', 'roomy', 500, 1),
];

describe('consolidationPlan', () => {
  it('drains an underused node onto the most allocated node that fits, and says why', () => {
    const r = consolidationPlan(nodes(), pods(), opts());
    assert.deepEqual(r.blocked, []);
    assert.deepEqual(r.drain, [{
      node: 'small', moves: [{ pod: 's1', to: 'busy' }, { pod: 's2', to: 'busy' }], utilization: { cpu: 0.25, memory: 0.125 },
      reason: 'underused: cpu 25%, memory 13% of allocatable for 600s; moved 2 pods to busy',
    }]);
  });

  it('waits for the delay, and leaves nodes at or over the threshold', () => {
    assert.deepEqual(consolidationPlan(nodes(), pods(), opts({ now: 599 })), { drain: [], blocked: [] });
    const half = [...pods(), pod('s3', 'small', 1000, 0.5)];
    assert.deepEqual(consolidationPlan(nodes(), half, opts()).drain, [], 'cpu is at 50%');
    assert.deepEqual(consolidationPlan([node('small', { removable: false }), node('busy')], pods(), opts()).drain, [], 'not removable');
  });

  it('DaemonSet pods neither count nor block, and a node with only DaemonSet pods is no candidate', () => {
    const withDs = [...pods(), pod('agent-small', 'small', 1500, 6, { daemonSet: true, owner: undefined })];
    const r = consolidationPlan(nodes(), withDs, opts());
    assert.deepEqual(r.drain.map((d) => [d.node, d.moves.map((m) => m.pod)]), [['small', ['s1', 's2']]]);
    assert.match(r.drain[0].reason, /^underused: cpu 25%, memory 13%/);
    const onlyDs = consolidationPlan(nodes(), [pod('agent', 'small', 100, 0.1, { daemonSet: true }), pod('b1', 'busy', 2000, 8)], opts());
    assert.deepEqual(onlyDs, { drain: [], blocked: [] });
  });

  it('a pod without an owner blocks its node', () => {
    const r = consolidationPlan(nodes(), [...pods().filter((p) => p.name !== 's2'), pod('s2', 'small', 500, 1, { owner: undefined })], opts());
    assert.deepEqual(r.drain, []);
    assert.deepEqual(r.blocked, [{
      node: 'small', cause: 'pod s2 has no controller (a bare pod is not recreated once evicted)',
      reason: 'underused (cpu 25%, memory 13% of allocatable for 600s) but pod s2 has no controller (a bare pod is not recreated once evicted)',
    }]);
  });

  it('an extended-duration pod blocks its node until 7 days after it was bound, then not', () => {
    const week = 7 * 24 * 3600;
    const ext = [...pods().filter((p) => p.name !== 's1'), pod('s1', 'small', 500, 1, { safeToEvict: 'false', boundAt: 100 })];
    const r = consolidationPlan(nodes(), ext, opts());
    assert.deepEqual(r.blocked.map((b) => [b.cause, b.retryAt]), [[`pod s1 is extended-duration (safe-to-evict=false) until t=${100 + week}s`, 100 + week]]);
    const later = consolidationPlan(nodes(), ext, opts({ now: 100 + week }));
    assert.deepEqual(later.drain.map((d) => d.node), ['small']);
    const evictable = consolidationPlan(nodes(), [...pods().filter((p) => p.name !== 's1'), pod('s1', 'small', 500, 1, { safeToEvict: 'true', boundAt: 100 })], opts());
    assert.deepEqual(evictable.drain.map((d) => d.node), ['small']);
  });

  it('respects taints, node selectors, required node affinity and room, naming a node that does not fit', () => {
    const tainted = [node('small'), node('busy', { taints: [{ key: 'cloud.google.com/gke-spot', value: 'true', effect: 'NoSchedule' }] })];
    const two = [pod('s1', 'small', 500, 1), pod('b1', 'busy', 2000, 8)];
    assert.deepEqual(consolidationPlan(tainted, two, opts()).blocked.map((b) => b.cause), ['pod s1 fits on no other node (e.g. busy: taint cloud.google.com/gke-spot=true:NoSchedule not tolerated)']);
    const tolerated = [pod('s1', 'small', 500, 1, { tolerations: [{ key: 'cloud.google.com/gke-spot', operator: 'Equal', value: 'true', effect: 'NoSchedule' }] }), pod('b1', 'busy', 2000, 8)];
    assert.deepEqual(consolidationPlan(tainted, tolerated, opts()).drain.map((d) => d.node), ['small']);
    const sel = [pod('s1', 'small', 500, 1, { nodeSelector: { pool: 'x' } }), pod('b1', 'busy', 2000, 8)];
    assert.match(consolidationPlan([node('small'), node('busy')], sel, opts()).blocked[0].cause, /busy: node selector pool=x does not match/);
    const aff = [pod('s1', 'small', 500, 1, { requiredNodeAffinity: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'NotIn', values: ['busy'] }] }] }), pod('b1', 'busy', 2000, 8)];
    assert.match(consolidationPlan([node('small'), node('busy')], aff, opts()).blocked[0].cause, /busy: required node affinity not satisfied/);
    const full = [pod('s1', 'small', 500, 1), pod('b1', 'busy', 1900, 7), pod('b2', 'busy', 1700, 7)];
    assert.match(consolidationPlan([node('small'), node('busy')], full, opts()).blocked[0].cause, /^pod s1 fits on no other node \(e\.g\. busy: insufficient cpu \(400m free, pod requests 500m\)\)$/);
    const count = consolidationPlan([node('small'), node('busy', { allocatable: { cpuMilli: 4000, memoryBytes: 16 * Gi, pods: 1 } })], two, opts());
    assert.match(count.blocked[0].cause, /busy: max pods per node reached/);
  });

  it('uses `requested` for nodes whose pods are not listed, and skips nodes marked destination: false', () => {
    const big = { cpuMilli: 3800, memoryBytes: 8 * Gi, pods: 5 };
    const r = consolidationPlan([node('small'), node('busy', { requested: big }), node('roomy', { requested: { cpuMilli: 1000, memoryBytes: 2 * Gi, pods: 2 } })], [pod('s1', 'small', 500, 1)], opts());
    assert.deepEqual(r.drain[0].moves, [{ pod: 's1', to: 'roomy' }], 'busy has 200m left by its requested figure');
    const none = consolidationPlan([node('small'), node('roomy', { destination: false })], [pod('s1', 'small', 500, 1)], opts());
    assert.match(none.blocked[0].cause, /^pod s1 fits on no other node$/);
  });

  it('a pod that needs its own node (GPU / Performance) moves only to a node with no other pod', () => {
    const gpu = [pod('g1', 'small', 500, 1, { ownNode: true }), pod('b1', 'busy', 2000, 8)];
    assert.match(consolidationPlan([node('small'), node('busy')], gpu, opts()).blocked[0].cause, /busy: the pod needs a node of its own/);
    const onto = [pod('s1', 'small', 500, 1), pod('g1', 'busy', 500, 1, { ownNode: true })];
    assert.match(consolidationPlan([node('small'), node('busy')], onto, opts()).blocked[0].cause, /busy: node runs one pod/);
  });

  it('a node that receives pods is not drained in the same pass, and a drained node receives none', () => {
    // Both underused; `tiny` (emptiest) goes first and its pod fits only on `small` (busy has 100m left).
    const ns = [node('tiny'), node('small'), node('busy')];
    const ps = [pod('t1', 'tiny', 200, 0.5), pod('s1', 'small', 600, 1), pod('b1', 'busy', 3900, 8)];
    const r = consolidationPlan(ns, ps, opts({}, { tiny: 0, small: 0 }));
    assert.deepEqual(r.drain.map((d) => [d.node, d.moves]), [['tiny', [{ pod: 't1', to: 'small' }]]]);
    assert.deepEqual(r.blocked, []);
  });

  it('hooks veto moves and see every tentative move undone when a drain fails', () => {
    const log: string[] = [];
    const hooks: ConsolidationHooks = {
      lift: (n, ps) => log.push(`lift ${n} ${ps.join(',')}`),
      fits: (p, n) => (p === 's2' ? `spread on ${n}` : undefined),
      place: (p, n) => log.push(`place ${p} ${n}`),
      abandon: () => log.push('abandon'),
    };
    const r = consolidationPlan(nodes(), [pod('s1', 'small', 600, 1), pod('s2', 'small', 500, 1), pod('b1', 'busy', 2000, 8)], opts({ hooks }));
    assert.deepEqual(log, ['lift small s1,s2', 'place s1 busy', 'abandon']);
    assert.equal(r.blocked[0].cause, 'pod s2 fits on no other node (e.g. roomy: spread on roomy)');
  });
});
