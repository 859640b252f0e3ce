/**
 * `devloop:cloud-run`: serves services with `runtime: 'cloud-run'` the way Cloud Run would.
 *
 * | hook                       | what                                                           |
 * | -------------------------- | -------------------------------------------------------------- |
 * | resolveRuntime             | `cloud-run` for services with a `cloudRun` block, or all        |
 * |                            | services when `simulation.cloudRun.enabled`                     |
 * | deploy.for('cloud-run')    | spec (service.yaml or inline) -> revision -> traffic -> proxy   |
 * | pressure (memory)          | idle instances beyond minScale retired early                    |
 * | shutdown                   | services and the metrics endpoint stopped                       |
 *
 * Instances are containers when the build produced an image (or the service names one) and a
 * Docker daemon answers; otherwise processes, started the way the process runtime would. The
 * work itself lives in `runtime.ts`, loaded on the first Cloud Run deploy (or command), so the
 * projects that never use the simulator do not pay for loading it.
 */
import type { DevloopPlugin } from '../../core/plugins/types.js';
import { PlainFallback, simulatorFailure } from './fallback.js';
import { PLUGIN } from './id.js';
import type { ScalingSettings } from './types.js';

export interface CloudRunPluginOptions {
  /** Overrides of the scaling settings (tests and benches tune windows with this). */
  scaling?: Partial<ScalingSettings>;
  /** Serve `/metrics` (default true). */
  metrics?: boolean;
  /** Front-end connection timeouts and cap (defaults and why in front-door.ts; tests shorten them). */
  frontEnd?: Partial<import('./front-door.js').FrontDoorLimits>;
}

export function cloudRunPlugin(options: CloudRunPluginOptions = {}): DevloopPlugin {
  return {
    name: PLUGIN,
    apply(engine) {
      let runtime: Promise<import('./runtime.js').CloudRunRuntime> | undefined;
      const load = () => (runtime ??= import('./runtime.js').then((m) => new m.CloudRunRuntime(engine, options)));

      engine.hooks.resolveRuntime.tapPromise({ name: PLUGIN, stage: -10 }, async (ctx) => {
        if (ctx.config.cloudRun || ctx.devfile.simulation?.cloudRun?.enabled) return 'cloud-run';
        return undefined;
      });

      // The simulator's own failures (it cannot load, its front end cannot listen) fall back to
      // the plain runtime with one warning (fallback.ts); the user's mistakes fail the deploy.
      const fallback = new PlainFallback(engine);
      engine.hooks.deploy.for('cloud-run').tapPromise(PLUGIN, async (ctx) => {
        let rt: import('./runtime.js').CloudRunRuntime;
        try {
          rt = await load();
        } catch (err) {
          runtime = undefined;
          return fallback.deploy(ctx, `the simulator failed to load (${err instanceof Error ? err.message : String(err)})`);
        }
        try {
          const deployment = await rt.deploy(ctx);
          fallback.recovered(ctx.service);
          return deployment;
        } catch (err) {
          const reason = simulatorFailure(err);
          if (!reason) throw err;
          return fallback.deploy(ctx, reason);
        }
      });

      // `devloop cloudrun update-traffic` reaches the session as a plugin action.
      engine.subscribe((_state, action) => {
        if (action.type !== 'plugin/custom' || action.plugin !== PLUGIN || action.name !== 'update-traffic') return;
        void load().then((rt) => rt.updateTraffic(action));
      });

      // Memory pressure: idle instances beyond minScale go now rather than after the idle timeout.
      engine.hooks.pressure.tapPromise(PLUGIN, async (ctx) => {
        if (ctx.kind !== 'memory' || !runtime) return;
        const { CloudRunService } = await import('./service.js');
        for (const name of engine.serviceNames()) {
          const deployment = engine.deployment(name);
          const n = deployment instanceof CloudRunService ? deployment.retireIdle('memory pressure') : 0;
          if (n) ctx.report(`retired ${n} idle instance${n === 1 ? '' : 's'} of ${name}`);
        }
      });

      engine.hooks.shutdown.tapPromise(PLUGIN, async () => {
        if (runtime) await (await runtime).shutdown();
      });
    },
  };
}
