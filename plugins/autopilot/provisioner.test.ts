import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitsNode, KWOK_ANNOTATION, needsNode, nodeName, nodeObject, planNodes, PROVISIONED_LABEL, Provisioner, workloadPodsOn, type NodeObject, type PodLike, type ProvisionerApi } from './provisioner.js';
import type { PodSpec } from './types.js';

const unschedulable = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available' }] };
const containers = (cpu = '500m', memory = '1Gi'): PodSpec['containers'] => [{ name: 'c', image: 'x', resources: { requests: { cpu, memory } } }];
const spotToleration = { key: 'cloud.google.com/gke-spot', operator: 'Equal', value: 'true', effect: 'NoSchedule' } as const;
const scaleOutToleration = { key: 'cloud.google.com/compute-class', operator: 'Equal', value: 'Scale-Out', effect: 'NoSchedule' } as const;
const pod = (name: string, spec: Partial<PodSpec> & { nodeName?: string }, status: PodLike['status'] = unschedulable, extra: Partial<NonNullable<PodLike['metadata']>> = {}): PodLike =>
  ({ metadata: { name, namespace: 'ns', uid: `uid-${name}`, ...extra }, spec: { containers: containers(), ...spec }, status });

describe('needsNode: which pods the provisioner acts on', () => {
  it('takes a pending pod the scheduler marked Unschedulable', () => {
    assert.equal(needsNode(pod('a', {})), true);
  });
  it('leaves pods that are bound, not yet tried, failing for another reason, being deleted or DaemonSet copies', () => {
    assert.equal(needsNode(pod('bound', { nodeName: 'devloop-node' })), false);
    assert.equal(needsNode(pod('new', {}, { phase: 'Pending' })), false);
    assert.equal(needsNode(pod('gated', {}, { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] })), false);
    assert.equal(needsNode(pod('running', {}, { phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True' }] })), false);
    assert.equal(needsNode(pod('gone', {}, unschedulable, { deletionTimestamp: new Date() })), false);
    assert.equal(needsNode(pod('ds', {}, unschedulable, { ownerReferences: [{ kind: 'DaemonSet', name: 'x' }] })), false);
  });
});

describe('nodeObject: a planned node as GKE would label, taint and size it', () => {
  const spot = planNodes([pod('s', { nodeSelector: { 'cloud.google.com/gke-spot': 'true' }, tolerations: [spotToleration] })], { region: 'us-central1', provisioning: 'fast' });
  const scaleOut = planNodes([pod('a', { nodeSelector: { 'cloud.google.com/compute-class': 'Scale-Out' }, tolerations: [scaleOutToleration] }),
    pod('b', { nodeSelector: { 'cloud.google.com/compute-class': 'Scale-Out' }, tolerations: [scaleOutToleration] })], { region: 'europe-west1', provisioning: 'fast' });

  it('gives a Spot node the gke-spot label and taint, and kwok its annotation', () => {
    assert.equal(spot.nodes.length, 1);
    const n = nodeObject(spot.nodes[0].node, 'gk3-devloop-nap-1-abcd', { region: 'us-central1', session: { 'devloop.dev/session': '42' } });
    assert.equal(n.metadata.labels['cloud.google.com/gke-spot'], 'true');
    assert.equal(n.metadata.labels['cloud.google.com/gke-provisioning'], 'spot');
    assert.deepEqual(n.spec.taints, [{ key: 'cloud.google.com/gke-spot', value: 'true', effect: 'NoSchedule' }]);
    assert.equal(n.metadata.annotations[KWOK_ANNOTATION], 'fake');
    assert.equal(n.metadata.labels[PROVISIONED_LABEL], 'true');
    assert.equal(n.metadata.labels['devloop.dev/session'], '42');
    assert.equal(n.metadata.labels['kubernetes.io/hostname'], 'gk3-devloop-nap-1-abcd');
    assert.match(n.metadata.labels['topology.kubernetes.io/zone'], /^us-central1-[a-f]$/);
  });

  it('gives a Scale-Out node its class, family, machine type, taint and allocatable below capacity', () => {
    assert.equal(scaleOut.nodes.length, 1, 'two small pods of one shape share a node');
    assert.deepEqual(scaleOut.nodes[0].pods.sort(), ['ns/a', 'ns/b']);
    assert.equal(scaleOut.nodes[0].delayS, 2, 'fast provisioning boots in 2 s (PROVISIONING.fast)');
    const n = nodeObject(scaleOut.nodes[0].node, nodeName(scaleOut.nodes[0].node, 'beef'), { region: 'europe-west1' });
    assert.equal(n.metadata.name, 'gk3-devloop-nap-1-beef');
    const l = n.metadata.labels;
    assert.equal(l['cloud.google.com/compute-class'], 'Scale-Out');
    assert.equal(l['cloud.google.com/machine-family'], 't2d');
    assert.match(l['node.kubernetes.io/instance-type'], /^t2d-standard-\d+$/);
    assert.equal(l['topology.kubernetes.io/region'], 'europe-west1');
    assert.equal(l['kubernetes.io/arch'], 'amd64');
    assert.equal(l['cloud.google.com/gke-spot'], undefined);
    assert.deepEqual(n.spec.taints, [{ key: 'cloud.google.com/compute-class', value: 'Scale-Out', effect: 'NoSchedule' }]);
    assert.equal(n.status.capacity.pods, '32');
    assert.ok(parseInt(n.status.allocatable.cpu) < parseInt(n.status.capacity.cpu), 'GKE reserves CPU');
    assert.ok(parseInt(n.status.allocatable.memory) < parseInt(n.status.capacity.memory), 'GKE reserves memory');
  });

  it('gives a GPU node the accelerator labels, nvidia.com/gpu capacity and the GPU taint', () => {
    const gpu = planNodes([pod('g', { nodeSelector: { 'cloud.google.com/gke-accelerator': 'nvidia-l4' },
      containers: [{ name: 'c', image: 'x', resources: { requests: { cpu: '2', memory: '8Gi' }, limits: { 'nvidia.com/gpu': '1' } } }] })], { region: 'us-central1', provisioning: 'fast' });
    assert.deepEqual(gpu.unschedulable, []);
    const n = nodeObject(gpu.nodes[0].node, 'g1', { region: 'us-central1' });
    assert.equal(n.metadata.labels['cloud.google.com/gke-accelerator'], 'nvidia-l4');
    assert.equal(n.status.capacity['nvidia.com/gpu'], '1');
    assert.equal(n.status.allocatable['nvidia.com/gpu'], '1');
    assert.ok(n.spec.taints.some((t) => t.key === 'nvidia.com/gpu'));
  });

  it('reports a pod Autopilot would deny instead of making a node for it', () => {
    const r = planNodes([pod('priv', { containers: [{ name: 'c', image: 'x', securityContext: { privileged: true } }] })], { region: 'us-central1', provisioning: 'fast' });
    assert.equal(r.nodes.length, 0);
    assert.equal(r.unschedulable[0].pod, 'ns/priv');
    assert.match(r.unschedulable[0].reason, /denied at admission/);
  });
});

describe('fitsNode: a pod a made node can still hold is left to the scheduler', () => {
  const planned = planNodes([pod('a', { nodeSelector: { 'cloud.google.com/gke-spot': 'true' }, tolerations: [spotToleration] })], { region: 'us-central1', provisioning: 'fast' }).nodes[0].node;
  const node: NodeObject = nodeObject(planned, 'n1', { region: 'us-central1' });
  const spotPod = (name: string, cpu = '500m') => pod(name, { nodeSelector: { 'cloud.google.com/gke-spot': 'true' }, tolerations: [spotToleration], containers: containers(cpu, '1Gi') });

  it('fits a tolerating pod with room left, not one without the toleration or the selector', () => {
    assert.equal(fitsNode(spotPod('x'), node, []), true);
    assert.equal(fitsNode(pod('untolerated', { nodeSelector: { 'cloud.google.com/gke-spot': 'true' } }), node, []), false);
    assert.equal(fitsNode(pod('other-class', { nodeSelector: { 'cloud.google.com/compute-class': 'Balanced' }, tolerations: [spotToleration] }), node, []), false);
  });
  it('counts what is bound there', () => {
    const cpu = parseInt(node.status.allocatable.cpu);
    const full = spotPod('big', `${cpu - 100}m`);
    assert.equal(fitsNode(spotPod('x'), node, [{ ...full, spec: { ...full.spec!, nodeName: 'n1' } }]), false);
  });
  it('workloadPodsOn skips finished pods and DaemonSet copies', () => {
    const on = (name: string, phase: string, owner?: string) => pod(name, { nodeName: 'n1' }, { phase }, owner ? { ownerReferences: [{ kind: owner }] } : {});
    assert.deepEqual(workloadPodsOn('n1', [on('a', 'Running'), on('b', 'Succeeded'), on('c', 'Running', 'DaemonSet'), on('d', 'Pending')]).map((p) => p.metadata!.name), ['a', 'd']);
  });
});

describe('Provisioner with an in-memory API (timers real, delays from PROVISIONING.fast)', () => {
  function fakeApi(pods: PodLike[], nodes: { metadata: { name: string; labels: Record<string, string>; annotations?: Record<string, string> } }[] = []) {
    const created: NodeObject[] = [];
    const deleted: string[] = [];
    const api: ProvisionerApi = {
      listPodForAllNamespaces: async () => ({ items: pods }),
      listNode: async ({ labelSelector }) => ({ items: nodes.filter((n) => n.metadata.labels[labelSelector.split('=')[0]] === labelSelector.split('=')[1]) }),
      createNode: async ({ body }) => { created.push(body); },
      deleteNode: async ({ name }) => { deleted.push(name); },
    };
    return { api, created, deleted };
  }
  const quiet = { info() {}, warn() {} };

  it('makes one node for pods in watched namespaces only, removes it when empty past the delay, and never deletes nodes it did not make', async () => {
    const p1 = pod('a', { nodeSelector: { 'cloud.google.com/gke-spot': 'true' }, tolerations: [spotToleration] });
    const other = { ...pod('b', {}), metadata: { name: 'b', namespace: 'elsewhere', uid: 'b' } };
    const foreign = { metadata: { name: 'someone-elses', labels: { [PROVISIONED_LABEL]: 'true', 'devloop.dev/session': '1' }, annotations: { [KWOK_ANNOTATION]: 'fake' } } };
    const real = { metadata: { name: 'devloop-node', labels: {} } };
    const { api, created, deleted } = fakeApi([p1, other], [foreign, real]);
    const prov = new Provisioner({ api, logger: quiet, provisioning: 'fast', consolidationDelayS: 0, namespaces: ['ns'], sessionAlive: () => true, session: { 'devloop.dev/session': '2' } });
    assert.deepEqual(await prov.removeStale(), [], 'a live session\'s node stays');
    const t0 = Date.now();
    await prov.tick(t0);
    await prov.tick(t0 + 1000);
    assert.equal(created.length, 0, 'the node appears only after the boot delay');
    await new Promise((r) => setTimeout(r, 2300));
    assert.equal(created.length, 1, 'one node for the one pod; the pod in an unwatched namespace is ignored');
    assert.equal(created[0].metadata.labels['cloud.google.com/gke-spot'], 'true');
    // The pod is bound now, then goes away: the node empties.
    const name = created[0].metadata.name;
    p1.spec!.nodeName = name; p1.status = { phase: 'Running' };
    await prov.tick(Date.now() + 60_000);
    assert.deepEqual(deleted, [], 'busy node kept');
    p1.status = { phase: 'Succeeded' };
    await prov.tick(Date.now() + 120_000);
    await prov.tick(Date.now() + 120_000);
    assert.deepEqual(deleted, [name]);
    await prov.stop();
    assert.deepEqual(deleted, [name], 'the live session\'s node and the real node are never deleted');
  });

  it('tells the rollout wait what an Unschedulable pod waits for, and nothing once it is found unplaceable', async () => {
    const spot = pod('s', { nodeSelector: { 'cloud.google.com/gke-spot': 'true' }, tolerations: [spotToleration] });
    const denied = pod('priv', { containers: [{ name: 'c', image: 'x', securityContext: { privileged: true } }] });
    const { api } = fakeApi([spot, denied]);
    const prov = new Provisioner({ api, logger: quiet, provisioning: 'fast', namespaces: ['ns'] });
    assert.match(prov.awaitingNode(spot)!, /planning one/);
    const t0 = Date.now();
    await prov.tick(t0);
    assert.match(prov.awaitingNode(spot)!, /planning one/, 'pods that just arrived are planned once arrivals settle');
    await prov.tick(t0 + 1100);
    assert.match(prov.awaitingNode(spot)!, /^waiting for node gk3-devloop-nap-\d+-[0-9a-f]{8} \(e2-standard-\d+\), provisioning/);
    assert.equal(prov.awaitingNode(denied), undefined, 'denied at admission: no node will come');
    assert.equal(prov.awaitingNode({ metadata: { ...spot.metadata!, namespace: 'elsewhere' } }), undefined);
    await prov.stop();
  });

  it('removes at start only labelled kwok nodes of sessions that are gone', async () => {
    const stale = { metadata: { name: 'stale', labels: { [PROVISIONED_LABEL]: 'true', 'devloop.dev/session': '1' }, annotations: { [KWOK_ANNOTATION]: 'fake' } } };
    const labelledReal = { metadata: { name: 'devloop-node', labels: { [PROVISIONED_LABEL]: 'true' } } };
    const { api, deleted } = fakeApi([], [stale, labelledReal]);
    const prov = new Provisioner({ api, logger: quiet, provisioning: 'fast', sessionAlive: () => false });
    assert.deepEqual(await prov.removeStale(), ['stale']);
    assert.deepEqual(deleted, ['stale'], 'a node without kwok\'s annotation is never deleted, whatever its labels');
  });
});
