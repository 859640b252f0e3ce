/**
 * What the dashboard server (ui/web/server.ts, Node) and its page (ui/web/client/, the browser)
 * say to each other. Types and constants only: both sides import this file, and esbuild bundles
 * it into the page, so it must not import anything that runs.
 *
 * The page gets its boot data from the HTML (`<script id="devloop-boot" type="application/json">`),
 * then opens one Server-Sent Events stream (`GET /api/events`). The first event on every
 * connection is `hello` (everything needed to draw); after it come `state`, `logs` and `series`
 * events with what changed. State-changing requests are `POST /api/actions/<name>` with a JSON
 * body, `content-type: application/json` and the session token in the `x-devloop-token` header.
 */
import type { ConfigState, EngineState, LogLine, ServiceState } from '../../core/store/state.js';

export const API = {
  events: '/api/events',
  state: '/api/state',
  logs: '/api/logs',
  series: '/api/series',
  /** `POST /api/actions/rebuild|trigger-mode|debug`. */
  actions: '/api/actions',
} as const;

export const TOKEN_HEADER = 'x-devloop-token';
export const BOOT_ELEMENT_ID = 'devloop-boot';

/** Embedded in the page's HTML by the server. */
export interface Boot {
  /** Per-session token for state-changing requests (header `x-devloop-token`). */
  token: string;
  /** Project name (the Devfile's `name`, else its folder). */
  project: string;
  /** devloop's version. */
  version: string;
  pid: number;
  startedAt: number;
}

/** The session as a whole, without the services. */
export interface SessionView {
  status: EngineState['status'];
  config: ConfigState;
  /** Service names in Devfile order. */
  order: string[];
  /** Session-wide plugin data (`devloop:monitoring`: urls, alerts, notes). */
  extra: EngineState['extra'];
  /** Project-wide log lines are in the log stream, not here. */
}

/** First event on each SSE connection. */
export interface Hello {
  session: SessionView;
  /** As the store holds them (the engine already redacted secrets before they entered it); `logTail` emptied. */
  services: Record<string, ServiceState>;
  /** Backlog, oldest first, bounded as the TUI's log memory is. */
  logs: WebLogLine[];
  series: SeriesSnapshot;
}

/** SSE `state`: only what changed since the last event. */
export interface StatePatch {
  session?: SessionView;
  /** Services whose state changed, in full (`logTail` emptied). */
  services?: Record<string, ServiceState>;
  /** Services that left the Devfile. */
  removed?: string[];
}

/**
 * One log row. `text` is one line (multi-line messages are split, as the TUI splits them) and may
 * hold SGR colour escapes (`\x1b[...m`) and nothing else; Cloud Logging JSON lines are already
 * rendered into text by the runtimes, exactly as the TUI shows them.
 */
export interface WebLogLine {
  /** Increasing over the whole stream. */
  seq: number;
  time: number;
  /** Absent for devloop's own lines. */
  service?: string;
  level: LogLine['level'];
  text: string;
}

/** SSE `logs`: new lines, oldest first. `dropped`: lines the server left out because the page fell behind. */
export interface LogBatch {
  lines: WebLogLine[];
  dropped?: number;
}

/** The figures sampled for one service at one instant; a missing one is not measured for that service. */
export interface SeriesPoint {
  /** Requests per second over the interval (Cloud Run simulator). */
  rps?: number;
  /** 5xx answers per second over the interval. */
  errors?: number;
  /** Request latency quantiles over the interval, in ms (from the simulator's latency histogram). */
  p50Ms?: number;
  p99Ms?: number;
  /** Cloud Run instances by state now. */
  ready?: number;
  starting?: number;
  busy?: number;
  /** Requests waiting for an instance now. */
  queue?: number;
  /** Cold starts during the interval. */
  coldStarts?: number;
  /** CPU used, in cores (CPU seconds per second), and memory now, in MiB. */
  cpu?: number;
  memoryMiB?: number;
}

export const SERIES_KEYS = ['rps', 'errors', 'p50Ms', 'p99Ms', 'ready', 'starting', 'busy', 'queue', 'coldStarts', 'cpu', 'memoryMiB'] as const;
export type SeriesKey = typeof SERIES_KEYS[number];

/** SSE `series`: one sample of every service that has figures. */
export interface SeriesTick {
  t: number;
  points: Record<string, SeriesPoint>;
}

/** History for the charts: column-oriented, as uPlot takes it; null where a service had no value. */
export interface SeriesSnapshot {
  intervalMs: number;
  /** Where the history came from: devloop's own series, or the monitoring plugin's Prometheus. */
  source: 'devloop' | 'prometheus';
  /** The Prometheus URL when `source` is `prometheus`. */
  prometheus?: string;
  /** Sample times, ms since the epoch, ascending. */
  t: number[];
  services: Record<string, Partial<Record<SeriesKey, (number | null)[]>>>;
}

/** Body of `POST /api/actions/<name>`. */
export type ActionRequest =
  | { name: 'rebuild'; service: string }
  | { name: 'trigger-mode'; service: string; mode: 'auto' | 'manual' }
  | { name: 'debug'; service: string };

/** Answer of an action: 2xx `{ ok: true, message }`, else `{ error }`. */
export type ActionResponse = { ok: true; message: string } | { error: string };
