/**
 * Prometheus metrics of the Cloud Run simulator, per service and revision: requests by status,
 * request latency, instances by state, requests in flight and queued, cold starts, and requests
 * the simulator refused (429/500/503/504, as Cloud Run would, and 502 for a bad exchange with an instance). They live on their own
 * `Registry`, never prom-client's global one, so two simulators (or tests) never share series.
 *
 * Names follow Prometheus conventions: a prefix (`devloop_cloudrun_`), base units in the name
 * (`_seconds`), `_total` on counters. `serveMetrics` exposes them at `GET /metrics` on
 * 127.0.0.1 unless told otherwise.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { serveMetricsEndpoint, type MetricsEndpoint } from '../shared/metrics-endpoint.js';

export type { MetricsEndpoint } from '../shared/metrics-endpoint.js';

/** Request latency: 1 ms up to Cloud Run's 300 s default request timeout (its maximum is 3600 s). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Cold starts: a Go binary starts in ~100 ms, a Node service in seconds, a slow one in minutes. */
const COLD_START_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 30, 60, 120, 240];

type Labels = Record<string, string>;
/** What every metric kind offers for dropping one label set. */
interface Removable {
  remove(labels: Labels): void;
}

export class CloudRunMetrics {
  readonly registry: Registry;
  private readonly requests: Counter<'service' | 'revision' | 'code_class' | 'code'>;
  private readonly latency: Histogram<'service' | 'revision'>;
  private readonly instances: Gauge<'service' | 'revision' | 'state'>;
  private readonly inFlight: Gauge<'service' | 'revision'>;
  private readonly queued: Gauge<'service' | 'revision'>;
  private readonly coldStartSeconds: Histogram<'service' | 'revision'>;
  private readonly coldStarts: Counter<'service' | 'revision'>;
  private readonly rejections: Counter<'service' | 'revision' | 'code'>;
  /** Label sets written, by revision, so `removeRevision` can drop every one of them. */
  private readonly written = new Map<string, Map<Removable, Map<string, Labels>>>();

  constructor(prefix = 'devloop_cloudrun_') {
    this.registry = new Registry();
    const registers = [this.registry];
    this.requests = new Counter({
      name: `${prefix}requests_total`,
      help: 'Requests the simulated Cloud Run service answered, by revision and HTTP status (code_class is 2xx, 4xx, ...).',
      labelNames: ['service', 'revision', 'code_class', 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: `${prefix}request_latency_seconds`,
      help: 'Time from receiving a request to finishing its response, queueing and cold start included, in seconds.',
      labelNames: ['service', 'revision'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.instances = new Gauge({
      name: `${prefix}instances`,
      help: 'Container instances of a revision by state: starting (startup probe not yet passed), ready (serving), busy (ready, with requests in flight), idle (ready, none in flight).',
      labelNames: ['service', 'revision', 'state'],
      registers,
    });
    this.inFlight = new Gauge({
      name: `${prefix}in_flight_requests`,
      help: 'Requests being served by the instances of a revision now.',
      labelNames: ['service', 'revision'],
      registers,
    });
    this.queued = new Gauge({
      name: `${prefix}queued_requests`,
      help: 'Requests waiting for a free instance slot of a revision now.',
      labelNames: ['service', 'revision'],
      registers,
    });
    this.coldStartSeconds = new Histogram({
      name: `${prefix}cold_start_seconds`,
      help: 'Time from launching an instance to its startup probe passing, in seconds.',
      labelNames: ['service', 'revision'],
      buckets: COLD_START_BUCKETS,
      registers,
    });
    this.coldStarts = new Counter({
      name: `${prefix}cold_starts_total`,
      help: 'Instances started (cold starts) for a revision.',
      labelNames: ['service', 'revision'],
      registers,
    });
    this.rejections = new Counter({
      name: `${prefix}rejected_requests_total`,
      help: 'Requests the simulator refused as Cloud Run would: 429 queue wait exceeded at max instances, 500 no available instance, 502 an exchange with an instance that cannot be passed on, 503 instance crashed or never ready, 504 request timeout.',
      labelNames: ['service', 'revision', 'code'],
      registers,
    });
  }

  /** One request answered with `status` after `seconds`. */
  requestFinished(service: string, revision: string, status: number, seconds: number): void {
    const code = String(status);
    const codeClass = status >= 100 && status < 600 ? `${Math.floor(status / 100)}xx` : 'other';
    this.requests.inc(this.track(this.requests, { service, revision, code_class: codeClass, code }));
    this.latency.observe(this.track(this.latency, { service, revision }), Math.max(0, seconds));
  }

  setInstances(service: string, revision: string, counts: { starting: number; ready: number; busy: number; idle: number }): void {
    for (const state of ['starting', 'ready', 'busy', 'idle'] as const) {
      this.instances.set(this.track(this.instances, { service, revision, state }), counts[state]);
    }
  }

  setInFlight(service: string, revision: string, n: number): void {
    this.inFlight.set(this.track(this.inFlight, { service, revision }), n);
  }

  setQueueDepth(service: string, revision: string, n: number): void {
    this.queued.set(this.track(this.queued, { service, revision }), n);
  }

  /** One instance became ready `seconds` after it was launched. */
  coldStart(service: string, revision: string, seconds: number): void {
    this.coldStartSeconds.observe(this.track(this.coldStartSeconds, { service, revision }), Math.max(0, seconds));
    this.coldStarts.inc(this.track(this.coldStarts, { service, revision }));
  }

  /** One request refused with `status`. Counted here only; `requestFinished` is the caller's to call. */
  rejected(service: string, revision: string, status: 429 | 500 | 502 | 503 | 504): void {
    this.rejections.inc(this.track(this.rejections, { service, revision, code: String(status) }));
  }

  /** Drops every series of a revision (it was deleted), so /metrics stops reporting it. */
  removeRevision(service: string, revision: string): void {
    const key = revisionKey(service, revision);
    for (const [metric, sets] of this.written.get(key) ?? []) for (const labels of sets.values()) metric.remove(labels);
    this.written.delete(key);
  }

  /** The exposition text of every metric. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** Remembers a label set under its revision and returns it. */
  private track<T extends Labels & { service: string; revision: string }>(metric: Removable, labels: T): T {
    const key = revisionKey(labels.service, labels.revision);
    let byMetric = this.written.get(key);
    if (!byMetric) this.written.set(key, (byMetric = new Map()));
    let sets = byMetric.get(metric);
    if (!sets) byMetric.set(metric, (sets = new Map()));
    const id = JSON.stringify(labels);
    if (!sets.has(id)) sets.set(id, labels);
    return labels;
  }
}

const revisionKey = (service: string, revision: string) => `${service}\0${revision}`;

/** GET /metrics on 127.0.0.1 (plugins/shared/metrics-endpoint.ts). */
export function serveMetrics(metrics: CloudRunMetrics, options: { host?: string; port?: number } = {}): Promise<MetricsEndpoint> {
  return serveMetricsEndpoint({ what: 'The devloop metrics endpoint', collect: () => metrics.metrics(), contentType: metrics.registry.contentType, ...options });
}
