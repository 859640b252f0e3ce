import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { isLocalContext } from './context.js';
import { forwardTarget } from './forward.js';
import { loadManifests, prepare, repositoryOf, substituteImages, type K8sObject } from './manifests.js';
import { statusOf } from './readiness.js';

const PUSHED = '127.0.0.1:5001/devloop-p-web@sha256:' + 'a'.repeat(64);

test('images are substituted by repository name, anywhere an image field is', () => {
  const o = { spec: { template: { spec: { containers: [{ image: 'web' }, { image: 'web:dev' }, { image: 'redis:7' }], initContainers: [{ image: 'web@sha256:' + 'b'.repeat(64) }] } } }, custom: { image: 'web' } };
  substituteImages(o, new Map([['web', PUSHED]]));
  assert.deepEqual(o.spec.template.spec.containers.map((c) => c.image), [PUSHED, PUSHED, 'redis:7']);
  assert.equal(o.spec.template.spec.initContainers[0].image, PUSHED);
  assert.equal(o.custom.image, PUSHED, 'a custom resource\'s image field too');
  assert.equal(repositoryOf('127.0.0.1:5001/x/web:1'), '127.0.0.1:5001/x/web');
});

test('prepare labels, namespaces and orders objects for apply', () => {
  const mk = (kind: string, name: string, namespace?: string): K8sObject => ({ apiVersion: 'v1', kind, metadata: { name, ...(namespace ? { namespace } : {}) } });
  const out = prepare([mk('Deployment', 'web'), mk('Service', 'web'), mk('ConfigMap', 'c', 'other'), mk('Namespace', 'n', 'x'), mk('CustomResourceDefinition', 'crd')].map((object) => ({ object, source: 'k8s/a.yaml:1' })), 'web', 'ns1', new Map());
  assert.deepEqual(out.map((o) => o.object.kind), ['Namespace', 'CustomResourceDefinition', 'ConfigMap', 'Service', 'Deployment']);
  assert.equal(out[0].object.metadata.namespace, undefined, 'cluster-scoped objects get no namespace');
  assert.equal(out[2].object.metadata.namespace, 'other', 'a namespace in the manifest is kept');
  assert.equal(out[4].object.metadata.namespace, 'ns1');
  assert.deepEqual(out[4].object.metadata.labels, { 'app.kubernetes.io/managed-by': 'devloop', 'devloop.dev/service': 'web' });
});

test('manifests load from globs, with file:line for a bad document', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'devloop-k8s-unit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'k8s'));
  writeFileSync(path.join(dir, 'k8s', 'b.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n');
  writeFileSync(path.join(dir, 'k8s', 'a.yml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n');
  const loaded = await loadManifests(dir, ['k8s/*.yaml', 'k8s/a.yml'], 'web');
  assert.deepEqual(loaded.map((l) => `${l.object.metadata.name}@${l.source}`), ['b@k8s/b.yaml:1', 'c@k8s/b.yaml:5', 'a@k8s/a.yml:1']);
  writeFileSync(path.join(dir, 'k8s', 'b.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\nkind: ConfigMap\n');
  await assert.rejects(loadManifests(dir, ['k8s/*.yaml'], 'web'), /k8s\/b\.yaml:5: not a Kubernetes object/);
  await assert.rejects(loadManifests(dir, ['deploy/*.yaml'], 'web'), /services\.web\.k8s\.manifests: "deploy\/\*\.yaml" matches no file/);
});

test('local contexts: by name or loopback server, never a cloud-named one', () => {
  assert.equal(isLocalContext('kind-dev', 'https://10.0.0.5:6443'), true);
  assert.equal(isLocalContext('minikube', undefined), true);
  assert.equal(isLocalContext('devloop-local', 'https://10.0.0.5'), true);
  assert.equal(isLocalContext('mine', 'https://127.0.0.1:16443'), true);
  assert.equal(isLocalContext('mine', 'https://[::1]:6443'), true);
  assert.equal(isLocalContext('prod', 'https://35.1.2.3'), false);
  assert.equal(isLocalContext('gke_p_z_c', 'https://127.0.0.1:8443'), false, 'a tunnel to GKE is not local');
  assert.equal(isLocalContext('arn:aws:eks:eu-west-1:1:cluster/x', 'https://localhost:1'), false);
});

test('rollout status per kind says what it waits on', () => {
  const dep = (spec: object, status: object, generation = 2): any => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', generation }, spec: { replicas: 2, ...spec }, status });
  assert.equal(statusOf(dep({}, { observedGeneration: 1 })).waiting, 'deployment/web: waiting for the controller to see the new spec');
  assert.equal(statusOf(dep({}, { observedGeneration: 2, updatedReplicas: 1, replicas: 2 })).waiting, 'deployment/web: 1 of 2 replicas updated');
  assert.equal(statusOf(dep({}, { observedGeneration: 2, updatedReplicas: 2, replicas: 3 })).waiting, 'deployment/web: 1 old replicas terminating');
  assert.equal(statusOf(dep({}, { observedGeneration: 2, updatedReplicas: 2, replicas: 2, availableReplicas: 1 })).waiting, 'deployment/web: 1 of 2 updated replicas available');
  assert.equal(statusOf(dep({}, { observedGeneration: 2, updatedReplicas: 2, replicas: 2, availableReplicas: 2 })).ready, true);
  assert.equal(statusOf({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: {}, status: { succeeded: 1 } } as any).ready, true);
  assert.throws(() => statusOf({ apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: {}, status: { conditions: [{ type: 'Failed', status: 'True', message: 'BackoffLimitExceeded' }] } } as any), /job\/j failed: BackoffLimitExceeded/);
  assert.equal(statusOf({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, status: { phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] } } as any).ready, true);
});

test('the endpoint leads to the first Service\'s target port, else the first container port', () => {
  const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'n' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] } };
  const dep = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', namespace: 'n' }, spec: { selector: { matchLabels: { app: 'w' } }, template: { spec: { containers: [{ ports: [{ containerPort: 9000 }] }] } } } };
  assert.deepEqual(forwardTarget([dep, svc] as any), { namespace: 'n', selector: { app: 'web' }, port: 'http', from: 'service/web:80' });
  assert.deepEqual(forwardTarget([dep] as any), { namespace: 'n', selector: { app: 'w' }, port: 9000, from: 'deployment/web:9000' });
});
