/**
 * One Cloud Run revision: its instances, the queue in front of them, and the autoscaler that
 * sizes them. The proxy asks `acquire()` for a slot on an instance (at most
 * `containerConcurrency` requests in flight each) and gives it back with `release()`. Requests
 * that find no free slot wait in the queue, in arrival order, while instances start; a request
 * that waited longer than Cloud Run's bound (max(10 s, 3.5 x average startup)) gets 429 when the
 * revision is at maxScale, else 500 ("no available instance"), as Cloud Run does. Nothing is
 * dropped: every waiter is answered.
 *
 * Instances: `starting` (launched, startup probe not passed), `ready` (serving), `stopping`.
 * Scale from zero happens only on a request; scale-out follows the autoscaler (measured
 * concurrency against the 60% target, panic mode for bursts); an instance idle longer than the
 * idle timeout goes when the autoscaler wants fewer; the last one goes after the scale-to-zero
 * delay unless minScale keeps it.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import type { Logger } from '../../core/engine/contexts.js';
import { Autoscaler, type ScaleDecision } from './autoscaler.js';
import { CpuMeter, cpuDesired } from './cpu-meter.js';
import { hostCpus, THROTTLED_CPU, waitStartup, type InstanceExit, type InstanceHandle, type InstanceLauncher } from './instances.js';
import { MAX_QUEUED_REQUESTS } from './data.js';
import { sleep } from '../shared/time.js';
import { watchLiveness } from './liveness.js';
import type { RevisionTemplate, ScalingSettings } from './types.js';

export type InstanceState = 'starting' | 'ready' | 'stopping';

export class Instance {
  state: InstanceState = 'starting';
  inFlight = 0;
  handle?: InstanceHandle;
  lastActive = Date.now();
  /** Keep-alive connections to this instance, at most containerConcurrency of them. */
  agent: http.Agent;
  exit?: InstanceExit;
  /** Taken out of rotation by the proxy (it refused a connection); its exit is still reported. */
  broken = false;
  /** CPU throttled between requests (`run.googleapis.com/cpu-throttling`, the default). */
  throttled = false;
  throttleTimer?: NodeJS.Timeout;
  /** Startup CPU boost lasts until then (ms since epoch). */
  boostUntil = 0;
  /** When it was asked for and when it became ready (ms since epoch): a request that arrived before `readyAt` waited for its cold start. */
  startup?: { startedAt: number; readyAt: number };
  private h2?: http2.ClientHttp2Session;
  constructor(readonly id: string, concurrency: number) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: concurrency, keepAliveMsecs: 1000, scheduling: 'lifo' });
  }

  /** The HTTP/2 cleartext session to this instance (h2c ports), opened on first use. */
  h2Session(): http2.ClientHttp2Session {
    if (!this.handle) throw new Error('the instance has not started');
    if (!this.h2 || this.h2.closed || this.h2.destroyed) {
      const session = http2.connect(`http://${this.handle.host}:${this.handle.port}`);
      session.on('error', () => {});
      session.once('close', () => { if (this.h2 === session) this.h2 = undefined; });
      this.h2 = session;
    }
    return this.h2;
  }

  /** Drops the connections to the instance. */
  disconnect(): void {
    this.agent.destroy();
    this.h2?.destroy();
  }
}

/** The simulator's own error answers, counted per revision: 502 is a bad exchange with an instance. */
export type RejectedStatus = 429 | 500 | 502 | 503 | 504;

/** Why a request got no instance: the status the proxy answers with. */
export class NoInstance extends Error {
  constructor(readonly status: 429 | 500 | 503 | 504, message: string) { super(message); }
}

interface Waiter {
  resolve(instance: Instance): void;
  reject(err: NoInstance): void;
  enqueuedAt: number;
  timer?: NodeJS.Timeout;
}

export interface RevisionCounts {
  starting: number;
  ready: number;
  busy: number;
  idle: number;
}

export interface RevisionSnapshot {
  name: string;
  generation: number;
  instances: RevisionCounts;
  inFlight: number;
  queueDepth: number;
  coldStarts: number;
  lastColdStartMs?: number;
  coldStartMs: number[];
  errors: { 429: number; 500: number; 502: number; 503: number; 504: number };
  requests: number;
  desired: number;
  panic: boolean;
  /** vCPU used by the ready instances (stable-window average), when measurable. */
  cpuUsed: number;
  throttled: number;
  failed?: string;
}

export interface RevisionDeps {
  service: string;
  launcher: InstanceLauncher;
  settings: ScalingSettings;
  logger: Logger;
  /** The env every instance gets (K_* included), without PORT. */
  env: Record<string, string>;
  /** Extra delay added to every cold start (simulation.cloudRun.coldStartDelay). */
  coldStartDelayMs: number;
  /** Starts the per-instance metadata server; returns how an instance at `host` reaches it. */
  metadata?: (instanceId: string, revision: string) => Promise<{ address(host: string): string; close(): Promise<void> }>;
  /** Called whenever counts change (the service throttles what it publishes). */
  changed(): void;
  onColdStart?(ms: number): void;
  onRejected?(status: RejectedStatus): void;
}

const MAX_COLD_STARTS_KEPT = 50;
/** How long an instance must be idle before its CPU is throttled: steady traffic never pays for it. */
const THROTTLE_AFTER_MS = 100;
/** Startup CPU boost lasts this long after the instance is ready (Cloud Run: 10 s). */
const STARTUP_BOOST_AFTER_READY_MS = 10_000;

export class Revision {
  readonly instances = new Map<string, Instance>();
  private readonly queue: Waiter[] = [];
  readonly autoscaler: Autoscaler;
  private tickTimer?: NodeJS.Timeout;
  private stopped = false;
  private decision?: ScaleDecision;
  private failures = 0;
  private nextStartAfter = 0;
  /** Why the last instance failed to start, until one starts. */
  private lastStartFailure?: string;
  /** The port the last instance that failed to start was given (process instances each get their own). */
  lastStartPort?: number;
  readonly coldStartMs: number[] = [];
  coldStarts = 0;
  private readonly cpu: CpuMeter;
  /** Requests answered (see `answered`). */
  requests = 0;
  readonly errors = { 429: 0, 500: 0, 502: 0, 503: 0, 504: 0 };
  private readonly closers = new Map<string, () => Promise<void>>();
  private readonly launches = new Set<Promise<unknown>>();
  /** False when the revision carries no traffic and no tag: its min instances are not kept. */
  serving = true;
  failed?: string;
  private cpuCapSaid = false;
  /** Launches waiting for their image to be rebuilt, and what ends their wait when the revision stops. */
  private rebuilds = 0;
  private rebuiltAt = 0;
  private readonly halt = new AbortController();

  constructor(
    readonly name: string,
    readonly generation: number,
    readonly template: RevisionTemplate,
    /** Identity of what runs (image digest / command): equal keys need no new revision. */
    readonly key: string,
    private readonly deps: RevisionDeps,
  ) {
    this.autoscaler = new Autoscaler(deps.settings, this.bounds());
    this.cpu = new CpuMeter(deps.settings.stableWindowMs);
  }

  private bounds() {
    return { minScale: this.serving ? this.template.minScale : 0, maxScale: this.template.maxScale, containerConcurrency: this.template.containerConcurrency };
  }

  /** Begins autoscaling; resolves once minScale instances (or one, to prove the revision starts) are ready. */
  async start(verify: boolean, signal: AbortSignal): Promise<void> {
    this.tickTimer = setInterval(() => this.tick(), this.deps.settings.tickMs);
    this.tickTimer.unref();
    const wanted = Math.max(this.bounds().minScale, verify ? 1 : 0);
    if (wanted === 0) return;
    const starts = Array.from({ length: wanted }, () => this.startInstance());
    const first = await Promise.race(starts.map((p) => p.then((i) => ({ i }), (err: Error) => ({ err }))));
    signal.throwIfAborted();
    if ('err' in first) throw first.err;
    await Promise.allSettled(starts);
  }

  setServing(serving: boolean): void {
    if (this.serving === serving) return;
    this.serving = serving;
    this.autoscaler.setBounds(this.bounds());
    this.tick();
  }

  // ---------------------------------------------------------------- requests

  get inFlight(): number {
    let n = 0;
    for (const i of this.instances.values()) n += i.inFlight;
    return n;
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  /** A slot on an instance: resolves at once when one is free, else after waiting in the queue. */
  acquire(signal: AbortSignal): Promise<Instance> {
    if (this.stopped) return Promise.reject(new NoInstance(503, `revision ${this.name} is shut down`));
    const free = this.tryAcquire();
    if (free) return Promise.resolve(free);
    const now = Date.now();
    this.autoscaler.requestArrived(now);
    // The last instance failed to start and the next try is backed off: say so now, not after a wait.
    const counts = this.counts();
    if (this.lastStartFailure && counts.ready + counts.starting === 0 && now < this.nextStartAfter) {
      return Promise.reject(new NoInstance(503, `The instance failed to start: ${this.lastStartFailure}`));
    }
    if (this.queue.length >= MAX_QUEUED_REQUESTS) {
      return Promise.reject(new NoInstance(429, `Rate exceeded: ${MAX_QUEUED_REQUESTS} requests are already waiting for an instance`));
    }
    return new Promise<Instance>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, enqueuedAt: now };
      const onAbort = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        clearTimeout(waiter.timer);
        this.recordConcurrency();
        reject(new NoInstance(504, 'the client went away while queued'));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      waiter.resolve = (inst) => { signal.removeEventListener('abort', onAbort); resolve(inst); };
      waiter.reject = (err) => { signal.removeEventListener('abort', onAbort); reject(err); };
      this.queue.push(waiter);
      this.armQueueTimer(waiter);
      // The activator's poke: a queued request is seen by the autoscaler now, not at the next tick.
      this.scale(now);
    });
  }

  /** The fast path: a slot on a ready instance with room, taken now, or undefined (then `acquire` queues). */
  tryAcquire(): Instance | undefined {
    if (this.stopped) return undefined;
    const free = this.freeInstance();
    if (!free) return undefined;
    this.autoscaler.requestArrived(Date.now());
    this.take(free);
    return free;
  }

  release(instance: Instance): void {
    instance.inFlight = Math.max(0, instance.inFlight - 1);
    instance.lastActive = Date.now();
    this.throttleWhenIdle(instance);
    if (instance.state === 'ready') this.drain();
    this.recordConcurrency();
    this.deps.changed();
  }

  /** The proxy saw the instance fail mid-request (connection reset): it may be gone. */
  suspect(instance: Instance): void {
    if (instance.state === 'ready' && instance.exit) this.forget(instance);
  }

  /** The instance refused a connection: it no longer serves, whatever its process says. */
  broken(instance: Instance, why: string): void {
    if (!this.instances.has(instance.id) || instance.state === 'stopping') return;
    this.deps.logger.error(`${this.name}: instance ${instance.id.slice(0, 6)} ${why}; replacing it`);
    instance.broken = true;
    this.forget(instance);
    this.tick();
  }

  /** The CPU an instance runs with when not throttled: its limit, doubled while a startup boost lasts. */
  private cpuOf(instance: Instance): number {
    return instance.boostUntil > Date.now() ? this.template.cpu * 2 : this.template.cpu;
  }

  /**
   * With CPU throttling on (Cloud Run's default), an instance gets CPU only while it handles
   * requests: shortly after its last request ends, its container drops to 0.01 CPU, so
   * background work after the response crawls locally as it does on Cloud Run.
   */
  private throttleWhenIdle(instance: Instance): void {
    if (!this.template.cpuThrottling || !instance.handle?.setCpu || instance.inFlight > 0 || instance.throttled) return;
    clearTimeout(instance.throttleTimer);
    instance.throttleTimer = setTimeout(() => {
      if (instance.inFlight > 0 || instance.state !== 'ready' || instance.throttled) return;
      instance.throttled = true;
      void instance.handle?.setCpu?.(THROTTLED_CPU);
      this.deps.changed();
    }, THROTTLE_AFTER_MS);
    instance.throttleTimer.unref();
  }

  private freeInstance(): Instance | undefined {
    let best: Instance | undefined;
    for (const i of this.instances.values()) {
      if (i.state !== 'ready' || i.inFlight >= this.template.containerConcurrency) continue;
      if (!best || i.inFlight < best.inFlight) best = i;
    }
    return best;
  }

  private take(instance: Instance): void {
    clearTimeout(instance.throttleTimer);
    if (instance.throttled) {
      instance.throttled = false;
      void instance.handle?.setCpu?.(this.cpuOf(instance));
    }
    instance.inFlight++;
    instance.lastActive = Date.now();
    this.recordConcurrency();
    this.deps.changed();
  }

  private drain(): void {
    while (this.queue.length) {
      const free = this.freeInstance();
      if (!free) return;
      const waiter = this.queue.shift()!;
      clearTimeout(waiter.timer);
      this.take(free);
      waiter.resolve(free);
    }
  }

  /**
   * The queue bound holds whatever is starting: an instance slower to start than
   * max(10 s, 3.5 x the average startup) leaves its waiters with 500 (429 at maxScale), as on Cloud Run.
   */
  private armQueueTimer(waiter: Waiter, delay = this.autoscaler.queueWaitLimitMs()): void {
    waiter.timer = setTimeout(() => {
      const i = this.queue.indexOf(waiter);
      if (i < 0) return;
      // An image being rebuilt holds the bound, which counts again from the rebuild's end (504 still applies).
      const left = this.rebuiltAt + this.autoscaler.queueWaitLimitMs() - Date.now();
      if (this.rebuilds > 0 || left > 0) { this.armQueueTimer(waiter, this.rebuilds > 0 ? 1000 : left); return; }
      const counts = this.counts();
      this.queue.splice(i, 1);
      this.recordConcurrency();
      const waited = ((Date.now() - waiter.enqueuedAt) / 1000).toFixed(1);
      if (counts.ready + counts.starting >= this.template.maxScale) {
        this.reject(waiter, new NoInstance(429, `Rate exceeded: all ${this.template.maxScale} instances (maxScale) were busy for ${waited} s; the request was not served`));
      } else {
        const bound = (this.autoscaler.queueWaitLimitMs() / 1000).toFixed(1);
        this.reject(waiter, new NoInstance(500, `no instance became available within the ${bound} s queue wait (${counts.ready} ready, ${counts.starting} starting, maxScale ${this.template.maxScale})`));
      }
    }, delay);
    waiter.timer.unref();
  }

  /** The proxy answers the waiter with the status (and counts it). */
  private reject(waiter: Waiter, err: NoInstance): void {
    waiter.reject(err);
  }

  /**
   * For the front end: one request to this revision was answered, whatever the status. Counted
   * here as in the Prometheus counter (both are fed by the front end's `finished`), so `devloop
   * status` and /metrics agree (see `CloudRunService.openProxy` for which requests count).
   */
  answered(): void {
    this.requests++;
    this.deps.changed();
  }

  /** For the proxy: a request answered with an error status by the simulator itself. */
  countError(status: RejectedStatus): void {
    this.errors[status]++;
    this.deps.onRejected?.(status);
    this.deps.changed();
  }

  private recordConcurrency(): void {
    this.autoscaler.record(Date.now(), this.inFlight + this.queue.length);
  }

  // ---------------------------------------------------------------- scaling

  counts(): RevisionCounts {
    const c: RevisionCounts = { starting: 0, ready: 0, busy: 0, idle: 0 };
    for (const i of this.instances.values()) {
      if (i.state === 'starting') c.starting++;
      else if (i.state === 'ready') {
        c.ready++;
        if (i.inFlight > 0) c.busy++; else c.idle++;
      }
    }
    return c;
  }

  /** One autoscaler decision: start what is missing, retire idle instances beyond what is wanted. */
  /** The periodic decision: CPU is sampled here (it reads a file per instance), then `scale`. */
  tick(): void {
    if (this.stopped) return;
    const now = Date.now();
    this.cpu.sample(now, [...this.instances.values()].filter((i) => i.state === 'ready'));
    this.scale(now);
  }

  /**
   * One autoscaler decision, from the concurrency recorded so far and the last CPU sample: start
   * what is missing, retire idle instances beyond what is wanted. A queued request calls this
   * directly (the activator's poke), so it does no I/O.
   */
  scale(now = Date.now()): void {
    if (this.stopped) return;
    this.recordConcurrency();
    const counts = this.counts();
    const decision = this.autoscaler.decide(now, { ready: counts.ready, starting: counts.starting });
    if (this.decision && this.decision.panic !== decision.panic) {
      this.deps.logger.info(`${this.name}: ${decision.panic ? '' : `panic mode over (no burst for ${Math.round(this.deps.settings.stableWindowMs / 1000)} s); `}${decision.reason}`);
    }
    this.decision = decision;
    // A revision nothing routes to (no traffic, no tag) lets its instances go as soon as they are idle.
    if (!this.serving && this.queue.length === 0) {
      for (const inst of this.instances.values()) if (inst.state === 'ready' && inst.inFlight === 0) void this.stopInstance(inst, 'no longer receives traffic');
      this.deps.changed();
      return;
    }
    let desired = decision.desired;
    // The second driver: CPU utilisation against the same target; the larger wish wins.
    const cpuWanted = cpuDesired(this.cpu.used, this.template.cpu, this.deps.settings.targetUtilization);
    if (cpuWanted > desired) desired = Math.min(cpuWanted, this.template.maxScale);
    // Scale from zero happens on a request: a queued request always gets an instance coming.
    if (this.queue.length > 0) desired = Math.max(desired, 1);
    const active = counts.ready + counts.starting;
    if (active < desired && now >= this.nextStartAfter) {
      for (let k = active; k < desired; k++) void this.startInstance().catch(() => {});
    } else if (counts.ready > desired && this.queue.length === 0) {
      this.retireIdle(counts.ready - desired, now);
    }
    this.deps.changed();
  }

  /**
   * Stops idle instances beyond what the autoscaler wants: each once it has been idle for the
   * idle timeout, and the revision's last one once it has been idle for the scale-to-zero delay.
   */
  private retireIdle(excess: number, now: number): void {
    const idle = [...this.instances.values()]
      .filter((i) => i.state === 'ready' && i.inFlight === 0)
      .sort((a, b) => a.lastActive - b.lastActive);
    let remaining = this.counts().ready;
    for (const inst of idle) {
      if (excess <= 0) break;
      const lastOne = remaining <= 1;
      const needed = lastOne ? this.deps.settings.scaleToZeroAfterMs : this.deps.settings.idleTimeoutMs;
      const idleFor = now - inst.lastActive;
      if (idleFor < needed) continue;
      excess--;
      remaining--;
      void this.stopInstance(inst, lastOne ? `scale to zero after ${Math.round(idleFor / 1000)} s idle` : `idle for ${Math.round(idleFor / 1000)} s`);
    }
  }

  /**
   * Memory pressure: the idle instances beyond minScale go now, least recently used first,
   * without waiting for the idle timeout. Returns how many; requests still start new ones.
   */
  retireIdleNow(why: string): number {
    if (this.stopped) return 0;
    const idle = [...this.instances.values()].filter((i) => i.state === 'ready' && i.inFlight === 0).sort((a, b) => a.lastActive - b.lastActive);
    let ready = this.counts().ready;
    let retired = 0;
    for (const inst of idle) {
      if (ready <= this.bounds().minScale) break;
      ready--;
      retired++;
      void this.stopInstance(inst, why);
    }
    return retired;
  }

  /** Starts one instance; resolves when it is ready, rejects when it never will. */
  private async startInstance(): Promise<Instance> {
    const id = randomBytes(16).toString('hex');
    const inst = new Instance(id, this.template.containerConcurrency);
    this.instances.set(id, inst);
    this.deps.changed();
    const started = Date.now();
    const life = new AbortController();
    try {
      let metadataAddress: ((host: string) => string) | undefined;
      if (this.deps.metadata) {
        const server = await this.deps.metadata(id, this.name);
        this.closers.set(id, () => server.close());
        metadataAddress = (host) => server.address(host);
      }
      const launching = this.deps.launcher.launch({
        service: this.deps.service,
        revision: this.name,
        instanceId: id,
        containerPort: this.template.port.containerPort,
        env: this.deps.env,
        cpu: this.launchCpu(),
        memoryBytes: this.template.memoryBytes,
        metadata: metadataAddress,
        onLine: (line, stream) => this.deps.logger.output(`[${id.slice(0, 6)}] ${line}`, stream),
        signal: this.halt.signal,
        rebuilding: (on) => { this.rebuilds += on ? 1 : -1; if (!on) this.rebuiltAt = Date.now(); },
      });
      // stop() waits for launches in flight, so a container created during shutdown is removed too.
      this.launches.add(launching);
      const handle = await launching.finally(() => this.launches.delete(launching));
      inst.handle = handle;
      void handle.exited.then((exit) => this.instanceExited(inst, exit));
      if (this.stopped || inst.state === 'stopping') throw new Error('the revision stopped');
      const probe = { ...this.template.startupProbe, port: handle.port };
      await waitStartup(handle.host, probe, handle.exited, life.signal);
      if (this.deps.coldStartDelayMs > 0) await sleep(this.deps.coldStartDelayMs);
      if (inst.state !== 'starting') throw new Error(inst.exit ? 'the instance exited during startup' : 'the instance was stopped during startup');
      const ms = Date.now() - started;
      inst.state = 'ready';
      inst.startup = { startedAt: started, readyAt: started + ms };
      inst.lastActive = Date.now();
      this.failures = 0;
      this.lastStartFailure = undefined;
      this.coldStarts++;
      this.coldStartMs.push(ms);
      if (this.coldStartMs.length > MAX_COLD_STARTS_KEPT) this.coldStartMs.shift();
      this.autoscaler.recordStartup(ms);
      this.deps.onColdStart?.(ms);
      this.deps.logger.info(`${this.name}: instance ${id.slice(0, 6)} ready in ${ms} ms (${handle.describe})`);
      this.watchLiveness(inst);
      if (this.template.startupCpuBoost && handle.setCpu) {
        // Cloud Run keeps the boost for 10 s after the instance started serving.
        inst.boostUntil = Date.now() + STARTUP_BOOST_AFTER_READY_MS;
        setTimeout(() => { if (!inst.throttled && inst.state === 'ready') void handle.setCpu?.(this.template.cpu); }, STARTUP_BOOST_AFTER_READY_MS).unref();
      }
      this.throttleWhenIdle(inst);
      this.drain();
      this.deps.changed();
      return inst;
    } catch (err) {
      life.abort();
      const why = err instanceof Error ? err.message : String(err);
      if (!this.stopped) {
        this.failures++;
        // Back off repeated failures so a broken image does not loop hot: 1 s, 2 s, 4 s ... 30 s.
        this.nextStartAfter = Date.now() + Math.min(30_000, 1000 * 2 ** (this.failures - 1));
        this.lastStartFailure = why;
        this.lastStartPort = inst.handle?.port;
        this.deps.logger.error(`${this.name}: instance ${id.slice(0, 6)} failed to start: ${why}`);
      }
      await this.stopInstance(inst, 'failed to start');
      // Waiters with nothing left to wait for are answered now (503), not left to time out.
      if (this.counts().ready + this.counts().starting === 0) this.failQueue(`The instance failed to start: ${why}`);
      throw err;
    }
  }

  /** The CPU an instance starts with (2x while boosted); above the machine's cores, said once per revision. */
  private launchCpu(): number {
    const cpu = this.template.startupCpuBoost ? this.template.cpu * 2 : this.template.cpu;
    if (cpu > hostCpus() && this.deps.launcher.kind === 'docker' && !this.cpuCapSaid) {
      this.cpuCapSaid = true;
      this.deps.logger.warn(`${this.name}: cpu ${cpu}${this.template.startupCpuBoost ? ' (startup boost)' : ''} is more than this machine's ${hostCpus()} cores; instances get ${hostCpus()}`);
    }
    return cpu;
  }

  /** Liveness probes, when the template has one: a failing instance is replaced (its in-flight requests get 503). */
  private watchLiveness(inst: Instance): void {
    const probe = this.template.livenessProbe;
    if (!probe || !inst.handle) return;
    watchLiveness({
      handle: inst.handle,
      probe: { ...probe, port: probe.port === this.template.port.containerPort ? inst.handle.port : probe.port },
      serving: () => inst.state === 'ready' && this.instances.has(inst.id),
      failed: (failures, why) => {
        this.deps.logger.error(`${this.name}: instance ${inst.id.slice(0, 6)} failed its liveness probe ${failures} times (${why}); replacing it`);
        this.forget(inst);
        this.tick();
      },
    });
  }

  private failQueue(message: string): void {
    for (const w of this.queue.splice(0)) {
      clearTimeout(w.timer);
      this.reject(w, new NoInstance(503, message));
    }
    this.recordConcurrency();
  }

  private instanceExited(inst: Instance, exit: InstanceExit): void {
    inst.exit = exit;
    const how = exit.oomKilled ? `was killed: out of memory (limit ${this.template.memoryText})` : exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
    if (inst.broken) this.deps.logger.error(`${this.name}: instance ${inst.id.slice(0, 6)} ${how}`);
    if (inst.state === 'stopping') return;
    this.deps.logger.error(`${this.name}: instance ${inst.id.slice(0, 6)} ${how}${inst.inFlight ? `; ${inst.inFlight} request(s) in flight get 503` : ''}; the next request starts a new one`);
    this.forget(inst);
    // Replace it when there is demand or a floor to keep; otherwise the next request pays a cold start.
    this.tick();
  }

  private forget(inst: Instance): void {
    if (!this.instances.has(inst.id)) return;
    inst.state = 'stopping';
    this.instances.delete(inst.id);
    inst.disconnect();
    void this.closers.get(inst.id)?.();
    this.closers.delete(inst.id);
    void inst.handle?.stop(0);
    this.deps.changed();
  }

  /** Idempotent: a second call (the launch finished after the revision stopped) stops what the first could not. */
  private async stopInstance(inst: Instance, why: string): Promise<void> {
    const wasReady = inst.state === 'ready';
    inst.state = 'stopping';
    this.deps.changed();
    if (wasReady) this.deps.logger.info(`${this.name}: stopping instance ${inst.id.slice(0, 6)} (${why})`);
    clearTimeout(inst.throttleTimer);
    // Cloud Run gives a stopping instance CPU for its SIGTERM handler.
    if (inst.throttled) { inst.throttled = false; await inst.handle?.setCpu?.(this.template.cpu); }
    try {
      await inst.handle?.stop(this.deps.settings.shutdownGraceSeconds);
    } finally {
      this.instances.delete(inst.id);
      inst.disconnect();
      await this.closers.get(inst.id)?.();
      this.closers.delete(inst.id);
      this.deps.changed();
    }
  }

  /** Stops every instance (SIGTERM, grace, SIGKILL) and answers every queued request. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.halt.abort();
    clearInterval(this.tickTimer);
    this.failQueue(`revision ${this.name} was shut down`);
    await Promise.allSettled([...this.launches]);
    await Promise.all([...this.instances.values()].map((i) => this.stopInstance(i, 'revision stopped')));
  }

  snapshot(): RevisionSnapshot {
    return {
      name: this.name,
      generation: this.generation,
      instances: this.counts(),
      inFlight: this.inFlight,
      queueDepth: this.queue.length,
      coldStarts: this.coldStarts,
      lastColdStartMs: this.coldStartMs.at(-1),
      coldStartMs: [...this.coldStartMs],
      errors: { ...this.errors },
      requests: this.requests,
      desired: this.decision?.desired ?? 0,
      panic: this.decision?.panic ?? false,
      cpuUsed: Math.round(this.cpu.used * 1000) / 1000,
      throttled: [...this.instances.values()].filter((i) => i.throttled).length,
      ...(this.failed ? { failed: this.failed } : {}),
    };
  }
}
