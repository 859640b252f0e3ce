/**
 * The scaling decision for one Cloud Run revision: how many instances it should have now. A pure
 * model with no timers and no I/O: the caller reports concurrency changes and request arrivals with
 * the time (`now`, ms, any monotonic clock) and calls `decide` every `settings.tickMs`; the same
 * calls give the same decisions every run.
 *
 * The model is Knative's KPA (knative/serving `pkg/autoscaler/`: `aggregation/bucketing.go` for the
 * windows, `scaling/autoscaler.go` for the decision), which Cloud Run descends from, with Cloud
 * Run's numbers from the settings:
 * - concurrency (requests in flight plus queued for the revision) is integrated over time into
 *   1 s buckets: a bucket holds the time-weighted average of the value during its second, the value
 *   holding until the next `record`. The current, partial bucket counts as if the value held to
 *   the end of its second, so a burst is seen the moment it is recorded;
 * - a window (stable 60 s, panic 6 s) is the mean of its buckets, the current one included. When
 *   the autoscaler has less history than the window (since its first `record`), only the buckets
 *   since then count, so a fresh revision sees its first burst at full strength. A quiet period
 *   with a recorded 0 IS history: it dilutes the stable window like KPA's zero-filled gaps;
 * - desired = ceil(average / (containerConcurrency x targetUtilization)) for each window;
 * - panic starts when desired(panic) / max(ready, 1) >= panicThreshold (and is above ready); in
 *   panic the count never goes down, and panic ends once a whole stable window passes without
 *   the condition holding;
 * - outside panic the stable count wins, but scale-down is limited to halving per decision (KPA's
 *   max scale-down rate 2.0); scale-up is limited to 1000x ready (KPA's max scale-up rate);
 * - the last instance goes only after `scaleToZeroAfterMs` without requests and with nothing in
 *   flight (KPA: stable window + 30 s scale-to-zero grace); a queued request scales from zero at
 *   once; minScale and maxScale always bound the result.
 *
 * Not modelled here: Cloud Run's second driver (CPU utilisation, 60% target), and idle instance
 * removal: `settings.idleTimeoutMs` is the caller's job, which removes an instance above the
 * decision that stayed idle that long. The autoscaler only says how many instances are wanted.
 */
import type { ScalingSettings } from './types.js';

/** The revision's scaling bounds (`autoscaling.knative.dev/min-scale`, `max-scale`, `containerConcurrency`). */
export interface ScaleBounds {
  minScale: number;
  /** 0 (Knative's "unbounded") or less: no upper bound. */
  maxScale: number;
  /** 0 (Knative's "unlimited") or less: KPA's default target of UNLIMITED_CONCURRENCY_TARGET is used. */
  containerConcurrency: number;
}

/** Instances the revision has now. */
export interface ScaleState {
  /** Ready instances (serving). */
  ready: number;
  /** Instances starting (not ready yet). */
  starting: number;
}

export interface ScaleDecision {
  /** Instances wanted now, within [minScale, maxScale]. */
  desired: number;
  /** In panic mode. */
  panic: boolean;
  /** Average concurrency over the stable window. */
  stableConcurrency: number;
  /** Average concurrency over the panic window. */
  panicConcurrency: number;
  /**
   * One line for a reader on what decided the count, e.g. `scaling up to 30 instances: 18.0 requests
   * in flight over the last 1 s, 1 instance ready (panic mode: ...)`.
   */
  reason: string;
}

/** KPA's bucket granularity. */
const BUCKET_MS = 1000;
/** KPA's max scale-up rate: at most 1000 x ready instances in one decision. */
const MAX_SCALE_UP_RATE = 1000;
/** KPA's max scale-down rate: at most halve the ready instances in one decision. */
const MAX_SCALE_DOWN_RATE = 2;
/** KPA's `container-concurrency-target-default`, used when containerConcurrency is 0 (unlimited). */
const UNLIMITED_CONCURRENCY_TARGET = 100;
/** Averages are sums of floats: 30 concurrent over cc 6 must give 5 instances, not 6. */
const EPSILON = 1e-9;

/** One second of concurrency: the integral of the value (value x ms) over the `ms` recorded in it. */
interface Bucket {
  /** Second number (floor(time / BUCKET_MS)); a ring slot holding another second is stale. */
  sec: number;
  sum: number;
  ms: number;
}

interface WindowAverage {
  average: number;
  /** Buckets averaged (seconds of history seen, at most the window). */
  buckets: number;
}

export class Autoscaler {
  private bounds: ScaleBounds;
  /** Ring of per-second buckets, one slot per second of the stable window. */
  private readonly ring: Bucket[];
  private readonly stableBuckets: number;
  private readonly panicBuckets: number;
  /** Time of the first `record`: where history starts. Undefined before any. */
  private historyStart: number | undefined;
  /** Time integrated up to, and the value holding since then. */
  private lastTime = 0;
  private lastValue = 0;
  private lastArrival: number | undefined;
  private panicking = false;
  /** Last decision at which the panic condition held. */
  private panicLastOver = 0;
  /** The count panic may not go below: the desired when panic started, raised by every panic decision. */
  private panicFloor = 0;
  private lastDesired = 0;
  private startups = 0;
  private startupTotalMs = 0;

  constructor(private readonly settings: ScalingSettings, bounds: ScaleBounds) {
    this.bounds = { ...bounds };
    this.stableBuckets = Math.max(1, Math.ceil(settings.stableWindowMs / BUCKET_MS));
    this.panicBuckets = Math.min(this.stableBuckets, Math.max(1, Math.ceil(settings.panicWindowMs / BUCKET_MS)));
    this.ring = Array.from({ length: this.stableBuckets }, () => ({ sec: Number.NaN, sum: 0, ms: 0 }));
  }

  setBounds(bounds: ScaleBounds): void {
    this.bounds = { ...bounds };
  }

  /**
   * Concurrency (requests in flight + queued for this revision) changed to `value` at `now`. The
   * previous value is integrated up to `now`. A time before the last one counts as the last one.
   */
  record(now: number, value: number): void {
    const v = Number.isFinite(value) && value > 0 ? value : 0;
    if (this.historyStart === undefined) {
      this.historyStart = now;
      this.lastTime = now;
    } else {
      this.advance(now);
    }
    this.lastValue = v;
  }

  /** A request arrived at `now` (for idle tracking / scale-to-zero). */
  requestArrived(now: number): void {
    if (this.lastArrival === undefined || now > this.lastArrival) this.lastArrival = now;
  }

  decide(now: number, state: ScaleState): ScaleDecision {
    const { settings } = this;
    if (this.historyStart !== undefined) this.advance(now);
    const t = Math.max(now, this.lastTime);
    const ready = Math.max(0, state.ready);
    const instances = ready + Math.max(0, state.starting);

    const stable = this.windowAverage(this.stableBuckets);
    const panic = this.windowAverage(this.panicBuckets);
    const dStable = this.podsFor(stable.average);
    const dPanic = this.podsFor(panic.average);
    const readyForRatio = Math.max(ready, 1);

    // Panic bookkeeping, as KPA: entering remembers the count so far, every tick over the threshold
    // extends panic, and it ends a whole stable window after the last such tick.
    const over = dPanic > ready && dPanic / readyForRatio >= settings.panicThreshold;
    if (over) {
      if (!this.panicking) {
        this.panicking = true;
        this.panicFloor = this.lastDesired;
      }
      this.panicLastOver = t;
    } else if (this.panicking && t - this.panicLastOver >= settings.stableWindowMs) {
      this.panicking = false;
      this.panicFloor = 0;
    }

    // Reasons are written for the person reading the log: what happens, then the figures that decided it.
    const perInstance = this.concurrencyTarget() * settings.targetUtilization;
    const sizing = `${fmt(perInstance)} per instance (concurrency ${this.concurrencyTarget()} at the ${Math.round(settings.targetUtilization * 100)}% target)`;
    const action = (n: number) => (n > ready ? `scaling up to ${count(n)}` : n < ready ? `scaling down to ${count(n)}` : `keeping ${count(n)}`);
    let desired: number;
    /** The figures behind the count; `action(desired)` is put in front once the count is final. */
    let why: string;
    if (this.panicking) {
      // No scale-down in panic: the larger of both windows and of every panic decision so far.
      desired = Math.max(dStable, dPanic, this.panicFloor);
      this.panicFloor = desired;
      why = `${panic.average.toFixed(1)} requests in flight over the last ${panic.buckets} s, ${count(ready)} ready (panic mode: demand reached ${settings.panicThreshold}x what the ready instances take; no scaling down until it calms for ${fmtS(settings.stableWindowMs)} s)`;
    } else {
      desired = dStable;
      why = `${stable.average.toFixed(1)} requests in flight on average over the last ${stable.buckets} s, at ${sizing}`;
      const minDown = Math.floor(ready / MAX_SCALE_DOWN_RATE);
      if (desired < minDown) {
        desired = minDown;
        why = `at most half of the ${count(ready)} ready stop at once; ${why}`;
      }
    }
    const maxUp = Math.ceil(MAX_SCALE_UP_RATE * readyForRatio);
    if (desired > maxUp) {
      desired = maxUp;
      why = `at most ${MAX_SCALE_UP_RATE}x the ready instances at once; ${why}`;
    }
    let reason = `${action(desired)}: ${why}`;

    // Scale to zero: never with anything in flight or queued, nor soon after a request.
    if (desired < 1) {
      const sinceArrival = this.lastArrival === undefined ? undefined : t - this.lastArrival;
      const keepFor = Math.max(settings.scaleToZeroAfterMs, settings.stableWindowMs);
      if (this.lastValue > 0) {
        desired = 1;
        reason = instances === 0
          ? `scaling up from zero to 1 instance: ${fmt(this.lastValue)} ${this.lastValue === 1 ? 'request' : 'requests'} waiting`
          : `${action(1)}: ${fmt(this.lastValue)} ${this.lastValue === 1 ? 'request' : 'requests'} in flight`;
      } else if (sinceArrival !== undefined && sinceArrival < keepFor) {
        desired = 1;
        reason = `${action(1)}: the last request came ${fmtS(sinceArrival)} s ago; scaling to zero after ${fmtS(keepFor)} s without one`;
      } else if (sinceArrival !== undefined) {
        reason = `scaling to zero: no request for ${fmtS(sinceArrival)} s`;
      } else {
        reason = 'scaling to zero: no requests yet';
      }
    }

    const { minScale, maxScale } = this.bounds;
    if (desired < minScale) {
      desired = minScale;
      reason = `${action(minScale)}: minScale is ${minScale}`;
    }
    if (maxScale > 0 && desired > maxScale) {
      reason = `${action(maxScale)}, the maxScale, though ${desired} would be wanted: ${reason.slice(reason.indexOf(': ') + 2)}`;
      desired = maxScale;
    }

    this.lastDesired = desired;
    return {
      desired,
      panic: this.panicking,
      stableConcurrency: stable.average,
      panicConcurrency: panic.average,
      reason,
    };
  }

  /** Average startup time bookkeeping for the queue-wait bound: one instance took `ms` to become ready. */
  recordStartup(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.startups++;
    this.startupTotalMs += ms;
  }

  /** Mean of every startup recorded; undefined before the first. */
  averageStartupMs(): number | undefined {
    return this.startups === 0 ? undefined : this.startupTotalMs / this.startups;
  }

  /** How long a queued request may wait before a 429: max(queueWaitMinMs, queueWaitStartupFactor x average startup). */
  queueWaitLimitMs(): number {
    const avg = this.averageStartupMs() ?? 0;
    return Math.max(this.settings.queueWaitMinMs, this.settings.queueWaitStartupFactor * avg);
  }

  /** Concurrency one instance is sized for before utilisation: containerConcurrency, or KPA's default when unlimited. */
  private concurrencyTarget(): number {
    const cc = this.bounds.containerConcurrency;
    return cc > 0 ? cc : UNLIMITED_CONCURRENCY_TARGET;
  }

  /** Instances for an average concurrency: ceil(average / (cc x targetUtilization)). */
  private podsFor(average: number): number {
    if (average <= 0) return 0;
    const target = this.concurrencyTarget() * this.settings.targetUtilization;
    return Math.max(0, Math.ceil(average / target - EPSILON));
  }

  /** The ring slot for second `sec`, emptied when it still holds an older second. */
  private slot(sec: number): Bucket {
    const b = this.ring[((sec % this.ring.length) + this.ring.length) % this.ring.length];
    if (b.sec !== sec) {
      b.sec = sec;
      b.sum = 0;
      b.ms = 0;
    }
    return b;
  }

  /** Integrates the held value from `lastTime` to `to`, touching at most one stable window of buckets. */
  private advance(to: number): void {
    if (to <= this.lastTime) return;
    // Seconds older than the ring are overwritten anyway: start at the oldest one it keeps.
    const oldest = (Math.floor(to / BUCKET_MS) - this.ring.length + 1) * BUCKET_MS;
    let t = Math.max(this.lastTime, oldest);
    while (t < to) {
      const sec = Math.floor(t / BUCKET_MS);
      const end = Math.min(to, (sec + 1) * BUCKET_MS);
      const b = this.slot(sec);
      b.sum += this.lastValue * (end - t);
      b.ms += end - t;
      t = end;
    }
    this.lastTime = to;
  }

  /**
   * Mean of the last `n` buckets (the current one included) at `lastTime`, over the buckets since
   * history started when that is fewer. The current bucket counts the held value to its end.
   */
  private windowAverage(n: number): WindowAverage {
    if (this.historyStart === undefined) return { average: 0, buckets: 0 };
    const now = this.lastTime;
    const current = Math.floor(now / BUCKET_MS);
    const first = Math.max(Math.floor(this.historyStart / BUCKET_MS), current - n + 1);
    let total = 0;
    for (let sec = first; sec <= current; sec++) {
      const b = this.ring[((sec % this.ring.length) + this.ring.length) % this.ring.length];
      const sum = b.sec === sec ? b.sum : 0;
      const ms = b.sec === sec ? b.ms : 0;
      if (sec === current) {
        const rest = (sec + 1) * BUCKET_MS - now;
        total += (sum + this.lastValue * rest) / (ms + rest);
      } else {
        // Every second since history started was integrated; an empty slot cannot happen, but reads as 0.
        total += ms > 0 ? sum / ms : 0;
      }
    }
    const buckets = current - first + 1;
    return { average: total / buckets, buckets };
  }
}

/** `1 instance`, `3 instances`. */
function count(n: number): string {
  return `${n} instance${n === 1 ? '' : 's'}`;
}

/** A concurrency for a message: integers plain, others with one decimal. */
function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** Milliseconds as seconds for a message: `90`, `1.5`. */
function fmtS(ms: number): string {
  const s = Math.round(ms / 100) / 10;
  return String(s);
}
