/**
 * `devloop:registry`: pushes images devloop built when the runtime will not find them on the
 * daemon that built them (a cluster, a remote daemon), by digest. The local case, the Docker
 * runtime on the build daemon, needs no push, and the log says so once.
 *
 * The Docker side (dockerode, the builder, the push) is imported on the first image a hook sees,
 * as the Cloud Run plugin does with its runtime: a project of processes never loads it, and no
 * `up` waits for it before its first build.
 */
import type { PushContext } from '../../core/engine/contexts.js';
import type { DevloopPlugin } from '../../core/plugins/types.js';
import { DevloopError } from '../../core/errors.js';
import type { DockerDaemon } from '../docker/client.js';
import { runtimeOf } from '../docker/runtime-of.js';
import { detectRegistry, type RegistryLocation } from './detect.js';
import { kindClusterOf, kindLoad, whichKind } from './kind.js';

interface DockerSide {
  dockerPlugin: string;
  daemon: DockerDaemon;
  pushImage: typeof import('./push.js').pushImage;
}

function dockerSide(): () => Promise<DockerSide> {
  let side: Promise<DockerSide> | undefined;
  return () => side ??= Promise.all([import('../docker/builder.js'), import('../docker/client.js'), import('./push.js')])
    .then(([builder, client, push]) => ({ dockerPlugin: builder.DOCKER_PLUGIN, daemon: new client.DockerDaemon(), pushImage: push.pushImage }));
}

export const REGISTRY_PLUGIN = 'devloop:registry';

export interface RegistryPluginOptions {
  /** Registry `host:port` to push to; default: detected (DEVLOOP_REGISTRY, then for a Kubernetes service its cluster's KEP-1755 ConfigMap, then 127.0.0.1:5001). */
  registry?: string;
  /** Push even when the runtime shares the build daemon (to test what a cluster would pull). */
  forcePush?: boolean;
  /** Runtimes that run images on the local daemon itself: no push when it built them. Default `['docker', 'cloud-run']` (Cloud Run instances run on the local daemon). */
  localRuntimes?: string[];
  /** Runtimes that run no images at all. Default `['process']`. */
  imagelessRuntimes?: string[];
}

export function registryPlugin(options: RegistryPluginOptions = {}): DevloopPlugin {
  return {
    name: REGISTRY_PLUGIN,
    apply(engine) {
      const docker = dockerSide();
      const localRuntimes = options.localRuntimes ?? ['docker', 'cloud-run'];
      const imageless = options.imagelessRuntimes ?? ['process'];
      const toldSkip = new Set<string>();
      // By kube context ('' for images no cluster pulls): each cluster may advertise its own registry.
      const found = new Map<string, RegistryLocation>();
      const fixed: RegistryLocation | undefined = options.registry ? { host: options.registry, source: 'option' } : undefined;

      engine.hooks.shouldPush.tapPromise(REGISTRY_PLUGIN, async (ctx) => {
        // Only what devloop built: a stock `image:` is pulled by the runtime from where it lives.
        if (!ctx.build.image) return false;
        const { dockerPlugin, daemon } = await docker();
        if (ctx.build.builtBy !== dockerPlugin) return false;
        if (options.forcePush) return true;
        const runtime = await runtimeOf(engine, ctx);
        if (imageless.includes(runtime)) return false;
        if (localRuntimes.includes(runtime)) {
          const info = await daemon.reachable();
          if (info && info.id === ctx.build.daemon) {
            if (!toldSkip.has(ctx.service)) {
              toldSkip.add(ctx.service);
              ctx.logger.info(`no push: the ${runtime} runtime runs the image on the daemon that built it (${info.address})`);
            }
            return false;
          }
        }
        return true;
      });

      engine.hooks.push.tapPromise(REGISTRY_PLUGIN, async (ctx: PushContext) => {
        if (!ctx.build.image) return;
        const { dockerPlugin, daemon, pushImage } = await docker();
        if (ctx.build.builtBy !== dockerPlugin) return;
        // A cluster's context is resolved (and refused when not allowed) before anything is pushed for it.
        const kubeContext = !fixed && (await runtimeOf(engine, ctx)) === 'kubernetes'
          ? (await (await import('../kubernetes/context.js')).resolveTarget(ctx.devfile, ctx.service)).context
          : undefined;
        // kind's nodes do not see this machine's 127.0.0.1: without an advertised registry, `kind load` beats the local probe.
        const kind = kubeContext ? kindClusterOf(kubeContext) : undefined;
        const kindLoads = !!kind && !!(await whichKind());
        let location = fixed ?? found.get(kubeContext ?? '');
        if (!location) {
          location = await detectRegistry({ kubeContext, ...(kindLoads ? { candidates: [] } : {}) });
          if (location) found.set(kubeContext ?? '', location);
        }
        if (!location && kind && kindLoads) {
          // kind without a registry: the image goes onto its nodes, and the manifests use the tag as built.
          const started = Date.now();
          await kindLoad(ctx.build.image, kind, ctx.signal);
          ctx.pushedRef = ctx.build.image;
          ctx.logger.info(`loaded ${ctx.build.image} into kind cluster "${kind}" in ${Date.now() - started} ms (kind load docker-image: no registry advertised)`);
          return;
        }
        if (!location) {
          throw new DevloopError(`${ctx.service} must be pushed for its runtime, and no registry was found`, {
            code: 'REGISTRY_NOT_FOUND',
            service: ctx.service,
            hint: `${kubeContext ? `the cluster of context "${kubeContext}" advertises none (no kube-public/local-registry-hosting ConfigMap); ` : ''}set DEVLOOP_REGISTRY=host:port, or start a local one on 127.0.0.1:5001 ("devloop doctor" prints a command that does; or startLocalRegistry() from devloop:registry)`,
          });
        }
        await daemon.connect();
        const started = Date.now();
        const result = await pushImage(daemon.docker, ctx.build.image, location.host, { signal: ctx.signal, logger: ctx.logger, service: ctx.service });
        ctx.registry = location.host;
        ctx.pushedRef = result.ref;
        const source = location.context ? `${location.source} of context ${location.context}` : location.source;
        ctx.logger.info(`pushed ${result.ref} in ${Date.now() - started} ms (registry from ${source})`);
      });
    },
  };
}

export default registryPlugin;
export { DEFAULT_LOCAL_REGISTRY, detectRegistry, readLocalRegistryHosting, registryAnswers, registryFromClusterConfigMap, type LocalRegistryHosting, type RegistryLocation } from './detect.js';
// pushImage is not re-exported: it would load dockerode with the plugin (import it from ./push.js).
export type { PushResult } from './push.js';
export { startLocalRegistry, type LocalRegistry, type LocalRegistryOptions } from './serve.js';
export { registryAuth } from './auth.js';
