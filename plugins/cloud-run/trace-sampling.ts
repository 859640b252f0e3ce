/**
 * Which requests the front end traces while a session keeps traces. Cloud Run does not trace
 * every request: at most 0.1 requests/s per instance, and requests whose caller forces a trace
 * (a sampled traceparent) at most 10/s per instance (data.ts TRACE_SAMPLING). The `parity` preset
 * does the same; `dev` traces far more (the request a developer just sent should be in Jaeger) but
 * is still bounded, so a load test does not turn into a span flood that slows the front end. A
 * request not sampled is forwarded with the "not sampled" flag, so the instance does not record
 * it either, as on Cloud Run.
 */
import { DEV_TRACE_SAMPLING, TRACE_SAMPLING } from './data.js';

export type SamplingPreset = 'dev' | 'parity';

/** Token buckets refilled continuously; one token a trace. */
class Bucket {
  private tokens: number;
  private at: number;
  constructor(private readonly now: () => number) {
    this.tokens = 1;
    this.at = now();
  }
  take(perSecond: number): boolean {
    const t = this.now();
    const capacity = Math.max(1, perSecond);
    this.tokens = Math.min(capacity, this.tokens + ((t - this.at) / 1000) * perSecond);
    this.at = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class TraceSampler {
  private readonly plain: Bucket;
  private readonly forced: Bucket;

  constructor(private readonly preset: SamplingPreset, now: () => number = Date.now) {
    this.plain = new Bucket(now);
    this.forced = new Bucket(now);
  }

  /**
   * Whether to trace a request: `forced` when the caller sent a sampled trace context;
   * `instances` ready now (Cloud Run's rates are per instance; at least one counts).
   */
  sample(forced: boolean, instances: number): boolean {
    const n = Math.max(1, instances);
    if (this.preset === 'parity') return forced ? this.forced.take(TRACE_SAMPLING.forcedPerInstancePerSecond * n) : this.plain.take(TRACE_SAMPLING.perInstancePerSecond * n);
    return forced ? this.forced.take(DEV_TRACE_SAMPLING.forcedPerSecond) : this.plain.take(DEV_TRACE_SAMPLING.perSecond);
  }
}
