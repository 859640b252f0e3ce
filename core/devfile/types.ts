/**
 * The shape of a Devfile: what `defineDevfile()` accepts. These interfaces are the public,
 * documented contract (the editor shows their TSDoc); `schema.ts` validates the same shape at
 * load time and a type test keeps the two in step.
 */
import type { PluginSpec } from '../plugins/types.js';

export type EnvironmentName = 'local' | 'staging' | 'prod' | (string & {});

export interface DevfileConfig {
  /** Project name; defaults to the folder name. Used in container labels and metrics. */
  name?: string;
  /** The services devloop builds, deploys and watches, keyed by service name. */
  services: Record<string, ServiceConfig>;
  /** Named environments (`local`, `staging`, `prod`, ...) and their overrides. */
  environments?: Record<string, EnvironmentConfig>;
  /** Plugins: inline objects, npm package names, or relative paths, each with options. */
  plugins?: PluginSpec[];
  /** Globs ignored by the watcher for every service, on top of .gitignore and .dockerignore. */
  ignore?: string[];
  /** How many services may build/deploy at once. Default 3. */
  parallelism?: number;
  /** `auto`: a file change starts a build. `manual`: builds start only when asked. Default `auto`. */
  triggerMode?: TriggerMode;
  /** Watcher tuning. */
  watch?: WatchSettings;
  /** The cluster devloop deploys to when a service targets Kubernetes. */
  cluster?: ClusterConfig;
  /** Settings of the Kubernetes runtime shared by every service that deploys to a cluster. */
  kubernetes?: KubernetesConfig;
  /** Cloud Run and Autopilot simulation settings. */
  simulation?: SimulationConfig;
  /** Monitoring services devloop starts beside the project. */
  monitoring?: MonitoringConfig;
  /**
   * The web dashboard `devloop up` serves beside the TUI (services, logs, revisions, costs,
   * charts). Default: on, at http://127.0.0.1:10350/ (the next free port when that one is
   * taken). `false` turns it off; `devloop dashboard` starts it later for a running session.
   */
  dashboard?: boolean | DashboardConfig;
  /** AI services: local model serving, Ghostbusters agents, GPU. */
  ai?: AiConfig;
  /** Commands `devloop ci` runs against the running services once all are healthy. */
  tests?: TestConfig[];
  /**
   * What `devloop up` frees when the machine runs short: under memory pressure, idle Cloud Run
   * instances beyond minScale and idle build caches; under disk pressure, older devloop images
   * and `.devloop/logs`. Each action is logged once. Default: on, with the thresholds below.
   */
  resourcePressure?: ResourcePressureConfig;
}

export interface DashboardConfig {
  /** Off when false. Default true. */
  enabled?: boolean;
  /** Port on 127.0.0.1. Asked for by name, it is not moved when taken (the dashboard is then not started, with a warning). Default 10350, or the next free one. */
  port?: number;
  /**
   * Address to listen on. Default 127.0.0.1. Another address exposes the session's logs and
   * buttons to whoever reaches it (actions still need the page's token). Requests must name the
   * address itself (for `0.0.0.0`, any of this machine's addresses) or a loopback name, never
   * another name: that is what keeps DNS rebinding out.
   */
  host?: string;
}

/** Thresholds of the resource-pressure watcher (`devloop up`). */
export interface ResourcePressureConfig {
  /** `false` turns the watcher off. Default true. */
  enabled?: boolean;
  /**
   * Memory pressure starts when the machine's available memory (`MemAvailable`) falls below
   * this share of its total: `'15%'` (the default) or a number of percent. Idle Cloud Run
   * instances beyond minScale are retired and esbuild's warm contexts of idle services dropped.
   */
  memoryAvailableBelow?: string | number;
  /**
   * Disk pressure starts when the disk holding `.devloop/` or Docker's data passes this share
   * used: `'90%'` (the default) or a number of percent. devloop's images beyond `keepImages` per
   * service are removed and `.devloop/logs/*.jsonl` rotated (the current part kept as `.1`).
   */
  diskUsedAbove?: string | number;
  /** How often memory and disk are read: `'5s'` (the default), `'500ms'`, or a number of ms. */
  interval?: string | number;
  /** Under disk pressure, the newest devloop images kept per service. Default 3. */
  keepImages?: number;
}

export type TriggerMode = 'auto' | 'manual';

export interface WatchSettings {
  /** Quiet window: a batch is flushed after this many ms without events. Default 100. */
  debounceMs?: number;
  /** A batch is flushed at the latest this many ms after its first event. Default 2000. */
  maxWaitMs?: number;
}

export interface ServiceConfig {
  /** Source paths (files or folders, relative to the Devfile) whose changes rebuild this service. Default: the service's build context, else `.`. */
  src?: string | string[];
  /** Extra globs ignored for this service. */
  ignore?: string[];
  /** How to build it. Omitted: nothing to build (for example an `image` run as is). */
  build?: BuildConfig;
  /** A prebuilt image to run when there is no build. */
  image?: string;
  /** Where it runs. Default: `cloud-run` when simulation.cloud_run is on, else `docker` when a daemon answers, else `process`. */
  runtime?: RuntimeKind;
  /** For the process runtime: the command that starts the service (default: `node <bundle>` for esbuild builds). */
  command?: string | string[];
  /** Working directory for `command`, relative to the Devfile. */
  cwd?: string;
  /** The port the service listens on (its `PORT`). */
  port?: number;
  /** Extra named ports. */
  ports?: PortConfig[];
  /** Environment variables, for every environment. */
  env?: Record<string, string>;
  /** Per-environment overrides, merged over `env`. */
  envByEnvironment?: Record<string, Record<string, string>>;
  /** Production settings per environment (replicas, resources, scaling, secrets); see `EnvironmentConfig`. */
  environments?: Record<string, ServiceEnvironmentConfig>;
  /** How devloop decides the service is healthy. Default: the port accepts TCP connections, else the process is running. */
  health?: HealthCheckConfig;
  /** Services that must be healthy before this one is deployed (first deploy only). */
  dependsOn?: string[];
  /** Live-update rules, applied in order instead of a full rebuild when they cover a change. */
  liveUpdate?: LiveUpdateStep[];
  /** Overrides the project trigger mode for this service. */
  triggerMode?: TriggerMode;
  /** Cloud Run settings for this service (simulated locally). */
  cloudRun?: CloudRunServiceConfig;
  /** Autopilot settings for this service (admission simulated locally). */
  autopilot?: AutopilotServiceConfig;
  /** Kubernetes manifests for this service when it deploys to a cluster (`runtime: 'kubernetes'`). */
  k8s?: K8sServiceConfig;
  /** Resource limits applied to the local container/process where the runtime supports it. */
  resources?: ResourcesConfig;
  /** Restart policy for the local runtimes. Default `on-failure`. */
  restart?: 'always' | 'on-failure' | 'never';
  /** Arbitrary options for third-party plugins, keyed by plugin name. */
  extensions?: Record<string, unknown>;
}

/** `services.<name>.resources`. */
export interface ResourcesConfig {
  /** CPUs: `"0.5"`, `"2"` or millicores `"500m"`. */
  cpu?: string;
  /** Memory limit: Kubernetes (`"512Mi"`, `"1Gi"`, `"500M"`) or Docker (`"512m"`, `"1g"`) quantities. */
  memory?: string;
  /**
   * Dev only, opt-in: when the container is killed for memory (OOM), restart it with a higher
   * limit, `min(limit x step, cap)`, step by step up to the cap, and say so in the log
   * (`web was killed for memory at 64Mi; raising its limit to 128Mi (resources.autoRaise, cap 256Mi)`).
   * At the cap the OOM kill is reported as usual and the hint says to raise `resources.memory`
   * or the cap. Needs `memory`.
   *
   * - `true`: cap = 4x `memory`, at most `2Gi` (a `memory` of 2Gi or more is then never raised); step 2.
   * - `{ max, step }`: cap `max` (a quantity, not below `memory`), factor `step` (> 1, default 2).
   *
   * Where it applies: the `docker` runtime under `devloop up` (and `cloudrun replace`, `debug`)
   * in the default `local` environment. The docker plugin reads the environment from
   * `ctx.mode` (`--env`) and the command from `ctx.command`; under `devloop ci` or any other
   * `--env` it is off, with one info line, so that CI and shared environments see the real limit
   * fail. An engine made in code without a command counts as `up`. Not for Cloud Run instances
   * (Cloud Run's limits are fixed per revision) nor the `process` runtime (no memory limit).
   *
   * A raised limit lasts for the session: redeploys (a save, `devloop deploy`) start from the
   * raised limit and say so; a new `devloop up`, or a change to `memory` or the cap, starts from
   * `memory` again. `devloop status -o json` shows the limit in force under
   * `extra["devloop:docker"].memory`.
   */
  autoRaise?: boolean | AutoRaiseConfig;
}

/** `resources.autoRaise` as an object. */
export interface AutoRaiseConfig {
  /** The highest limit to raise to, as a quantity (`"256Mi"`); not below `resources.memory`. Default: 4x `memory`, at most `2Gi`. */
  max?: string;
  /** Factor per OOM kill, above 1. Default 2 (the limit doubles). */
  step?: number;
}

export type RuntimeKind = 'docker' | 'process' | 'kubernetes' | 'cloud-run' | 'autopilot' | (string & {});

export interface PortConfig {
  name?: string;
  containerPort: number;
  /** Fixed host port; default: a free one is allocated. */
  hostPort?: number;
  protocol?: 'tcp' | 'udp';
}

export type BuildConfig = DockerBuildConfig | EsbuildBuildConfig | CommandBuildConfig;

export interface DockerBuildConfig {
  type: 'docker';
  /** Build context folder, relative to the Devfile. Default `.`. */
  context?: string;
  /** Dockerfile path relative to the context. Default `Dockerfile`. */
  dockerfile?: string;
  args?: Record<string, string>;
  target?: string;
  platform?: string;
}

export interface EsbuildBuildConfig {
  type: 'esbuild';
  /** Entry point, relative to the Devfile. */
  entry: string;
  /** Output file. Default `.devloop/build/<service>/index.mjs`. */
  outfile?: string;
  /** Packages left out of the bundle. */
  external?: string[];
  format?: 'esm' | 'cjs';
  /** For the Docker runtime: the base image the bundle is layered on (no Dockerfile needed). */
  baseImage?: string;
}

export interface CommandBuildConfig {
  type: 'command';
  /** Shell command run in `cwd`. */
  command: string;
  cwd?: string;
  /** Files or folders the command produces; part of the build result. */
  outputs?: string[];
  env?: Record<string, string>;
}

export type HealthCheckConfig =
  | { http: string; port?: number; intervalMs?: number; timeoutMs?: number; expectStatus?: number }
  | { tcp: number | true; intervalMs?: number; timeoutMs?: number }
  | { exec: string | string[]; intervalMs?: number; timeoutMs?: number };

export type LiveUpdateStep =
  | { fallBackOn: string | string[] }
  | { sync: { from: string; to: string } }
  | { run: string; trigger?: string | string[] }
  | { restart: true };

export interface EnvironmentConfig {
  /** Env vars added to every service in this environment. */
  env?: Record<string, string>;
  /** Kube context used for this environment. */
  kubeContext?: string;
  /** Contexts where destructive actions are allowed (non-local contexts need to be listed). */
  allowKubeContexts?: string[];
  /** Default runtime for services in this environment. */
  runtime?: RuntimeKind;
  /**
   * Secrets every service gets in this environment, by env var name. In `local` their values come
   * from the git-ignored secrets file (`simulation.cloudRun.secretsFile`, default
   * `secrets.local.yaml`); elsewhere they are references only, rendered as a Cloud Run
   * `secretKeyRef` (Secret Manager) or a Kubernetes `secretKeyRef` (a Secret of that name). A
   * value never appears in a rendered file.
   */
  secrets?: Record<string, SecretRef>;
  /** Registry production images are pushed to for this environment (`europe-docker.pkg.dev/PROJECT/REPO`). */
  registry?: string;
  /** Google Cloud project of this environment (Cloud Run renders, Secret Manager references). */
  project?: string;
  /** Google Cloud region of this environment (`europe-west1`). */
  region?: string;
  /** Production settings every service gets in this environment unless its own `environments.<env>` says otherwise. */
  replicas?: number;
  resources?: { cpu?: string; memory?: string };
  scaling?: ScalingConfig;
}

/** Where a secret comes from outside `local`: a Secret Manager secret (Cloud Run) or a Kubernetes Secret. */
export interface SecretRef {
  /** Secret name (Secret Manager secret id, or the Kubernetes Secret's name). */
  secret: string;
  /** Secret Manager version. Default `latest`. */
  version?: string;
  /** Key inside the Kubernetes Secret. Default: the env var's name. */
  key?: string;
}

/** How a service scales in an environment (HPA on GKE, min/max instances on Cloud Run). */
export interface ScalingConfig {
  /** Fewest replicas / instances. Default: `replicas`, else 1 (Cloud Run: 0). */
  min?: number;
  /** Most replicas / instances. Default: `min` (no autoscaling) on GKE, 100 on Cloud Run. */
  max?: number;
  /** GKE: the HPA's average CPU utilization target in percent. Default 80. */
  targetCpuUtilization?: number;
  /** Cloud Run: requests per instance (`containerConcurrency`). Default 80. */
  concurrency?: number;
  /** Cloud Run: request timeout in seconds. Default 300. */
  timeoutSeconds?: number;
}

/** `services.<name>.environments.<env>`: this service's production settings in one environment. */
export interface ServiceEnvironmentConfig {
  replicas?: number;
  resources?: { cpu?: string; memory?: string };
  scaling?: ScalingConfig;
  /** Secrets of this service only, by env var name (merged over the environment's). */
  secrets?: Record<string, SecretRef>;
}

/**
 * Where a service's objects come from: any of `manifests`, `kustomize`, `helm` and `objects`, at
 * least one (their objects are applied together). Images devloop built are substituted into all of
 * them by repository name (`image: web` -> the pushed `…@sha256:` reference).
 */
export interface K8sServiceConfig {
  /** Manifest files and globs (`k8s/*.yaml`), relative to the Devfile. */
  manifests?: string | string[];
  /** A kustomization directory (`k8s/overlays/dev`), built with `kustomize build`, else `kubectl kustomize`. */
  kustomize?: string;
  /** A Helm chart rendered with `helm template` (needs `helm` on PATH). */
  helm?: K8sHelmConfig;
  /**
   * Objects written in the Devfile, or a function returning them, called at each deploy with the
   * built images (and with none by `devloop down` and at start-up, to find objects a crashed
   * session left: only their kinds matter there). Each needs `apiVersion`, `kind` and `metadata.name`.
   */
  objects?: object[] | ((ctx: K8sObjectsContext) => object[] | Promise<object[]>);
  /**
   * Image fields of custom resources that are not named `image` (those are substituted already),
   * e.g. `{ kind: 'Workflow', path: 'spec.steps[].container' }`.
   */
  imageFields?: K8sImageField[];
  /** Namespace for objects that name none. Default: the kube context's namespace, else `default`. */
  namespace?: string;
}

export interface K8sHelmConfig {
  /** A chart directory relative to the Devfile (`charts/web`), or a chart reference helm resolves (`oci://…`, `repo/name`). */
  chart: string;
  /** Release name. Default: the service's name. */
  release?: string;
  /** `--namespace` of the release. Default: `k8s.namespace`, else the kube context's namespace. */
  namespace?: string;
  /** Values files (`-f`), relative to the Devfile. */
  values?: string[];
  /** `--set key=value` pairs. */
  set?: Record<string, string>;
}

/** What `k8s.objects` is called with. */
export interface K8sObjectsContext {
  service: string;
  /** The namespace objects that name none are applied to. */
  namespace: string;
  /** The environment selected with `--env`. */
  mode: string;
  /** Pushed references of the images devloop built, by service name (`images.web`). */
  images: Record<string, string>;
}

export interface K8sImageField {
  kind: string;
  /** Only objects of this exact apiVersion (`example.com/v1`). Default: any. */
  apiVersion?: string;
  /** Dotted path to a string field; `[]` walks every element of an array: `spec.workers[].image`, `spec.images[]`. */
  path: string;
}

export interface KubernetesConfig {
  /** Kube context to deploy to. Default: `cluster.kubeContext`, else the kubeconfig's current context. */
  context?: string;
  /**
   * Contexts that are not local (kind-, k3d-, minikube, docker-desktop, a loopback API server)
   * devloop may deploy to and delete from, e.g. `['gke_proj_zone_name']`. Others are refused.
   */
  allowContexts?: string[];
  /**
   * The local ingress: the Ingress and HTTPRoute objects devloop applies, served on 127.0.0.1 by
   * host and path (`http://shop.localhost:8080/`), through port-forwards to the Services' pods.
   */
  ingress?: KubernetesIngressConfig;
}

export interface KubernetesIngressConfig {
  /** Default: 8080; a free port (with a warning) when it is taken. */
  port?: number;
  /** Default: true. */
  enabled?: boolean;
}

export interface ClusterConfig {
  name?: string;
  /** Kubernetes version, e.g. `1.31`. */
  version?: string;
  nodes?: number;
  /** `kind`, `gke`, or an existing kube context name. */
  provider?: 'kind' | 'gke' | 'existing';
  kubeContext?: string;
}

export interface SimulationConfig {
  cloudRun?: {
    enabled?: boolean;
    /** Scale idle services to zero instances. Default true. */
    scaleToZero?: boolean;
    /** Extra delay added to each cold start, e.g. `2s` or a number of ms. */
    coldStartDelay?: string | number;
    /** `dev` (short idle timeouts) or `parity` (Cloud Run's documented values). Default `dev`. */
    preset?: 'dev' | 'parity';
    region?: string;
    projectId?: string;
    /** An idle instance above the autoscaler's wish is stopped after this long (`30s`; parity: `15m`). */
    idleTimeout?: string | number;
    /** The last instance of a revision goes after this long without requests (`30s`; parity: `90s`). */
    scaleToZeroAfter?: string | number;
    /** YAML file with local values for `secretKeyRef` env vars: `{ secret: { version: value } }` or `{ secret: value }`. Default `secrets.local.yaml`. */
    secretsFile?: string;
    /** What instances are: containers when an image exists and a daemon answers (`auto`, the default), or always `docker` / `process`. */
    instances?: 'auto' | 'docker' | 'process';
    /** Port of the Prometheus `/metrics` endpoint on 127.0.0.1. Default 9464 (the next free one if taken). */
    metricsPort?: number;
    /** One log line per request (method, path, status, latency, revision), like Cloud Run's request log. Default false. */
    requestLogs?: boolean;
    /**
     * Address the services' front ends listen on. Default `127.0.0.1`: nothing off this machine
     * reaches them. `0.0.0.0` opens them to the network (a phone on the same Wi-Fi, say). If the
     * front end cannot listen there, the service runs on its plain runtime with a warning.
     */
    host?: string;
  };
  autopilot?: {
    enabled?: boolean;
    nodeAutoProvisioning?: boolean;
    resourceOptimization?: boolean;
    bursting?: boolean;
    gkeVersion?: string;
    region?: string;
    /** `realistic` (~80-120 s node provisioning) or `fast`. */
    provisioning?: 'realistic' | 'fast';
    /**
     * Seconds a node the in-cluster provisioner made stays empty before it is removed (GKE's
     * scale-down). Default: 600 with `realistic`, 10 with `fast` (PROVISIONING in autopilot/data.ts).
     */
    consolidationDelayS?: number;
    /**
     * With a Kubernetes target (plugins/autopilot/modes.ts). `run` (default): pods run on the
     * cluster's own node(s) with Autopilot's admitted resources; the nodes GKE would make are
     * planned and shown beside them, not made. `simulate`: those nodes are made as kwok nodes and
     * every pod runs there (no container runs), to watch nodes, costs and evictions at scale.
     */
    mode?: 'run' | 'simulate';
    /** Port of the Autopilot Prometheus `/metrics` endpoint on 127.0.0.1. Default 9465 (the next free one if taken). */
    metricsPort?: number;
  };
}

/**
 * `devloop:monitoring`: the block's presence turns on one `/metrics` for the session (devloop's
 * own series, every service's CPU and memory, the simulators' series); each part below starts
 * beside the services when set. URLs show in the log and `devloop status -o json` (`monitoring`).
 */
export interface MonitoringConfig {
  /** The session's `/metrics` on 127.0.0.1. `false` turns it off. Port: the next free from 9464. */
  metrics?: boolean | { port?: number };
  /** A Prometheus (the local `prometheus` binary) scraping devloop and the services, with devloop's recording and alerting rules. */
  prometheus?: boolean | PrometheusSettings;
  /** An Alertmanager (the local `prometheus-alertmanager` or `alertmanager` binary) that Prometheus sends alerts to; firing alerts show in the TUI and `devloop status`. */
  alertmanager?: boolean | { port?: number };
  grafana?: boolean | { port?: number };
  jaeger?: boolean | { port?: number };
  /**
   * Services' own metrics endpoints Prometheus scrapes, by service: a path (`'/metrics'`), or
   * `false` to not scrape one. Services on the docker and process runtimes whose `/metrics`
   * answers in the Prometheus text format are found without this.
   */
  scrape?: Record<string, string | boolean>;
  /** Thresholds of the alerting rules (the same rules `devloop render --monitoring` writes for production). */
  alerts?: MonitoringAlerts;
}

export interface PrometheusSettings {
  /** Port of its web UI and API on 127.0.0.1. Default: the next free from 9090. */
  port?: number;
  /** How often it scrapes and evaluates rules, as Prometheus writes durations. Default `'5s'`. */
  scrapeInterval?: string;
  /** How long it keeps samples (under `.devloop/monitoring/prometheus`). Default `'2d'`. */
  retention?: string;
  /** The most disk its samples may use. Default `'512MB'`. */
  retentionSize?: string;
  /** More rule files of your own, relative to the Devfile; each is checked with `promtool check rules` first. */
  rules?: string[];
}

export interface MonitoringAlerts {
  /** Share of 5xx answers over which `DevloopHighErrorRate` fires. Default 0.05. */
  errorRatio?: number;
  /** p99 latency in ms over which `DevloopHighLatencyP99` fires. Default 1000. */
  p99LatencyMs?: number;
  /** Share of requests that met a cold start over which `DevloopColdStartRatio` fires. Default 0.2. */
  coldStartRatio?: number;
  /** Restarts within 10 minutes from which `DevloopCrashLooping` fires. Default 3. */
  crashLoopRestarts?: number;
  /** How long a condition must hold before its alert fires. Default `'30s'`. */
  for?: string;
}

export interface AiConfig {
  /**
   * Local model serving (`devloop:model-serving`): each model becomes a service of its own, named
   * as the model, that serves the Open Inference Protocol v2 (`/v2/models/<name>/infer`) and is
   * ready when `GET /v2/health/ready` answers 200. `true` turns the feature on with no model yet
   * (what `devloop init --from gke-local.yaml` writes, since that file named no model files):
   * nothing is served until `{ models: [...] }` lists some.
   */
  modelServing?: boolean | ModelServingConfig;
  ghostbusters?: boolean | GhostbustersConfig;
  /**
   * @deprecated Read by nothing: set `gpu: true` on a model in `modelServing.models` instead.
   * Still accepted so a Devfile converted from gke-local.yaml (`gpu_support`) loads.
   */
  gpuSupport?: boolean;
}

/** `ai.modelServing` as an object. */
export interface ModelServingConfig {
  /** The models to serve, each as its own service. */
  models: ModelConfig[];
}

/**
 * One served model. It becomes the service `services.<name>` (so `dependsOn`, `devloop logs
 * <name>` and `tests[].services` name it like any other): a name a service already has is an
 * error. The server reloads the model file itself when it changes, so saving a new model never
 * restarts the service (its `src` is empty: devloop watches nothing for it).
 */
export interface ModelConfig {
  /** The service and model name (`/v2/models/<name>`): lowercase letters, digits and `-`, starting with a letter, at most 63 characters. */
  name: string;
  /**
   * The model, relative to the Devfile: an `.onnx` file, or a Triton-style repository folder with
   * one numbered folder per version (`1/model.onnx`, `2/model.onnx`; see `versionPolicy`).
   * Read by the `process` runtime; with `kubernetes` the model is inside `image` (`containerModelPath`).
   * A service whose `src` is the whole project (the default) is rebuilt when this file changes:
   * give such services `src`, or put the models folder in `ignore`.
   */
  path: string;
  /**
   * Which versions of a repository folder are served (Triton's version policy): `{ latest: n }`
   * the n highest (default `{ latest: 1 }`), `{ all: true }` every one, `{ specific: [1, 3] }`
   * those listed. Ignored for a single `.onnx` file.
   */
  versionPolicy?: { latest: number } | { all: true } | { specific: number[] };
  /**
   * Run on a GPU. `process`: onnxruntime's CUDA provider (`--gpu`), which needs a CUDA-capable
   * onnxruntime on this machine. `kubernetes`: the pod requests one `nvidia.com/gpu` and selects
   * `accelerator` nodes. Default false.
   */
  gpu?: boolean;
  /**
   * Dynamic batching: requests that arrive together are run as one batch of at most this many
   * (the model's first dimension must be dynamic). Default 1: no batching, each request runs alone.
   */
  maxBatchSize?: number;
  /** How long (whole ms) the first request of a batch may wait for others to fill it; only with `maxBatchSize` > 1. Default 0: a batch runs with whatever has arrived when an instance is free. */
  maxBatchDelayMs?: number;
  /** Model instances (sessions) run in parallel, each taking one batch at a time. Default 1. */
  instances?: number;
  /** Requests waiting beyond this many are refused at once with 429 (Retry-After: 1), rather than queued without bound. Default 128. */
  maxQueue?: number;
  /**
   * The port the `process` runtime serves on (its `PORT`; the next free one, with a warning, when
   * taken). Default 8500 + the model's index in `models` (the readiness check needs a port).
   */
  port?: number;
  /**
   * Where it runs: `process` (default), the server as a local Node process; or `kubernetes`, a
   * Deployment and a ClusterIP Service (port 8080) in the cluster (`devloop render` prints them).
   */
  runtime?: 'process' | 'kubernetes';
  /**
   * The model-server image, with the model in it at `containerModelPath`; required with runtime
   * `kubernetes`. Built by one of your services, it is substituted like any image (`image: name`).
   */
  image?: string;
  /** Where the model is inside `image`. Default `/models/<name>/model.onnx`. Only with runtime `kubernetes`. */
  containerModelPath?: string;
  /** The GKE accelerator (`cloud.google.com/gke-accelerator`) a `kubernetes` model with `gpu` is placed on. Default `nvidia-l4`. */
  accelerator?: string;
  /**
   * CPU and memory. `process`: as `services.<name>.resources`. `kubernetes`: the container's
   * requests and limits (equal), default cpu `"1"`, memory `"2Gi"`. On GKE Autopilot a GPU pod is
   * raised to its accelerator's minimum (1 x `nvidia-l4`: 2 CPU, 7Gi), with a warning.
   */
  resources?: { cpu?: string; memory?: string };
}

/** `devloop agents run` settings. */
export interface GhostbustersConfig {
  /** Layering rules the architecture expert checks. */
  layers?: LayerRule[];
  /** An OpenAI-compatible endpoint for `devloop agents run --explain`; the agents never need one. */
  model?: GhostbustersModelConfig;
}

export interface LayerRule {
  /** Globs of the importing files (`core/**`). */
  from: string | string[];
  /** Globs of repository files, or package names, these files must not import. */
  notImport: string[];
  /** Why, shown in the finding. */
  because?: string;
}

export interface GhostbustersModelConfig {
  /** Includes the version: `http://127.0.0.1:8000/v1`, `https://api.openai.com/v1`. */
  baseUrl: string;
  model: string;
  /** The environment variable holding the key (default `OPENAI_API_KEY`); the key never goes in the Devfile. */
  apiKeyEnv?: string;
  /** Per request (default 30000). */
  timeoutMs?: number;
}

export interface CloudRunServiceConfig {
  /** Path to a Knative `Service` YAML (as `gcloud run services replace` takes). */
  service?: string;
  containerConcurrency?: number;
  timeoutSeconds?: number;
  minScale?: number;
  maxScale?: number;
  cpu?: string;
  memory?: string;
  cpuThrottling?: boolean;
}

export interface AutopilotServiceConfig {
  computeClass?: 'Balanced' | 'Scale-Out' | 'Performance' | 'Accelerator' | (string & {});
  spot?: boolean;
  gpu?: { type: string; count: number };
  arm?: boolean;
}

export interface TestConfig {
  name: string;
  command: string;
  cwd?: string;
  env?: Record<string, string>;
  /** Services that must be healthy first. Default: all. */
  services?: string[];
  timeoutMs?: number;
}

/** What a function-form Devfile receives. */
export interface DevfileContext {
  /** The environment selected with `--env` (default `local`). */
  mode: EnvironmentName;
  /** The process environment. */
  env: Record<string, string | undefined>;
  /** The CLI command running: `up`, `ci`, `status`, ... */
  command: string;
}

export type DevfileExport = DevfileConfig | ((ctx: DevfileContext) => DevfileConfig | Promise<DevfileConfig>);
