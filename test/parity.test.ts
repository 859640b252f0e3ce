// `devloop parity`: the CLI end to end. The production render (plugins/production/render.ts) of
// the fixture Devfiles against exports written in the formats `kubectl get -o yaml` and
// `gcloud run services describe --format export` print, server fields and all.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { copyFixture, runCli } from './helpers.js';

let root = '';
const exports = (name: string) => path.join(root, 'exports', name);
const parity = (dir: 'gke' | 'cloudrun', against: string, ...more: string[]) =>
  runCli(['parity', '--env', 'prod', '--against', against, ...more], { cwd: path.join(root, dir) });

before(() => { root = copyFixture('parity'); });
after(() => { rmSync(root, { recursive: true, force: true }); });

describe('devloop parity: GKE Autopilot (kubectl get deploy,svc,hpa -o yaml)', () => {
  it('a matching export: no difference, exit 0; the image digest is only a note', async () => {
    const r = await parity('gke', exports('gke-match.yaml'));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^no differences: 1 workload in .*gke-match\.yaml behave as environment "prod" \(gke\) renders it \(1 note\)$/m);
    assert.match(r.stdout, /^note: Deployment\/api {2}image tag or digest: local "europe-docker\.pkg\.dev\/shop-prod\/apps\/api:placeholder" .* vs production "europe-docker\.pkg\.dev\/shop-prod\/apps\/api@sha256:6f1c/m);
  });

  it('finds the planted env var, memory (against Autopilot\'s mutated value, not the 100Mi asked) and readiness probe path, exit 1', async () => {
    const r = await parity('gke', exports('gke-drift.yaml'), '-o', 'json');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const { differences, notes, target } = JSON.parse(r.stdout);
    assert.equal(target, 'gke');
    assert.equal(notes.length, 1);
    const by = Object.fromEntries(differences.map((d: any) => [d.what, d]));
    assert.deepEqual(Object.keys(by).sort(), ['env var LOG_LEVEL', 'memory limit', 'memory request', 'readiness probe path']);
    const c = 'spec.template.spec.containers[name=api]';
    assert.deepEqual(by['env var LOG_LEVEL'], { workload: 'Deployment/api', what: 'env var LOG_LEVEL', localPath: `${c}.env[name=LOG_LEVEL].value`, prodPath: `${c}.env[name=LOG_LEVEL].value`, local: 'info', prod: 'debug' });
    assert.deepEqual([by['memory limit'].local, by['memory limit'].prod, by['memory limit'].prodPath], ['256Mi', '512Mi', `${c}.resources.limits.memory`]);
    assert.deepEqual([by['readiness probe path'].local, by['readiness probe path'].prod, by['readiness probe path'].localPath], ['/healthz', '/ready', `${c}.readinessProbe.httpGet.path`]);
  });

  it('prints one line per difference with both paths, and a summary', async () => {
    const r = await parity('gke', exports('gke-drift.yaml'));
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^Deployment\/api {2}env var LOG_LEVEL: local "info" \(spec\.template\.spec\.containers\[name=api\]\.env\[name=LOG_LEVEL\]\.value\) vs production "debug" \(spec\.template\.spec\.containers\[name=api\]\.env\[name=LOG_LEVEL\]\.value\)$/m);
    assert.match(r.stdout, /^4 differences in Deployment\/api between environment "prod" \(gke\) and /m);
  });

  it('a folder of single-object files (and a non-YAML file beside them) is one export', async () => {
    const r = await parity('gke', exports('gke-split'));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^no differences/m);
  });

  it('an export without the workload: "missing in production", exit 1', async () => {
    const only = exports('other-workload.yaml');
    writeFileSync(only, 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: other\nspec:\n  template:\n    spec:\n      containers:\n      - name: other\n        image: nginx\n');
    const r = await parity('gke', only, '-o', 'json');
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).differences.map((d: any) => [d.workload, d.what]), [['Deployment/api', 'missing in production'], ['Deployment/other', 'only in production']]);
  });
});

describe('devloop parity: Cloud Run (gcloud run services describe --format export)', () => {
  it('a matching export: target detected from the kinds, no difference, exit 0', async () => {
    const r = await parity('cloudrun', exports('cloudrun-match.yaml'));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^no differences: 1 workload .* \(cloudrun\)/m);
  });

  it('finds the planted concurrency and request timeout, exit 1', async () => {
    const r = await parity('cloudrun', exports('cloudrun-drift.yaml'), '-o', 'json');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const ds = JSON.parse(r.stdout).differences;
    assert.deepEqual(ds.map((d: any) => [d.workload, d.what, d.local, d.prod, d.localPath, d.prodPath]).sort(), [
      ['Service/web', 'concurrency', 40, 80, 'spec.template.spec.containerConcurrency', 'spec.template.spec.containerConcurrency'],
      ['Service/web', 'request timeout', 60, 300, 'spec.template.spec.timeoutSeconds', 'spec.template.spec.timeoutSeconds'],
    ]);
  });
});

describe('devloop parity: bad input exits 2 with a code and a hint', () => {
  const cases: [string, () => string, string[], string][] = [
    ['a missing file', () => exports('nope.yaml'), [], 'PARITY_EXPORT_NOT_FOUND'],
    ['a file that is not YAML', () => exports('broken.yaml'), [], 'PARITY_EXPORT_NOT_YAML'],
    ['an export of the other target', () => exports('gke-match.yaml'), ['--target', 'cloudrun'], 'PARITY_NO_WORKLOADS'],
  ];
  for (const [what, file, flags, code] of cases) {
    it(what, async () => {
      const r = await parity('gke', file(), ...flags, '-o', 'json');
      assert.equal(r.code, 2, r.stdout + r.stderr);
      const { error } = JSON.parse(r.stdout);
      assert.equal(error.code, code);
      assert.ok(error.hint, 'a hint says what to do');
    });
  }

  it('an export with no workload in it', async () => {
    const svc = exports('svc-only.yaml');
    writeFileSync(svc, 'apiVersion: v1\nkind: Service\nmetadata:\n  name: api\nspec:\n  ports:\n  - port: 8080\n');
    const r = await parity('gke', svc);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^error: .*svc-only\.yaml: no workload in it \(kinds: Service\)\n {2}try: export with kubectl get/m);
  });
});
