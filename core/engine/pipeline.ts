/**
 * One run of a service's pipeline: build -> push -> deploy -> observe, through the hooks.
 * Holds a parallelism slot only while building/pushing/deploying, never while waiting on
 * dependencies or health, so a slow dependency cannot starve the others.
 */
import { CancelledError, DevloopError, errorToJSON, isCancelled } from '../errors.js';
import type { BuildRecord, HealthState, UpdateRecord, UpdateStep } from '../store/state.js';
import type { BuildContext, BuildResult, DeployContext, Deployment, ObserveContext, PushContext, ServiceContext } from './contexts.js';
import type { Engine } from './engine.js';
import type { Semaphore } from './semaphore.js';
import { updateSummary } from './trigger.js';

export interface PipelineDeps {
  semaphore: Semaphore;
  previous(): Deployment | undefined;
  setDeployment(d: Deployment | undefined): void;
}

let buildIds = 0;

export async function runPipeline(engine: Engine, ctx: ServiceContext, deps: PipelineDeps): Promise<void> {
  const { service, signal } = ctx;
  const { hooks } = engine;
  let phase = 'queued';
  let build: BuildRecord | undefined;
  engine.dispatch({ type: 'run/started', service });
  // Per-update figures (Tilt's "DONE IN"): each step from its start to its end, and the total
  // from the trigger, so time queued for a slot or a dependency shows as total minus steps.
  const runId = engine.getState().services[service]?.runCount ?? 0;
  const startedAt = Date.now();
  const steps: UpdateStep[] = [];
  let stepStart = startedAt;
  let open = false;
  const begin = () => { stepStart = Date.now(); open = true; };
  const end = (name: UpdateStep['name']) => { steps.push({ name, ms: Date.now() - stepStart }); open = false; };
  const finish = (outcome: UpdateRecord['outcome'], failedStep?: UpdateStep['name']) => {
    // A failed or cancelled step still counts the time it took until then.
    if (open && failedStep) end(failedStep);
    const finishedAt = Date.now();
    const update: UpdateRecord = { id: runId, trigger: { reason: ctx.trigger.reason, files: ctx.trigger.files }, startedAt, finishedAt, totalMs: finishedAt - startedAt, steps, outcome, failedStep };
    engine.dispatch({ type: 'update/finished', service, update });
    // As a log line, so the summary reaches every output (plain, the TUI's log pane, stored logs);
    // a cancelled run has already said why ("build cancelled: superseded by ...").
    if (outcome !== 'cancelled') ctx.logger.info(updateSummary(update));
  };
  try {
    let release = await acquireSlot(engine, ctx, deps.semaphore);
    let result: BuildResult;
    try {
      // ---- build
      const kind = ctx.config.build?.type ?? 'none';
      const bctx: BuildContext = { ...ctx, kind };
      if (kind === 'none') {
        result = { image: ctx.config.image };
      } else if ((await hooks.shouldBuild.promise(bctx)) === false) {
        result = engine.getState().services[service]?.lastBuild?.image ? { image: engine.getState().services[service].lastBuild!.image, cached: true } : { cached: true };
      } else {
        phase = 'building';
        begin();
        build = { id: ++buildIds, startedAt: Date.now(), trigger: { reason: ctx.trigger.reason, files: ctx.trigger.files } };
        engine.dispatch({ type: 'build/started', service, build });
        engine.dispatch({ type: 'service/phase', service, phase: 'building' });
        ctx.logger.info(`building (${describeTrigger(ctx)})`);
        await hooks.beforeBuild.promise(bctx);
        signal.throwIfAborted();
        const builder = hooks.build.get(kind);
        const out = builder && builder.taps.length ? await builder.promise(bctx) : undefined;
        if (!out) {
          throw new DevloopError(`no plugin builds services of build type "${kind}"`, {
            code: 'NO_BUILDER',
            service,
            hint: builder?.taps.length ? `the plugins tapping build.for("${kind}") all declined; check their options` : `add a plugin that taps hooks.build.for("${kind}"), or use a built-in build type`,
          });
        }
        bctx.result = out;
        signal.throwIfAborted();
        await hooks.afterBuild.promise(bctx);
        result = out;
        const finishedAt = Date.now();
        build = { ...build, finishedAt, durationMs: finishedAt - build.startedAt, image: out.image, cached: out.cached };
        end('build');
        engine.dispatch({ type: 'build/finished', service, build });
        ctx.logger.info(`built in ${build.durationMs} ms${out.cached ? ' (unchanged, cached)' : ''}${out.image ? `: ${out.image}` : ''}`);
        build = undefined;
      }
      signal.throwIfAborted();

      // ---- push
      const pctx: PushContext = { ...ctx, build: result };
      if (hooks.push.taps.length && (await hooks.shouldPush.promise(pctx)) !== false) {
        phase = 'pushing';
        begin();
        engine.dispatch({ type: 'service/phase', service, phase: 'pushing' });
        await hooks.push.promise(pctx);
        end('push');
      }
      signal.throwIfAborted();
      release();

      // ---- wait for dependencies (first deploy only, like Tilt's resource_deps)
      await waitForDependencies(engine, ctx);
      release = await acquireSlot(engine, ctx, deps.semaphore);

      // ---- deploy
      phase = 'deploying';
      begin();
      engine.dispatch({ type: 'service/phase', service, phase: 'deploying' });
      const runtime = await resolveRuntime(engine, ctx);
      const dctx: DeployContext = { ...ctx, runtime, build: result, image: pctx.pushedRef ?? result.image, previous: deps.previous() };
      await hooks.beforeDeploy.promise(dctx);
      signal.throwIfAborted();
      const deployer = hooks.deploy.get(runtime);
      const deployment = deployer && deployer.taps.length ? await deployer.promise(dctx) : undefined;
      if (!deployment) {
        throw new DevloopError(`no plugin deploys to runtime "${runtime}"`, {
          code: 'NO_DEPLOYER',
          service,
          hint: `set services.${service}.runtime to one of the runtimes your plugins provide, or add a plugin that taps hooks.deploy.for("${runtime}")`,
        });
      }
      // The new deployment owns the service now, even if a later step is cancelled.
      deps.setDeployment(deployment);
      dctx.deployment = deployment;
      await hooks.afterDeploy.promise(dctx);
      end('deploy');
      engine.dispatch({ type: 'deploy/finished', service, endpoints: deployment.endpoints, image: dctx.image });
    } finally {
      release();
    }

    // ---- observe
    phase = 'starting';
    begin();
    engine.dispatch({ type: 'service/phase', service, phase: 'starting', waiting: 'waiting to become healthy' });
    const deployment = deps.previous()!;
    if (deployment.ready) await deployment.ready(signal);
    signal.throwIfAborted();
    let reported: HealthState | undefined;
    const octx: ObserveContext = {
      ...ctx,
      deployment,
      setHealth: (health, message) => {
        reported = health;
        engine.dispatch({ type: 'service/health', service, health, message });
      },
    };
    await hooks.observe.promise(octx);
    signal.throwIfAborted();
    end('healthy');
    if (reported === undefined) octx.setHealth('healthy', 'ready');
    if (reported === 'unhealthy') finish('failed', 'healthy');
    else finish('done');
  } catch (err) {
    if (isCancelled(err) || signal.aborted) {
      if (build) engine.dispatch({ type: 'build/finished', service, build: { ...build, finishedAt: Date.now(), durationMs: Date.now() - build.startedAt, cancelled: true } });
      const why = signal.reason instanceof Error ? signal.reason.message : 'cancelled';
      ctx.logger.info(`${phase === 'building' ? 'build' : phase} cancelled: ${why}`);
      finish('cancelled', STEP_OF_PHASE[phase]);
      return;
    }
    if (build) {
      const finishedAt = Date.now();
      engine.dispatch({ type: 'build/finished', service, build: { ...build, finishedAt, durationMs: finishedAt - build.startedAt, error: errorToJSON(err) } });
    }
    if (err instanceof DevloopError && !err.service) err.service = service;
    // Said once, in full, in the service's log (which `devloop logs` keeps); the failed action
    // carries `logged` so that a reporter showing that log does not print it again.
    const error = errorToJSON(err);
    ctx.logger.error(`${phase} failed: ${error.message}${error.hint ? `\n  try: ${error.hint}` : ''}`);
    engine.dispatch({ type: 'service/failed', service, error, logged: true });
    finish('failed', STEP_OF_PHASE[phase]);
    try {
      await hooks.failed.promise({ ...ctx, phase, error: err });
    } catch (hookErr) {
      ctx.logger.error(hookErr instanceof Error ? hookErr.message : String(hookErr));
    }
  }
}

const STEP_OF_PHASE: Record<string, UpdateStep['name'] | undefined> = { building: 'build', pushing: 'push', deploying: 'deploy', starting: 'healthy' };

async function acquireSlot(engine: Engine, ctx: ServiceContext, sem: Semaphore): Promise<() => void> {
  if (sem.inUse >= sem.capacity) {
    engine.dispatch({ type: 'service/phase', service: ctx.service, phase: 'queued', waiting: `waiting for a free slot (${sem.inUse} of ${sem.capacity} services busy)` });
  }
  return sem.acquire(ctx.signal);
}

/** Holds the first deploy until every `dependsOn` service has been healthy once. */
async function waitForDependencies(engine: Engine, ctx: ServiceContext): Promise<void> {
  const deps = ctx.config.dependsOn ?? [];
  if (deps.length === 0 || engine.getState().services[ctx.service]?.everHealthy) return;
  const pending = () => deps.filter((d) => !engine.getState().services[d]?.everHealthy);
  if (pending().length === 0) return;
  await new Promise<void>((resolve, reject) => {
    let lastReason = '';
    const check = () => {
      const left = pending();
      if (left.length === 0) { cleanup(); resolve(); return; }
      const first = engine.getState().services[left[0]];
      const detail = first?.phase === 'failed' ? `, which failed: ${first.error?.message ?? 'unknown error'}` : first ? ` (${first.phase})` : ' (not running)';
      const reason = `waiting for ${left.join(', ')} to become healthy${detail}`;
      if (reason !== lastReason) {
        lastReason = reason;
        engine.dispatch({ type: 'service/phase', service: ctx.service, phase: 'queued', waiting: reason });
      }
    };
    const onAbort = () => { cleanup(); reject(ctx.signal.reason ?? new CancelledError()); };
    const unsubscribe = engine.subscribe((_s, action) => { if (action.type !== 'log' && action.type !== 'service/phase') check(); else if (action.type === 'service/phase' && action.service !== ctx.service) check(); });
    const cleanup = () => { unsubscribe(); ctx.signal.removeEventListener('abort', onAbort); };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    check();
  });
}

async function resolveRuntime(engine: Engine, ctx: ServiceContext): Promise<string> {
  const explicit = ctx.config.runtime ?? ctx.devfile.environments?.[ctx.mode]?.runtime;
  const runtime = explicit ?? (await engine.hooks.resolveRuntime.promise(ctx)) ?? 'process';
  if (engine.getState().services[ctx.service]?.target !== runtime) engine.dispatch({ type: 'service/target', service: ctx.service, target: runtime });
  return runtime;
}

function describeTrigger(ctx: ServiceContext): string {
  const { reason, files } = ctx.trigger;
  if (files.length === 0) return reason;
  const shown = files.slice(0, 3).join(', ');
  return `${reason}: ${shown}${files.length > 3 ? ` and ${files.length - 3} more` : ''}`;
}
