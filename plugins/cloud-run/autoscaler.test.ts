import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Autoscaler, type ScaleBounds, type ScaleDecision } from './autoscaler.js';
import type { ScalingSettings } from './types.js';

/** The parity preset's numbers, written out here (data.ts is written separately). */
const PARITY: ScalingSettings = {
  targetUtilization: 0.6,
  stableWindowMs: 60000,
  panicWindowMs: 6000,
  panicThreshold: 2,
  tickMs: 2000,
  idleTimeoutMs: 900000,
  scaleToZeroAfterMs: 90000,
  queueWaitMinMs: 10000,
  queueWaitStartupFactor: 3.5,
  shutdownGraceSeconds: 10,
};

const bounds = (b: Partial<ScaleBounds> = {}): ScaleBounds => ({ minScale: 0, maxScale: 100, containerConcurrency: 80, ...b });

/** Decides every tick from `from` to `to` (inclusive), the revision always having what was last decided, ready. */
function run(a: Autoscaler, from: number, to: number, ready: number): { last: ScaleDecision; all: ScaleDecision[] } {
  const all: ScaleDecision[] = [];
  for (let t = from; t <= to; t += PARITY.tickMs) {
    const d = a.decide(t, { ready, starting: 0 });
    all.push(d);
    ready = d.desired;
  }
  return { last: all[all.length - 1], all };
}

describe('cloud-run autoscaler', () => {
  it('steady load of 30 concurrent with cc 10 at 0.6 wants 5, without panic', () => {
    const a = new Autoscaler(PARITY, bounds({ containerConcurrency: 10 }));
    a.requestArrived(0);
    a.record(0, 30);
    for (let t = 0; t <= 120000; t += 2000) {
      const d = a.decide(t, { ready: 5, starting: 0 });
      assert.equal(d.desired, 5, `at ${t} ms: ${d.reason}`);
      assert.equal(d.panic, false);
      assert.equal(d.stableConcurrency, 30);
    }
    assert.match(a.decide(120000, { ready: 5, starting: 0 }).reason, /^keeping 5 instances: 30\.0 requests in flight on average over the last 60 s, at 6 per instance \(concurrency 10 at the 60% target\)$/);
  });

  it('a fresh revision sees its first load at full strength, not diluted by the window', () => {
    const a = new Autoscaler(PARITY, bounds({ containerConcurrency: 10 }));
    a.record(0, 30);
    const d = a.decide(2000, { ready: 5, starting: 0 });
    assert.equal(d.stableConcurrency, 30);
    assert.equal(d.desired, 5);
  });

  it('a burst of 200 from zero with cc 1 and maxScale 10 wants 10 at once, in panic', () => {
    const a = new Autoscaler(PARITY, bounds({ containerConcurrency: 1, maxScale: 10 }));
    for (let i = 1; i <= 200; i++) {
      a.requestArrived(0);
      a.record(0, i);
    }
    const d = a.decide(0, { ready: 0, starting: 0 });
    assert.equal(d.desired, 10);
    assert.equal(d.panic, true);
    assert.equal(d.panicConcurrency, 200);
    assert.match(d.reason, /^scaling up to 10 instances, the maxScale, though 334 would be wanted: 200\.0 requests in flight over the last 1 s, 0 instances ready \(panic mode: demand reached 2x what the ready instances take; no scaling down until it calms for 60 s\)$/);
  });

  it('a long quiet period of recorded zeros is history: the stable window is diluted, panic still fires', () => {
    const a = new Autoscaler(PARITY, bounds({ containerConcurrency: 1 }));
    a.record(0, 0);
    assert.equal(a.decide(2000, { ready: 1, starting: 0 }).desired, 0); // no request ever: nothing keeps it
    a.requestArrived(300000);
    a.record(300000, 20);
    const d = a.decide(300000, { ready: 1, starting: 0 });
    assert.ok(Math.abs(d.stableConcurrency - 20 / 60) < 1e-9, String(d.stableConcurrency));
    assert.ok(Math.abs(d.panicConcurrency - 20 / 6) < 1e-9, String(d.panicConcurrency));
    assert.equal(d.panic, true);
    assert.equal(d.desired, 6); // ceil((20 / 6) / 0.6)
  });

  it('does not scale down during panic, and leaves panic after a whole quiet stable window', () => {
    const a = new Autoscaler(PARITY, bounds({ containerConcurrency: 1 }));
    a.requestArrived(0);
    a.record(0, 30);
    const first = a.decide(0, { ready: 1, starting: 0 });
    assert.equal(first.panic, true);
    assert.equal(first.desired, 50); // ceil(30 / 0.6)
    a.record(2000, 0);
    // The load is gone, but panic holds the count for a stable window after the last panic tick.
    const during = run(a, 2000, 58000, 50);
    for (const d of during.all) {
      assert.equal(d.panic, true, d.reason);
      assert.equal(d.desired, 50, d.reason);
    }
    const after = a.decide(60000, { ready: 50, starting: 0 });
    assert.equal(after.panic, false);
    // Stable window: buckets 1..60 hold 30 once, so 0.5 concurrent wants 1, but halving limits it to 25.
    assert.equal(after.desired, 25);
    assert.match(after.reason, /^scaling down to 25 instances: at most half of the 50 instances ready stop at once; /);
  });

  it('panic never lowers the count even when the panic window wants fewer', () => {
    const a = new Autoscaler(PARITY, bounds({ containerConcurrency: 1 }));
    a.requestArrived(0);
    a.record(0, 30);
    assert.equal(a.decide(0, { ready: 1, starting: 0 }).desired, 50);
    a.record(1000, 12); // wants 20 by itself: still over threshold against 1 ready
    const d = a.decide(2000, { ready: 1, starting: 0 });
    assert.equal(d.panic, true);
    assert.equal(d.desired, 50);
  });

  it('scale-down outside panic at most halves the ready instances per decision', () => {
    const a = new Autoscaler(PARITY, bounds({ containerConcurrency: 10 }));
    a.requestArrived(0);
    a.record(0, 6); // wants 1
    const seq = [8, 4, 2].map((ready, i) => a.decide(60000 + i * 2000, { ready, starting: 0 }));
    assert.deepEqual(seq.map((d) => d.desired), [4, 2, 1]);
    assert.deepEqual(seq.map((d) => d.panic), [false, false, false]);
    assert.match(seq[0].reason, /^scaling down to 4 instances: at most half of the 8 instances ready stop at once/);
    assert.match(seq[2].reason, /^scaling down to 1 instance: 6\.0 requests in flight on average/);
  });

  it('scales to zero only after scaleToZeroAfterMs without requests', () => {
    const a = new Autoscaler(PARITY, bounds({ containerConcurrency: 10 }));
    a.requestArrived(0);
    a.record(0, 1);
    a.record(500, 0);
    assert.equal(a.decide(30000, { ready: 1, starting: 0 }).desired, 1);
    const afterWindow = a.decide(61000, { ready: 1, starting: 0 });
    assert.equal(afterWindow.stableConcurrency, 0);
    assert.equal(afterWindow.desired, 1);
    assert.match(afterWindow.reason, /^keeping 1 instance: the last request came 61 s ago; scaling to zero after 90 s without one$/);
    assert.equal(a.decide(89999, { ready: 1, starting: 0 }).desired, 1);
    const zero = a.decide(90000, { ready: 1, starting: 0 });
    assert.equal(zero.desired, 0);
    assert.equal(zero.reason, 'scaling to zero: no request for 90 s');
  });

  it('a request keeps the instance again and a queued one scales from zero at once', () => {
    const a = new Autoscaler(PARITY, bounds({ containerConcurrency: 10 }));
    a.record(0, 0);
    assert.equal(a.decide(200000, { ready: 0, starting: 0 }).desired, 0);
    a.requestArrived(200500);
    a.record(200500, 1);
    const d = a.decide(200500, { ready: 0, starting: 0 });
    assert.equal(d.desired, 1);
    assert.equal(d.panic, false);
  });

  it('never goes below minScale, even idle', () => {
    const a = new Autoscaler(PARITY, bounds({ minScale: 2 }));
    const d = a.decide(0, { ready: 0, starting: 0 });
    assert.equal(d.desired, 2);
    assert.equal(d.reason, 'scaling up to 2 instances: minScale is 2');
    a.requestArrived(1000);
    a.record(1000, 1);
    a.record(2000, 0);
    assert.equal(a.decide(600000, { ready: 2, starting: 0 }).desired, 2);
  });

  it('never goes above maxScale, and follows setBounds', () => {
    const a = new Autoscaler(PARITY, bounds({ containerConcurrency: 10, maxScale: 3 }));
    a.requestArrived(0);
    a.record(0, 60); // wants 10; 6 ready keeps it out of panic
    const first = a.decide(0, { ready: 6, starting: 0 });
    assert.equal(first.desired, 3);
    assert.equal(first.panic, false);
    a.setBounds(bounds({ containerConcurrency: 10, maxScale: 2 }));
    const d = a.decide(2000, { ready: 6, starting: 0 });
    assert.equal(d.desired, 2);
    assert.match(d.reason, /^scaling down to 2 instances, the maxScale, though 10 would be wanted: /);
    a.setBounds(bounds({ containerConcurrency: 20, maxScale: 100 }));
    assert.equal(a.decide(4000, { ready: 6, starting: 0 }).desired, 5); // ceil(60 / 12)
  });

  it('weights concurrency by time within a bucket', () => {
    const a = new Autoscaler(PARITY, bounds({ containerConcurrency: 10 }));
    a.record(0, 10);
    a.record(500, 0);
    // Second 0: 10 for 0.5 s then 0 for 0.5 s averages 5.
    const within = a.decide(800, { ready: 1, starting: 0 });
    assert.equal(within.stableConcurrency, 5);
    assert.equal(within.panicConcurrency, 5);
    // Second 1 (0 so far, held) joins: (5 + 0) / 2.
    assert.equal(a.decide(1000, { ready: 1, starting: 0 }).stableConcurrency, 2.5);
    assert.equal(a.decide(1500, { ready: 1, starting: 0 }).stableConcurrency, 2.5);
  });

  it('history older than the window stops counting, and the ring stays one window long', () => {
    const a = new Autoscaler(PARITY, bounds({ containerConcurrency: 10 }));
    for (let t = 0; t < 3600000; t += 250) a.record(t, t < 60000 ? 30 : 0);
    const d = a.decide(3600000, { ready: 5, starting: 0 });
    assert.equal(d.stableConcurrency, 0);
    assert.equal(d.panicConcurrency, 0);
    assert.equal(a['ring'].length, 60);
  });

  it('the queue wait limit is max(10 s, 3.5 x average startup)', () => {
    const a = new Autoscaler(PARITY, bounds());
    assert.equal(a.averageStartupMs(), undefined);
    assert.equal(a.queueWaitLimitMs(), 10000);
    a.recordStartup(1000);
    assert.equal(a.queueWaitLimitMs(), 10000);
    a.recordStartup(5000);
    assert.equal(a.averageStartupMs(), 3000);
    assert.equal(a.queueWaitLimitMs(), 10500);
  });
});
