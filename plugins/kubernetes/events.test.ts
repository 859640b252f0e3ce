import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventLines, type EventLike } from './events.js';

const ev = (kind: string, name: string, reason: string, at: string, over: Partial<EventLike> = {}): EventLike => ({
  type: 'Normal', reason, message: `${reason} happened`, involvedObject: { kind, name, namespace: 'ns' }, lastTimestamp: at, ...over,
});

test('events of the applied objects and of the pods and ReplicaSets they own, oldest first, the last few only', () => {
  const applied = [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', namespace: 'ns' }, { apiVersion: 'v1', kind: 'Service', name: 'web', namespace: 'ns' }];
  const events = [
    ev('Pod', 'web-7d9f-x2', 'BackOff', '2026-01-01T10:00:05Z', { type: 'Warning', message: 'Back-off restarting\n failed container', count: 3 }),
    ev('Deployment', 'web', 'ScalingReplicaSet', '2026-01-01T10:00:01Z'),
    ev('ReplicaSet', 'web-7d9f', 'SuccessfulCreate', '2026-01-01T10:00:02Z'),
    ev('Pod', 'webhook-1', 'Pulled', '2026-01-01T10:00:03Z'), // another workload: "webhook" is not "web-"
    ev('Pod', 'api-1', 'Pulled', '2026-01-01T10:00:04Z'),
    ev('Service', 'other', 'Created', '2026-01-01T10:00:04Z'),
  ];
  const lines = eventLines(events, applied);
  assert.equal(lines.length, 3, lines.join('\n'));
  assert.match(lines[0], /^\d\d:\d\d:\d\d Normal ScalingReplicaSet deployment\/web: ScalingReplicaSet happened$/);
  assert.match(lines[1], / Normal SuccessfulCreate replicaset\/web-7d9f: /);
  assert.match(lines[2], / Warning BackOff pod\/web-7d9f-x2: Back-off restarting failed container \(x3\)$/);
  assert.equal(eventLines(events, applied, 1).length, 1, 'at most the number asked for');
  assert.match(eventLines(events, applied, 1)[0], /BackOff/, 'the newest kept');
});
