/**
 * The dynamic batcher against a fake runner that records every batch it is given (pure logic, so
 * a fake runner is the real thing here). Assertions are on batch composition and on which rows
 * each caller got back, not on durations.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until, within } from '../../test/helpers.js';
import { Batcher, QueueFullError, type BatcherOptions } from './batcher.js';
import type { HostTensor } from './types.js';

interface Seen { rows: number; runner: number; inputs: HostTensor[] }

/** y = x*2 and z = [x, -x] per row, so a caller can tell its own rows from anyone else's. */
function doubling(seen: Seen[]): BatcherOptions['run'] {
  return async (inputs, runner) => {
    seen.push({ rows: inputs[0].shape[0], runner, inputs });
    const x = inputs[0].data as Float32Array;
    const z = new Float32Array(x.length * 2);
    x.forEach((v, i) => { z[2 * i] = v; z[2 * i + 1] = -v; });
    return [
      { name: 'y', datatype: 'FP32', shape: [...inputs[0].shape], data: x.map((v) => v * 2) },
      { name: 'z', datatype: 'FP32', shape: [inputs[0].shape[0], x.length * 2 / inputs[0].shape[0]], data: z },
    ];
  };
}

function fp32(values: number[], shape = [values.length]): HostTensor[] {
  return [{ name: 'x', datatype: 'FP32', shape, data: Float32Array.from(values) }];
}

function batcher(over: Partial<BatcherOptions> & Pick<BatcherOptions, 'run'>): Batcher {
  return new Batcher({ maxBatchSize: 32, maxBatchDelayMs: 20, maxQueue: 100, concurrency: 1, batchable: true, ...over });
}

/** A promise and its resolve, so a test decides when a fake run finishes. */
function gate(): { wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => { open = r; });
  return { wait, open };
}

const nextMacrotask = () => new Promise<void>((r) => setImmediate(r));

test('32 concurrent requests with maxBatchSize 32 run as one batch and each caller gets its own rows', async () => {
  const seen: Seen[] = [];
  const batches: [number, number][] = [];
  const b = batcher({ run: doubling(seen), onBatch: (rows, requests) => batches.push([rows, requests]) });
  const results = await Promise.all(Array.from({ length: 32 }, (_, i) => b.submit(fp32([i + 100]))));
  assert.deepEqual(seen.map((s) => s.rows), [32]);
  assert.deepEqual(Array.from(seen[0].inputs[0].data as Float32Array), Array.from({ length: 32 }, (_, i) => i + 100));
  assert.deepEqual(batches, [[32, 32]]);
  results.forEach((out, i) => {
    assert.deepEqual(out.map((t) => [t.name, t.shape]), [['y', [1]], ['z', [1, 2]]]);
    assert.deepEqual(Array.from(out[0].data as Float32Array), [(i + 100) * 2]);
    assert.deepEqual(Array.from(out[1].data as Float32Array), [i + 100, -(i + 100)]);
  });
});

test('maxBatchSize 8 splits 32 requests into 4 batches in arrival order', async () => {
  const seen: Seen[] = [];
  const b = batcher({ maxBatchSize: 8, run: doubling(seen) });
  const results = await Promise.all(Array.from({ length: 32 }, (_, i) => b.submit(fp32([i]))));
  assert.deepEqual(seen.map((s) => s.rows), [8, 8, 8, 8]);
  seen.forEach((s, k) => assert.deepEqual(Array.from(s.inputs[0].data as Float32Array), Array.from({ length: 8 }, (_, i) => k * 8 + i)));
  results.forEach((out, i) => assert.deepEqual(Array.from(out[0].data as Float32Array), [i * 2]));
});

test('incompatible requests are not merged, and none is reordered past another', async () => {
  const seen: Seen[] = [];
  const b = batcher({ run: doubling(seen) });
  const int32: HostTensor[] = [{ name: 'x', datatype: 'INT32', shape: [1, 2], data: Int32Array.from([7, 8]) }];
  const other: HostTensor[] = [{ name: 'w', datatype: 'FP32', shape: [1, 2], data: Float32Array.from([5, 6]) }];
  await Promise.all([
    b.submit(fp32([1, 2], [1, 2])), b.submit(fp32([3, 4], [1, 2])),
    b.submit(fp32([1, 2, 3], [1, 3])),   // other row width
    b.submit(fp32([9, 9], [1, 2])),       // compatible with the first two, but behind an incompatible one
    b.submit(int32), b.submit(other),
  ]);
  assert.deepEqual(seen.map((s) => [s.inputs[0].name, s.inputs[0].datatype, s.inputs[0].shape]), [
    ['x', 'FP32', [2, 2]], ['x', 'FP32', [1, 3]], ['x', 'FP32', [1, 2]], ['x', 'INT32', [1, 2]], ['w', 'FP32', [1, 2]],
  ]);
});

test('a 3-row request merged with 1-row requests gets its own 3 rows back; one larger than maxBatchSize runs alone', async () => {
  const seen: Seen[] = [];
  const b = batcher({ run: doubling(seen) });
  const [a, big, c, d] = await Promise.all([b.submit(fp32([1])), b.submit(fp32([10, 11, 12])), b.submit(fp32([20])), b.submit(fp32([30]))]);
  assert.deepEqual(seen.map((s) => s.rows), [6]);
  assert.deepEqual(Array.from(a[0].data as Float32Array), [2]);
  assert.deepEqual(big[0].shape, [3]);
  assert.deepEqual(Array.from(big[0].data as Float32Array), [20, 22, 24]);
  assert.deepEqual(big[1].shape, [3, 2]);
  assert.deepEqual(Array.from(big[1].data as Float32Array), [10, -10, 11, -11, 12, -12]);
  assert.deepEqual(Array.from(c[0].data as Float32Array), [40]);
  assert.deepEqual(Array.from(d[0].data as Float32Array), [60]);

  const seen2: Seen[] = [];
  const small = batcher({ maxBatchSize: 2, run: doubling(seen2) });
  const [one, three] = await Promise.all([small.submit(fp32([1])), small.submit(fp32([4, 5, 6]))]);
  assert.deepEqual(seen2.map((s) => s.rows), [1, 3]);
  assert.deepEqual(Array.from(one[0].data as Float32Array), [2]);
  assert.deepEqual(Array.from(three[0].data as Float32Array), [8, 10, 12]);
});

test('BigInt64Array and string (BYTES) inputs are concatenated and split back', async () => {
  const seen: HostTensor[][] = [];
  const b = batcher({
    run: async (inputs) => {
      seen.push(inputs);
      const [ids, text] = inputs;
      return [
        { name: 'ids2', datatype: 'INT64', shape: [...ids.shape], data: (ids.data as BigInt64Array).map((v) => v * 2n) },
        { name: 'upper', datatype: 'BYTES', shape: [...text.shape], data: (text.data as string[]).map((s) => s.toUpperCase()) },
      ];
    },
  });
  const req = (ids: bigint[], text: string[]): HostTensor[] => [
    { name: 'ids', datatype: 'INT64', shape: [ids.length / 2, 2], data: BigInt64Array.from(ids) },
    { name: 'text', datatype: 'BYTES', shape: [text.length], data: text },
  ];
  const [r1, r2] = await Promise.all([b.submit(req([1n, 2n], ['a'])), b.submit(req([3n, 4n, 5n, 2n ** 40n], ['b', 'c']))]);
  assert.equal(seen.length, 1);
  assert.ok(seen[0][0].data instanceof BigInt64Array);
  assert.deepEqual(seen[0][0].shape, [3, 2]);
  assert.deepEqual(seen[0][1].data, ['a', 'b', 'c']);
  assert.deepEqual(Array.from(r1[0].data as BigInt64Array), [2n, 4n]);
  assert.deepEqual(r1[1], { name: 'upper', datatype: 'BYTES', shape: [1], data: ['A'] });
  assert.deepEqual(r2[0].shape, [2, 2]);
  assert.deepEqual(Array.from(r2[0].data as BigInt64Array), [6n, 8n, 10n, 2n ** 41n]);
  assert.deepEqual(r2[1].data, ['B', 'C']);
});

test('inputs listed in another order still merge, aligned by name', async () => {
  const seen: HostTensor[][] = [];
  const b = batcher({ run: async (inputs) => { seen.push(inputs); return inputs.map((t) => ({ ...t, name: `${t.name}_out` })); } });
  const a: HostTensor = { name: 'a', datatype: 'INT32', shape: [1], data: Int32Array.from([1]) };
  const c: HostTensor = { name: 'c', datatype: 'INT32', shape: [1], data: Int32Array.from([3]) };
  const [r1, r2] = await Promise.all([
    b.submit([a, c]),
    b.submit([{ ...c, data: Int32Array.from([30]) }, { ...a, data: Int32Array.from([10]) }]),
  ]);
  assert.equal(seen.length, 1);
  assert.deepEqual(seen[0].map((t) => [t.name, Array.from(t.data as Int32Array)]), [['a', [1, 10]], ['c', [3, 30]]]);
  assert.deepEqual(r1.map((t) => Array.from(t.data as Int32Array)), [[1], [3]]);
  assert.deepEqual(r2.map((t) => Array.from(t.data as Int32Array)), [[10], [30]]);
});

test('a full queue rejects with QueueFullError naming its depth; the queued requests still run', async () => {
  const g = gate();
  const b = batcher({ batchable: false, maxQueue: 2, run: async (inputs) => { await g.wait; return inputs; } });
  const first = b.submit(fp32([1]));
  await until(() => b.running === 1, 2000, 'the first request to start');
  const queued = [b.submit(fp32([2])), b.submit(fp32([3]))];
  assert.equal(b.depth, 2);
  const err = await b.submit(fp32([4])).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof QueueFullError, `expected QueueFullError, got ${String(err)}`);
  assert.equal(err.depth, 2);
  assert.match(err.message, /queue is full: 2 requests waiting \(maxQueue 2\)/);
  assert.match(err.hint ?? '', /raise maxQueue/);
  g.open();
  const outs = await Promise.all([first, ...queued]);
  assert.deepEqual(outs.map((o) => (o[0].data as Float32Array)[0]), [1, 2, 3]);
});

test('a runner error rejects every request of that batch and only that batch', async () => {
  const boom = new Error('model exploded');
  const seen: number[][] = [];
  const b = batcher({
    maxBatchSize: 2,
    run: async (inputs) => {
      const xs = Array.from(inputs[0].data as Float32Array);
      seen.push(xs);
      if (xs.includes(-1)) throw boom;
      return inputs;
    },
  });
  const settled = await Promise.allSettled([b.submit(fp32([1])), b.submit(fp32([2])), b.submit(fp32([-1])), b.submit(fp32([4])), b.submit(fp32([5])), b.submit(fp32([6]))]);
  assert.deepEqual(seen, [[1, 2], [-1, 4], [5, 6]]);
  assert.deepEqual(settled.map((s) => s.status), ['fulfilled', 'fulfilled', 'rejected', 'rejected', 'fulfilled', 'fulfilled']);
  assert.equal((settled[2] as PromiseRejectedResult).reason, boom);
  assert.equal((settled[3] as PromiseRejectedResult).reason, boom);
});

test('a runner that throws synchronously fails only its batch too', async () => {
  const b = batcher({ batchable: false, run: (inputs) => { if ((inputs[0].data as Float32Array)[0] < 0) throw new Error('sync throw'); return Promise.resolve(inputs); } });
  const settled = await Promise.allSettled([b.submit(fp32([-1])), b.submit(fp32([2]))]);
  assert.deepEqual(settled.map((s) => s.status), ['rejected', 'fulfilled']);
});

test('concurrency 2 runs two batches at once on runners 0 and 1', async () => {
  const g = gate();
  const started: number[] = [];
  const b = batcher({ batchable: false, concurrency: 2, run: async (inputs, runner) => { started.push(runner); await g.wait; return inputs; } });
  const all = [b.submit(fp32([1])), b.submit(fp32([2])), b.submit(fp32([3]))];
  await until(() => started.length === 2, 2000, 'two batches to start');
  assert.equal(b.running, 2);
  assert.equal(b.depth, 1);
  assert.deepEqual([...started].sort(), [0, 1]);
  g.open();
  await Promise.all(all);
  assert.equal(started.length, 3);
  assert.ok(started[2] === 0 || started[2] === 1);
});

test('a model that does not keep the batch dimension: each request is rerun alone, merging stays off, one warning', async () => {
  const seen: number[] = [];
  const warnings: string[] = [];
  // Sums the batch into one row: merged rows would be wrong for every caller.
  const sum: BatcherOptions['run'] = async (inputs) => {
    const x = inputs[0].data as Float32Array;
    seen.push(inputs[0].shape[0]);
    return [{ name: 'total', datatype: 'FP32', shape: [1], data: Float32Array.of(x.reduce((a, v) => a + v, 0)) }];
  };
  const b = batcher({ run: sum, onWarn: (m) => warnings.push(m) });
  const outs = await Promise.all([b.submit(fp32([1])), b.submit(fp32([2])), b.submit(fp32([3]))]);
  assert.deepEqual(outs.map((o) => (o[0].data as Float32Array)[0]), [1, 2, 3]);
  assert.deepEqual(seen, [3, 1, 1, 1]);
  const later = await Promise.all([b.submit(fp32([4])), b.submit(fp32([5]))]);
  assert.deepEqual(later.map((o) => (o[0].data as Float32Array)[0]), [4, 5]);
  assert.deepEqual(seen, [3, 1, 1, 1, 1, 1]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /output "total" has shape \[1\] for a merged batch of 3 rows/);
});

test('close() rejects pending requests, lets the running batch finish, then refuses new work', async () => {
  const g = gate();
  const b = batcher({ batchable: false, run: async (inputs) => { await g.wait; return inputs; } });
  const running = b.submit(fp32([1]));
  await until(() => b.running === 1, 2000, 'the first request to start');
  const pending = [b.submit(fp32([2])), b.submit(fp32([3]))];
  let closed = false;
  const closing = b.close().then(() => { closed = true; });
  for (const p of pending) await assert.rejects(p, /model server is stopping/);
  assert.equal(b.depth, 0);
  await nextMacrotask();
  assert.equal(closed, false, 'close() resolved while a batch was still running');
  g.open();
  assert.deepEqual(Array.from((await running)[0].data as Float32Array), [1]);
  await closing;
  assert.equal(b.running, 0);
  await assert.rejects(b.submit(fp32([4])), /model server is stopping/);
});

test('idle() resolves once nothing is queued or running', async () => {
  const g = gate();
  const b = batcher({ maxBatchSize: 2, maxBatchDelayMs: 0, run: async (inputs) => { await g.wait; return inputs; } });
  await b.idle();
  const work = [1, 2, 3, 4, 5].map((v) => b.submit(fp32([v])));
  let idle = false;
  const drained = b.idle().then(() => { idle = true; });
  await until(() => b.running === 1, 2000, 'a batch to start');
  await nextMacrotask();
  assert.equal(idle, false);
  g.open();
  await drained;
  assert.equal(b.depth, 0);
  assert.equal(b.running, 0);
  const outs = await Promise.all(work);
  assert.deepEqual(outs.map((o) => (o[0].data as Float32Array)[0]), [1, 2, 3, 4, 5]);

  // A request only waiting for its batch delay (nothing running) that close() turns away also ends the wait.
  const waiting = batcher({ maxBatchDelayMs: 60_000, run: async (inputs) => inputs });
  const lone = waiting.submit(fp32([1]));
  const waitingIdle = waiting.idle();
  await waiting.close();
  await assert.rejects(lone, /model server is stopping/);
  await within(waitingIdle, 2000, 'idle() after close() rejected the only queued request');
});

test('with delay 0 a lone request runs without waiting for a timer; with a delay it waits for company', async () => {
  const seen: Seen[] = [];
  const now = batcher({ maxBatchDelayMs: 0, run: doubling(seen) });
  const t0 = performance.now();
  const out = now.submit(fp32([21]));
  // Only microtasks run between these awaits: no timer, immediate or I/O turn could have started it.
  for (let i = 0; i < 5; i++) await null;
  assert.equal(seen.length, 1, 'the lone request did not start within microtasks of submit()');
  assert.deepEqual(Array.from((await out)[0].data as Float32Array), [42]);
  assert.ok(performance.now() - t0 < 100, 'a lone request with delay 0 took over 100 ms');

  const seenLater: Seen[] = [];
  const later = batcher({ maxBatchDelayMs: 200, run: doubling(seenLater) });
  const a = later.submit(fp32([1]));
  await nextMacrotask();
  assert.equal(seenLater.length, 0, 'a lone request ran before its batch delay');
  const c = later.submit(fp32([2]));
  await Promise.all([a, c]);
  assert.deepEqual(seenLater.map((s) => s.rows), [2]);
});

test('a batch that nothing more could join runs at once, without waiting for the delay', async () => {
  const seen: Seen[] = [];
  const b = batcher({ maxBatchSize: 4, maxBatchDelayMs: 60_000, run: doubling(seen) });
  try {
    // Full: 4 rows.
    await within(Promise.all([1, 2, 3, 4].map((v) => b.submit(fp32([v])))), 5000, 'a full batch');
    // Blocked: the next request is incompatible, so waiting cannot grow the batch.
    const blocked = b.submit(fp32([5]));
    const behind = b.submit(fp32([6, 7], [1, 2]));
    await within(blocked, 5000, 'a batch blocked by an incompatible request');
    // The one behind has nothing following it, so it waits for company until close() turns it away.
    assert.deepEqual(seen.map((s) => s.rows), [4, 1]);
    assert.equal(b.depth, 1);
    await b.close();
    await assert.rejects(behind, /model server is stopping/);
  } finally {
    await b.close(); // clears the 60 s timer even when an assertion failed
  }
});

test('with maxBatchSize 1 or batchable false each request runs alone and at once', async () => {
  for (const over of [{ maxBatchSize: 1 }, { batchable: false }]) {
    const seen: Seen[] = [];
    const b = batcher({ maxBatchDelayMs: 10_000, ...over, run: doubling(seen) });
    const outs = await Promise.all([b.submit(fp32([1])), b.submit(fp32([2])), b.submit(fp32([3]))]);
    assert.deepEqual(seen.map((s) => s.rows), [1, 1, 1]);
    assert.deepEqual(outs.map((o) => (o[0].data as Float32Array)[0]), [2, 4, 6]);
  }
});

test('bad options are refused with what to set', () => {
  assert.throws(() => batcher({ maxBatchSize: 0, run: async (i) => i }), /maxBatchSize is 0; it must be a whole number of at least 1/);
  assert.throws(() => batcher({ maxBatchDelayMs: -1, run: async (i) => i }), /maxBatchDelayMs is -1/);
});
