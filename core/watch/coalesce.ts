/**
 * Folds a stream of changed paths into batches: a batch is flushed after `quietMs` without new
 * events, or `maxWaitMs` after its first event, whichever comes first. A `git checkout` or a
 * formatter touches thousands of files in a burst; one rebuild per burst is the point.
 *
 * Time comes from an injected `Clock` so tests can drive it without sleeping.
 */

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface CoalescedBatch {
  /** De-duplicated, in order of first appearance. */
  paths: string[];
  /** Paths added, duplicates included. */
  events: number;
  firstEventAt: number;
  flushedAt: number;
}

export interface CoalescerOptions {
  quietMs?: number;
  maxWaitMs?: number;
  clock?: Clock;
  onFlush(batch: CoalescedBatch): void;
}

export const DEFAULT_QUIET_MS = 100;
export const DEFAULT_MAX_WAIT_MS = 2000;
const LATE_TIMER_MS = 15;

export class Coalescer {
  private readonly quietMs: number;
  private readonly maxWaitMs: number;
  private readonly clock: Clock;
  private readonly onFlush: (batch: CoalescedBatch) => void;

  private paths = new Set<string>();
  private events = 0;
  private firstEventAt = 0;
  private lastEventAt = 0;
  private lastQuietMs = 0;
  private timer: unknown = undefined;
  private timerDue = 0;
  private graced = false;
  private disposed = false;

  constructor(options: CoalescerOptions) {
    this.quietMs = Math.max(0, options.quietMs ?? DEFAULT_QUIET_MS);
    this.maxWaitMs = Math.max(this.quietMs, options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS);
    this.clock = options.clock ?? realClock;
    this.onFlush = options.onFlush;
  }

  /** Paths waiting for the next flush. */
  get pending(): number {
    return this.paths.size;
  }

  /**
   * `holdMs` stretches the quiet window after this add only, for callers that know more events
   * are coming (the watcher backend delivers a live stream in slices; see watcher.ts).
   */
  add(paths: Iterable<string>, holdMs = 0): void {
    if (this.disposed) return;
    const now = this.clock.now();
    let added = 0;
    for (const p of paths) {
      this.paths.add(p);
      added++;
    }
    if (added === 0) return;
    if (this.events === 0) this.firstEventAt = now;
    this.events += added;
    this.lastEventAt = now;
    this.lastQuietMs = Math.max(this.quietMs, holdMs);
    // One timer per batch, re-armed lazily when it fires early: a burst calls add() thousands of
    // times and clearing/setting a timer on each would cost more than the work it delays.
    if (this.timer === undefined) this.arm(this.deadline(), now);
  }

  /**
   * Restarts the quiet window of the pending batch without adding a path: the caller saw
   * activity whose paths will arrive later. Does nothing when no batch is pending.
   */
  touch(): void {
    if (this.disposed || this.events === 0) return;
    this.lastEventAt = this.clock.now();
  }

  /** Flushes now if anything is pending. */
  flush(): void {
    this.cancelTimer();
    if (this.events === 0 || this.disposed) return;
    const batch: CoalescedBatch = {
      paths: [...this.paths],
      events: this.events,
      firstEventAt: this.firstEventAt,
      flushedAt: this.clock.now(),
    };
    this.paths = new Set();
    this.events = 0;
    this.onFlush(batch);
  }

  /** Drops pending paths and the timer; later add() calls are ignored. */
  dispose(): void {
    this.disposed = true;
    this.cancelTimer();
    this.paths = new Set();
    this.events = 0;
  }

  private deadline(): number {
    return Math.min(this.lastEventAt + this.lastQuietMs, this.firstEventAt + this.maxWaitMs);
  }

  private arm(due: number, now: number): void {
    this.timerDue = due;
    this.graced = false;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, due - now));
  }

  private fire(): void {
    this.timer = undefined;
    const due = this.deadline();
    // Compare deadlines rather than clock readings: real timers can fire a hair early, and the
    // batch is due exactly when no event moved the deadline since the timer was armed.
    if (due > this.timerDue) {
      this.arm(due, this.clock.now());
      return;
    }
    // A timer that fires late means the event loop was busy, and events from that time may
    // still be queued behind this timer: give I/O one turn before deciding the burst is over.
    if (!this.graced && this.clock.now() - this.timerDue > LATE_TIMER_MS) {
      this.graced = true;
      this.timer = this.clock.setTimeout(() => this.fire(), 0);
      return;
    }
    this.flush();
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
