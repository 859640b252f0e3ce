/**
 * THE table: every number and name the Cloud Run simulator reproduces, each with where it comes
 * from. Change a value here and parsing, validation, scaling and the tests follow.
 *
 * Sources, cited below by their tag:
 * - [ref]     /work/shared/reference/cloud-run.md (gathered from Google's Cloud Run documentation
 *             and the Knative Serving source).
 * - [docs-cpu] https://cloud.google.com/run/docs/configuring/services/cpu (CPU below 1: memory
 *             steps, concurrency 1, request-based CPU, gen1 only; values in steps of 0.001).
 * - [docs-hc] https://cloud.google.com/run/docs/configuring/healthchecks (probe kinds and limits).
 * - [kpa]     knative/serving `pkg/autoscaler/` (the KPA Cloud Run descends from), as summarised in [ref].
 *
 * `*verify*` marks a value chosen by this simulator where no source gave one. Such a value is a
 * best guess: correct it here when Cloud Run disagrees.
 */
import { bytesQuantity, formatQuantity, parseQuantity, toBytes } from '../autopilot/quantity.js';
import type { Probe, ScalingSettings } from './types.js';

const bytes = (q: string): number => toBytes(parseQuantity(q));

/** `536870912` -> `512Mi`, for messages. */
export const formatBytes = (n: number): string => formatQuantity(bytesQuantity(n));

// ---------------------------------------------------------------------------------------------
// The Knative Service file

/** The only `apiVersion` / `kind` `gcloud run services replace` takes for a service. [ref] */
export const API_VERSION = 'serving.knative.dev/v1';
export const KIND = 'Service';

/**
 * Service names: a DNS label of at most 49 characters (Cloud Run's naming rule; the URL adds a hash
 * and the region). Not in [ref]; from Cloud Run's service naming docs.
 */
export const SERVICE_NAME_MAX = 49;
/** Revision names and traffic tags are DNS labels (RFC 1123): at most 63 characters. */
export const DNS_LABEL_MAX = 63;
/** Lowercase letters, digits and dashes; a letter first, no dash last. */
export const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

// ---------------------------------------------------------------------------------------------
// Request handling

/** `spec.template.spec.containerConcurrency`: 80, or 1 when CPU is below 1; 1..1000. [ref] */
export const CONCURRENCY = { default: 80, defaultBelowOneCpu: 1, min: 1, max: 1000 };

/** `spec.template.spec.timeoutSeconds`: 300; 1..3600. Exceeded: 504, the instance keeps running. [ref] */
export const TIMEOUT_SECONDS = { default: 300, min: 1, max: 3600 };

/** Instances: `autoscaling.knative.dev/minScale` 0 and `maxScale` 100 by default. [ref] */
export const SCALE = { minDefault: 0, maxDefault: 100 };

/**
 * The container port: one, 8080, named `http1` (HTTP/1) or `h2c` (end-to-end HTTP/2). [ref]
 * An unnamed port is `http1`.
 */
export const PORT = { default: 8080, defaultName: 'http1', names: ['http1', 'h2c'], min: 1, max: 65535 } as const;

// ---------------------------------------------------------------------------------------------
// CPU and memory

/** `resources.limits.cpu`: 1 by default. [ref] */
export const DEFAULT_CPU = '1';
/** `resources.limits.memory`: 512Mi by default. [ref] */
export const DEFAULT_MEMORY = '512Mi';

/**
 * Allowed CPU: any value from 0.08 to 1 in steps of 0.001 ([ref], steps [docs-cpu]), or one of the
 * whole numbers 2, 4, 6, 8 ([ref]; [docs-cpu] says only "integers up to 8", the table lists these).
 */
export const CPU = { fractionMin: 0.08, fractionMax: 1, stepMilli: 1, whole: [2, 4, 6, 8] };

/** Memory: 128Mi (gen1) or 512Mi (gen2) at least, 32Gi at most. [ref] */
export const MEMORY = { minGen1: bytes('128Mi'), minGen2: bytes('512Mi'), max: bytes('32Gi') };

export interface CpuMemoryRow {
  /** vCPU. */
  cpu: number;
  /** Most memory this CPU allows, in bytes. */
  max: number;
  /** Least memory this CPU needs, in bytes (4, 6 and 8 CPU only). */
  min?: number;
}

/**
 * Memory per CPU. [ref]: <=0.08 CPU: 512Mi, 0.5: 1Gi, 1: 4Gi, 2: 8Gi, 4: 16Gi (min 2Gi), 6: 24Gi
 * (min 4Gi), 8: 32Gi (min 4Gi). A CPU value between two rows gets the row at or BELOW it
 * (`rowForCpu`): [docs-cpu] "a minimum of 0.5 vCPU is needed to set a memory limit greater than
 * 512MiB; a minimum of 1 vCPU is needed to set a memory limit greater than 1GiB", so 0.3 CPU
 * allows 512Mi and 0.75 CPU allows 1Gi.
 */
export const MEMORY_PER_CPU: readonly CpuMemoryRow[] = [
  { cpu: 0.08, max: bytes('512Mi') },
  { cpu: 0.5, max: bytes('1Gi') },
  { cpu: 1, max: bytes('4Gi') },
  { cpu: 2, max: bytes('8Gi') },
  { cpu: 4, max: bytes('16Gi'), min: bytes('2Gi') },
  { cpu: 6, max: bytes('24Gi'), min: bytes('4Gi') },
  { cpu: 8, max: bytes('32Gi'), min: bytes('4Gi') },
];

/** The memory limits for `cpu`: the row of the largest listed CPU at or below it. */
export function rowForCpu(cpu: number): CpuMemoryRow {
  let row = MEMORY_PER_CPU[0];
  for (const r of MEMORY_PER_CPU) if (r.cpu <= cpu) row = r;
  return row;
}

/** The least listed CPU that allows `memoryBytes`, or undefined above the largest. */
export function cpuForMemory(memoryBytes: number): number | undefined {
  return MEMORY_PER_CPU.find((r) => r.max >= memoryBytes)?.cpu;
}

/**
 * Below 1 CPU Cloud Run requires concurrency 1 and request-based CPU (throttling on) [ref], and
 * the gen1 execution environment [docs-cpu].
 */
export const BELOW_ONE_CPU = { concurrency: 1, cpuThrottling: true, executionEnvironment: 'gen1' } as const;

// ---------------------------------------------------------------------------------------------
// Probes

/** Fields a probe leaves out get these (Kubernetes' probe defaults). [ref] */
export const PROBE_DEFAULTS = { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, failureThreshold: 3 };

/** The startup probe a revision gets when it sets none: TCP on the container port. [ref], [docs-hc] */
export const DEFAULT_STARTUP_PROBE: Omit<Probe, 'port'> = {
  kind: 'tcp', initialDelaySeconds: 0, timeoutSeconds: 240, periodSeconds: 240, failureThreshold: 1,
};

/**
 * Probe field limits. Startup probes give up after at most 240 s [docs-hc], so each of their
 * times is at most 240; liveness probes up to 3600 *verify*. `timeoutSeconds` may not exceed
 * `periodSeconds` [docs-hc]. Liveness probes are HTTP or gRPC only (TCP is for startup) [docs-hc].
 */
export const PROBE_LIMITS = {
  startup: { maxSeconds: 240, kinds: ['tcp', 'http', 'grpc'] },
  liveness: { maxSeconds: 3600, kinds: ['http', 'grpc'] },
} as const;

/** HTTP probes count 200..399 as success. [ref] */
export const PROBE_HTTP_SUCCESS = { min: 200, max: 399 };

// ---------------------------------------------------------------------------------------------
// Environment

/** Set by Cloud Run itself; a user-set one is an error. [ref] */
export const RESERVED_ENV = ['PORT', 'K_SERVICE', 'K_REVISION', 'K_CONFIGURATION'];
/** At most this many env vars per container. [ref] */
export const MAX_ENV_VARS = 1000;

// ---------------------------------------------------------------------------------------------
// Annotations and labels the simulator reads

export const ANNOTATIONS = {
  /** Revision-level bounds, on `spec.template.metadata.annotations`. [ref] */
  minScale: 'autoscaling.knative.dev/minScale',
  maxScale: 'autoscaling.knative.dev/maxScale',
  /** Service-level bounds, on the Service's `metadata.annotations`; the revision's win. [ref] */
  serviceMinScale: 'run.googleapis.com/minScale',
  serviceMaxScale: 'run.googleapis.com/maxScale',
  /** "true" (default): CPU only during requests; "false": always allocated. [ref] */
  cpuThrottling: 'run.googleapis.com/cpu-throttling',
  /** "true": extra CPU while starting. Default off. [ref] */
  startupCpuBoost: 'run.googleapis.com/startup-cpu-boost',
  /** "gen1" or "gen2"; unset by default. [ref] */
  executionEnvironment: 'run.googleapis.com/execution-environment',
} as const;

/** `metadata.labels` key gcloud sets to the region. [ref] (`--format export` output) */
export const LOCATION_LABEL = 'cloud.googleapis.com/location';

// ---------------------------------------------------------------------------------------------
// Runtime

/** Seconds between SIGTERM and SIGKILL when an instance stops. [ref] */
export const SHUTDOWN_GRACE_SECONDS = 10;

/**
 * Requests one revision holds waiting for an instance; one more is refused with 429 at once.
 * [ref] Knative's activator queues up to 10,000 requests; Cloud Run's own bound is not published.
 */
export const MAX_QUEUED_REQUESTS = 10_000;

/** Idle instances above minScale are kept up to 15 minutes (*configurable* in [ref]). */
export const IDLE_TIMEOUT_MS = 15 * 60_000;

/**
 * Scaling numbers, in two presets.
 *
 * `parity` follows the documented values: a 60% target of containerConcurrency averaged over one
 * minute ([ref], Cloud Run's own figure rather than the KPA's 0.7), a 6 s panic window (10% of the
 * stable window) entered at 2x, decisions every 2 s [kpa]; scale to zero 30 s after the stable
 * window [kpa]; idle instances kept 15 minutes; a queued request waits max(10 s, 3.5 x average
 * startup) before a 429 [ref]; 10 s shutdown grace [ref].
 *
 * `dev` keeps the same rules with short windows so scaling is visible while developing: a 6 s
 * stable window, 1 s panic window, 0.5 s ticks and 30 s to idle-out or scale to zero. *verify*
 * (chosen for development, not from a source).
 */
export const SCALING_PRESETS: Record<'dev' | 'parity', ScalingSettings> = {
  parity: {
    targetUtilization: 0.6,
    stableWindowMs: 60_000,
    panicWindowMs: 6_000,
    panicThreshold: 2,
    tickMs: 2_000,
    idleTimeoutMs: IDLE_TIMEOUT_MS,
    scaleToZeroAfterMs: 60_000 + 30_000,
    queueWaitMinMs: 10_000,
    queueWaitStartupFactor: 3.5,
    shutdownGraceSeconds: SHUTDOWN_GRACE_SECONDS,
  },
  dev: {
    targetUtilization: 0.6,
    stableWindowMs: 6_000,
    panicWindowMs: 1_000,
    panicThreshold: 2,
    tickMs: 500,
    idleTimeoutMs: 30_000,
    scaleToZeroAfterMs: 30_000,
    queueWaitMinMs: 10_000,
    queueWaitStartupFactor: 3.5,
    shutdownGraceSeconds: SHUTDOWN_GRACE_SECONDS,
  },
};

/**
 * Cloud Run's trace sampling: "requests are sampled at a maximum rate of 0.1 requests per second
 * for each instance (or one request every 10 seconds)"; a forced request (the caller's trace
 * context says sampled) "at a maximum rate of 0.1 second for each instance (or 10 requests per
 * second)". Not configurable on Cloud Run. Source: https://cloud.google.com/run/docs/trace
 * ("Trace sampling rate"). Used by the `parity` preset (trace-sampling.ts).
 */
export const TRACE_SAMPLING = { perInstancePerSecond: 0.1, forcedPerInstancePerSecond: 10 } as const;

/**
 * devloop's own choice for the `dev` preset, per service: enough that every request a developer
 * sends by hand is traced, bounded so a load test measures the service rather than the exporter
 * (bench/tracing.bench.ts).
 */
export const DEV_TRACE_SAMPLING = { perSecond: 20, forcedPerSecond: 100 } as const;
