/**
 * `build.for('docker')`: builds a service's Dockerfile through the Engine API. The image is
 * tagged `devloop-<project>-<service>:devloop-<hash16>`, the hash being of the build inputs, so
 * an unchanged service is not rebuilt, even after devloop restarts: the daemon still has the tag.
 */
import { createHash } from 'node:crypto';
import type { DockerBuildConfig } from '../../core/devfile/types.js';
import type { BuildContext, BuildResult, Deployment } from '../../core/engine/contexts.js';
import type { Engine } from '../../core/engine/engine.js';
import { formatMs } from '../shared/time.js';
import { baseImageIds, baseImageRefs } from './base-images.js';
import { daemonErrors, type DockerDaemon } from './client.js';
import { collectBuildInputs, contextEntries } from './context.js';
import { buildOrReuse } from './image-build.js';
import { imageRepository, imageTag, projectName } from './names.js';
import { pruneOldTags } from './prune.js';
import type { SessionImages } from './session-images.js';

export const DOCKER_PLUGIN = 'devloop:docker';

export interface DockerBuildResult extends BuildResult {
  image: string;
  /** Full sha256 of the build inputs. */
  digest: string;
  imageId: string;
  /** ID of the daemon that holds the image; the registry plugin skips the push when the runtime uses the same one. */
  daemon: string;
  builtBy: typeof DOCKER_PLUGIN;
}

export interface BuilderOptions {
  /**
   * A service's devloop images kept after each build, the newest first (default 3: the running
   * one and two to go back to); 0 keeps all. At the end of the session only the last good one
   * stays (session-images.ts).
   */
  keepImages?: number;
}

export function tapBuilder(engine: Engine, daemon: DockerDaemon, options: BuilderOptions, images?: SessionImages): void {
  engine.hooks.build.for('docker').tapPromise(DOCKER_PLUGIN, daemonErrors(daemon, async (ctx) => {
    const result = await buildDockerService(ctx, daemon, options, lastGoodRunning(engine, ctx));
    images?.noteBuilt(ctx.service, result.image);
    return result;
  }));
}

/**
 * Whether an earlier deployment of the service runs and was healthy when this build began: what
 * a failed build leaves serving. Not so on a first build, in `devloop ci`, or after a crash.
 */
export function lastGoodRunning(engine: Engine, ctx: BuildContext): boolean {
  const deployment = engine.deployment(ctx.service) as (Deployment & { stopped?: boolean }) | undefined;
  return deployment !== undefined && deployment.stopped !== true && ctx.getState().services[ctx.service]?.health === 'healthy';
}

export async function buildDockerService(ctx: BuildContext, daemon: DockerDaemon, options: BuilderOptions = {}, lastGood = false): Promise<DockerBuildResult> {
  const build = ctx.config.build as DockerBuildConfig;
  const started = Date.now();
  const collected = await collectBuildInputs(ctx.root, build, ctx.service);
  ctx.signal.throwIfAborted();
  const info = await daemon.connect();
  // The bases by image ID: a base rebuilt or pulled anew under the same name rebuilds the service.
  const bases = await baseImageIds(daemon.docker, baseImageRefs(collected.dockerfileText, collected.args));
  const inputs = { ...collected, hash: createHash('sha256').update(`${collected.hash}\0${bases.join('\0')}`).digest('hex') };
  const repository = imageRepository(projectName(ctx.root, ctx.devfile.name), ctx.service);
  const ref = `${repository}:${imageTag(inputs.hash)}`;
  const outcome = await buildOrReuse(daemon, {
    root: ctx.root,
    service: ctx.service,
    ref,
    entries: contextEntries(inputs),
    dockerfileInContext: inputs.dockerfileInContext,
    dockerfile: inputs.dockerfile,
    dockerfileText: inputs.dockerfileText,
    args: inputs.args,
    target: inputs.target,
    platform: inputs.platform,
    signal: ctx.signal,
    logger: ctx.logger,
    lastGoodRunning: lastGood,
  });
  if (outcome.cached) {
    ctx.logger.info(`image ${ref} already exists for these inputs (${inputs.files.length} context entries hashed in ${formatMs(Date.now() - started)}); not rebuilding`);
  } else {
    void pruneOldTags(daemon.docker, repository, options.keepImages ?? 3, [ref]).catch(() => {});
  }
  return { image: ref, digest: inputs.hash, cached: outcome.cached, imageId: outcome.imageId, daemon: info.id, builtBy: DOCKER_PLUGIN };
}
