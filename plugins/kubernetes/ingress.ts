/**
 * The local ingress: one HTTP server on 127.0.0.1 that serves the cluster's `Ingress` and
 * `HTTPRoute` objects devloop applied, so `http://shop.localhost:8080/` reaches the Service a
 * production controller would send it to. No controller runs in the cluster: each backend
 * Service port gets a PortForwarder (forward.ts, created on its first request), which picks a
 * Ready pod per connection and so follows rollouts.
 *
 * Matching follows the Kubernetes Ingress rules: an exact host beats a wildcard (`*.x`, one
 * label for an Ingress, any number for an HTTPRoute, as the Gateway API says), then a rule
 * without a host; within that, the longest matching path, and Exact over Prefix at equal length;
 * an Ingress `defaultBackend` takes what nothing else does. Prefix matching is by path element
 * (`/api` matches `/api/x`, never `/apix`); ImplementationSpecific is read as Prefix.
 * What a local copy cannot honour (HTTPRoute header/query/method matches, filters, weights,
 * regular-expression paths) is named once in the log, never silently half-applied.
 */
import http from 'node:http';
import net from 'node:net';
import type { CoreV1Api, KubeConfig, V1Service } from '@kubernetes/client-node';
import type { Logger } from '../../core/engine/contexts.js';
import type { Endpoint } from '../../core/store/state.js';
import { apiError } from './apply.js';
import { PortForwarder, type ForwardTarget } from './forward.js';
import type { K8sObject } from './manifests.js';

export const DEFAULT_INGRESS_PORT = 8080;

export interface Backend {
  namespace: string;
  service: string;
  /** The Service's port: its number, or its name. */
  port: number | string;
}

export interface Route {
  /** Lowercase; `*.x` is a wildcard; undefined matches every host. */
  host?: string;
  /** True for the Gateway API's wildcard (any number of labels), false for an Ingress's (exactly one). */
  deepWildcard?: boolean;
  path: string;
  pathType: 'Exact' | 'Prefix';
  /** An Ingress `defaultBackend`: taken only when no rule matches. */
  fallback?: boolean;
  backend: Backend;
  /** `ingress/shop/web`: the object the route came from, for the 404 page and the log. */
  from: string;
}

const refName = (o: K8sObject) => `${o.kind.toLowerCase()}/${o.metadata.namespace ?? 'default'}/${o.metadata.name}`;

/** Pure: the routes of the Ingress and HTTPRoute objects among `objects`, and what of them cannot be served. */
export function routesOf(objects: K8sObject[]): { routes: Route[]; problems: string[] } {
  const routes: Route[] = [];
  const problems: string[] = [];
  for (const o of objects as any[]) {
    const namespace: string = o.metadata.namespace ?? 'default';
    const from = refName(o);
    if (o.kind === 'Ingress' && /^networking\.k8s\.io\//.test(o.apiVersion)) {
      const backendOf = (b: any, where: string): Backend | undefined => {
        const svc = b?.service;
        const port = svc?.port?.number ?? svc?.port?.name;
        if (svc?.name && port !== undefined) return { namespace, service: svc.name, port };
        problems.push(`${from} ${where}: only a service backend with a port number or name is served locally${b?.resource ? ' (a resource backend is not)' : ''}`);
        return undefined;
      };
      (o.spec?.rules ?? []).forEach((rule: any, i: number) => {
        const host = typeof rule.host === 'string' && rule.host ? rule.host.toLowerCase() : undefined;
        (rule.http?.paths ?? []).forEach((p: any, j: number) => {
          const backend = backendOf(p.backend, `spec.rules[${i}].http.paths[${j}].backend`);
          if (!backend) return;
          routes.push({ host, path: p.path || '/', pathType: p.pathType === 'Exact' ? 'Exact' : 'Prefix', backend, from });
        });
      });
      if (o.spec?.defaultBackend) {
        const backend = backendOf(o.spec.defaultBackend, 'spec.defaultBackend');
        if (backend) routes.push({ path: '/', pathType: 'Prefix', fallback: true, backend, from });
      }
    } else if (o.kind === 'HTTPRoute' && /^gateway\.networking\.k8s\.io\//.test(o.apiVersion)) {
      const hosts: (string | undefined)[] = (o.spec?.hostnames ?? []).map((h: string) => h.toLowerCase());
      if (hosts.length === 0) hosts.push(undefined);
      (o.spec?.rules ?? []).forEach((rule: any, i: number) => {
        const refs = (rule.backendRefs ?? []) as any[];
        const ref = refs[0];
        if (!ref || (ref.kind && ref.kind !== 'Service') || (ref.group && ref.group !== '') || ref.port === undefined) {
          problems.push(`${from} spec.rules[${i}].backendRefs[0]: only a Service with a port is served locally`);
          return;
        }
        if (refs.length > 1) problems.push(`${from} spec.rules[${i}]: ${refs.length} backendRefs; only the first (${ref.name}) is served locally`);
        if (rule.filters?.length) problems.push(`${from} spec.rules[${i}].filters: not applied locally`);
        const backend = { namespace: ref.namespace ?? namespace, service: ref.name, port: ref.port };
        const matches = (rule.matches?.length ? rule.matches : [{}]) as any[];
        matches.forEach((m, j) => {
          const type = m.path?.type ?? 'PathPrefix';
          if (type !== 'PathPrefix' && type !== 'Exact') {
            problems.push(`${from} spec.rules[${i}].matches[${j}].path.type ${type}: not served locally (PathPrefix and Exact are)`);
            return;
          }
          if (m.headers?.length || m.queryParams?.length || m.method) {
            problems.push(`${from} spec.rules[${i}].matches[${j}]: header, query and method conditions are not checked locally (the path alone routes)`);
          }
          for (const host of hosts) {
            routes.push({ host, deepWildcard: true, path: m.path?.value || '/', pathType: type === 'Exact' ? 'Exact' : 'Prefix', backend, from });
          }
        });
      });
    }
  }
  return { routes, problems };
}

/** The request's host, without the port, lowercase, without a trailing dot. */
export function hostOf(header: string | undefined): string {
  let h = (header ?? '').trim().toLowerCase();
  if (h.startsWith('[')) h = h.slice(0, h.indexOf(']') + 1);
  else if (h.includes(':')) h = h.slice(0, h.lastIndexOf(':'));
  return h.replace(/\.$/, '');
}

export function hostMatches(route: Pick<Route, 'host' | 'deepWildcard'>, host: string): boolean {
  if (route.host === undefined) return true;
  if (!route.host.startsWith('*.')) return route.host === host;
  const suffix = route.host.slice(1);
  if (!host.endsWith(suffix) || host.length === suffix.length) return false;
  return route.deepWildcard || !host.slice(0, -suffix.length).includes('.');
}

/** `/api/` and `/api` are the same prefix: what counts is whole path elements. */
const prefixOf = (path: string) => path.replace(/\/+$/, '');

export function pathMatches(route: Pick<Route, 'path' | 'pathType'>, path: string): boolean {
  if (route.pathType === 'Exact') return route.path === path;
  const p = prefixOf(route.path);
  return p === '' || path === p || path.startsWith(`${p}/`);
}

/** How specific a matching route is; higher wins. */
function rank(r: Route): number[] {
  const hostTier = r.fallback ? 0 : r.host === undefined ? 1 : r.host.startsWith('*.') ? 2 : 3;
  return [hostTier, r.host?.length ?? 0, prefixOf(r.path).length, r.pathType === 'Exact' ? 1 : 0];
}

/** Pure: the route a request takes, or undefined. The first route listed wins a tie (objects in apply order). */
export function matchRoute(routes: Route[], host: string, path: string): Route | undefined {
  let best: Route | undefined;
  let bestRank: number[] = [];
  for (const r of routes) {
    if (!hostMatches(r, host) || !pathMatches(r, path)) continue;
    const k = rank(r);
    const i = k.findIndex((v, n) => v !== bestRank[n]);
    if (!best || (i !== -1 && k[i] > bestRank[i])) { best = r; bestRank = k; }
  }
  return best;
}

/** `http://shop.localhost:8080/api`: where a route is reached through the local ingress. */
export function routeUrl(r: Route, port: number): string {
  const host = r.host ?? '127.0.0.1';
  return `http://${host}:${port}${r.path.startsWith('/') ? r.path : `/${r.path}`}`;
}

const backendName = (b: Backend) => `${b.service}:${b.port}`;

/** The pods behind a Service port, as forward.ts wants them; or why there are none to reach. */
export function serviceTarget(svc: V1Service, backend: Backend): ForwardTarget | string {
  const name = `service ${backend.service} (namespace ${backend.namespace})`;
  const ports = svc.spec?.ports ?? [];
  const p = ports.find((x) => (typeof backend.port === 'number' ? x.port === backend.port : x.name === backend.port));
  if (!p) return `${name} has no port ${JSON.stringify(backend.port)} (its ports: ${ports.map((x) => (x.name ? `${x.port}/${x.name}` : String(x.port))).join(', ') || 'none'})`;
  const selector = svc.spec?.selector;
  if (!selector || Object.keys(selector).length === 0) return `${name} has no selector: the local ingress reaches pods by selector only`;
  return { namespace: backend.namespace, selector, port: (p.targetPort as number | string | undefined) ?? p.port, from: `service/${backend.service}:${p.port}` };
}

interface Forward { forwarder?: PortForwarder; stale: boolean; pending?: Promise<PortForwarder | string> }

/**
 * The server. `update()` takes the routes of one devloop service's deploy (replacing what that
 * service had), starting the server with the first route; `remove()` drops a service's routes.
 */
export class IngressServer {
  private server?: http.Server;
  private starting?: Promise<void>;
  private byService = new Map<string, Route[]>();
  private forwards = new Map<string, Forward>();
  private shown = new Set<string>();
  private sockets = new Set<net.Socket>();
  port = 0;

  constructor(private kc: KubeConfig, private core: CoreV1Api, private logger: Logger, private wantedPort = DEFAULT_INGRESS_PORT) {}

  /** Every route, services in deploy order, objects in apply order. */
  get routes(): Route[] { return [...this.byService.values()].flat(); }

  /** Replaces the routes of `service` with those of its applied objects; returns them. */
  async update(service: string, objects: K8sObject[], logger: Logger, clients?: { kc: KubeConfig; core: CoreV1Api }): Promise<Route[]> {
    if (clients) { this.kc = clients.kc; this.core = clients.core; }
    const { routes, problems } = routesOf(objects);
    for (const p of problems) if (!this.shown.has(p)) { this.shown.add(p); logger.warn(`ingress: ${p}`); }
    if (routes.length) this.byService.set(service, routes); else this.byService.delete(service);
    // A redeploy may have changed a Service's selector or ports: read them again on the next request.
    for (const f of this.forwards.values()) f.stale = true;
    if (this.byService.size && !this.server) {
      try {
        await (this.starting ??= this.listen());
      } catch (err) {
        // The deploy itself went well: say why the ingress is missing, and try again at the next deploy.
        this.starting = undefined;
        logger.error(`ingress: cannot listen on 127.0.0.1:${this.wantedPort}: ${err instanceof Error ? err.message : String(err)}; set kubernetes.ingress.port in Devfile.ts to a free port above 1023, or kubernetes.ingress.enabled to false`);
        return routes;
      }
    }
    for (const r of routes) {
      const line = `ingress: ${routeUrl(r, this.port)}${r.fallback ? ' (default backend)' : ''} -> ${backendName(r.backend)}`;
      if (!this.shown.has(line)) { this.shown.add(line); logger.info(line); }
    }
    return routes;
  }

  /** Drops the routes of `service`; given `routes`, only while they are still the ones it has (a later deploy's stay). */
  remove(service: string, routes?: Route[]): void {
    if (!routes || this.byService.get(service) === routes) this.byService.delete(service);
  }

  /** The ingress URLs of the routes leading to these Services (`namespace/name`). */
  endpointsFor(services: Set<string>): Endpoint[] {
    if (!this.server) return [];
    const urls = new Set<string>();
    for (const r of this.routes) if (services.has(`${r.backend.namespace}/${r.backend.service}`)) urls.add(routeUrl(r, this.port));
    return [...urls].map((url) => ({ name: 'ingress', url }));
  }

  private async listen(): Promise<void> {
    const server = http.createServer((req, res) => void this.handle(req, res));
    server.on('upgrade', (req, socket, head) => void this.upgrade(req, socket as net.Socket, head));
    server.on('connection', (s) => { this.sockets.add(s); s.once('close', () => this.sockets.delete(s)); });
    const bind = (port: number) => new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      server.once('error', onError);
      server.listen(port, '127.0.0.1', () => { server.off('error', onError); resolve(); });
    });
    try {
      await bind(this.wantedPort);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      await bind(0);
      this.logger.warn(`ingress: 127.0.0.1:${this.wantedPort} is in use, serving on 127.0.0.1:${(server.address() as net.AddressInfo).port} instead; set kubernetes.ingress.port in Devfile.ts to pick a free one`);
    }
    this.server = server;
    this.port = (server.address() as net.AddressInfo).port;
  }

  /** The local port that reaches the route's backend, or why there is none. */
  private forwarderFor(b: Backend): Promise<PortForwarder | string> {
    const key = `${b.namespace}/${b.service}:${b.port}`;
    let f = this.forwards.get(key);
    if (!f) { f = { stale: true }; this.forwards.set(key, f); }
    const entry = f;
    if (entry.forwarder && !entry.stale) return Promise.resolve(entry.forwarder);
    // One lookup at a time per Service port: concurrent first requests share the forwarder.
    return entry.pending ??= this.refresh(entry, b).finally(() => { entry.pending = undefined; });
  }

  private async refresh(f: Forward, b: Backend): Promise<PortForwarder | string> {
    let svc: V1Service;
    try {
      svc = await this.core.readNamespacedService({ name: b.service, namespace: b.namespace });
    } catch (err) {
      const { code, message } = apiError(err);
      return code === 404 ? `service ${b.service} does not exist in namespace ${b.namespace}` : `cannot read service ${b.service} (namespace ${b.namespace}): ${message}`;
    }
    const target = serviceTarget(svc, b);
    if (typeof target === 'string') return target;
    // The ingress logs its own routes; of the forwarder only a change of failure is worth a line.
    let last = '';
    const quiet: Logger = { ...this.logger, info: () => {}, warn: (m) => { if (m !== last) this.logger.warn(`ingress: ${m}`); last = m; } };
    f.forwarder ??= new PortForwarder(this.kc, this.core, quiet);
    await f.forwarder.start(target);
    f.stale = false;
    return f.forwarder;
  }

  private async route(host: string | undefined, url: string | undefined): Promise<{ route?: Route; forwarder?: PortForwarder; reason?: string; path: string; host: string }> {
    const h = hostOf(host);
    const path = (url ?? '/').split('?')[0] || '/';
    const route = matchRoute(this.routes, h, path);
    if (!route) return { path, host: h };
    const f = await this.forwarderFor(route.backend);
    return typeof f === 'string' ? { route, reason: f, path, host: h } : { route, forwarder: f, path, host: h };
  }

  private notFound(host: string, path: string): string {
    const lines = this.routes.map((r) => `  ${routeUrl(r, this.port)}${r.pathType === 'Exact' ? ' (exact)' : ''}${r.fallback ? ' (default backend)' : ''} -> ${backendName(r.backend)}  (${r.from})`);
    return `devloop local ingress: no Ingress or HTTPRoute rule matches host "${host}" and path "${path}".\n\nKnown routes:\n${lines.join('\n') || '  none'}\n`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const reply = (status: number, text: string) => {
      if (res.headersSent) { res.destroy(); return; }
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    let r;
    try {
      r = await this.route(req.headers.host, req.url);
    } catch (err) {
      reply(502, `devloop local ingress: ${err instanceof Error ? err.message : String(err)}\n`);
      return;
    }
    if (!r.route) { reply(404, this.notFound(r.host, r.path)); return; }
    const via = `${backendName(r.route.backend)} (${r.route.from})`;
    if (!r.forwarder) { reply(502, `devloop local ingress: cannot reach ${via}: ${r.reason}\n`); return; }
    const forwarder = r.forwarder;
    let localPort = 0;
    // One connection per request: each picks a Ready pod afresh, so a rollout is followed.
    const upstream = http.request({
      host: '127.0.0.1', port: forwarder.port, method: req.method, path: req.url, agent: false,
      headers: { ...req.headers, 'x-forwarded-for': req.socket.remoteAddress ?? '127.0.0.1', 'x-forwarded-host': req.headers.host ?? '', 'x-forwarded-proto': 'http', connection: 'close' },
    }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.statusMessage, up.rawHeaders);
      up.pipe(res);
      up.once('error', () => res.destroy());
    });
    upstream.once('socket', (s) => s.once('connect', () => { localPort = s.localPort ?? 0; }));
    upstream.once('error', (err) => {
      const reason = forwarder.failureFor(localPort) ?? `the connection closed without an answer (${err.message}); the pod may not listen on ${r.route!.backend.port}'s target port`;
      reply(502, `devloop local ingress: cannot reach ${via}: ${reason}\n`);
    });
    res.once('close', () => { if (!res.writableFinished) upstream.destroy(); });
    req.pipe(upstream);
  }

  /** Websockets and other upgrades: the request head is replayed to the backend, then bytes flow both ways. */
  private async upgrade(req: http.IncomingMessage, socket: net.Socket, head: Buffer): Promise<void> {
    const fail = (status: string, text: string) => {
      socket.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
    };
    socket.on('error', () => socket.destroy());
    let r;
    try { r = await this.route(req.headers.host, req.url); } catch (err) { fail('502 Bad Gateway', `devloop local ingress: ${err instanceof Error ? err.message : String(err)}\n`); return; }
    if (!r.route) { fail('404 Not Found', this.notFound(r.host, r.path)); return; }
    if (!r.forwarder) { fail('502 Bad Gateway', `devloop local ingress: cannot reach ${backendName(r.route.backend)}: ${r.reason}\n`); return; }
    const forwarder = r.forwarder;
    const via = `${backendName(r.route.backend)} (${r.route.from})`;
    const up = net.connect(forwarder.port, '127.0.0.1');
    let lines = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) lines += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    up.write(`${lines}\r\n`);
    if (head.length) up.write(head);
    let answered = false;
    let localPort = 0;
    up.once('connect', () => { localPort = up.localPort ?? 0; });
    up.once('data', () => { answered = true; });
    up.pipe(socket, { end: false });
    socket.pipe(up);
    up.once('close', () => {
      // Closed before a byte came back: the forwarder found no pod to send it to, and says why.
      if (answered) socket.end();
      else fail('502 Bad Gateway', `devloop local ingress: cannot reach ${via}: ${forwarder.failureFor(localPort) ?? 'the connection closed without an answer'}\n`);
    });
    up.on('error', () => { /* 'close' follows and answers */ });
    socket.once('close', () => up.destroy());
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    this.starting = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    const forwards = [...this.forwards.values()];
    this.forwards.clear();
    await Promise.all(forwards.map((f) => f.forwarder?.close()));
  }
}
