/**
 * Engine state. Rules:
 * 1. State changes only through `dispatch(action)` into the pure reducer in `reducer.ts`.
 * 2. The reducer does no I/O and never mutates: it returns new objects for what changed.
 * 3. Everything a reporter shows is derivable from this state plus the action stream.
 */
import type { ErrorJSON } from '../errors.js';

export type Phase =
  | 'pending'   // registered, nothing started
  | 'queued'    // waiting on something; see `waiting`
  | 'building'
  | 'pushing'
  | 'deploying'
  | 'starting'  // deployed, waiting to be healthy
  | 'healthy'
  | 'unhealthy' // running but failing its health check
  | 'failed'
  | 'stopped';

export type HealthState = 'unknown' | 'healthy' | 'unhealthy';

export interface Endpoint {
  name: string;
  url: string;
}

export interface BuildRecord {
  id: number;
  startedAt: number;
  finishedAt?: number;
  durationMs?: number;
  trigger: { reason: string; files: string[] };
  image?: string;
  cached?: boolean;
  error?: ErrorJSON;
  cancelled?: boolean;
}

/** One timed step of an update, in pipeline order. */
export interface UpdateStep {
  /** Pipeline steps, or a live update's (`sync`, `run`, `restart`). */
  name: 'build' | 'push' | 'deploy' | 'healthy' | 'sync' | 'run' | 'restart';
  ms: number;
}

/**
 * One finished run of a service's pipeline, as Tilt's per-update summary: what triggered it, each
 * step's time and the total from the trigger to healthy. The total also counts time spent
 * queued (a parallelism slot, a dependency), so it is at least the sum of the steps.
 */
export interface UpdateRecord {
  /** The run number (`runCount` when it started). */
  id: number;
  trigger: { reason: string; files: string[] };
  startedAt: number;
  finishedAt: number;
  totalMs: number;
  steps: UpdateStep[];
  outcome: 'done' | 'failed' | 'cancelled';
  /** True for a live update (files synced into what runs; no build, no deploy). */
  live?: boolean;
  /** Set for `failed`: the step that failed. */
  failedStep?: UpdateStep['name'];
}

export interface ServiceState {
  name: string;
  /** Build kind (`docker`, `esbuild`, `command`, `none`). */
  kind: string;
  /** Runtime (`docker`, `process`, `cloud-run`, ...). */
  target: string;
  phase: Phase;
  /** Why it is not progressing, in words: "waiting for db to become healthy". */
  waiting?: string;
  triggerMode: 'auto' | 'manual';
  /** Files changed while in manual mode, waiting for a manual trigger. */
  pendingFiles: string[];
  currentBuild?: BuildRecord;
  lastBuild?: BuildRecord;
  buildCount: number;
  /** Pipeline runs started (a run may skip its build: no build, or unchanged inputs). */
  runCount: number;
  /** The run whose deploy finished last, and the run that failed last: what a caller waiting on a run checks. */
  deployedRun?: number;
  failedRun?: number;
  image?: string;
  endpoints: Endpoint[];
  health: HealthState;
  healthMessage?: string;
  restarts: number;
  error?: ErrorJSON;
  /** True once the service has been healthy once (dependsOn only holds the first deploy). */
  everHealthy: boolean;
  /** The last few finished updates, oldest first (at most UPDATE_HISTORY). */
  updates: UpdateRecord[];
  /** Plugin-owned data shown by reporters (instance counts, cost estimates...), keyed by plugin. */
  extra: Record<string, Record<string, unknown>>;
  /** A short tail of log lines for status views; full logs go through the action stream. */
  logTail: LogLine[];
}

export interface LogLine {
  time: number;
  service?: string;
  level: 'info' | 'warn' | 'error' | 'output';
  stream?: 'stdout' | 'stderr';
  message: string;
}

export interface ConfigState {
  file?: string;
  /** Increments on every good load. */
  version: number;
  loadedAt?: number;
  /** Set while the latest edit is broken; the last good config keeps running. */
  error?: ErrorJSON;
}

export interface EngineState {
  status: 'idle' | 'running' | 'stopping' | 'stopped';
  config: ConfigState;
  services: Record<string, ServiceState>;
  /** Service names in Devfile order. */
  order: string[];
  /** Project-wide log lines not tied to a service (capped). */
  logTail: LogLine[];
  /** Plugin-owned data about the whole session (monitoring URLs, firing alerts), keyed by plugin. */
  extra: Record<string, Record<string, unknown>>;
}

export const LOG_TAIL_LIMIT = 200;
export const UPDATE_HISTORY = 10;

export function initialState(): EngineState {
  return { status: 'idle', config: { version: 0 }, services: {}, order: [], logTail: [], extra: {} };
}
