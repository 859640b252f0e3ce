// devloop:kubernetes's readiness and failure reporting through the real CLI against the local test
// cluster (test/infra/k8s-up.sh): a container killed for memory names its limit; a readiness probe
// answering 500 is what the rollout waits on, and the error when the rollout's deadline passes; a
// Service waits for a ready endpoint; a custom resource waits on its Ready condition; an image the
// registry lost is pushed again and pulled; a kind no CRD defines, an apply conflict, an invalid
// field, an unreachable API server and rejected credentials each fail with a clear error that says
// what was applied and what was not. The tests run side by side, each in its own fixture copy; they
// share one namespace (and one CRD), deleted afterwards.
//
// Needs `npm run build` (the CLI runs from dist/). Without a cluster the suite is skipped, as
// test/k8s-deploy.test.ts is; DEVLOOP_K8S_REQUIRE=1 (or an explicit KUBECONFIG) makes that a failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyFixture, ensureDockerInfra, runCli, startCli, within } from './helpers.js';
import { kubeconfig, kubectl, kubectlPath, missing, removeFixtures, required } from './k8s-helpers.js';
import { nextAutopilotSize } from '../plugins/kubernetes/failures.js';

const id = `${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
const ns = `devloop-f-${id}`;
// A CRD is cluster-wide: its group is this run's own.
const group = `f${id}.devloop.test`;
const env = { KUBECONFIG: kubeconfig, DEVLOOP_TEST_NS: ns };
const dirs: string[] = [];

function fixture(): string {
  const d = copyFixture('k8s-failures');
  dirs.push(d);
  return d;
}

function kubectlIn(input: string, ...args: string[]): string {
  return execFileSync(kubectlPath(), ['--kubeconfig', kubeconfig, ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

const ci = (dir: string, service: string, ...flags: string[]) => runCli(['ci', service, ...flags], { cwd: dir, env, timeoutMs: 80_000 }).then((r) => ({ ...r, out: r.stdout + r.stderr }));

describe('devloop:kubernetes failures and readiness against the local test cluster', { skip: missing && !required ? missing : false, timeout: 120_000, concurrency: true }, () => {
  before(() => {
    if (missing) throw new Error(missing);
    ensureDockerInfra(() => { execFileSync('curl', ['-sf', 'http://127.0.0.1:5001/v2/']); });
    kubectl('create', 'namespace', ns);
  });
  after(() => {
    try { kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
    try { kubectl('delete', 'crd', `widgets.${group}`, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
    removeFixtures(dirs);
  });

  it('a container killed for memory fails ci with OOMKilled, its container and its limit', async () => {
    const r = await ci(fixture(), 'oom', '--readiness-timeout', '60s');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /deployment\/oom: container eater of pod oom-[a-z0-9-]+ was killed for using more memory than its limit, 24Mi \(OOMKilled/, r.out);
    assert.match(r.out, /raise resources\.limits\.memory of container eater in the manifest of deployment\/oom above 24Mi \(to 48Mi, say\)/, r.out);
  });

  it('under Autopilot, an OOMKilled container\'s fix names the next size Autopilot admits', async () => {
    const r = await ci(fixture(), 'oomap', '--readiness-timeout', '60s');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /deployment\/oomap: container eater of pod oomap-[a-z0-9-]+ was killed for using more memory than its limit, 24Mi \(OOMKilled/, r.out);
    // What the admission rules (plugins/autopilot) make of twice the limit, on the Devfile's default GKE version.
    const next = nextAutopilotSize({ spec: { containers: [{ name: 'eater', resources: { limits: { memory: '24Mi' } } }] } }, 'eater', '24Mi', {})!;
    assert.ok(next, 'admission admits twice the limit');
    assert.match(r.out, new RegExp(`under Autopilot the next valid size is memory ${next.memory} with cpu ${next.cpu} \\(what admission makes of twice 24Mi\\)`), r.out);
  });

  it('a readiness probe answering 500 is what the rollout waits on, and the error once its deadline passes', async () => {
    const r = await ci(fixture(), 'probe', '--readiness-timeout', '60s', '--output', 'json');
    assert.equal(r.code, 1, r.out);
    const events = r.stdout.split('\n').flatMap((l) => { try { return [JSON.parse(l)]; } catch { return []; } });
    const waited = events.filter((e) => e.type === 'service/waiting' && e.service === 'probe').map((e) => e.waiting as string);
    assert.ok(waited.some((w) => /^deployment\/probe: 0 of 1 updated replicas available \(pod probe-[a-z0-9-]+: Readiness probe failed: HTTP probe failed with statuscode: 500\)$/.test(w)), `waiting: ${JSON.stringify(waited)}`);
    const failed = events.find((e) => e.type === 'service/failed' && e.service === 'probe')?.error ?? {};
    assert.match(failed.message ?? '', /^deployment\/probe made no progress for its progressDeadlineSeconds \(10s\): .*; pod probe-[a-z0-9-]+: Readiness probe failed: HTTP probe failed with statuscode: 500$/, r.out);
    assert.match(failed.hint ?? '', /make the probe pass/, r.out);
  });

  it('a Service waits for a ready endpoint, saying its selector matches no pod, and is ready once one does', async () => {
    const up = startCli(['up', 'endpoints', '--output', 'json'], { cwd: fixture(), env });
    try {
      // The pod is up and ready (the Deployment is no longer waited on): only the Service is.
      await up.waitFor((e) => e.type === 'service/waiting' && e.service === 'endpoints' && e.waiting === 'service/endpoints: no endpoints; no pod matches its selector app=endpoints,ready=yes', 90_000, 'the Service alone waiting for endpoints');
      assert.ok(!up.events.some((e) => e.type === 'service/health' && e.service === 'endpoints' && e.health === 'healthy'), 'not healthy without an endpoint');
      kubectl('label', 'pod', '-n', ns, '-l', 'app=endpoints', 'ready=yes');
      await up.waitFor((e) => e.type === 'service/health' && e.service === 'endpoints' && e.health === 'healthy', 30_000, 'healthy once the Service has an endpoint');
      up.child.kill('SIGINT');
      assert.equal(await within(up.exited, 30_000, 'devloop up to exit'), 0, up.stderr());
    } finally {
      up.child.kill('SIGKILL');
    }
  });

  it('a custom resource waits on its Ready condition, with the controller\'s reason, and is ready when it turns True', async () => {
    kubectlIn(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.${group}}
spec:
  group: ${group}
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}
          status: {type: object, x-kubernetes-preserve-unknown-fields: true}
`, 'apply', '-f', '-');
    kubectl('wait', '--for=condition=Established', `crd/widgets.${group}`, '--timeout=30s');
    const widget = `apiVersion: ${group}/v1\nkind: Widget\nmetadata: {name: w, namespace: ${ns}}\nspec: {size: 1}\n`;
    // The controller's side, played by the test: the object exists with Ready=False before devloop applies it.
    kubectlIn(widget, 'create', '-f', '-');
    const setReady = (status: string, reason: string, message: string) => kubectl('patch', `widgets.${group}`, 'w', '-n', ns, '--subresource=status', '--type=merge',
      '-p', JSON.stringify({ status: { conditions: [{ type: 'Ready', status, reason, message, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }] } }));
    setReady('False', 'Provisioning', 'bucket not created yet');
    const dir = fixture();
    writeFileSync(path.join(dir, 'k8s', 'widget.yaml'), widget.replace(`, namespace: ${ns}`, ''));
    const up = startCli(['up', 'widget', '--output', 'json'], { cwd: dir, env });
    try {
      await up.waitFor((e) => e.type === 'service/waiting' && e.service === 'widget' && e.waiting === 'widget/w: Ready=False (Provisioning: bucket not created yet)', 60_000, 'waiting on the Ready condition');
      assert.ok(!up.events.some((e) => e.type === 'service/health' && e.service === 'widget' && e.health === 'healthy'), 'not healthy while Ready=False');
      setReady('True', 'Provisioned', 'bucket created');
      await up.waitFor((e) => e.type === 'service/health' && e.service === 'widget' && e.health === 'healthy', 30_000, 'healthy once Ready=True');
      up.child.kill('SIGINT');
      assert.equal(await within(up.exited, 30_000, 'devloop up to exit'), 0, up.stderr());
    } finally {
      up.child.kill('SIGKILL');
    }
  });

  it('an image the registry lost after the push is pushed again, once, and the rollout completes', async () => {
    const r = await ci(fixture(), 'repush', '--readiness-timeout', '60s');
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /registry-loss: deleted 127\.0\.0\.1:5001\/\S+-repush@sha256:/, r.out);
    assert.match(r.out, /deployment\/repush: pod repush-[a-z0-9-]+ could not pull 127\.0\.0\.1:5001\/\S+-repush@sha256:[0-9a-f]{64} \((ErrImagePull|ImagePullBackOff)[^)]*\); devloop built it, so it pushed it again/, r.out);
  });

  it('a kind no CRD defines fails with "no match for kind", naming what was applied and what was not', async () => {
    const r = await ci(fixture(), 'nokind');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`cannot apply gadget/${ns}/g \\(k8s/nokind\\.yaml:7\\): no kind "Gadget" in apiVersion "gadgets\\.devloop-missing\\.test/v1" on this cluster \\(no match for kind\\) \\(applied before it: configmap/${ns}/nokind-first; not applied: poddisruptionbudget/${ns}/nokind-after\\)`), r.out);
    assert.match(r.out, /install the CustomResourceDefinition for Gadget/, r.out);
    assert.equal(kubectl('get', 'pdb', '-n', ns, '--ignore-not-found', '-o', 'name'), '', 'what came after the failure was not applied');
  });

  it('an apply conflict names the other field manager and leaves the objects after it unapplied, saying so', async () => {
    kubectlIn(`apiVersion: v1\nkind: ConfigMap\nmetadata: {name: conflict-shared, namespace: ${ns}}\ndata: {k: theirs}\n`, 'apply', '--server-side', '--field-manager=other-tool', '-f', '-');
    const r = await ci(fixture(), 'conflict');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`configmap/${ns}/conflict-shared \\(k8s/conflict\\.yaml:9\\) is also managed by "other-tool": .*\\.data\\.k \\(applied before it: configmap/${ns}/conflict-first; not applied: configmap/${ns}/conflict-third\\)`), r.out);
    assert.equal(kubectl('get', 'configmap', 'conflict-shared', '-n', ns, '-o', 'jsonpath={.data.k}'), 'theirs', 'not forced');
    assert.equal(kubectl('get', 'configmap', 'conflict-third', '-n', ns, '--ignore-not-found', '-o', 'name'), '');
  });

  it('an invalid manifest fails with the API server\'s answer, naming the field and the line', async () => {
    const r = await ci(fixture(), 'invalid');
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`the API server rejected deployment/${ns}/invalid \\(k8s/invalid\\.yaml:6\\): field spec\\.replicas: Invalid value: -1: must be greater than or equal to 0 \\(nothing was applied\\)`), r.out);
    assert.match(r.out, /fix spec\.replicas at k8s\/invalid\.yaml:6/, r.out);
  });

  it('an unreachable API server and rejected credentials each fail with their cause and fix', async () => {
    const tmp = mkdtempSync(path.join(os.tmpdir(), 'devloop-k8s-creds-'));
    dirs.push(tmp);
    const real = readFileSync(kubeconfig, 'utf8');
    const server = /server: (\S+)/.exec(real)![1];
    const config = (url: string, user: string) => `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${url}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: ${user}}]
contexts: [{name: devloop-local, context: {cluster: c, user: u}}]
current-context: devloop-local
`;
    // A loopback port nothing listens on (the context counts as local, so it is tried).
    writeFileSync(path.join(tmp, 'down'), config('https://127.0.0.1:1', '{token: x}'));
    writeFileSync(path.join(tmp, 'expired'), config(server, '{token: expired-token}'));
    const dir = fixture();
    const [down, expired] = await Promise.all(['down', 'expired'].map((f) => runCli(['ci', 'nokind'], { cwd: dir, env: { KUBECONFIG: path.join(tmp, f), DEVLOOP_TEST_NS: ns }, timeoutMs: 60_000 }).then((r) => ({ ...r, out: r.stdout + r.stderr }))));
    assert.equal(down.code, 1, down.out);
    assert.match(down.out, new RegExp(`cannot reach the Kubernetes API server at https://127\\.0\\.0\\.1:1 to apply configmap/${ns}/nokind-first \\(k8s/nokind\\.yaml:1\\): connect ECONNREFUSED 127\\.0\\.0\\.1:1 \\(nothing was applied; not applied: gadget/${ns}/g, poddisruptionbudget/${ns}/nokind-after\\)`), down.out);
    assert.match(down.out, /kubectl cluster-info/, down.out);
    assert.equal(expired.code, 1, expired.out);
    assert.match(expired.out, /refused the kubeconfig's credentials to apply configmap\/\S+\/nokind-first \(k8s\/nokind\.yaml:1\) \(401 Unauthorized\): they are missing, wrong or expired/, expired.out);
    assert.match(expired.out, /kubectl auth whoami/, expired.out);
  });
});
