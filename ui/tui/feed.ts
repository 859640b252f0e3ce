/**
 * The bridge between the store and React. Store listeners run synchronously on every action,
 * which at 10,000 log lines/s is far too often to re-render; so the listener only appends log
 * lines to the TUI's ring buffer and marks the view dirty, and a timer publishes one snapshot
 * at most every `intervalMs`. React reads it through `useSyncExternalStore`, so many actions
 * become one state update and one frame.
 */
import { performance } from 'node:perf_hooks';
import type { EngineState, LogLine } from '../../core/store/state.js';
import type { StateSource } from '../shared/source.js';
import { LogBuffer, type LogBufferOptions } from './log-buffer.js';

export interface FeedSnapshot {
  state: EngineState;
  /** Mutable; `logSeq` tells whether it changed since the last snapshot. */
  logs: LogBuffer;
  logSeq: number;
  /** Wall clock at publication, so rows can show elapsed times without reading a clock. */
  now: number;
}

export interface Feed {
  getSnapshot(): FeedSnapshot;
  subscribe(listener: () => void): () => void;
  /** Asks for a repaint within the throttle window even if the store did not change (spinners). */
  poke(): void;
  /** Adds a line that is not in the store (console output captured while the HUD is up). */
  note(line: LogLine): void;
  /** Publishes now, skipping the throttle (tests, close). */
  flush(): void;
  /**
   * Which log lines are on screen: lines of other services are still kept, but do not cause a
   * repaint on their own (a chatty service must not repaint the HUD while another is shown).
   */
  showLogs(scope: 'all' | { service: string }): void;
  /**
   * Called when a frame has been written. The time since the snapshot was published (React
   * render and commit, Ink layout and output) is the frame's cost; the throttle spaces
   * snapshots so frames stay within the CPU budget.
   */
  frameRendered(): void;
  close(): void;
  readonly stats: { actions: number; publishes: number };
}

export interface FeedOptions extends LogBufferOptions {
  /** Minimum time between two snapshots; 50 ms is 20 frames/s. */
  intervalMs?: number;
  /**
   * Share of one core frames may take: when frames are slow (a big terminal, a slow machine)
   * the interval grows to frameCost / budget, up to 250 ms. Default 0.2.
   */
  cpuBudget?: number;
}

const MAX_INTERVAL_MS = 250;

export function createFeed(source: StateSource, options: FeedOptions = {}): Feed {
  const minInterval = options.intervalMs ?? 50;
  const budget = options.cpuBudget ?? 0.2;
  let interval = minInterval;
  let avgFrameMs = 0;
  let publishedAt: number | undefined;
  let scope: 'all' | string = 'all';
  const logs = new LogBuffer(options);
  seed(logs, source.getState());
  let latest = source.getState();
  let snapshot: FeedSnapshot = { state: latest, logs, logSeq: logs.seq, now: Date.now() };
  let lastPublish = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const listeners = new Set<() => void>();
  const stats = { actions: 0, publishes: 0 };

  const publish = () => {
    if (timer) { clearTimeout(timer); timer = undefined; }
    lastPublish = Date.now();
    snapshot = { state: latest, logs, logSeq: logs.seq, now: lastPublish };
    stats.publishes++;
    publishedAt = performance.now();
    for (const l of listeners) l();
  };
  const schedule = () => {
    if (timer || closed) return;
    timer = setTimeout(publish, Math.max(0, lastPublish + interval - Date.now()));
    // The engine decides when the process ends, never a pending repaint.
    timer.unref();
  };

  const unsubscribe = source.subscribe((state, action) => {
    stats.actions++;
    latest = state;
    if (action.type === 'log') {
      logs.push(action.line);
      if (scope !== 'all' && action.line.service !== scope) return;
    } else if (action.type === 'service/removed') logs.drop(action.service);
    schedule();
  });

  return {
    getSnapshot: () => snapshot,
    subscribe(listener) {
      listeners.add(listener);
      return () => { listeners.delete(listener); };
    },
    poke: schedule,
    flush: publish,
    note(line) {
      logs.push(line);
      if (scope === 'all') schedule();
    },
    showLogs(next) {
      scope = next === 'all' ? 'all' : next.service;
    },
    frameRendered() {
      if (publishedAt === undefined) return;
      const ms = performance.now() - publishedAt;
      publishedAt = undefined;
      avgFrameMs = avgFrameMs ? avgFrameMs * 0.8 + ms * 0.2 : ms;
      interval = Math.min(MAX_INTERVAL_MS, Math.max(minInterval, avgFrameMs / budget));
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      unsubscribe();
    },
    stats,
  };
}

/** Lines logged before the TUI subscribed are in the store's short tails; keep them. */
function seed(logs: LogBuffer, state: EngineState): void {
  const lines: LogLine[] = [...state.logTail];
  for (const name of state.order) lines.push(...(state.services[name]?.logTail ?? []));
  lines.sort((a, b) => a.time - b.time);
  for (const l of lines) logs.push(l);
}
