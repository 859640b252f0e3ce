import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admit } from './admission.js';
import { NODE_BILLED_PREMIUM } from './data.js';
import { estimate, usd } from './estimate.js';
import { machineHourly } from './machines.js';
import { MACHINES } from './data.js';

const deployment = (replicas: number, nodeSelector: Record<string, string> = {}, resources: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web' },
  spec: { replicas, template: { spec: { nodeSelector, containers: [{ name: 'app', resources }] } } },
});

describe('estimate', () => {
  // The vCPU and memory rates written out here ($0.0445, $0.0049225; Spot $0.0133, $0.0014767) are GKE's us-central1
  // general-purpose prices from /work/shared/reference/autopilot.md "Pricing"; the ephemeral-storage rate ($0.0000548) is
  // data.ts's *verify* value, so that part only checks the arithmetic.
  it('general-purpose defaults: 0.5 vCPU x $0.0445 + 2 GiB x $0.0049225 + 1 GiB x $0.0000548, per replica (GKE vCPU/memory rates; ephemeral: arithmetic over data.ts)', { timeout: 30_000 }, () => {
    const r = admit(deployment(2));
    assert.deepEqual(estimate(r, 2, 'us-central1'), {
      vcpu: 1, memoryGiB: 4, usdPerHour: usd(2 * (0.5 * 0.0445 + 2 * 0.0049225 + 1 * 0.0000548)), pods: 2, billing: 'pod', machineType: undefined, spot: false, priceRegion: 'us-central1',
    });
  });

  it('Spot uses the Spot rates (GKE vCPU/memory rates; ephemeral: arithmetic over data.ts)', { timeout: 30_000 }, () => {
    const r = admit(deployment(1, { 'cloud.google.com/gke-spot': 'true' }));
    assert.equal(estimate(r, 1, 'us-central1')!.usdPerHour, usd(0.5 * 0.0133 + 2 * 0.0014767 + 1 * 0.0000548));
  });

  it('GPU pods are priced by the node they get: the VM plus the premium (arithmetic over data.ts)', { timeout: 30_000 }, () => {
    const r = admit(deployment(1, { 'cloud.google.com/gke-accelerator': 'nvidia-tesla-a100' }, { limits: { 'nvidia.com/gpu': 1 } }));
    const e = estimate(r, 1, 'us-central1')!;
    assert.equal(e.billing, 'node');
    assert.equal(e.machineType, 'a2-highgpu-1g');
    assert.equal(e.usdPerHour, usd(machineHourly('a2', MACHINES.a2.shapes[0], false) * (1 + NODE_BILLED_PREMIUM)));
  });

  it('a region without a price table is priced at us-central1 and says so', () => {
    assert.equal(estimate(admit(deployment(1)), 1, 'europe-west1')!.priceRegion, 'us-central1');
  });

  it('objects without pods have no estimate', () => {
    assert.equal(estimate(admit({ kind: 'Service', metadata: { name: 's' } }), 1, 'us-central1'), undefined);
  });
});
