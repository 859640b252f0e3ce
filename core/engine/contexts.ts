/**
 * The context objects hooks receive. Each hook takes exactly one so it can grow without
 * breaking taps. Contexts carry the service, its resolved config, an AbortSignal that fires when
 * the run is superseded or the engine stops, and a logger that writes into the service's log.
 */
import type { DevfileConfig, ServiceConfig } from '../devfile/types.js';
import type { Action } from '../store/actions.js';
import type { EngineState, Endpoint, HealthState, UpdateStep } from '../store/state.js';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** Output of the service itself or of a build step (stdout/stderr lines). */
  output(line: string, stream?: 'stdout' | 'stderr'): void;
}

export interface Trigger {
  /** `initial`, `file-change`, `manual`, `config-change`, `dependency`, `crash`, ... */
  reason: string;
  /** Files that caused it, relative to the project root. */
  files: string[];
}

export interface BaseContext {
  /** Absolute project root (the folder holding Devfile.ts). */
  root: string;
  /** The whole Devfile as loaded. */
  devfile: DevfileConfig;
  /** The environment selected with `--env`. */
  mode: string;
  /**
   * The CLI command that started the engine (`up`, `ci`, `down`, `cloudrun replace <file>`);
   * undefined for an engine made in code. Dev-only behaviour (`resources.autoRaise`) checks it is not `ci`.
   */
  command?: string;
  logger: Logger;
  dispatch(action: Action): void;
  getState(): EngineState;
}

export interface ServiceContext extends BaseContext {
  service: string;
  config: ServiceConfig;
  /** Merged env for the selected environment. */
  env: Record<string, string>;
  /** Fires when this run is superseded by a newer change or the engine shuts down. */
  signal: AbortSignal;
  trigger: Trigger;
  /** Free-form per-run data plugins share along the pipeline (e.g. a build cache key). */
  data: Record<string, unknown>;
}

/** Passed to `watch` and `shouldRebuild`: a batch of changed files for one service. */
export interface ChangeContext extends ServiceContext {
  /** Absolute paths. */
  changedFiles: string[];
  /**
   * A live update (a `shouldRebuild` tap that returns false) pushes its timed steps here (`sync`,
   * `run`, `restart`); the engine prints them in the update's summary line, as a pipeline run's.
   */
  steps: UpdateStep[];
}

export interface BuildResult {
  /** Image reference (`devloop-<hash16>`) for container runtimes. */
  image?: string;
  /** Output files (bundles, binaries) for the process runtime. */
  artifacts?: string[];
  /** True when nothing was built because the inputs were unchanged. */
  cached?: boolean;
  /** Content hash of the build inputs. */
  digest?: string;
  [key: string]: unknown;
}

export interface BuildContext extends ServiceContext {
  /** The builder kind: `docker`, `esbuild`, `command`, or a plugin's own. */
  kind: string;
  /** Set by the build hook; afterBuild and later phases read it. */
  result?: BuildResult;
}

export interface PushContext extends ServiceContext {
  build: BuildResult;
  /** The registry pushed to, when a push happened. */
  registry?: string;
  /** Reference the runtime should use after the push (e.g. `127.0.0.1:5001/x@sha256:...`). */
  pushedRef?: string;
}

/** What a deployer returns: where the service is and how to stop it. */
export interface Deployment {
  /** The runtime that deployed it. */
  runtime: string;
  endpoints: Endpoint[];
  /** Stops and removes everything this deployment started. Must be idempotent. */
  stop(reason: string): Promise<void>;
  /** Resolves when the deployment is ready to serve; rejects when it never will. Optional. */
  ready?(signal: AbortSignal): Promise<void>;
  /** Anything runtime-specific (container id, pid, ...), shown by `status --output json`. */
  details?: Record<string, unknown>;
  /**
   * What it uses now, when the runtime can tell (cgroups for containers, /proc for processes);
   * read on each metrics scrape, so it must be cheap. Optional.
   */
  usage?(): ResourceUsage | undefined;
}

/** A deployment's resource use: CPU time so far and memory now. Either may be unknown. */
export interface ResourceUsage {
  cpuSeconds?: number;
  memoryBytes?: number;
}

export interface DeployContext extends ServiceContext {
  runtime: string;
  build: BuildResult;
  /** Image to run, after push. */
  image?: string;
  /** The running deployment being replaced, if any. The deployer decides whether to stop it first. */
  previous?: Deployment;
  /** Set by the deploy hook. */
  deployment?: Deployment;
}

export interface ObserveContext extends ServiceContext {
  deployment: Deployment;
  /** Report health from a health-check plugin. */
  setHealth(health: HealthState, message?: string): void;
}

export interface FailedContext extends ServiceContext {
  phase: string;
  error: unknown;
}

export interface ShutdownContext extends BaseContext {
  reason: string;
  signal: AbortSignal;
}

export interface StartContext extends BaseContext {
  services: string[];
}
