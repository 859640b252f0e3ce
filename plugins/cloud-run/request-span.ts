/**
 * The front end's span for one request, when a plugin keeps traces (`engine.tracing.sink`, set
 * by `devloop:monitoring` with Jaeger): a server span `cloud-run <service>` from arrival to the
 * answer, with a `queue` child when the request waited for a slot and a `cold start` child when
 * the instance it got became ready while it waited. The span id is chosen on arrival and goes
 * into the traceparent the instance receives, so the instance's own spans hang under it. The
 * proxy makes one only when a sink is set: tracing off costs one property read per request.
 */
import type http from 'node:http';
import type { SpanRecord, SpanSink } from '../../core/engine/tracing.js';
import { traceContext, type TraceContext } from './headers.js';
import type { Instance, Revision } from './revision.js';

/** What the proxy needs to trace a service's requests; absent (or no sink) means untraced. */
export interface RequestTracing {
  sink(): SpanSink | undefined;
  service: string;
  /** Whether to trace this request (trace-sampling.ts); absent: every request the caller did not opt out of. */
  sample?(forced: boolean): boolean;
}

/** Wall-clock ms with sub-ms precision (spans of a fast request are a fraction of a ms). */
const now = () => performance.timeOrigin + performance.now();

export class RequestSpan {
  readonly trace: TraceContext;
  private readonly startMs = now();
  private queue?: { startMs: number; endMs: number };
  private cold?: { startMs: number; endMs: number; ms: number };
  private ended = false;

  constructor(private readonly sink: SpanSink, private readonly service: string, private readonly req: http.IncomingMessage, sample?: (forced: boolean) => boolean) {
    this.trace = traceContext(req.headers);
    // A caller that sent a trace context decided (sampled: forced; not sampled: never); the rest
    // are the front end's to sample. Not sampled: the instance is told so and nothing is recorded.
    if (this.trace.sampled && sample) {
      const forced = req.headers.traceparent !== undefined || req.headers['x-cloud-trace-context'] !== undefined;
      if (!sample(forced)) this.trace = { ...this.trace, sampled: false };
    }
  }

  /** Starts timing a wait for a slot; call the returned function when the request has one. */
  queued(): (instance: Instance | undefined) => void {
    const startMs = now();
    return (instance) => {
      this.queue = { startMs, endMs: now() };
      const s = instance?.startup;
      if (s && s.readyAt >= this.startMs) this.cold = { startMs: Math.max(s.startedAt, this.startMs), endMs: s.readyAt, ms: s.readyAt - s.startedAt };
    };
  }

  /** Records the spans, once, unless the caller's trace is not sampled. */
  end(status: number, revision: Revision | undefined): void {
    if (this.ended || !this.trace.sampled) return;
    this.ended = true;
    const { traceId, spanId, parentSpanId } = this.trace;
    const endMs = now();
    const queueMs = this.queue ? this.queue.endMs - this.queue.startMs : 0;
    const base = { 'devloop.service': this.service, ...(revision ? { 'cloud_run.revision': revision.name } : {}) };
    const spans: SpanRecord[] = [{
      name: `cloud-run ${this.service}`, kind: 'server', traceId, spanId, parentSpanId, startMs: this.startMs, endMs,
      attributes: {
        ...base,
        'http.request.method': this.req.method ?? 'GET',
        'url.path': (this.req.url ?? '/').split('?')[0],
        'http.response.status_code': status,
        'cloud_run.cold_start': Boolean(this.cold),
        'cloud_run.queue_wait_ms': Math.round(queueMs * 10) / 10,
      },
      // 4xx is the client's; the front end failed only on 5xx (and 499 is the client leaving).
      status: status >= 500 ? { code: 'error', message: `HTTP ${status}` } : { code: 'unset' },
    }];
    if (this.queue) spans.push({ name: 'queue', traceId, parentSpanId: spanId, startMs: this.queue.startMs, endMs: this.queue.endMs, attributes: base });
    if (this.cold) spans.push({ name: 'cold start', traceId, parentSpanId: spanId, startMs: this.cold.startMs, endMs: this.cold.endMs, attributes: { ...base, 'cloud_run.cold_start_ms': this.cold.ms } });
    for (const s of spans) this.sink.span(s);
  }
}

/** A span for the request when the service is traced and a sink is set, else undefined. */
export function requestSpan(tracing: RequestTracing | undefined, req: http.IncomingMessage): RequestSpan | undefined {
  const sink = tracing?.sink();
  return sink ? new RequestSpan(sink, tracing!.service, req, tracing!.sample) : undefined;
}
