// The two modes of Autopilot in the cluster (plugins/autopilot/modes.ts) against the local test
// cluster. `run` (the default): a Spot Deployment, which no node here could hold as written, runs
// for real on the cluster's own node with the resources Autopilot admitted (seen in the
// container's own cgroup), while the Spot node GKE would make for it is planned and shown, never
// made. (`simulate`, where the plan becomes kwok nodes, is tested in autopilot-provisioner.test.ts
// and autopilot-simulate-cluster.test.ts.)
//
// Needs `npm run build` (the CLI runs from dist/). Without a cluster the suite is skipped;
// DEVLOOP_K8S_REQUIRE=1 (or an explicit KUBECONFIG) makes that a failure.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { PLACEMENT_ANNOTATION } from '../plugins/autopilot/modes.js';
import { PROVISIONED_LABEL } from '../plugins/autopilot/provisioner.js';
import { copyFixture, runCli, startCli, within } from './helpers.js';
import { kubeconfig, kubectl, missing, required } from './k8s-helpers.js';

interface Pod {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { nodeName?: string; nodeSelector?: Record<string, string>; tolerations?: { key?: string }[]; containers: { resources: { requests?: Record<string, string>; limits?: Record<string, string> } }[] };
  status: { phase: string };
}

describe('Autopilot run mode: pods run on the real node, GKE\'s nodes planned beside them (fixture k8s-autopilot-run)', { skip: missing && !required ? missing : false, timeout: 180_000 }, () => {
  const ns = `devloop-aprun-${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  let dir = '';
  before(() => {
    if (missing) throw new Error(missing);
    kubectl('create', 'namespace', ns);
    dir = copyFixture('k8s-autopilot-run');
  });
  after(() => {
    try { kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs the Spot pod on the cluster\'s node with admitted cgroup limits, and shows the planned Spot node without making it', async () => {
    const env = { KUBECONFIG: kubeconfig, DEVLOOP_TEST_NS: ns };
    const up = startCli(['up', '--output', 'json'], { cwd: dir, env });
    try {
      await up.waitFor((e) => e.type === 'service/health' && e.service === 'worker' && e.health === 'healthy', 120_000, 'worker healthy');
      const pods = (JSON.parse(kubectl('get', 'pods', '-n', ns, '-l', 'app=worker', '-o', 'json')) as { items: Pod[] }).items;
      assert.equal(pods.length, 1);
      const pod = pods[0];
      assert.equal(pod.status.phase, 'Running');
      const node = JSON.parse(kubectl('get', 'node', pod.spec.nodeName!, '-o', 'json')) as { metadata: { labels: Record<string, string>; annotations?: Record<string, string> } };
      assert.equal(node.metadata.labels[PROVISIONED_LABEL], undefined, `runs on ${pod.spec.nodeName}, the cluster's own node`);
      assert.equal(node.metadata.annotations?.['kwok.x-k8s.io/node'], undefined, 'not a kwok node');

      // The Pod's GKE placement moved to the annotation; the Deployment keeps it as written.
      assert.equal(pod.spec.nodeSelector?.['cloud.google.com/gke-spot'], undefined);
      assert.deepEqual(JSON.parse(pod.metadata.annotations![PLACEMENT_ANNOTATION]), { nodeSelector: { 'cloud.google.com/gke-spot': 'true' } });
      assert.ok(pod.spec.tolerations?.some((t) => t.key === 'cloud.google.com/gke-spot'), 'admission\'s Spot toleration is kept');
      const dep = JSON.parse(kubectl('get', 'deployment', 'worker', '-n', ns, '-o', 'json')) as { spec: { template: { spec: { nodeSelector?: Record<string, string> } } } };
      assert.equal(dep.spec.template.spec.nodeSelector?.['cloud.google.com/gke-spot'], 'true');

      // Admitted 100m/128Mi -> 250m/512Mi (no bursting: requests = limits), and the kubelet enforces it.
      const r = pod.spec.containers[0].resources;
      assert.deepEqual([r.requests?.cpu, r.requests?.memory, r.limits?.cpu, r.limits?.memory], ['250m', '512Mi', '250m', '512Mi']);
      const memLimit = kubectl('exec', '-n', ns, pod.metadata.name, '--', 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes').trim();
      assert.equal(memLimit, String(512 * 1024 * 1024), 'the container\'s memory cgroup limit is the admitted 512Mi');
      const quota = kubectl('exec', '-n', ns, pod.metadata.name, '--', 'cat', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us').trim();
      const period = kubectl('exec', '-n', ns, pod.metadata.name, '--', 'cat', '/sys/fs/cgroup/cpu/cpu.cfs_period_us').trim();
      assert.equal(Number(quota) / Number(period), 0.25, `cpu quota ${quota}/${period} is the admitted 250m`);

      // The details view: the real node, and the Spot node GKE would run it on (planned), priced at Spot rates.
      const extra = await up.waitFor((e) => e.type === 'service/extra' && e.service === 'worker' && e.plugin === 'devloop:autopilot' && e.data.plannedNodes?.length === 1 && e.data.running === 1, 30_000, 'devloop:autopilot extra with the planned node');
      assert.deepEqual(extra.data.nodes, [pod.spec.nodeName]);
      assert.match(extra.data.plannedNodes[0], /^gk3-devloop-nap-\d+-\d{4}$/);
      assert.equal(extra.data.spot, true);
      assert.ok(extra.data.usdPerHour > 0, JSON.stringify(extra.data));
      const line = extra.data.details.find((d: string) => d.startsWith(`pod ${pod.metadata.name} on ${pod.spec.nodeName} · on GKE: ${extra.data.plannedNodes[0]} (`));
      assert.ok(line && /general-purpose, e2-standard-\d+, Spot, us-central1-[a-f]\), planned · \$/.test(line), extra.data.details.join('\n'));

      // Nothing is materialised, so nothing can be preempted.
      assert.equal(kubectl('get', 'nodes', '-l', `${PROVISIONED_LABEL}=true,devloop.dev/session=${up.child.pid}`, '-o', 'name'), '', 'run mode makes no node');
      const preempt = await runCli(['autopilot', 'preempt', extra.data.plannedNodes[0]], { cwd: dir, env, timeoutMs: 30_000 });
      assert.equal(preempt.code, 1, preempt.stderr);
      assert.match(preempt.stderr, /simulation\.autopilot\.mode is "run".*set mode: 'simulate'/);

      up.child.kill('SIGINT');
      assert.equal(await within(up.exited, 60_000, 'devloop up to exit'), 0, up.stderr());
    } finally {
      up.child.kill('SIGKILL');
      await up.exited;
    }
  });
});
