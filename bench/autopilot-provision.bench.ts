/**
 * Autopilot node auto-provisioning in the test cluster (plugins/autopilot/provisioner.ts,
 * `provisioning: fast`): a Deployment of PODS Scale-Out pods that no node can hold, from
 * `kubectl apply` to every pod Running on kwok nodes the provisioner made, with the CPU time and
 * RSS of the process running the controller; against the baseline of the same pods applied onto
 * the same nodes created beforehand (scheduler + kwok alone, nothing to provision), in the same run.
 * The difference is the provisioning delay (2 s, PROVISIONING.fast) plus the controller's scans.
 * Needs the test cluster with its kwok controller (`bash test/infra/k8s-up.sh`).
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { CoreV1Api } from '@kubernetes/client-node';
import { PROVISIONED_LABEL, Provisioner, type NodeObject, type ProvisionerApi } from '../plugins/autopilot/provisioner.js';
import { kubeconfig, kubectl, kubectlPath } from '../test/k8s-helpers.js';
import type { BenchResult } from './types.js';

const PODS = Number(process.env.DEVLOOP_BENCH_PROVISION_PODS ?? 300);
const SESSION = 'devloop.dev/session';

function deployment(replicas: number): string {
  return JSON.stringify({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'many' },
    spec: {
      replicas, selector: { matchLabels: { app: 'many' } },
      template: {
        metadata: { labels: { app: 'many' } },
        spec: {
          nodeSelector: { 'cloud.google.com/compute-class': 'Scale-Out' }, terminationGracePeriodSeconds: 0,
          tolerations: [{ key: 'cloud.google.com/compute-class', operator: 'Equal', value: 'Scale-Out', effect: 'NoSchedule' }],
          containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '250m', memory: '512Mi' } } }],
        },
      },
    },
  });
}

async function allRunning(core: CoreV1Api, ns: string, n: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'app=many' })).items;
    if (pods.length === n && pods.every((p) => p.status?.phase === 'Running')) return;
    if (Date.now() > end) throw new Error(`${pods.filter((p) => p.status?.phase === 'Running').length}/${n} pods Running in ${ns} after ${timeoutMs / 1000}s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function run(): Promise<BenchResult[]> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const tag = `${process.pid}-${Math.random().toString(36).slice(2, 6)}`;
  const nsProv = `devloop-nap-bench-${tag}`;
  const nsBase = `devloop-nap-base-${tag}`;
  const apply = (ns: string) => execFileSync(kubectlPath(), ['--kubeconfig', kubeconfig, 'apply', '-n', ns, '-f', '-'], { input: deployment(PODS), encoding: 'utf8' });
  const made: NodeObject[] = [];
  const baseNodes: string[] = [];
  const api = core as unknown as ProvisionerApi;
  const recording: ProvisionerApi = { ...api, listPodForAllNamespaces: () => api.listPodForAllNamespaces(), listNode: (p) => api.listNode(p), deleteNode: (p) => api.deleteNode(p),
    createNode: (p) => { made.push(p.body); return api.createNode(p); } };
  const prov = new Provisioner({ api: recording, logger: { info() {}, warn: (m) => console.error(m) }, provisioning: 'fast', consolidationDelayS: 600, session: { [SESSION]: String(process.pid) } });
  try {
    kubectl('create', 'namespace', nsProv);
    kubectl('create', 'namespace', nsBase);

    // Provisioned: nothing can hold the pods until the controller makes nodes.
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await prov.watch(nsProv);
    apply(nsProv);
    await allRunning(core, nsProv, PODS, 180_000);
    const provisionedMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const rssMiB = process.memoryUsage().rss / 2 ** 20;
    const nodes = made.length;
    // The pods go first: pods left on nodes that vanish would be recreated onto the baseline's nodes.
    kubectl('delete', '-n', nsProv, 'deployment/many', '--wait=true');
    execFileSync(kubectlPath(), ['--kubeconfig', kubeconfig, 'wait', '-n', nsProv, '--for=delete', 'pod', '-l', 'app=many', '--timeout=90s'], { stdio: 'ignore' });
    await prov.stop();

    // Baseline: the same nodes exist (and are Ready) before the pods are applied.
    for (const n of made) {
      const name = `${n.metadata.name}-base`;
      await core.createNode({ body: { ...n, metadata: { ...n.metadata, name, labels: { ...n.metadata.labels, 'kubernetes.io/hostname': name } } } as never });
      baseNodes.push(name);
    }
    execFileSync(kubectlPath(), ['--kubeconfig', kubeconfig, 'wait', '--for=condition=Ready', '--timeout=60s', ...baseNodes.map((n) => `node/${n}`)], { stdio: 'ignore' });
    const cpuB0 = process.cpuUsage();
    const t1 = performance.now();
    apply(nsBase);
    await allRunning(core, nsBase, PODS, 180_000);
    const baselineMs = performance.now() - t1;
    const cpuB = process.cpuUsage(cpuB0);

    const note = `${PODS} Scale-Out pods (250m, 512Mi), ${nodes} node(s) made; provisioning fast (2 s boot, 1 s scans)`;
    return [
      { name: `${PODS} pods Running on provisioned kwok nodes`, value: Math.round(provisionedMs), unit: 'ms', baseline: { name: 'same pods on pre-created nodes', value: Math.round(baselineMs) }, note },
      { name: 'bench process CPU time (controller + polling)', value: Math.round((cpu.user + cpu.system) / 1000), unit: 'ms', baseline: { name: 'polling alone, pre-created nodes', value: Math.round((cpuB.user + cpuB.system) / 1000) }, note },
      { name: 'bench process RSS after provisioning', value: Math.round(rssMiB), unit: 'MiB', note },
    ];
  } finally {
    await prov.stop();
    for (const n of baseNodes) await core.deleteNode({ name: n }).catch(() => undefined);
    for (const ns of [nsProv, nsBase]) { try { kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ } }
    try { kubectl('delete', 'node', '-l', `${PROVISIONED_LABEL}=true,${SESSION}=${process.pid}`, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
  }
}
