/**
 * The charts' history from the Prometheus the monitoring plugin started: a page opened after
 * minutes of traffic sees those minutes, and the figures are the ones Prometheus' own alerts
 * are computed from. Same figures as series.ts computes in-process, written in PromQL.
 */
import type { SeriesKey, SeriesSnapshot } from './protocol.js';

const RATE_WINDOW = '30s';
const QUERIES: Record<SeriesKey, string> = {
  rps: `sum by (service) (rate(devloop_cloudrun_requests_total[${RATE_WINDOW}]))`,
  errors: `sum by (service) (rate(devloop_cloudrun_requests_total{code_class="5xx"}[${RATE_WINDOW}]))`,
  p50Ms: `1000 * histogram_quantile(0.5, sum by (service, le) (rate(devloop_cloudrun_request_latency_seconds_bucket[${RATE_WINDOW}])))`,
  p99Ms: `1000 * histogram_quantile(0.99, sum by (service, le) (rate(devloop_cloudrun_request_latency_seconds_bucket[${RATE_WINDOW}])))`,
  ready: 'sum by (service) (devloop_cloudrun_instances{state="ready"})',
  starting: 'sum by (service) (devloop_cloudrun_instances{state="starting"})',
  busy: 'sum by (service) (devloop_cloudrun_instances{state="busy"})',
  queue: 'sum by (service) (devloop_cloudrun_queued_requests)',
  coldStarts: `sum by (service) (increase(devloop_cloudrun_cold_starts_total[${RATE_WINDOW}]))`,
  cpu: `sum by (service) (rate(devloop_service_cpu_seconds_total[${RATE_WINDOW}]))`,
  memoryMiB: 'sum by (service) (devloop_service_memory_bytes) / 1048576',
};

interface RangeAnswer {
  status: string;
  error?: string;
  data?: { result: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
}

/**
 * The last `seconds` at `stepS` resolution from Prometheus at `baseUrl`; undefined when it has
 * no samples yet (just started) so the in-process history is shown instead.
 */
export async function prometheusHistory(baseUrl: string, seconds = 300, stepS = 2, timeoutMs = 1500): Promise<SeriesSnapshot | undefined> {
  const end = Math.floor(Date.now() / 1000);
  const start = end - seconds;
  const t: number[] = [];
  for (let s = start; s <= end; s += stepS) t.push(s * 1000);
  const index = new Map(t.map((ms, i) => [ms / 1000, i]));
  const services: SeriesSnapshot['services'] = {};
  let any = false;
  const signal = AbortSignal.timeout(timeoutMs);
  await Promise.all((Object.entries(QUERIES) as [SeriesKey, string][]).map(async ([key, query]) => {
    const url = new URL('api/v1/query_range', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    url.search = new URLSearchParams({ query, start: String(start), end: String(end), step: `${stepS}s` }).toString();
    const res = await fetch(url, { signal });
    const body = await res.json() as RangeAnswer;
    if (body.status !== 'success') throw new Error(`Prometheus refused ${key}: ${body.error ?? res.status}`);
    for (const series of body.data?.result ?? []) {
      const service = series.metric.service;
      if (!service) continue;
      const col: (number | null)[] = new Array(t.length).fill(null);
      for (const [at, value] of series.values) {
        const i = index.get(at);
        const n = Number(value);
        if (i !== undefined && Number.isFinite(n)) { col[i] = Math.round(n * 1000) / 1000; any = true; }
      }
      (services[service] ??= {})[key] = col;
    }
  }));
  return any ? { intervalMs: stepS * 1000, source: 'prometheus', prometheus: baseUrl, t, services } : undefined;
}
