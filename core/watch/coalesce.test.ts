import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer, type Clock, type CoalescedBatch } from './coalesce.js';

/** A clock whose time moves only when the test says so; timers fire in due order. */
class FakeClock implements Clock {
  private t = 0;
  private nextId = 1;
  private timers = new Map<number, { due: number; fn: () => void }>();

  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { due: this.t + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }
  /** Moves time without firing timers, like a blocked event loop; they fire on the next advance. */
  stall(ms: number): void {
    this.t += ms;
  }
  get activeTimers(): number {
    return this.timers.size;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    while (this.fireNext(end));
    this.t = end;
  }
  /** Fires the earliest timer due by `end`, if any; a late timer sees the current time. */
  fireNext(end = this.t): boolean {
    let next: [number, { due: number; fn: () => void }] | undefined;
    for (const entry of this.timers) if (entry[1].due <= end && (!next || entry[1].due < next[1].due)) next = entry;
    if (!next) return false;
    this.timers.delete(next[0]);
    this.t = Math.max(this.t, next[1].due);
    next[1].fn();
    return true;
  }
}

function setup(quietMs?: number, maxWaitMs?: number) {
  const clock = new FakeClock();
  const batches: CoalescedBatch[] = [];
  const c = new Coalescer({ quietMs, maxWaitMs, clock, onFlush: (b) => batches.push(b) });
  return { clock, batches, c };
}

test('flushes after the quiet window', () => {
  const { clock, batches, c } = setup(100, 2000);
  c.add(['/a']);
  clock.advance(99);
  assert.equal(batches.length, 0);
  clock.advance(1);
  assert.equal(batches.length, 1);
  assert.deepEqual(batches[0].paths, ['/a']);
  assert.equal(batches[0].firstEventAt, 0);
  assert.equal(batches[0].flushedAt, 100);
});

test('each event restarts the quiet window', () => {
  const { clock, batches, c } = setup(100, 2000);
  c.add(['/a']);
  clock.advance(60);
  c.add(['/b']);
  clock.advance(60);
  assert.equal(batches.length, 0, 'quiet window restarted by /b');
  clock.advance(40);
  assert.equal(batches.length, 1);
  assert.deepEqual(batches[0].paths, ['/a', '/b']);
  assert.equal(batches[0].flushedAt, 160);
});

test('a continuous stream is cut at maxWait after its first event', () => {
  const { clock, batches, c } = setup(100, 500);
  for (let t = 0; t < 1200; t += 50) {
    c.add([`/f${t}`]);
    clock.advance(50);
  }
  clock.advance(1000);
  assert.deepEqual(batches.map((b) => [b.firstEventAt, b.flushedAt]), [[0, 500], [500, 1000], [1000, 1250]]);
  assert.equal(batches.reduce((n, b) => n + b.paths.length, 0), 24);
});

test('holdMs stretches the quiet window after one add, within maxWait', () => {
  const { clock, batches, c } = setup(100, 2000);
  c.add(['/a'], 700);
  clock.advance(600);
  assert.equal(batches.length, 0);
  c.add(['/b']);
  clock.advance(100);
  assert.equal(batches.length, 1, 'the next plain add uses the normal window');
  assert.equal(batches[0].flushedAt, 700);
  c.add(['/c'], 5000);
  clock.advance(2000);
  assert.equal(batches.length, 2, 'maxWait still caps the batch');
});

test('touch() restarts the quiet window of a pending batch only', () => {
  const { clock, batches, c } = setup(100, 2000);
  c.touch();
  clock.advance(1000);
  assert.equal(batches.length, 0, 'no batch from a touch alone');
  c.add(['/a']);
  clock.advance(80);
  c.touch();
  clock.advance(80);
  assert.equal(batches.length, 0);
  clock.advance(20);
  assert.equal(batches.length, 1);
  assert.equal(batches[0].flushedAt, 1180);
});

test('deduplicates paths within a batch but counts events', () => {
  const { clock, batches, c } = setup();
  c.add(['/a', '/b', '/a']);
  c.add(['/b']);
  clock.advance(100);
  assert.deepEqual(batches[0].paths, ['/a', '/b']);
  assert.equal(batches[0].events, 4);
  c.add(['/a']);
  clock.advance(100);
  assert.deepEqual(batches[1].paths, ['/a'], 'a new batch starts empty');
});

test('quietMs 0 flushes on the next timer tick', () => {
  const { clock, batches, c } = setup(0, 2000);
  c.add(['/a']);
  c.add(['/b']);
  assert.equal(batches.length, 0);
  clock.advance(0);
  assert.equal(batches.length, 1);
  assert.deepEqual(batches[0].paths, ['/a', '/b']);
});

test('a late timer gives queued events one more turn before flushing', () => {
  const { clock, batches, c } = setup(100, 2000);
  c.add(['/a']);
  clock.stall(150); // the event loop was blocked past the deadline
  assert.ok(clock.fireNext(), 'the quiet timer fires 50 ms late...');
  assert.equal(batches.length, 0, '...and waits one turn');
  c.add(['/b']); // an event that was queued behind the timer
  clock.advance(0);
  assert.equal(batches.length, 0, 'the late event extended the batch');
  clock.advance(100);
  assert.deepEqual(batches.map((b) => [b.paths, b.flushedAt]), [[['/a', '/b'], 250]]);
});

test('uses one timer, not one per event', () => {
  const { clock, c } = setup();
  for (let i = 0; i < 1000; i++) c.add([`/f${i}`]);
  assert.equal(clock.activeTimers, 1);
});

test('flush() and dispose()', () => {
  const { clock, batches, c } = setup();
  c.flush();
  assert.equal(batches.length, 0, 'nothing pending: no empty batch');
  c.add(['/a']);
  c.flush();
  assert.equal(batches.length, 1);
  assert.equal(clock.activeTimers, 0);
  c.add(['/b']);
  c.dispose();
  assert.equal(clock.activeTimers, 0);
  c.add(['/c']);
  clock.advance(5000);
  assert.equal(batches.length, 1);
});
