/**
 * What the user has chosen to look at, and how keys change it. A pure function of (ui, key,
 * context) so every binding is testable without a terminal; engine calls come back as effects
 * for the component to run.
 */
import type { Key } from 'ink';
import type { ServiceState } from '../../core/store/state.js';

export interface UiState {
  /** By name, so a reload that reorders services keeps the selection. */
  selected?: string;
  view: 'table' | 'details' | 'help';
  /** Where up/down go: moving the selection, or scrolling the logs. */
  focus: 'table' | 'logs';
  scope: 'selected' | 'all';
  /** Auto-scroll to the newest line. */
  follow: boolean;
  /** Seq of the top visible log line while not following. */
  anchor: number;
  /** Applied filter; '' shows everything. */
  filter: string;
  /** The filter being typed, while the input is open. */
  draft?: string;
  /** q was pressed: the caller is shutting down. */
  quitting: boolean;
  flash?: { text: string; at: number };
}

export const initialUi: UiState = { view: 'table', focus: 'table', scope: 'selected', follow: true, anchor: 0, filter: '', quitting: false };

export type Effect =
  | { type: 'trigger'; service: string }
  | { type: 'mode'; service: string; mode: 'auto' | 'manual' }
  | { type: 'debug'; service: string }
  | { type: 'quit' }
  | { type: 'forceQuit' };

export interface KeyContext {
  order: string[];
  services: Record<string, ServiceState>;
  /**
   * The log pane as rendered: lines in view, rows shown, and the first visible index for a
   * given UI state (a burst of keys is applied before the next render).
   */
  log: { count: number; height: number; seqAt(i: number): number; topOf(ui: UiState): number };
  canDebug: boolean;
  now: number;
}

export interface KeyResult {
  ui: UiState;
  effects: Effect[];
}

/** The selection in effect: the chosen service while it exists, else the first one. */
export function selectedName(ui: UiState, order: string[]): string | undefined {
  return ui.selected && order.includes(ui.selected) ? ui.selected : order[0];
}

export function onKey(ui: UiState, input: string, key: Key, ctx: KeyContext): KeyResult {
  const none = (next: UiState): KeyResult => ({ ui: next, effects: [] });
  if (key.ctrl && input === 'c') return quit(ui);
  if (ui.draft !== undefined) return none(editFilter(ui, input, key));

  const selected = selectedName(ui, ctx.order);
  const flash = (text: string) => ({ text, at: ctx.now });
  const onLogs = ui.focus === 'logs';

  if (key.upArrow || input === 'k') return none(onLogs ? scroll(ui, ctx, -1) : select(ui, ctx.order, selected, -1));
  if (key.downArrow || input === 'j') return none(onLogs ? scroll(ui, ctx, 1) : select(ui, ctx.order, selected, 1));
  if (key.pageUp || (key.ctrl && input === 'u')) return none(scroll(ui, ctx, -Math.max(1, ctx.log.height - 1)));
  if (key.pageDown || (key.ctrl && input === 'd')) return none(scroll(ui, ctx, Math.max(1, ctx.log.height - 1)));
  if (key.home || input === 'g') return none(ctx.log.count ? { ...ui, follow: false, anchor: ctx.log.seqAt(0) } : ui);
  if (key.end || input === 'f' || input === 'G') return none({ ...ui, follow: true });
  if (key.tab) return none({ ...ui, focus: onLogs ? 'table' : 'logs' });
  if (key.return) return none({ ...ui, view: ui.view === 'details' ? 'table' : 'details' });
  if (key.escape) {
    if (ui.filter) return none({ ...ui, filter: '', follow: true });
    if (ui.view !== 'table') return none({ ...ui, view: 'table' });
    return none({ ...ui, focus: 'table' });
  }

  switch (input) {
    case 'q': return quit(ui);
    case '?': return none({ ...ui, view: ui.view === 'help' ? 'table' : 'help' });
    case '/': return none({ ...ui, draft: '' });
    case 'a': return none({ ...ui, scope: ui.scope === 'all' ? 'selected' : 'all', follow: true });
    case 'l': return none({ ...ui, scope: 'selected', focus: 'logs', follow: true });
    case 'r':
      if (!selected) return none(ui);
      return { ui: { ...ui, flash: flash(`rebuild of ${selected} requested`) }, effects: [{ type: 'trigger', service: selected }] };
    case 't': {
      const s = selected ? ctx.services[selected] : undefined;
      if (!s) return none(ui);
      const mode = s.triggerMode === 'auto' ? 'manual' : 'auto';
      const note = mode === 'manual' ? 'changes wait for r' : 'rebuilds on change';
      return { ui: { ...ui, flash: flash(`${s.name}: trigger mode ${mode} (${note})`) }, effects: [{ type: 'mode', service: s.name, mode }] };
    }
    case 'd':
      if (!selected) return none(ui);
      if (!ctx.canDebug) return none({ ...ui, flash: flash('debugging is not available here') });
      return { ui: { ...ui, flash: flash(`attaching debugger to ${selected}…`) }, effects: [{ type: 'debug', service: selected }] };
    default:
      return none(ui);
  }
}

function quit(ui: UiState): KeyResult {
  // A second request while stopping means "now": the caller may skip the slow cleanup.
  return { ui: { ...ui, quitting: true, draft: undefined }, effects: [{ type: ui.quitting ? 'forceQuit' : 'quit' }] };
}

function select(ui: UiState, order: string[], selected: string | undefined, delta: number): UiState {
  if (!order.length) return ui;
  const i = selected ? order.indexOf(selected) : 0;
  const next = order[Math.max(0, Math.min(order.length - 1, i + delta))];
  // A new service's logs start at their newest line, like switching tabs in Tilt.
  return next === selected ? ui : { ...ui, selected: next, follow: true };
}

/**
 * Scrolls by `delta` lines. Scrolling up pauses following; reaching the bottom resumes it, as
 * a log pane that stays paused at the newest line would look frozen.
 */
function scroll(ui: UiState, ctx: KeyContext, delta: number): UiState {
  const { count, height, seqAt } = ctx.log;
  const top = ctx.log.topOf(ui);
  const max = Math.max(0, count - height);
  const next = Math.max(0, Math.min(max, top + delta));
  if (next >= max) return { ...ui, follow: true };
  return { ...ui, follow: false, anchor: seqAt(next) };
}

function editFilter(ui: UiState, input: string, key: Key): UiState {
  const draft = ui.draft ?? '';
  if (key.return) return { ...ui, filter: draft, draft: undefined, follow: true };
  if (key.escape) return { ...ui, filter: '', draft: undefined, follow: true };
  if (key.backspace || key.delete) return { ...ui, draft: draft.slice(0, -1) };
  if (key.ctrl || key.meta || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.tab || !input) return ui;
  // eslint-disable-next-line no-control-regex
  const text = input.replace(/[\x00-\x1f\x7f]/g, '');
  return text ? { ...ui, draft: draft + text } : ui;
}
