// The pure rules of readiness and failure reporting (failures.ts, statusOf): what a Service, a custom
// resource, an OOM-killed container, a failing probe and each class of apply error turn into. The
// same paths run against the real cluster in test/k8s-failures.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  appliedSoFar, applyFailure, customResourceStatus, isCustomResource, nextAutopilotSize, oomMessage, probeFailure, serviceStatus,
} from './failures.js';
import { registryOf, statusOf } from './readiness.js';

const svc = (spec: Record<string, unknown>) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'ns' }, spec });

test('a Service with a selector is ready once one EndpointSlice endpoint is ready; says what it waits on until then', () => {
  const s = svc({ selector: { app: 'web' } });
  assert.deepEqual(serviceStatus(s, [{ endpoints: [{ conditions: { ready: false } }, { conditions: { ready: true } }] }]), { ready: true });
  assert.deepEqual(serviceStatus(s, [{ endpoints: [{ conditions: { ready: false } }] }, { endpoints: [{ conditions: { ready: false } }] }]),
    { ready: false, waiting: 'service/web: 0 of 2 endpoints ready' });
  assert.deepEqual(serviceStatus(s, [{ endpoints: [] }], 0), { ready: false, waiting: 'service/web: no endpoints; no pod matches its selector app=web' });
  assert.deepEqual(serviceStatus(s, [], 1), { ready: false, waiting: 'service/web: waiting for a ready endpoint (selector app=web)' });
  // The API: a nil ready condition is an unknown state, which consumers count as ready.
  assert.equal(serviceStatus(s, [{ endpoints: [{ conditions: {} }] }]).ready, true);
});

test('an ExternalName or selector-less Service is ready at once', () => {
  assert.equal(serviceStatus(svc({ type: 'ExternalName', externalName: 'db.example.com' }), []).ready, true);
  assert.equal(serviceStatus(svc({ ports: [{ port: 80 }] }), []).ready, true);
  assert.equal(serviceStatus(svc({ selector: {} }), []).ready, true);
});

test('custom resources are told from built-in kinds by their API group', () => {
  assert.equal(isCustomResource('widgets.example.com/v1'), true);
  assert.equal(isCustomResource('cert-manager.io/v1'), true);
  assert.equal(isCustomResource('gateway.networking.k8s.io/v1'), true, 'a CRD under k8s.io');
  for (const v of ['v1', 'apps/v1', 'batch/v1', 'networking.k8s.io/v1', 'rbac.authorization.k8s.io/v1', 'apiextensions.k8s.io/v1']) assert.equal(isCustomResource(v), false, v);
});

const cr = (conditions: unknown, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'widgets.example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'ns', generation: 2 }, status: { conditions, ...extra },
});

test('a custom resource is ready by its Ready, else Available, condition; False says the reason and message', () => {
  assert.deepEqual(customResourceStatus(cr([{ type: 'Ready', status: 'True' }]), false), { ready: true });
  assert.deepEqual(customResourceStatus(cr([{ type: 'Ready', status: 'False', reason: 'Provisioning', message: 'waiting for the bucket' }]), false),
    { ready: false, waiting: 'widget/w: Ready=False (Provisioning: waiting for the bucket)' });
  assert.deepEqual(customResourceStatus(cr([{ type: 'Available', status: 'Unknown', reason: 'Starting' }]), true),
    { ready: false, waiting: 'widget/w: Available=Unknown (Starting)' });
  // Ready wins over Available.
  assert.equal(customResourceStatus(cr([{ type: 'Available', status: 'True' }, { type: 'Ready', status: 'False' }]), true).ready, false);
  // A True condition about an older generation is not about this apply.
  assert.deepEqual(customResourceStatus(cr([{ type: 'Ready', status: 'True', observedGeneration: 1 }]), true),
    { ready: false, waiting: 'widget/w: Ready is for generation 1; waiting for its controller to see generation 2' });
});

test('a custom resource without a Ready/Available condition waits for the grace period, then is ready with a note', () => {
  assert.deepEqual(customResourceStatus(cr(undefined), false), { ready: false, waiting: 'widget/w: waiting for its controller to report a Ready or Available condition' });
  const after = customResourceStatus(cr([{ type: 'Synced', status: 'True' }]), true);
  assert.equal(after.ready, true);
  assert.equal(after.note, 'widget/w reports no Ready or Available condition (it has Synced=True); counted as ready once applied');
});

const oomPod = (resources: Record<string, unknown> | undefined) => ({
  metadata: { name: 'eat-1', namespace: 'ns' },
  spec: { containers: [{ name: 'side', image: 'x' }, { name: 'eater', image: 'y', ...(resources ? { resources } : {}) }] },
});

test('OOMKilled names the container, its memory limit, and the field to raise', () => {
  const { message, hint } = oomMessage('deployment/eat', oomPod({ limits: { memory: '24Mi' } }), 'eater', 2);
  assert.equal(message, 'deployment/eat: container eater of pod eat-1 was killed for using more memory than its limit, 24Mi (OOMKilled, 2 restarts)');
  assert.equal(hint, 'raise resources.limits.memory of container eater in the manifest of deployment/eat above 24Mi (to 48Mi, say), or make the program use less memory');
  const none = oomMessage('pod/eat', oomPod(undefined), 'eater', 0);
  assert.match(none.message, /more memory than it had \(no memory limit: the node ran out, or a LimitRange set one\) \(OOMKilled\)$/);
  assert.match(none.hint, /^set resources\.limits\.memory of container eater/);
});

test('OOMKilled under Autopilot names the next valid size, as admission would make it', () => {
  const pod = oomPod({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '250m', memory: '512Mi' } });
  // No bursting: requests = limits, the 1:1 ratio floor, 250m steps. Twice 512Mi fits 250m (up to 6.5 GiB per vCPU).
  assert.deepEqual(nextAutopilotSize(pod, 'eater', '512Mi', { bursting: false }), { cpu: '250m', memory: '1Gi' });
  const { hint } = oomMessage('deployment/eat', pod, 'eater', 1, { bursting: false });
  assert.equal(hint, 'raise resources.limits.memory of container eater in the manifest of deployment/eat and requests.memory; under Autopilot the next valid size is memory 1Gi with cpu 250m (what admission makes of twice 512Mi)');
  // Twice 1Gi at 100m CPU breaks the 6.5 GiB/vCPU ceiling: admission raises the CPU, and the hint says so.
  const small = { metadata: { name: 'eat-1' }, spec: { containers: [{ name: 'eater', resources: { requests: { cpu: '100m', memory: '1Gi' }, limits: { memory: '1Gi' } } }] } };
  const next = nextAutopilotSize(small, 'eater', '1Gi', { bursting: false });
  assert.deepEqual(next, { cpu: '500m', memory: '2Gi' });
  // Without Autopilot there is no size to name.
  assert.doesNotMatch(oomMessage('deployment/eat', pod, 'eater', 1).hint, /Autopilot/);
});

test('a failing probe is reported by the kubelet\'s last Unhealthy event', () => {
  const events = [
    { reason: 'Unhealthy', message: 'Readiness probe failed: Get "http://10.0.0.5:8080/": dial tcp: connection refused', lastTimestamp: '2026-01-01T00:00:01Z' },
    { reason: 'Unhealthy', message: 'Readiness probe failed: HTTP probe failed with statuscode: 500', lastTimestamp: '2026-01-01T00:00:09Z' },
    { reason: 'Pulled', message: 'Successfully pulled image', lastTimestamp: '2026-01-01T00:00:10Z' },
  ];
  assert.equal(probeFailure(events), 'Readiness probe failed: HTTP probe failed with statuscode: 500');
  assert.equal(probeFailure([{ reason: 'Unhealthy', message: 'Liveness probe failed: \n  command timed out\n', eventTime: '2026-01-01T00:00:00Z' }]), 'Liveness probe failed: command timed out');
  assert.equal(probeFailure([{ reason: 'Started', message: 'Started container' }]), undefined);
});

test('a Deployment past its progress deadline is stuck, with the controller\'s message', () => {
  const d = {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', generation: 1 },
    spec: { replicas: 1, progressDeadlineSeconds: 10, selector: { matchLabels: { app: 'web' } }, template: { spec: { containers: [{ image: 'x' }] } } },
    status: { observedGeneration: 1, updatedReplicas: 1, replicas: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "web-1" has timed out progressing.' }] },
  };
  const st = statusOf(d as never);
  assert.equal(st.ready, false);
  assert.equal(st.stuck, 'deployment/web made no progress for its progressDeadlineSeconds (10s): ReplicaSet "web-1" has timed out progressing');
});

test('the registry of an image reference', () => {
  assert.equal(registryOf('127.0.0.1:5001/devloop-x-web@sha256:' + 'a'.repeat(64)), '127.0.0.1:5001');
  assert.equal(registryOf('gcr.io/p/web:1'), 'gcr.io');
  assert.equal(registryOf('library/busybox'), 'docker.io');
  assert.equal(registryOf('busybox'), 'docker.io');
});

const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg', namespace: 'ns' } };
const status = (code: number, body: unknown, message = `HTTP-Code: ${code}`) => Object.assign(new Error(message), { code, body: JSON.stringify(body) });

test('apply errors: each class gets a message naming the object and a fix', () => {
  // What @kubernetes/client-node 1.4 throws, as seen against a real API server.
  const refused = Object.assign(new Error('Failed to fetch resource metadata for v1/ConfigMap: request to https://127.0.0.1:1/api/v1 failed, reason: connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED', name: 'FetchError' });
  const f1 = applyFailure(refused, cm, 'k8s/a.yaml:1');
  assert.equal(f1.code, 'K8S_UNREACHABLE');
  assert.equal(f1.message, 'cannot reach the Kubernetes API server at https://127.0.0.1:1 to apply configmap/ns/cfg (k8s/a.yaml:1): connect ECONNREFUSED 127.0.0.1:1');
  assert.match(f1.hint, /kubectl cluster-info/);

  const f2 = applyFailure(status(401, { kind: 'Status', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }, 'Failed to fetch resource metadata for v1/ConfigMap: HTTP-Code: 401'), cm, 'k8s/a.yaml:1');
  assert.equal(f2.code, 'K8S_UNAUTHORIZED');
  assert.match(f2.message, /refused the kubeconfig's credentials to apply configmap\/ns\/cfg \(k8s\/a\.yaml:1\) \(401 Unauthorized\): they are missing, wrong or expired/);
  assert.match(f2.hint, /get-credentials/);

  const widget = { apiVersion: 'nope.example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'ns' } };
  for (const err of [new Error('Unrecognized API version and kind: nope.example.com/v1 Widget'), Object.assign(new Error('Failed to fetch resource metadata for nope.example.com/v1/Widget: HTTP-Code: 404'), { code: 404, body: '404 page not found\n' })]) {
    const f = applyFailure(err, widget, 'k8s/w.yaml:3');
    assert.equal(f.code, 'K8S_NO_SUCH_KIND');
    assert.equal(f.message, 'cannot apply widget/ns/w (k8s/w.yaml:3): no kind "Widget" in apiVersion "nope.example.com/v1" on this cluster (no match for kind)');
    assert.match(f.hint, /install the CustomResourceDefinition for Widget/);
  }

  const invalid = status(422, { message: 'Deployment.apps "d" is invalid: [spec.replicas: Invalid value: -1: must be greater than or equal to 0]', reason: 'Invalid', details: { causes: [{ reason: 'FieldValueInvalid', message: 'Invalid value: -1: must be greater than or equal to 0', field: 'spec.replicas' }] }, code: 422 });
  const f4 = applyFailure(invalid, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'ns' } }, 'k8s/d.yaml:7');
  assert.equal(f4.code, 'K8S_INVALID');
  assert.equal(f4.message, 'the API server rejected deployment/ns/d (k8s/d.yaml:7): field spec.replicas: Invalid value: -1: must be greater than or equal to 0');
  assert.equal(f4.hint, 'fix spec.replicas at k8s/d.yaml:7');
  const typed = status(500, { message: 'failed to create typed patch object (ns/d; apps/v1, Kind=Deployment): .spec.replicas: expected numeric (int or float), got string', code: 500 });
  const f5 = applyFailure(typed, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd', namespace: 'ns' } }, 'k8s/d.yaml:7');
  assert.equal(f5.code, 'K8S_INVALID');
  assert.equal(f5.message, 'the API server rejected deployment/ns/d (k8s/d.yaml:7): field spec.replicas: expected numeric (int or float), got string');

  const conflict = status(409, { message: 'Apply failed with 2 conflicts: conflicts with "helm" using v1:\n- .data.k\nconflict with "kubectl-edit" using v1: .data.j', code: 409 });
  const f6 = applyFailure(conflict, cm, 'k8s/a.yaml:1');
  assert.equal(f6.code, 'K8S_APPLY_CONFLICT');
  assert.match(f6.message, /^configmap\/ns\/cfg \(k8s\/a\.yaml:1\) is also managed by "helm", "kubectl-edit": Apply failed/);
  assert.match(f6.hint, /kubectl delete configmap cfg -n ns/);

  const ns = applyFailure(status(404, { message: 'namespaces "gone" not found', reason: 'NotFound', code: 404 }), cm, 'k8s/a.yaml:1');
  assert.equal(ns.code, 'K8S_APPLY_NOT_FOUND');
  assert.match(ns.hint, /kubectl create namespace gone/);
});

test('what a failed apply left behind is said in full', () => {
  assert.equal(appliedSoFar([], []), ' (nothing was applied)');
  assert.equal(appliedSoFar(['configmap/ns/a'], ['deployment/ns/b', 'service/ns/b']), ' (applied before it: configmap/ns/a; not applied: deployment/ns/b, service/ns/b)');
  assert.equal(appliedSoFar([], ['service/ns/b']), ' (nothing was applied; not applied: service/ns/b)');
});
