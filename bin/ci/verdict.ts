/**
 * `devloop ci`'s judgement, as a pure function of the engine state and the clock, so every rule
 * is unit-tested: all healthy -> pass; a failure (failed phase, crash restart, exit during
 * startup) that outlasts the grace period -> fail; a service not ready within the readiness
 * timeout after its deploy -> fail naming it and what it waits on; the global timeout -> fail.
 */
import type { EngineState, ServiceState } from '../../core/store/state.js';

export interface VerdictOptions {
  services: string[];
  /** Start of the run (ms). */
  startedAt: number;
  timeoutMs: number;
  readinessTimeoutMs: number;
  graceMs: number;
}

/** What the ci loop remembers between evaluations (when trouble or a deploy started). */
export interface VerdictMemory {
  /** When each service first entered `starting` in this run. */
  startingSince: Record<string, number>;
  /** When each service's current trouble began. */
  troubleSince: Record<string, number>;
  /** Restarts already forgiven: the service was healthy again when the grace period ended. */
  restartsForgiven: Record<string, number>;
}

export type Verdict =
  | { done: false }
  | { done: true; ok: true }
  | { done: true; ok: false; service?: string; reason: string };

export function newMemory(): VerdictMemory {
  return { startingSince: {}, troubleSince: {}, restartsForgiven: {} };
}

export function judge(state: EngineState, now: number, o: VerdictOptions, mem: VerdictMemory): Verdict {
  if (state.status === 'stopping' || state.status === 'stopped') return { done: true, ok: false, reason: 'interrupted before every service was healthy' };
  const services = o.services.map((n) => state.services[n]).filter((s): s is ServiceState => !!s);
  for (const s of services) {
    if ((s.phase === 'starting' || s.phase === 'unhealthy') && mem.startingSince[s.name] === undefined) mem.startingSince[s.name] = now;
    const trouble = troubleOf(s, mem.restartsForgiven[s.name] ?? 0);
    if (trouble) {
      mem.troubleSince[s.name] ??= now;
      if (now - mem.troubleSince[s.name] >= o.graceMs) {
        // The failure outlasted the grace period unless the service is healthy again by now.
        if (o.graceMs === 0 || s.phase !== 'healthy') return { done: true, ok: false, service: s.name, reason: `${s.name} ${trouble}` };
        mem.restartsForgiven[s.name] = s.restarts;
        delete mem.troubleSince[s.name];
      }
    } else {
      delete mem.troubleSince[s.name];
    }
  }
  const pending = Object.keys(mem.troubleSince).length > 0;
  if (!pending && services.length === o.services.length && services.every((s) => s.phase === 'healthy')) return { done: true, ok: true };
  for (const s of services) {
    const since = mem.startingSince[s.name];
    if (since !== undefined && s.phase !== 'healthy' && now - since >= o.readinessTimeoutMs) {
      return { done: true, ok: false, service: s.name, reason: `${s.name} was not ready ${fmt(o.readinessTimeoutMs)} after it was deployed (${describeWait(s)})` };
    }
  }
  if (now - o.startedAt >= o.timeoutMs) {
    const waiting = services.filter((s) => s.phase !== 'healthy').map((s) => `${s.name} (${describeWait(s)})`);
    return { done: true, ok: false, service: services.find((s) => s.phase !== 'healthy')?.name, reason: `timed out after ${fmt(o.timeoutMs)}; still waiting: ${waiting.join('; ')}` };
  }
  return { done: false };
}

function troubleOf(s: ServiceState, forgiven: number): string | undefined {
  if (s.phase === 'failed') return `failed: ${s.error?.message ?? 'unknown error'}`;
  if (s.restarts > forgiven) return `crashed and was restarted ${s.restarts} time${s.restarts === 1 ? '' : 's'}${s.healthMessage ? ` (${s.healthMessage})` : ''}`;
  if (s.phase === 'unhealthy' && s.everHealthy) return `became unhealthy${s.healthMessage ? `: ${s.healthMessage}` : ''}`;
  return undefined;
}

function describeWait(s: ServiceState): string {
  return `${s.phase}${s.waiting ? `: ${s.waiting}` : ''}${s.healthMessage && s.phase !== 'healthy' ? `; health: ${s.healthMessage}` : ''}`;
}

export function fmt(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
