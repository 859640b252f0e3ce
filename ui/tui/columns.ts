/**
 * The resource table's columns. Each column knows its header, how to render one service into a
 * cell, and how much it matters: when the terminal is narrow the least important columns go
 * first. Plugin columns exist only while some service carries that plugin's value, so a project
 * without Cloud Run never sees an empty INST column.
 *
 * The order columns are dropped in (lowest priority first), and why:
 *   IMAGE, BUILD → RUN   fixed per service; the details view (enter) has both
 *   TRIGGER              auto/manual changes only when you press t; the footer and details say it
 *   RESTARTS             a crash already shows in STATUS and NOTE
 *   $/HOUR, MEM, VCPU    Autopilot estimates: they change only with the Devfile
 *   LAST BUILD           wide, and the log's update summary says each build as it happens
 *   QUEUE                requests waiting for an instance: why INST is growing
 *   HEALTH               STATUS already says healthy or unhealthy
 *   INST                 what the Cloud Run simulator is doing right now (the quickstart's point)
 *   URL, NOTE, STATUS, SERVICE   last: what it is, whether it works, where, and what is wrong
 */
import type { EngineState, ServiceState } from '../../core/store/state.js';
import { buildText, fit, gib, shortImage, urlsText, usd, value } from './format.js';
import type { Segment } from './ansi.js';
import { BUSY_PHASES, HEALTH, PHASE_COLOUR, phaseGlyph } from './theme.js';

export type Cell = Segment;

export interface Column {
  id: string;
  header: string;
  /** Widest it grows to; the flexible column takes what is left instead. */
  max: number;
  align?: 'left' | 'right';
  /** Higher stays longer when space runs out. */
  priority: number;
  flex?: boolean;
  cell(s: ServiceState, now: number): Cell;
  /** Plugin columns: shown only when some service has a value. */
  present?(s: ServiceState): boolean;
}

const extra = (s: ServiceState, plugin: string, key: string): unknown => s.extra[plugin]?.[key];
const has = (plugin: string, key: string) => (s: ServiceState) => extra(s, plugin, key) !== undefined && extra(s, plugin, key) !== null;

export const COLUMNS: Column[] = [
  { id: 'name', header: 'SERVICE', max: 28, priority: 100, cell: (s) => ({ text: s.name }) },
  {
    id: 'kind', header: 'BUILD → RUN', max: 26, priority: 40,
    cell: (s) => ({ text: `${s.kind} → ${s.target}`, dim: true }),
  },
  {
    id: 'phase', header: 'STATUS', max: 13, priority: 99,
    cell: (s, now) => ({ text: `${phaseGlyph(s.phase, now)} ${s.phase}`, colour: PHASE_COLOUR[s.phase] }),
  },
  {
    id: 'mode', header: 'TRIGGER', max: 7, priority: 52,
    cell: (s) => (s.triggerMode === 'manual' ? { text: 'manual', colour: 'yellow' } : { text: 'auto', dim: true }),
  },
  {
    id: 'build', header: 'LAST BUILD', max: 38, priority: 64,
    cell: (s, now) => ({ text: buildText(s, now), colour: !s.currentBuild && s.lastBuild?.error ? 'red' : undefined, dim: !s.currentBuild && !!s.lastBuild?.cancelled }),
  },
  { id: 'image', header: 'IMAGE', max: 26, priority: 30, cell: (s) => ({ text: shortImage(s.image), dim: true }) },
  { id: 'url', header: 'URL', max: 42, priority: 80, cell: (s) => ({ text: urlsText(s), colour: 'blue' }) },
  { id: 'health', header: 'HEALTH', max: 9, priority: 74, cell: (s) => HEALTH[s.health] },
  {
    id: 'restarts', header: 'RESTARTS', max: 8, align: 'right', priority: 54,
    cell: (s) => (s.restarts ? { text: String(s.restarts), colour: 'yellow' } : { text: '0', dim: true }),
  },
  {
    id: 'cr-instances', header: 'INST', max: 6, align: 'right', priority: 76, present: has('cloud-run', 'instances'),
    cell: (s) => ({ text: value(extra(s, 'cloud-run', 'instances')) }),
  },
  {
    id: 'cr-queue', header: 'QUEUE', max: 6, align: 'right', priority: 68, present: has('cloud-run', 'queueDepth'),
    cell: (s) => {
      const q = extra(s, 'cloud-run', 'queueDepth');
      return { text: value(q), colour: typeof q === 'number' && q > 0 ? 'yellow' : undefined };
    },
  },
  {
    id: 'ap-vcpu', header: 'VCPU', max: 6, align: 'right', priority: 60, present: has('autopilot', 'vcpu'),
    cell: (s) => ({ text: value(extra(s, 'autopilot', 'vcpu')) }),
  },
  {
    id: 'ap-mem', header: 'MEM', max: 8, align: 'right', priority: 59, present: has('autopilot', 'memoryGiB'),
    cell: (s) => ({ text: gib(extra(s, 'autopilot', 'memoryGiB')) }),
  },
  {
    id: 'ap-cost', header: '$/HOUR', max: 8, align: 'right', priority: 58, present: has('autopilot', 'usdPerHour'),
    cell: (s) => ({ text: usd(extra(s, 'autopilot', 'usdPerHour')) }),
  },
  { id: 'note', header: 'NOTE', max: Infinity, priority: 90, flex: true, cell: noteCell },
];

/** The one thing worth knowing that no other column says. */
function noteCell(s: ServiceState): Cell {
  if (s.phase === 'failed' && s.error) return { text: firstLine(s.error.message), colour: 'red' };
  if (s.waiting) return { text: s.waiting, dim: true };
  if (s.triggerMode === 'manual' && s.pendingFiles.length) {
    return { text: `${s.pendingFiles.length} file${s.pendingFiles.length > 1 ? 's' : ''} changed · r to rebuild`, colour: 'yellow' };
  }
  if (s.health === 'unhealthy' && s.healthMessage) return { text: firstLine(s.healthMessage), colour: 'red' };
  if (s.error) return { text: firstLine(s.error.message), colour: 'red' };
  return { text: '' };
}

function firstLine(text: string): string {
  const i = text.indexOf('\n');
  return i < 0 ? text : `${text.slice(0, i)} …`;
}

export const GAP = 2;
/** The selection marker before the first column. */
export const MARKER = 2;
/** The flexible column keeps at least this much, or its longest text if shorter, before weaker columns go. */
const FLEX_WANT = 36;
const FLEX_MIN = 12;

export interface Layout {
  columns: Column[];
  widths: number[];
}

/** Picks the columns that have data and fit in `width`, and sizes them to their content. */
export function layoutColumns(state: EngineState, width: number, now: number): Layout {
  const services = state.order.map((n) => state.services[n]).filter((s): s is ServiceState => !!s);
  let columns = COLUMNS.filter((c) => !c.present || services.some(c.present));
  const natural = new Map<string, number>();
  for (const c of columns) {
    let w = c.header.length;
    for (const s of services) w = Math.max(w, c.cell(s, now).text.length);
    natural.set(c.id, c.flex ? Math.max(FLEX_MIN, Math.min(FLEX_WANT, w)) : Math.min(c.max, w));
  }
  const need = (cols: Column[]) => MARKER + cols.reduce((sum, c) => sum + natural.get(c.id)!, 0) + GAP * (cols.length - 1);
  while (columns.length > 1 && need(columns) > width) {
    const weakest = columns.reduce((a, b) => (b.priority < a.priority ? b : a));
    columns = columns.filter((c) => c !== weakest);
  }
  const fixed = columns.reduce((sum, c) => sum + (c.flex ? 0 : natural.get(c.id)!), 0) + GAP * (columns.length - 1) + MARKER;
  const widths = columns.map((c) => (c.flex ? Math.max(0, width - fixed) : natural.get(c.id)!));
  // A lone column on a very narrow terminal is cut to what there is.
  if (columns.length === 1) widths[0] = Math.max(0, width - MARKER);
  return { columns, widths };
}

export interface RowModel {
  name: string;
  cells: Cell[];
  /** Equal signatures render identically: the row component skips re-rendering on it. */
  sig: string;
}

export function rowModel(s: ServiceState, layout: Layout, now: number): RowModel {
  const cells = layout.columns.map((c, i) => {
    const cell = c.cell(s, now);
    return { ...cell, text: fit(cell.text, layout.widths[i], c.align) };
  });
  let sig = '';
  for (const c of cells) sig += `${c.text}\u0000${c.colour ?? ''}${c.dim ? 'd' : ''}\u0001`;
  return { name: s.name, cells, sig };
}

export function isBusy(s: ServiceState): boolean {
  return BUSY_PHASES.has(s.phase);
}
