/**
 * The service's endpoint: a 127.0.0.1 port forwarded through the API server to the first
 * Service's target port (or the first container port of the first workload). Uses the client
 * library's PortForward (a websocket per connection). The pod is picked on each new connection,
 * a Ready one matching the selector, so a pod replaced by a rollout is followed without a
 * reconnect step; the local port stays the same across redeploys.
 */
import net from 'node:net';
import type { CoreV1Api, KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../core/engine/contexts.js';
import type { K8sObject } from './manifests.js';

export interface ForwardTarget {
  namespace: string;
  selector: Record<string, string>;
  /** A number, or a container port name resolved per pod. */
  port: number | string;
  /** What the port came from, for the log: `service/web:80`. */
  from: string;
}

/** Pure: where the endpoint should lead, from the applied objects. */
export function forwardTarget(objects: K8sObject[]): ForwardTarget | undefined {
  const svc = objects.find((o) => o.kind === 'Service' && (o as any).spec?.selector && (o as any).spec?.ports?.length) as any;
  if (svc) {
    const p = svc.spec.ports[0];
    return { namespace: svc.metadata.namespace ?? 'default', selector: svc.spec.selector, port: p.targetPort ?? p.port, from: `service/${svc.metadata.name}:${p.port}` };
  }
  for (const o of objects as any[]) {
    const spec = o.kind === 'Pod' ? o.spec : o.spec?.template?.spec;
    const selector = o.kind === 'Pod' ? o.metadata.labels : o.spec?.selector?.matchLabels;
    const port = spec?.containers?.flatMap((c: { ports?: { containerPort: number }[] }) => c.ports ?? [])[0]?.containerPort;
    if (port && selector) return { namespace: o.metadata.namespace ?? 'default', selector, port, from: `${o.kind.toLowerCase()}/${o.metadata.name}:${port}` };
  }
  return undefined;
}

const key = (t: ForwardTarget) => JSON.stringify([t.namespace, t.selector, t.port]);

export class PortForwarder {
  private server?: net.Server;
  private target?: ForwardTarget;
  private sockets = new Set<net.Socket>();
  /** Why a connection was closed unanswered, by the client's local port: what the ingress puts in its 502. */
  private failures = new Map<number, string>();
  port = 0;
  /** The pod the last connection reached, and why the last one failed when it did: the TUI shows them. */
  private lastPod?: string;
  private lastError?: string;

  constructor(private kc: KubeConfig, private core: CoreV1Api, private logger: Logger) {}

  /** In words, for the details view: `127.0.0.1:41234 -> pod web-7d9f-x2:8080, 2 open connections`. */
  get state(): string {
    if (!this.server || !this.target) return 'closed';
    const to = this.lastPod ? `pod ${this.lastPod}` : `${this.target.from} (no connection yet)`;
    const open = `${this.sockets.size} open connection${this.sockets.size === 1 ? '' : 's'}`;
    return `127.0.0.1:${this.port} -> ${to}, ${open}${this.lastError ? `; last failure: ${this.lastError}` : ''}`;
  }

  get url(): string { return `http://127.0.0.1:${this.port}`; }

  /** Starts listening, or retargets the running listener (same local port). */
  async start(target: ForwardTarget): Promise<void> {
    const changed = !this.target || key(this.target) !== key(target);
    this.target = target;
    if (this.server) {
      if (changed) this.logger.info(`port-forward ${this.url} -> ${target.from} (namespace ${target.namespace})`);
      return;
    }
    const { PortForward } = await import('@kubernetes/client-node');
    const pf = new PortForward(this.kc);
    const server = net.createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      void this.connect(pf, socket);
    });
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', () => resolve()); });
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
    this.logger.info(`port-forward ${this.url} -> ${target.from} (namespace ${target.namespace})`);
  }

  private async connect(pf: import('@kubernetes/client-node').PortForward, socket: net.Socket): Promise<void> {
    const t = this.target!;
    try {
      const pod = await this.readyPod(t);
      if (!pod) { this.fail(socket, `no Ready pod matches ${t.from} (namespace ${t.namespace}, selector ${Object.entries(t.selector).map(([k, v]) => `${k}=${v}`).join(',')}) yet`); return; }
      const port = typeof t.port === 'number' ? t.port : resolveNamedPort(pod, t.port);
      if (!port) { this.fail(socket, `pod ${pod.metadata?.name} has no container port named "${t.port}"`); return; }
      const ws = await pf.portForward(t.namespace, pod.metadata!.name!, [port], socket, null, socket);
      this.lastPod = `${pod.metadata!.name}:${port}`;
      this.lastError = undefined;
      const conn = typeof ws === 'function' ? ws() : ws;
      socket.once('close', () => conn?.close());
      conn?.once('close', () => socket.end());
    } catch (err) {
      this.fail(socket, `port-forward to ${t.from} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private fail(socket: net.Socket, reason: string): void {
    this.lastError = reason;
    this.logger.warn(reason.startsWith('port-forward') ? reason : `port-forward: ${reason}`);
    const from = socket.remotePort;
    if (from) {
      this.failures.set(from, reason);
      setTimeout(() => this.failures.delete(from), 10_000).unref();
    }
    socket.destroy();
  }

  /** Why the connection from this local port was closed without an answer, if it was. */
  failureFor(localPort: number): string | undefined {
    const reason = this.failures.get(localPort);
    this.failures.delete(localPort);
    return reason;
  }

  private async readyPod(t: ForwardTarget): Promise<V1Pod | undefined> {
    const labelSelector = Object.entries(t.selector).map(([k, v]) => `${k}=${v}`).join(',');
    const pods = (await this.core.listNamespacedPod({ namespace: t.namespace, labelSelector })).items;
    const ready = pods.filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    // The newest Ready pod: during a rollout, the one that will stay.
    const born = (p: V1Pod) => new Date(p.metadata?.creationTimestamp ?? 0).getTime();
    return ready.sort((a, b) => born(b) - born(a))[0];
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function resolveNamedPort(pod: V1Pod, name: string): number | undefined {
  for (const c of pod.spec?.containers ?? []) for (const p of c.ports ?? []) if (p.name === name) return p.containerPort;
  return undefined;
}
