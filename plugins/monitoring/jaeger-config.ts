/**
 * The config devloop writes for the Jaeger it starts (pure: ports in, YAML out). Jaeger v2
 * (`jaeger` of jaegertracing/jaeger >= 1.6x) is an OpenTelemetry Collector build: this is its
 * all-in-one config (cmd/jaeger/internal/all-in-one.yaml) cut down to what devloop needs. Every
 * listener is on 127.0.0.1 with a port devloop chose: the all-in-one default listens on nine
 * fixed ports (gRPC receivers, Zipkin, sampling, zpages, its own metrics on :8888) that a second
 * session or the developer's own Jaeger would already hold.
 */
import { stringify } from 'yaml';

export interface JaegerPorts {
  /** OTLP over HTTP (`/v1/traces`): devloop's spans and the services' own. */
  otlpHttp: number;
  /** Query API (`/api/traces/<id>`) and UI. */
  ui: number;
  /** Query over gRPC (no user; it cannot be turned off). */
  queryGrpc: number;
  /** Health check: 200 once the pipeline (receiver included) runs. */
  health: number;
}

export function jaegerConfig(p: JaegerPorts, maxTraces = 50_000): string {
  const at = (port: number) => `127.0.0.1:${port}`;
  return stringify({
    service: {
      extensions: ['jaeger_storage', 'jaeger_query', 'healthcheckv2'],
      pipelines: { traces: { receivers: ['otlp'], processors: ['batch'], exporters: ['jaeger_storage_exporter'] } },
      // level none: no Prometheus endpoint of its own (the default takes :8888).
      telemetry: { resource: { 'service.name': 'jaeger' }, metrics: { level: 'none' }, logs: { level: 'warn' } },
    },
    extensions: {
      // Spans live in memory: a session's traces go when devloop stops, as the dev loop wants.
      jaeger_storage: { backends: { devloop_memory: { memory: { max_traces: maxTraces } } } },
      jaeger_query: { storage: { traces: 'devloop_memory' }, http: { endpoint: at(p.ui) }, grpc: { endpoint: at(p.queryGrpc) } },
      // The v1-style endpoint answers 200 only once every component started; the query API alone
      // answers before the OTLP receiver listens.
      healthcheckv2: { endpoint: at(p.health), path: '/status' },
    },
    receivers: { otlp: { protocols: { http: { endpoint: at(p.otlpHttp) } } } },
    processors: { batch: { timeout: '200ms' } },
    exporters: { jaeger_storage_exporter: { trace_storage: 'devloop_memory' } },
  });
}
