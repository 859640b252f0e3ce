import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fieldIssues, formatPath } from './validate.js';

const deployment = (spec: unknown) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec }) as never;
const withRequests = (requests: unknown) => deployment({ replicas: 1, template: { spec: { containers: [{ name: 'a', resources: { requests } }] } } });

test('a valid workload and non-workloads have no issues', () => {
  assert.deepEqual(fieldIssues(withRequests({ cpu: '500m', memory: '1Gi', 'ephemeral-storage': 1e9 })), []);
  assert.deepEqual(fieldIssues({ apiVersion: 'v1', kind: 'ConfigMap', data: { a: '-1' } } as never), []);
});

test('negative and unparsable quantities, as the API server words them', () => {
  const issues = fieldIssues(withRequests({ cpu: '-1', memory: 'lots', gpu: { a: 1 } }));
  assert.deepEqual(issues.map((i) => formatPath(i.path)), [
    'spec.template.spec.containers[0].resources.requests.cpu',
    'spec.template.spec.containers[0].resources.requests.memory',
    'spec.template.spec.containers[0].resources.requests.gpu',
  ]);
  assert.equal(issues[0].message, 'Invalid value: "-1": must be greater than or equal to 0');
  assert.match(issues[1].message, /^Invalid value: "lots": quantities must match/);
  assert.equal(issues[2].message, 'expected a quantity such as 500m or 1Gi, got a mapping');
});

test('replicas, parallelism and completions are whole numbers >= 0', () => {
  assert.equal(fieldIssues(deployment({ replicas: -1 }))[0].message, 'Invalid value: -1: must be greater than or equal to 0');
  assert.equal(fieldIssues(deployment({ replicas: 1.5 }))[0].message, 'expected a whole number, got number 1.5');
  const job = { kind: 'CronJob', spec: { jobTemplate: { spec: { parallelism: -3, template: { spec: { containers: [] } } } } } } as never;
  assert.deepEqual(fieldIssues(job).map((i) => formatPath(i.path)), ['spec.jobTemplate.spec.parallelism']);
});

test('specs, templates and containers of the wrong shape', () => {
  assert.equal(formatPath(fieldIssues(deployment([]))[0].path), 'spec');
  assert.equal(fieldIssues({ kind: 'Pod', spec: { containers: { name: 'a' } } } as never)[0].message, 'expected a list of containers, got a mapping');
  assert.equal(fieldIssues({ kind: 'Pod', spec: { initContainers: ['x'] } } as never)[0].message, 'expected a container (a mapping), got string "x"');
  assert.equal(formatPath(fieldIssues(deployment({ template: 'x' }))[0].path), 'spec.template');
});
