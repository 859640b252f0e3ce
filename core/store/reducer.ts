/** The pure reducer: (state, action) -> state. No I/O, no mutation, no clocks (times come in actions). */
import type { Action } from './actions.js';
import { LOG_TAIL_LIMIT, UPDATE_HISTORY, type EngineState, type LogLine, type ServiceState } from './state.js';

export function reduce(state: EngineState, action: Action): EngineState {
  switch (action.type) {
    case 'engine/started':
      return { ...state, status: 'running' };
    case 'engine/stopping':
      return { ...state, status: 'stopping' };
    case 'engine/stopped':
      return { ...state, status: 'stopped' };
    case 'config/loaded': {
      const services: Record<string, ServiceState> = {};
      for (const reg of action.services) {
        const prev = state.services[reg.name];
        services[reg.name] = prev
          ? { ...prev, kind: reg.kind, target: reg.target === 'auto' && prev.target !== 'auto' ? prev.target : reg.target, triggerMode: reg.triggerMode }
          : newService(reg.name, reg.kind, reg.target, reg.triggerMode);
      }
      // Services gone from the Devfile are removed by their own `service/removed` once stopped.
      for (const name of state.order) if (!services[name] && state.services[name]) services[name] = state.services[name];
      const order = [...action.services.map((s) => s.name), ...state.order.filter((n) => !action.services.some((s) => s.name === n))];
      return {
        ...state,
        config: { file: action.file, version: state.config.version + 1, error: undefined },
        services,
        order,
      };
    }
    case 'config/error':
      return { ...state, config: { ...state.config, error: action.error } };
    case 'service/removed': {
      if (!state.services[action.service]) return state;
      const { [action.service]: _gone, ...rest } = state.services;
      return { ...state, services: rest, order: state.order.filter((n) => n !== action.service) };
    }
    case 'service/phase':
      return patch(state, action.service, (s) => ({
        ...s,
        phase: action.phase,
        waiting: action.waiting,
        error: action.phase === 'failed' ? s.error : action.phase === 'building' ? undefined : s.error,
      }));
    case 'service/waiting':
      return patch(state, action.service, (s) => ({ ...s, waiting: action.waiting }));
    case 'service/target':
      return patch(state, action.service, (s) => ({ ...s, target: action.target }));
    case 'service/triggerMode':
      return patch(state, action.service, (s) => ({ ...s, triggerMode: action.mode }));
    case 'service/pendingFiles':
      return patch(state, action.service, (s) => ({ ...s, pendingFiles: action.files }));
    case 'run/started':
      return patch(state, action.service, (s) => ({ ...s, runCount: s.runCount + 1 }));
    case 'run/live':
      return patch(state, action.service, (s) => ({ ...s, runCount: s.runCount + 1, deployedRun: s.runCount + 1 }));
    case 'build/started':
      return patch(state, action.service, (s) => ({
        ...s,
        currentBuild: action.build,
        buildCount: s.buildCount + 1,
        pendingFiles: [],
      }));
    case 'build/finished':
      return patch(state, action.service, (s) => ({
        ...s,
        currentBuild: undefined,
        lastBuild: action.build,
        image: action.build.image ?? s.image,
      }));
    case 'deploy/finished':
      return patch(state, action.service, (s) => ({
        ...s,
        deployedRun: s.runCount,
        endpoints: action.endpoints,
        image: action.image ?? s.image,
        health: 'unknown',
        healthMessage: undefined,
      }));
    case 'service/health':
      return patch(state, action.service, (s) => {
        const healthy = action.health === 'healthy';
        const phase = s.phase === 'starting' || s.phase === 'healthy' || s.phase === 'unhealthy'
          ? (healthy ? 'healthy' : action.health === 'unhealthy' ? 'unhealthy' : s.phase)
          : s.phase;
        return {
          ...s,
          health: action.health,
          healthMessage: action.message,
          phase,
          waiting: healthy ? undefined : s.waiting,
          everHealthy: s.everHealthy || healthy,
          error: healthy ? undefined : s.error,
        };
      });
    case 'service/restarted':
      return patch(state, action.service, (s) => ({ ...s, restarts: s.restarts + 1 }));
    case 'service/failed':
      return patch(state, action.service, (s) => ({ ...s, phase: 'failed', failedRun: s.runCount, error: action.error, waiting: undefined, health: s.health === 'healthy' ? 'unhealthy' : s.health }));
    case 'update/finished':
      return patch(state, action.service, (s) => ({ ...s, updates: [...(s.updates ?? []).slice(-(UPDATE_HISTORY - 1)), action.update] }));
    case 'service/stopped':
      return patch(state, action.service, (s) => ({ ...s, phase: 'stopped', health: 'unknown', endpoints: [], waiting: undefined }));
    case 'service/extra':
      return patch(state, action.service, (s) => ({ ...s, extra: { ...s.extra, [action.plugin]: { ...s.extra[action.plugin], ...action.data } } }));
    case 'session/extra':
      return { ...state, extra: { ...state.extra, [action.plugin]: action.data } };
    case 'log': {
      const svc = action.line.service;
      if (svc && state.services[svc]) {
        return patch(state, svc, (s) => ({ ...s, logTail: appendCapped(s.logTail, action.line) }));
      }
      return { ...state, logTail: appendCapped(state.logTail, action.line) };
    }
    default:
      return state;
  }
}

export function newService(name: string, kind: string, target: string, triggerMode: 'auto' | 'manual'): ServiceState {
  return {
    name, kind, target, triggerMode,
    phase: 'pending',
    pendingFiles: [],
    buildCount: 0,
    runCount: 0,
    endpoints: [],
    health: 'unknown',
    restarts: 0,
    everHealthy: false,
    updates: [],
    extra: {},
    logTail: [],
  };
}

function patch(state: EngineState, name: string, fn: (s: ServiceState) => ServiceState): EngineState {
  const s = state.services[name];
  if (!s) return state;
  return { ...state, services: { ...state.services, [name]: fn(s) } };
}

function appendCapped(lines: LogLine[], line: LogLine): LogLine[] {
  const next = lines.length >= LOG_TAIL_LIMIT ? lines.slice(lines.length - LOG_TAIL_LIMIT + 1) : lines.slice();
  next.push(line);
  return next;
}
