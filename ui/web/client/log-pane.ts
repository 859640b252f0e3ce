/**
 * The log pane: a virtualised list. Whatever the buffer holds (up to 25,000 lines), the DOM holds
 * one absolutely placed block of rows as tall as the viewport; painting (at most once per
 * animation frame, only when something changed) rewrites the rows whose line changed. Follow
 * keeps the end in view; scrolling up pauses it and anchors on the top line's seq, so lines
 * falling out of the ring do not move what is being read; scrolling back to the end resumes it.
 */
import type { WebLogLine } from '../protocol.js';
import { matcher, stripAnsi, indexOfSeq } from '../../tui/log-view.js';
import { clock } from '../../tui/format.js';
import { serviceColour } from '../../tui/theme.js';
import { h } from './dom.js';
import type { LogStore } from './log-store.js';
import { appendSgr } from './sgr.js';

/** Fixed row height in px; style.css's `.log-row` height must match. */
const ROW = 18;
const ALL = '__all__';
const MARK = { output: '│', info: '›', warn: '▲', error: '✖' } as const;

interface View { count: number; at(i: number): WebLogLine }

export class LogPane {
  readonly el: HTMLElement;
  private scope: HTMLSelectElement;
  private filterBox: HTMLInputElement;
  private followBox: HTMLInputElement;
  private countEl: HTMLElement;
  private droppedEl: HTMLElement;
  private scroller: HTMLElement;
  private spacer: HTMLElement;
  private rowsEl: HTMLElement;
  private rows: HTMLElement[] = [];
  private follow = true;
  private anchorSeq = -1;
  private lastSet = -1;
  private dropped = 0;
  private dirty = true;
  private cache: { key: string; view: View } | undefined;
  private scopeNames = '';

  constructor(private store: LogStore, private requestPaint: () => void) {
    this.scope = h('select', { id: 'log-scope', title: 'whose lines' }, h('option', { value: ALL }, 'all services'));
    this.filterBox = h('input', { id: 'log-filter', type: 'search', placeholder: 'filter (smart case)', spellcheck: 'false', autocomplete: 'off' });
    this.followBox = h('input', { id: 'log-follow', type: 'checkbox' });
    this.followBox.checked = true;
    this.countEl = h('span', { id: 'log-count', class: 'muted' }, '0 lines');
    this.droppedEl = h('span', { id: 'log-dropped', class: 'c-yellow' });
    this.rowsEl = h('div', { class: 'log-rows' });
    this.spacer = h('div', { class: 'log-spacer' }, this.rowsEl);
    this.scroller = h('div', { id: 'logs', tabindex: '0' }, this.spacer);
    this.el = h('section', { id: 'log-section', class: 'panel' },
      h('div', { class: 'bar' }, h('strong', null, 'Logs'), this.scope, this.filterBox,
        h('label', { class: 'check' }, this.followBox, 'follow'), this.countEl, this.droppedEl),
      this.scroller);

    this.scope.addEventListener('change', () => { this.jumpToEnd(); });
    this.filterBox.addEventListener('input', () => { this.jumpToEnd(); });
    this.followBox.addEventListener('change', () => {
      this.follow = this.followBox.checked;
      this.invalidate();
    });
    this.scroller.addEventListener('scroll', () => this.onScroll(), { passive: true });
    new ResizeObserver(() => this.invalidate()).observe(this.scroller);
  }

  /** New lines arrived (or the buffer was replaced). */
  invalidate(): void {
    this.dirty = true;
    this.requestPaint();
  }

  addDropped(n: number): void {
    this.dropped += n;
    this.droppedEl.textContent = `${this.dropped} lines dropped`;
    this.droppedEl.title = 'the server left these out because the page fell behind';
  }

  reset(): void {
    this.dropped = 0;
    this.droppedEl.textContent = '';
    this.cache = undefined;
    this.invalidate();
  }

  /** Keeps the scope list in Devfile order; a scope whose service left falls back to all. */
  setServices(order: string[]): void {
    const key = order.join('\n');
    if (key === this.scopeNames) return;
    this.scopeNames = key;
    const current = this.scope.value;
    this.scope.replaceChildren(h('option', { value: ALL }, 'all services'), ...order.map((n) => h('option', { value: n }, n)));
    this.scope.value = order.includes(current) ? current : ALL;
    if (this.scope.value !== current) this.jumpToEnd();
  }

  /**
   * The table's selection: as the TUI's "selected" scope, a one-service view follows the selected
   * row; the all-services view stays as it is.
   */
  follows(name: string): void {
    if (this.scope.value === ALL) return;
    if ([...this.scope.options].some((o) => o.value === name) && this.scope.value !== name) {
      this.scope.value = name;
      this.jumpToEnd();
    }
  }

  paint(): boolean {
    if (!this.dirty) return false;
    this.dirty = false;
    const view = this.view();
    const filter = this.filterBox.value;
    this.countEl.textContent = `${view.count} line${view.count === 1 ? '' : 's'}`;
    this.spacer.style.height = `${view.count * ROW}px`;
    const height = this.scroller.clientHeight;
    const max = Math.max(0, view.count * ROW - height);
    let top: number;
    if (this.follow) top = max;
    else if (this.anchorSeq >= 0) top = Math.min(max, indexOfSeq(view, this.anchorSeq) * ROW);
    else top = Math.min(max, this.scroller.scrollTop);
    if (Math.abs(this.scroller.scrollTop - top) >= 1) {
      this.scroller.scrollTop = top;
      this.lastSet = this.scroller.scrollTop;
    }
    const first = Math.floor(top / ROW);
    const n = Math.min(view.count - first, Math.ceil(height / ROW) + 1);
    this.rowsEl.style.transform = `translateY(${first * ROW}px)`;
    while (this.rows.length < n) this.rows.push(this.rowsEl.appendChild(h('div', { class: 'log-row' })));
    while (this.rows.length > n) this.rows.pop()!.remove();
    const all = this.scope.value === ALL;
    for (let i = 0; i < n; i++) this.paintRow(this.rows[i], view.at(first + i), all, filter);
    return true;
  }

  private paintRow(row: HTMLElement, line: WebLogLine, all: boolean, filter: string): void {
    const key = `${line.seq}\u0000${all ? 1 : 0}\u0000${filter}`;
    if (row.dataset.key === key) return;
    row.dataset.key = key;
    row.dataset.seq = String(line.seq);
    if (line.service) row.dataset.service = line.service; else delete row.dataset.service;
    row.className = `log-row lvl-${line.level}`;
    row.textContent = '';
    row.append(h('span', { class: 'ts' }, clock(line.time)));
    if (all) row.append(h('span', { class: `svc c-${line.service ? serviceColour(line.service) : 'gray'}`, title: line.service ?? 'devloop' }, line.service ?? 'devloop'));
    row.append(h('span', { class: 'mark' }, MARK[line.level] ?? '│'));
    const msg = h('span', { class: 'msg' });
    const base = line.level === 'warn' ? 'c-yellow' : line.level === 'error' ? 'c-red' : undefined;
    if (!filter || !highlight(msg, line.text, filter, base)) appendSgr(msg, line.text, base);
    row.append(msg);
  }

  private view(): View {
    const name = this.scope.value;
    const ring = name === ALL ? this.store.all : this.store.service(name);
    if (!ring) return { count: 0, at: () => { throw new RangeError('empty log view'); } };
    const filter = this.filterBox.value;
    if (!filter) return { count: ring.size, at: (i) => ring.at(i) };
    // Filtering walks at most 5000 lines once per painted frame, and only when lines came in.
    const key = `${name}\u0000${filter}\u0000${this.store.version}`;
    if (this.cache?.key === key) return this.cache.view;
    const match = matcher(filter);
    const lines: WebLogLine[] = [];
    for (let i = 0; i < ring.size; i++) { const l = ring.at(i); if (match(l)) lines.push(l); }
    const view: View = { count: lines.length, at: (i) => lines[i] };
    this.cache = { key, view };
    return view;
  }

  private onScroll(): void {
    const el = this.scroller;
    if (Math.abs(el.scrollTop - this.lastSet) < 1) return;
    this.lastSet = -1;
    const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - ROW / 2;
    if (atEnd !== this.follow) {
      this.follow = atEnd;
      this.followBox.checked = atEnd;
    }
    const view = this.view();
    const first = Math.floor(el.scrollTop / ROW);
    this.anchorSeq = !atEnd && first < view.count ? view.at(first).seq : -1;
    this.dirty = true;
    this.requestPaint();
  }

  /** `a`: all services' lines, or the selected service's. */
  toggleScope(selected: string | undefined): void {
    const next = this.scope.value === ALL ? selected : ALL;
    if (!next || ![...this.scope.options].some((o) => o.value === next)) return;
    this.scope.value = next;
    this.jumpToEnd();
  }

  /** `/`: into the filter box. */
  focusFilter(): void {
    this.filterBox.focus();
    this.filterBox.select();
  }

  /** Esc in the filter box: cleared, and the keys go back to the page. */
  clearFilter(): void {
    this.filterBox.value = '';
    this.filterBox.blur();
    this.jumpToEnd();
  }

  /** `G` / End: follow the newest lines again. */
  followNewest(): void {
    this.jumpToEnd();
  }

  private jumpToEnd(): void {
    this.follow = true;
    this.followBox.checked = true;
    this.anchorSeq = -1;
    this.invalidate();
  }
}

/** Marks each match (smart case, as the filter matches); a line with colour codes is shown plain, as the TUI does. */
function highlight(el: HTMLElement, text: string, filter: string, base: string | undefined): boolean {
  const plain = stripAnsi(text);
  const sensitive = filter !== filter.toLowerCase();
  const hay = sensitive ? plain : plain.toLowerCase();
  const needle = sensitive ? filter : filter.toLowerCase();
  let at = hay.indexOf(needle);
  if (at < 0) return false;
  if (base) el.className = `msg ${base}`;
  let from = 0;
  for (let marks = 0; at >= 0 && marks < 80; marks++, at = hay.indexOf(needle, from)) {
    if (at > from) el.append(plain.slice(from, at));
    el.append(h('mark', null, plain.slice(at, at + needle.length)));
    from = at + needle.length;
  }
  el.append(plain.slice(from));
  return true;
}
