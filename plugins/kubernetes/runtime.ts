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
import { LABEL_MANAGED_BY, LABEL_PROJECT, LABEL_SERVICE, LABEL_SESSION, LABEL_SESSION_START, prepare, type K8sObject } from './manifests.js';
import { hasSource, loadSources } from './sources.js';
import { LABEL_SESSION as DOCKER_SESSION, LABEL_SESSION_START as DOCKER_SESSION_START, projectId, sessionAlive, sessionLabels } from '../docker/names.js';
import { waitReady } from './readiness.js';
import { readinessExtras, type ReadinessExtras } from './repush.js';
import { PodLogs, podSelectors } from './logs.js';
import { ServiceEvents } from './events.js';
import { DEFAULT_INGRESS_PORT, IngressServer } from './ingress.js';


export interface Clients { kc: KubeConfig; api: KubernetesObjectApi; core: CoreV1Api }

export class KubeDeployment implements Deployment {
  readonly runtime = 'kubernetes';
  private stopped?: Promise<void>;
  /** The image devloop built for the service, as the manifests name it now (live update picks the pod's container by it). */
  image?: string;
  /** The local ingress's URLs for the Services this deployment applied, and what drops its routes. */
  ingress?: { endpoints: { name: string; url: string }[]; release(): void };
  /** Re-push, Autopilot settings and notes for the rollout wait (repush.ts). */
  readiness?: ReadinessExtras;
  /** The cluster's events about what the service applied, and the port-forward's state, for the details view. */
  events?: ServiceEvents;
  /** Autopilot's per-pod view (admitted resources, node, cost) for the details view, when simulated. */
  autopilotView?: { stop(): Promise<void> };
  /** The context's Autopilot node provisioner, for `devloop autopilot preempt` (the session's POST /autopilot/preempt). */
  provisioner?: import('../autopilot/provisioner.js').Provisioner;

  constructor(
    readonly service: string,
    readonly clients: Clients,
    readonly applied: AppliedRef[],
    readonly objects: K8sObject[],
    private forwarder: PortForwarder | undefined,
    private logs: PodLogs | undefined,
    private logger: Logger,
    private onWaiting: (message: string) => void,
    readonly details: Record<string, unknown>,
  ) {}

  get endpoints() {
    return [...(this.forwarder?.port ? [{ name: this.service, url: this.forwarder.url }] : []), ...(this.ingress?.endpoints ?? [])];
  }

  /** The port-forward's state in words (events.ts publishes it). */
  get forwardState(): string | undefined {
    return this.forwarder?.state;
  }

  /** Hands the port-forward to the next deployment of the service (same local port). */
  takeForwarder(): PortForwarder | undefined {
    this.events?.stop();
    void this.autopilotView?.stop();
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
    return waitReady({ api: this.clients.api, core: this.clients.core, service: this.service, objects: this.objects, signal, onWaiting: this.onWaiting, ...this.readiness });
  }

  stop(reason: string): Promise<void> {
    return this.stopped ??= (async () => {
      this.events?.stop();
      await this.autopilotView?.stop();
      this.logs?.stop();
      this.ingress?.release();
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
    const k8s = ctx.config.k8s;
    if (!k8s || !hasSource(k8s)) {
      const { DevloopError } = await import('../../core/errors.js');
      throw new DevloopError(`services.${service}.k8s needs manifests, kustomize, helm or objects for runtime "kubernetes"`, {
        code: 'K8S_NO_MANIFESTS', service, hint: `add k8s: { manifests: 'k8s/*.yaml' } (or kustomize: 'k8s/overlays/dev') to services.${service} in Devfile.ts`,
      });
    }
    const clients = await this.clientsFor(target.kc, target.context);
    await this.provisionFor(ctx, target.context, clients, namespace);
    const images = this.images(ctx);
    const loaded = await loadSources(k8s, { root: ctx.root, service, namespace, mode: ctx.mode, images, signal: ctx.signal });
    const objects = prepare(loaded, service, namespace, images, sessionOf(ctx.root, service), k8s.imageFields);
    // A liveUpdate `restart` restarts the process in the pod in place: under a supervisor (restart.ts).
    if (ctx.config.liveUpdate?.some((s) => 'restart' in s)) await (await import('./restart.js')).superviseForRestart(ctx, objects);
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
    const deployment = new KubeDeployment(service, clients, refs, applied, forwarder, logs, ctx.logger, onWaiting, {
      context: target.context, namespace, objects: applied.map((o) => `${o.kind}/${o.metadata.name}`),
    });
    deployment.image = ctx.build.image ? ctx.image : undefined;
    deployment.readiness = readinessExtras(this.engine, ctx);
    const provisioner = await this.provisioners.get(target.context);
    if (provisioner) deployment.readiness.awaitingNode = (pod) => provisioner.awaitingNode(pod);
    deployment.provisioner = provisioner;
    await this.autopilotViewFor(ctx, deployment, clients, applied);
    deployment.ingress = await this.routeIngress(ctx, clients, applied);
    deployment.events = new ServiceEvents(clients.core, service, refs, ctx.dispatch, () => ({ context: target.context, namespace, portForward: deployment.forwardState ?? 'none (no Service or container port to forward)' }));
    deployment.events.start();
    return deployment;
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
   * the project and service labels, for the kinds the service's sources hold now, deleted when
   * their session is gone. Quiet when the cluster is not reachable or the context not allowed:
   * the deploy says why with its own error.
   */
  async cleanup(ctx: BaseContext): Promise<void> {
    for (const [service, config] of Object.entries(ctx.devfile.services)) {
      const runtime = config.runtime ?? ctx.devfile.environments?.[ctx.mode]?.runtime;
      const k8s = config.k8s;
      if (runtime !== 'kubernetes' || !k8s || !hasSource(k8s)) continue;
      try {
        const target = await resolveTarget(ctx.devfile, service);
        const clients = await this.clientsFor(target.kc, target.context);
        const namespace = k8s.namespace ?? target.namespace;
        const loaded = prepare(await loadSources(k8s, { root: ctx.root, service, namespace, mode: ctx.mode, images: new Map() }), service, namespace, new Map());
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

  private ingressServer?: IngressServer;

  /** The local ingress, one per engine: started by the first Ingress or HTTPRoute applied, its routes replaced at each deploy of the service. */
  private async routeIngress(ctx: DeployContext, clients: Clients, applied: K8sObject[]): Promise<KubeDeployment['ingress']> {
    const config = ctx.devfile.kubernetes?.ingress;
    if (config?.enabled === false) return undefined;
    if (!this.ingressServer && !applied.some((o) => o.kind === 'Ingress' || o.kind === 'HTTPRoute')) return undefined;
    const server = this.ingressServer ??= new IngressServer(clients.kc, clients.core, this.engine.logger(), config?.port ?? DEFAULT_INGRESS_PORT);
    const routes = await server.update(ctx.service, applied, ctx.logger, clients);
    const services = new Set(applied.filter((o) => o.kind === 'Service').map((o) => `${o.metadata.namespace ?? 'default'}/${o.metadata.name}`));
    return { endpoints: server.endpointsFor(services), release: () => server.remove(ctx.service, routes) };
  }

  /** The `devloop:autopilot` details of the service's pods (autopilot/visibility.ts), refreshed until the deployment stops. */
  private async autopilotViewFor(ctx: DeployContext, deployment: KubeDeployment, clients: Clients, applied: K8sObject[]): Promise<void> {
    const sim = ctx.devfile.simulation?.autopilot;
    if (!sim?.enabled) return;
    const selectors = podSelectors(applied);
    if (!selectors.length) return;
    const { AutopilotView, VIEW_PLUGIN } = await import('../autopilot/visibility.js');
    const { ANNOTATION_ADJUSTMENT } = await import('../autopilot/webhook/review.js');
    const provisioner = deployment.provisioner;
    const view = new AutopilotView({
      api: clients.core as unknown as ConstructorParameters<typeof AutopilotView>[0]['api'],
      service: ctx.service, selectors,
      annotations: applied.map((o) => (o.metadata as { annotations?: Record<string, string> }).annotations?.[ANNOTATION_ADJUSTMENT]).filter((a): a is string => !!a),
      settings: { gkeVersion: sim.gkeVersion, bursting: sim.bursting, region: sim.region },
      planned: provisioner && ((pod) => provisioner.plannedFor(pod)),
      gke: provisioner && !provisioner.materialize ? (pod) => provisioner.placementOf(pod) : undefined,
      dispatch: (data) => ctx.dispatch({ type: 'service/extra', service: ctx.service, plugin: VIEW_PLUGIN, data }),
    });
    const onChange = () => view.refresh();
    provisioner?.onChange.add(onChange);
    deployment.autopilotView = { stop: () => { provisioner?.onChange.delete(onChange); return view.stop(); } };
    view.start();
  }

  private provisioners = new Map<string, Promise<import('../autopilot/provisioner.js').Provisioner>>();

  /**
   * Autopilot's node auto-provisioning in the cluster (autopilot/provisioner.ts), one controller per
   * context, for projects that simulate Autopilot: pods nothing can hold get kwok nodes shaped as GKE
   * would make them. A failure to start it is a warning: the deploy itself does not need it.
   */
  private async provisionFor(ctx: DeployContext, context: string, clients: Clients, namespace: string): Promise<void> {
    const sim = ctx.devfile.simulation?.autopilot;
    if (!sim?.enabled || sim.nodeAutoProvisioning === false) return;
    let p = this.provisioners.get(context);
    if (!p) {
      const session = sessionOf(ctx.root, ctx.service);
      p = Promise.all([import('../autopilot/provisioner.js'), this.autopilotMetrics(sim.metricsPort)]).then(([m, metrics]) => new m.Provisioner({
        metrics,
        api: clients.core as unknown as import('../autopilot/provisioner.js').ProvisionerApi,
        logger: this.engine.logger(),
        provisioning: sim.provisioning ?? 'realistic',
        consolidationDelayS: sim.consolidationDelayS,
        materialize: sim.mode === 'simulate',
        cluster: { gkeVersion: sim.gkeVersion, bursting: sim.bursting, region: sim.region },
        session: { [LABEL_SESSION]: session[LABEL_SESSION], ...(session[LABEL_SESSION_START] ? { [LABEL_SESSION_START]: session[LABEL_SESSION_START] } : {}) },
        sessionAlive: (labels) => sessionAlive({ [DOCKER_SESSION]: labels[LABEL_SESSION] ?? '', ...(labels[LABEL_SESSION_START] ? { [DOCKER_SESSION_START]: labels[LABEL_SESSION_START] } : {}) }),
      }));
      this.provisioners.set(context, p);
    }
    try {
      await (await p).watch(namespace);
    } catch (err) {
      ctx.logger.warn(`autopilot node provisioning in ${context} did not start: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private metricsEndpoint?: Promise<{ metrics: import('../autopilot/metrics.js').AutopilotMetrics; endpoint?: { close(): Promise<void> } }>;

  /**
   * The Autopilot simulation's Prometheus series (autopilot/metrics.ts), one endpoint per engine on
   * 127.0.0.1: simulation.autopilot.metricsPort, else the next free port from 9465. A port that
   * cannot be had is a warning; the provisioner keeps its series either way.
   */
  private async autopilotMetrics(asked: number | undefined): Promise<import('../autopilot/metrics.js').AutopilotMetrics> {
    this.metricsEndpoint ??= (async () => {
      const { AutopilotMetrics, serveAutopilotMetrics } = await import('../autopilot/metrics.js');
      const { isPortFree, nextFreePort, portTakenError } = await import('../shared/ports.js');
      const metrics = new AutopilotMetrics();
      const log = this.engine.logger();
      // With devloop:monitoring serving the session's /metrics, the series go there instead.
      if (this.engine.metrics.claimedBy) {
        const remove = this.engine.metrics.add({ name: 'devloop:autopilot', collect: () => metrics.registry.metrics() });
        return { metrics, endpoint: { port: 0, url: this.engine.metrics.url ?? '', close: async () => remove() } };
      }
      try {
        if (asked !== undefined && !(await isPortFree(asked))) {
          const taken = portTakenError(asked, 'simulation.autopilot.metricsPort', 'set simulation.autopilot.metricsPort to a free port, or remove it to take the next free one after 9465');
          log.warn(`Autopilot metrics endpoint not started: ${taken.message}; ${taken.hint}`);
          return { metrics };
        }
        const endpoint = await serveAutopilotMetrics(metrics, { port: asked ?? await nextFreePort(9465) });
        log.info(`Autopilot simulation metrics at ${endpoint.url}`);
        return { metrics, endpoint };
      } catch (err) {
        log.warn(`Autopilot metrics endpoint not started: ${err instanceof Error ? err.message : String(err)}`);
        return { metrics };
      }
    })();
    return (await this.metricsEndpoint).metrics;
  }

  async shutdown(): Promise<void> {
    // The nodes it made go before the clients do.
    await Promise.all([...this.provisioners.values()].map(async (p) => (await p).stop()));
    this.provisioners.clear();
    const served = await this.metricsEndpoint;
    this.metricsEndpoint = undefined;
    await served?.endpoint?.close();
    await this.ingressServer?.close();
    this.ingressServer = undefined;
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
