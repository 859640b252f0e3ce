/**
 * The dashboard's charts: one sample per service every interval, kept for a few minutes. The
 * figures come from devloop's own series, read in-process (no Prometheus needed): the Cloud Run
 * simulator's request counter and latency histogram (rates and quantiles over the interval, as
 * PromQL's rate() and histogram_quantile() would give), its instances and queue as published to
 * the store, and each deployment's CPU time and memory. When the monitoring plugin runs
 * Prometheus, the history a page opens with comes from it instead (prometheus-history.ts).
 */
import type { EngineState } from '../../core/store/state.js';
import type { SeriesKey, SeriesPoint, SeriesSnapshot, SeriesTick } from './protocol.js';
import { histogramQuantile, parsePromText } from './prom-text.js';

export interface SeriesInputs {
  getState(): EngineState;
  /** The session's Prometheus text (every plugin's sources); omitted: no request figures. */
  metrics?(): Promise<string> | string;
  /** A deployment's CPU seconds so far and memory now. */
  usage?(service: string): { cpuSeconds?: number; memoryBytes?: number } | undefined;
}

const REQUESTS = 'devloop_cloudrun_requests_total';
const LATENCY = 'devloop_cloudrun_request_latency_seconds_bucket';
const COLD_STARTS = 'devloop_cloudrun_cold_starts_total';
const NAMES = new Set([REQUESTS, LATENCY, COLD_STARTS]);

interface Totals {
  requests: number;
  errors: number;
  coldStarts: number;
  /** Cumulative latency bucket counts by upper bound. */
  buckets: Map<number, number>;
  cpuSeconds?: number;
}

export class SeriesSampler {
  private readonly t: number[] = [];
  private readonly columns = new Map<string, Map<SeriesKey, (number | null)[]>>();
  private previous = new Map<string, Totals>();
  private previousAt = 0;

  constructor(private readonly inputs: SeriesInputs, readonly intervalMs = 1000, readonly points = 300) {}

  /** Takes one sample of every service and keeps it; the tick is what the pages are sent. */
  async sample(now = Date.now()): Promise<SeriesTick> {
    const state = this.inputs.getState();
    let text = '';
    try { text = this.inputs.metrics ? await this.inputs.metrics() : ''; } catch { text = ''; }
    const totals = totalsOf(text);
    const dt = this.previousAt ? (now - this.previousAt) / 1000 : 0;
    const points: Record<string, SeriesPoint> = {};
    for (const name of state.order) {
      const s = state.services[name];
      if (!s) continue;
      const cur: Totals = totals.get(name) ?? { requests: 0, errors: 0, coldStarts: 0, buckets: new Map() };
      let usage;
      try { usage = this.inputs.usage?.(name); } catch { usage = undefined; }
      cur.cpuSeconds = usage?.cpuSeconds;
      const prev = this.previous.get(name);
      const p: SeriesPoint = {};
      const cr = s.extra['cloud-run'] as { revisions?: Array<{ instances?: { ready?: number; starting?: number; busy?: number } }>; queueDepth?: number } | undefined;
      if (cr) {
        let ready = 0, starting = 0, busy = 0;
        for (const r of cr.revisions ?? []) {
          ready += r.instances?.ready ?? 0;
          starting += r.instances?.starting ?? 0;
          busy += r.instances?.busy ?? 0;
        }
        Object.assign(p, { ready, starting, busy, queue: cr.queueDepth ?? 0 });
      }
      if (totals.has(name) && prev && dt > 0) {
        // A counter that went down was reset (the simulator restarted): count from zero, as rate() does.
        const delta = (a: number, b: number) => (a >= b ? a - b : a);
        p.rps = round(delta(cur.requests, prev.requests) / dt);
        p.errors = round(delta(cur.errors, prev.errors) / dt);
        p.coldStarts = delta(cur.coldStarts, prev.coldStarts);
        const buckets = [...cur.buckets].map(([le, count]) => ({ le, count: delta(count, prev.buckets.get(le) ?? 0) }));
        const p50 = histogramQuantile(0.5, buckets);
        const p99 = histogramQuantile(0.99, buckets);
        if (p50 !== undefined) p.p50Ms = round(p50 * 1000);
        if (p99 !== undefined) p.p99Ms = round(p99 * 1000);
      }
      if (cur.cpuSeconds !== undefined && prev?.cpuSeconds !== undefined && dt > 0) p.cpu = round(Math.max(0, cur.cpuSeconds - prev.cpuSeconds) / dt);
      if (usage?.memoryBytes !== undefined) p.memoryMiB = round(usage.memoryBytes / 2 ** 20);
      this.previous.set(name, cur);
      if (Object.keys(p).length) points[name] = p;
    }
    for (const name of this.previous.keys()) if (!state.services[name]) this.previous.delete(name);
    this.previousAt = now;
    this.keep(now, points);
    return { t: now, points };
  }

  /** The history, column-oriented as uPlot takes it. */
  snapshot(): SeriesSnapshot {
    const services: SeriesSnapshot['services'] = {};
    for (const [name, cols] of this.columns) {
      const out: Partial<Record<SeriesKey, (number | null)[]>> = {};
      for (const [key, values] of cols) out[key] = [...values];
      services[name] = out;
    }
    return { intervalMs: this.intervalMs, source: 'devloop', t: [...this.t], services };
  }

  private keep(now: number, points: Record<string, SeriesPoint>): void {
    this.t.push(now);
    const n = this.t.length;
    for (const [name, p] of Object.entries(points)) {
      let cols = this.columns.get(name);
      if (!cols) this.columns.set(name, cols = new Map());
      for (const [key, value] of Object.entries(p) as [SeriesKey, number][]) {
        let col = cols.get(key);
        if (!col) cols.set(key, col = []);
        while (col.length < n - 1) col.push(null);
        col.push(value);
      }
    }
    // Every column as long as t (a service that stopped reporting a figure gets nulls).
    for (const cols of this.columns.values()) for (const col of cols.values()) while (col.length < n) col.push(null);
    if (n > this.points) {
      const cut = n - this.points;
      this.t.splice(0, cut);
      for (const [name, cols] of this.columns) {
        for (const [key, col] of cols) {
          col.splice(0, cut);
          if (col.every((v) => v === null)) cols.delete(key);
        }
        if (!cols.size) this.columns.delete(name);
      }
    }
  }
}

function totalsOf(text: string): Map<string, Totals> {
  const out = new Map<string, Totals>();
  if (!text) return out;
  const of = (service: string) => {
    let t = out.get(service);
    if (!t) out.set(service, t = { requests: 0, errors: 0, coldStarts: 0, buckets: new Map() });
    return t;
  };
  for (const s of parsePromText(text, NAMES)) {
    const service = s.labels.service;
    if (!service || !Number.isFinite(s.value) && s.name !== LATENCY) continue;
    const t = of(service);
    if (s.name === REQUESTS) {
      t.requests += s.value;
      if (s.labels.code_class === '5xx') t.errors += s.value;
    } else if (s.name === COLD_STARTS) t.coldStarts += s.value;
    else {
      const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
      if (!Number.isNaN(le)) t.buckets.set(le, (t.buckets.get(le) ?? 0) + s.value);
    }
  }
  return out;
}

const round = (n: number) => Math.round(n * 1000) / 1000;
