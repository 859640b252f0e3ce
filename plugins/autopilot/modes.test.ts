import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gkeSpec, PLACEMENT_ANNOTATION, placeForMode, SIMULATED_NODE_LABEL } from './modes.js';
import type { K8sObject, PodSpec } from './types.js';

const pod = (spec: PodSpec): K8sObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec });

describe('placeForMode', () => {
  it('simulate: the pod selects the provisioned nodes of its own session, once', () => {
    const p = pod({ nodeSelector: { 'cloud.google.com/gke-spot': 'true' }, containers: [{ name: 'c' }] });
    assert.equal(placeForMode(p, 'simulate', { 'devloop.dev/session': '123' }), 'placed on the simulated Autopilot nodes only');
    assert.deepEqual((p.spec as PodSpec).nodeSelector, { 'cloud.google.com/gke-spot': 'true', [SIMULATED_NODE_LABEL]: 'true', 'devloop.dev/session': '123' });
    assert.equal(placeForMode(p, 'simulate', { 'devloop.dev/session': '123' }), undefined, 'already placed');
    assert.deepEqual(gkeSpec(p).nodeSelector, { 'cloud.google.com/gke-spot': 'true' }, 'GKE sees the pod as written');
  });

  it('run: GKE placement moves into the annotation and comes back through gkeSpec; arch stays', () => {
    const p = pod({ nodeSelector: { 'cloud.google.com/compute-class': 'Scale-Out', 'kubernetes.io/arch': 'arm64' }, containers: [{ name: 'c' }] });
    assert.ok(placeForMode(p, 'run'));
    assert.deepEqual((p.spec as PodSpec).nodeSelector, { 'kubernetes.io/arch': 'arm64' });
    assert.ok(p.metadata!.annotations![PLACEMENT_ANNOTATION]);
    assert.equal(gkeSpec(p).nodeSelector?.['cloud.google.com/compute-class'], 'Scale-Out');
  });

  it('leaves objects that are not Pods alone', () => {
    const d: K8sObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: {} };
    assert.equal(placeForMode(d, 'simulate'), undefined);
  });
});
