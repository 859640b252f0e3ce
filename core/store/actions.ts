/** Every way state can change. Plugins dispatch these too; unknown `type`s are ignored by the reducer. */
import type { ErrorJSON } from '../errors.js';
import type { BuildRecord, Endpoint, HealthState, LogLine, Phase, UpdateRecord } from './state.js';

export type Action =
  | { type: 'engine/started' }
  | { type: 'engine/stopping'; reason: string }
  | { type: 'engine/stopped' }
  | { type: 'config/loaded'; file: string; services: ServiceRegistration[] }
  | { type: 'config/error'; error: ErrorJSON }
  | { type: 'service/removed'; service: string }
  | { type: 'service/phase'; service: string; phase: Phase; waiting?: string }
  | { type: 'service/waiting'; service: string; waiting?: string }
  | { type: 'service/target'; service: string; target: string }
  | { type: 'service/triggerMode'; service: string; mode: 'auto' | 'manual' }
  | { type: 'service/pendingFiles'; service: string; files: string[] }
  | { type: 'build/started'; service: string; build: BuildRecord }
  | { type: 'build/finished'; service: string; build: BuildRecord }
  | { type: 'run/started'; service: string }
  /** A live update changed what runs without a pipeline run: a new run number, already deployed. */
  | { type: 'run/live'; service: string }
  | { type: 'deploy/finished'; service: string; endpoints: Endpoint[]; image?: string }
  | { type: 'service/health'; service: string; health: HealthState; message?: string }
  | { type: 'service/restarted'; service: string; reason: string }
  /** `logged`: the failure is already in the service's log in full, so a reporter showing the log need not repeat it. */
  | { type: 'service/failed'; service: string; error: ErrorJSON; logged?: boolean }
  | { type: 'update/finished'; service: string; update: UpdateRecord }
  | { type: 'service/stopped'; service: string }
  | { type: 'service/extra'; service: string; plugin: string; data: Record<string, unknown> }
  /** Session-wide plugin data (not one service's): replaces what the plugin set before. */
  | { type: 'session/extra'; plugin: string; data: Record<string, unknown> }
  | { type: 'log'; line: LogLine }
  | { type: 'plugin/custom'; plugin: string; name: string; payload?: unknown };

export interface ServiceRegistration {
  name: string;
  kind: string;
  target: string;
  triggerMode: 'auto' | 'manual';
}
