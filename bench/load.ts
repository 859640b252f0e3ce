/**
 * The busy session both UI benches drive (tui.bench.ts, dashboard.bench.ts), in one place so the
 * TUI's and the dashboard's figures come from exactly the same action stream: 100 services and
 * 10,000 log lines/s for 3 s (90% from one chatty service), with a build finishing and plugin
 * data changing every 100 ms.
 */
import type { Action, ServiceRegistration } from '../core/store/actions.js';
import type { Store } from '../core/store/store.js';

export const SERVICES = 100;
export const LINES_PER_SECOND = 10_000;
export const SECONDS = 3;
export const TICK_MS = 10;

export const names = Array.from({ length: SERVICES }, (_, i) => `svc-${String(i).padStart(3, '0')}`);

export function setup(store: Store): void {
  const services: ServiceRegistration[] = names.map((name, i) => ({
    name, kind: ['esbuild', 'docker', 'command'][i % 3], target: ['process', 'docker', 'cloud-run', 'autopilot'][i % 4], triggerMode: 'auto',
  }));
  store.dispatch({ type: 'config/loaded', file: '/bench/Devfile.ts', services });
  store.dispatch({ type: 'engine/started' });
  const t = Date.now();
  names.forEach((service, i) => {
    const trigger = { reason: 'initial', files: [] };
    store.dispatch({ type: 'build/started', service, build: { id: 1, startedAt: t, trigger } });
    store.dispatch({ type: 'build/finished', service, build: { id: 1, startedAt: t, finishedAt: t + 900, durationMs: 900, trigger, image: `europe-docker.pkg.dev/p/r/${service}:tilt-${i.toString(16).padStart(16, '0')}` } });
    store.dispatch({ type: 'deploy/finished', service, endpoints: [{ name: 'http', url: `http://localhost:${8000 + i}` }] });
    store.dispatch({ type: 'service/phase', service, phase: 'starting' });
    store.dispatch({ type: 'service/health', service, health: 'healthy' });
    if (i % 4 === 2) store.dispatch({ type: 'service/extra', service, plugin: 'cloud-run', data: { instances: 1, queueDepth: 0 } });
    if (i % 4 === 3) store.dispatch({ type: 'service/extra', service, plugin: 'autopilot', data: { vcpu: 0.5, memoryGiB: 2, usdPerHour: 0.0251 } });
  });
}

/** One tick's worth of the busy stream; deterministic so every scenario sees the same actions. */
export function tick(store: Store, n: number, rate = LINES_PER_SECOND): void {
  const per = (rate * TICK_MS) / 1000;
  const time = Date.now();
  for (let j = 0; j < per; j++) {
    const k = n * per + j;
    const service = k % 10 === 0 ? names[(k * 7919) % SERVICES] : names[7];
    store.dispatch({ type: 'log', line: { time, service, level: 'output', stream: 'stdout', message: `GET /api/items/${k} 200 ${k % 97}ms user=${k % 13} trace=${(k * 2654435761) >>> 0}` } });
  }
  if (n % 10 === 0) {
    const service = names[(n / 10) % SERVICES];
    const build = { id: n, startedAt: time, trigger: { reason: 'file-change', files: ['src/index.ts'] } };
    const actions: Action[] = [
      { type: 'service/phase', service, phase: 'building' },
      { type: 'build/started', service, build },
      { type: 'build/finished', service, build: { ...build, finishedAt: time + 420, durationMs: 420 } },
      { type: 'service/phase', service, phase: 'starting' },
      { type: 'service/health', service, health: 'healthy' },
      { type: 'service/extra', service: names[2], plugin: 'cloud-run', data: { instances: 1 + (n % 5), queueDepth: n % 7 } },
    ];
    for (const a of actions) store.dispatch(a);
  }
}
