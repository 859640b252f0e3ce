// GKE Autopilot's admission served as webhooks inside the local test cluster
// (plugins/autopilot/webhook/): while `devloop up` runs a project with
// `simulation.autopilot.enabled` and a Kubernetes service, the real kubectl gets GKE's answers in
// the namespace devloop deploys to (warning, mutated resources and annotations, Warden's denials)
// and nowhere else; when devloop stops, is killed (its watchdog deletes them; the next start
// deletes those of a session whose watchdog died too), or its webhook server fails, no
// configuration is left to block the cluster. Each test works in its own namespaces,
// deleted afterwards.
//
// The `up` tests need `npm run build` (the CLI runs from dist/). Without a cluster the suite is
// skipped; DEVLOOP_K8S_REQUIRE=1 (or an explicit KUBECONFIG) makes that a failure.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { DeployContext } from '../core/engine/contexts.js';
import { AutopilotWebhooks, configurations as webhookConfigurations, makeCerts, REDUCED } from '../plugins/autopilot/webhook/index.js';
import { copyFixture, startCli, until, within } from './helpers.js';
import { kubeconfig, kubectl, kubectlPath, missing, required } from './k8s-helpers.js';

const WARNING = (ns: string, name: string) =>
  `Warning: autopilot-default-resources-mutator:Autopilot updated Deployment ${ns}/${name}: adjusted resources to meet requirements for containers [web] (see http://g.co/gke/autopilot-resources).`;
const WARDEN = /Error from server \(GKE Warden constraints violations\): error when creating "STDIN": admission webhook "warden-validating\.common-webhooks\.networking\.gke\.io" denied the request: GKE Warden rejected the request because it violates one or more constraints\.\nViolations details: /;

const deployment = (name: string) => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}}
spec:
  replicas: 0
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: web
        image: 127.0.0.1:5001/devloop-test/busybox:latest
        resources: {requests: {cpu: 100m, memory: 128Mi}}
`;
const privilegedPod = `apiVersion: v1
kind: Pod
metadata: {name: privileged}
spec:
  containers:
  - name: app
    image: 127.0.0.1:5001/devloop-test/busybox:latest
    securityContext: {privileged: true}
`;
const hostPathPod = `apiVersion: v1
kind: Pod
metadata: {name: hostpath}
spec:
  containers:
  - name: app
    image: 127.0.0.1:5001/devloop-test/busybox:latest
    volumeMounts: [{name: root, mountPath: /host}]
  volumes: [{name: root, hostPath: {path: /}}]
`;

/** kubectl with stdin, its exit status, stdout and stderr (kubectl prints admission warnings on stderr). */
function kubectlRun(input: string, ...args: string[]) {
  const r = spawnSync(kubectlPath(), ['--kubeconfig', kubeconfig, ...args], { input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

/** The same, without blocking this process (for a webhook server served by it). */
async function kubectlAsync(input: string, ...args: string[]) {
  const child = promisify(execFile)(kubectlPath(), ['--kubeconfig', kubeconfig, ...args], { timeout: 60_000 });
  child.child.stdin!.end(input);
  try {
    const { stdout, stderr } = await child;
    return { status: 0, stdout: stdout.trim(), stderr: stderr.trim() };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { status: e.code ?? 1, stdout: (e.stdout ?? '').trim(), stderr: (e.stderr ?? '').trim() };
  }
}

/** devloop's webhook configurations in the cluster, as `Kind/name`, optionally only those naming `namespace`. */
function configurations(namespace?: string): string[] {
  const list = JSON.parse(kubectl('get', 'mutatingwebhookconfigurations,validatingwebhookconfigurations', '-l', 'devloop.dev/webhook=autopilot', '-o', 'json'));
  return list.items
    .filter((c: any) => !namespace || c.webhooks.some((w: any) => w.namespaceSelector?.matchExpressions?.some((e: any) => e.values?.includes(namespace))))
    .map((c: any) => `${c.kind}/${c.metadata.name}`).sort();
}

function scratch() {
  const id = `${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const ns = `devloop-apw-${id}`;
  const other = `devloop-apw-other-${id}`;
  const dirs: string[] = [];
  return {
    ns, other,
    env: { KUBECONFIG: kubeconfig, DEVLOOP_TEST_NS: ns },
    create() { for (const n of [ns, other]) if (!kubectl('get', 'namespace', n, '--ignore-not-found', '-o', 'name')) kubectl('create', 'namespace', n); },
    fixture() { const d = copyFixture('k8s-autopilot'); dirs.push(d); return d; },
    cleanup() {
      // What a failed test may have left: configurations naming this test's namespaces.
      for (const c of [...configurations(ns), ...configurations(other)]) try { kubectl('delete', c.toLowerCase(), '--ignore-not-found'); } catch { /* best effort */ }
      for (const n of [ns, other]) try { kubectl('delete', 'namespace', n, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

describe('Autopilot admission webhook in the local test cluster', { skip: missing && !required ? missing : false, timeout: 240_000 }, () => {
  before(() => { if (missing) throw new Error(missing); });

  describe('devloop up', () => {
    const s = scratch();
    after(() => s.cleanup());

    it('kubectl gets GKE\'s warning, mutation and Warden denials in the namespace devloop deploys to, nowhere else, and nothing is left after exit', async () => {
      s.create();
      const up = startCli(['up', '--output', 'json'], { cwd: s.fixture(), env: s.env });
      try {
        await up.waitFor((e) => e.type === 'deploy/finished' && e.service === 'config', 120_000, 'config deployed');
        assert.equal(configurations(s.ns).length, 2, `a mutating and a validating configuration for ${s.ns}: ${configurations()}`);

        const applied = kubectlRun(deployment('web'), 'apply', '-n', s.ns, '-f', '-');
        assert.equal(applied.status, 0, applied.stderr);
        assert.ok(applied.stderr.split('\n').includes(WARNING(s.ns, 'web')), `GKE's warning, as kubectl prints it:\n${applied.stderr}`);
        const dep = JSON.parse(kubectl('get', 'deployment', 'web', '-n', s.ns, '-o', 'json'));
        assert.deepEqual(dep.spec.template.spec.containers[0].resources, {
          requests: { cpu: '250m', memory: '512Mi', 'ephemeral-storage': '1Gi' },
          limits: { cpu: '250m', memory: '512Mi', 'ephemeral-storage': '1Gi' },
        });
        assert.equal(dep.metadata.annotations['autopilot.gke.io/warden-version'], '2.7.41');
        assert.deepEqual(JSON.parse(dep.metadata.annotations['autopilot.gke.io/resource-adjustment']).input, { containers: [{ requests: { cpu: '100m', memory: '128Mi' }, name: 'web' }] });
        assert.match(kubectl('get', 'deployment', 'web', '-n', s.ns, '-o', 'yaml'), /autopilot\.gke\.io\/resource-adjustment: '\{"input".*"modified":true\}'/);

        const privileged = kubectlRun(privilegedPod, 'apply', '-n', s.ns, '-f', '-');
        assert.notEqual(privileged.status, 0);
        assert.match(privileged.stderr, WARDEN);
        assert.match(privileged.stderr, /\{"\[denied by autogke-disallow-privilege\]":\["container app is privileged; not allowed in Autopilot"\]\}\nRequested by user: '[^']+', groups: '[^']*'\./, privileged.stderr);
        const hostPath = kubectlRun(hostPathPod, 'apply', '-n', s.ns, '-f', '-');
        assert.match(hostPath.stderr, WARDEN);
        assert.match(hostPath.stderr, /"\[denied by autogke-no-write-mode-hostpath\]":\["hostPath volume root in container app is accessed in write mode; disallowed in Autopilot\."\]/, hostPath.stderr);

        // Another namespace and kube-system: plain Kubernetes (a server dry run goes through admission, webhooks included).
        const elsewhere = kubectlRun(deployment('web'), 'apply', '-n', s.other, '-f', '-');
        assert.equal(elsewhere.status, 0, elsewhere.stderr);
        assert.doesNotMatch(elsewhere.stderr, /autopilot/);
        assert.equal(kubectl('get', 'deployment', 'web', '-n', s.other, '-o', 'jsonpath={.spec.template.spec.containers[0].resources.requests.cpu}'), '100m');
        assert.equal(kubectlRun(privilegedPod, 'apply', '-n', s.other, '--dry-run=server', '-f', '-').status, 0, 'no Warden outside the managed namespace');
        const system = kubectlRun(deployment(`devloop-apw-${process.pid}`), 'apply', '-n', 'kube-system', '--dry-run=server', '-o', 'json', '-f', '-');
        assert.equal(system.status, 0, system.stderr);
        assert.doesNotMatch(system.stderr, /autopilot/);
        assert.equal(JSON.parse(system.stdout).spec.template.spec.containers[0].resources.requests.cpu, '100m', 'kube-system is never mutated');

        up.child.kill('SIGINT');
        assert.equal(await within(up.exited, 60_000, 'devloop up to exit'), 0, up.stderr());
        assert.deepEqual(configurations(s.ns), [], 'no configuration left after exit');
        const afterwards = kubectlRun(deployment('after-exit'), 'apply', '-n', s.ns, '-f', '-');
        assert.equal(afterwards.status, 0, `kubectl apply works after devloop stopped: ${afterwards.stderr}`);
        assert.doesNotMatch(afterwards.stderr, /autopilot/, 'plain Kubernetes again');
      } finally {
        up.child.kill('SIGKILL');
      }
    });

    it('a killed devloop blocks nothing: its watchdog deletes the configurations, and the next start deletes any a dead session left', async () => {
      s.create();
      const dir = s.fixture();
      const first = startCli(['up', '--output', 'json'], { cwd: dir, env: s.env });
      try {
        await first.waitFor((e) => e.type === 'deploy/finished' && e.service === 'config', 120_000, 'config deployed');
        assert.equal(configurations(s.ns).length, 2);
      } finally {
        first.child.kill('SIGKILL');
        await first.exited;
      }
      await until(() => configurations(s.ns).length === 0, 30_000, 'the watchdog to delete the killed devloop\'s configurations');
      const afterKill = kubectlRun(deployment('after-kill'), 'apply', '-n', s.ns, '-f', '-');
      assert.equal(afterKill.status, 0, `kubectl apply works after a SIGKILL: ${afterKill.stderr}`);

      // Configurations whose watchdog is gone too (a reboot, both killed): a session that no longer runs, nothing listening.
      const dead = spawnSync('true').pid!;
      const certs = await makeCerts();
      const stale = webhookConfigurations(`devloop-autopilot-${dead}-stale`, 'https://127.0.0.1:1', certs.ca, [s.ns], { 'devloop.dev/session': String(dead) });
      assert.equal(kubectlRun(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: stale }), 'apply', '-f', '-').status, 0);
      const blocked = kubectlRun(deployment('blocked'), 'apply', '-n', s.ns, '-f', '-');
      assert.match(blocked.stderr, /failed calling webhook/, `with failurePolicy Fail a dead server blocks creates: ${blocked.stderr}`);

      const next = startCli(['up', '--output', 'json'], { cwd: dir, env: s.env });
      try {
        await next.waitFor((e) => e.type === 'deploy/finished' && e.service === 'config', 120_000, 'config deployed again');
        const now = configurations(s.ns);
        assert.equal(now.length, 2, `the new session's: ${now}`);
        assert.ok(now.every((c) => !c.endsWith(`-${dead}-stale`)), `the dead session's are gone: ${now}`);
        next.child.kill('SIGINT');
        assert.equal(await within(next.exited, 60_000, 'devloop up to exit'), 0, next.stderr());
      } finally {
        next.child.kill('SIGKILL');
      }
      assert.deepEqual(configurations(s.ns), []);
      const works = kubectlRun(deployment('works'), 'apply', '-n', s.ns, '-f', '-');
      assert.equal(works.status, 0, works.stderr);
    });
  });

  describe('webhook server failure', () => {
    const s = scratch();
    after(() => s.cleanup());

    it('removes the configurations, warns once, and kubectl apply keeps working as plain Kubernetes', async () => {
      s.create();
      const warnings: string[] = [];
      const logger = { info: () => {}, warn: (m: string) => warnings.push(m), error: () => {}, output: () => {} };
      const webhooks = new AutopilotWebhooks(logger);
      const ctx = {
        root: s.fixture(), devfile: { services: { config: { runtime: 'kubernetes', k8s: { manifests: 'k8s/*.yaml', namespace: s.ns } } } },
        mode: 'local', service: 'config', config: { runtime: 'kubernetes', k8s: { manifests: 'k8s/*.yaml', namespace: s.ns } },
        logger, signal: new AbortController().signal,
      } as unknown as DeployContext;
      const previous = process.env.KUBECONFIG;
      process.env.KUBECONFIG = kubeconfig;
      try {
        await webhooks.beforeDeploy(ctx, { bursting: false });
        const context = kubectl('config', 'current-context');
        const webhook = await webhooks.webhookFor(context);
        assert.ok(webhook?.active, `the webhook started: ${warnings}`);
        assert.equal(configurations(s.ns).length, 2);
        const served = await kubectlAsync(deployment('served'), 'apply', '-n', s.ns, '-f', '-');
        assert.ok(served.stderr.includes(WARNING(s.ns, 'served')), served.stderr);

        // The server goes away under devloop (killed socket, crashed listener).
        webhook.httpsServer.closeAllConnections();
        webhook.httpsServer.close();
        // The configurations go first, then the warning: wait for both.
        await within((async () => { while (configurations(s.ns).length || !warnings.some((w) => w.startsWith(REDUCED))) await new Promise((r) => setTimeout(r, 100)); })(), 30_000, 'the configurations to be removed and the warning');
        assert.deepEqual(warnings.filter((w) => w.startsWith(REDUCED)), [`${REDUCED}: the webhook server closed`]);
        const plain = await kubectlAsync(deployment('plain'), 'apply', '-n', s.ns, '-f', '-');
        assert.equal(plain.status, 0, plain.stderr);
        assert.doesNotMatch(plain.stderr, /autopilot/);
        // A later deploy does not restart it or warn again.
        await webhooks.beforeDeploy(ctx, { bursting: false });
        assert.equal(warnings.filter((w) => w.startsWith(REDUCED)).length, 1);
        assert.deepEqual(configurations(s.ns), []);
      } finally {
        await webhooks.shutdown();
        if (previous === undefined) delete process.env.KUBECONFIG; else process.env.KUBECONFIG = previous;
      }
    });
  });
});
