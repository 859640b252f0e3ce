/**
 * GKE Autopilot's admission inside a real cluster: an https server on 127.0.0.1 (random port, a
 * CA of its own per cluster) answering the API server's AdmissionReviews with the engine
 * (review.ts), and the Mutating/ValidatingWebhookConfigurations that send it the namespaces
 * devloop deploys to. Whoever applies there (devloop, kubectl, Helm, an operator) gets GKE's
 * answers.
 *
 * The configurations use `failurePolicy: Fail` (a pod GKE would deny must not slip through while
 * devloop is up), so they must never outlive the server: they are deleted at stop, when the server
 * fails (the fallback: one warning, deploys go on as plain Kubernetes), and, for a devloop killed
 * without a chance to, at the next start (`removeStale`, by label and dead session).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { KubeConfig, KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import { MANAGED_NAMESPACES } from '../data.js';
import type { AutopilotMode } from '../modes.js';
import type { ClusterSettings } from '../settings.js';
import { WARDEN_WEBHOOK } from '../warden.js';
import { makeCerts, type WebhookCerts } from './certs.js';
import { mutate, validate, ReviewError, type ReviewOut } from './review.js';

export const LABEL_WEBHOOK = 'devloop.dev/webhook';
export const LABEL_SESSION = 'devloop.dev/session';
export const LABEL_SESSION_START = 'devloop.dev/session-start';
export const MUTATOR_WEBHOOK = 'autopilot-default-resources-mutator.devloop.dev';
const MAX_BODY = 3 * 1024 * 1024;
const TIMEOUT_SECONDS = 5;

type Log = { info(m: string): void; warn(m: string): void };

export interface WebhookOptions {
  kc: KubeConfig;
  settings?: ClusterSettings;
  logger: Log;
  /** Labels naming this devloop process (session pid and start time), for `removeStale`. */
  session: Record<string, string>;
  /** How admitted Pods are placed (modes.ts); undefined: as written. */
  mode?: AutopilotMode;
  /** Called once when the server fails and the configurations have been removed. */
  onFallback?: (reason: string) => void;
}

/** Namespaces the webhooks may be registered for: never GKE's managed ones (kube-system, gke-*, ...). */
export function registrable(namespace: string): boolean {
  return !MANAGED_NAMESPACES.includes(namespace) && !namespace.startsWith('kube-');
}

const RULES = [
  { operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' },
  { operations: ['CREATE', 'UPDATE'], apiGroups: ['apps'], apiVersions: ['v1'], resources: ['deployments', 'statefulsets', 'daemonsets', 'replicasets'], scope: 'Namespaced' },
  { operations: ['CREATE', 'UPDATE'], apiGroups: ['batch'], apiVersions: ['v1'], resources: ['jobs', 'cronjobs'], scope: 'Namespaced' },
];

/** The two configurations for `namespaces`, pointing at `url`. Pure. */
export function configurations(name: string, url: string, caPem: string, namespaces: string[], labels: Record<string, string>): KubernetesObject[] {
  const common = {
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: 'Fail',
    timeoutSeconds: TIMEOUT_SECONDS,
    matchPolicy: 'Equivalent',
    rules: RULES,
    namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [...namespaces].filter(registrable).sort() }] },
  };
  const caBundle = Buffer.from(caPem).toString('base64');
  const metadata = { name, labels: { 'app.kubernetes.io/managed-by': 'devloop', [LABEL_WEBHOOK]: 'autopilot', ...labels } };
  return [
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata,
      webhooks: [{ name: MUTATOR_WEBHOOK, clientConfig: { url: `${url}/mutate`, caBundle }, reinvocationPolicy: 'Never', ...common }] } as KubernetesObject,
    { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata,
      webhooks: [{ name: WARDEN_WEBHOOK, clientConfig: { url: `${url}/validate`, caBundle }, ...common }] } as KubernetesObject,
  ];
}

/** The https server alone: AdmissionReviews on /mutate and /validate. */
export async function listen(certs: WebhookCerts, settings: ClusterSettings, onReview?: (path: string, body: unknown) => void, mode?: AutopilotMode, session?: Record<string, string>): Promise<https.Server> {
  const server = https.createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) { res.writeHead(413).end(); req.destroy(); } else chunks.push(c);
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      const path = (req.url ?? '').split('?')[0];
      let answer: ReviewOut;
      let body: any;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        onReview?.(path, body);
        if (path === '/mutate') answer = mutate(body, settings, mode, session);
        else if (path === '/validate') answer = validate(body, settings);
        else { res.writeHead(404, { 'Content-Type': 'text/plain' }).end(`no webhook at ${path}: use /mutate or /validate\n`); return; }
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (err instanceof ReviewError || err instanceof SyntaxError) { res.writeHead(400, { 'Content-Type': 'text/plain' }).end(`${message}\n`); return; }
        // A fault of the simulator must not block the cluster (failurePolicy Fail would): admitted unchanged, and said so.
        answer = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: body.request.uid, allowed: true, warnings: [`devloop's Autopilot simulation could not admit this object (${message}); it was admitted unchanged`] } };
      }
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => { server.off('error', reject); resolve(); });
  });
  return server;
}

/**
 * Starts watchdog.ts for configuration `name` (detached, so a signal to devloop's process group
 * does not reach it); it deletes the configurations once devloop's end of its stdin closes.
 * Undefined when it cannot start: the next start's `removeStale` is then the only safety net.
 */
export function startWatchdog(context: string, name: string): ChildProcess | undefined {
  const js = fileURLToPath(new URL('./watchdog.js', import.meta.url));
  const ts = fileURLToPath(new URL('./watchdog.ts', import.meta.url));
  // From the sources (tests, benches under tsx) the .ts runs with the loader this process has.
  const args = existsSync(js) ? [js] : [...process.execArgv.filter((a, i, all) => a.startsWith('--import') || all[i - 1] === '--import'), ts];
  try {
    const child = spawn(process.execPath, [...args, context, name], { detached: true, stdio: ['pipe', 'ignore', 'ignore'] });
    child.on('error', () => {});
    child.stdin!.on('error', () => {});
    child.unref();
    (child.stdin as unknown as Socket).unref?.();
    return child;
  } catch {
    return undefined;
  }
}

const apiOf = async (kc: KubeConfig): Promise<KubernetesObjectApi> => (await import('@kubernetes/client-node')).KubernetesObjectApi.makeApiClient(kc);
const KINDS = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'];
const codeOf = (err: unknown) => (err as { code?: number }).code;

/**
 * Deletes the configurations a devloop that is gone left behind (killed, crashed); `alive` says
 * whether the session in an object's labels still runs. Returns `Kind/name` of what was deleted.
 */
export async function removeStale(kc: KubeConfig, alive: (labels: Record<string, string>) => boolean): Promise<string[]> {
  const api = await apiOf(kc);
  const deleted: string[] = [];
  for (const kind of KINDS) {
    const list = await api.list('admissionregistration.k8s.io/v1', kind, undefined, undefined, undefined, undefined, undefined, `${LABEL_WEBHOOK}=autopilot`);
    for (const item of list.items) {
      if (alive(item.metadata?.labels ?? {})) continue;
      try {
        await api.delete({ apiVersion: 'admissionregistration.k8s.io/v1', kind, metadata: { name: item.metadata!.name! } });
        deleted.push(`${kind}/${item.metadata!.name}`);
      } catch (err) { if (codeOf(err) !== 404) throw err; }
    }
  }
  return deleted;
}

/** One cluster's webhook: server, certificates and configurations, for the namespaces added with `watch`. */
export class AutopilotWebhook {
  readonly name: string;
  private namespaces = new Map<string, Promise<void>>();
  private chain: Promise<void> = Promise.resolve();
  private fellBack = false;
  private stopped = false;
  private registered = false;
  private probes = new Map<string, () => void>();
  private watchdog?: ChildProcess;

  private constructor(private server: https.Server, private certs: WebhookCerts, private api: KubernetesObjectApi, private options: WebhookOptions) {
    this.name = `devloop-autopilot-${options.session[LABEL_SESSION] ?? process.pid}-${Math.random().toString(36).slice(2, 7)}`;
    // After listen succeeded any error or close that is not ours means the API server can no
    // longer reach it: with failurePolicy Fail that would block every create in the namespaces.
    server.on('error', (err) => void this.fallBack(`the webhook server failed: ${err.message}`));
    server.on('close', () => { if (!this.stopped) void this.fallBack('the webhook server closed'); });
  }

  static async start(options: WebhookOptions): Promise<AutopilotWebhook> {
    const certs = await makeCerts();
    let self: AutopilotWebhook | undefined;
    // Simulated pods select the session's nodes by the session key alone (the start time is on the node too, but one key is enough).
    const session = options.session?.[LABEL_SESSION] ? { [LABEL_SESSION]: options.session[LABEL_SESSION] } : undefined;
    const server = await listen(certs, options.settings ?? {}, (_path, body) => self?.seen(body), options.mode, session);
    self = new AutopilotWebhook(server, certs, await apiOf(options.kc), options);
    return self;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get active(): boolean {
    return !this.fellBack && !this.stopped;
  }

  get watched(): string[] {
    return [...this.namespaces.keys()].sort();
  }

  /**
   * Adds `namespace` to the configurations (created on the first call), then waits until the API
   * server really calls the webhook there (a dry-run create, which webhooks with `sideEffects:
   * None` see), so the apply that follows is admitted by it. False when the namespace cannot be
   * registered (a managed one) or the webhook is not active.
   */
  async watch(namespace: string, signal?: AbortSignal): Promise<boolean> {
    if (!this.active || !registrable(namespace)) return false;
    let ready = this.namespaces.get(namespace);
    if (!ready) {
      // One registration at a time, each with every namespace known when it runs: two services
      // deploying at once must not leave the configurations with only the first one's.
      ready = this.chain = this.chain.catch(() => {}).then(async () => {
        const { PatchStrategy } = await import('@kubernetes/client-node');
        // Before the first request: half a registration must be undone too.
        this.registered = true;
        this.watchdog ??= startWatchdog(this.options.kc.getCurrentContext(), this.name);
        for (const object of configurations(this.name, this.url, this.certs.ca, this.watched, this.options.session)) {
          await this.api.patch(object, undefined, undefined, 'devloop', true, PatchStrategy.ServerSideApply);
        }
        await this.probe(namespace, signal);
      });
      this.namespaces.set(namespace, ready);
      ready.catch(() => this.namespaces.delete(namespace));
    }
    await ready;
    return true;
  }

  private seen(body: unknown): void {
    const name = (body as { request?: { object?: { metadata?: { name?: string } } } })?.request?.object?.metadata?.name;
    if (name) this.probes.get(name)?.();
  }

  /** Dry-run creates until the server sees one (the API server picks new configurations up within about a second). */
  private async probe(namespace: string, signal?: AbortSignal): Promise<void> {
    const name = `devloop-webhook-probe-${Math.random().toString(36).slice(2, 9)}`;
    let hit = false;
    this.probes.set(name, () => { hit = true; });
    const probe = {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace },
      spec: { selector: { matchLabels: { probe: name } }, template: { metadata: { labels: { probe: name } }, spec: { containers: [{ name: 'probe', image: 'probe' }] } } },
    };
    try {
      for (let i = 0; i < 50 && !hit && this.active; i++) {
        signal?.throwIfAborted();
        try { await this.api.create(probe, undefined, 'All'); } catch (err) {
          // No namespace yet (the apply creates it): nothing to probe with; the configuration
          // still applies to it once it exists.
          if (codeOf(err) === 404) return;
        }
        if (!hit) await new Promise((r) => setTimeout(r, 200));
      }
      if (!hit && this.active) this.options.logger.warn(`autopilot webhook: the API server has not called it yet for namespace ${namespace}; the first objects may be admitted without it`);
    } finally {
      this.probes.delete(name);
    }
  }

  /** Deletes the configurations (quietly: a gone cluster has none to block). */
  private async unregister(): Promise<void> {
    if (!this.registered) return;
    this.registered = false;
    const watchdog = this.watchdog;
    this.watchdog = undefined;
    for (const kind of KINDS) {
      try {
        await this.api.delete({ apiVersion: 'admissionregistration.k8s.io/v1', kind, metadata: { name: this.name } });
      } catch (err) {
        if (codeOf(err) !== 404) this.options.logger.warn(`autopilot webhook: could not delete ${kind}/${this.name}: ${err instanceof Error ? err.message : String(err)}; delete it with "kubectl delete ${kind.toLowerCase()} ${this.name}"`);
      }
    }
    // Deleted (or reported): the watchdog's job is done.
    if (watchdog && watchdog.exitCode === null) watchdog.kill();
  }

  /** The fallback: configurations removed first (so nothing blocks), then one warning. */
  async fallBack(reason: string): Promise<void> {
    if (this.fellBack || this.stopped) return;
    this.fellBack = true;
    await this.unregister();
    this.server.close();
    this.options.onFallback?.(reason);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.unregister();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  /** For tests: the server as the API server reaches it. */
  get httpsServer(): https.Server {
    return this.server;
  }
}
