/**
 * The Cloud Run simulator's shared shapes. `spec.ts` turns a Knative `Service` YAML (or a
 * Devfile's inline `cloudRun` options) into a `CloudRunSpec`; the revision, autoscaler, proxy and
 * metadata modules work from it. Numbers Cloud Run documents live in `data.ts`.
 */

/** One env var of the container: a literal value or a secret reference resolved locally. */
export type EnvVar =
  | { name: string; value: string }
  | { name: string; secretKeyRef: { name: string; key: string } };

/** A startup or liveness probe, with Cloud Run's defaults filled in. */
export interface Probe {
  kind: 'tcp' | 'http' | 'grpc';
  /** HTTP path (http probes only). */
  path?: string;
  /** Port probed; defaults to the container port. */
  port: number;
  /** HTTP headers sent by http probes. */
  headers?: Record<string, string>;
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  failureThreshold: number;
}

/** The revision template: everything that, changed, makes a new revision. */
export interface RevisionTemplate {
  /** Explicit revision name (`spec.template.metadata.name`), when the YAML gives one. */
  name?: string;
  /** Container image from the YAML, when it names one (the Devfile's build usually supplies it). */
  image?: string;
  /** Container `command` / `args` (entrypoint override), when given. */
  command?: string[];
  args?: string[];
  containerConcurrency: number;
  timeoutSeconds: number;
  minScale: number;
  maxScale: number;
  /** vCPU as a number (0.08..8). */
  cpu: number;
  /** Bytes. */
  memoryBytes: number;
  /** The original strings, for messages. */
  cpuText: string;
  memoryText: string;
  /** `run.googleapis.com/cpu-throttling`: true = CPU only during requests (default). */
  cpuThrottling: boolean;
  startupCpuBoost: boolean;
  executionEnvironment?: 'gen1' | 'gen2';
  /** The single container port. */
  port: { containerPort: number; name: 'http1' | 'h2c' };
  env: EnvVar[];
  startupProbe: Probe;
  livenessProbe?: Probe;
  /** `spec.template.metadata.labels` / `annotations`, as given. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  serviceAccountName?: string;
}

/** One `spec.traffic[]` entry. Exactly one of `revisionName` / `latestRevision`. */
export interface TrafficTarget {
  revisionName?: string;
  latestRevision?: boolean;
  percent: number;
  tag?: string;
}

export interface CloudRunSpec {
  /** `metadata.name`. */
  name: string;
  /** `metadata.namespace` (the project id or number on Cloud Run), when given. */
  namespace?: string;
  /** `metadata.labels` / `metadata.annotations` of the Service. */
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Region from the `cloud.googleapis.com/location` label, when given. */
  region?: string;
  template: RevisionTemplate;
  /** As given; `[{ latestRevision: true, percent: 100 }]` when the YAML has none. */
  traffic: TrafficTarget[];
  /** Fields read but not simulated, with their paths: shown as warnings, never dropped silently. */
  unsupported: SpecNote[];
}

/** A note about one field: `path` is the dotted field path (`spec.template.spec.containers[0].volumeMounts`). */
export interface SpecNote {
  path: string;
  message: string;
  /** 1-based line/column in the YAML file, when the spec came from one. */
  line?: number;
  column?: number;
}

/** Scaling behaviour: Cloud Run's documented numbers (`parity`) or quicker ones for development (`dev`). */
export interface ScalingSettings {
  /** Target utilisation of containerConcurrency (Cloud Run: 0.6). */
  targetUtilization: number;
  /** Stable window over which concurrency is averaged (Cloud Run/KPA: 60 s). */
  stableWindowMs: number;
  /** Panic window (KPA: 10% of the stable window = 6 s). */
  panicWindowMs: number;
  /** Panic when desired/ready reaches this (KPA: 2.0). */
  panicThreshold: number;
  /** How often the autoscaler decides (KPA: 2 s). */
  tickMs: number;
  /** An idle instance above minScale is removed after this long without requests (Cloud Run: up to 15 min). */
  idleTimeoutMs: number;
  /** The last instance goes (scale to zero) after this long without requests (KPA: stable window + 30 s grace). */
  scaleToZeroAfterMs: number;
  /** A queued request waits at most max(this, queueWaitStartupFactor x average startup time), then 429. */
  queueWaitMinMs: number;
  queueWaitStartupFactor: number;
  /** Seconds between SIGTERM and SIGKILL when an instance stops (Cloud Run: 10). */
  shutdownGraceSeconds: number;
}
