import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cloudRunIssues } from './cloud-run.js';
import type { DevfileConfig } from './types.js';

const lines = async (config: DevfileConfig) => (await cloudRunIssues(config)).map((i) => `${i.path}: ${i.message}`);

test('inline cloudRun values are held to Cloud Run\'s bounds, each at its own field', async () => {
  assert.deepEqual(await lines({ services: { web: { port: 8080, cloudRun: { containerConcurrency: 1001, timeoutSeconds: 3601, maxScale: 2, minScale: 3 } } } }), [
    'services.web.cloudRun.containerConcurrency: must be from 1 to 1000, got 1001',
    'services.web.cloudRun.timeoutSeconds: must be from 1 to 3600 seconds, got 3601',
    'services.web.cloudRun.minScale: is 3, more than maxScale (2); lower minScale or raise maxScale',
  ]);
});

test('cpu and memory are checked together, and below one CPU concurrency must be 1', async () => {
  const got = await lines({ services: { web: { cloudRun: { cpu: '0.5', containerConcurrency: 10 } }, big: { cloudRun: { cpu: '1', memory: '8Gi' } } } });
  assert.equal(got.length, 2, got.join('\n'));
  assert.match(got[0], /^services\.web\.cloudRun\.containerConcurrency: must be 1 when cpu is below 1/);
  assert.match(got[1], /^services\.big\.cloudRun\.memory: 8Gi needs at least 2 CPU/);
});

test('values inside the bounds, and services without cloudRun, pass', async () => {
  assert.deepEqual(await lines({ services: { web: { port: 8080, cloudRun: { containerConcurrency: 1000, timeoutSeconds: 3600, minScale: 1, maxScale: 100, cpu: '2', memory: '8Gi' } }, other: { runtime: 'process' } } }), []);
});

test('beside a service.yaml only the overrides are checked, against their own bounds', async () => {
  // minScale alone: the file's maxScale is not known here, so it is not compared with a default.
  assert.deepEqual(await lines({ services: { web: { cloudRun: { service: 'service.yaml', minScale: 150 } } } }), []);
  assert.deepEqual(await lines({ services: { web: { cloudRun: { service: 'service.yaml', containerConcurrency: 5000 } } } }), [
    'services.web.cloudRun.containerConcurrency: must be from 1 to 1000, got 5000',
  ]);
  // A Devfile name longer than Cloud Run allows is the YAML's business when a file names the service.
  assert.deepEqual(await lines({ services: { ['a'.repeat(60)]: { cloudRun: { service: 'service.yaml', maxScale: 3 } } } }), []);
});
