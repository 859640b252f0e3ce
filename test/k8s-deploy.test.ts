// devloop:kubernetes through the real CLI against the local test cluster (test/infra/k8s-up.sh):
// a service built by devloop and pushed to 127.0.0.1:5001 is applied, becomes ready and answers
// through its port-forward; an edit rolls out a new image; an object removed from the manifests
// is pruned (and nobody else's is touched); shutdown deletes what devloop applied; an unpullable
// image and a crash-looping container fail `devloop ci` with the reason; a non-local context is
// refused before any connection. Each test works in its own namespace, deleted afterwards.
//
// Needs `npm run build` (the CLI runs from dist/). Without a cluster the suite is skipped, as
// test/k8s-infra.test.ts is; DEVLOOP_K8S_REQUIRE=1 (or an explicit KUBECONFIG) makes that a failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyFixture, ensureDockerInfra, runCli, startCli, until, within, httpGet } from './helpers.js';
import { kubeconfig, kubectl, kubectlPath, missing, required, scratch } from './k8s-helpers.js';


/** True when the object exists in the namespace. */
function exists(ns: string, what: string): boolean {
  return kubectl('get', what, '-n', ns, '--ignore-not-found', '-o', 'name') !== '';
}


/** The body at `url`, or undefined while it does not answer 200 (a pod being replaced). */
const bodyAt = (url: string) => httpGet(url).then((r) => (r.status === 200 ? r.body.trim() : undefined), () => undefined);

describe('devloop:kubernetes against the local test cluster', { skip: missing && !required ? missing : false, timeout: 240_000 }, () => {
  before(() => {
    if (missing) throw new Error(missing);
    ensureDockerInfra(() => { execFileSync('curl', ['-sf', 'http://127.0.0.1:5001/v2/']); });
  });

  describe('up: deploy, port-forward, edit, prune, shutdown', () => {
    const s = scratch('devloop-t');
    after(() => s.cleanup());

    it('applies the built image, answers through the port-forward, rolls out an edit, prunes a removed object and deletes its objects on exit', async () => {
      s.create();
      // Somebody else's object in the same namespace: never pruned, never deleted by devloop.
      kubectl('create', 'configmap', 'not-devloops', '-n', s.ns, '--from-literal=a=b');
      const dir = s.fixture('k8s-web');
      const up = startCli(['up', '--output', 'json'], { cwd: dir, env: s.env });
      try {
        await up.waitFor((e) => e.type === 'service/health' && e.service === 'web' && e.health === 'healthy', 120_000, 'web healthy');
        const deployed = await up.waitFor((e) => e.type === 'deploy/finished' && e.service === 'web', 1_000, 'deploy/finished');
        const url = deployed.endpoints?.[0]?.url as string;
        assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, `endpoint: ${JSON.stringify(deployed.endpoints)}`);
        assert.equal(await bodyAt(`${url}/index.html`), 'hello v1');
        const waited = up.events.filter((e) => e.type === 'service/waiting' && e.service === 'web').map((e) => e.waiting as string);
        assert.ok(waited.some((w) => /^deployment\/web: /.test(w)), `the wait said what it waited on: ${JSON.stringify(waited)}`);
        // The details view: the cluster's events about the service's objects and the port-forward's real state.
        // Two looks: the last six events move on while the port-forward makes its first connection.
        const kube = (e: Record<string, any>) => e.type === 'service/extra' && e.service === 'web' && e.plugin === 'devloop:kubernetes';
        const extra = await up.waitFor((e) => kube(e) && (e.data.details as string[]).some((l) => / Normal ScalingReplicaSet deployment\/web: /.test(l)), 30_000, 'the cluster\'s events in the details');
        await up.waitFor((e) => kube(e) && /-> pod web-[a-z0-9]+-[a-z0-9]+:8080, /.test(e.data.portForward as string), 30_000, 'the port-forward\'s pod in the details');
        assert.equal(extra.data.namespace, s.ns);
        assert.ok((extra.data.details as string[]).every((l, i) => (i === 0 ? l === 'events:' : /^  \d\d:\d\d:\d\d (Normal|Warning) /.test(l))), JSON.stringify(extra.data.details));

        // What was applied: the pushed reference, devloop's labels, the field manager.
        const dep = JSON.parse(kubectl('get', 'deployment', 'web', '-n', s.ns, '-o', 'json', '--show-managed-fields'));
        const image1 = dep.spec.template.spec.containers[0].image as string;
        assert.match(image1, /^127\.0\.0\.1:5001\/devloop-.*-web@sha256:[0-9a-f]{64}$/, 'image: web became the pushed reference');
        assert.equal(dep.metadata.labels?.['app.kubernetes.io/managed-by'], 'devloop');
        assert.equal(dep.metadata.labels?.['devloop.dev/service'], 'web');
        assert.ok(dep.metadata.managedFields.some((f: { manager: string; operation: string }) => f.manager === 'devloop' && f.operation === 'Apply'), 'server-side applied by devloop');
        assert.ok(exists(s.ns, 'configmap/web-extra'), 'the ConfigMap of k8s/extra.yaml was applied');

        // An edit: new image, rolled out, the same local port answers with the new content.
        writeFileSync(path.join(dir, 'www', 'index.html'), 'hello v2\n');
        await until(() => bodyAt(`${url}/index.html`).then((b) => b === 'hello v2' || undefined), 60_000, 'the edit served through the port-forward');
        const image2 = kubectl('get', 'deployment', 'web', '-n', s.ns, '-o', 'jsonpath={.spec.template.spec.containers[0].image}');
        assert.notEqual(image2, image1, 'a new image was rolled out');

        // Pruning: the ConfigMap left the manifests, so it leaves the cluster; the other one stays.
        unlinkSync(path.join(dir, 'k8s', 'extra.yaml'));
        await until(() => !exists(s.ns, 'configmap/web-extra'), 60_000, 'configmap/web-extra pruned');
        assert.ok(exists(s.ns, 'deployment/web'), 'what is still in the manifests stays');
        assert.ok(exists(s.ns, 'configmap/not-devloops'), 'an object devloop never applied is not pruned');

        up.child.kill('SIGINT');
        assert.equal(await within(up.exited, 60_000, 'devloop up to exit'), 0, up.stderr());
        assert.ok(!exists(s.ns, 'deployment/web') && !exists(s.ns, 'service/web'), 'shutdown deletes what devloop applied');
        assert.ok(exists(s.ns, 'configmap/not-devloops'), 'shutdown leaves other objects alone');
      } finally {
        up.child.kill('SIGKILL');
      }
    });
  });

  describe('down after a crash', () => {
    const s = scratch('devloop-t');
    after(() => s.cleanup());

    it('deletes what a killed devloop applied, and only that', async () => {
      s.create();
      kubectl('create', 'configmap', 'not-devloops', '-n', s.ns, '--from-literal=a=b');
      const dir = s.fixture('k8s-web');
      const up = startCli(['up', '--output', 'json'], { cwd: dir, env: s.env });
      try {
        await up.waitFor((e) => e.type === 'deploy/finished' && e.service === 'web', 120_000, 'web deployed');
      } finally {
        // No shutdown: the objects stay behind, labelled with a session that is gone.
        up.child.kill('SIGKILL');
        await up.exited;
      }
      assert.ok(exists(s.ns, 'deployment/web'), 'a killed devloop leaves its objects');
      const r = await runCli(['down'], { cwd: dir, env: s.env, timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.ok(!exists(s.ns, 'deployment/web') && !exists(s.ns, 'service/web') && !exists(s.ns, 'configmap/web-extra'), `down deletes them:\n${r.stdout}${r.stderr}`);
      assert.ok(exists(s.ns, 'configmap/not-devloops'), 'and nothing else');
    });
  });

  describe('ci: failures named with their reason', () => {
    const s = scratch('devloop-t');
    before(() => s.create());
    after(() => s.cleanup());

    it('an unpullable image fails ci with ImagePullBackOff naming the image', async () => {
      const dir = s.fixture('k8s-broken');
      const r = await runCli(['ci', 'pull', '--readiness-timeout', '60s'], { cwd: dir, env: s.env, timeoutMs: 90_000 });
      const out = r.stdout + r.stderr;
      assert.equal(r.code, 1, out);
      assert.match(out, /cannot pull image 127\.0\.0\.1:5001\/devloop-k8s-test\/missing:nope \(ImagePullBackOff\)/, out);
    });

    it('an apply conflict with another field manager names the object, the manager and what was applied', async () => {
      execFileSync(kubectlPath(), ['--kubeconfig', kubeconfig, 'apply', '--server-side', '--field-manager=helm', '-f', '-'], {
        input: `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared, namespace: ${s.ns}}\ndata: {k: theirs}\n`, stdio: ['pipe', 'pipe', 'pipe'],
      });
      const dir = s.fixture('k8s-broken');
      const r = await runCli(['ci', 'conflict'], { cwd: dir, env: s.env, timeoutMs: 60_000 });
      const out = r.stdout + r.stderr;
      assert.equal(r.code, 1, out);
      assert.match(out, new RegExp(`configmap/${s.ns}/shared \\(k8s/conflict\\.yaml:9\\) is also managed by "helm": .*\\.data\\.k \\(applied before it: configmap/${s.ns}/first\\)`), out);
      assert.equal(kubectl('get', 'configmap', 'shared', '-n', s.ns, '-o', 'jsonpath={.data.k}'), 'theirs', 'not forced');
    });

    it('a crash-looping container fails ci with CrashLoopBackOff and its last log lines', async () => {
      const dir = s.fixture('k8s-broken');
      const r = await runCli(['ci', 'crash', '--readiness-timeout', '60s'], { cwd: dir, env: s.env, timeoutMs: 90_000 });
      const out = r.stdout + r.stderr;
      assert.equal(r.code, 1, out);
      assert.match(out, /keeps crashing \(CrashLoopBackOff/, out);
      // Line by line, after the error: the Dockerfile's CMD (in the build log) holds the same words on one line.
      assert.match(out, /its last log lines:\n[^\n]*starting crash-demo\n[^\n]*fatal: DATABASE_URL is not set\n/, `the previous container's log is shown:\n${out}`);
    });
  });

  describe('safety', () => {
    let dir = '';
    after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

    it('refuses a non-local context before connecting to it, naming the context and the field to set', async () => {
      // A cloud-named context on a loopback port (what an IAP/SSH tunnel to GKE looks like): every
      // connection to it is counted, and there must be none.
      let connections = 0;
      const server = net.createServer((sock) => { connections++; sock.destroy(); });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      const port = (server.address() as net.AddressInfo).port;
      try {
        dir = mkdtempSync(path.join(os.tmpdir(), 'devloop-k8s-gke-'));
        const config = path.join(dir, 'kubeconfig');
        writeFileSync(config, `apiVersion: v1
kind: Config
clusters: [{name: gke, cluster: {server: "https://127.0.0.1:${port}", insecure-skip-tls-verify: true}}]
users: [{name: gke, user: {token: not-a-real-token}}]
contexts: [{name: gke_x_y_z, context: {cluster: gke, user: gke}}]
current-context: gke_x_y_z
`);
        // The pull service builds nothing, so the refusal is the first thing its deploy does.
        const project = copyFixture('k8s-broken');
        try {
          const r = await runCli(['ci', 'pull'], { cwd: project, env: { KUBECONFIG: config, DEVLOOP_TEST_NS: 'default' }, timeoutMs: 60_000 });
          const out = r.stdout + r.stderr;
          assert.equal(r.code, 1, out);
          assert.match(out, /refusing to deploy pull to kube context "gke_x_y_z"/, out);
          assert.match(out, /kubernetes: \{ allowContexts: \['gke_x_y_z'\] \}/, out);
          assert.equal(connections, 0, 'no connection to the refused cluster');
        } finally {
          rmSync(project, { recursive: true, force: true });
        }
      } finally {
        server.close();
      }
    });
  });
});
