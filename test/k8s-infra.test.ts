// The local Kubernetes test cluster made by test/infra/k8s-up.sh: the API answers, the real node is
// Ready, an image pushed to the registry on 127.0.0.1:5001 runs there and answers HTTP through the
// API server's port-forward, and the cluster names that registry (KEP-1755 ConfigMap).
//
// Run by hand after `bash test/infra/k8s-up.sh` (it prints the KUBECONFIG to export; without one the
// default state path /tmp/devloop-k8s is used). With no cluster at all the suite is skipped, so a
// full `npm test` on a machine without one stays green; DEVLOOP_K8S_REQUIRE=1 (or an explicit
// KUBECONFIG) turns that skip into a failure.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { docker, ensureDockerInfra, until, within, httpGet } from './helpers.js';
import { kubeconfig, kubectlPath, kubectlWithin, missing, required } from './k8s-helpers.js';

const REGISTRY = '127.0.0.1:5001';
const kubectl = (...args: string[]): string => kubectlWithin(150_000, ...args);

function kubectlApply(manifest: string): void {
  execFileSync(kubectlPath(), ['--kubeconfig', kubeconfig, 'apply', '-f', '-'], { input: manifest, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000 });
}


interface Condition { type: string; status: string; reason?: string; message?: string }
interface NodeJson { metadata: { name: string; annotations?: Record<string, string> }; status: { conditions: Condition[] } }

describe('local Kubernetes test cluster (test/infra/k8s-up.sh)', { skip: missing && !required ? missing : false, timeout: 300_000 }, () => {
  before(() => {
    if (missing) throw new Error(missing);
  });

  it('answers on its API with a local context and the built version', () => {
    assert.equal(kubectl('get', '--raw', '/readyz'), 'ok');
    const context = kubectl('config', 'current-context');
    assert.match(context, /-local$/, `context ${context} should be recognisably local (NAME-local)`);
    const version = JSON.parse(kubectl('version', '-o', 'json')) as { serverVersion: { gitVersion: string } };
    assert.match(version.serverVersion.gitVersion, /^v1\.\d+\.\d+$/, 'the API server reports a release version, not v0.0.0-master');
  });

  it('has a real (non-kwok) node that is Ready', () => {
    const nodes = (JSON.parse(kubectl('get', 'nodes', '-o', 'json')) as { items: NodeJson[] }).items;
    const real = nodes.filter((n) => n.metadata.annotations?.['kwok.x-k8s.io/node'] !== 'fake');
    assert.equal(real.length, 1, `one real node expected, got: ${nodes.map((n) => n.metadata.name).join(', ') || 'none'}`);
    const ready = real[0].status.conditions.find((c) => c.type === 'Ready');
    assert.equal(ready?.status, 'True', `node ${real[0].metadata.name} not Ready: ${JSON.stringify(ready)}`);
  });

  it('publishes the local registry in kube-public/local-registry-hosting (KEP-1755)', () => {
    const cm = JSON.parse(kubectl('get', 'configmap', 'local-registry-hosting', '-n', 'kube-public', '-o', 'json')) as { data: Record<string, string> };
    const doc = cm.data['localRegistryHosting.v1'];
    assert.ok(doc, 'data.localRegistryHosting.v1 missing');
    assert.match(doc, new RegExp(`^host: "?${REGISTRY.replace(/\./g, '\\.')}"?$`, 'm'));
  });

  describe('a pod from an image pushed to the local registry', () => {
    const id = `${process.pid}-${Date.now().toString(36)}`;
    const ns = `dltest-k8s-${id}`;
    const image = `${REGISTRY}/devloop-k8stest/web:${id}`;
    const token = `hello from ${id}`;
    let forward: ChildProcess | undefined;
    let dir = '';

    before(() => {
      ensureDockerInfra(() => { execFileSync('curl', ['-sf', `http://${REGISTRY}/v2/`]); });
      dir = mkdtempSync(path.join(os.tmpdir(), 'devloop-k8s-image-'));
      writeFileSync(path.join(dir, 'index.html'), `${token}\n`);
      writeFileSync(path.join(dir, 'Dockerfile'), 'FROM devloop-test/busybox:latest\nCOPY index.html /www/index.html\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n');
      docker('build', '-q', '-t', image, dir);
      docker('push', image);
      // the node must pull it from the registry, not find it anywhere else
      docker('rmi', image);
    });

    after(async () => {
      forward?.kill();
      try { kubectl('delete', 'namespace', ns, '--wait=false'); } catch { /* never created */ }
      if (dir) rmSync(dir, { recursive: true, force: true });
      try { docker('rmi', image); } catch { /* removed in before() */ }
      // the tag in the registry too (delete is enabled there): a manifest is deleted by digest
      const manifest = `http://${REGISTRY}/v2/devloop-k8stest/web/manifests`;
      try {
        const head = await fetch(`${manifest}/${id}`, { method: 'HEAD', headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
        const digest = head.headers.get('docker-content-digest');
        if (digest) await fetch(`${manifest}/${digest}`, { method: 'DELETE' });
      } catch { /* best effort */ }
    });

    it('runs on the real node and answers HTTP through kubectl port-forward', async () => {
      kubectl('create', 'namespace', ns);
      // busybox httpd as PID 1 ignores SIGTERM: a short grace period keeps the namespace delete quick
      kubectlApply(`apiVersion: v1
kind: Pod
metadata: {name: web, namespace: ${ns}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: web
    image: ${image}
    imagePullPolicy: Always
    ports: [{containerPort: 8080}]
    readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
`);
      try {
        kubectl('wait', '-n', ns, '--for=condition=Ready', 'pod/web', '--timeout=120s');
      } catch (err) {
        const events = kubectl('get', 'events', '-n', ns, '--sort-by=.lastTimestamp', '-o', 'custom-columns=REASON:.reason,MESSAGE:.message');
        throw new Error(`pod web (image ${image}) never became Ready: ${(err as Error).message}\nevents:\n${events}`);
      }
      const pod = JSON.parse(kubectl('get', 'pod', 'web', '-n', ns, '-o', 'json')) as { spec: { nodeName: string }; status: { containerStatuses: { imageID: string }[] } };
      assert.ok(!pod.spec.nodeName.startsWith('kwok-'), `scheduled on fake node ${pod.spec.nodeName}`);
      assert.match(pod.status.containerStatuses[0].imageID, new RegExp(`^${REGISTRY.replace(/\./g, '\\.')}/devloop-k8stest/web@sha256:`), 'pulled from the local registry');

      const fwd = spawn(kubectlPath(), ['--kubeconfig', kubeconfig, 'port-forward', '-n', ns, '--address', '127.0.0.1', 'pod/web', ':8080'], { stdio: ['ignore', 'pipe', 'pipe'] });
      forward = fwd;
      let out = '';
      fwd.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
      fwd.stderr!.on('data', (c: Buffer) => { out += c.toString(); });
      const port = await within(until(() => /Forwarding from 127\.0\.0\.1:(\d+) -> 8080/.exec(out)?.[1], 30_000, 'kubectl port-forward'), 35_000, `kubectl port-forward (output so far: ${out})`);
      const res = await httpGet(`http://127.0.0.1:${port}/index.html`);
      assert.equal(res.status, 200);
      assert.equal(res.body.trim(), token);
    });
  });
});
