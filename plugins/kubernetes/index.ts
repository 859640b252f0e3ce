/**
 * `devloop:kubernetes`: deploys services with `runtime: 'kubernetes'` to a cluster from their
 * `k8s` sources: manifests, a kustomization, a Helm chart, objects from Devfile code (sources.ts).
 *
 * | hook                        | what                                                          |
 * | --------------------------- | ------------------------------------------------------------- |
 * | deploy.for('kubernetes')    | context check -> manifests (images substituted, labelled) ->   |
 * |                             | server-side apply in order -> prune -> port-forward ->         |
 * |                             | pod logs followed into the service log (logs.ts) ->            |
 * |                             | Ingress/HTTPRoute served on 127.0.0.1:8080 (ingress.ts)        |
 * | (deployment.ready)          | rollout per kind, Service endpoints, CR Ready/Available;       |
 * |                             | ImagePullBackOff (re-pushed once when devloop built it),       |
 * |                             | CrashLoopBackOff, OOMKilled, Pending, failing probes turned    |
 * |                             | into errors with their fix (readiness.ts, failures.ts)         |
 * | (deployment.stop)           | shutdown / service removed: deletes what the service applied   |
 * | shouldRebuild               | live update into the ready pods through exec + tar; a pod      |
 * |                             | replaced later triggers a rebuild (liveupdate.ts)              |
 * | cleanup                     | deletes what a dead earlier session applied (by label)         |
 * | shutdown                    | local ingress closed, API clients dropped                      |
 *
 * A redeploy does not stop the previous deployment: the new apply updates the objects in place
 * (Kubernetes rolls them out), and only what left the manifests is pruned. The runtime and
 * @kubernetes/client-node are imported on the first Kubernetes deploy, so projects without one
 * never load them.
 */
import type { DevloopPlugin } from '../../core/plugins/types.js';

export const KUBERNETES_PLUGIN = 'devloop:kubernetes';

export function kubernetesPlugin(_options: Record<string, unknown> = {}): DevloopPlugin {
  return {
    name: KUBERNETES_PLUGIN,
    apply(engine) {
      let runtime: Promise<import('./runtime.js').KubernetesRuntime> | undefined;
      const load = () => (runtime ??= import('./runtime.js').then((m) => new m.KubernetesRuntime(engine)));

      engine.hooks.deploy.for('kubernetes').tapPromise(KUBERNETES_PLUGIN, async (ctx) => (await load()).deploy(ctx));

      // Live update into the service's pods (liveupdate.ts), loaded with the first one.
      let live: Promise<import('./liveupdate.js').KubeLiveUpdate> | undefined;
      engine.hooks.shouldRebuild.tapPromise(KUBERNETES_PLUGIN, async (ctx) => {
        const deployment = engine.deployment(ctx.service);
        if (!ctx.config.liveUpdate?.length || deployment?.runtime !== 'kubernetes') return undefined;
        const [{ KubeDeployment }, updater] = await Promise.all([
          import('./runtime.js'),
          live ??= import('./liveupdate.js').then((m) => new m.KubeLiveUpdate(engine, KUBERNETES_PLUGIN)),
        ]);
        return deployment instanceof KubeDeployment ? updater.apply(ctx, deployment) : undefined;
      });

      // Only projects with a Kubernetes service load the client for this.
      engine.hooks.cleanup.tapPromise(KUBERNETES_PLUGIN, async (ctx) => {
        const uses = Object.values(ctx.devfile.services).some((s) => (s.runtime ?? ctx.devfile.environments?.[ctx.mode]?.runtime) === 'kubernetes' && s.k8s);
        if (uses) await (await load()).cleanup(ctx);
      });

      engine.hooks.shutdown.tapPromise(KUBERNETES_PLUGIN, async () => {
        if (runtime) await (await runtime).shutdown();
      });
    },
  };
}

export default kubernetesPlugin;
export { isLocalContext, isLoopbackServer } from './context.js';
