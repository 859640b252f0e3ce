// Scale-down of underused nodes by the in-cluster provisioner (plugins/autopilot/provisioner.ts,
// consolidate.ts) against the local test cluster, and its Prometheus series (metrics.ts) scraped
// over HTTP. Two Scale-Out Deployments of 4 pods each fill two kwok nodes; scaled to 1 pod each,
// both nodes are under half used. Deployment `keep` asks for extended duration (safe-to-evict:
// "false"), so its node stays; the other node's pod is evicted onto it and that node is removed.
// The pods ask for workload separation, so pods of tests running at the same time never land on
// these nodes, and these pods never on theirs.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { CoreV1Api } from '@kubernetes/client-node';
import { AutopilotMetrics, serveAutopilotMetrics } from '../plugins/autopilot/metrics.js';
import { PROVISIONED_LABEL, Provisioner, type ProvisionerApi } from '../plugins/autopilot/provisioner.js';
import { httpGet, until } from './helpers.js';
import { kubeconfig, kubectl, kubectlPath, missing, required } from './k8s-helpers.js';

const SESSION = 'devloop.dev/session';
// The pid, as a real session labels its nodes: another suite's provisioner running at the same time
// removes nodes whose session is not a live process (removeStale).
const session = String(process.pid);
const SEPARATE = 'devloop-test/consolidation';

function deployment(name: string, replicas: number, extended: boolean): string {
  return JSON.stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: {
      replicas, selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, ...(extended ? { annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false' } } : {}) },
        spec: {
          // Workload separation (a custom label the pods tolerate): the nodes made for them carry its
          // taint, so Scale-Out pods of suites running at the same time never land on them.
          nodeSelector: { 'cloud.google.com/compute-class': 'Scale-Out', [SEPARATE]: session },
          tolerations: [
            { key: 'cloud.google.com/compute-class', operator: 'Equal', value: 'Scale-Out', effect: 'NoSchedule' },
            { key: SEPARATE, operator: 'Equal', value: session, effect: 'NoSchedule' },
          ],
          terminationGracePeriodSeconds: 0,
          containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '1750m', memory: '7Gi' }, limits: { cpu: '1750m', memory: '7Gi' } } }],
        },
      },
    },
  });
}

describe('Autopilot scale-down of underused nodes in the local test cluster', { skip: missing && !required ? missing : false, timeout: 150_000 }, () => {
  const ns = `devloop-consol-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  let core: CoreV1Api;
  let prov: Provisioner;
  const metrics = new AutopilotMetrics();
  let endpoint: Awaited<ReturnType<typeof serveAutopilotMetrics>>;
  const logs: string[] = [];

  before(async () => {
    if (missing) throw new Error(missing);
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
    kubectl('create', 'namespace', ns);
    endpoint = await serveAutopilotMetrics(metrics, { port: 0 });
    prov = new Provisioner({
      api: core as unknown as ProvisionerApi, metrics,
      logger: { info: (m) => logs.push(m), warn: (m) => logs.push(`WARN ${m}`) },
      provisioning: 'fast', consolidationDelayS: 3, session: { [SESSION]: session }, sessionAlive: () => true,
    });
    await prov.watch(ns);
  });

  after(async () => {
    await prov?.stop();
    await endpoint?.close();
    try { kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
    try { kubectl('delete', 'node', '-l', `${PROVISIONED_LABEL}=true,${SESSION}=${session}`, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
  });

  const apply = (manifest: string) => execFileSync(kubectlPath(), ['--kubeconfig', kubeconfig, 'apply', '-n', ns, '-f', '-'], { input: manifest, encoding: 'utf8', timeout: 30_000 });
  const myNodes = async () => (await core.listNode({ labelSelector: `${PROVISIONED_LABEL}=true,${SESSION}=${session}` })).items.map((n) => n.metadata!.name!).sort();
  const running = async () => (await core.listNamespacedPod({ namespace: ns })).items.filter((p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp);
  const nodeOf = async (app: string) => [...new Set((await running()).filter((p) => p.metadata?.labels?.app === app).map((p) => p.spec!.nodeName!))];

  it('moves the pod of an underused node onto another and removes the node, but never the extended-duration pod\'s node', async () => {
    apply(deployment('keep', 4, true));
    await until(async () => (await nodeOf('keep')).length === 1 && (await running()).length === 4, 40_000, `4 keep pods on one node (log: ${logs.join(' | ')})`);
    const [keepNode] = await nodeOf('keep');
    apply(deployment('move', 4, false));
    await until(async () => (await running()).length === 8, 40_000, `8 pods running (log: ${logs.join(' | ')})`);
    // Usually one node for the four; on a loaded machine the ReplicaSet's pods can come in batches
    // more than the provisioner's quiet time apart, and a batch gets a node of its own.
    const moveNodes = await nodeOf('move');
    assert.ok(!moveNodes.includes(keepNode), 'the second Deployment did not fit the first node');
    const made = await myNodes();
    assert.deepEqual(made, [keepNode, ...moveNodes].sort());

    // Series while both nodes are full: 2 ready Scale-Out nodes, 8 bound pods, a cost.
    const scrape = async () => (await httpGet(endpoint.url)).body;
    // The series follow the provisioner's scans (every second here).
    const podsLine = new RegExp(`devloop_autopilot_pods\\{namespace="${ns}",compute_class="Scale-Out",spot="false"\\} 8`);
    const text = await until(async () => { const t = await scrape(); return podsLine.test(t) ? t : undefined; }, 10_000, '8 bound pods in the series');
    // Per machine type: nodes made for batches of different sizes may differ.
    const readyNodes = (t: string) => [...t.matchAll(/devloop_autopilot_nodes\{compute_class="Scale-Out",machine_type="t2d-standard-\d+",spot="false",zone="us-central1-[a-f]",state="ready"\} (\d+)/g)].reduce((n, m) => n + Number(m[1]), 0);
    assert.equal(readyNodes(text), made.length);
    const cost = Number(new RegExp(`devloop_autopilot_cost_usd_per_hour\\{namespace="${ns}",kind="pods"\\} ([0-9.e-]+)`).exec(text)?.[1]);
    assert.ok(cost > 0, `8 Scale-Out pods cost something per hour: ${cost}`);
    assert.match(text, new RegExp(`devloop_autopilot_nodes_provisioned_total\\{compute_class="Scale-Out",spot="false"\\} ${made.length}`));

    kubectl('scale', 'deployment', 'keep', 'move', '-n', ns, '--replicas=1');
    // After the 3 s delay the node holding only `move`'s pod is drained into `keep`'s node and removed.
    await until(async () => (await myNodes()).length === 1, 40_000, `one node left (log: ${logs.join(' | ')})`);
    assert.deepEqual(await myNodes(), [keepNode], 'the extended-duration pod\'s node is the one kept');
    await until(async () => (await nodeOf('move')).join() === keepNode && (await running()).length === 2, 40_000, `move's new pod running on ${keepNode}`);
    // The node left holding move's one pod is drained as underused (a second move node, if any, emptied by the scale-down, goes as empty).
    assert.ok(logs.some((l) => moveNodes.some((n) => new RegExp(`removed node ${n}: underused: cpu \\d+%`).test(l)) && l.includes('evicted')), logs.join('\n'));
    // Said on the scan after keep's node has been underused for the delay too: waited for, not assumed.
    await until(() => logs.some((l) => l.includes(`node ${keepNode} is underused but kept`) && l.includes('safe-to-evict')), 20_000, `the note that ${keepNode} is kept (log: ${logs.join(' | ')})`);

    const after = await until(async () => { const t = await scrape(); return /evictions_total\{reason="consolidation"\} 1/.test(t) ? t : undefined; }, 10_000, 'the eviction counted');
    assert.match(after, /devloop_autopilot_nodes_removed_total\{reason="underused"\} 1/);
    assert.match(after, /devloop_autopilot_evictions_total\{reason="consolidation"\} 1/);
    assert.equal(readyNodes(after), 1, 'the removed nodes left the gauge');
  });
});
