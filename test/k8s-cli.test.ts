// The Kubernetes side of the CLI against the local test cluster (test/infra/k8s-up.sh): the
// registry the cluster advertises (KEP-1755) found and pushed to, `render` printing the objects
// with the image a running session built, `deploy --diff` showing a change the server's dry run
// makes (and its exit codes), an invalid manifest located at its line and field, `--context`, and
// `doctor`'s cluster checks passing here and failing on a closed port and on a user without rights.
// Each test works in its own namespace, deleted afterwards; the cluster's own ConfigMap is only read.
//
// Needs `npm run build` (the CLI runs from dist/). Without a cluster the suite is skipped, as
// test/k8s-deploy.test.ts is; DEVLOOP_K8S_REQUIRE=1 (or an explicit KUBECONFIG) makes that a failure.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { detectRegistry, readLocalRegistryHosting, registryFromClusterConfigMap } from '../plugins/registry/detect.js';
import { ensureDockerInfra, runCli, startCli, within } from './helpers.js';
import { kubeconfig, kubectl, missing, required, scratch } from './k8s-helpers.js';

/** The admin kubeconfig with one more context, `name`, on `server` (a token that means nothing). */
function kubeconfigWith(dir: string, name: string, server: string, currentContext = 'devloop-local'): string {
  const cfg = parse(readFileSync(kubeconfig, 'utf8')) as { clusters: unknown[]; users: unknown[]; contexts: unknown[]; 'current-context': string };
  cfg.clusters.push({ name, cluster: { server, 'insecure-skip-tls-verify': true } });
  cfg.users.push({ name, user: { token: 'not-a-real-token' } });
  cfg.contexts.push({ name, context: { cluster: name, user: name } });
  cfg['current-context'] = currentContext;
  const file = path.join(dir, `kubeconfig-${name}`);
  writeFileSync(file, stringify(cfg));
  return file;
}

/** A loopback port nothing listens on (taken, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

describe('Kubernetes CLI against the local test cluster', { skip: missing && !required ? missing : false, timeout: 300_000 }, () => {
  const savedKubeconfig = process.env.KUBECONFIG;
  before(() => {
    if (missing) throw new Error(missing);
    ensureDockerInfra(() => { execFileSync('curl', ['-sf', 'http://127.0.0.1:5001/v2/']); });
    // The lookups below run in this process, as the registry plugin does in devloop's.
    process.env.KUBECONFIG = kubeconfig;
  });
  after(() => { if (savedKubeconfig === undefined) delete process.env.KUBECONFIG; else process.env.KUBECONFIG = savedKubeconfig; });

  describe('KEP-1755 registry lookup', () => {
    const s = scratch('devloop-cli');
    after(() => s.cleanup());

    it('finds the host the cluster advertises in kube-public/local-registry-hosting', async () => {
      assert.equal(await registryFromClusterConfigMap({ context: 'devloop-local' }), '127.0.0.1:5001');
      const hosting = await readLocalRegistryHosting({ context: 'devloop-local' });
      assert.match(hosting?.help ?? '', /1755/, 'the whole localRegistryHosting.v1 is read');
      const found = await detectRegistry({ kubeContext: 'devloop-local', env: {} });
      assert.deepEqual(found, { host: '127.0.0.1:5001', source: 'KEP-1755 ConfigMap', context: 'devloop-local' });
      // Without a kube context (a project with no cluster) the cluster is not asked: the local probe answers.
      assert.equal((await detectRegistry({ env: {} }))?.source, 'local probe');
    });

    it('a missing ConfigMap, or no cluster at all, is undefined, silently', async () => {
      s.create();
      assert.equal(await registryFromClusterConfigMap({ context: 'devloop-local', namespace: s.ns }), undefined, 'no ConfigMap');
      kubectl('create', 'configmap', 'local-registry-hosting', '-n', s.ns, '--from-literal=localRegistryHosting.v1=host: "127.0.0.1:5999"\nhostFromContainerRuntime: "registry:5000"\n');
      assert.equal(await registryFromClusterConfigMap({ context: 'devloop-local', namespace: s.ns }), '127.0.0.1:5999', 'the same lookup reads one when it is there');
      assert.equal((await readLocalRegistryHosting({ context: 'devloop-local', namespace: s.ns }))?.hostFromContainerRuntime, 'registry:5000');
      const dir = s.tmp();
      const closed = kubeconfigWith(dir, 'kind-closed', `https://127.0.0.1:${await closedPort()}`, 'kind-closed');
      process.env.KUBECONFIG = closed;
      try {
        assert.equal(await registryFromClusterConfigMap({ context: 'kind-closed' }), undefined, 'no cluster');
        await assert.rejects(readLocalRegistryHosting({ context: 'kind-closed' }), /ECONNREFUSED|connect/, 'doctor gets the reason');
      } finally {
        process.env.KUBECONFIG = kubeconfig;
      }
    });
  });

  describe('with a running session: render, deploy --diff', () => {
    const s = scratch('devloop-cli');
    after(() => s.cleanup());

    it('pushes where the cluster says, renders the built image, and diffs a manifest edit without applying it', async () => {
      s.create();
      const dir = s.fixture('k8s-web');
      // No DEVLOOP_REGISTRY from the caller's shell: it would win over the cluster's ConfigMap.
      const up = startCli(['up', '--no-watch', '--output', 'json'], { cwd: dir, env: { ...s.env, DEVLOOP_REGISTRY: '' } });
      try {
        await up.waitFor((e) => e.type === 'service/health' && e.service === 'web' && e.health === 'healthy', 120_000, 'web healthy');
        assert.match(JSON.stringify(up.events), /registry from KEP-1755 ConfigMap of context devloop-local/, 'the push log names the source');
        const image = kubectl('get', 'deployment', 'web', '-n', s.ns, '-o', 'jsonpath={.spec.template.spec.containers[0].image}');
        assert.match(image, /^127\.0\.0\.1:5001\/devloop-.*-web@sha256:[0-9a-f]{64}$/);

        const render = await runCli(['render'], { cwd: dir, env: s.env, timeoutMs: 60_000 });
        assert.equal(render.code, 0, render.stderr);
        assert.ok(render.stdout.includes(`image: ${image}\n`), `render uses the image the session built:\n${render.stdout}`);
        assert.equal(render.stdout.split(/^---$/m).length - 1, 3, 'three objects, one YAML document each');
        assert.match(render.stdout, /app\.kubernetes\.io\/managed-by: devloop/);
        assert.ok(render.stdout.includes(`namespace: ${s.ns}`), 'namespaced as applied');
        assert.doesNotMatch(render.stdout, /not built yet/);
        assert.match(render.stdout, /^# Source: k8s\/web\.yaml:1 \(service web, context devloop-local\)$/m);

        const same = await runCli(['deploy', '--diff'], { cwd: dir, env: s.env, timeoutMs: 60_000 });
        assert.equal(same.code, 0, `no change right after the apply: exit 0\n${same.stdout}${same.stderr}`);
        assert.equal(same.stdout, '');
        assert.match(same.stderr, /no changes \(3 objects compared\)/);

        const file = path.join(dir, 'k8s', 'web.yaml');
        writeFileSync(file, readFileSync(file, 'utf8').replace('replicas: 1', 'replicas: 2').replace('        image: web\n', '        image: web\n        env: [{name: GREETING, value: hi}]\n'));
        const changed = await runCli(['deploy', '--diff'], { cwd: dir, env: s.env, timeoutMs: 60_000 });
        assert.equal(changed.code, 1, `changes: exit 1\n${changed.stdout}${changed.stderr}`);
        assert.match(changed.stdout, new RegExp(`^--- deployment/${s.ns}/web \\(live\\)\n\\+\\+\\+ deployment/${s.ns}/web \\(after apply, k8s/web\\.yaml:1\\)\n@@ `, 'm'));
        assert.match(changed.stdout, /^-  replicas: 1\n\+  replicas: 2$/m);
        assert.match(changed.stdout, /^\+            - name: GREETING\n\+              value: hi$/m);
        assert.doesNotMatch(changed.stdout, /managedFields|resourceVersion|uid:/, 'server-owned fields are left out');
        assert.match(changed.stderr, /1 of 3 objects would change/);
        assert.equal(kubectl('get', 'deployment', 'web', '-n', s.ns, '-o', 'jsonpath={.spec.replicas}'), '1', 'a dry run: nothing applied');

        up.child.kill('SIGINT');
        assert.equal(await within(up.exited, 60_000, 'devloop up to exit'), 0, up.stderr());
      } finally {
        up.child.kill('SIGKILL');
      }
    });
  });

  describe('deploy --diff without a session', () => {
    const s = scratch('devloop-cli');
    before(() => s.create());
    after(() => s.cleanup());

    it('shows new objects as all added, and says the image is not built yet', async () => {
      const dir = s.fixture('k8s-web');
      const r = await runCli(['deploy', '--diff'], { cwd: dir, env: s.env, timeoutMs: 60_000 });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, new RegExp(`^--- /dev/null\n\\+\\+\\+ configmap/${s.ns}/web-extra \\(after apply, k8s/extra\\.yaml:1\\)\n@@ -0,0 \\+1,\\d+ @@\n\\+apiVersion: v1$`, 'm'));
      assert.match(r.stderr, /web: image "web" is not built yet/);
      assert.equal(kubectl('get', 'configmap', '-n', s.ns, '-o', 'name'), 'configmap/kube-root-ca.crt', 'nothing created');
    });

    it('an invalid manifest fails with the server\'s answer at the line and field path it names (exit 2)', async () => {
      const dir = s.fixture('k8s-web');
      const file = path.join(dir, 'k8s', 'web.yaml');
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, text.replace('replicas: 1', 'replicas: -1'));
      let r = await runCli(['deploy', '--diff'], { cwd: dir, env: s.env, timeoutMs: 60_000 });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`the API server rejected deployment/${s.ns}/web \\(k8s/web\\.yaml:6\\): field spec\\.replicas: Invalid value: -1`), r.stderr);
      // A required field left out: located at the list element that lacks it.
      writeFileSync(file, text.replace('      - name: web', '      - nmae: web'));
      r = await runCli(['deploy', '--diff'], { cwd: dir, env: s.env, timeoutMs: 60_000 });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /\(k8s\/web\.yaml:16\): field spec\.template\.spec\.containers\[0\]\.name: Required value/, r.stderr);
    });

    it('--context: an unknown one is named with the known ones; it overrides the current context; a non-local one is refused naming kubernetes.allowContexts', async () => {
      const dir = s.fixture('k8s-web');
      let r = await runCli(['deploy', '--diff', '--context', 'nope'], { cwd: dir, env: s.env, timeoutMs: 60_000 });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /--context "nope" names no context in \S*admin\.kubeconfig/);
      assert.match(r.stderr, /known contexts: devloop-local; pass one of them to --context/);

      // A kubeconfig whose current context is a cloud-named tunnel: every connection to it is counted.
      let connections = 0;
      const server = net.createServer((sock) => { connections++; sock.destroy(); });
      await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
      try {
        const config = kubeconfigWith(s.tmp(), 'gke_x_y_z', `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`, 'gke_x_y_z');
        const env = { ...s.env, KUBECONFIG: config };
        r = await runCli(['render', '--context', 'devloop-local'], { cwd: dir, env, timeoutMs: 60_000 });
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /context devloop-local\)/, '--context wins over current-context');
        r = await runCli(['deploy', '--diff'], { cwd: dir, env, timeoutMs: 60_000 });
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(r.stderr, /refusing to deploy web to kube context "gke_x_y_z"/);
        assert.match(r.stderr, /kubernetes: \{ allowContexts: \['gke_x_y_z'\] \}/);
        assert.equal(connections, 0, 'no connection to the refused cluster');
      } finally {
        server.close();
      }
    });
  });

  describe('doctor', () => {
    const s = scratch('devloop-cli');
    before(() => s.create());
    after(() => s.cleanup());

    it('checks the context, the API, RBAC and the advertised registry of the test cluster', async () => {
      const dir = s.fixture('k8s-web');
      const r = await runCli(['doctor'], { cwd: dir, env: s.env, timeoutMs: 60_000 });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^✔ Kubernetes context: devloop-local \(https:\/\/127\.0\.0\.1:\d+\), a local cluster$/m);
      assert.match(r.stdout, /^✔ Kubernetes API: https:\/\/127\.0\.0\.1:\d+ answers: Kubernetes v1\.\d+/m);
      assert.match(r.stdout, new RegExp(`^✔ Kubernetes RBAC: 21 access reviews allowed \\(ConfigMap, Service, Deployment, pods/portforward, pods/exec, pods/log in ${s.ns}\\)$`, 'm'));
      assert.match(r.stdout, /^✔ Cluster registry: advertised by the cluster \(KEP-1755\): 127\.0\.0\.1:5001, its \/v2\/ answers$/m);
    });

    it('an API server on a closed port fails with the reason and the fix', async () => {
      const dir = s.fixture('k8s-web');
      const port = await closedPort();
      const config = kubeconfigWith(s.tmp(), 'kind-closed', `https://127.0.0.1:${port}`, 'kind-closed');
      const r = await runCli(['doctor'], { cwd: dir, env: { ...s.env, KUBECONFIG: config }, timeoutMs: 60_000 });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /^✔ Kubernetes context: kind-closed/m);
      assert.match(r.stdout, new RegExp(`^✖ Kubernetes API: nothing answers at the API server https://127\\.0\\.0\\.1:${port} \\(connection refused\\)\n    fix: start the cluster of context "kind-closed"`, 'm'));
    });

    it('a user without rights fails the RBAC check, naming what it may not do', async () => {
      const dir = s.fixture('k8s-web');
      kubectl('create', 'serviceaccount', 'nobody', '-n', s.ns);
      const token = kubectl('create', 'token', 'nobody', '-n', s.ns, '--duration=10m');
      const cfg = parse(readFileSync(kubeconfig, 'utf8')) as { users: { name: string; user: Record<string, unknown> }[] };
      cfg.users = cfg.users.map((u) => ({ name: u.name, user: { token } }));
      const config = path.join(s.tmp(), 'kubeconfig-nobody');
      writeFileSync(config, stringify(cfg));
      const r = await runCli(['doctor'], { cwd: dir, env: { ...s.env, KUBECONFIG: config }, timeoutMs: 60_000 });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /^✔ Kubernetes API: /m);
      assert.match(r.stdout, new RegExp(`^✖ Kubernetes RBAC: context devloop-local may not [^\n]*create deployments\\.apps in ${s.ns}[^\n]*create pods/portforward in ${s.ns}`, 'm'));
      assert.match(r.stdout, /fix: ask the cluster's admin for a Role/);
    });
  });
});
