/**
 * `devloop:cloud-run`: serves services with `runtime: 'cloud-run'` the way Cloud Run would.
 *
 * | hook                       | what                                                           |
 * | -------------------------- | -------------------------------------------------------------- |
 * | resolveRuntime             | `cloud-run` for services with a `cloudRun` block, or all        |
 * |                            | services when `simulation.cloudRun.enabled`                     |
 * | deploy.for('cloud-run')    | spec (service.yaml or inline) -> revision -> traffic -> proxy   |
 * | shutdown                   | services and the metrics endpoint stopped                       |
 *
 * Instances are containers when the build produced an image (or the service names one) and a
 * Docker daemon answers; otherwise processes, started the way the process runtime would. The
 * work itself lives in `runtime.ts`, loaded on the first Cloud Run deploy (or command), so the
 * projects that never use the simulator do not pay for loading it.
 */
import type { DevloopPlugin } from '../../core/plugins/types.js';
import { PLUGIN } from './id.js';
import type { ScalingSettings } from './types.js';

export interface CloudRunPluginOptions {
  /** Overrides of the scaling settings (tests and benches tune windows with this). */
  scaling?: Partial<ScalingSettings>;
  /** Serve `/metrics` (default true). */
  metrics?: boolean;
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

      engine.hooks.deploy.for('cloud-run').tapPromise(PLUGIN, async (ctx) => (await load()).deploy(ctx));

      // `devloop cloudrun update-traffic` reaches the session as a plugin action.
      engine.subscribe((_state, action) => {
        if (action.type !== 'plugin/custom' || action.plugin !== PLUGIN || action.name !== 'update-traffic') return;
        void load().then((rt) => rt.updateTraffic(action));
      });

      engine.hooks.shutdown.tapPromise(PLUGIN, async () => {
        if (runtime) await (await runtime).shutdown();
      });
    },
  };
}
