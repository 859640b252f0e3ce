/**
 * The dynamic batcher: queues infer requests, merges compatible ones along dimension 0 into one
 * model run, and splits the outputs back so each caller gets its own rows.
 *
 * Pure logic: the runner is injected, so this file never touches onnxruntime and is unit-tested
 * with a fake one. Rules it keeps:
 * - FIFO. A batch is the longest run of compatible requests at the head of the queue, up to
 *   `maxBatchSize` rows; it never reaches past an incompatible request (no reordering, so no
 *   request can starve). A single request larger than `maxBatchSize` runs alone, unsplit.
 * - A batch runs at once when nothing more could join it (full, or an incompatible or
 *   overflowing request is next in line); otherwise when its head has waited `maxBatchDelayMs`.
 *   One timer at most, for the head's deadline; every other wake-up is a microtask, so a lone
 *   request with delay 0 never waits for a timer tick.
 * - An output whose dimension 0 is not the merged rows means the model does not keep the batch
 *   dimension: the batch's requests are rerun one by one and merging stays off for good, because
 *   returning another request's rows (or a reduction over them) would be silently wrong.
 */
import { DevloopError } from '../../core/errors.js';
import type { HostTensor, TensorData } from './types.js';

export interface BatcherOptions {
  /** Largest merged batch (rows along dimension 0). 1 = no merging. */
  maxBatchSize: number;
  /** How long the first queued request waits for company before its batch runs anyway. 0 = run whatever is queued as soon as a runner is free. */
  maxBatchDelayMs: number;
  /** Requests waiting (not yet running) above which submit() rejects with QueueFullError (-> HTTP 429). */
  maxQueue: number;
  /** How many batches may run at once (one per model instance). */
  concurrency: number;
  /** Runs one merged batch. Gets a runner index 0..concurrency-1 so each instance runs one batch at a time. */
  run: (inputs: HostTensor[], runner: number) => Promise<HostTensor[]>;
  /** Whether merging is allowed at all: the lead passes true only when every input and output has a dynamic dimension 0 in the model signature. */
  batchable: boolean;
  /**
   * Called once per batch whose outputs reached its callers, with its rows and requests
   * (metrics). A merged run that failed or had to be rerun one by one is not reported; its reruns are.
   */
  onBatch?: (rows: number, requests: number) => void;
  /** Told once when merging is switched off because the model does not keep the batch dimension. */
  onWarn?: (message: string) => void;
}

/** The queue is at `maxQueue`: the server is overloaded and the caller should back off (HTTP 429). */
export class QueueFullError extends DevloopError {
  constructor(readonly depth: number, readonly maxQueue: number) {
    super(`model queue is full: ${depth} requests waiting (maxQueue ${maxQueue})`, {
      code: 'MODEL_QUEUE_FULL',
      hint: 'retry later, or raise maxQueue or the number of model instances so the server keeps up with the load',
    });
    this.name = 'QueueFullError';
  }
}

interface Pending {
  inputs: HostTensor[];
  rows: number;
  /** Compatibility key (names, datatypes, storage, dimensions after 0); null: never merged. */
  key: string | null;
  /** performance.now() at submit: the head's batch runs by arrived + maxBatchDelayMs. */
  arrived: number;
  resolve(outputs: HostTensor[]): void;
  reject(err: unknown): void;
}

export class Batcher {
  private readonly opts: BatcherOptions;
  private readonly queue: Pending[] = [];
  /** Runner indices not running a batch; popped and pushed, so each index runs one batch at a time. */
  private readonly free: number[] = [];
  private busy = 0;
  private merging: boolean;
  private closed = false;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(opts: BatcherOptions) {
    for (const k of ['maxBatchSize', 'maxQueue', 'concurrency'] as const) {
      if (!Number.isInteger(opts[k]) || opts[k] < 1) throw badOption(k, opts[k], 'a whole number of at least 1');
    }
    if (!Number.isFinite(opts.maxBatchDelayMs) || opts.maxBatchDelayMs < 0) throw badOption('maxBatchDelayMs', opts.maxBatchDelayMs, 'a number of milliseconds >= 0');
    this.opts = opts;
    this.merging = opts.batchable && opts.maxBatchSize > 1;
    // Reversed so the first batch gets runner 0.
    for (let i = opts.concurrency - 1; i >= 0; i--) this.free.push(i);
  }

  /** Requests waiting, not running. */
  get depth(): number { return this.queue.length; }

  /** Batches running now. */
  get running(): number { return this.busy; }

  /** Queues one request (its inputs, all with the same dimension 0 = its rows). Resolves with ITS OWN output rows. */
  submit(inputs: HostTensor[]): Promise<HostTensor[]> {
    if (this.closed) return Promise.reject(stopping());
    if (this.queue.length >= this.opts.maxQueue) return Promise.reject(new QueueFullError(this.queue.length, this.opts.maxQueue));
    return new Promise<HostTensor[]>((resolve, reject) => {
      // The key is only worth its cost while merging can happen.
      const [rows, key] = this.merging ? describe(inputs) : [inputs[0]?.shape[0] ?? 1, null];
      this.queue.push({ inputs, rows, key, arrived: performance.now(), resolve, reject });
      this.schedule();
    });
  }

  /** Stops taking work: pending requests reject with an Error('model server is stopping'); resolves when running batches finish. */
  close(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    const pending = this.queue.splice(0);
    for (const p of pending) p.reject(stopping());
    this.notifyIdle(); // an earlier idle() may have waited on a request that was only queued
    return this.idle();
  }

  /** Resolves when nothing is queued or running (used by reload to drain an old session). */
  idle(): Promise<void> {
    if (this.busy === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** One dispatch per microtask however many requests arrive in it, so a burst is seen whole. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => { this.scheduled = false; this.dispatch(); });
  }

  /** Starts every batch that is due while runners are free; arms the timer for the one that is not yet. */
  private dispatch(): void {
    while (this.free.length > 0 && this.queue.length > 0) {
      const head = this.queue[0];
      let take = 1;
      let rows = head.rows;
      if (this.merging && head.key !== null) {
        const max = this.opts.maxBatchSize;
        while (take < this.queue.length && rows < max) {
          const next = this.queue[take];
          if (next.key !== head.key || rows + next.rows > max) break;
          rows += next.rows;
          take++;
        }
        // Wait for company only when some could still join: not full and nothing blocking behind.
        const couldGrow = rows < max && take === this.queue.length;
        if (couldGrow && this.opts.maxBatchDelayMs > 0) {
          const due = head.arrived + this.opts.maxBatchDelayMs;
          const now = performance.now();
          if (now < due) { this.armTimer(due, now); return; }
        }
      }
      this.start(this.queue.splice(0, take), rows, this.free.pop()!);
    }
    // Nothing waits on a deadline now: the queue is empty, or a finishing batch will dispatch again.
    this.clearTimer();
  }

  private armTimer(due: number, now: number): void {
    if (this.timer !== undefined && this.timerDue === due) return;
    this.clearTimer();
    this.timerDue = due;
    this.timer = setTimeout(() => { this.timer = undefined; this.dispatch(); }, Math.ceil(due - now));
  }

  private clearTimer(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private start(batch: Pending[], rows: number, runner: number): void {
    this.busy++;
    this.execute(batch, rows, runner).finally(() => {
      this.busy--;
      this.free.push(runner);
      if (!this.closed) this.dispatch();
      this.notifyIdle();
    });
  }

  private notifyIdle(): void {
    if (this.busy !== 0 || this.queue.length !== 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Runs one batch and settles each of its requests; never rejects. */
  private async execute(batch: Pending[], rows: number, runner: number): Promise<void> {
    if (batch.length === 1) return this.runAlone(batch[0], runner);
    let outputs: HostTensor[];
    try {
      outputs = await call(this.opts.run, merge(batch, rows), runner);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    const bad = outputs.find((o) => o.shape.length === 0 || o.shape[0] !== rows || o.data.length !== rows * rowSize(o.shape));
    if (bad === undefined) {
      let offset = 0;
      for (const p of batch) {
        p.resolve(outputs.map((o) => sliceRows(o, offset, p.rows)));
        offset += p.rows;
      }
      this.opts.onBatch?.(rows, batch.length);
      return;
    }
    if (this.merging) {
      this.merging = false;
      this.opts.onWarn?.(`model output "${bad.name}" has shape [${bad.shape.join(', ')}] for a merged batch of ${rows} rows: the model does not keep the batch dimension (0), so requests are no longer merged and each runs alone; set maxBatchSize to 1 for this model to skip the failed merge`);
    }
    for (const p of batch) await this.runAlone(p, runner);
  }

  private async runAlone(p: Pending, runner: number): Promise<void> {
    let outputs: HostTensor[];
    try {
      outputs = await call(this.opts.run, p.inputs, runner);
    } catch (err) {
      p.reject(err);
      return;
    }
    p.resolve(outputs);
    this.opts.onBatch?.(p.rows, 1);
  }
}

function stopping(): Error {
  return new Error('model server is stopping');
}

function badOption(name: string, value: unknown, want: string): DevloopError {
  return new DevloopError(`batcher option ${name} is ${String(value)}; it must be ${want}`, {
    code: 'MODEL_BATCHER_OPTION',
    hint: `set ${name} in the model-serving options to ${want}`,
  });
}

/** A runner that throws instead of rejecting still only fails its own batch. */
function call(run: BatcherOptions['run'], inputs: HostTensor[], runner: number): Promise<HostTensor[]> {
  try {
    return run(inputs, runner);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * A request's rows and compatibility key. Null key (never merged): no inputs, a scalar, inputs
 * disagreeing on dimension 0, or data not matching its shape, since concatenating those would
 * misalign rows; the runner then sees the request as sent and reports what is wrong with it.
 */
function describe(inputs: HostTensor[]): [number, string | null] {
  if (inputs.length === 0 || inputs[0].shape.length === 0) return [1, null];
  const rows = inputs[0].shape[0];
  // Sorted by name so requests listing the same inputs in another order still merge.
  const sorted = inputs.length === 1 ? inputs : [...inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let key = '';
  for (const t of sorted) {
    if (t.shape.length === 0 || t.shape[0] !== rows || t.data.length !== rows * rowSize(t.shape)) return [rows, null];
    // The storage class is in the key: concatenating an Int32Array into a Float32Array would convert silently.
    key += `${t.name}\0${t.datatype}\0${Array.isArray(t.data) ? 'string' : t.data.constructor.name}\0${t.shape.slice(1).join(',')}\u0001`;
  }
  return [rows, key];
}

/** Elements per row: the product of the dimensions after 0. */
function rowSize(shape: number[]): number {
  let n = 1;
  for (let i = 1; i < shape.length; i++) n *= shape[i];
  return n;
}

/** The batch's inputs concatenated along dimension 0, in the first request's input order. */
function merge(batch: Pending[], rows: number): HostTensor[] {
  return batch[0].inputs.map((first, j) => {
    const parts = batch.map((p) => {
      const t = p.inputs[j];
      return t.name === first.name ? t.data : p.inputs.find((u) => u.name === first.name)!.data;
    });
    return { name: first.name, datatype: first.datatype, shape: [rows, ...first.shape.slice(1)], data: concat(parts, rows * rowSize(first.shape)) };
  });
}

function concat(parts: TensorData[], length: number): TensorData {
  const first = parts[0];
  if (Array.isArray(first)) {
    const out = new Array<string>(length);
    let i = 0;
    for (const p of parts as string[][]) for (const s of p) out[i++] = s;
    return out;
  }
  // Every typed array class has this constructor and set(); the key guarantees one class per batch.
  const out = new (first.constructor as new (n: number) => Exclude<TensorData, string[]>)(length);
  let offset = 0;
  for (const p of parts as Exclude<TensorData, string[]>[]) {
    (out as { set(a: ArrayLike<number | bigint>, o: number): void }).set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Rows [offset, offset + count) of a merged output: a view for typed arrays (no copy), a slice for strings. */
function sliceRows(t: HostTensor, offset: number, count: number): HostTensor {
  const size = rowSize(t.shape);
  const from = offset * size;
  const to = from + count * size;
  const data = Array.isArray(t.data) ? t.data.slice(from, to) : t.data.subarray(from, to);
  return { name: t.name, datatype: t.datatype, shape: [count, ...t.shape.slice(1)], data };
}
