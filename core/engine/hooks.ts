/**
 * The engine's hooks: the one extension surface. Built from tapable; frozen once created so a
 * plugin cannot replace a hook under another's feet. Every tap is wrapped so that an error it
 * throws becomes a `PluginError` naming the tap (the plugin) and the hook, keeping the cause.
 */
import tapable from 'tapable';
import type { AsyncSeriesBailHook as BailHook, AsyncSeriesHook as SeriesHook, HookMap as HookMapT } from 'tapable';
import { PluginError, isCancelled } from '../errors.js';
import type {
  BaseContext, BuildContext, BuildResult, ChangeContext, DeployContext, Deployment, FailedContext,
  ObserveContext, PushContext, ServiceContext, ShutdownContext, StartContext,
} from './contexts.js';
import type { PressureContext } from '../pressure/context.js';

const { AsyncSeriesHook, AsyncSeriesBailHook, HookMap } = tapable;

export interface EngineHooks {
  /**
   * Removes what an earlier session left behind (devloop crashed or was killed): containers
   * found by label, recorded process groups. Runs at the start of `up`/`ci` and on `down`.
   */
  readonly cleanup: SeriesHook<[BaseContext]>;
  /** After every plugin is applied and before the first build. Start shared servers here. */
  readonly start: SeriesHook<[StartContext]>;
  /**
   * Which runtime a service without `runtime` uses. First tap returning a name wins; the engine
   * falls back to `process`. The Docker plugin answers `docker` when a daemon answers.
   */
  readonly resolveRuntime: BailHook<[ServiceContext], string | undefined>;
  /** A batch of file changes touched a service. Taps may edit `ctx.changedFiles`. */
  readonly watch: SeriesHook<[ChangeContext]>;
  /**
   * Gate before a change becomes a rebuild. Return `false` when the change was applied in place
   * (live update); return `undefined` to let the next tap decide. Default: rebuild.
   */
  readonly shouldRebuild: BailHook<[ChangeContext], boolean | undefined>;
  /** Gate before a build. Return `false` to skip it (the previous result is reused). */
  readonly shouldBuild: BailHook<[BuildContext], boolean | undefined>;
  /** Before the builder runs. */
  readonly beforeBuild: SeriesHook<[BuildContext]>;
  /**
   * Builders, keyed by build kind (`docker`, `esbuild`, `command`, ...):
   * `hooks.build.for('docker').tapPromise(name, ctx => result)`. The first tap returning a
   * result wins; a kind with no tap that answers is an error the user sees.
   */
  readonly build: HookMapT<BailHook<[BuildContext], BuildResult | undefined>>;
  /** After a successful build; `ctx.result` is set. */
  readonly afterBuild: SeriesHook<[BuildContext]>;
  /** Gate before a push. Return `false` to skip it (e.g. the runtime shares the build daemon). */
  readonly shouldPush: BailHook<[PushContext], boolean | undefined>;
  /** Pushes the built image. Set `ctx.pushedRef` when the runtime should use another reference. */
  readonly push: SeriesHook<[PushContext]>;
  /** Before the deployer runs. Admission checks (Autopilot) tap here and may throw to stop it. */
  readonly beforeDeploy: SeriesHook<[DeployContext]>;
  /**
   * Deployers, keyed by runtime (`docker`, `process`, `cloud-run`, ...):
   * `hooks.deploy.for('cloud-run').tapPromise(name, ctx => deployment)`. First result wins.
   */
  readonly deploy: HookMapT<BailHook<[DeployContext], Deployment | undefined>>;
  /** After a deploy; `ctx.deployment` is set. */
  readonly afterDeploy: SeriesHook<[DeployContext]>;
  /**
   * Watches a deployment become healthy. Taps call `ctx.setHealth()`; a tap that throws marks the
   * service failed. When no tap reports health, a ready deployment counts as healthy.
   */
  readonly observe: SeriesHook<[ObserveContext]>;
  /** A phase failed for a service (not called for cancellations). */
  readonly failed: SeriesHook<[FailedContext]>;
  /** The engine is stopping: release what plugins started. Deployments are stopped before this. */
  readonly shutdown: SeriesHook<[ShutdownContext]>;
  /**
   * The machine is short of memory (`ctx.kind === 'memory'`) or a disk devloop uses is filling
   * up (`'disk'`, with `ctx.holds` saying what lives on it); thresholds from the Devfile's
   * `resourcePressure`. Called once when a pressure starts, not on every reading while it lasts.
   * Taps free what is idle without disturbing work in flight, and say what they freed with
   * `ctx.report()`. A tap that throws stops the later ones: catch what you expect.
   */
  readonly pressure: SeriesHook<[PressureContext]>;
}

export function createHooks(): EngineHooks {
  const hooks: EngineHooks = {
    cleanup: new AsyncSeriesHook<[BaseContext]>(['ctx']),
    start: new AsyncSeriesHook<[StartContext]>(['ctx']),
    resolveRuntime: new AsyncSeriesBailHook<[ServiceContext], string | undefined>(['ctx']),
    watch: new AsyncSeriesHook<[ChangeContext]>(['ctx']),
    shouldRebuild: new AsyncSeriesBailHook<[ChangeContext], boolean | undefined>(['ctx']),
    shouldBuild: new AsyncSeriesBailHook<[BuildContext], boolean | undefined>(['ctx']),
    beforeBuild: new AsyncSeriesHook<[BuildContext]>(['ctx']),
    build: new HookMap(() => new AsyncSeriesBailHook<[BuildContext], BuildResult | undefined>(['ctx'])),
    afterBuild: new AsyncSeriesHook<[BuildContext]>(['ctx']),
    shouldPush: new AsyncSeriesBailHook<[PushContext], boolean | undefined>(['ctx']),
    push: new AsyncSeriesHook<[PushContext]>(['ctx']),
    beforeDeploy: new AsyncSeriesHook<[DeployContext]>(['ctx']),
    deploy: new HookMap(() => new AsyncSeriesBailHook<[DeployContext], Deployment | undefined>(['ctx'])),
    afterDeploy: new AsyncSeriesHook<[DeployContext]>(['ctx']),
    observe: new AsyncSeriesHook<[ObserveContext]>(['ctx']),
    failed: new AsyncSeriesHook<[FailedContext]>(['ctx']),
    shutdown: new AsyncSeriesHook<[ShutdownContext]>(['ctx']),
    pressure: new AsyncSeriesHook<[PressureContext]>(['ctx']),
  };
  for (const [name, hook] of Object.entries(hooks)) {
    if (hook instanceof HookMap) {
      hook.intercept({ factory: (key: unknown, inner: any) => { wrapTaps(inner, `${name}.for(${String(key)})`); return inner; } });
    } else {
      wrapTaps(hook as any, name);
    }
  }
  return Object.freeze(hooks);
}

/** Hook names in pipeline order, for docs and tests. */
export const PIPELINE_ORDER = [
  'shouldBuild', 'beforeBuild', 'build', 'afterBuild', 'shouldPush', 'push',
  'beforeDeploy', 'deploy', 'afterDeploy', 'observe',
] as const;

function wrapTaps(hook: { intercept(i: object): void }, hookName: string): void {
  hook.intercept({
    register(tap: { name: string; type: 'sync' | 'async' | 'promise'; fn: (...args: any[]) => any }) {
      const fn = tap.fn;
      const wrap = (err: unknown, args: any[]) => {
        if (err instanceof PluginError || isCancelled(err)) return err;
        const service = args[0] && typeof args[0] === 'object' && typeof args[0].service === 'string' ? args[0].service : undefined;
        return new PluginError(tap.name, hookName, err, service);
      };
      if (tap.type === 'promise') {
        tap.fn = (...args: any[]) => {
          let result: unknown;
          try { result = fn(...args); } catch (err) { return Promise.reject(wrap(err, args)); }
          return Promise.resolve(result).catch((err) => { throw wrap(err, args); });
        };
      } else if (tap.type === 'async') {
        tap.fn = (...args: any[]) => {
          const callback = args.pop() as (err?: unknown, res?: unknown) => void;
          try {
            fn(...args, (err: unknown, res: unknown) => callback(err ? wrap(err, args) : err, res));
          } catch (err) { callback(wrap(err, args)); }
        };
      } else {
        tap.fn = (...args: any[]) => {
          try { return fn(...args); } catch (err) { throw wrap(err, args); }
        };
      }
      return tap;
    },
  });
}
