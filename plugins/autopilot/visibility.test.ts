import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adjustmentReasons, autopilotExtra, describePod, type NodeInfo } from './visibility.js';

const pod = (over: { nodeName?: string; requests?: Record<string, string>; conditions?: { type: string; status: string; reason?: string; message?: string }[] } = {}) => ({
  metadata: { name: 'batch-1', namespace: 'ns', uid: 'u1' },
  spec: {
    nodeName: over.nodeName,
    nodeSelector: { 'cloud.google.com/gke-spot': 'true' },
    tolerations: [{ key: 'cloud.google.com/gke-spot', operator: 'Equal' as const, value: 'true', effect: 'NoSchedule' as const }],
    containers: [{ name: 'c', image: 'pause', resources: { requests: over.requests ?? { cpu: '250m', memory: '512Mi' }, limits: over.requests ?? { cpu: '250m', memory: '512Mi' } } }],
  },
  status: { phase: over.nodeName ? 'Running' : 'Pending', conditions: over.conditions },
});

const spotNode: NodeInfo = { name: 'gk3-sim-nap-1-abcd', computeClass: undefined, spot: true, machineType: 'e2-standard-2' };

describe('Autopilot details lines', () => {
  it('a pod on a Spot node: node, class, Spot, admitted requests and a Spot price', () => {
    const view = describePod(pod({ nodeName: spotNode.name }), new Map([[spotNode.name, spotNode]]), undefined, {});
    assert.deepEqual(view.containers, ['c cpu=250m memory=512Mi']);
    assert.equal(view.node?.name, spotNode.name);
    assert.ok(view.usdPerHour > 0 && view.usdPerHour < 0.05, String(view.usdPerHour));
    const onDemand = describePod({ ...pod({ nodeName: 'n' }), spec: { ...pod().spec, nodeName: 'n', nodeSelector: {}, tolerations: [] } }, new Map(), undefined, {});
    assert.ok(view.usdPerHour < onDemand.usdPerHour, `Spot ${view.usdPerHour} is cheaper than on-demand ${onDemand.usdPerHour}`);
    const extra = autopilotExtra([view], []);
    assert.deepEqual(extra.details, [
      `pod batch-1 on ${spotNode.name} (general-purpose, e2-standard-2, Spot) · $${view.usdPerHour.toFixed(4)}/h`,
      '  admitted c cpu=250m memory=512Mi',
      'adjusted: nothing (requests admitted as written)',
    ]);
    assert.equal(extra.spot, true);
    assert.deepEqual(extra.nodes, [spotNode.name]);
    assert.equal(extra.usdPerHour, view.usdPerHour);
  });

  it('a pending pod: the provisioner\'s reason, else the scheduler\'s, and no cost', () => {
    const planned = describePod(pod(), new Map(), 'node provisioning, up in ~5s (gk3-x, e2-standard-2)', {});
    assert.equal(planned.usdPerHour, 0);
    const unsched = describePod(pod({ conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/1 nodes are available' }] }), new Map(), undefined, {});
    const extra = autopilotExtra([planned, unsched], []);
    assert.deepEqual(extra.pending, ['batch-1: node provisioning, up in ~5s (gk3-x, e2-standard-2)', 'batch-1: Unschedulable: 0/1 nodes are available']);
    assert.equal((extra.details as string[])[0], 'pod batch-1 pending: node provisioning, up in ~5s (gk3-x, e2-standard-2)');
    assert.equal(extra.running, 0);
    assert.equal(extra.usdPerHour, 0);
  });

  it('the reasons for the changes recorded in the resource-adjustment annotation', () => {
    // GKE's shape: limits/requests/name per container, no `resources` level.
    const annotation = JSON.stringify({ input: { containers: [{ requests: { cpu: '10m' }, name: 'c' }] }, output: {}, modified: true });
    const reasons = adjustmentReasons(pod({ requests: { cpu: '50m', memory: '52Mi' } }), annotation, {});
    assert.ok(reasons.length > 0);
    assert.ok(reasons.some((r) => r.startsWith('c requests.memory unset → ')), reasons.join('\n'));
    assert.ok(reasons.some((r) => r.startsWith('c requests.cpu 10m → ')), reasons.join('\n'));
    assert.deepEqual(adjustmentReasons(pod(), undefined, {}), []);
    // One details line per change: the reasons themselves contain `;`.
    assert.deepEqual(autopilotExtra([], reasons).details, reasons.map((r) => `adjusted: ${r}`));
  });
});
