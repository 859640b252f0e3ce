/**
 * One service's process, kept alive: started in its own process group, watched until healthy,
 * restarted with backoff when it crashes (per the service's `restart` policy), stopped as a
 * whole group. A restart reuses the same port, command and environment.
 */
import type { Logger } from '../../core/engine/contexts.js';
import { CancelledError, DevloopError } from '../../core/errors.js';
import type { Action } from '../../core/store/actions.js';
import { RestartBackoff, type BackoffOptions } from '../shared/backoff.js';
import { describeProbe, probeOnce, waitHealthy, type HealthProbe, type ProbeDeps } from '../shared/health.js';
import { LineTail } from '../shared/lines.js';
import { formatLogLine } from '../shared/logs.js';
import { shellLine } from '../shared/shell.js';
import { describeExit, runToExit, spawnGroup, terminateGroup, toArgv, treeAlive, type ExitInfo, type GroupProcess } from '../shared/process-group.js';
import { abortable, formatMs, sleep } from '../shared/time.js';

export type RestartPolicy = 'always' | 'on-failure' | 'never';

export interface SupervisorOptions {
  service: string;
  root: string;
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  probe: HealthProbe;
  intervalMs: number;
  /** How long a fresh start may take to become healthy. */
  timeoutMs: number;
  restart: RestartPolicy;
  logger: Logger;
  dispatch(action: Action): void;
  /** SIGTERM to SIGKILL. */
  stopGraceMs: number;
  /** Period of the health probe once healthy; 0 turns it off. */
  livenessMs: number;
  backoff?: BackoffOptions;
  /** The command as a line to paste into sh (see shared/shell.ts); default cwd and argv alone. */
  shellLine?: string;
}

interface Instance {
  proc: GroupProcess;
  tail: LineTail;
  startedAt: number;
  /** Resolves once healthy; rejects if it exits (or times out) first. */
  healthy: Promise<void>;
  isHealthy: boolean;
  /** Stops this instance's health watching. */
  watch: AbortController;
  /** Set when devloop itself stopped it: its exit is not a crash. */
  intentional: boolean;
}

/** A process with no port counts as up once it has survived this long (catches instant crashes). */
const MIN_UPTIME_MS = 300;
const LIVENESS_FAILURES = 3;

export class ProcessSupervisor {
  private current?: Instance;
  private stopping?: Promise<void>;
  private readonly life = new AbortController();
  private readonly backoff: RestartBackoff;

  constructor(readonly options: SupervisorOptions) {
    this.backoff = new RestartBackoff(options.backoff);
  }

  get pid(): number | undefined { return this.current?.proc.pid; }
  get running(): boolean { return !this.life.signal.aborted && !!this.current?.proc.running; }
  get healthy(): boolean { return this.running && !!this.current?.isHealthy; }

  async start(): Promise<void> {
    this.current = await this.spawn('startup');
  }

  /** Resolves when the current process is healthy; rejects with its output if it exits first. */
  ready(signal: AbortSignal): Promise<void> {
    if (!this.current) return Promise.reject(new DevloopError(`${this.options.service} is not running`, { code: 'PROCESS_NOT_RUNNING' }));
    return abortable(this.current.healthy, signal);
  }

  /** Stops the process and starts it again (a live update's `restart`), resolving once healthy. */
  async restartInPlace(signal: AbortSignal): Promise<void> {
    const old = this.current;
    if (old) await this.terminate(old);
    if (this.life.signal.aborted) throw new CancelledError('stopped');
    signal.throwIfAborted();
    this.current = await this.spawn('startup');
    await abortable(this.current.healthy, signal);
  }

  /** Stops the whole process group: SIGTERM, then SIGKILL after the grace period. Idempotent. */
  stop(reason: string): Promise<void> {
    this.stopping ??= (async () => {
      this.life.abort(new CancelledError(reason));
      if (this.current) await this.terminate(this.current);
    })();
    return this.stopping;
  }

  /** Runs a command the way the service runs: same cwd and environment, output into its log. */
  async exec(command: string | string[], signal: AbortSignal, role = 'run'): Promise<ExitInfo & { leftovers: boolean }> {
    const { cwd, env, root, service, logger } = this.options;
    // Health probes run every few hundred ms and end on their own: not worth a registry write each.
    const record = role === 'health' ? undefined : { root, service, role };
    return runToExit(toArgv(command), { cwd, env, signal, onLine: (l, s) => logger.output(l, s), record });
  }

  private async terminate(inst: Instance): Promise<void> {
    inst.intentional = true;
    inst.watch.abort();
    await terminateGroup(inst.proc.pid, this.options.stopGraceMs);
    await inst.proc.exited;
  }

  /**
   * `startup`: a fresh start; exiting before healthy fails it (ready() rejects), no restart.
   * `restart`: after a crash; it may take as long as it needs, and crashing again loops.
   */
  private async spawn(kind: 'startup' | 'restart'): Promise<Instance> {
    const { argv, cwd, env, root, service, logger } = this.options;
    const tail = new LineTail(20);
    const proc = await spawnGroup(argv, {
      cwd,
      env,
      onLine: (line, stream) => {
        tail.push(line);
        const f = formatLogLine(line);
        for (const l of f.lines) logger.output(l, f.stream ?? stream);
      },
      record: { root, service, role: 'service' },
    });
    const inst: Instance = { proc, tail, startedAt: Date.now(), healthy: Promise.resolve(), isHealthy: false, watch: new AbortController(), intentional: false };
    if (this.life.signal.aborted) {
      // stop() ran while this process was being started.
      await this.terminate(inst);
      throw new CancelledError('stopped');
    }
    inst.healthy = this.watchHealth(inst, kind);
    inst.healthy.catch(() => {});
    void proc.exited.then((exit) => this.onExit(inst, exit, kind));
    return inst;
  }

  private async watchHealth(inst: Instance, kind: 'startup' | 'restart'): Promise<void> {
    const { probe, intervalMs, timeoutMs, service, dispatch } = this.options;
    const signal = AbortSignal.any([inst.watch.signal, this.life.signal]);
    let lastMessage = '';
    const health = waitHealthy(probe, {
      ...this.probeDeps(inst),
      signal,
      intervalMs,
      timeoutMs: kind === 'startup' ? timeoutMs : Infinity,
      onProbe: (r) => {
        if (r.ok || r.message === lastMessage || inst !== this.current) return;
        lastMessage = r.message;
        dispatch({ type: 'service/waiting', service, waiting: `waiting for ${describeProbe(probe)}: ${r.message}` });
      },
    }).catch((err: unknown) => {
      if (err instanceof DevloopError && err.code === 'HEALTH_HTTP_4XX' && kind === 'restart' && inst === this.current) {
        // After a crash nobody awaits ready(): the wrong health path is reported from here.
        dispatch({ type: 'service/health', service, health: 'unhealthy', message: err.message });
      }
      if (err instanceof DevloopError && err.code === 'HEALTH_TIMEOUT') throw withOutput(err, inst.tail);
      throw err;
    });
    const exitedFirst = inst.proc.exited.then((exit) => {
      throw withOutput(new DevloopError(`${service} ${describeExit(exit)} before it became healthy`, {
        code: 'PROCESS_EXITED',
        hint: `run the command yourself to debug it: ${this.options.shellLine ?? shellLine({ cwd: this.options.cwd, argv: this.options.argv })}`,
      }), inst.tail);
    });
    await Promise.race([health, exitedFirst]);
    inst.isHealthy = true;
    this.backoff.healthy();
    if (kind === 'restart') dispatch({ type: 'service/health', service, health: 'healthy', message: 'restarted' });
    void this.liveness(inst, signal);
  }

  /** Keeps probing once healthy, so a server that stops answering turns the service red. */
  private async liveness(inst: Instance, signal: AbortSignal): Promise<void> {
    const { livenessMs, probe, service, dispatch, logger } = this.options;
    if (!livenessMs || probe.kind === 'running') return;
    let failures = 0;
    let unhealthy = false;
    try {
      for (;;) {
        await sleep(livenessMs, signal);
        const r = await probeOnce(probe, this.probeDeps(inst), signal);
        if (signal.aborted || !inst.proc.running) return;
        if (r.ok) {
          failures = 0;
          this.backoff.healthy();
          if (unhealthy) {
            unhealthy = false;
            dispatch({ type: 'service/health', service, health: 'healthy', message: 'answering again' });
          }
        } else if (++failures >= LIVENESS_FAILURES && !unhealthy) {
          unhealthy = true;
          logger.warn(`health check failing: ${describeProbe(probe)}: ${r.message}`);
          dispatch({ type: 'service/health', service, health: 'unhealthy', message: `${describeProbe(probe)}: ${r.message}` });
        }
      }
    } catch {
      // aborted: the instance exited or was stopped
    }
  }

  private probeDeps(inst: Instance): ProbeDeps {
    return {
      isRunning: () => inst.proc.running && Date.now() - inst.startedAt >= MIN_UPTIME_MS,
      exec: async (command, signal) => {
        const exit = await this.exec(command, signal, 'health');
        return { ok: exit.code === 0, message: describeExit(exit) };
      },
    };
  }

  private async onExit(inst: Instance, exit: ExitInfo, kind: 'startup' | 'restart'): Promise<void> {
    inst.watch.abort();
    if (inst.intentional || this.life.signal.aborted) return;
    const { service, restart, logger, dispatch } = this.options;
    // The leader is gone; whatever it started (daemonised or not) must not keep the port for the next start.
    if (treeAlive(inst.proc.pid)) await terminateGroup(inst.proc.pid, 1_000);
    if (inst !== this.current || this.life.signal.aborted) return;
    // A fresh start that never got healthy is reported by ready(); restarting it would only
    // hide the failure behind a crash loop.
    if (kind === 'startup' && !inst.isHealthy) return;

    const failed = exit.code !== 0;
    if (restart === 'never' || (restart === 'on-failure' && !failed)) {
      if (failed) {
        dispatch({ type: 'service/failed', service, error: withOutput(new DevloopError(`${service} ${describeExit(exit)}`, { code: 'PROCESS_EXITED', hint: 'restart: "never" leaves it stopped; save a file or press r to start it again' }), inst.tail).toJSON() });
      } else {
        logger.info(`exited with code 0; not restarted (restart: ${restart})`);
        dispatch({ type: 'service/stopped', service });
      }
      return;
    }
    const delay = this.backoff.failure();
    logger.warn(`${describeExit(exit)}; restarting in ${formatMs(delay)}`);
    dispatch({ type: 'service/health', service, health: 'unhealthy', message: `${describeExit(exit)}; restarting in ${formatMs(delay)}` });
    try {
      await sleep(delay, this.life.signal);
      this.current = await this.spawn('restart');
    } catch (err) {
      if (this.life.signal.aborted) return;
      dispatch({ type: 'service/failed', service, error: (err instanceof DevloopError ? err : new DevloopError(String(err), { code: 'RESTART_FAILED' })).toJSON() });
      return;
    }
    dispatch({ type: 'service/restarted', service, reason: describeExit(exit) });
  }
}

function withOutput(err: DevloopError, tail: LineTail): DevloopError {
  const output = tail.format();
  const message = `${err.message}${output ? `\nlast ${tail.lines().length} lines of output:\n${output}` : ' (it printed nothing)'}`;
  return new DevloopError(message, { code: err.code, hint: err.hint, cause: err.cause });
}
