import assert from 'node:assert/strict';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { admit } from '../admission.js';
import { WARDEN_WEBHOOK } from '../warden.js';
import { ANNOTATION_ADJUSTMENT, ANNOTATION_WARDEN_VERSION, applyPatch, configurations, jsonPatch, listen, makeCerts, mutate, validate, WARDEN_REASON } from './index.js';
import { registrable } from './server.js';

const deployment = (resources: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { app: 'web' } },
  spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'busybox', resources }], ...extra } } },
});
const review = (object: unknown, extra: Record<string, unknown> = {}) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'uid-1', namespace: 'team-a', operation: 'CREATE', object, ...extra } });
const decode = (patch: string) => JSON.parse(Buffer.from(patch, 'base64').toString('utf8'));

describe('jsonPatch', () => {
  it('touches only what changed, escaping keys, and applying it gives the mutated object', () => {
    const before = { metadata: { name: 'x', annotations: { 'a/b~c': '1' } }, spec: { list: [1, 2], other: [1], gone: true, same: { deep: 'v' } } };
    const after = { metadata: { name: 'x', annotations: { 'a/b~c': '2', 'new/key': 'v' } }, spec: { list: [1, 3], other: [1, 2], same: { deep: 'v' } } };
    const ops = jsonPatch(before, after);
    assert.deepEqual(ops, [
      { op: 'replace', path: '/metadata/annotations/a~1b~0c', value: '2' },
      { op: 'add', path: '/metadata/annotations/new~1key', value: 'v' },
      { op: 'remove', path: '/spec/gone' },
      { op: 'replace', path: '/spec/list/1', value: 3 },
      { op: 'replace', path: '/spec/other', value: [1, 2] },
    ]);
    assert.deepEqual(applyPatch(before, ops), after);
    assert.deepEqual(jsonPatch(after, structuredClone(after)), []);
  });

  it('turns every admission mutation into a patch that reproduces it', () => {
    const inputs = [
      deployment({ requests: { cpu: '100m', memory: '128Mi' } }),
      deployment({}),
      deployment({ limits: { cpu: '3', memory: '1Gi' } }, { nodeSelector: { 'cloud.google.com/compute-class': 'Scale-Out' } }),
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n' }, spec: { initContainers: [{ name: 'i', image: 'x' }], containers: [{ name: 'c', image: 'x' }] } },
    ];
    for (const input of inputs) {
      for (const settings of [{}, { bursting: false }]) {
        const { mutated } = admit(input, settings);
        assert.deepEqual(applyPatch(input, jsonPatch(input, mutated)), mutated, JSON.stringify({ input, settings }));
      }
    }
  });
});

describe('AdmissionReview answers', () => {
  it('the mutator: minimums as a patch, GKE\'s warning, and the two autopilot.gke.io annotations', () => {
    const object = deployment({ requests: { cpu: '100m', memory: '128Mi' } });
    const out = mutate(review(object), { bursting: false });
    assert.equal(out.apiVersion, 'admission.k8s.io/v1');
    assert.equal(out.kind, 'AdmissionReview');
    assert.equal(out.response.uid, 'uid-1');
    assert.equal(out.response.allowed, true);
    assert.deepEqual(out.response.warnings, ['autopilot-default-resources-mutator:Autopilot updated Deployment team-a/web: adjusted resources to meet requirements for containers [web] (see http://g.co/gke/autopilot-resources).']);
    assert.equal(out.response.patchType, 'JSONPatch');
    const patched = applyPatch(object, decode(out.response.patch!)) as any;
    assert.deepEqual(patched.spec.template.spec.containers[0].resources, { requests: { cpu: '250m', memory: '512Mi', 'ephemeral-storage': '1Gi' }, limits: { cpu: '250m', memory: '512Mi', 'ephemeral-storage': '1Gi' } });
    assert.equal(patched.metadata.namespace, undefined, 'the namespace comes from the request and is not patched in');
    assert.equal(patched.metadata.annotations[ANNOTATION_WARDEN_VERSION], '2.7.41');
    assert.deepEqual(JSON.parse(patched.metadata.annotations[ANNOTATION_ADJUSTMENT]), {
      input: { containers: [{ requests: { cpu: '100m', memory: '128Mi' }, name: 'web' }] },
      output: { containers: [{ limits: { cpu: '250m', memory: '512Mi', 'ephemeral-storage': '1Gi' }, requests: { cpu: '250m', memory: '512Mi', 'ephemeral-storage': '1Gi' }, name: 'web' }] },
      modified: true,
    });
    assert.deepEqual(patched.spec.replicas, 2, 'the rest is untouched');
  });

  it('the mutator leaves resources alone when Autopilot would, and only adds the Warden version', () => {
    const object = deployment({ requests: { cpu: '500m', memory: '1Gi', 'ephemeral-storage': '1Gi' }, limits: { cpu: '500m', memory: '1Gi', 'ephemeral-storage': '1Gi' } });
    const out = mutate(review(object), { bursting: false });
    assert.equal(out.response.warnings, undefined);
    assert.deepEqual(decode(out.response.patch!), [{ op: 'add', path: '/metadata/annotations', value: { [ANNOTATION_WARDEN_VERSION]: '2.7.41' } }]);
  });

  it('objects without a pod template pass through untouched', () => {
    for (const object of [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }, null]) {
      assert.deepEqual(mutate(review(object)).response, { uid: 'uid-1', allowed: true });
      assert.deepEqual(validate(review(object)).response, { uid: 'uid-1', allowed: true });
    }
  });

  it('Warden: a privileged pod is denied with GKE\'s text (the API server adds the webhook prefix) and reason', () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bad' }, spec: { containers: [{ name: 'app', image: 'x', securityContext: { privileged: true } }] } };
    const out = validate(review(pod, { userInfo: { username: 'alice', groups: ['dev', 'system:authenticated'] } }));
    assert.equal(out.response.allowed, false);
    assert.deepEqual(out.response.status, {
      code: 403, reason: WARDEN_REASON,
      message: 'GKE Warden rejected the request because it violates one or more constraints.\nViolations details: {"[denied by autogke-disallow-privilege]":["container app is privileged; not allowed in Autopilot"]}\nRequested by user: \'alice\', groups: \'dev,system:authenticated\'.',
    });
    assert.equal(validate(review(deployment({}))).response.allowed, true);
  });

  it('a body that is not an AdmissionReview is an error, not an answer', () => {
    assert.throws(() => mutate({ kind: 'AdmissionReview' }), /request\.uid is missing/);
  });
});

describe('webhook configurations', () => {
  it('are scoped to the managed namespaces by name, never kube-system, Fail, no side effects, short timeout', () => {
    const [m, v] = configurations('devloop-autopilot-1', 'https://127.0.0.1:4443', 'PEM', ['b', 'kube-system', 'a', 'gke-managed-system'], { 'devloop.dev/session': '1' }) as any[];
    assert.equal(m.kind, 'MutatingWebhookConfiguration');
    assert.equal(v.kind, 'ValidatingWebhookConfiguration');
    assert.equal(v.webhooks[0].name, WARDEN_WEBHOOK);
    for (const c of [m, v]) {
      assert.equal(c.metadata.labels['devloop.dev/webhook'], 'autopilot');
      const w = c.webhooks[0];
      assert.deepEqual(w.namespaceSelector, { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['a', 'b'] }] });
      assert.equal(w.failurePolicy, 'Fail');
      assert.equal(w.sideEffects, 'None');
      assert.ok(w.timeoutSeconds <= 5);
      assert.equal(w.clientConfig.caBundle, Buffer.from('PEM').toString('base64'));
    }
    assert.equal(m.webhooks[0].clientConfig.url, 'https://127.0.0.1:4443/mutate');
    assert.equal(v.webhooks[0].clientConfig.url, 'https://127.0.0.1:4443/validate');
    assert.ok(!registrable('kube-system') && !registrable('kube-public') && registrable('team-a'));
  });
});

describe('the https server', () => {
  it('answers AdmissionReviews over TLS with its own CA on 127.0.0.1, and refuses what is not one', async () => {
    const certs = await makeCerts();
    const server = await listen(certs, { bursting: false });
    const { address, port } = server.address() as AddressInfo;
    assert.equal(address, '127.0.0.1');
    const post = (path: string, body: string) => new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port, path, method: 'POST', ca: certs.ca, headers: { 'Content-Type': 'application/json' } }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ status: res.statusCode!, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    });
    try {
      const ok = await post('/mutate?timeout=5s', JSON.stringify(review(deployment({ requests: { cpu: '100m', memory: '128Mi' } }))));
      assert.equal(ok.status, 200);
      const answer = JSON.parse(ok.body);
      assert.equal(answer.response.uid, 'uid-1');
      assert.match(answer.response.warnings[0], /^autopilot-default-resources-mutator:Autopilot updated Deployment team-a\/web: adjusted resources/);
      const denied = JSON.parse((await post('/validate', JSON.stringify(review({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { hostNetwork: true, containers: [{ name: 'c', image: 'x' }] } })))).body);
      assert.equal(denied.response.allowed, false);
      assert.match(denied.response.status.message, /\[denied by autogke-disallow-hostnamespaces\]":\["enabling hostNetwork is not allowed in Autopilot\."\]/);
      assert.equal((await post('/mutate', 'not json')).status, 400);
      assert.equal((await post('/mutate', '{"request":{}}')).status, 400);
      assert.equal((await post('/other', JSON.stringify(review(null)))).status, 404);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});
