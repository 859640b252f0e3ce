/**
 * The runtime a service will deploy to, known before the deploy phase: builders and pushers need
 * it (an esbuild bundle becomes an image only for Docker; a push is needed only when the runtime
 * does not share the build daemon). Same rule as the pipeline: config, then environment, then the
 * `resolveRuntime` hook, then `process`. Kept in `ctx.data` so the hook is asked once per run.
 */
import type { ServiceContext } from '../../core/engine/contexts.js';
import type { Engine } from '../../core/engine/engine.js';

const KEY = 'devloop:runtime';

export async function runtimeOf(engine: Engine, ctx: ServiceContext): Promise<string> {
  const known = ctx.data[KEY];
  if (typeof known === 'string') return known;
  const explicit = ctx.config.runtime ?? ctx.devfile.environments?.[ctx.mode]?.runtime;
  const runtime = explicit ?? (await engine.hooks.resolveRuntime.promise(ctx)) ?? 'process';
  ctx.data[KEY] = runtime;
  return runtime;
}
