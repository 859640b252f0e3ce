import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEV_TRACE_SAMPLING, TRACE_SAMPLING } from './data.js';
import { TraceSampler } from './trace-sampling.js';

/** How many of `n` requests, spread evenly over `seconds`, are traced. */
function traced(s: TraceSampler, clock: { t: number }, n: number, seconds: number, forced: boolean, instances = 1): number {
  let count = 0;
  for (let i = 0; i < n; i++) {
    clock.t += (seconds * 1000) / n;
    if (s.sample(forced, instances)) count++;
  }
  return count;
}

describe('TraceSampler', () => {
  it('parity: Cloud Run\'s 0.1 traces/s per instance, and 10/s per instance for forced ones', () => {
    const clock = { t: 0 };
    const s = new TraceSampler('parity', () => clock.t);
    assert.equal(traced(s, clock, 1000, 100, false), 100 * TRACE_SAMPLING.perInstancePerSecond);
    assert.equal(traced(s, clock, 1000, 100, false, 3), 100 * TRACE_SAMPLING.perInstancePerSecond * 3);
    assert.ok(Math.abs(traced(s, clock, 5000, 100, true) - 100 * TRACE_SAMPLING.forcedPerInstancePerSecond) <= 10);
  });

  it('dev: a request now and then is always traced; a flood is held to the dev rate', () => {
    const clock = { t: 0 };
    const s = new TraceSampler('dev', () => clock.t);
    assert.equal(traced(s, clock, 10, 10, false), 10, 'one a second: every one');
    const flood = traced(s, clock, 10_000, 10, false);
    assert.ok(flood <= DEV_TRACE_SAMPLING.perSecond * 10 + DEV_TRACE_SAMPLING.perSecond && flood >= DEV_TRACE_SAMPLING.perSecond * 10 - 1, String(flood));
  });
});
