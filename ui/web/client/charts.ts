/**
 * The charts (uPlot): one per figure, for the selected service or all services together. Data is
 * appended on each `series` event; charts redraw in the next animation frame, and only those on
 * screen (an IntersectionObserver keeps track). A chart whose figures the service does not
 * report says so and why, instead of an empty grid.
 */
import uPlot from 'uplot';
import type { SeriesKey } from '../protocol.js';
import { h, link } from './dom.js';
import type { Columns, SeriesStore } from './series.js';

interface ChartDef {
  id: string;
  title: string;
  series: { key: SeriesKey; label: string; colour: string; dash?: number[] }[];
  why: string;
}

const CLOUD_RUN = 'only Cloud Run services report requests';
const CHARTS: ChartDef[] = [
  { id: 'rps', title: 'requests / s', series: [{ key: 'rps', label: 'rps', colour: '#4cc2ff' }], why: CLOUD_RUN },
  { id: 'errors', title: '5xx errors / s', series: [{ key: 'errors', label: '5xx/s', colour: '#ff6b6b' }], why: CLOUD_RUN },
  { id: 'latency', title: 'latency (ms)', series: [{ key: 'p50Ms', label: 'p50', colour: '#7ee787' }, { key: 'p99Ms', label: 'p99', colour: '#f0b72f' }], why: CLOUD_RUN },
  {
    id: 'instances', title: 'instances by state',
    series: [{ key: 'ready', label: 'ready', colour: '#7ee787' }, { key: 'busy', label: 'busy', colour: '#4cc2ff' }, { key: 'starting', label: 'starting', colour: '#f0b72f' }, { key: 'queue', label: 'queued req', colour: '#ff6b6b', dash: [4, 3] }],
    why: 'only Cloud Run services have instances',
  },
  { id: 'coldstarts', title: 'cold starts / interval', series: [{ key: 'coldStarts', label: 'cold starts', colour: '#d2a8ff' }], why: 'only Cloud Run services have cold starts' },
  { id: 'cpu', title: 'CPU (cores)', series: [{ key: 'cpu', label: 'cores', colour: '#ff9bce' }], why: 'no CPU figures: devloop samples the processes and containers it runs once they are up' },
  { id: 'memory', title: 'memory (MiB)', series: [{ key: 'memoryMiB', label: 'MiB', colour: '#a5d6ff' }], why: 'no memory figures: devloop samples the processes and containers it runs once they are up' },
];

const HEIGHT = 104;
const ALL_SERVICES = '__all__';

interface Chart { def: ChartDef; el: HTMLElement; plotEl: HTMLElement; empty: HTMLElement; plot?: uPlot; visible: boolean; drawn: string }

export class Charts {
  readonly el: HTMLElement;
  private charts: Chart[] = [];
  private scope: HTMLSelectElement;
  private source = h('span', { class: 'source' });
  private titleEl = h('span', { class: 'target' });
  private selected: string | undefined;
  private dirty = true;

  /** `targetOf` names a service's runtime: a Cloud Run service with no figures yet has had no requests, it does report them. */
  constructor(private store: SeriesStore, private requestPaint: () => void, private targetOf: (service: string) => string | undefined = () => undefined) {
    this.scope = h('select', { id: 'chart-scope', title: 'whose figures' },
      h('option', { value: '' }, 'selected service'), h('option', { value: ALL_SERVICES }, 'all services (sum; max latency)'));
    this.scope.addEventListener('change', () => this.invalidate());
    const grid = h('div', { class: 'chart-grid' });
    const seen = new IntersectionObserver((entries) => {
      for (const e of entries) {
        const c = this.charts.find((x) => x.el === e.target);
        if (c) c.visible = e.isIntersecting;
      }
      this.invalidate();
    });
    const resize = new ResizeObserver(() => { for (const c of this.charts) c.drawn = ''; this.invalidate(); });
    for (const def of CHARTS) {
      const plotEl = h('div', { class: 'plot' });
      const empty = h('div', { class: 'nodata' });
      const el = h('div', { class: 'chart', 'data-series': def.id }, h('div', { class: 'chart-title' }, def.title), plotEl, empty);
      grid.append(el);
      this.charts.push({ def, el, plotEl, empty, visible: true, drawn: '' });
      seen.observe(el);
      resize.observe(plotEl);
    }
    this.el = h('section', { id: 'charts', class: 'panel' },
      h('div', { class: 'bar' }, h('strong', null, 'Charts'), this.titleEl, this.scope, h('span', { class: 'spacer' }), this.source), grid);
  }

  select(name: string | undefined): void {
    this.selected = name;
    this.invalidate();
  }

  private why(service: string, def: ChartDef): string {
    if (this.targetOf(service) === 'cloud-run' && def.why.startsWith('only Cloud Run')) return def.id === 'instances' ? 'none sampled yet' : 'no requests yet';
    return def.why;
  }

  invalidate(): void {
    this.dirty = true;
    this.requestPaint();
  }

  paint(): boolean {
    if (!this.dirty) return false;
    this.dirty = false;
    const all = this.scope.value === ALL_SERVICES;
    const name = all ? ALL_SERVICES : this.selected;
    this.titleEl.textContent = all ? 'all services' : this.selected ?? '(no service selected)';
    this.source.replaceChildren('source: ', this.store.source === 'prometheus' && this.store.prometheus ? link(this.store.prometheus, `Prometheus ${this.store.prometheus}`) : `devloop (every ${this.store.intervalMs / 1000} s)`);
    let cols: Columns | undefined;
    const getCols = () => (cols ??= all ? this.store.aggregate() : name ? this.store.services.get(name) : undefined);
    const key = `${name}\u0000${this.store.version}`;
    for (const c of this.charts) {
      if (!c.visible || c.drawn === key) continue;
      const width = c.plotEl.clientWidth;
      if (width <= 0) continue;
      c.drawn = key;
      const data = getCols();
      const columns = c.def.series.map((s) => data?.[s.key] ?? []);
      const hasData = columns.some((col) => col.some((v) => v !== null && v !== undefined));
      c.el.classList.toggle('empty', !hasData);
      c.empty.textContent = hasData ? '' : `no data (${name ? (all ? 'no service reports this' : this.why(name, c.def)) : 'select a service'})`;
      const aligned = [this.store.t, ...columns.map((col) => (col.length === this.store.t.length ? col : new Array(this.store.t.length).fill(null)))] as uPlot.AlignedData;
      if (!c.plot) c.plot = new uPlot(options(c.def, width), aligned, c.plotEl);
      else {
        if (c.plot.width !== width) c.plot.setSize({ width, height: HEIGHT });
        c.plot.setData(aligned);
        // The legend shows the latest values when the cursor is away: refresh it with the data.
        if (c.plot.cursor.idx === null || c.plot.cursor.idx === undefined) c.plot.setLegend({ idx: null as unknown as number });
      }
    }
    return true;
  }
}

function options(def: ChartDef, width: number): uPlot.Options {
  const axis: uPlot.Axis = { stroke: '#8b949e', grid: { stroke: '#21262d', width: 1 }, ticks: { stroke: '#30363d', width: 1 }, font: '10px system-ui, sans-serif', size: 28 };
  return {
    width, height: HEIGHT,
    cursor: { sync: { key: 'devloop' }, drag: { x: false, y: false } },
    legend: { show: true, live: true },
    scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min ?? 0), max !== null && max > 0 ? max * 1.15 : 1] } },
    axes: [{ ...axis, space: 60 }, { ...axis, size: 40, values: (_u, splits) => splits.map(compact) }],
    series: [{}, ...def.series.map((s) => ({ label: s.label, stroke: s.colour, width: 1.5, dash: s.dash, spanGaps: false, points: { show: false }, value: latest }))],
  };
}

/** The legend's value: under the cursor when it is on the chart, else the latest one (not "--"). */
function latest(u: uPlot, value: number | null, seriesIdx: number, idx: number | null): string {
  let v = value;
  if (idx === null || idx === undefined) {
    const col = u.data[seriesIdx] ?? [];
    v = null;
    for (let i = col.length - 1; i >= 0 && v === null; i--) v = col[i] ?? null;
  }
  if (v === null || v === undefined) return '–';
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : String(Math.round(v * 100) / 100);
}

/** Axis labels that fit the axis: 2000 → 2k, 1500000 → 1.5M. */
function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(0)}k`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return String(+v.toFixed(2));
}
