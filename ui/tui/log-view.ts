/**
 * What the log pane shows: a sequence of lines (one service or all, optionally filtered) that
 * is only ever read by index, so rendering touches the visible window and nothing else.
 */
import type { LogBuffer, TuiLogLine } from './log-buffer.js';
import type { Ring } from './ring.js';

export interface LogView {
  readonly count: number;
  at(i: number): TuiLogLine;
}

const EMPTY: LogView = { count: 0, at: () => { throw new RangeError('empty log view'); } };

export function selectLogView(buffer: LogBuffer, scope: 'all' | { service: string }, filter: string): LogView {
  const ring = scope === 'all' ? buffer.all : buffer.service(scope.service);
  if (!ring) return EMPTY;
  const base = ringView(ring);
  return filter ? filterView(base, filter) : base;
}

function ringView(ring: Ring<TuiLogLine>): LogView {
  return { count: ring.size, at: (i) => ring.at(i) };
}

/** Smart case, like less and ripgrep: case-sensitive only when the query has a capital. */
export function matcher(filter: string): (line: TuiLogLine) => boolean {
  const sensitive = filter !== filter.toLowerCase();
  const q = sensitive ? filter : filter.toLowerCase();
  return (line) => {
    const text = stripAnsi(line.text);
    if ((sensitive ? text : text.toLowerCase()).includes(q)) return true;
    return !!line.service && (sensitive ? line.service : line.service.toLowerCase()).includes(q);
  };
}

function filterView(base: LogView, filter: string): LogView {
  const match = matcher(filter);
  const lines: TuiLogLine[] = [];
  for (let i = 0; i < base.count; i++) {
    const line = base.at(i);
    if (match(line)) lines.push(line);
  }
  return { count: lines.length, at: (i) => lines[i] };
}

/** Index of the first line whose seq is >= `seq` (lines are in seq order). */
export function indexOfSeq(view: LogView, seq: number): number {
  let lo = 0;
  let hi = view.count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (view.at(mid).seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The first visible index: the bottom when following, else the anchored line. The anchor may
 * have been pushed out of the ring meanwhile; then the view starts at the oldest line kept.
 */
export function topIndex(view: LogView, height: number, follow: boolean, anchor: number): number {
  const max = Math.max(0, view.count - height);
  if (follow) return max;
  return Math.min(max, indexOfSeq(view, anchor));
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;:]*m|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

export function stripAnsi(text: string): string {
  return text.includes('\x1b') ? text.replace(ANSI, '') : text;
}
