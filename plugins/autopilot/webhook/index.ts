/**
 * The webhook's life in a devloop session, for `devloop:autopilot`: started on the first
 * Kubernetes deploy of a project with `simulation.autopilot.enabled` (one per cluster), extended
 * to each namespace a service deploys to, stopped at shutdown; configurations a killed devloop
 * left are removed by `cleanup` at the next start and by `devloop down`. Loaded lazily, so
 * projects without a Kubernetes service never import the client.
 */
import type { BaseContext, DeployContext, Logger } from '../../../core/engine/contexts.js';
import { LABEL_SESSION as DOCKER_SESSION, LABEL_SESSION_START as DOCKER_SESSION_START, sessionAlive, sessionLabels } from '../../docker/names.js';
import type { AutopilotMode } from '../modes.js';
import type { ClusterSettings } from '../settings.js';
import { AutopilotWebhook, LABEL_SESSION, LABEL_SESSION_START, removeStale } from './server.js';

export { AutopilotWebhook, configurations, listen, removeStale, LABEL_WEBHOOK } from './server.js';
export { mutate, validate, annotate, ANNOTATION_ADJUSTMENT, ANNOTATION_WARDEN_VERSION, WARDEN_VERSION, WARDEN_REASON } from './review.js';
export { jsonPatch, applyPatch, type PatchOp } from './patch.js';
export { makeCerts } from './certs.js';

/** This process's session, under the Kubernetes label names (values fit a label). */
export function sessionOf(root: string): Record<string, string> {
  const docker = sessionLabels(root, 'autopilot-webhook');
  const labels: Record<string, string> = { [LABEL_SESSION]: docker[DOCKER_SESSION] };
  const start = docker[DOCKER_SESSION_START];
  if (start && /^[A-Za-z0-9._-]{1,63}$/.test(start)) labels[LABEL_SESSION_START] = start;
  return labels;
}

const aliveByLabels = (labels: Record<string, string>) =>
  sessionAlive({ [DOCKER_SESSION]: labels[LABEL_SESSION] ?? '', ...(labels[LABEL_SESSION_START] ? { [DOCKER_SESSION_START]: labels[LABEL_SESSION_START] } : {}) });

export const REDUCED = 'running with reduced Autopilot simulation';

export class AutopilotWebhooks {
  private byContext = new Map<string, Promise<AutopilotWebhook | undefined>>();
  private warned = false;

  constructor(private logger: Logger) {}

  /** Once per session, whatever failed: deploys go on as plain Kubernetes. */
  private reduced(reason: string): void {
    if (this.warned) return;
    this.warned = true;
    this.logger.warn(`${REDUCED}: ${reason}`);
  }

  /** Before a Kubernetes deploy: the webhook for the service's cluster, registered for its namespace. Never throws. */
  async beforeDeploy(ctx: DeployContext, settings: ClusterSettings, mode?: AutopilotMode): Promise<void> {
    const { resolveTarget } = await import('../../kubernetes/context.js');
    // A refused or unreadable context: the Kubernetes deploy itself says why, with its fix.
    const target = await resolveTarget(ctx.devfile, ctx.service).catch(() => undefined);
    if (!target) return;
    try {
      const namespace = ctx.config.k8s?.namespace ?? target.namespace;
      let webhook = this.byContext.get(target.context);
      if (!webhook) {
        webhook = (async () => {
          const removed = await removeStale(target.kc, aliveByLabels);
          if (removed.length) ctx.logger.info(`autopilot webhook: deleted ${removed.join(', ')}, left by an earlier devloop`);
          const w = await AutopilotWebhook.start({ kc: target.kc, settings, mode, logger: this.logger, session: sessionOf(ctx.root), onFallback: (r) => this.reduced(r) });
          this.logger.info(`autopilot webhook: serving GKE Autopilot admission on ${w.url} for kube context ${target.context}`);
          return w;
        })().catch((err) => { this.reduced(`the admission webhook could not start: ${err instanceof Error ? err.message : String(err)}`); return undefined; });
        this.byContext.set(target.context, webhook);
      }
      const w = await webhook;
      if (!w?.active) return;
      try {
        if (await w.watch(namespace, ctx.signal)) ctx.logger.info(`autopilot webhook: admitting namespace ${namespace} (kubectl, Helm and operators there get GKE's answers)`);
      } catch (err) {
        if (ctx.signal.aborted) return;
        await w.fallBack(`the admission webhook could not be registered for namespace ${namespace}: ${err instanceof Error ? err.message : String(err)}`);
      }
    } catch (err) {
      if (!ctx.signal.aborted) this.reduced(`the admission webhook could not start: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** At start and on `down`: configurations of dead sessions, for the contexts the project's Kubernetes services use. */
  async cleanup(ctx: BaseContext): Promise<void> {
    const { pickContext } = await import('../../kubernetes/context.js');
    const seen = new Set<string>();
    for (const [service, config] of Object.entries(ctx.devfile.services)) {
      if ((config.runtime ?? ctx.devfile.environments?.[ctx.mode]?.runtime) !== 'kubernetes') continue;
      try {
        const target = await pickContext(ctx.devfile, service);
        if (!target.allowed || seen.has(target.context)) continue;
        seen.add(target.context);
        const removed = await removeStale(target.kc, aliveByLabels);
        if (removed.length) ctx.logger.info(`autopilot webhook: deleted ${removed.join(', ')}, left by an earlier devloop`);
      } catch {
        // Unreachable cluster: nothing it holds can block anyone now; the deploy reports it.
      }
    }
  }

  /** The webhook serving kube context `context`, once started (for tests and the bench). */
  webhookFor(context: string): Promise<AutopilotWebhook | undefined> | undefined {
    return this.byContext.get(context);
  }

  async shutdown(): Promise<void> {
    const all = await Promise.all(this.byContext.values());
    this.byContext.clear();
    await Promise.all(all.map((w) => w?.stop()));
  }
}
