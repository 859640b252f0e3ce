/**
 * devloop's own series: what the pipeline did (build, push and deploy durations, edit-to-serving
 * latency of each reload, failures by phase and reason, watch events, restarts) and each
 * service's state and resource use. Fed from the store's actions (the same stream reporters
 * read), so it needs no hook of its own and cannot slow the pipeline.
 *
 * Names follow Prometheus conventions (`devloop_` prefix, `_seconds`, `_total`); the alerting
 * rules (rules.ts) and the Grafana dashboards reference them, so renaming one is a breaking change.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ResourceUsage } from '../../core/engine/contexts.js';
import type { Action } from '../../core/store/actions.js';
import type { EngineState, UpdateRecord } from '../../core/store/state.js';

/** Pipeline steps take 50 ms to minutes (a cold Docker build). */
const STEP_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export interface ServiceUsage extends ResourceUsage {
  service: string;
  runtime: string;
}

type Removable = { remove(labels: Record<string, string>): void };

export class DevloopMetrics {
  readonly registry = new Registry();
  private readonly build: Histogram<'service' | 'builder'>;
  private readonly push: Histogram<'service'>;
  private readonly deploy: Histogram<'service' | 'runtime'>;
  private readonly reload: Histogram<'service' | 'kind'>;
  private readonly failures: Counter<'service' | 'phase' | 'reason'>;
  private readonly watchEvents: Counter<'service'>;
  private readonly restarts: Counter<'service'>;
  private readonly up: Gauge<'service'>;
  private readonly healthy: Gauge<'service'>;
  private readonly autopilotCpu: Gauge<'service' | 'compute_class'>;
  private readonly autopilotMemory: Gauge<'service' | 'compute_class'>;
  private readonly autopilotCost: Gauge<'service' | 'compute_class' | 'spot'>;
  private readonly used = new Map<Removable, Map<string, Record<string, string>>>();
  /** Services seen, so their series start at 0 (a rate over a counter that appears at 1 misses the first event). */
  private readonly known = new Set<string>();

  constructor() {
    const registers = [this.registry];
    this.build = new Histogram({ name: 'devloop_build_duration_seconds', help: 'Build step of each pipeline run, by service and builder.', labelNames: ['service', 'builder'], buckets: STEP_BUCKETS, registers });
    this.push = new Histogram({ name: 'devloop_push_duration_seconds', help: 'Push step of each pipeline run.', labelNames: ['service'], buckets: STEP_BUCKETS, registers });
    this.deploy = new Histogram({ name: 'devloop_deploy_duration_seconds', help: 'Deploy step of each pipeline run, by runtime.', labelNames: ['service', 'runtime'], buckets: STEP_BUCKETS, registers });
    this.reload = new Histogram({ name: 'devloop_reload_seconds', help: 'From the change (or trigger) to serving again: kind="rebuild" for a pipeline run, "live" for a live update.', labelNames: ['service', 'kind'], buckets: STEP_BUCKETS, registers });
    this.failures = new Counter({ name: 'devloop_failures_total', help: 'Failed pipeline runs and services, by the phase that failed and the error code.', labelNames: ['service', 'phase', 'reason'], registers });
    this.watchEvents = new Counter({ name: 'devloop_watch_events_total', help: 'File changes that reached a service (after ignores).', labelNames: ['service'], registers });
    this.restarts = new Counter({ name: 'devloop_service_restarts_total', help: 'Restarts of what runs (crashes, failed liveness, OOM).', labelNames: ['service'], registers });
    this.up = new Gauge({ name: 'devloop_service_up', help: '1 while the service is deployed and not failed or stopped.', labelNames: ['service'], registers });
    this.healthy = new Gauge({ name: 'devloop_service_healthy', help: '1 while the service passes its health check.', labelNames: ['service'], registers });
    this.autopilotCpu = new Gauge({ name: 'devloop_service_autopilot_vcpu', help: 'vCPU Autopilot admitted the service\'s pod with (after its minimums and ratios), as billed.', labelNames: ['service', 'compute_class'], registers });
    this.autopilotMemory = new Gauge({ name: 'devloop_service_autopilot_memory_bytes', help: 'Memory Autopilot admitted the service\'s pod with, as billed.', labelNames: ['service', 'compute_class'], registers });
    this.autopilotCost = new Gauge({ name: 'devloop_service_autopilot_cost_usd_per_hour', help: 'Estimated cost per hour of one pod of the service on GKE Autopilot.', labelNames: ['service', 'compute_class', 'spot'], registers });
  }

  /** The store's reducer has applied `action`; `state` is the state after it. */
  onAction(state: EngineState, action: Action): void {
    switch (action.type) {
      case 'config/loaded':
        for (const s of action.services) this.service(s.name);
        break;
      case 'update/finished':
        this.update(action.service, action.update, state);
        break;
      case 'service/failed': {
        this.service(action.service);
        // The phase it failed in is the one before `failed`: the last update's failed step, else the error's own word.
        const last = state.services[action.service]?.updates.at(-1);
        const phase = last?.outcome === 'failed' && last.failedStep ? last.failedStep : 'run';
        this.failures.inc(this.t(this.failures, { service: action.service, phase, reason: action.error.code ?? 'UNKNOWN' }));
        break;
      }
      case 'service/restarted':
        this.service(action.service);
        this.restarts.inc(this.t(this.restarts, { service: action.service }));
        break;
      case 'service/extra':
        if (action.plugin === 'autopilot') this.autopilot(action.service, action.data);
        break;
      case 'service/removed':
        this.forget(action.service);
        return;
      default:
        break;
    }
    if ('service' in action && typeof action.service === 'string') this.state(action.service, state);
  }

  /** A batch of file changes reached `service` (the `watch` hook). */
  watched(service: string, files: number): void {
    this.service(service);
    this.watchEvents.inc(this.t(this.watchEvents, { service }), files);
  }

  private service(name: string): void {
    if (this.known.has(name)) return;
    this.known.add(name);
    this.watchEvents.inc(this.t(this.watchEvents, { service: name }), 0);
    this.restarts.inc(this.t(this.restarts, { service: name }), 0);
    this.up.set(this.t(this.up, { service: name }), 0);
    this.healthy.set(this.t(this.healthy, { service: name }), 0);
  }

  /** What devloop:autopilot admitted for the service (plugins/autopilot/plugin.ts): replaces the previous admission's. */
  private autopilot(service: string, data: Record<string, unknown>): void {
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
    const vcpu = num(data.vcpu);
    const gib = num(data.memoryGiB);
    const usd = num(data.usdPerHour);
    if (vcpu === undefined && gib === undefined && usd === undefined) return;
    const computeClass = typeof data.computeClass === 'string' ? data.computeClass : 'unknown';
    for (const m of [this.autopilotCpu, this.autopilotMemory, this.autopilotCost]) this.drop(m, service);
    if (vcpu !== undefined) this.autopilotCpu.set(this.t(this.autopilotCpu, { service, compute_class: computeClass }), vcpu);
    if (gib !== undefined) this.autopilotMemory.set(this.t(this.autopilotMemory, { service, compute_class: computeClass }), gib * 2 ** 30);
    if (usd !== undefined) this.autopilotCost.set(this.t(this.autopilotCost, { service, compute_class: computeClass, spot: data.spot === true ? 'true' : 'false' }), usd);
  }

  private state(name: string, state: EngineState): void {
    const s = state.services[name];
    if (!s) return;
    this.service(name);
    const running = s.phase === 'healthy' || s.phase === 'unhealthy' || s.phase === 'starting' || (s.deployedRun !== undefined && s.phase !== 'failed' && s.phase !== 'stopped' && s.phase !== 'pending');
    this.up.set(this.t(this.up, { service: name }), running ? 1 : 0);
    this.healthy.set(this.t(this.healthy, { service: name }), s.phase === 'healthy' ? 1 : 0);
  }

  private update(service: string, u: UpdateRecord, state: EngineState): void {
    this.service(service);
    const s = state.services[service];
    const step = (n: UpdateRecord['steps'][number]['name']) => u.steps.find((x) => x.name === n)?.ms;
    const build = step('build');
    if (build !== undefined) this.build.observe(this.t(this.build, { service, builder: s?.kind ?? 'unknown' }), build / 1000);
    const push = step('push');
    if (push !== undefined) this.push.observe(this.t(this.push, { service }), push / 1000);
    const deploy = step('deploy');
    if (deploy !== undefined) this.deploy.observe(this.t(this.deploy, { service, runtime: s?.target ?? 'unknown' }), deploy / 1000);
    if (u.outcome === 'done') this.reload.observe(this.t(this.reload, { service, kind: u.live ? 'live' : 'rebuild' }), u.totalMs / 1000);
  }

  /** Remembers each label set used, so a removed service's series can all be dropped. */
  private t<L extends Record<string, string>>(metric: Removable, labels: L): L {
    let sets = this.used.get(metric);
    if (!sets) this.used.set(metric, (sets = new Map()));
    sets.set(JSON.stringify(labels), labels);
    return labels;
  }

  private forget(service: string): void {
    this.known.delete(service);
    for (const metric of this.used.keys()) this.drop(metric, service);
  }

  /** prom-client's remove() needs every label of a series: drops each set the service used on `metric`. */
  private drop(metric: Removable, service: string): void {
    const sets = this.used.get(metric);
    if (!sets) return;
    for (const [key, labels] of sets) {
      if (labels.service !== service) continue;
      metric.remove(labels);
      sets.delete(key);
    }
  }

  /**
   * The services' CPU and memory, read at scrape time, as Prometheus text. Written by hand: CPU
   * time is a counter the runtime keeps (it resets when what runs is replaced, which rate()
   * handles), and prom-client's Counter cannot be set to a value.
   */
  static usageText(usage: ServiceUsage[]): string {
    const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    const cpu = usage.filter((u) => u.cpuSeconds !== undefined);
    const mem = usage.filter((u) => u.memoryBytes !== undefined);
    const lines: string[] = [];
    lines.push('# HELP devloop_service_cpu_seconds_total CPU time used by what runs for the service (containers: cgroup; processes: the process group).');
    lines.push('# TYPE devloop_service_cpu_seconds_total counter');
    for (const u of cpu) lines.push(`devloop_service_cpu_seconds_total{service="${esc(u.service)}",runtime="${esc(u.runtime)}"} ${u.cpuSeconds}`);
    lines.push('# HELP devloop_service_memory_bytes Memory in use by what runs for the service (containers: cgroup usage; processes: resident set).');
    lines.push('# TYPE devloop_service_memory_bytes gauge');
    for (const u of mem) lines.push(`devloop_service_memory_bytes{service="${esc(u.service)}",runtime="${esc(u.runtime)}"} ${u.memoryBytes}`);
    return `${lines.join('\n')}\n`;
  }
}
