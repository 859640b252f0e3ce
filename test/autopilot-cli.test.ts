// `devloop autopilot check|simulate`, driven through the command functions with captured output.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { autopilotCheck, autopilotSimulate, type AutopilotCliOptions, type CheckEntry, type CheckReport } from '../bin/commands/autopilot.js';
import { CLUSTER_FEE_HOUR, POD_PRICES } from '../plugins/autopilot/data.js';
import { usd } from '../plugins/autopilot/estimate.js';
import type { Plan } from '../plugins/autopilot/scheduler.js';

const fixtures = path.resolve(new URL('./fixtures', import.meta.url).pathname);
const shop = path.join(fixtures, 'autopilot-shop');
const simulateDir = path.join(fixtures, 'autopilot-simulate');

async function run(fn: typeof autopilotCheck | typeof autopilotSimulate, cwd: string, files: string[], flags: Record<string, unknown> = {}, extra: Partial<AutopilotCliOptions> = {}) {
  let out = '';
  let err = '';
  const code = await fn({ output: 'plain', cwd, write: (t) => { out += t; }, writeError: (t) => { err += t; }, ...extra }, files, flags);
  return { code, out, err };
}

const byName = (entries: CheckEntry[], name: string) => entries.find((e) => e.name === name)!;
const template = (e: CheckEntry) => (e.kind === 'CronJob' ? e.mutated.spec.jobTemplate.spec.template.spec : e.mutated.spec.template.spec);

describe('devloop autopilot check', () => {
  it('gives the expected JSON for the shop (ten microservices and friends) and exits 1 for its two denials', { timeout: 120_000 }, async () => {
    const r = await run(autopilotCheck, shop, ['manifests'], {}, { output: 'json' });
    assert.equal(r.code, 1);
    assert.equal(r.err, '');
    assert.deepEqual(JSON.parse(r.out), JSON.parse(readFileSync(path.join(shop, 'expected-check.json'), 'utf8')));
  });

  it('pins the shop\'s key outcomes independently of the golden file', { timeout: 120_000 }, async () => {
    const entries: CheckEntry[] = (JSON.parse((await run(autopilotCheck, shop, ['manifests'], {}, { output: 'json' })).out) as CheckReport).entries;
    assert.deepEqual(entries.filter((e) => !e.allowed).map((e) => `${e.kind} ${e.namespace}/${e.name}`), ['DaemonSet shop/node-debugger', 'ConfigMap kube-system/coredns-custom']);
    assert.equal(entries.length, 28, '16 workloads, 10 Services, 2 ConfigMaps; the Kustomization is skipped');

    const frontend = byName(entries, 'frontend');
    assert.deepEqual(template(frontend).containers[0].resources, { requests: { cpu: '100m', memory: '102Mi', 'ephemeral-storage': '1Gi' }, limits: { cpu: '200m', memory: '128Mi', 'ephemeral-storage': '1Gi' } });
    assert.deepEqual(frontend.warnings, ['autopilot-default-resources-mutator:Autopilot updated Deployment shop/frontend: adjusted resources to meet requirements for containers [server] (see http://g.co/gke/autopilot-resources).']);
    const gp = POD_PRICES['us-central1']['general-purpose'].onDemand;
    assert.deepEqual(frontend.estimate, { vcpu: 0.2, memoryGiB: 204 / 1024, usdPerHour: usd(2 * (0.1 * gp.vcpu + (102 / 1024) * gp.memoryGiB + gp.ephemeralGiB)), pods: 2, billing: 'pod', spot: false, priceRegion: 'us-central1' });

    assert.deepEqual(template(byName(entries, 'cartservice')).containers[0].resources?.limits, { cpu: '300m', memory: '205Mi', 'ephemeral-storage': '1Gi' });
    assert.deepEqual(byName(entries, 'currencyservice').warnings, [], 'already within the rules');

    const load = byName(entries, 'loadgenerator');
    assert.deepEqual(load.warnings, ["autopilot-default-resources-mutator:Autopilot updated Deployment shop/loadgenerator: defaulted unspecified 'cpu' resource for containers [frontend-check] (see http://g.co/gke/autopilot-defaults), and adjusted resources to meet requirements for containers [main] (see http://g.co/gke/autopilot-resources)."]);
    assert.equal(load.estimate?.vcpu, 0.5, 'the defaulted init container (500m) outweighs main (300m)');

    const resizer = byName(entries, 'image-resizer');
    assert.deepEqual(template(resizer).nodeSelector, { 'cloud.google.com/gke-spot': 'true' });
    assert.equal(resizer.estimate?.spot, true);

    const model = byName(entries, 'recommendation-model');
    assert.equal(model.estimate?.billing, 'node');
    assert.equal(model.estimate?.machineType, 'g2-standard-8');

    assert.deepEqual(byName(entries, 'node-debugger').denials.map((d) => d.constraint), ['autogke-disallow-hostnamespaces', 'autogke-disallow-privilege', 'autogke-no-write-mode-hostpath']);
    assert.deepEqual(byName(entries, 'coredns-custom').denials, [{ constraint: 'managed-namespaces-limitation', message: 'the namespace "kube-system" is managed and the request verb "create" is denied' }]);
  });

  it('prints a human report: warnings, changes with reasons, Warden text, a summary', { timeout: 120_000 }, async () => {
    const r = await run(autopilotCheck, shop, ['manifests']);
    assert.equal(r.code, 1);
    assert.match(r.out, /^admitted  Deployment shop\/frontend  general-purpose, 2 pods: 0\.2 vCPU, 0\.199 GiB, \$0\.0100\/h  \[manifests\/services\.yaml:1\]$/m);
    assert.match(r.out, /^    server requests\.memory: 64Mi -> 102Mi  \(memory must be at least 1 GiB per vCPU for general-purpose \(100m CPU needs 102Mi\)\)$/m);
    assert.match(r.out, /^DENIED    DaemonSet shop\/node-debugger/m);
    assert.match(r.out, /^    Violations details: \{"\[denied by autogke-disallow-hostnamespaces\]"/m);
    assert.match(r.out, /^16 workloads: 15 admitted, 1 denied\. 12 objects without pods: 1 denied\.$/m);
  });

  it('reads Kustomize output piped on stdin with "-"', { timeout: 120_000 }, async () => {
    const text = ['services.yaml', 'data.yaml'].map((f) => readFileSync(path.join(shop, 'manifests', f), 'utf8')).join('\n---\n');
    const r = await run(autopilotCheck, shop, ['-'], {}, { output: 'json', stdin: text });
    assert.equal(r.code, 0, 'no denials in these two files');
    const report = JSON.parse(r.out) as CheckReport;
    // One object whatever the inputs (it used to be a bare array when they were clean).
    assert.equal(Array.isArray(report), false);
    assert.deepEqual([report.gkeVersion, report.bursting, report.region, report.priceRegion], ['1.33.5-gke.1080000', true, 'us-central1', 'us-central1']);
    assert.deepEqual([report.errors, report.skipped, report.notes], [[], [], []]);
    const entries = report.entries;
    assert.equal(entries.length, 22);
    assert.deepEqual(report.summary.workloads, { checked: 11, admitted: 11, denied: 0 }, '11 workloads, 10 Services and a ConfigMap');
    assert.equal(entries.filter((e) => e.kind === 'Service' || e.kind === 'ConfigMap').length, 11);
    assert.equal(byName(entries, 'frontend').source, '<stdin>:1');
  });

  it('follows the cluster: an old GKE version has no bursting (250m/512Mi minimums, limits = requests)', { timeout: 120_000 }, async () => {
    const r = await run(autopilotCheck, shop, ['manifests/services.yaml'], { gkeVersion: '1.29.8-gke.1211000' }, { output: 'json' });
    const frontend = byName((JSON.parse(r.out) as CheckReport).entries, 'frontend');
    assert.deepEqual(template(frontend).containers[0].resources, { requests: { cpu: '250m', memory: '512Mi', 'ephemeral-storage': '1Gi' }, limits: { cpu: '250m', memory: '512Mi', 'ephemeral-storage': '1Gi' } });
    assert.deepEqual(frontend.warnings, ['autopilot-default-resources-mutator:Autopilot updated Deployment shop/frontend: defaulted unspecified resources for containers [server] (see http://g.co/gke/autopilot-defaults), and adjusted resources to meet requirements for containers [server] (see http://g.co/gke/autopilot-resources)']);
    const noBurst = byName((JSON.parse((await run(autopilotCheck, shop, ['manifests/services.yaml'], { bursting: false }, { output: 'json' })).out) as CheckReport).entries, 'frontend');
    assert.equal(template(noBurst).containers[0].resources?.limits?.cpu, '250m');
  });

  it('exits 2 with file:line:column for broken YAML, and for bad flags', { timeout: 120_000 }, async () => {
    const bad = await run(autopilotCheck, fixtures, ['autopilot-shop/manifests/data.yaml', '-'], {}, { stdin: 'kind: Pod\nmetadata:\n  name: a: b\n' });
    assert.equal(bad.code, 2);
    assert.equal(bad.err, 'error: <stdin>:3:9: Nested mappings are not allowed in compact mappings\n');
    // Like kubectl apply -f: the valid input's results are still printed, and the run exits 2.
    assert.match(bad.out, /StatefulSet shop\/redis-cart/);
    assert.match(bad.out, /Not checked: 1 invalid file/);
    const version = await run(autopilotCheck, shop, ['manifests'], { gkeVersion: 'latest' });
    assert.equal(version.code, 2);
    assert.match(version.err, /GKE version "latest" is not of the form/);
    const missing = await run(autopilotCheck, shop, ['nope.yaml']);
    assert.equal(missing.code, 2);
    assert.equal(missing.err, 'error: file not found: nope.yaml\n', 'a whole-file error has no position to give');
    const missingJson = await run(autopilotCheck, shop, ['nope.yaml'], {}, { output: 'json' });
    assert.equal(missingJson.code, 2);
    assert.deepEqual((JSON.parse(missingJson.out) as CheckReport).errors, [{ file: 'nope.yaml', message: 'file not found: nope.yaml' }]);
  });
});

describe('devloop autopilot simulate', () => {
  const simulate = async (flags: Record<string, unknown> = {}) => {
    const r = await run(autopilotSimulate, simulateDir, ['workloads.yaml'], { provisioning: 'fast', scaleDownDelay: '60s', ...flags }, { output: 'json' });
    return { ...r, plan: JSON.parse(r.out) as Plan & { denied: unknown[] } };
  };
  const nodeOf = (p: Plan, pod: string) => p.nodes.find((n) => n.pods.includes(pod))!;

  it('pods that fit share a node', { timeout: 120_000 }, async () => {
    const { code, plan } = await simulate();
    assert.equal(code, 0);
    const web = nodeOf(plan, 'web-0');
    assert.deepEqual(web.pods, ['web-0', 'web-1', 'web-2']);
    assert.equal(web.machineType, 'e2-standard-2');
  });

  it('a GPU pod gets its own GPU node', { timeout: 120_000 }, async () => {
    const { plan } = await simulate();
    const n = nodeOf(plan, 'llm-0');
    assert.deepEqual(n.pods, ['llm-0']);
    assert.deepEqual(n.gpu, { type: 'nvidia-l4', count: 1 });
    assert.equal(n.readyAt, 5);
  });

  it('Spot pods land only on Spot nodes', { timeout: 120_000 }, async () => {
    const { plan } = await simulate();
    for (const n of plan.nodes) assert.equal(n.spot, n.pods.every((p) => p.startsWith('crawler')), n.name);
    assert.deepEqual(plan.nodes.filter((n) => n.spot).flatMap((n) => n.pods), ['crawler-0', 'crawler-1']);
  });

  it('an empty node is removed after the delay', { timeout: 120_000 }, async () => {
    const { plan } = await simulate();
    const n = nodeOf(plan, 'migrate-0');
    assert.equal(n.computeClass, 'Balanced');
    assert.equal(n.removedAt, 2 + 30 + 60, 'bound at t=2 when its node is ready, runs 30 s, then 60 s empty');
    assert.deepEqual(plan.timeline.filter((e) => e.node === n.name).map((e) => `${e.t} ${e.type}`), ['0 scale-up', '2 node-ready', '2 pod-bound', '32 pod-deleted', '32 node-empty', '92 scale-down']);
  });

  it('the cost equals the sum of requests times the price table, plus GPU node and fee (arithmetic over data.ts)', { timeout: 120_000 }, async () => {
    const { plan } = await simulate();
    const p = POD_PRICES['us-central1'];
    const web = 3 * (0.5 * p['general-purpose'].onDemand.vcpu + 1 * p['general-purpose'].onDemand.memoryGiB + 1 * p['general-purpose'].onDemand.ephemeralGiB);
    const crawler = 2 * (0.5 * p['general-purpose'].spot.vcpu + 1 * p['general-purpose'].spot.memoryGiB + 1 * p['general-purpose'].spot.ephemeralGiB);
    const migrate = 1 * p.Balanced.onDemand.vcpu + 2 * p.Balanced.onDemand.memoryGiB + 1 * p.Balanced.onDemand.ephemeralGiB;
    const gpuNode = nodeOf(plan, 'llm-0').usdPerHour;
    assert.deepEqual(plan.costPerHour, { pods: usd(web + crawler + migrate), nodes: gpuNode, clusterFee: CLUSTER_FEE_HOUR, total: usd(web + crawler + migrate + gpuNode + CLUSTER_FEE_HOUR) });
    assert.equal(plan.costAtEnd.pods, usd(web + crawler), 'the migration finished');
  });

  it('realistic provisioning takes 100 s a node (GKE says 80-120 s)', { timeout: 120_000 }, async () => {
    const { plan } = await simulate({ provisioning: 'realistic', scaleDownDelay: undefined });
    assert.equal(nodeOf(plan, 'web-0').readyAt, 100);
    assert.equal(nodeOf(plan, 'migrate-0').removedAt, 100 + 30 + 600, 'the job runs 30 s from t=100 (its node boot), then the node is empty 600 s');
  });

  it('prints the node plan, the timeline and the hourly cost', { timeout: 120_000 }, async () => {
    const r = await run(autopilotSimulate, simulateDir, ['workloads.yaml'], { provisioning: 'fast', scaleDownDelay: '60s' });
    assert.equal(r.code, 0);
    assert.match(r.out, /^gk3-devloop-pool-1-0001 +e2-standard-2 +general-purpose +us-central1-a +3 +1\.5\/1\.93 \(78%\)/m);
    assert.match(r.out, /^  t=2s +pod-bound +3 pods on gk3-devloop-pool-1-0001: web-0, web-1, web-2$/m);
    assert.match(r.out, /^  t=92s +scale-down +gk3-devloop-nap-4-0004 removed after 60s empty$/m);
    assert.match(r.out, /^Cost per hour at peak: \$1\.2057 = pods \$0\.1666/m);
  });

  it('denied workloads are reported and not scheduled (exit 1)', { timeout: 120_000 }, async () => {
    const r = await run(autopilotSimulate, shop, ['manifests'], { provisioning: 'fast' }, { output: 'json' });
    assert.equal(r.code, 1);
    const out = JSON.parse(r.out) as Plan & { denied: { name: string }[] };
    assert.deepEqual(out.denied.map((d) => d.name), ['node-debugger']);
    assert.ok(out.placements.every((p) => p.status === 'running'));
  });
});
