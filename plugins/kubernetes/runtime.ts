/**
 * The work of `devloop:kubernetes`, loaded on the first Kubernetes deploy. One deploy: check the
 * context, read and prepare the manifests, apply them in order, prune what the previous deploy
 * of the service applied and this one no longer does, point the port-forward at the result.
 * `ready()` is the rollout; `stop()` (shutdown, service removed) deletes what the service applied.
 */
import type { CoreV1Api, KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import type { BaseContext, DeployContext, Deployment, Logger } from '../../core/engine/contexts.js';
import type { Engine } from '../../core/engine/engine.js';
import { applyAll, deleteOwned, prune, toRef, type AppliedRef } from './apply.js';
import { resolveTarget } from './context.js';
import { PortForwarder, forwardTarget } from './forward.js';
import { LABEL_MANAGED_BY, LABEL_PROJECT, LABEL_SERVICE, LABEL_SESSION, LABEL_SESSION_START, loadManifests, prepare, type K8sObject } from './manifests.js';
import { LABEL_SESSION as DOCKER_SESSION, LABEL_SESSION_START as DOCKER_SESSION_START, projectId, sessionAlive, sessionLabels } from '../docker/names.js';
import { waitReady } from './readiness.js';
import { PodLogs, podSelectors } from './logs.js';


interface Clients { kc: KubeConfig; api: KubernetesObjectApi; core: CoreV1Api }

export class KubeDeployment implements Deployment {
  readonly runtime = 'kubernetes';
  private stopped?: Promise<void>;

  constructor(
    readonly service: string,
    private clients: Clients,
    readonly applied: AppliedRef[],
    private objects: K8sObject[],
    private forwarder: PortForwarder | undefined,
    private logs: PodLogs | undefined,
    private logger: Logger,
    private onWaiting: (message: string) => void,
    readonly details: Record<string, unknown>,
  ) {}

  get endpoints() {
    return this.forwarder?.port ? [{ name: this.service, url: this.forwarder.url }] : [];
  }

  /** Hands the port-forward to the next deployment of the service (same local port). */
  takeForwarder(): PortForwarder | undefined {
    const f = this.forwarder;
    this.forwarder = undefined;
    return f;
  }

  /** Stops following the pods' logs and hands what was shown to the next deployment of the service. */
  takeLogMarks(): Map<string, string> | undefined {
    const l = this.logs;
    this.logs = undefined;
    l?.stop();
    return l?.marks;
  }

  ready(signal: AbortSignal): Promise<void> {
    return waitReady({ api: this.clients.api, core: this.clients.core, service: this.service, objects: this.objects, signal, onWaiting: this.onWaiting });
  }

  stop(reason: string): Promise<void> {
    return this.stopped ??= (async () => {
      this.logs?.stop();
      await this.forwarder?.close();
      const deleted = await deleteOwned(this.clients.api, this.applied, this.service);
      if (deleted.length) this.logger.info(`deleted ${deleted.join(', ')} (${reason})`);
    })();
  }
}

export class KubernetesRuntime {
  private clients = new Map<string, Clients>();

  constructor(private engine: Engine) {}

  private async clientsFor(kc: KubeConfig, context: string): Promise<Clients> {
    let c = this.clients.get(context);
    if (!c) {
      const k8s = await import('@kubernetes/client-node');
      c = { kc, api: k8s.KubernetesObjectApi.makeApiClient(kc), core: kc.makeApiClient(k8s.CoreV1Api) };
      this.clients.set(context, c);
    }
    return c;
  }

  async deploy(ctx: DeployContext): Promise<Deployment> {
    const { service } = ctx;
    const target = await resolveTarget(ctx.devfile, service);
    const namespace = ctx.config.k8s?.namespace ?? target.namespace;
    const patterns = ctx.config.k8s?.manifests;
    if (!patterns || (Array.isArray(patterns) && patterns.length === 0)) {
      const { DevloopError } = await import('../../core/errors.js');
      throw new DevloopError(`services.${service}.k8s.manifests is required for runtime "kubernetes"`, {
        code: 'K8S_NO_MANIFESTS', service, hint: `add k8s: { manifests: 'k8s/*.yaml' } to services.${service} in Devfile.ts`,
      });
    }
    const clients = await this.clientsFor(target.kc, target.context);
    const loaded = await loadManifests(ctx.root, Array.isArray(patterns) ? patterns : [patterns], service);
    const objects = prepare(loaded, service, namespace, this.images(ctx), sessionOf(ctx.root, service));
    ctx.signal.throwIfAborted();

    const started = Date.now();
    const applied = await applyAll(clients.api, objects, service, ctx.signal);
    const refs = applied.map(toRef);
    ctx.logger.info(`applied ${applied.length} object${applied.length === 1 ? '' : 's'} to ${target.context}/${namespace} in ${Date.now() - started} ms`);

    const previous = ctx.previous instanceof KubeDeployment ? ctx.previous : undefined;
    if (previous) {
      const pruned = await prune(clients.api, previous.applied, refs, service);
      if (pruned.length) ctx.logger.info(`pruned ${pruned.join(', ')} (no longer in the manifests)`);
    }

    const fwdTarget = forwardTarget(applied);
    let forwarder = previous?.takeForwarder();
    if (fwdTarget) {
      forwarder ??= new PortForwarder(clients.kc, clients.core, ctx.logger);
      await forwarder.start(fwdTarget);
    } else {
      await forwarder?.close();
      forwarder = undefined;
    }
    // The pods' output in the service log, taking over from the previous deployment without repeating a line.
    const logs = new PodLogs(clients.kc, clients.core, podSelectors(applied), ctx.logger, previous?.takeLogMarks());
    logs.start(ctx.signal);
    const onWaiting = (message: string) => ctx.dispatch({ type: 'service/waiting', service, waiting: message });
    return new KubeDeployment(service, clients, refs, applied, forwarder, logs, ctx.logger, onWaiting, {
      context: target.context, namespace, objects: applied.map((o) => `${o.kind}/${o.metadata.name}`),
    });
  }

  /** Images by the name a manifest uses for them: the service's name, mapped to what devloop built and pushed. */
  private images(ctx: DeployContext): Map<string, string> {
    const images = new Map<string, string>();
    const state = ctx.getState();
    // Only references a cluster can pull: a local daemon's tag would fail on the node.
    for (const [name, s] of Object.entries(state.services)) if (s.image?.includes('@sha256:')) images.set(name, s.image);
    if (ctx.image && ctx.build.image) images.set(ctx.service, ctx.image);
    return images;
  }

  /**
   * Objects an earlier session applied and never deleted (devloop crashed or was killed): found by
   * the project and service labels, for the kinds the service's manifests hold now, deleted when
   * their session is gone. Quiet when the cluster is not reachable or the context not allowed:
   * the deploy says why with its own error.
   */
  async cleanup(ctx: BaseContext): Promise<void> {
    for (const [service, config] of Object.entries(ctx.devfile.services)) {
      const runtime = config.runtime ?? ctx.devfile.environments?.[ctx.mode]?.runtime;
      const patterns = config.k8s?.manifests;
      if (runtime !== 'kubernetes' || !patterns) continue;
      try {
        const target = await resolveTarget(ctx.devfile, service);
        const clients = await this.clientsFor(target.kc, target.context);
        const loaded = prepare(await loadManifests(ctx.root, Array.isArray(patterns) ? patterns : [patterns], service), service, config.k8s?.namespace ?? target.namespace, new Map());
        const kinds = new Map(loaded.map(({ object: o }) => [`${o.apiVersion}|${o.kind}|${o.metadata.namespace ?? ''}`, o]));
        const selector = `${LABEL_MANAGED_BY}=devloop,${LABEL_SERVICE}=${service},${LABEL_PROJECT}=${projectId(ctx.root)}`;
        const stale: AppliedRef[] = [];
        for (const o of kinds.values()) {
          const list = await clients.api.list(o.apiVersion, o.kind, o.metadata.namespace, undefined, undefined, undefined, undefined, selector);
          for (const item of list.items) {
            const labels = item.metadata?.labels ?? {};
            if (sessionAlive({ [DOCKER_SESSION]: labels[LABEL_SESSION] ?? '', ...(labels[LABEL_SESSION_START] ? { [DOCKER_SESSION_START]: labels[LABEL_SESSION_START] } : {}) })) continue;
            stale.push({ apiVersion: o.apiVersion, kind: o.kind, name: item.metadata!.name!, namespace: item.metadata?.namespace });
          }
        }
        const deleted = await deleteOwned(clients.api, stale, service);
        if (deleted.length) ctx.logger.info(`${service}: deleted ${deleted.join(', ')}, left by an earlier devloop`);
      } catch {
        // Unreachable, refused or unreadable: the deploy reports it properly.
      }
    }
  }

  async shutdown(): Promise<void> {
    this.clients.clear();
  }
}

/** The session labels of the Docker runtime, under Kubernetes label names (values fit a label). */
function sessionOf(root: string, service: string): Record<string, string> {
  const docker = sessionLabels(root, service);
  const labels: Record<string, string> = { [LABEL_PROJECT]: projectId(root), [LABEL_SESSION]: docker[DOCKER_SESSION] };
  const start = docker[DOCKER_SESSION_START];
  if (start && /^[A-Za-z0-9._-]{1,63}$/.test(start)) labels[LABEL_SESSION_START] = start;
  return labels;
}
