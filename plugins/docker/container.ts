/**
 * One service container and its supervision: the Deployment the Docker runtime returns. It streams
 * the container's logs, waits for it to become healthy, restarts it with backoff when it crashes
 * (as its `restart` policy says), recognises OOM kills (and, with `resources.autoRaise` in dev,
 * raises the memory limit before the restart), and removes it when stopped.
 *
 * Docker's own restart policy is not used: devloop restarts the container itself so that each
 * crash is reported with its last lines, counted, and backed off the same way on every runtime.
 */
import type Docker from 'dockerode';
import type { HealthCheckConfig } from '../../core/devfile/types.js';
import type { Deployment, Logger, ResourceUsage } from '../../core/engine/contexts.js';
import { containerUsage } from '../shared/usage.js';
import { CancelledError, DevloopError } from '../../core/errors.js';
import type { Action } from '../../core/store/actions.js';
import type { Endpoint, Phase } from '../../core/store/state.js';
import { RestartBackoff } from '../shared/backoff.js';
import { describeProbe, healthTiming } from '../shared/health.js';
import { LineTail } from '../shared/lines.js';
import { formatMs, sleep } from '../shared/time.js';
import { bounded, DAEMON_CALL_MS, statusOf } from './client.js';
import { followLogs, sinceFromStartedAt, type LogFollower } from './container-logs.js';
import { exitError, exitSummary, type ExitInfo } from './exits.js';
import { formatQuantity, nextMemoryLimit, type AutoRaisePlan } from './resources.js';
import { containerProbe, execProbe, waitContainerHealthy } from './health.js';
import type { PublishedPort } from './publish.js';
import { waitForExit } from './watch-exit.js';
import { serveInspector, type InspectorRelay } from './inspector.js';
import { nodeOptionsArchive, RESTART_MARKER, RESTART_SIGNAL } from './supervisor.js';

/** How the container's service reaches the engine, without holding the engine itself. */
export interface ServiceLink {
  service: string;
  logger: Logger;
  dispatch(action: Action): void;
  /** True while this deployment is the service's current one (not yet replaced). */
  isCurrent(deployment: Deployment): boolean;
  phase(): Phase | undefined;
}

export interface ContainerOptions {
  image: string;
  ports: PublishedPort[];
  servicePort?: number;
  health?: HealthCheckConfig;
  restart: 'always' | 'on-failure' | 'never';
  /** Bytes; raised in place by `autoRaise`. */
  memoryLimit?: number;
  /**
   * `resources.autoRaise`, when in force (the deployer decides: dev only). After an OOM kill the
   * stopped container's limit is raised in place (`docker update`) before the restart, and
   * `onRaise` is told the new limit (the deployer keeps it for the session).
   */
  autoRaise?: AutoRaisePlan & { onRaise(bytes: number): void };
  /** Seconds between SIGTERM and SIGKILL on stop. */
  stopTimeoutS: number;
  /** Seconds between SIGTERM and SIGKILL on a live-update restart: a save should not wait 10 s on a process that ignores SIGTERM. */
  restartTimeoutS: number;
  /** `devloop debug`: the host port (on 127.0.0.1) relayed to the inspector on the container's loopback. */
  inspectPort?: number;
  /**
   * The container's own published ports, when they differ from `ports` (devloop's forwarder holds
   * those: forwarder.ts). Health checks go here: the forwarder may still lead to the old container.
   */
  probePorts?: PublishedPort[];
  /** The command runs under the restart supervisor (supervisor.ts): restart() restarts the process, not the container. */
  supervised?: boolean;
}

type RunEnd = { exit: ExitInfo; plan: string } | { gone: true };

export class ContainerDeployment implements Deployment {
  readonly runtime = 'docker';
  readonly endpoints: Endpoint[];
  readonly details: Record<string, unknown>;
  /** The current run's last lines: what a crash report quotes. */
  private tail = new LineTail(20);
  /** Fires when stop() begins: supervision, log following and health waits end. */
  private readonly life = new AbortController();
  private readonly backoff = new RestartBackoff();
  private stopping?: Promise<void>;
  private logs?: LogFollower;
  private inspector?: InspectorRelay;
  private running = false;
  /** Settles when the current run of the container ends. */
  private runEnd!: Promise<RunEnd>;
  private endRun!: (end: RunEnd) => void;
  private intentional?: Promise<unknown>;
  private readyPending = 0;
  /** The last exit, and whether a restart of it is still to come. */
  private lastEnd?: { exit: ExitInfo; plan: string; restarting: boolean };
  /** Told when the supervisor says it started the process again. */
  private onProcessRestarted?: () => void;

  constructor(
    private readonly docker: Docker,
    readonly container: Docker.Container,
    readonly name: string,
    private readonly options: ContainerOptions,
    private readonly link: ServiceLink,
  ) {
    this.endpoints = options.ports.map((p) => ({ name: p.name, url: `${p.protocol === 'udp' ? 'udp' : 'http'}://127.0.0.1:${p.hostPort}` }));
    if (options.inspectPort) this.endpoints.push({ name: 'inspector', url: `http://127.0.0.1:${options.inspectPort}` });
    this.details = {
      containerId: container.id,
      containerName: name,
      image: options.image,
      ...(options.memoryLimit ? { memoryLimit: options.memoryLimit } : {}),
      ports: Object.fromEntries(options.ports.map((p) => [p.name, { container: p.containerPort, host: p.hostPort }])),
    };
    this.newRun();
  }

  get id(): string { return this.container.id; }

  private usageReader?: { id: string; read: () => ResourceUsage | undefined };
  /** The container's cgroup: CPU seconds and memory in use (page cache included, as `docker stats` before it subtracts). */
  usage(): ResourceUsage | undefined {
    if (this.usageReader?.id !== this.container.id) this.usageReader = { id: this.container.id, read: containerUsage(this.container.id) };
    return this.usageReader.read();
  }
  get hostPorts(): number[] { return this.options.ports.map((p) => p.hostPort); }
  /** Where the container itself is reached on the host. */
  get probePorts(): PublishedPort[] { return this.options.probePorts ?? this.options.ports; }
  get isRunning(): boolean { return this.running; }
  get stopped(): boolean { return this.life.signal.aborted; }

  /** Starts the container (already created) and its supervision. */
  async start(): Promise<void> {
    await this.container.start(bounded() as object);
    this.running = true;
    if (this.options.inspectPort) this.inspector = await serveInspector(this.docker, this.container, this.options.inspectPort, this.link.logger);
    await this.attachLogs(undefined);
    void this.supervise().catch((err) => {
      if (!this.stopped) this.link.logger.error(`lost track of ${this.name}: ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  ready(signal: AbortSignal): Promise<void> {
    // Exited for good before anyone asked: nothing will become healthy.
    if (!this.running && this.lastEnd && !this.lastEnd.restarting) {
      return Promise.reject(exitError(this.link.service, this.lastEnd.exit, this.lastEnd.plan));
    }
    this.readyPending++;
    // Settling either way ends the other side: no probe keeps polling a container that exited.
    const settled = new AbortController();
    const healthy = this.waitHealthy(AbortSignal.any([signal, this.life.signal, settled.signal]));
    const exited = this.runEnd.then((end) => {
      if ('gone' in end) throw new CancelledError('the container was removed');
      throw exitError(this.link.service, end.exit, end.plan);
    });
    return Promise.race([healthy, exited]).finally(() => { this.readyPending--; settled.abort(); });
  }

  stop(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      this.life.abort(new CancelledError(`stopping: ${reason}`));
      // Bounded by the grace period plus a little: an unreachable daemon must not hold `down`.
      const t = this.options.stopTimeoutS;
      try {
        await this.container.stop({ t, ...bounded((t + STOP_SLACK_S) * 1000) } as object);
      } catch (err) {
        // 304: already stopped; 404: already gone. Both are what we want. Anything else: remove anyway.
        if (statusOf(err) !== 304 && statusOf(err) !== 404) this.link.logger.warn(`could not stop ${this.name} gracefully: ${errorText(err)}`);
      }
      this.running = false;
      this.logs?.stop();
      await this.inspector?.close();
      try {
        await this.container.remove({ force: true, v: true, ...bounded(STOP_SLACK_S * 1000) } as object);
      } catch (err) {
        // 409: removal already in progress (a concurrent cleanup).
        if (statusOf(err) !== 404 && statusOf(err) !== 409) {
          throw new DevloopError(`could not remove container ${this.name}: ${errorText(err)}`, {
            code: 'CONTAINER_REMOVE_FAILED', service: this.link.service, cause: err,
            hint: 'if the Docker daemon is down, start it again; the next `devloop up` or `devloop down` removes what this session left',
          });
        }
      }
    })();
    return this.stopping;
  }

  /**
   * Restarts the service (live update's `restart`), keeping the container's filesystem, and
   * resolves once it runs again. Health is then watched in the background. Under the supervisor
   * only the process restarts; the container, its address and its ports stay. Says which.
   */
  async restart(): Promise<'process' | 'container'> {
    if (this.options.supervised && (await this.restartProcess())) return 'process';
    const restarting = this.container.restart({ t: this.options.restartTimeoutS, ...bounded((this.options.restartTimeoutS + STOP_SLACK_S) * 1000) } as object);
    this.intentional = restarting;
    try {
      await restarting;
    } finally {
      if (this.intentional === restarting) this.intentional = undefined;
    }
    this.running = true;
    this.tail = new LineTail(20);
    const info = await this.container.inspect(bounded() as object);
    await this.attachLogs(sinceFromStartedAt(info.State.StartedAt));
    this.link.dispatch({ type: 'service/health', service: this.link.service, health: 'unknown', message: 'restarted by live update' });
    void this.watchHealthAfterRestart('restarted');
    return 'container';
  }

  /** Whether `devloop debug` can restart this container's process in place (debugInPlace). */
  get debuggableInPlace(): boolean { return this.options.supervised === true && this.running && !this.stopped; }

  /** The image the container was created from. */
  get image(): string { return this.options.image; }

  /**
   * `devloop debug` without a new container: NODE_OPTIONS for the next start written where the
   * supervisor reads it (empty to turn the inspector off), the process restarted in place, the
   * inspector relay moved to `port`. False when the supervisor did not restart the process: the
   * caller then replaces the container as before.
   */
  async debugInPlace(port: number | undefined, nodeOptions: string): Promise<boolean> {
    if (!this.debuggableInPlace) return false;
    await this.container.putArchive(nodeOptionsArchive(port ? nodeOptions : ''), { path: '/' });
    await this.inspector?.close();
    this.inspector = undefined;
    const at = this.endpoints.findIndex((e) => e.name === 'inspector');
    if (at >= 0) this.endpoints.splice(at, 1);
    this.options.inspectPort = port;
    if (!(await this.restartProcess(port ? 'process restarted with the inspector' : 'process restarted without the inspector'))) return false;
    if (port) {
      this.inspector = await serveInspector(this.docker, this.container, port, this.link.logger);
      this.endpoints.push({ name: 'inspector', url: `http://127.0.0.1:${port}` });
    }
    return true;
  }

  /**
   * SIGHUP to the supervisor, then waits for its marker line. False when the marker does not come
   * within the grace period (the process ignores SIGTERM and the image has no `sleep`, or the log
   * stream is away): the caller then restarts the container, which always works.
   */
  private async restartProcess(why = 'process restarted by live update'): Promise<boolean> {
    const graceMs = (this.options.restartTimeoutS + STOP_SLACK_S) * 1000;
    const marker = new Promise<'restarted'>((resolve) => { this.onProcessRestarted = () => resolve('restarted'); });
    const settled = new AbortController();
    try {
      await this.container.kill({ signal: RESTART_SIGNAL, ...bounded(DAEMON_CALL_MS, this.life.signal) } as object);
      const outcome = await Promise.race([
        marker,
        this.runEnd.then(() => 'exited' as const),
        sleep(graceMs, AbortSignal.any([this.life.signal, settled.signal])).then(() => 'timeout' as const),
      ]);
      if (outcome === 'exited') throw new Error('the container exited while its process was restarting');
      if (outcome === 'timeout') {
        this.link.logger.warn(`the process did not restart within ${formatMs(graceMs)} of SIGHUP to devloop's supervisor; restarting the container`);
        return false;
      }
    } finally {
      settled.abort();
      this.onProcessRestarted = undefined;
    }
    this.tail = new LineTail(20);
    this.link.dispatch({ type: 'service/health', service: this.link.service, health: 'unknown', message: why });
    void this.watchHealthAfterRestart('restarted');
    return true;
  }

  private newRun(): void {
    this.runEnd = new Promise<RunEnd>((resolve) => { this.endRun = resolve; });
  }

  private async attachLogs(since: string | undefined): Promise<void> {
    this.logs?.stop();
    let follower: LogFollower;
    try {
      follower = await followLogs(this.docker, this.container, since, (line, stream) => {
        // The supervisor's own line: not the service's output.
        if (line === RESTART_MARKER && this.options.supervised) { this.onProcessRestarted?.(); return; }
        this.tail.push(line);
        this.link.logger.output(line, stream);
      });
    } catch (err) {
      if (!this.stopped) this.link.logger.warn(`cannot follow the container's logs: ${errorText(err)}`);
      return;
    }
    this.logs = follower;
    // Docker ends the stream when the container stops; a stream that ends while it still runs
    // was cut (the daemon connection dropped): follow again from where it broke off.
    void follower.done.then(() => this.reattachLogs(follower, `${Math.floor(Date.now() / 1000)}`));
  }

  private async reattachLogs(follower: LogFollower, since: string): Promise<void> {
    const current = () => !this.stopped && this.running && this.logs === follower;
    while (current()) {
      await sleep(LOG_REATTACH_MS, this.life.signal).catch(() => {});
      if (!current()) return;
      const info = await this.container.inspect(bounded(DAEMON_CALL_MS, this.life.signal) as object).catch(() => undefined);
      if (!info) continue; // the daemon is away: try again
      if (info.State.Running && current()) await this.attachLogs(since);
      return; // not running: the exit is reported, and a restart follows the new run's logs
    }
  }

  private waitHealthy(signal: AbortSignal): Promise<void> {
    const probe = containerProbe(this.options.health, this.options.servicePort, this.probePorts);
    const timing = healthTiming(this.options.health);
    let last = '';
    return waitContainerHealthy(probe, {
      signal,
      ...timing,
      exec: execProbe(this.docker, this.container),
      isRunning: () => this.running,
      onProbe: (r) => {
        if (r.ok || r.message === last || !this.link.isCurrent(this)) return;
        last = r.message;
        this.link.dispatch({ type: 'service/waiting', service: this.link.service, waiting: `waiting for ${describeProbe(probe)}: ${r.message}` });
      },
    }).then(() => this.backoff.healthy());
  }

  private async supervise(): Promise<void> {
    const signal = this.life.signal;
    while (!signal.aborted) {
      let watch: 'stopped' | 'gone';
      try {
        watch = await waitForExit(this.container, signal);
      } catch {
        return; // stopping
      }
      if (watch === 'gone') { this.gone(); return; }
      if (signal.aborted) return;
      if (this.intentional) { await this.intentional.catch(() => {}); continue; }
      let state: Docker.ContainerInspectInfo['State'];
      try {
        state = (await this.container.inspect(bounded(DAEMON_CALL_MS, signal) as object)).State;
      } catch (err) {
        if (signal.aborted) return;
        if (statusOf(err) === 404) { this.gone(); return; }
        await sleep(1_000, signal).catch(() => {});
        continue;
      }
      if (state.Running) continue; // restarted in between (by us or by hand)
      this.running = false;
      // Let the log stream drain so the crash report has the process's last words.
      if (this.logs) await Promise.race([this.logs.done, sleep(1_000)]);
      const exit: ExitInfo = {
        exitCode: state.ExitCode,
        oomKilled: state.OOMKilled,
        error: state.Error || undefined,
        memoryLimit: this.options.memoryLimit,
        lastLines: this.tail.lines(),
      };
      if (!(await this.onExit(exit))) return;
    }
  }

  /** Reports an exit; returns true when the container was restarted. */
  private async onExit(exit: ExitInfo): Promise<boolean> {
    const { service } = this.link;
    const policy = this.options.restart;
    const restart = policy === 'always' || (policy === 'on-failure' && (exit.exitCode !== 0 || exit.oomKilled));
    const delay = restart ? this.backoff.failure() : 0;
    const restartPlan = restart ? `restarting in ${formatMs(delay)} (restart: ${policy}, attempt ${this.backoff.attempts})` : `not restarted (restart: ${policy})`;
    const current = this.link.isCurrent(this);
    const endedDuringReady = this.readyPending > 0;
    const killedAt = this.options.memoryLimit;
    const raised = restart && current && exit.oomKilled ? await this.raiseMemory(exit) : undefined;
    const plan = raised ? `${raised}; ${restartPlan}` : restartPlan;
    this.lastEnd = { exit, plan, restarting: restart };
    this.endRun({ exit, plan });
    this.newRun();
    if (!current) return false;
    const error = exitError(service, exit, plan);
    if (raised && killedAt) {
      this.link.logger.warn(`${service} was killed for memory at ${formatQuantity(killedAt)}; ${raised}; ${restartPlan}; the raised limit stays for the rest of this session`);
    } else {
      this.link.logger.error(`${exitSummary(service, exit)}; ${plan}`);
      if (exit.oomKilled) this.link.logger.error(`  try: ${error.hint}`);
    }
    // While ready() is pending the pipeline reports the failure itself; afterwards, it is ours to
    // report. A crash fails the service even when a restart follows: `ci` must not pass a
    // crash-looping service, and the error (with its last lines) stays visible until it is healthy.
    if (!endedDuringReady && isSettled(this.link.phase())) this.link.dispatch({ type: 'service/failed', service, error: error.toJSON() });
    if (!restart) return false;
    try {
      await sleep(delay, this.life.signal);
      this.tail = new LineTail(20);
      await this.container.start(bounded(DAEMON_CALL_MS, this.life.signal) as object);
    } catch (err) {
      this.lastEnd.restarting = false;
      if (this.stopped) return false;
      this.link.logger.error(`could not restart ${service}: ${err instanceof Error ? err.message : String(err)}`);
      return false;
    }
    this.lastEnd.restarting = false;
    this.running = true;
    this.link.dispatch({ type: 'service/restarted', service, reason: exit.oomKilled ? 'OOM killed' : `exit code ${exit.exitCode}` });
    const info = await this.container.inspect(bounded() as object).catch(() => undefined);
    await this.attachLogs(sinceFromStartedAt(info?.State.StartedAt));
    void this.watchHealthAfterRestart('restarted after a crash');
    return true;
  }

  /**
   * `resources.autoRaise` after an OOM kill: raises the stopped container's memory limit in place
   * (`docker update` of Memory and MemorySwap, which the daemon applies to a stopped container and
   * the restart then runs under) and returns the words for the plan; undefined when autoRaise is
   * off, at its cap (the exit then carries the cap for the hint) or the update failed (said).
   */
  private async raiseMemory(exit: ExitInfo): Promise<string | undefined> {
    const plan = this.options.autoRaise;
    const from = this.options.memoryLimit;
    if (!plan || !from) return undefined;
    const to = nextMemoryLimit(from, plan);
    if (to === undefined) {
      exit.autoRaiseCap = plan.cap;
      return undefined;
    }
    try {
      await this.container.update({ Memory: to, MemorySwap: to, ...bounded(DAEMON_CALL_MS, this.life.signal) } as object);
    } catch (err) {
      if (!this.stopped) this.link.logger.warn(`could not raise ${this.link.service}'s memory limit to ${formatQuantity(to)} (resources.autoRaise): ${errorText(err)}; it restarts at ${formatQuantity(from)}`);
      return undefined;
    }
    this.options.memoryLimit = to;
    this.details.memoryLimit = to;
    plan.onRaise(to);
    return `raising its limit to ${formatQuantity(to)} (resources.autoRaise, cap ${formatQuantity(plan.cap)})`;
  }

  /** After a restart nobody awaits ready(): health is reported to the store from here. */
  private async watchHealthAfterRestart(why: string): Promise<void> {
    const { service } = this.link;
    if (isSettled(this.link.phase()) && this.link.isCurrent(this)) {
      this.link.dispatch({ type: 'service/phase', service, phase: 'starting', waiting: `${why}; waiting to become healthy` });
    }
    const settled = new AbortController();
    try {
      await Promise.race([
        this.waitHealthy(AbortSignal.any([this.life.signal, settled.signal])),
        this.runEnd.then(() => { throw new CancelledError('exited again'); }),
      ]);
      if (this.link.isCurrent(this)) this.link.dispatch({ type: 'service/health', service, health: 'healthy', message: why });
    } catch (err) {
      if (this.stopped || err instanceof CancelledError) return;
      if (this.link.isCurrent(this)) {
        this.link.dispatch({ type: 'service/health', service, health: 'unhealthy', message: err instanceof Error ? err.message : String(err) });
      }
    } finally {
      settled.abort();
    }
  }

  private gone(): void {
    this.running = false;
    this.endRun({ gone: true });
    if (!this.stopped && this.link.isCurrent(this)) {
      this.link.logger.warn(`container ${this.name} was removed outside devloop; save a file or press r to start it again`);
      this.link.dispatch({ type: 'service/health', service: this.link.service, health: 'unhealthy', message: 'container removed outside devloop' });
    }
  }
}

/** Seconds a stop or remove may take beyond the grace period before devloop gives up on the daemon. */
const STOP_SLACK_S = 3;
/** Pause before following the logs again after the stream was cut. */
const LOG_REATTACH_MS = 1_000;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A run in flight (queued, building, pushing, deploying) owns the phase; the container only moves settled ones. */
function isSettled(phase: Phase | undefined): boolean {
  return phase === 'healthy' || phase === 'unhealthy' || phase === 'failed' || phase === 'starting';
}
