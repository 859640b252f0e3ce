// The sources of devloop:kubernetes besides manifest files, through the real CLI against the local
// test cluster (test/infra/k8s-up.sh): a kustomize overlay (namePrefix and a patch over a base)
// built with the cluster's kubectl, objects returned by Devfile code, and a custom resource of a
// CRD the test installs, whose declared image fields get the image devloop built and pushed.
// Saving a file of the overlay, or of its base outside it, redeploys. A broken kustomization fails
// `devloop ci` with kubectl's own words. Each test works in its own namespace (and API group),
// deleted afterwards.
//
// Needs `npm run build` (the CLI runs from dist/). Without a cluster the suite is skipped, as
// test/k8s-deploy.test.ts is; DEVLOOP_K8S_REQUIRE=1 (or an explicit KUBECONFIG) makes that a failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyFixture, ensureDockerInfra, runCli, startCli, until, within } from './helpers.js';
import { kubeconfig, kubectl, kubectlPath, missing, removeFixtures, required } from './k8s-helpers.js';

const exists = (ns: string, what: string) => kubectl('get', what, '-n', ns, '--ignore-not-found', '-o', 'name') !== '';
const PUSHED = /^127\.0\.0\.1:5001\/devloop-.*-web@sha256:[0-9a-f]{64}$/;

/** A namespace and an API group for one test, and the folders and images it made, all removed afterwards. */
function scratch() {
  const id = `${process.pid}-${Math.random().toString(36).slice(2, 7)}`;
  const ns = `devloop-src-${id}`;
  const group = `t${id}.sources.devloop.dev`;
  const dirs: string[] = [];
  return {
    ns, group,
    // The cluster's kubectl builds the kustomization (no kustomize binary is installed here).
    env: { KUBECONFIG: kubeconfig, DEVLOOP_TEST_NS: ns, DEVLOOP_TEST_GROUP: group, DEVLOOP_KUBECTL: kubectlPath() },
    create() { kubectl('create', 'namespace', ns); },
    fixture(name: string) { const d = copyFixture(name); dirs.push(d); return d; },
    cleanup() {
      try { kubectl('delete', 'namespace', ns, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
      try { kubectl('delete', 'crd', `widgets.${group}`, '--ignore-not-found', '--wait=false'); } catch { /* best effort */ }
      removeFixtures(dirs);
    },
  };
}

function installCrd(group: string): void {
  execFileSync(kubectlPath(), ['--kubeconfig', kubeconfig, 'apply', '-f', '-'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    input: `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.${group}}
spec:
  group: ${group}
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`,
  });
  kubectl('wait', '--for=condition=established', `crd/widgets.${group}`, '--timeout=60s');
}

describe('the k8s block refused at load time (no cluster needed)', () => {
  const dirs: string[] = [];
  after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

  it('no source, and objects without their names: exit 2, each located in Devfile.ts', { timeout: 60_000 }, async () => {
    const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-k8s-sources-checks-')));
    dirs.push(dir);
    writeFileSync(path.join(dir, 'Devfile.ts'), `export default {
  services: {
    web: {
      runtime: 'kubernetes',
      k8s: { namespace: 'dev' },
    },
    api: {
      runtime: 'kubernetes',
      k8s: { objects: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'a' } },
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} },
      ] },
    },
  },
};
`);
    const r = await runCli(['ci'], { cwd: dir, env: { KUBECONFIG: path.join(dir, 'none') } });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /Devfile\.ts:5:\d+ services\.web\.k8s: needs at least one source of objects: "manifests", "kustomize", "helm", "objects"/);
    assert.match(r.stderr, /Devfile\.ts:11:\d+ services\.api\.k8s\.objects\.1: metadata\.name is missing/);
  });
});

describe('devloop:kubernetes sources against the local test cluster', { skip: missing && !required ? missing : false, timeout: 240_000 }, () => {
  before(() => {
    if (missing) throw new Error(missing);
    ensureDockerInfra(() => { execFileSync('curl', ['-sf', 'http://127.0.0.1:5001/v2/']); });
  });

  describe('up: kustomize, objects from code, a custom resource', () => {
    const s = scratch();
    after(() => s.cleanup());

    it('deploys all three with the built image substituted, redeploys on a kustomize edit, deletes them on exit', async () => {
      s.create();
      installCrd(s.group);
      const dir = s.fixture('k8s-sources');
      const up = startCli(['up', '--output', 'json'], { cwd: dir, env: s.env });
      try {
        await up.waitFor((e) => e.type === 'service/health' && e.service === 'web' && e.health === 'healthy', 120_000, 'web healthy');

        // Kustomize: the overlay's prefix and patch over the base, the pushed image in place of `image: web`.
        const dep = JSON.parse(kubectl('get', 'deployment', 'dev-web', '-n', s.ns, '-o', 'json'));
        const image = dep.spec.template.spec.containers[0].image as string;
        assert.match(image, PUSHED, 'image: web became the pushed reference');
        assert.equal(dep.metadata.annotations?.['devloop.dev/revision'], '1', 'the overlay\'s patch');
        assert.equal(dep.metadata.labels?.['app.kubernetes.io/managed-by'], 'devloop');
        assert.equal(kubectl('get', 'configmap', 'dev-settings', '-n', s.ns, '-o', 'jsonpath={.data.greeting}'), 'hello', 'the base, prefixed');
        assert.ok(exists(s.ns, 'service/dev-web'));

        // Objects from Devfile code, given the service, namespace and the built images.
        const fromCode = JSON.parse(kubectl('get', 'configmap', 'from-code', '-n', s.ns, '-o', 'json'));
        assert.deepEqual(fromCode.data, { service: 'web', namespace: s.ns, image });
        assert.equal(fromCode.metadata.labels?.['devloop.dev/service'], 'web');

        // The custom resource: its declared image fields substituted, another image left alone.
        const widget = JSON.parse(kubectl('get', `widgets.${s.group}`, 'w', '-n', s.ns, '-o', 'json'));
        assert.equal(widget.spec.runtime.containerImage, image, 'spec.runtime.containerImage');
        assert.deepEqual(widget.spec.sidecars.map((c: { img: string }) => c.img), [image, 'busybox'], 'spec.sidecars[].img, by repository name');

        // An edit in the overlay redeploys (k8s/ is outside the image's context: only the kustomization's watch sees it).
        writeFileSync(path.join(dir, 'k8s', 'overlay', 'revision.yaml'), 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations:\n    devloop.dev/revision: "2"\n');
        await until(() => kubectl('get', 'deployment', 'dev-web', '-n', s.ns, '-o', 'jsonpath={.metadata.annotations.devloop\\.dev/revision}') === '2', 60_000, 'the patched annotation redeployed');
        // So does one in the base, outside the overlay's folder.
        writeFileSync(path.join(dir, 'k8s', 'base', 'settings.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  greeting: bye\n');
        await until(() => kubectl('get', 'configmap', 'dev-settings', '-n', s.ns, '-o', 'jsonpath={.data.greeting}') === 'bye', 60_000, 'the base\'s edit redeployed');

        up.child.kill('SIGINT');
        assert.equal(await within(up.exited, 60_000, 'devloop up to exit'), 0, up.stderr());
        for (const what of ['deployment/dev-web', 'service/dev-web', 'configmap/dev-settings', 'configmap/from-code', `widgets.${s.group}/w`]) {
          assert.ok(!exists(s.ns, what), `shutdown deletes ${what}`);
        }
      } finally {
        up.child.kill('SIGKILL');
      }
    });
  });

  describe('ci: a broken kustomization', () => {
    const s = scratch();
    after(() => s.cleanup());

    it('fails with kubectl\'s message and the folder, before anything is applied', async () => {
      s.create();
      const dir = s.fixture('k8s-sources');
      writeFileSync(path.join(dir, 'k8s', 'overlay', 'kustomization.yaml'), 'resources: [../no-such-base]\n');
      const r = await runCli(['ci'], { cwd: dir, env: s.env, timeoutMs: 90_000 });
      const out = r.stdout + r.stderr;
      assert.equal(r.code, 1, out);
      assert.match(out, /services\.web\.k8s\.kustomize: kubectl kustomize k8s\/overlay exited with code 1:\n.*no-such-base/, out);
      assert.equal(kubectl('get', 'all,configmaps', '-n', s.ns, '-l', 'app.kubernetes.io/managed-by=devloop', '-o', 'name'), '', 'nothing applied');
    });
  });
});
