/**
 * `devloop autopilot check` (the built CLI) over a corpus of workloads modelled on Google's
 * kubernetes-engine-samples that say they run on Autopilot: test/fixtures/autopilot-corpus/, one
 * file per situation, written for this suite. Each expected outcome (admitted, denied and why,
 * mutated to which values) names the source it relies on:
 *
 * - RES: "Resource requests in Autopilot",
 *   https://cloud.google.com/kubernetes-engine/docs/concepts/autopilot-resource-requests
 *   (sentences quoted from the English page, or from its zh-CN edition `?hl=zh-cn`, translated).
 * - PARTNER: "Run privileged workloads from GKE Autopilot partners",
 *   https://cloud.google.com/kubernetes-engine/docs/how-to/run-autopilot-partner-workloads
 * - WINDOWS: "Windows Server containers on GKE",
 *   https://cloud.google.com/kubernetes-engine/docs/concepts/windows-server-gke
 * - REF: /work/shared/reference/autopilot.md, the project's table of GKE facts and real Warden
 *   messages (section named per case).
 * - A real cluster's answer quoted in a public issue, where GKE's page gives no sentence.
 *
 * The cluster is devloop's default (GKE 1.33, bursting on), the one `check` prints.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import type { CheckEntry, CheckReport } from '../bin/commands/autopilot.js';
import type { Container, PodSpec } from '../plugins/autopilot/types.js';
import { repoRoot, runCli } from './helpers.js';

const DIR = 'test/fixtures/autopilot-corpus';
const FILES = readdirSync(`${repoRoot}/${DIR}`).filter((f) => f.endsWith('.yaml')).sort();

let report: CheckReport;
let code: number | null;
let plain: string;

const entry = (kind: string, name: string): CheckEntry => {
  const e = report.entries.find((x) => x.kind === kind && x.name === name);
  assert.ok(e, `${kind} ${name} is in the report`);
  return e;
};
const specOf = (e: CheckEntry): PodSpec => {
  const m = e.mutated;
  return m.kind === 'Pod' ? m.spec : m.kind === 'CronJob' ? m.spec.jobTemplate.spec.template.spec : m.spec.template.spec;
};
const container = (e: CheckEntry, name: string): Container => {
  const s = specOf(e);
  const c = [...(s.initContainers ?? []), ...s.containers].find((x) => x.name === name);
  assert.ok(c, `container ${name} in ${e.kind} ${e.name}`);
  return c;
};
const constraints = (e: CheckEntry) => e.denials.map((d) => d.constraint);
/** Where each entry came from, file name only (sources are `DIR/file.yaml:line`). */
const fileOf = (e: CheckEntry) => e.source.slice(DIR.length + 1).replace(/:\d+$/, '');

describe('autopilot check over the samples-style corpus', { timeout: 120_000 }, () => {
  before(async () => {
    const json = await runCli(['-o', 'json', 'autopilot', 'check', DIR], { cwd: repoRoot, timeoutMs: 60_000 });
    assert.equal(json.stderr, '', 'every corpus file is a valid Kubernetes object');
    code = json.code;
    report = JSON.parse(json.stdout) as CheckReport;
    const text = await runCli(['autopilot', 'check', DIR], { cwd: repoRoot, timeoutMs: 60_000 });
    plain = text.stdout;
  });

  it('checks every file, exits 1 because some are denied, and reports the cluster it assumed', () => {
    assert.deepEqual([...new Set(report.entries.map(fileOf))].sort(), FILES, 'each corpus file has a result');
    assert.equal(code, 1);
    assert.equal(report.gkeVersion, '1.33.5-gke.1080000');
    assert.equal(report.bursting, true);
    assert.equal(report.region, 'us-central1');
    const denied = report.entries.filter((e) => !e.allowed).map((e) => `${e.kind}/${e.name}`).sort();
    assert.deepEqual(denied, [
      'DaemonSet/driver-installer', 'DaemonSet/node-agent', 'Deployment/ha-required', 'Deployment/iis', 'Deployment/vpn-gateway', 'Pod/cuda-vector-add', 'Pod/host-net', 'Pod/scratch-h100',
    ]);
    const workloads = report.entries.filter((e) => e.kind !== 'Service').length;
    assert.deepEqual(report.summary.workloads, { checked: workloads, admitted: workloads - denied.length, denied: denied.length });
    assert.deepEqual(report.summary.otherObjects, { checked: 1, denied: 0 });
    const admittedCost = report.entries.reduce((sum, e) => sum + (e.estimate?.usdPerHour ?? 0), 0);
    assert.ok(Math.abs(report.summary.usdPerHour - admittedCost) < 1e-6, 'the total is the admitted entries\' sum');
    assert.match(plain, new RegExp(`^${workloads} workloads: ${workloads - denied.length} admitted, ${denied.length} denied\\. 1 object without pods\\.$`, 'm'));
  });

  it('plain Deployment + Service: admitted as written, only the 1Gi ephemeral default added', () => {
    // RES, default requests (zh-CN): for every container other than a DaemonSet's, "ephemeral
    // storage: 1 GiB", whatever the compute class or hardware.
    const web = entry('Deployment', 'hello-web');
    assert.equal(web.allowed, true);
    assert.deepEqual(container(web, 'hello').resources, { requests: { cpu: '250m', memory: '512Mi', 'ephemeral-storage': '1Gi' }, limits: { 'ephemeral-storage': '1Gi' } });
    assert.deepEqual(entry('Service', 'hello-web').denials, []);
  });

  it('GPU inference on one nvidia-l4 with 20Gi of ephemeral storage: admitted, billed by node', () => {
    // RES #min-max-requests, as quoted by harbor-gke-ext's troubleshooting notes: ephemeral storage
    // is capped at "10 GiB for general-purpose, Balanced, and Scale-Out Pods; up to 56 TiB for
    // Performance and accelerator Pods on GKE 1.29.3-gke.1038000 or later". The flat 10Gi was the
    // old rule ("must be between 10 MiB and 10 GiB for all compute classes", quoted in
    // GoogleCloudPlatform/gcs-fuse-csi-driver#21, 2023).
    const l4 = entry('Deployment', 'llm-l4');
    assert.equal(l4.allowed, true, JSON.stringify(l4.denials));
    assert.equal(container(l4, 'server').resources?.requests?.['ephemeral-storage'], '20Gi');
    // REF §GPUs: from 1.29.4-gke.1427000 the Accelerator class is implied by the GPU selector;
    // Accelerator pods are billed by node (REF §Pricing).
    assert.equal(l4.estimate?.billing, 'node');
    assert.equal(l4.estimate?.machineType, 'g2-standard-4');
    // REF §GPUs / data.ts applyPlacement: the tolerations for the Accelerator and GPU node taints are added.
    assert.deepEqual(specOf(l4).tolerations, [
      { key: 'cloud.google.com/compute-class', operator: 'Equal', value: 'Accelerator', effect: 'NoSchedule' },
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
    ]);
  });

  it('A100 with the Accelerator class named: admitted within the 1-GPU range; H100 above its local SSD: denied', () => {
    // A real cluster's limits for one nvidia-tesla-a100 (argoproj/argo-workflows#13073): "higher
    // than the Autopilot maximum of '11'" (CPU) and "'74Gi'" (memory); 10 vCPU / 70Gi fits.
    const a100 = entry('Job', 'finetune-a100');
    assert.equal(a100.allowed, true, JSON.stringify(a100.denials));
    assert.equal(a100.estimate?.machineType, 'a2-highgpu-1g');
    // RES default requests (zh-CN): Accelerator class, "no default requests are enforced": only the
    // 10Mi ephemeral-storage minimum is added (RES: "If your requests are less than the minimum,
    // Autopilot automatically modifies your workload configuration").
    // (The GPU request is the limit, by Kubernetes' own defaulting of requests from limits.)
    assert.deepEqual(container(a100, 'trainer').resources?.requests, { cpu: '10', memory: '70Gi', 'nvidia.com/gpu': '1', 'ephemeral-storage': '10Mi' });
    // RES #min-max-requests via harbor-gke-ext: "on hardware with Local SSDs, the Local SSD capacity
    // minus GKE's system overhead. A100 (80GB) and H100 (80GB) GPUs always use Local SSDs", and the
    // real denial it quotes: "is higher than the nvidia-h100-80gb-1 maximum of '588Gi'".
    const h100 = entry('Pod', 'scratch-h100');
    assert.deepEqual(h100.denials, [{ constraint: 'autogke-pod-limit-constraints', message: "Total ephemeral-storage requested by containers for workload is higher than the nvidia-h100-80gb-1 maximum of '588Gi'" }]);
    assert.equal(h100.estimate, null, 'a denied workload has no price');
  });

  it('a GPU limit without a GPU type: denied with GKE\'s message, and no price', () => {
    // A real cluster (substratusai/helm#8): "You must specify a GPU type with node selector
    // 'cloud.google.com/gke-accelerator' when GPU is requested on Autopilot workloads; supported
    // values are: [...]". GKE does not pick a type for you.
    const pod = entry('Pod', 'cuda-vector-add');
    assert.deepEqual(constraints(pod), ['autogke-gpu-limitation']);
    assert.match(pod.denials[0].message, /^You must specify a GPU type with node selector 'cloud\.google\.com\/gke-accelerator' when GPU is requested on Autopilot workloads; supported values are: \[nvidia-a100-80gb, .*nvidia-l4, .*\]\.$/);
    assert.equal(pod.estimate, null);
    assert.match(plain, /^DENIED {4}Pod samples\/cuda-vector-add  Accelerator, 1 pod: 0 vCPU, 0 GiB, no price: denied  \[/m);
    assert.doesNotMatch(plain, /undefined/);
  });

  it('Balanced, Scale-Out and Performance via cloud.google.com/compute-class', () => {
    // REF §Admission table: Balanced minimum 0.5Gi memory; RES: below a minimum, "Autopilot
    // automatically modifies your workload configuration to bring your requests within the allowed range".
    assert.deepEqual(container(entry('Deployment', 'balanced-api'), 'api').resources?.requests, { cpu: '500m', memory: '512Mi', 'ephemeral-storage': '1Gi' });
    // REF §Admission table: Scale-Out has a fixed 1:4 CPU:memory ratio, so 1 vCPU needs 4Gi.
    const so = entry('Deployment', 'scaleout-worker');
    assert.deepEqual(container(so, 'worker').resources?.requests, { cpu: '1', memory: '4Gi', 'ephemeral-storage': '1Gi' });
    assert.ok(so.adjustments.some((a) => a.resource === 'memory' && a.from === '1Gi' && a.to === '4Gi' && /4 GiB per vCPU for Scale-Out/.test(a.reason)), 'the change says why');
    // REF §Admission: Performance has no ratio and is billed by node; 50Gi ephemeral storage is
    // within the 56Ti Performance maximum (RES #min-max-requests via harbor-gke-ext, above).
    const perf = entry('Deployment', 'perf-batch');
    assert.equal(perf.allowed, true, JSON.stringify(perf.denials));
    assert.deepEqual(container(perf, 'batch').resources?.requests, { cpu: '4', memory: '16Gi', 'ephemeral-storage': '50Gi' });
    assert.equal(perf.estimate?.billing, 'node');
    assert.match(perf.estimate?.machineType ?? '', /^c3-/);
  });

  it('Spot pods: admitted, the Spot toleration added, priced at Spot rates', () => {
    // REF §GPUs and Spot: "Spot: nodeSelector: cloud.google.com/gke-spot: "true" ...; tolerations
    // are added automatically".
    const spot = entry('Deployment', 'spot-worker');
    assert.equal(spot.allowed, true);
    assert.deepEqual(specOf(spot).tolerations, [{ key: 'cloud.google.com/gke-spot', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    assert.equal(spot.estimate?.spot, true);
  });

  it('pod anti-affinity: required at 250m denied; preferred at 100m admitted unchanged; topology spread admitted unchanged', () => {
    // REF §Admission, a real denial: "cpu requests '250m' is lower than the Autopilot minimum
    // required of '500m' for using pod anti affinity" (Qovery/engine, loki chart).
    const req = entry('Deployment', 'ha-required');
    assert.deepEqual(req.denials, [{ constraint: 'autogke-pod-limit-constraints', message: "workload 'ha-required' cpu requests '250m' is lower than the Autopilot minimum required of '500m' for using pod anti affinity." }]);
    // A real server-side dry-run on Autopilot (2025, momens-server write-up): required anti-affinity
    // at 250m was denied with that message, the same pod with preferred anti-affinity "passed
    // admission" unchanged. RES names pod anti-affinity among the workload-separation methods whose
    // requests are checked; no source ties a minimum to preferred terms or to topology spread.
    const pref = entry('Deployment', 'ha-preferred');
    assert.equal(pref.allowed, true, JSON.stringify(pref.denials));
    assert.equal(container(pref, 'app').resources?.requests?.cpu, '100m');
    const spread = entry('Deployment', 'zonal-spread');
    assert.equal(spread.allowed, true, JSON.stringify(spread.denials));
    assert.equal(container(spread, 'app').resources?.requests?.cpu, '100m');
  });

  it('StatefulSet with a volume claim template, Job and CronJob: admitted, claims untouched', () => {
    // RES overview: "If your requests are greater than the maximum, Autopilot rejects your
    // workload"; these are within every limit, and only pod resources are managed (claims are not
    // pod requests).
    const pg = entry('StatefulSet', 'pg');
    assert.equal(pg.allowed, true);
    assert.deepEqual(pg.mutated.spec.volumeClaimTemplates[0].spec.resources, { requests: { storage: '10Gi' } });
    assert.equal(entry('Job', 'migrate').allowed, true);
    // REF (data.ts CRONJOB_MUTATION_VERSION): clusters from 1.30.2 mutate CronJobs like any workload.
    const cron = entry('CronJob', 'nightly-report');
    assert.equal(cron.allowed, true);
    assert.equal(container(cron, 'report').resources?.requests?.['ephemeral-storage'], '1Gi');
  });

  it('init container and native sidecar: admitted; the pod is priced on sidecar + app', () => {
    // REF §Admission: adjustments are made on the pod total. Kubernetes' rule for the pod's
    // effective request: the larger of the running containers plus sidecars (250m + 500m) and any
    // init container with the sidecars started before it (250m).
    const e = entry('Deployment', 'with-sidecar');
    assert.equal(e.allowed, true);
    assert.equal(e.estimate?.vcpu, 0.75);
    assert.equal(container(e, 'proxy').restartPolicy, 'Always');
  });

  it('privileged hostPath DaemonSet: denied, and the hint names GKE\'s allowlist mechanism', () => {
    // REF §Denials: autogke-disallow-privilege "container <c> is privileged; not allowed in
    // Autopilot" and the hostPath path rule ("Allowed path prefixes for hostPath volumes are: [/var/log/]").
    const ds = entry('DaemonSet', 'node-agent');
    assert.deepEqual(constraints(ds), ['autogke-disallow-privilege', 'autogke-no-write-mode-hostpath']);
    assert.equal(ds.denials[0].message, 'container agent is privileged; not allowed in Autopilot');
    assert.equal(ds.estimate, null);
    // PARTNER: "GKE allows a subset of approved partners to run privileged workloads in Autopilot
    // clusters" ... "GKE provides a Kubernetes custom resource called AllowlistSynchronizer that
    // installs allowlists and keeps them up to date" (zh-CN edition, translated).
    assert.equal(ds.hints.length, 1);
    assert.match(ds.hints[0], /AllowlistSynchronizer/);
    assert.match(ds.hints[0], /WorkloadAllowlist/);
    assert.match(ds.hints[0], /GKE 1\.32/);
    assert.match(ds.hints[0], /run-autopilot-partner-workloads/);
    assert.match(plain, /^ {4}hint: GKE denies this by default\. It admits such a workload only when it matches an allowlist/m);
    // A DaemonSet is a workload, counted as such even when denied.
    assert.match(plain, /^DENIED {4}DaemonSet monitoring\/node-agent  general-purpose, 1 pod: 0\.05 vCPU, 0\.098 GiB, no price: denied  \[/m);
  });

  it('a DaemonSet in kube-system: denied by the managed-namespace rule, and still counted as a workload', () => {
    // REF §Denials, managed namespaces: "GKE Warden authz [denied by managed-namespaces-limitation]:
    // the namespace "kube-system" is managed and the request verb "create" is denied".
    const ds = entry('DaemonSet', 'driver-installer');
    assert.deepEqual(ds.denials, [{ constraint: 'managed-namespaces-limitation', message: 'the namespace "kube-system" is managed and the request verb "create" is denied' }]);
    assert.equal(ds.estimate, null);
    // Denied before its pod was read, it is still one of the workloads checked (the summary in
    // the first test counts it there, not among the objects without pods).
    assert.match(plain, /^DENIED {4}DaemonSet kube-system\/driver-installer  \[/m);
  });

  it('NET_ADMIN capability: denied, with the same allowlist hint', () => {
    // REF §Denials: autogke-default-linux-capabilities, "Autopilot only allows the capabilities:
    // 'AUDIT_WRITE,...,SYS_PTRACE'" (NET_ADMIN is not among them). PARTNER: allowlisted workloads
    // may use "specific Linux capabilities".
    const vpn = entry('Deployment', 'vpn-gateway');
    assert.deepEqual(constraints(vpn), ['autogke-default-linux-capabilities']);
    assert.match(vpn.denials[0].message, /^linux capability 'NET_ADMIN' on container 'gateway' not allowed/);
    assert.match(vpn.hints[0] ?? '', /AllowlistSynchronizer/);
  });

  it('only limits: requests take the limits; no requests: the general-purpose defaults', () => {
    // Kubernetes API defaulting: a resource with only a limit requests that limit (REF §Admission:
    // Autopilot bills requests, so nothing else changes at 1 vCPU / 2Gi).
    assert.deepEqual(container(entry('Deployment', 'limits-only'), 'app').resources?.requests, { cpu: '1', memory: '2Gi', 'ephemeral-storage': '1Gi' });
    // RES default requests (zh-CN): general-purpose "CPU 0.5 vCPU, memory 2 GiB"; ephemeral 1 GiB.
    const none = entry('Deployment', 'no-requests');
    assert.deepEqual(container(none, 'app').resources?.requests, { cpu: '500m', memory: '2Gi', 'ephemeral-storage': '1Gi' });
    assert.deepEqual(none.adjustments.filter((a) => a.field === 'requests').map((a) => `${a.resource}=${a.to}`), ['cpu=500m', 'memory=2Gi', 'ephemeral-storage=1Gi']);
  });

  it('extended duration and workload separation: raised to their own minimum (500m / 512Mi)', () => {
    // RES overview: "Autopilot has different default values and different minimum values for
    // workloads that you separate from each other, or for Pods that get extended protection from
    // GKE-initiated eviction." The 500m / 512Mi minimum is the simulator's reading of that table
    // (data.ts SEPARATION_MIN, marked *verify*).
    const long = entry('Pod', 'long-render');
    assert.deepEqual(container(long, 'render').resources?.requests, { cpu: '500m', memory: '512Mi', 'ephemeral-storage': '1Gi' });
    assert.ok(long.adjustments.some((a) => a.resource === 'cpu' && /extended duration/.test(a.reason)));
    const sep = entry('Deployment', 'separated-batch');
    assert.deepEqual(container(sep, 'batch').resources?.requests, { cpu: '500m', memory: '512Mi', 'ephemeral-storage': '1Gi' });
    assert.ok(sep.adjustments.some((a) => a.resource === 'cpu' && /workload separation on 'group'/.test(a.reason)));
  });

  it('Windows node selector and hostNetwork: denied', () => {
    // WINDOWS: "Windows Server node images and containers aren't available in GKE Autopilot mode."
    const iis = entry('Deployment', 'iis');
    assert.deepEqual(constraints(iis), ['autogke-node-affinity-selector-limitation']);
    assert.match(iis.denials[0].message, /kubernetes\.io\/os: windows/);
    // REF §Denials: autogke-disallow-hostnamespaces, "enabling hostNetwork is not allowed in Autopilot."
    assert.deepEqual(entry('Pod', 'host-net').denials, [{ constraint: 'autogke-disallow-hostnamespaces', message: 'enabling hostNetwork is not allowed in Autopilot.' }]);
  });

  it('-o json carries each change with its reason, as the plain output prints it', () => {
    const sep = entry('Deployment', 'separated-batch');
    for (const a of sep.adjustments) {
      const line = `    ${a.container} ${a.field}.${a.resource}: ${a.from ?? '(unset)'} -> ${a.to}  (${a.reason})`;
      assert.ok(plain.includes(`${line}\n`), `plain output has: ${line}`);
    }
  });
});
