import assert from 'node:assert/strict';
import { it } from 'node:test';
import { CpuMeter, cpuDesired } from './cpu-meter.js';

it('averages vCPU used over the window, forgets gone instances, and asks for instances against the target', () => {
  const meter = new CpuMeter(2000);
  let a = 0;
  let b = 0;
  const instances = () => [{ id: 'a', handle: { cpuSeconds: () => a } }, { id: 'b', handle: { cpuSeconds: () => b } }];
  assert.equal(meter.sample(0, instances()), 0, 'the first reading has nothing to compare with');
  a = 0.5; b = 0.25; // over 1 s: 0.5 + 0.25 vCPU
  assert.equal(meter.sample(1000, instances()), 0.75);
  a = 1.5; b = 0.25; // over the next second: 1.0 + 0
  assert.equal(meter.sample(2000, instances()), (0.75 + 1.0) / 2);
  assert.equal(meter.sample(5000, [{ id: 'c', handle: { cpuSeconds: () => undefined } }]), 0, 'old samples leave the window; unreadable CPU counts for nothing');
  assert.equal(cpuDesired(0.75, 1, 0.6), 2);
  assert.equal(cpuDesired(0.6, 1, 0.6), 1, 'exactly at the target');
  assert.equal(cpuDesired(0.005, 1, 0.6), 0, 'idle');
  assert.equal(cpuDesired(3, 2, 0.6), 3);
});
