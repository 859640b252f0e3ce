import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { review } from './webhook.js';

describe('webhook', () => {
  it('answers an AdmissionReview with the mutated spec as a JSONPatch and the warnings', () => {
    const object = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' }, spec: { template: { spec: { containers: [{ name: 'app', resources: { requests: { cpu: '200m', memory: '2Gi' } } }] } } } };
    const out = review({ request: { uid: 'u1', object } });
    assert.equal(out.response.uid, 'u1');
    assert.equal(out.response.allowed, true);
    assert.equal(out.response.warnings?.length, 1);
    const patch = JSON.parse(Buffer.from(out.response.patch!, 'base64').toString());
    assert.equal(patch[0].op, 'replace');
    assert.equal(patch[0].path, '/spec');
    assert.equal(patch[0].value.template.spec.containers[0].resources.requests.cpu, '308m');
  });

  it('denies with 403 and Warden text naming the requester', () => {
    const object = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', securityContext: { privileged: true } }] } };
    const out = review({ request: { uid: 'u2', object, userInfo: { username: 'dev@example.com', groups: ['system:authenticated'] } } });
    assert.equal(out.response.allowed, false);
    assert.equal(out.response.status?.code, 403);
    assert.match(out.response.status!.message, /\nRequested by user: 'dev@example\.com', groups: 'system:authenticated'\.$/);
  });

  it('sends no patch when nothing changes', () => {
    const out = review({ request: { uid: 'u3', object: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [] } } } });
    assert.deepEqual(out.response, { uid: 'u3', allowed: true });
  });
});
