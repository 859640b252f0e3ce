/**
 * The engine: owns the hooks, the store and one controller per service. It never does build or
 * deploy work itself; plugins do, through the hooks. The engine decides *when*: triggers,
 * dependency holds, the parallelism limit, cancellation of superseded runs, reloads, shutdown.
 */
import path from 'node:path';
import { checkRuntimes } from '../devfile/runtimes.js';
import type { DevfileConfig, ServiceConfig } from '../devfile/types.js';
import { CancelledError, DevloopError, PluginError, errorToJSON, isCancelled } from '../errors.js';
import type { DevloopPlugin } from '../plugins/types.js';
import type { Action, ServiceRegistration } from '../store/actions.js';
import type { EngineState, LogLine, UpdateRecord } from '../store/state.js';
import { createStore, type Listener, type Store } from '../store/store.js';
import type { BaseContext, ChangeContext, Deployment, Logger, ServiceContext, Trigger } from './contexts.js';
import { serviceEnv } from './env.js';
import { createHooks, type EngineHooks } from './hooks.js';
import { runPipeline } from './pipeline.js';
import { updateSummary } from './trigger.js';
import { Redactor } from './redact.js';
import { MetricsSources } from './metrics.js';
import { Tracing } from './tracing.js';
import { Semaphore } from './semaphore.js';

export interface EngineOptions {
  /** Project root: the folder holding Devfile.ts. */
  root: string;
  devfile: DevfileConfig;
  /** Path of the Devfile, for messages. */
  devfileFile?: string;
  /** Environment name (`--env`), default `local`. */
  mode?: string;
  /** The CLI command that starts it (`up`, `ci`, ...), given to plugins as `ctx.command`. */
  command?: string;
  /** Plugins already resolved (see `resolvePlugins`). Built-ins first. */
  plugins?: DevloopPlugin[];
  /** Only these services run (CLI `ci api web`). Their dependencies are added. */
  only?: string[];
}

interface Controller {
  name: string;
  /** The in-flight run, if any. */
  run?: { abort: AbortController; done: Promise<void>; trigger: Trigger };
  /** A trigger waiting for the in-flight run to unwind. */
  next?: Trigger;
  deployment?: Deployment;
  /** Files changed since the last build (manual mode). */
  pending: Set<string>;
}

export class Engine {
  readonly hooks: EngineHooks = createHooks();
  readonly root: string;
  readonly mode: string;
  readonly command?: string;
  readonly redactor = new Redactor();
  /** Prometheus series of every plugin, served as one `/metrics` by whichever plugin claims them. */
  readonly metrics = new MetricsSources();
  /** Where finished spans go while a plugin exports traces (`devloop:monitoring` with Jaeger). */
  readonly tracing = new Tracing();
  private readonly store: Store = createStore();
  private devfileValue: DevfileConfig;
  private readonly devfileFile?: string;
  private readonly plugins: DevloopPlugin[];
  private readonly appliedPlugins: string[] = [];
  private readonly controllers = new Map<string, Controller>();
  private readonly shutdownController = new AbortController();
  private semaphore: Semaphore;
  private readonly only?: string[];
  private started = false;
  private pluginsApplied = false;
  private stopping?: Promise<void>;

  constructor(options: EngineOptions) {
    this.root = path.resolve(options.root);
    this.mode = options.mode ?? 'local';
    this.command = options.command;
    this.devfileValue = options.devfile;
    this.devfileFile = options.devfileFile;
    this.plugins = options.plugins ?? [];
    this.only = options.only;
    this.semaphore = new Semaphore(options.devfile.parallelism ?? 3);
    this.redactor.addEnv(process.env, { ambient: true });
  }

  get devfile(): DevfileConfig { return this.devfileValue; }
  get pluginNames(): readonly string[] { return this.appliedPlugins; }
  getState(): EngineState { return this.store.getState(); }
  dispatch = (action: Action): void => {
    // Every text reaches reporters, the control socket, log files and CI reports through the
    // store: redacting here, once, covers errors, hints and plugin data as well as log lines.
    this.store.dispatch(this.redactor.redactDeep(action));
  };
  subscribe(listener: Listener): () => void { return this.store.subscribe(listener); }
  /** Fires when the engine is stopping; plugins tie their own long-lived work to it. */
  get signal(): AbortSignal { return this.shutdownController.signal; }

  /** A logger writing into one service's log, or the project log when `service` is omitted. */
  logger(service?: string): Logger {
    const emit = (level: LogLine['level'], message: string, stream?: 'stdout' | 'stderr') =>
      this.dispatch({ type: 'log', line: { time: Date.now(), service, level, stream, message } });
    return {
      info: (m) => emit('info', m),
      warn: (m) => emit('warn', m),
      error: (m) => emit('error', m),
      output: (m, stream = 'stdout') => emit('output', m, stream),
    };
  }

  /** The running deployment of a service, if any. */
  deployment(service: string): Deployment | undefined { return this.controllers.get(service)?.deployment; }

  serviceNames(): string[] {
    const all = Object.keys(this.devfileValue.services);
    if (!this.only?.length) return all;
    const wanted = new Set<string>();
    const add = (n: string) => {
      if (wanted.has(n) || !this.devfileValue.services[n]) return;
      wanted.add(n);
      for (const d of this.devfileValue.services[n].dependsOn ?? []) add(d);
    };
    for (const n of this.only) {
      if (!this.devfileValue.services[n]) {
        throw new DevloopError(`no service named "${n}" in the Devfile`, { code: 'UNKNOWN_SERVICE', exitCode: 2, hint: `services are: ${all.join(', ') || '(none)'}` });
      }
      add(n);
    }
    return all.filter((n) => wanted.has(n));
  }

  /** Applies the plugins (once). `start()` does this itself; `down` calls it alone to run `cleanup`. */
  async applyPlugins(): Promise<void> {
    if (this.pluginsApplied) return;
    this.pluginsApplied = true;
    for (const plugin of this.plugins) await this.applyPlugin(plugin);
  }

  /** Removes leftovers of earlier sessions through the `cleanup` hook; errors are logged, not thrown. */
  async cleanup(): Promise<void> {
    await this.applyPlugins();
    try {
      await this.hooks.cleanup.promise(this.baseContext());
    } catch (err) {
      this.logger().warn(`cleanup of an earlier session failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** Applies plugins, cleans up after an earlier crashed session, registers services and starts their first runs. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.cleanup();
    // Which runtimes exist is known only now that the plugins are applied: refuse a typo in a
    // Devfile before anything starts, located, rather than failing its service's first deploy.
    // (An engine configured in code has no Devfile to point at: its deploy still names the service.)
    if (this.devfileFile) await checkRuntimes(this.devfileValue, this.hooks.deploy, this.devfileFile);
    const names = this.serviceNames();
    this.registerServices(names);
    this.dispatch({ type: 'engine/started' });
    await this.hooks.start.promise({ ...this.baseContext(), services: names });
    for (const name of names) this.trigger(name, { reason: 'initial', files: [] });
  }

  private async applyPlugin(plugin: DevloopPlugin): Promise<void> {
    try {
      await plugin.apply(this);
      this.appliedPlugins.push(plugin.name);
    } catch (err) {
      // One broken plugin must not take the engine down: report it and carry on without it.
      const error = err instanceof PluginError ? err : new PluginError(plugin.name, 'apply', err);
      this.logger().error(error.message);
      this.dispatch({ type: 'plugin/custom', plugin: plugin.name, name: 'apply-failed', payload: error.toJSON() });
    }
  }

  private registerServices(names: string[]): void {
    const regs: ServiceRegistration[] = names.map((name) => {
      const cfg = this.devfileValue.services[name];
      return { name, kind: cfg.build?.type ?? 'none', target: cfg.runtime ?? this.devfileValue.environments?.[this.mode]?.runtime ?? 'auto', triggerMode: cfg.triggerMode ?? this.devfileValue.triggerMode ?? 'auto' };
    });
    for (const name of names) {
      if (!this.controllers.has(name)) this.controllers.set(name, { name, pending: new Set() });
      this.redactor.addEnv(serviceEnv(this.devfileValue, this.devfileValue.services[name], this.mode));
    }
    this.dispatch({ type: 'config/loaded', file: this.devfileFile ?? 'Devfile.ts', services: regs });
  }

  /**
   * Starts a run of the service's pipeline. A run already in flight is cancelled (its
   * AbortSignal fires) and the new one starts once it has unwound; triggers arriving meanwhile
   * are merged into one.
   */
  trigger(service: string, trigger: Trigger): void {
    const ctl = this.controllers.get(service);
    if (!ctl || this.stopping) return;
    if (ctl.run) {
      // The superseded run's files carry over: it may not have deployed them, and the watcher
      // reports a change once (core/watch/contents.ts), so the next trigger must name them too.
      const pending = ctl.next ?? (ctl.run.abort.signal.aborted ? undefined : ctl.run.trigger);
      ctl.next = pending ? mergeTriggers(pending, trigger) : trigger;
      if (!ctl.run.abort.signal.aborted) ctl.run.abort.abort(new CancelledError(`superseded by ${trigger.reason}`));
      return;
    }
    this.startRun(ctl, trigger);
  }

  private startRun(ctl: Controller, trigger: Trigger): void {
    const abort = new AbortController();
    const onShutdown = () => abort.abort(new CancelledError('engine stopping'));
    this.signal.addEventListener('abort', onShutdown, { once: true });
    const done = runPipeline(this, this.serviceContext(ctl.name, trigger, abort.signal), {
      semaphore: this.semaphore,
      previous: () => ctl.deployment,
      setDeployment: (d) => { ctl.deployment = d; },
    }).catch((err) => {
      // runPipeline reports its own failures; anything escaping is a bug worth seeing.
      this.logger(ctl.name).error(`internal error: ${err instanceof Error ? err.stack : String(err)}`);
    }).finally(() => {
      this.signal.removeEventListener('abort', onShutdown);
      ctl.run = undefined;
      const next = ctl.next;
      ctl.next = undefined;
      if (next && !this.stopping) this.startRun(ctl, next);
    });
    ctl.run = { abort, done, trigger };
  }

  /** Called by the watcher with the changed files of one service. */
  async filesChanged(service: string, files: string[]): Promise<void> {
    const ctl = this.controllers.get(service);
    if (!ctl || this.stopping) return;
    const rel = files.map((f) => path.relative(this.root, f));
    const startedAt = Date.now();
    const ctx: ChangeContext = { ...this.serviceContext(service, { reason: 'file-change', files: rel }, this.signal), changedFiles: files, steps: [] };
    try {
      await this.hooks.watch.promise(ctx);
      if (ctx.changedFiles.length === 0) return;
      const state = this.getState().services[service];
      // Live update only applies to a settled, running deployment; otherwise rebuild.
      if (!ctl.run && ctl.deployment && state) {
        const rebuild = await this.hooks.shouldRebuild.promise(ctx);
        if (rebuild === false) {
          this.liveUpdated(ctx, startedAt);
          return;
        }
      }
    } catch (err) {
      if (isCancelled(err)) return;
      this.logger(service).warn(`${err instanceof Error ? err.message : String(err)}; falling back to a full rebuild`);
    }
    const relChanged = ctx.changedFiles.map((f) => path.relative(this.root, f));
    const mode = this.getState().services[service]?.triggerMode ?? 'auto';
    if (mode === 'manual') {
      for (const f of relChanged) ctl.pending.add(f);
      this.dispatch({ type: 'service/pendingFiles', service, files: [...ctl.pending] });
      return;
    }
    this.trigger(service, { reason: 'file-change', files: relChanged });
  }

  /**
   * A live update is an update too: it gets a run number, a record in the service's updates and
   * the same one-line summary as a pipeline run (Tilt prints one per update of either kind).
   */
  private liveUpdated(ctx: ChangeContext, startedAt: number): void {
    const { service } = ctx;
    this.dispatch({ type: 'run/live', service });
    const finishedAt = Date.now();
    const totalMs = finishedAt - startedAt;
    const files = ctx.changedFiles.map((f) => path.relative(this.root, f));
    const update: UpdateRecord = {
      id: this.getState().services[service]?.runCount ?? 0,
      trigger: { reason: 'file-change', files },
      startedAt, finishedAt, totalMs,
      steps: ctx.steps.length ? ctx.steps : [{ name: 'sync', ms: totalMs }],
      outcome: 'done',
      live: true,
    };
    this.dispatch({ type: 'update/finished', service, update });
    this.logger(service).info(updateSummary(update));
  }

  /** Manual trigger (`r` in the TUI, `devloop deploy`): runs with the pending files, if any. */
  triggerManual(service: string): void {
    const ctl = this.controllers.get(service);
    if (!ctl) return;
    const files = [...ctl.pending];
    ctl.pending.clear();
    this.trigger(service, { reason: 'manual', files });
  }

  /**
   * Redeploys a service with the Node inspector listening on 127.0.0.1:`port` (runtimes that
   * support it read `extra.debug.inspectPort`). `undefined` turns debugging off again.
   */
  debug(service: string, port: number | undefined): void {
    this.dispatch({ type: 'service/extra', service, plugin: 'debug', data: { inspectPort: port } });
    this.trigger(service, { reason: port ? 'debug' : 'debug off', files: [] });
  }

  setTriggerMode(service: string, mode: 'auto' | 'manual'): void {
    this.dispatch({ type: 'service/triggerMode', service, mode });
    const ctl = this.controllers.get(service);
    if (mode === 'auto' && ctl && ctl.pending.size) this.triggerManual(service);
  }

  /**
   * Swaps in a newly loaded Devfile. Services whose config changed are rebuilt, new ones start,
   * removed ones are stopped. Unchanged services keep running untouched.
   */
  async reload(devfile: DevfileConfig): Promise<{ added: string[]; removed: string[]; changed: string[] }> {
    if (this.devfileFile) await checkRuntimes(devfile, this.hooks.deploy, this.devfileFile); // before anything changes: the last good config keeps running
    const before = this.devfileValue;
    this.devfileValue = devfile;
    if ((devfile.parallelism ?? 3) !== (before.parallelism ?? 3)) this.semaphore = new Semaphore(devfile.parallelism ?? 3);
    if (stableJson(devfile.plugins ?? []) !== stableJson(before.plugins ?? [])) {
      this.logger().warn('the Devfile\'s plugins changed; restart devloop to apply plugin changes (services were reloaded)');
    }
    const oldNames = new Set(this.controllers.keys());
    const names = this.serviceNames();
    const added = names.filter((n) => !oldNames.has(n));
    const removed = [...oldNames].filter((n) => !names.includes(n));
    const changed = names.filter((n) => oldNames.has(n) && stableJson(before.services[n]) !== stableJson(devfile.services[n]));
    for (const name of removed) await this.removeService(name);
    this.registerServices(names);
    for (const name of added) this.trigger(name, { reason: 'initial', files: [] });
    for (const name of changed) this.trigger(name, { reason: 'config-change', files: this.devfileFile ? [path.relative(this.root, this.devfileFile)] : [] });
    this.logger().info(`Devfile reloaded: ${describeDiff(added, removed, changed)}`);
    return { added, removed, changed };
  }

  /** A broken Devfile edit: show the error, keep everything running on the last good config. */
  configError(err: unknown): void {
    this.dispatch({ type: 'config/error', error: errorToJSON(err) });
    this.logger().error(`Devfile not reloaded, still running the last good version:\n${err instanceof Error ? err.message : String(err)}`);
  }

  private async removeService(name: string): Promise<void> {
    const ctl = this.controllers.get(name);
    if (!ctl) return;
    ctl.next = undefined;
    ctl.run?.abort.abort(new CancelledError('service removed from the Devfile'));
    await ctl.run?.done;
    await this.stopDeployment(ctl, 'service removed from the Devfile');
    this.controllers.delete(name);
    this.dispatch({ type: 'service/removed', service: name });
  }

  private async stopDeployment(ctl: Controller, reason: string): Promise<void> {
    const d = ctl.deployment;
    ctl.deployment = undefined;
    if (!d) return;
    try {
      await d.stop(reason);
    } catch (err) {
      this.logger(ctl.name).error(`could not stop ${ctl.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.dispatch({ type: 'service/stopped', service: ctl.name });
  }

  /** Resolves when no run is in flight (used by tests and `devloop ci`). */
  async idle(): Promise<void> {
    for (;;) {
      const runs = [...this.controllers.values()].map((c) => c.run?.done).filter(Boolean);
      if (runs.length === 0) return;
      await Promise.all(runs);
    }
  }

  /** Cancels every run, stops every deployment, then lets plugins release what they hold. Idempotent. */
  stop(reason = 'shutdown'): Promise<void> {
    this.stopping ??= (async () => {
      this.dispatch({ type: 'engine/stopping', reason });
      this.shutdownController.abort(new CancelledError(reason));
      await Promise.all([...this.controllers.values()].map((c) => c.run?.done));
      await Promise.all([...this.controllers.values()].map((c) => this.stopDeployment(c, reason)));
      try {
        await this.hooks.shutdown.promise({ ...this.baseContext(), reason, signal: AbortSignal.timeout(30_000) });
      } catch (err) {
        this.logger().error(err instanceof Error ? err.message : String(err));
      }
      this.dispatch({ type: 'engine/stopped' });
    })();
    return this.stopping;
  }

  baseContext(): BaseContext {
    return {
      root: this.root,
      devfile: this.devfileValue,
      mode: this.mode,
      command: this.command,
      logger: this.logger(),
      dispatch: this.dispatch,
      getState: () => this.getState(),
    };
  }

  serviceContext(service: string, trigger: Trigger, signal: AbortSignal): ServiceContext {
    const config: ServiceConfig = this.devfileValue.services[service];
    return {
      ...this.baseContext(),
      logger: this.logger(service),
      service,
      config,
      env: serviceEnv(this.devfileValue, config, this.mode),
      signal,
      trigger,
      data: {},
    };
  }
}

export function createEngine(options: EngineOptions): Engine {
  return new Engine(options);
}

function mergeTriggers(a: Trigger, b: Trigger): Trigger {
  return { reason: b.reason, files: [...new Set([...a.files, ...b.files])] };
}

function describeDiff(added: string[], removed: string[], changed: string[]): string {
  const parts = [
    added.length ? `added ${added.join(', ')}` : '',
    removed.length ? `removed ${removed.join(', ')}` : '',
    changed.length ? `changed ${changed.join(', ')}` : '',
  ].filter(Boolean);
  return parts.length ? parts.join('; ') : 'no service changed';
}

/** JSON with functions named, so an inline plugin or a changed function counts as a change. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'function' ? `[fn ${v.name}:${String(v).length}]` : v)) ?? '';
}
