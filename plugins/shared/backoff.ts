/**
 * Restart backoff for crashing services: 1 s, 2 s, 4 s ... capped at 30 s, like a kubelet's
 * CrashLoopBackOff but shorter, because on a laptop the fix is usually one save away. A service
 * that then stays healthy for a minute is forgiven: its next crash starts again at 1 s.
 */
export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** How long the service must stay healthy before the delay resets. */
  resetAfterMs?: number;
  /** Injected in tests. */
  now?: () => number;
}

export class RestartBackoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly resetAfterMs: number;
  private readonly now: () => number;
  private failures = 0;
  private healthySince?: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1_000;
    this.maxMs = options.maxMs ?? 30_000;
    this.resetAfterMs = options.resetAfterMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Crashes since the last reset. */
  get attempts(): number { return this.failures; }

  /** The service became healthy; the clock towards a reset starts now (if not already running). */
  healthy(): void {
    this.healthySince ??= this.now();
  }

  /** The service crashed: returns how long to wait before restarting it. */
  failure(): number {
    if (this.healthySince !== undefined && this.now() - this.healthySince >= this.resetAfterMs) this.failures = 0;
    this.healthySince = undefined;
    const delay = Math.min(this.initialMs * 2 ** this.failures, this.maxMs);
    this.failures++;
    return delay;
  }

  reset(): void {
    this.failures = 0;
    this.healthySince = undefined;
  }
}
