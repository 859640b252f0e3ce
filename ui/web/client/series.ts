/**
 * Chart history, column-oriented as uPlot takes it: the snapshot from `hello`, then one column
 * per `series` tick, trimmed to the server's history length. A service missing from a tick gets
 * null (a gap), not a carried-over value.
 */
import { SERIES_KEYS, type SeriesKey, type SeriesSnapshot, type SeriesTick } from '../protocol.js';

/** The server keeps 300 samples; a longer hello history raises the cap to match it. */
const DEFAULT_HISTORY = 300;

export type Columns = Record<SeriesKey, (number | null)[]>;

export class SeriesStore {
  /** Sample times in seconds (uPlot's time scale unit). */
  t: number[] = [];
  services = new Map<string, Columns>();
  source: SeriesSnapshot['source'] = 'devloop';
  prometheus: string | undefined;
  intervalMs = 1000;
  private cap = DEFAULT_HISTORY;
  version = 0;

  reset(snap: SeriesSnapshot): void {
    this.t = snap.t.map((ms) => ms / 1000);
    this.cap = Math.max(DEFAULT_HISTORY, snap.t.length);
    this.source = snap.source;
    this.prometheus = snap.prometheus;
    this.intervalMs = snap.intervalMs;
    this.services.clear();
    for (const [name, cols] of Object.entries(snap.services)) {
      const c = this.empty(0);
      for (const k of SERIES_KEYS) {
        const src = cols[k];
        c[k] = src && src.length === snap.t.length ? src.slice() : new Array(snap.t.length).fill(null);
      }
      this.services.set(name, c);
    }
    this.version++;
  }

  push(tick: SeriesTick): void {
    const n = this.t.length;
    this.t.push(tick.t / 1000);
    for (const name of Object.keys(tick.points)) if (!this.services.has(name)) this.services.set(name, this.empty(n));
    for (const [name, cols] of this.services) {
      const p = tick.points[name];
      for (const k of SERIES_KEYS) cols[k].push(p?.[k] ?? null);
    }
    if (this.t.length > this.cap) {
      const cut = this.t.length - this.cap;
      this.t.splice(0, cut);
      for (const cols of this.services.values()) for (const k of SERIES_KEYS) cols[k].splice(0, cut);
    }
    this.version++;
  }

  drop(name: string): void {
    if (this.services.delete(name)) this.version++;
  }

  /** Every service at once: sums, except latency, where the worst service is what matters. */
  aggregate(): Columns {
    const out = this.empty(this.t.length);
    for (const k of SERIES_KEYS) {
      const max = k === 'p50Ms' || k === 'p99Ms';
      const col = out[k];
      for (const cols of this.services.values()) {
        const src = cols[k];
        for (let i = 0; i < src.length; i++) {
          const v = src[i];
          if (v === null || v === undefined) continue;
          const cur = col[i];
          col[i] = cur === null ? v : max ? Math.max(cur, v) : cur + v;
        }
      }
    }
    return out;
  }

  private empty(n: number): Columns {
    const c = {} as Columns;
    for (const k of SERIES_KEYS) c[k] = new Array(n).fill(null);
    return c;
  }
}
