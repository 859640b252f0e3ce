import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { podCount, podTemplate } from './workload.js';

describe('workload', () => {
  it('counts the pods each kind runs', () => {
    assert.equal(podCount({ kind: 'Deployment', spec: { replicas: 3 } }), 3);
    assert.equal(podCount({ kind: 'Deployment', spec: {} }), 1);
    assert.equal(podCount({ kind: 'StatefulSet', spec: { replicas: 0 } }), 0);
    assert.equal(podCount({ kind: 'Job', spec: { parallelism: 4, completions: 2 } }), 2);
    assert.equal(podCount({ kind: 'CronJob', spec: { jobTemplate: { spec: { parallelism: 2 } } } }), 2);
    assert.equal(podCount({ kind: 'DaemonSet', spec: {} }), 1);
  });

  it('finds no template in non-workloads or templates without containers', () => {
    assert.equal(podTemplate({ kind: 'Service', spec: {} }), undefined);
    assert.equal(podTemplate({ kind: 'Deployment', spec: { template: { spec: {} } } }), undefined);
  });
});
