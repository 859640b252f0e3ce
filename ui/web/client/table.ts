/**
 * The services table, the TUI's resource table with the same columns. With 100 services and a
 * patch every few hundred ms, only rows whose ServiceState object changed are rewritten (the
 * store returns a new object for a changed service and keeps the old one otherwise), plus the
 * LAST BUILD cell of rows that are building (its clock runs). Plugin columns (INST, QUEUE, VCPU,
 * MEM, $/HOUR) exist only while some service has a value, as in ui/tui/columns.ts.
 */
import type { ServiceState } from '../../../core/store/state.js';
import { duration, gib, triggerText, usd, value } from '../../tui/format.js';
import { BUSY_PHASES, HEALTH, PHASE_COLOUR, PHASE_GLYPH } from '../../tui/theme.js';
import { autopilotUsdPerHour, fill, h, link, num } from './dom.js';

interface Column {
  id: string;
  header: string;
  align?: 'right';
  cell(td: HTMLTableCellElement, s: ServiceState, now: number): void;
  present?(s: ServiceState): boolean;
}

const extra = (s: ServiceState, plugin: string, key: string): unknown => s.extra?.[plugin]?.[key];
const has = (plugin: string, key: string) => (s: ServiceState) => extra(s, plugin, key) !== undefined && extra(s, plugin, key) !== null;
const text = (td: HTMLElement, t: string, cls = '') => { td.textContent = t; td.className = cls; };

/** The TUI's glyphs; a busy phase gets one glyph that CSS turns (the TUI's spinner steps with its frames). */
function phaseGlyph(phase: ServiceState['phase']): string {
  return BUSY_PHASES.has(phase) ? '◐' : PHASE_GLYPH[phase] ?? '·';
}

export function lastBuild(s: ServiceState, now: number): { text: string; cls: string; title?: string } {
  if (s.currentBuild) return { text: `building… ${duration(now - s.currentBuild.startedAt)} · ${triggerText(s.currentBuild)}`, cls: 'c-yellow' };
  const b = s.lastBuild;
  if (!b) return { text: '', cls: '' };
  const files = b.trigger.files.length ? b.trigger.files.join('\n') : undefined;
  if (b.error) return { text: `failed · ${b.error.message.split('\n')[0]}`, cls: 'c-red', title: b.error.message };
  const what = b.cancelled ? 'cancelled' : b.cached ? 'cached' : duration(b.durationMs ?? (b.finishedAt !== undefined ? b.finishedAt - b.startedAt : undefined));
  return { text: `${what} · ${triggerText(b)}`, cls: b.cancelled ? 'dim' : '', title: files };
}

const COLUMNS: Column[] = [
  { id: 'name', header: 'SERVICE', cell: (td, s) => text(td, s.name, 'name') },
  {
    id: 'phase', header: 'STATUS',
    cell: (td, s) => {
      fill(td, h('span', { class: BUSY_PHASES.has(s.phase) ? 'glyph spin' : 'glyph' }, phaseGlyph(s.phase)), ` ${s.phase}`);
      td.className = `c-${PHASE_COLOUR[s.phase] ?? 'gray'}`;
      td.title = s.waiting ?? (s.error ? s.error.message : s.healthMessage ?? '');
    },
  },
  { id: 'kind', header: 'BUILD → RUN', cell: (td, s) => text(td, `${s.kind} → ${s.target}`, 'dim') },
  { id: 'trigger', header: 'TRIGGER', cell: (td, s) => text(td, s.triggerMode, s.triggerMode === 'manual' ? 'c-yellow' : 'dim') },
  {
    id: 'build', header: 'LAST BUILD',
    cell: (td, s, now) => { const b = lastBuild(s, now); text(td, b.text, `wide ${b.cls}`); td.title = b.title ?? ''; },
  },
  {
    id: 'url', header: 'URL',
    cell: (td, s) => { fill(td, ...s.endpoints.flatMap((e, i) => [i ? ' ' : '', link(e.url)])); td.className = 'url'; },
  },
  { id: 'health', header: 'HEALTH', cell: (td, s) => { text(td, HEALTH[s.health]?.text ?? s.health, `c-${HEALTH[s.health]?.colour ?? 'gray'}`); td.title = s.healthMessage ?? ''; } },
  { id: 'restarts', header: 'RESTARTS', align: 'right', cell: (td, s) => text(td, String(s.restarts), s.restarts ? 'r c-yellow' : 'r dim') },
  { id: 'cr-instances', header: 'INST', align: 'right', present: has('cloud-run', 'instances'), cell: (td, s) => text(td, value(extra(s, 'cloud-run', 'instances')), 'r') },
  {
    id: 'cr-queue', header: 'QUEUE', align: 'right', present: has('cloud-run', 'queueDepth'),
    cell: (td, s) => { const q = extra(s, 'cloud-run', 'queueDepth'); text(td, value(q), (num(q) ?? 0) > 0 ? 'r c-yellow' : 'r'); },
  },
  { id: 'ap-vcpu', header: 'VCPU', align: 'right', present: has('autopilot', 'vcpu'), cell: (td, s) => text(td, value(extra(s, 'autopilot', 'vcpu')), 'r') },
  { id: 'ap-mem', header: 'MEM', align: 'right', present: has('autopilot', 'memoryGiB'), cell: (td, s) => text(td, gib(extra(s, 'autopilot', 'memoryGiB')), 'r') },
  // The pods actually running (devloop:autopilot, a cluster service) over the Devfile's estimate, as the header sums it.
  { id: 'ap-cost', header: '$/HOUR', align: 'right', present: (s) => autopilotUsdPerHour(s) !== undefined, cell: (td, s) => text(td, usd(autopilotUsdPerHour(s)), 'r') },
  { id: 'actions', header: '', cell: actionsCell },
];

function actionsCell(td: HTMLTableCellElement, s: ServiceState): void {
  const port = num(extra(s, 'debug', 'inspectPort'));
  const other = s.triggerMode === 'auto' ? 'manual' : 'auto';
  fill(td,
    h('button', { 'data-action': 'rebuild', 'data-service': s.name, title: `rebuild ${s.name} now${s.pendingFiles.length ? ` (${s.pendingFiles.length} changed files waiting)` : ''}`, class: s.pendingFiles.length ? 'pending' : undefined }, s.pendingFiles.length ? `rebuild (${s.pendingFiles.length})` : 'rebuild'),
    h('button', { 'data-action': 'trigger-mode', 'data-service': s.name, 'data-mode': other, title: `switch ${s.name} to ${other} builds` }, `→ ${other}`),
    h('button', { 'data-action': 'debug', 'data-service': s.name, title: port !== undefined ? `debugger on port ${port}` : `restart ${s.name} with a debugger attached`, class: port !== undefined ? 'on' : undefined }, port !== undefined ? `debug :${port}` : 'debug'),
  );
  td.className = 'actions';
}

interface Row { tr: HTMLTableRowElement; state?: ServiceState; cells: Map<string, HTMLTableCellElement> }

export class ServicesTable {
  readonly el: HTMLTableElement;
  private head: HTMLTableSectionElement;
  private body: HTMLTableSectionElement;
  private rows = new Map<string, Row>();
  private columns: Column[] = [];
  private columnsKey = '';
  private order: string[] = [];
  selected: string | undefined;

  constructor(onSelect: (name: string) => void) {
    this.head = h('thead');
    this.body = h('tbody');
    this.el = h('table', { id: 'services' }, this.head, this.body);
    this.body.addEventListener('click', (e) => {
      const target = e.target as HTMLElement;
      if (target.closest('button, a')) return;
      const tr = target.closest('tr');
      if (tr?.dataset.service) onSelect(tr.dataset.service);
    });
  }

  /** Redraws what changed: `services` holds the latest object per name. */
  update(order: string[], services: Map<string, ServiceState>, now: number): void {
    const all = order.map((n) => services.get(n)).filter((s): s is ServiceState => !!s);
    const columns = COLUMNS.filter((c) => !c.present || all.some(c.present));
    const key = columns.map((c) => c.id).join(',');
    const rebuild = key !== this.columnsKey;
    if (rebuild) {
      this.columns = columns;
      this.columnsKey = key;
      fill(this.head, h('tr', null, ...columns.map((c) => h('th', { class: c.align === 'right' ? 'r' : undefined }, c.header))));
    }
    for (const [name, row] of this.rows) if (!services.has(name)) { row.tr.remove(); this.rows.delete(name); }
    for (const s of all) {
      let row = this.rows.get(s.name);
      if (!row || rebuild) {
        row?.tr.remove();
        const tr = h('tr', { 'data-service': s.name });
        row = { tr, cells: new Map() };
        for (const c of this.columns) { const td = h('td', { 'data-col': c.id }); row.cells.set(c.id, td); tr.append(td); }
        this.rows.set(s.name, row);
      }
      if (row.state !== s) {
        row.state = s;
        for (const c of this.columns) c.cell(row.cells.get(c.id)!, s, now);
        row.tr.classList.toggle('failed', s.phase === 'failed' || s.phase === 'unhealthy');
      }
      row.tr.classList.toggle('selected', s.name === this.selected);
    }
    const orderKey = all.map((s) => s.name);
    if (rebuild || orderKey.join('\n') !== this.order.join('\n')) {
      this.order = orderKey;
      this.body.replaceChildren(...orderKey.map((n) => this.rows.get(n)!.tr));
    }
  }

  /** The running clocks of builds in progress. */
  tick(now: number): void {
    for (const row of this.rows.values()) {
      const s = row.state;
      const td = row.cells.get('build');
      if (s?.currentBuild && td) td.textContent = lastBuild(s, now).text;
    }
  }

  select(name: string | undefined): void {
    this.selected = name;
    for (const [n, row] of this.rows) row.tr.classList.toggle('selected', n === name);
  }
}
