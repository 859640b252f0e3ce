/**
 * `devloop:model-serving`: the engine side of a Devfile's `ai.modelServing` models.
 *
 * Each model is a service running the model server (core/devfile/model-services.ts) that watches
 * its model file. When the file changes:
 * - the service is running (healthy): nothing to rebuild; the server loads the new file beside
 *   the old one and switches over without dropping a request (host.ts), and says so in its log;
 * - the service is not running (it failed on a corrupt or missing file, or crashed): it is
 *   deployed again, so fixing the file is enough to bring it back.
 */
import type { Engine } from '../../core/engine/engine.js';
import type { DevloopPlugin } from '../../core/plugins/types.js';

export const MODEL_SERVING_PLUGIN = 'devloop:model-serving';

/** What model-services.ts puts in a model service's `extensions[MODEL_SERVING_PLUGIN]`. */
export interface ModelServiceMark {
  model: string;
}

export function modelServingPlugin(): DevloopPlugin {
  return {
    name: MODEL_SERVING_PLUGIN,
    apply(engine: Engine) {
      engine.hooks.shouldRebuild.tap(MODEL_SERVING_PLUGIN, (ctx) => {
        if (!ctx.config.extensions?.[MODEL_SERVING_PLUGIN]) return undefined;
        const state = engine.getState().services[ctx.service];
        if (state?.phase !== 'healthy' || !engine.deployment(ctx.service)) {
          ctx.logger.info('model file changed while the model server is not running: starting it again');
          return undefined;
        }
        ctx.logger.info('model file changed: the model server reloads it in place (requests in flight finish on the old version)');
        return false;
      });
    },
  };
}
