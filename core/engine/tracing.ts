/**
 * Where finished spans go, when some plugin keeps traces. `devloop:monitoring` sets the sink
 * while its Jaeger runs; other plugins (the Cloud Run front end) hand it plain records, so they
 * never load a tracing SDK, and without a sink they skip the work entirely (check `sink` before
 * gathering anything). Core stays free of OpenTelemetry for the same reason it stays free of
 * prom-client (see metrics.ts).
 *
 * Spans are given after they ended, with their ids fixed by the caller: a front end puts the
 * span id into the `traceparent` it forwards before it knows the status, and the instance's own
 * spans must find that id as their parent.
 */
export interface SpanRecord {
  name: string;
  /** 32 lowercase hex digits. */
  traceId: string;
  /** 16 hex digits; absent for a trace's root span. */
  parentSpanId?: string;
  /** 16 hex digits; a random one when absent. */
  spanId?: string;
  /** Milliseconds since the epoch (fractions kept). */
  startMs: number;
  endMs: number;
  /** `server` for a request received, `internal` (the default) for work inside devloop. */
  kind?: 'server' | 'client' | 'internal';
  attributes?: Record<string, string | number | boolean>;
  /** `error` marks the span failed, with `message` saying why. */
  status?: { code: 'ok' | 'error' | 'unset'; message?: string };
}

export interface SpanSink {
  /** Records one finished span; never throws, never waits (exporting is batched). */
  span(record: SpanRecord): void;
}

export class Tracing {
  /** Set by the plugin that exports spans, while it does. */
  sink?: SpanSink;
}
