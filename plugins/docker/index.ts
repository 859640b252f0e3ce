/**
 * `devloop:docker`: builds images through the Docker Engine API and runs services as containers
 * on the local daemon, with live update into running containers. Each concept is its own file;
 * this one only wires them to the engine's hooks.
 *
 * | file               | hook                                  |
 * | ------------------ | ------------------------------------- |
 * | builder.ts         | build.for('docker')                   |
 * | esbuild-image.ts   | afterBuild (esbuild on docker)        |
 * | resolve-runtime.ts | resolveRuntime                        |
 * | deployer.ts        | deploy.for('docker') -> container.ts  |
 * | liveupdate.ts      | shouldRebuild                         |
 * | forwarder.ts       | (deployer) host ports held by devloop |
 * | supervisor.ts      | (deployer) restart of the process     |
 * | cleanup.ts         | cleanup, shutdown                     |
 * | session-images.ts  | shutdown: the session's older images  |
 * | prune.ts           | pressure (disk): older images removed |
 */
import type Docker from 'dockerode';
import type { DevloopPlugin } from '../../core/plugins/types.js';
import { DOCKER_PLUGIN, tapBuilder, type BuilderOptions } from './builder.js';
import { tapCleanup } from './cleanup.js';
import { DockerDaemon } from './client.js';
import { tapDeployer, type ActiveContainers, type DeployerOptions } from './deployer.js';
import { tapEsbuildImage } from './esbuild-image.js';
import { tapLiveUpdate } from './liveupdate.js';
import { pruneForPressure } from './prune.js';
import { tapResolveRuntime } from './resolve-runtime.js';
import { SessionImages } from './session-images.js';

export interface DockerPluginOptions extends BuilderOptions, DeployerOptions {
  /** How to reach the daemon; default: DOCKER_HOST, else the local socket. */
  docker?: Docker.DockerOptions;
}

export function dockerPlugin(options: DockerPluginOptions = {}): DevloopPlugin {
  return {
    name: DOCKER_PLUGIN,
    apply(engine) {
      const daemon = new DockerDaemon(options.docker);
      const active: ActiveContainers = new Map();
      const images = new SessionImages();
      tapResolveRuntime(engine, daemon);
      tapBuilder(engine, daemon, options, images);
      tapEsbuildImage(engine, daemon, images);
      tapDeployer(engine, daemon, active, options, images);
      tapLiveUpdate(engine, daemon, active);
      tapCleanup(engine, daemon, active, images);
      engine.hooks.pressure.tapPromise(DOCKER_PLUGIN, async (ctx) => {
        if (ctx.kind === 'disk') await pruneForPressure(ctx, daemon, engine.serviceNames());
      });
    },
  };
}

export default dockerPlugin;
export { DOCKER_PLUGIN, buildDockerService, type DockerBuildResult } from './builder.js';
export { DockerDaemon, MAX_API_VERSION, type DaemonInfo } from './client.js';
export { collectBuildInputs, type BuildInputs } from './context.js';
export { ContainerDeployment } from './container.js';
export { removeStaleContainers, listProjectContainers } from './cleanup.js';
export { containerizable } from './resolve-runtime.js';
export { dockerDataDisk } from './prune.js';
export { esbuildDockerfile } from './esbuild-image.js';
export { parseMemory, parseCpu } from './resources.js';
export {
  LABEL_PROJECT, LABEL_ROOT, LABEL_SERVICE, LABEL_SESSION, LABEL_SESSION_START,
  imageRepository, imageTag, projectId, projectName,
} from './names.js';
