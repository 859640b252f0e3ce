// Autopilot's node auto-provisioning (plugins/autopilot/provisioner.ts) against the local test
// cluster (test/infra/k8s-up.sh, which always runs the kwok controller): pods no node can hold get
// a kwok node with GKE's labels and the real kube-scheduler binds them there; a Spot workload lands
// on a Spot node carrying the Spot taint; scaling to 0 removes the node after the consolidation
// delay; stopping the provisioner removes the rest. Only tainted node kinds (Scale-Out, Spot) are
// made here, so pods of tests running at the same time never land on them.
//
// The pods carry the tolerations Autopilot's admission adds (placement.ts applyPlacement): the
// cluster has no admission webhook here.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CoreV1Api, V1Node } from '@kubernetes/client-node';
import { PROVISIONED_LABEL, Provisioner, type ProvisionerApi } from '../plugins/autopilot/provisioner.js';
import { sessionAlive } from '../plugins/docker/names.js';
import { copyFixture, runCli, startCli, within } from './helpers.js';
import { kubeconfig, kubectl, kubectlPath, missing, required, stateDir } from './k8s-helpers.js';

const SESSION = 'devloop.dev/session';

/** Polls every 500 ms (kubectl and the API server share 2 cores with everyone). */
async function poll<T>(fn: () => T | Promise<T>, timeoutMs: number, what: string): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try { const v = await fn(); if (v) return v as NonNullable<T>; } catch (err) { last = err; }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function kwokRunning(): boolean {
  const pidFile = path.join(stateDir, 'pids', 'kwok');
  if (!existsSync(pidFile)) return false;
  try { process.kill(Number(readFileSync(pidFile, 'utf8').trim()), 0); return true; } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM'; }
}

function deployment(name: string, replicas: number, selector: Record<string, string>, toleration: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name },
    spec: {
      replicas, selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          // Its own session's nodes only: Spot and Scale-Out nodes of suites running at the same
          // time in the same cluster would otherwise take these pods (and drain them).
          nodeSelector: { ...selector, [SESSION]: String(process.pid) }, tolerations: [{ ...toleration, operator: 'Equal', effect: 'NoSchedule' }], terminationGracePeriodSeconds: 0,
          containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '250m', memory: '512Mi' } } }],
        },
      },
    },
  });
}

describe('Autopilot node auto-provisioning in the local test cluster', { skip: missing && !required ? missing : false, timeout: 120_000 }, () => {
  const ns = `devloop-nap-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  let core: CoreV1Api;
  let prov: Provisioner;
  const logs: string[] = [];
  const session = { [SESSION]: String(process.pid) };

  before(async () => {
    if (missing) throw new Error(missing);
    if (!kwokRunning()) throw new Error(`the kwok controller is not running (${stateDir}/pids/kwok): run bash test/infra/k8s-up.sh, which starts it`);
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    core = kc.makeApiClient(k8s.CoreV1Api);
    kubectl('create', 'namespace', ns);
    prov = new Provisioner({
      api: core as unknown as ProvisionerApi,
      logger: { info: (m) => logs.push(m), warn: (m) => logs.push(`WARN ${m}`) },
      provisioning: 'fast', consolidationDelayS: 3, session,
      sessionAlive: (labels) => sessionAlive({ 'dev.devloop.session': labels[SESSION] ?? '' }),
    });
    await prov.watch(ns);
  });

  after(async () => {
    await prov?.stop();
    try { kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
    // Whatever a failed run left of this process's nodes.
    try { kubectl('delete', 'node', '-l', `${PROVISIONED_LABEL}=true,${SESSION}=${process.pid}`, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
  });

  const myNodes = async (extra = '') => (await core.listNode({ labelSelector: `${PROVISIONED_LABEL}=true,${SESSION}=${process.pid}${extra}` })).items;
  const podsOf = async (app: string) => (await core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` })).items;
  const runningOn = async (app: string, n: number, node: (name: string) => V1Node | undefined) => {
    const pods = await podsOf(app);
    return pods.length === n && pods.every((p) => p.status?.phase === 'Running' && p.spec?.nodeName && node(p.spec.nodeName)) ? pods : undefined;
  };

  let scaleOutNode = '';
  let spotNode = '';

  const apply = (manifest: string) => execFileSync(kubectlPath(), ['--kubeconfig', kubeconfig, 'apply', '-n', ns, '-f', '-'], { input: manifest, encoding: 'utf8', timeout: 30_000 });

  it('pods no node can hold (compute class Scale-Out) get a Scale-Out kwok node and run on it', async () => {
    apply(deployment('scale-out', 2, { 'cloud.google.com/compute-class': 'Scale-Out' }, { key: 'cloud.google.com/compute-class', value: 'Scale-Out' }));
    const [node] = await poll(async () => { const n = await myNodes(',cloud.google.com/compute-class=Scale-Out'); return n.length ? n : undefined; }, 30_000, `a Scale-Out node (provisioner log: ${logs.join(' | ')})`);
    scaleOutNode = node.metadata!.name!;
    const l = node.metadata!.labels!;
    assert.equal(l['cloud.google.com/machine-family'], 't2d');
    assert.match(l['node.kubernetes.io/instance-type'], /^t2d-standard-\d+$/);
    assert.match(l['topology.kubernetes.io/zone'], /^us-central1-[a-f]$/);
    assert.equal(node.metadata!.annotations!['kwok.x-k8s.io/node'], 'fake');
    assert.deepEqual(node.spec!.taints?.map((t) => `${t.key}=${t.value}:${t.effect}`).filter((t) => !t.startsWith('node.kubernetes.io/')), ['cloud.google.com/compute-class=Scale-Out:NoSchedule']);
    await poll(() => runningOn('scale-out', 2, (n) => (n === scaleOutNode ? node : undefined)), 40_000, `both scale-out pods Running on ${scaleOutNode}`);
    assert.equal((await myNodes()).length, 1, 'two small pods of one shape share one node');
  });

  it('a Spot workload lands on a Spot node that carries the Spot taint', async () => {
    apply(deployment('spot', 1, { 'cloud.google.com/gke-spot': 'true' }, { key: 'cloud.google.com/gke-spot', value: 'true' }));
    const [node] = await poll(async () => { const n = await myNodes(',cloud.google.com/gke-spot=true'); return n.length ? n : undefined; }, 30_000, `a Spot node (provisioner log: ${logs.join(' | ')})`);
    spotNode = node.metadata!.name!;
    assert.ok(node.spec!.taints?.some((t) => t.key === 'cloud.google.com/gke-spot' && t.value === 'true' && t.effect === 'NoSchedule'), JSON.stringify(node.spec!.taints));
    assert.equal(node.metadata!.labels!['cloud.google.com/gke-provisioning'], 'spot');
    await poll(() => runningOn('spot', 1, (n) => (n === spotNode ? node : undefined)), 40_000, `the spot pod Running on ${spotNode}`);
  });

  it('preempting the Spot node evicts its pod, the pod runs again on a new Spot node, and the old node goes', async () => {
    assert.ok(spotNode, 'the test above made the Spot node');
    await assert.rejects(prov.preempt(scaleOutNode), (err: Error) => err.message.includes(`node ${scaleOutNode} is not a Spot node`) && err.message.includes(`the Spot nodes it can preempt: ${spotNode}`));
    await assert.rejects(prov.preempt('no-such-node'), /node no-such-node was not made by this session's Autopilot node provisioner; the Spot nodes it can preempt: /);
    const [old] = await podsOf('spot');
    const r = await prov.preempt(spotNode);
    assert.deepEqual(r.pods, [`${ns}/${old.metadata!.name}`]);
    const tainted = await core.readNode({ name: spotNode }).catch(() => undefined);
    // Deleted after the 2 s grace (fast provisioning); if still there it carries GKE's termination taint.
    if (tainted) assert.ok(tainted.spec?.taints?.some((t) => t.key === 'cloud.google.com/impending-node-termination'), JSON.stringify(tainted.spec?.taints));
    const replacement = await poll(async () => {
      const n = (await myNodes(',cloud.google.com/gke-spot=true')).find((x) => x.metadata!.name !== spotNode);
      return n && (await runningOn('spot', 1, (name) => (name === n.metadata!.name ? n : undefined))) ? n : undefined;
    }, 60_000, `the spot pod Running on a new Spot node (provisioner log: ${logs.join(' | ')})`);
    await poll(async () => !(await myNodes()).some((n) => n.metadata!.name === spotNode), 20_000, `${spotNode} deleted after the grace period`);
    assert.notEqual((await podsOf('spot'))[0].metadata!.uid, old.metadata!.uid, 'the ReplicaSet made a new pod');
    spotNode = replacement.metadata!.name!;
  });

  it('scaling the Deployment to 0 removes its node after the consolidation delay, and only that node', async () => {
    assert.ok(scaleOutNode && spotNode, 'the tests above made the nodes');
    kubectl('scale', '-n', ns, 'deployment/scale-out', '--replicas=0');
    await poll(async () => !(await myNodes()).some((n) => n.metadata!.name === scaleOutNode), 40_000, `${scaleOutNode} removed (provisioner log: ${logs.join(' | ')})`);
    assert.ok((await myNodes()).some((n) => n.metadata!.name === spotNode), 'the busy Spot node stays');
    assert.ok(logs.some((m) => m.includes(`removed node ${scaleOutNode}`) && /consolidation delay 3s/.test(m)), logs.join('\n'));
  });

  it('stopping the provisioner removes the nodes it made, and the real node stays', async () => {
    // Only real nodes are compared: other sessions' kwok nodes may come and go meanwhile.
    const real = async () => (await core.listNode()).items.filter((n) => n.metadata?.annotations?.['kwok.x-k8s.io/node'] !== 'fake').map((n) => n.metadata!.name!).sort();
    const before = await real();
    assert.ok(before.length > 0, 'the cluster has a real node');
    await prov.stop();
    await poll(async () => (await myNodes()).length === 0, 20_000, 'the nodes this provisioner made to be gone');
    assert.deepEqual(await real(), before);
  });
});

// The wiring: `devloop up` with simulation.autopilot.enabled starts the provisioner with the
// Kubernetes runtime, the rollout waits for the node instead of failing on Unschedulable, and the
// exit removes the node. Needs `npm run build` (the CLI runs from dist/).
describe('devloop up provisions a node for a Spot Deployment (fixture k8s-provision)', { skip: missing && !required ? missing : false, timeout: 180_000 }, () => {
  const ns = `devloop-napcli-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  let dir = '';
  before(() => {
    if (missing) throw new Error(missing);
    if (!kwokRunning()) throw new Error(`the kwok controller is not running (${stateDir}/pids/kwok): run bash test/infra/k8s-up.sh, which starts it`);
    kubectl('create', 'namespace', ns);
    dir = copyFixture('k8s-provision');
  });
  after(() => {
    try { kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('deploys, the pod runs on a provisioned Spot node, and the exit removes the node', async () => {
    const up = startCli(['up', '--output', 'json'], { cwd: dir, env: { KUBECONFIG: kubeconfig, DEVLOOP_TEST_NS: ns } });
    try {
      // Ready means rolled out: the rollout waited for the node instead of failing on Unschedulable.
      await up.waitFor((e) => e.type === 'service/health' && e.service === 'batch' && e.health === 'healthy', 90_000, 'batch healthy');
      const podJson = JSON.parse(kubectl('get', 'pods', '-n', ns, '-l', 'app=batch', '-o', 'json')) as { items: { metadata: { name: string }; spec: { nodeName?: string }; status: { phase: string } }[] };
      assert.equal(podJson.items.length, 1);
      assert.equal(podJson.items[0].status.phase, 'Running');
      const nodeName = podJson.items[0].spec.nodeName!;
      const node = JSON.parse(kubectl('get', 'node', nodeName, '-o', 'json')) as { metadata: { labels: Record<string, string> }; spec: { taints?: { key: string }[] } };
      assert.equal(node.metadata.labels[PROVISIONED_LABEL], 'true', `the pod runs on ${nodeName}, a node devloop made`);
      assert.equal(node.metadata.labels['cloud.google.com/gke-spot'], 'true');
      assert.equal(node.metadata.labels[SESSION], String(up.child.pid), 'labelled with the session of this devloop');

      // The details view: the node the pod is on, the Spot price and what admission settled on.
      const extra = await up.waitFor((e) => e.type === 'service/extra' && e.service === 'batch' && e.plugin === 'devloop:autopilot' && e.data.nodes?.includes(nodeName), 30_000, 'devloop:autopilot extra naming the node');
      assert.equal(extra.data.spot, true);
      assert.ok(extra.data.usdPerHour > 0, JSON.stringify(extra.data));
      // The webhook added the ephemeral-storage default; the reason comes from the admission engine.
      assert.deepEqual(extra.data.admitted, ['c cpu=250m memory=512Mi ephemeral-storage=1Gi'], extra.data.details.join('\n'));
      const adjusted = extra.data.details.filter((d: string) => d.startsWith('adjusted: '));
      assert.deepEqual(adjusted.map((d: string) => d.replace(/: [^:]*$/, '')), ['adjusted: c requests.ephemeral-storage unset → 1Gi', 'adjusted: c limits.ephemeral-storage unset → 1Gi'], extra.data.details.join('\n'));
      assert.ok(extra.data.details.some((d: string) => d.startsWith(`pod ${podJson.items[0].metadata.name} on ${nodeName} (`) && d.includes('Spot) · $')), extra.data.details.join('\n'));

      const env = { KUBECONFIG: kubeconfig, DEVLOOP_TEST_NS: ns };
      const bad = await runCli(['autopilot', 'preempt', 'no-such-node'], { cwd: dir, env, timeoutMs: 30_000 });
      assert.equal(bad.code, 1, bad.stderr);
      assert.match(bad.stderr, new RegExp(`node no-such-node was not made by this session's Autopilot node provisioner; the Spot nodes it can preempt: ${nodeName}`));
      const ok = await runCli(['autopilot', 'preempt', nodeName], { cwd: dir, env, timeoutMs: 30_000 });
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, new RegExp(`preempted Spot node ${nodeName}: evicted ${ns}/${podJson.items[0].metadata.name}`));
      // The ReplicaSet's new pod gets a new Spot node from the provisioner; the preempted node goes.
      const moved = await up.waitFor((e) => e.type === 'service/extra' && e.plugin === 'devloop:autopilot' && e.data.running === 1 && e.data.nodes?.length === 1 && e.data.nodes[0] !== nodeName, 60_000, 'the pod running on a new node');
      const newNode = moved.data.nodes[0] as string;
      const again = JSON.parse(kubectl('get', 'node', newNode, '-o', 'json')) as { metadata: { labels: Record<string, string> } };
      assert.equal(again.metadata.labels['cloud.google.com/gke-spot'], 'true');
      assert.equal(again.metadata.labels[PROVISIONED_LABEL], 'true');
      await poll(() => kubectl('get', 'node', nodeName, '--ignore-not-found', '-o', 'name') === '', 30_000, `${nodeName} deleted after the grace period`);

      up.child.kill('SIGINT');
      assert.equal(await within(up.exited, 60_000, 'devloop up to exit'), 0, up.stderr());
      assert.equal(kubectl('get', 'node', nodeName, '--ignore-not-found', '-o', 'name'), '', `${nodeName} removed at exit`);
      assert.equal(kubectl('get', 'node', newNode, '--ignore-not-found', '-o', 'name'), '', `${newNode} removed at exit`);
    } finally {
      up.child.kill('SIGKILL');
      await up.exited;
      try { kubectl('delete', 'node', '-l', `${PROVISIONED_LABEL}=true,${SESSION}=${up.child.pid}`, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
    }
  });
});
