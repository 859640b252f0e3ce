/**
 * `resolveRuntime`: a service without an explicit runtime runs in Docker when it can (a
 * Dockerfile, an image, or an esbuild bundle with a base image) and a daemon answers; otherwise
 * the engine falls back to the process runtime, and the user is told once why.
 */
import type { Engine } from '../../core/engine/engine.js';
import { containerizable } from '../shared/containerizable.js';
import { DOCKER_PLUGIN } from './builder.js';
import type { DockerDaemon } from './client.js';

/** A failed ping is remembered this long, so a missing daemon costs one timeout, not one per build. */
const NEGATIVE_TTL_MS = 30_000;

export { containerizable };

export function tapResolveRuntime(engine: Engine, daemon: DockerDaemon): void {
  let downUntil = 0;
  let told = false;
  engine.hooks.resolveRuntime.tapPromise(DOCKER_PLUGIN, async (ctx) => {
    if (!containerizable(ctx.config)) return undefined;
    if (Date.now() < downUntil) return undefined;
    // The plain /_ping (client.ts): the build that follows loads the client when it needs it.
    if (await daemon.ping()) return 'docker';
    downUntil = Date.now() + NEGATIVE_TTL_MS;
    if (!told) {
      told = true;
      engine.logger().warn(`Docker daemon unreachable at ${daemon.address}; using the process runtime`);
    }
    return undefined;
  });
}
