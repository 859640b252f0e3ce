/**
 * devloop's own spans, exported to the session's Jaeger over OTLP/HTTP with the OpenTelemetry
 * SDK. Loaded by the monitoring runtime only once Jaeger is ready, so a project without
 * `monitoring.jaeger` never loads the SDK. Other plugins do not import this: they hand plain
 * records to `engine.tracing.sink` (core/engine/tracing.ts), which this file implements.
 *
 * A record arrives after its span ended, with its ids already chosen (the Cloud Run front end put
 * the span id into the traceparent it forwarded). The SDK draws ids from its IdGenerator, so a
 * generator that hands out the record's ids for the one span being started keeps them; the
 * parent comes in as a remote span context, as a propagator would give it.
 */
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Tracer } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, RandomIdGenerator, type IdGenerator } from '@opentelemetry/sdk-trace-base';
import type { SpanRecord, SpanSink } from '../../core/engine/tracing.js';

const KINDS = { server: SpanKind.SERVER, client: SpanKind.CLIENT, internal: SpanKind.INTERNAL } as const;
const STATUS = { ok: SpanStatusCode.OK, error: SpanStatusCode.ERROR, unset: SpanStatusCode.UNSET } as const;
const HEX_SPAN = /^[0-9a-f]{16}$/;
const HEX_TRACE = /^[0-9a-f]{32}$/;

/** Random ids, except the ones set for the span being started right now (synchronously). */
class GivenIds implements IdGenerator {
  private readonly random = new RandomIdGenerator();
  next?: { traceId?: string; spanId?: string };
  generateTraceId(): string { return this.next?.traceId ?? this.random.generateTraceId(); }
  generateSpanId(): string { return this.next?.spanId ?? this.random.generateSpanId(); }
}

export interface SpanExport extends SpanSink {
  /** Sends what is buffered and stops; spans recorded later are dropped. */
  shutdown(): Promise<void>;
}

/**
 * A sink sending spans of service `devloop` to `endpoint` (the OTLP/HTTP base URL,
 * `http://127.0.0.1:4318`). Batches go out every `delayMs` (1 s: a trace shows up while the
 * developer still looks at the request that made it).
 */
export function startSpanExport(endpoint: string, attributes: Record<string, string> = {}, delayMs = 1_000): SpanExport {
  const ids = new GivenIds();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'devloop', ...attributes }),
    idGenerator: ids,
    // Whether to record was decided by the caller (a traceparent's sampled flag); OTEL_TRACES_SAMPLER in devloop's env must not drop them.
    sampler: new AlwaysOnSampler(),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, '')}/v1/traces` }), { scheduledDelayMillis: delayMs })],
  });
  const tracer: Tracer = provider.getTracer('devloop');
  let closed = false;
  return {
    span(r: SpanRecord): void {
      if (closed || !HEX_TRACE.test(r.traceId)) return;
      const parent = r.parentSpanId && HEX_SPAN.test(r.parentSpanId)
        ? trace.setSpanContext(ROOT_CONTEXT, { traceId: r.traceId, spanId: r.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: true })
        : ROOT_CONTEXT;
      ids.next = { traceId: r.traceId, spanId: r.spanId && HEX_SPAN.test(r.spanId) ? r.spanId : undefined };
      try {
        const span = context.with(parent, () => tracer.startSpan(r.name, { kind: KINDS[r.kind ?? 'internal'], startTime: r.startMs, attributes: r.attributes }, parent));
        if (r.status && r.status.code !== 'unset') span.setStatus({ code: STATUS[r.status.code], message: r.status.message });
        span.end(Math.max(r.endMs, r.startMs));
      } catch {
        // A span is never worth a failed request or step.
      } finally {
        ids.next = undefined;
      }
    },
    async shutdown(): Promise<void> {
      if (closed) return;
      closed = true;
      await provider.shutdown().catch(() => {});
    },
  };
}
