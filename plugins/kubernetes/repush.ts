/**
 * What readiness needs from the deploy beyond the cluster: a way to push the service's image again
 * when the cluster cannot pull it (the registry was wiped or restarted without its storage, the
 * push went to another registry), Autopilot's settings when the service deploys under Autopilot,
 * and the service log for notes.
 */
import type { DeployContext, PushContext } from '../../core/engine/contexts.js';
import type { Engine } from '../../core/engine/engine.js';
import type { ReadinessOptions } from './readiness.js';

export type ReadinessExtras = Pick<ReadinessOptions, 'repush' | 'autopilot' | 'onNote' | 'awaitingNode'>;

export function readinessExtras(engine: Engine, ctx: DeployContext): ReadinessExtras {
  const sim = ctx.devfile.simulation?.autopilot;
  return {
    onNote: (message) => ctx.logger.info(message),
    // devloop:autopilot leaves its admission in ctx.data when it admitted the service.
    autopilot: ctx.data.autopilot ? { gkeVersion: sim?.gkeVersion, bursting: sim?.bursting, region: sim?.region } : undefined,
    async repush(image) {
      // Only the image this deploy pushed (by digest), still the service's in the engine state:
      // anything else is somebody else's to push.
      if (!image.includes('@sha256:') || image !== ctx.image || !ctx.build.image) return undefined;
      if (ctx.getState().services[ctx.service]?.image !== image) return undefined;
      const pctx: PushContext = { ...ctx, build: ctx.build };
      await engine.hooks.push.promise(pctx);
      return pctx.pushedRef;
    },
  };
}
