/**
 * One simulated Cloud Run service: its revisions, its traffic, and its front end. It is the
 * `Deployment` the `cloud-run` runtime returns, and the same object lives across deploys, as a
 * Cloud Run service does: each deploy that changes what runs adds a revision
 * (`<service>-<00001>-<abc>`), the traffic block decides which revisions serve (percent split,
 * `latestRevision` following the newest ready one, tags with their own URLs), and a revision
 * that fails to start never receives traffic, so the last good one keeps serving.
 *
 * URLs: the service is at http://127.0.0.1:PORT (PORT is the service's `port` when free), and
 * each tag gets the next free port. A request whose Host starts with `TAG---` (as Cloud Run's
 * tagged URLs do) reaches the tag on the main port too.
 */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { Deployment, Logger, ResourceUsage } from '../../core/engine/contexts.js';
import type { SpanSink } from '../../core/engine/tracing.js';
import { TraceSampler, type SamplingPreset } from './trace-sampling.js';
import { DevloopError } from '../../core/errors.js';
import type { Action } from '../../core/store/actions.js';
import type { Endpoint } from '../../core/store/state.js';
import { isPortFree, nextFreePort, LOCALHOST, describePortOwner, portTakenError } from '../shared/ports.js';
import type { CloudRunMetrics } from './metrics.js';
import type { FrontDoorLimits } from './front-door.js';
import { startProxy, type Proxy } from './proxy.js';
import { Revision, type RevisionDeps, type RevisionSnapshot } from './revision.js';
import type { CloudRunSpec, ScalingSettings, TrafficTarget } from './types.js';

export { PLUGIN } from './id.js';

/** Where a request goes, or the status the front end answers with. */
type Routed = { revision: Revision; timeoutMs: number } | { status: number; message: string };

/** The revision a traffic entry resolved to. */
interface Split {
  revision: Revision;
  percent: number;
  tag?: string;
  latest: boolean;
}

export interface RevisionRequest {
  spec: CloudRunSpec;
  /** What runs: identical keys (same image digest, same template) make no new revision. */
  key: string;
  deps: Omit<RevisionDeps, 'changed' | 'env' | 'logger' | 'service' | 'onColdStart' | 'onRejected'> & { env: Record<string, string> };
  /** Aborts the wait for the new revision to become ready. */
  signal: AbortSignal;
}

export interface ServiceOptions {
  /** The devloop service name (store key, log prefix). */
  service: string;
  /** Wanted port for the service URL; the next free one is used when it is taken, unless `explicitPort`. */
  port: number;
  /**
   * Where the port was asked for by name (`services.api.port`, `--port`) and what to do instead:
   * such a port is never moved, a taken one fails the deploy naming its holder.
   */
  explicitPort?: { field: string; instead: string };
  /** Told when an implicit port was taken and the service moved (the runtime says it once a session). */
  portMoved?(wanted: number, port: number, owner: string | undefined): void;
  settings: ScalingSettings;
  logger: Logger;
  dispatch(action: Action): void;
  metrics?: CloudRunMetrics;
  /** Log every request (method, path, status, latency, revision), as Cloud Run's request log does. */
  requestLogs?: boolean;
  /** Revisions kept (oldest without traffic or tag removed first). Cloud Run keeps up to 1000. */
  keepRevisions?: number;
  /** Connection timeouts and cap of each front end (defaults in front-door.ts). */
  frontEnd?: Partial<FrontDoorLimits>;
  /** Where the front ends listen (`simulation.cloudRun.host`); default 127.0.0.1. */
  host?: string;
  /** The session's span sink holder (`engine.tracing`): requests get spans while a sink is set. */
  tracing?: { sink?: SpanSink };
  /** Which requests are traced: Cloud Run's rates (`parity`) or devloop's bounded all (`dev`, the default). */
  tracePreset?: SamplingPreset;
}

export class CloudRunService implements Deployment {
  readonly runtime = 'cloud-run';
  endpoints: Endpoint[] = [];
  private readonly revisions: Revision[] = [];
  private splits: Split[] = [];
  private proxies = new Map<string, Proxy>();
  /** Tag -> port, kept for the session so a tag URL stays the same across deploys. */
  private tagPorts = new Map<string, number>();
  private mainPort?: number;
  private generation = 0;
  private spec?: CloudRunSpec;
  private wrr: number[] = [];
  private pending?: Promise<void>;
  private publishTimer?: NodeJS.Timeout;
  private stopped = false;
  /** Traffic set by `devloop cloudrun update-traffic`, kept while the Devfile/YAML traffic stays what it was then. */
  private override?: { traffic: TrafficTarget[]; base: string };
  private rejectWindow = { start: 0, logged: 0, dropped: 0 };
  private capWarnedAt = 0;
  private published = '';
  /** The revision being proved ready by a deploy; requests that find nothing serving wait for it. */
  private starting?: Revision;
  private readonly startWaiters = new Set<() => void>();
  backend = '';

  private readonly sampler: TraceSampler;

  constructor(private readonly options: ServiceOptions) {
    this.sampler = new TraceSampler(options.tracePreset ?? 'dev');
  }

  /** The host in the service's URLs: the listen address, or loopback when that is a wildcard. */
  private get urlHost(): string {
    const h = this.options.host;
    if (!h || h === '0.0.0.0' || h === '::') return LOCALHOST;
    return h.includes(':') ? `[${h}]` : h;
  }

  /** The port asked for the service URL (a Devfile edit that changes it needs a new front end). */
  get wantedPort(): number {
    return this.options.port;
  }

  get name(): string {
    return this.spec?.name ?? this.options.service;
  }

  /** The details `devloop status --output json` shows. */
  get details(): Record<string, unknown> {
    return { service: this.name, backend: this.backend, url: this.endpoints[0]?.url, traffic: this.trafficView(), revisions: this.revisions.map((r) => r.snapshot()) };
  }

  /** Every live instance of every revision, summed: what the service uses now. */
  usage(): ResourceUsage | undefined {
    let cpu: number | undefined;
    let memory: number | undefined;
    for (const r of this.revisions) {
      for (const inst of r.instances.values()) {
        const u = inst.handle?.usage?.();
        if (u?.cpuSeconds !== undefined) cpu = (cpu ?? 0) + u.cpuSeconds;
        if (u?.memoryBytes !== undefined) memory = (memory ?? 0) + u.memoryBytes;
      }
    }
    return cpu === undefined && memory === undefined ? undefined : { cpuSeconds: cpu, memoryBytes: memory };
  }

  /**
   * Applies a deploy: a new revision when what runs changed, then the traffic block. Returns
   * once the proxy listens; `ready()` waits for the new revision.
   */
  async deploy(req: RevisionRequest): Promise<void> {
    const spec = this.withOverride(req.spec);
    // The front end first: a taken explicit port fails the deploy before any revision exists.
    await this.ensureProxies(spec);
    const latest = this.revisions.at(-1);
    let revision: Revision | undefined;
    if (latest && latest.key === req.key && !latest.failed && (!spec.template.name || spec.template.name === latest.name)) {
      this.options.logger.info(`nothing changed in what runs; ${latest.name} stays the latest revision`);
    } else {
      revision = this.createRevision(spec, req);
    }
    this.spec = spec;
    if (!revision) {
      this.applyTraffic(spec.traffic, this.latestReady());
      return;
    }
    const rev = revision;
    // Cloud Run starts the new revision once to prove it serves before it gets any traffic.
    this.starting = rev;
    this.pending = (async () => {
      try {
        await rev.start(true, req.signal);
      } catch (err) {
        rev.failed = err instanceof Error ? err.message : String(err);
        if (this.starting === rev) this.starting = undefined;
        this.wakeHeld();
        await rev.stop();
        this.publish();
        const serving = this.latestReady();
        throw new DevloopError(`revision ${rev.name} is not ready: ${rev.failed}`, {
          code: 'REVISION_FAILED', service: this.options.service, cause: err,
          // A failure that knows its fix (a probe's wrong path, a missing image) says it; else the usual suspect.
          hint: err instanceof DevloopError && err.hint
            ? `${err.hint}${serving ? `; traffic stays on ${serving.name} meanwhile` : ''}`
            : serving
              ? `traffic stays on ${serving.name}; the ${this.listenRule(rev, spec)}: fix it and save to deploy again`
              : `the ${this.listenRule(rev, spec)}; its log above says why it did not`,
        });
      }
      if (this.starting === rev) this.starting = undefined;
      try {
        this.applyTraffic(spec.traffic, rev);
      } finally {
        this.wakeHeld();
      }
    })();
    this.pending.catch(() => {});
  }

  /**
   * What an instance must do to start, with the port it really got: a container's PORT is the
   * container port, but each process instance gets a free port of its own.
   */
  private listenRule(rev: Revision, spec: CloudRunSpec): string {
    if (this.backend === 'process') {
      const port = rev.lastStartPort;
      return `process must start and listen on $PORT${port ? ` (${port} for the instance that failed; each process instance gets its own)` : ' (each process instance gets its own)'}`;
    }
    return `container must start and listen on $PORT (${spec.template.port.containerPort})`;
  }

  /**
   * `update-traffic` outlives deploys, as on Cloud Run: its split stays (latestRevision entries
   * follow new revisions) until the traffic block of service.yaml or the Devfile itself changes.
   */
  private withOverride(spec: CloudRunSpec): CloudRunSpec {
    if (!this.override) return spec;
    if (JSON.stringify(spec.traffic) !== this.override.base) {
      this.options.logger.info('the traffic block changed: it replaces the traffic set by update-traffic');
      this.override = undefined;
      return spec;
    }
    return { ...spec, traffic: this.override.traffic };
  }

  /** Applies a new traffic block now, to the revisions that exist (`devloop cloudrun update-traffic`). */
  updateTraffic(traffic: TrafficTarget[]): void {
    if (!this.spec) throw new DevloopError(`${this.name} has no revision yet`, { code: 'TRAFFIC_NOT_READY', service: this.options.service });
    const latest = this.latestReady();
    if (!latest) throw new DevloopError(`${this.name} has no ready revision to send traffic to`, { code: 'TRAFFIC_NOT_READY', service: this.options.service });
    const base = this.override?.base ?? JSON.stringify(this.spec.traffic);
    this.applyTraffic(traffic, latest);
    this.override = { traffic, base };
    this.spec = { ...this.spec, traffic };
  }

  get currentSpec(): CloudRunSpec | undefined {
    return this.spec;
  }

  async ready(signal: AbortSignal): Promise<void> {
    if (!this.pending) return;
    await Promise.race([this.pending, new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }))]);
  }

  private createRevision(spec: CloudRunSpec, req: RevisionRequest): Revision {
    const generation = ++this.generation;
    const name = spec.template.name ?? `${spec.name}-${String(generation).padStart(5, '0')}-${suffix()}`;
    if (this.revisions.some((r) => r.name === name)) {
      throw new DevloopError(`revision ${name} already exists with a different configuration`, {
        code: 'REVISION_EXISTS', service: this.options.service,
        hint: 'change spec.template.metadata.name (or remove it to let devloop name revisions), as Cloud Run requires a new name for a changed revision',
      });
    }
    const env = { ...req.deps.env, K_SERVICE: spec.name, K_REVISION: name, K_CONFIGURATION: spec.name };
    const metrics = this.options.metrics;
    const rev = new Revision(name, generation, spec.template, req.key, {
      ...req.deps,
      env,
      service: this.options.service,
      logger: this.options.logger,
      changed: () => this.schedulePublish(),
      onColdStart: (ms) => metrics?.coldStart(this.options.service, name, ms / 1000),
      onRejected: (status) => metrics?.rejected(this.options.service, name, status),
    });
    this.revisions.push(rev);
    this.options.logger.info(`created revision ${name}`);
    this.pruneRevisions();
    return rev;
  }

  private latestReady(): Revision | undefined {
    for (let i = this.revisions.length - 1; i >= 0; i--) if (!this.revisions[i].failed) return this.revisions[i];
    return undefined;
  }

  /** Resolves `spec.traffic` against the revisions that exist, as Cloud Run does on a replace. */
  private applyTraffic(traffic: TrafficTarget[], latest: Revision | undefined): void {
    if (!latest) return;
    const splits: Split[] = [];
    for (const [i, t] of traffic.entries()) {
      const revision = t.latestRevision ? latest : this.revisions.find((r) => r.name === t.revisionName);
      if (!revision) {
        throw new DevloopError(`spec.traffic[${i}].revisionName: revision ${t.revisionName} does not exist`, {
          code: 'TRAFFIC_UNKNOWN_REVISION', service: this.options.service,
          hint: `existing revisions: ${this.revisions.filter((r) => !r.failed).map((r) => r.name).join(', ') || 'none'}; name revisions with spec.template.metadata.name to refer to them`,
        });
      }
      if (revision.failed) {
        throw new DevloopError(`spec.traffic[${i}].revisionName: revision ${revision.name} failed to start and cannot serve`, { code: 'TRAFFIC_FAILED_REVISION', service: this.options.service });
      }
      splits.push({ revision, percent: t.percent, tag: t.tag, latest: Boolean(t.latestRevision) });
    }
    this.splits = splits;
    this.wrr = splits.map(() => 0);
    for (const r of this.revisions) {
      const routed = splits.some((s) => s.revision === r && (s.percent > 0 || s.tag));
      r.setServing(routed);
    }
    const view = splits.map((s) => `${s.revision.name}${s.latest ? ' (latest)' : ''} ${s.percent}%${s.tag ? ` tag ${s.tag}` : ''}`).join(', ');
    this.options.logger.info(`traffic: ${view}`);
    void this.syncTagProxies();
    this.publish();
  }

  private trafficView() {
    return this.splits.map((s) => ({
      revisionName: s.revision.name, percent: s.percent, latestRevision: s.latest || undefined, tag: s.tag,
      url: s.tag && this.tagPorts.has(s.tag) ? `http://${this.urlHost}:${this.tagPorts.get(s.tag)}` : undefined,
    }));
  }

  // ------------------------------------------------------------------ routing

  /**
   * Picks the revision for a request: a tag port or `TAG---` Host goes to that tag, else the
   * percent split by smooth weighted round robin (exact proportions over any window of 100).
   */
  route(req: http.IncomingMessage, portTag: string | undefined): Routed | Promise<Routed> {
    const routed = this.pick(req, portTag);
    const starting = this.starting;
    if (!('idle' in routed) || !starting || starting.failed || this.stopped) return routed;
    return this.holdForFirst(req, portTag, starting);
  }

  /**
   * A request that arrives before any revision serves, while one is starting (the first deploy,
   * or the one after a failed first): it waits for that revision as a request waits for a cold
   * start, within the revision's request timeout (timeoutSeconds), which then counts what is left.
   * 503 when the revision fails to start or the timeout passes first.
   */
  private async holdForFirst(req: http.IncomingMessage, portTag: string | undefined, revision: Revision): Promise<Routed> {
    const began = Date.now();
    const limitMs = revision.template.timeoutSeconds * 1000;
    for (;;) {
      const left = limitMs - (Date.now() - began);
      if (left > 0) {
        await new Promise<void>((resolve) => {
          const done = () => { clearTimeout(timer); this.startWaiters.delete(done); resolve(); };
          const timer = setTimeout(done, left);
          this.startWaiters.add(done);
        });
      }
      const routed = this.pick(req, portTag);
      if ('revision' in routed) return { ...routed, timeoutMs: Math.max(1, routed.timeoutMs - (Date.now() - began)) };
      if (!('idle' in routed) || this.stopped) return routed;
      // A newer deploy replaced the revision this request waited for: wait for that one instead.
      const next = this.starting;
      if (next && next !== revision && !next.failed) { revision = next; continue; }
      if (revision.failed) return { status: 503, message: `service ${this.name} has no revision serving traffic: revision ${revision.name} failed to start (${revision.failed})` };
      if (!next || next.failed) return { status: routed.status, message: routed.message };
      if (Date.now() - began >= limitMs) {
        return { status: 503, message: `service ${this.name} has no revision serving traffic yet: ${revision.name} was still starting after ${Math.round(limitMs / 1000)} s (the request timeout, timeoutSeconds)` };
      }
    }
  }

  /** Wakes the requests held for a starting revision (it became ready, failed, or the service stops). */
  private wakeHeld(): void {
    for (const wake of [...this.startWaiters]) wake();
  }

  /** The routing decision now; `idle` marks "no revision serves yet", which a starting one may end. */
  private pick(req: http.IncomingMessage, portTag: string | undefined): Routed | { status: number; message: string; idle: true } {
    if (this.stopped) return { status: 503, message: 'the service is shutting down' };
    const tag = portTag ?? /^([a-z0-9-]+?)---/.exec(String(req.headers.host ?? ''))?.[1];
    let split: Split | undefined;
    if (tag) {
      split = this.splits.find((s) => s.tag === tag);
      // Before the first revision is ready there are no tags yet: the tag may come with it.
      if (!split && this.splits.length === 0) return { status: 503, message: `service ${this.name} has no revision serving traffic yet`, idle: true };
      if (!split) return { status: 404, message: `no traffic tag "${tag}" on service ${this.name}` };
    } else {
      let total = 0;
      let best = -1;
      for (const [i, s] of this.splits.entries()) {
        if (s.percent <= 0) continue;
        this.wrr[i] += s.percent;
        total += s.percent;
        if (best < 0 || this.wrr[i] > this.wrr[best]) best = i;
      }
      if (best < 0) return { status: 503, message: `service ${this.name} has no revision serving traffic yet`, idle: true };
      this.wrr[best] -= total;
      split = this.splits[best];
    }
    return { revision: split.revision, timeoutMs: split.revision.template.timeoutSeconds * 1000 };
  }

  private async ensureProxies(spec: CloudRunSpec): Promise<void> {
    if (this.proxies.has('')) return;
    const wanted = this.options.port;
    let port = wanted;
    if (!(await isPortFree(wanted))) {
      const explicit = this.options.explicitPort;
      if (explicit) throw portTakenError(wanted, explicit.field, explicit.instead, this.options.service);
      port = await nextFreePort(wanted + 1);
      const owner = describePortOwner(wanted);
      if (this.options.portMoved) this.options.portMoved(wanted, port, owner);
      else this.options.logger.warn(`port ${wanted} is in use${owner ? ` by ${owner}` : ''}; ${spec.name} is at port ${port} instead`);
    }
    this.mainPort = port;
    this.proxies.set('', await this.openProxy(port, undefined));
    this.updateEndpoints();
  }

  /** A front end; a tag's own port routes every request to that tag. */
  private async openProxy(port: number, tag: string | undefined): Promise<Proxy> {
    return startProxy(port, {
      route: (req) => this.route(req, tag),
      tracing: this.options.tracing && {
        sink: () => this.options.tracing?.sink,
        service: this.options.service,
        sample: (forced) => this.sampler.sample(forced, this.revisions.reduce((n, r) => n + r.counts().ready, 0)),
      },
      finished: (revision, status, seconds, req) => {
        // The one place requests are counted, for `devloop status` (revision.requests) and /metrics
        // (requests_total) alike: each request once, when answered, with whatever status (the
        // simulator's own 429/500/502/503/504 and 499 for a client that left included), a retry on
        // another instance still one request. Not counted: answers given before a revision was chosen
        // (404 for an unknown tag, 503 while none serves) and probes, which go to instances directly.
        if (revision) {
          revision.answered();
          this.options.metrics?.requestFinished(this.options.service, revision.name, status, seconds);
        }
        // Cloud Run's request log, when asked for: one line per request (499: the client went away).
        if (this.options.requestLogs) this.options.logger.info(`${req.method} ${req.url} ${status} ${(seconds * 1000).toFixed(1)} ms${revision ? ` ${revision.name}` : ''}`);
      },
      rejected: (revision, status, req, message) => {
        // 429/500/503/504 are counted by the proxy as it answers them; a bad exchange (502) here.
        if (revision && status === 502) revision.countError(502);
        this.logRejection(revision, status, req, message);
      },
      refused: (limits) => {
        this.schedulePublish();
        // Said at most once a minute: a flood would otherwise flood the log too.
        if (Date.now() - this.capWarnedAt < 60_000) return;
        this.capWarnedAt = Date.now();
        this.options.logger.warn(`the front end${tag ? ` of tag ${tag}` : ''} (port ${port}) has reached its connection cap of ${limits.maxConnections} open connections: new ones are closed at once until some close (counted in devloop status -o json, frontEnd.refused)`);
      },
    }, this.options.host ?? LOCALHOST, this.options.frontEnd);
  }

  /**
   * The simulator's own error answers go into the service log with their reason, as Cloud Run's
   * request log would show them: at most 10 a second, the rest counted in one line.
   */
  private logRejection(revision: Revision | undefined, status: number, req: http.IncomingMessage, message: string): void {
    const now = Date.now();
    if (now - this.rejectWindow.start >= 1000) {
      if (this.rejectWindow.dropped > 0) this.options.logger.warn(`... and ${this.rejectWindow.dropped} more requests answered with an error in that second (see devloop status -o json for counts)`);
      this.rejectWindow = { start: now, logged: 0, dropped: 0 };
    }
    if (this.rejectWindow.logged >= 10) { this.rejectWindow.dropped++; return; }
    this.rejectWindow.logged++;
    const path = (req.url ?? '/').length > 80 ? `${(req.url ?? '/').slice(0, 77)}...` : req.url ?? '/';
    this.options.logger.warn(`${req.method} ${path} -> ${status}${revision ? ` (${revision.name})` : ''}: ${message}`);
  }

  /** One port per tag, opened when the tag appears and closed when it goes. */
  private async syncTagProxies(): Promise<void> {
    const tags = new Set(this.splits.map((s) => s.tag).filter((t): t is string => Boolean(t)));
    for (const [key, proxy] of this.proxies) {
      if (key !== '' && !tags.has(key)) { this.proxies.delete(key); await proxy.close(); }
    }
    for (const tag of tags) {
      if (this.proxies.has(tag)) continue;
      let port = this.tagPorts.get(tag);
      if (!port || !(await isPortFree(port))) port = await nextFreePort((this.mainPort ?? 8080) + 1 + this.tagPorts.size);
      this.tagPorts.set(tag, port);
      this.proxies.set(tag, await this.openProxy(port, tag));
    }
    this.updateEndpoints();
    this.publish();
  }

  private updateEndpoints(): void {
    const eps: Endpoint[] = [{ name: 'http', url: `http://${this.urlHost}:${this.mainPort}` }];
    for (const [tag, port] of this.tagPorts) if (this.proxies.has(tag)) eps.push({ name: `tag:${tag}`, url: `http://${this.urlHost}:${port}` });
    this.endpoints = eps;
    this.options.dispatch({ type: 'deploy/finished', service: this.options.service, endpoints: eps });
  }

  // ------------------------------------------------------------------ state

  private schedulePublish(): void {
    if (this.publishTimer || this.stopped) return;
    this.publishTimer = setTimeout(() => { this.publishTimer = undefined; this.publish(); }, 100);
    this.publishTimer.unref();
  }

  /** Per-revision figures into the store (TUI, status) and the Prometheus gauges. */
  publish(): void {
    const revisions: Array<RevisionSnapshot & { percent: number; tag?: string }> = this.revisions.map((r) => {
      const split = this.splits.filter((s) => s.revision === r);
      return { ...r.snapshot(), percent: split.reduce((n, s) => n + s.percent, 0), ...(split.find((s) => s.tag) ? { tag: split.find((s) => s.tag)!.tag } : {}) };
    });
    let instances = 0;
    let queueDepth = 0;
    let inFlight = 0;
    for (const r of revisions) {
      instances += r.instances.ready + r.instances.starting;
      queueDepth += r.queueDepth;
      inFlight += r.inFlight;
      const m = this.options.metrics;
      if (m) {
        m.setInstances(this.options.service, r.name, r.instances);
        m.setInFlight(this.options.service, r.name, r.inFlight);
        m.setQueueDepth(this.options.service, r.name, r.queueDepth);
      }
    }
    const details = revisions.filter((r) => r.percent > 0 || r.tag || r.instances.ready + r.instances.starting > 0 || r === revisions.at(-1)).map((r) => {
      const i = r.instances;
      const errors = Object.entries(r.errors).filter(([, n]) => n > 0).map(([code, n]) => `${code}×${n}`).join(' ');
      return [
        r.name, `${r.percent}%${r.tag ? ` tag ${r.tag}` : ''}`,
        `${i.ready} ready (${i.busy} busy)${i.starting ? ` ${i.starting} starting` : ''}${r.throttled ? ` ${r.throttled} throttled` : ''}`,
        `${r.inFlight} in flight`, `queue ${r.queueDepth}`,
        `cold starts ${r.coldStarts}${r.lastColdStartMs !== undefined ? ` (last ${r.lastColdStartMs} ms)` : ''}`,
        r.panic ? 'PANIC' : '', errors, r.failed ? `failed: ${r.failed}` : '',
      ].filter(Boolean).join('  ');
    });
    const data = { service: this.name, backend: this.backend, url: this.endpoints[0]?.url, instances, queueDepth, inFlight, traffic: this.trafficView(), revisions, details, frontEnd: this.frontEndStats() };
    // Autoscaler ticks call this twice a second: an idle service publishes nothing new (no JSON
    // event, no TUI render) until something changes.
    const text = JSON.stringify(data);
    if (text === this.published) return;
    this.published = text;
    this.options.dispatch({ type: 'service/extra', service: this.options.service, plugin: 'cloud-run', data });
  }

  /** Connections refused at the cap and closed by timeouts, over every front end of the service. */
  private frontEndStats(): { refused: number; timedOut: number } {
    let refused = 0;
    let timedOut = 0;
    for (const p of this.proxies.values()) {
      const s = p.stats();
      refused += s.refused;
      timedOut += s.timedOut.protocol + s.timedOut.headers + s.timedOut.idle;
    }
    return { refused, timedOut };
  }

  private pruneRevisions(): void {
    const keep = this.options.keepRevisions ?? 20;
    while (this.revisions.length > keep) {
      const i = this.revisions.findIndex((r) => !this.splits.some((s) => s.revision === r));
      if (i < 0 || i === this.revisions.length - 1) return;
      const [old] = this.revisions.splice(i, 1);
      this.options.metrics?.removeRevision(this.options.service, old.name);
      void old.stop();
    }
  }

  /** Memory pressure: every revision's idle instances beyond its minScale stopped now; how many. */
  retireIdle(why: string): number {
    return this.stopped ? 0 : this.revisions.reduce((n, r) => n + r.retireIdleNow(why), 0);
  }

  async stop(reason: string): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wakeHeld();
    clearTimeout(this.publishTimer);
    this.options.logger.info(`stopping ${this.name} (${reason})`);
    await Promise.all([...this.proxies.values()].map((p) => p.close()));
    this.proxies.clear();
    await Promise.all(this.revisions.map((r) => r.stop()));
    for (const r of this.revisions) this.options.metrics?.removeRevision(this.options.service, r.name);
  }
}

/** Cloud Run's revision suffix: three lowercase letters. */
function suffix(): string {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  return [...randomBytes(3)].map((b) => letters[b % 26]).join('');
}
