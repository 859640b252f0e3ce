import assert from 'node:assert/strict';
import { test } from 'node:test';
import { podSelectors, shortPodName, sortableTime, splitTimestamp } from './logs.js';

test('timestamps with fractions of different lengths compare in time order as strings', () => {
  // RFC3339Nano drops trailing zeros: ".5Z" is later than ".123456789Z" though it sorts before it raw.
  assert.ok(sortableTime('2026-01-01T00:00:00.5Z') > sortableTime('2026-01-01T00:00:00.123456789Z'));
  assert.ok(sortableTime('2026-01-01T00:00:01Z') > sortableTime('2026-01-01T00:00:00.999999999Z'));
  assert.equal(sortableTime('2026-01-01T00:00:00.12Z'), '2026-01-01T00:00:00.120000000Z');
});

test('a log line is split into its timestamp and its text; a line without one has none', () => {
  assert.deepEqual(splitTimestamp('2026-01-01T00:00:00.1Z hello world'), ['2026-01-01T00:00:00.100000000Z', 'hello world']);
  assert.deepEqual(splitTimestamp('2026-01-01T00:00:00Z '), ['2026-01-01T00:00:00.000000000Z', '']);
  assert.deepEqual(splitTimestamp('unable to retrieve container logs for containerd://x'), [undefined, 'unable to retrieve container logs for containerd://x']);
});

test('a pod is named by its ReplicaSet hash and suffix, or by its own name', () => {
  assert.equal(shortPodName({ metadata: { name: 'web-5d8f7c9b4-x2x7q', generateName: 'web-5d8f7c9b4-' } }), '5d8f7c9b4-x2x7q');
  assert.equal(shortPodName({ metadata: { name: 'db-0' } }), 'db-0');
  assert.equal(shortPodName({ metadata: { name: 'job-abcde', generateName: 'job-' } }), 'abcde');
});

test('the pods of what was applied are found by the workloads\' selectors, once each', () => {
  const dep = (name: string, ns?: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns }, spec: { selector: { matchLabels: { app: 'web', tier: 'fe' } } } });
  assert.deepEqual(podSelectors([
    dep('a', 'n1'), dep('b', 'n1'), dep('c'),
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { selector: { app: 'web' } } },
    { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'n1', labels: { run: 'p' } } },
  ] as never), [
    { namespace: 'n1', selector: 'app=web,tier=fe' },
    { namespace: 'default', selector: 'app=web,tier=fe' },
    { namespace: 'n1', selector: 'run=p' },
  ]);
});
