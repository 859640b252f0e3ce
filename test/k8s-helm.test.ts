// The Helm source of devloop:kubernetes (`k8s.helm`) with a real helm (v4.3.2, built by
// test/infra/k8s-up.sh into its cache and linked as /tmp/devloop-k8s/bin/helm) against the local
// test cluster: a local chart rendered with a values file and `set`, the image devloop built put in
// place of the chart's `image: web`, served through the port-forward; a template edit redeploys;
// shutdown deletes what the chart made. A template error fails `devloop ci` with helm's own words
// and the chart's folder. Each test works in its own namespace, deleted afterwards.
//
// Needs `npm run build` (the CLI runs from dist/). Without a cluster the suite is skipped, as
// test/k8s-deploy.test.ts is; DEVLOOP_K8S_REQUIRE=1 (or an explicit KUBECONFIG) makes that a
// failure. A cluster without helm is always a failure, naming the fix.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ensureDockerInfra, httpGet, runCli, startCli, until, within } from './helpers.js';
import { helmMissing, helmPath, kubectl, missing, required, scratch } from './k8s-helpers.js';

const exists = (ns: string, what: string) => kubectl('get', what, '-n', ns, '--ignore-not-found', '-o', 'name') !== '';
const bodyAt = (url: string) => httpGet(url).then((r) => (r.status === 200 ? r.body.trim() : undefined), () => undefined);

describe('devloop:kubernetes k8s.helm with a real helm against the local test cluster', { skip: missing && !required ? missing : false, timeout: 180_000 }, () => {
  let helm = '';
  before(() => {
    if (missing) throw new Error(missing);
    helm = helmPath() ?? '';
    if (!helm) throw new Error(helmMissing());
    ensureDockerInfra(() => { execFileSync('curl', ['-sf', 'http://127.0.0.1:5001/v2/']); });
  });

  describe('up: a local chart with values and set', () => {
    const s = scratch('devloop-helm');
    after(() => s.cleanup());

    it('deploys the rendered chart with the built image, serves it, redeploys on a template edit and deletes it on exit', async () => {
      s.create();
      const dir = s.fixture('k8s-helm');
      // PATH keeps any other helm out: the one under test is DEVLOOP_HELM's.
      const up = startCli(['up', '--output', 'json'], { cwd: dir, env: { ...s.env, DEVLOOP_HELM: helm } });
      try {
        await up.waitFor((e) => e.type === 'service/health' && e.service === 'web' && e.health === 'healthy', 120_000, 'web healthy');
        const deployed = await up.waitFor((e) => e.type === 'deploy/finished' && e.service === 'web', 1_000, 'deploy/finished');
        const url = deployed.endpoints?.[0]?.url as string;
        assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/, `endpoint: ${JSON.stringify(deployed.endpoints)}`);
        assert.equal(await bodyAt(`${url}/index.html`), 'hello helm', 'the page through the port-forward');

        // The chart's `image: {{ .Values.image }}` rendered as `web`, then became the pushed reference.
        const dep = JSON.parse(kubectl('get', 'deployment', 'web', '-n', s.ns, '-o', 'json'));
        assert.match(dep.spec.template.spec.containers[0].image, /^127\.0\.0\.1:5001\/devloop-.*-web@sha256:[0-9a-f]{64}$/);
        assert.equal(dep.metadata.labels?.['app.kubernetes.io/managed-by'], 'devloop');
        assert.equal(dep.metadata.labels?.revision, '1');
        assert.ok(exists(s.ns, 'service/web'), 'the chart\'s Service');
        // values.yaml says greeting hello, color red; values-dev.yaml says blue; `set` says hi.
        assert.deepEqual(JSON.parse(kubectl('get', 'configmap', 'web-settings', '-n', s.ns, '-o', 'jsonpath={.data}')), { greeting: 'hi', color: 'blue' });

        // A template edit (the chart is outside the image's context: only the chart's watch sees it).
        const tpl = path.join(dir, 'chart', 'templates', 'deployment.yaml');
        writeFileSync(tpl, readFileSync(tpl, 'utf8').replace('revision: "1"', 'revision: "2"'));
        await until(() => kubectl('get', 'deployment', 'web', '-n', s.ns, '-o', 'jsonpath={.metadata.labels.revision}') === '2', 60_000, 'the template edit redeployed');

        up.child.kill('SIGINT');
        assert.equal(await within(up.exited, 60_000, 'devloop up to exit'), 0, up.stderr());
        for (const what of ['deployment/web', 'service/web', 'configmap/web-settings']) assert.ok(!exists(s.ns, what), `shutdown deletes ${what}`);
      } finally {
        up.child.kill('SIGKILL');
      }
    });
  });

  describe('ci: a template error', () => {
    const s = scratch('devloop-helm');
    after(() => s.cleanup());

    it('fails with helm\'s message and the chart, before anything is applied', async () => {
      s.create();
      const dir = s.fixture('k8s-helm');
      writeFileSync(path.join(dir, 'chart', 'templates', 'broken.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  a: {{ .Values.missing.deeper }}\n');
      const r = await runCli(['ci'], { cwd: dir, env: { ...s.env, DEVLOOP_HELM: helm }, timeoutMs: 90_000 });
      const out = r.stdout + r.stderr;
      assert.equal(r.code, 1, out);
      // Each line of the message comes with the log's time and service in front.
      assert.match(out, /services\.web\.k8s\.helm: helm template web chart exited with code 1:\n[^\n]*Error: web\/templates\/broken\.yaml:6:\d+\n[^\n]*<\.Values\.missing\.deeper>:\n[^\n]*nil pointer evaluating interface \{\}\.deeper\n/, out);
      assert.match(out, /try: helm template web \/\S+\/chart --namespace /, 'the chart\'s path, in the command to try');
      assert.equal(kubectl('get', 'all,configmaps', '-n', s.ns, '-l', 'app.kubernetes.io/managed-by=devloop', '-o', 'name'), '', 'nothing applied');
    });
  });
});
