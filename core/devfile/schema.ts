/**
 * The Devfile schema. `types.ts` is the documented contract; this file checks a loaded value
 * against the same shape (strict objects, so a typo is an error rather than a silently ignored
 * field), and the type assertion at the bottom fails compilation if the two drift apart.
 */
import { z } from 'zod';
import type { DevloopPlugin } from '../plugins/types.js';
import { checkDevfile } from './checks.js';
import { describeValue, parseWith, type ValidationIssue } from './issues.js';
import { memoryBytes } from './quantity.js';
import type { DevfileConfig, K8sServiceConfig } from './types.js';

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const serviceName = z.string().refine((name) => DNS_LABEL.test(name) && name.length <= 63, {
  error: (issue) => {
    const name = String(issue.input);
    return name.length > 63
      ? `invalid service name ${JSON.stringify(name)}: at most 63 characters`
      : `invalid service name ${JSON.stringify(name)}: use lowercase letters, digits and "-", starting with a letter and not ending with "-"`;
  },
});

const envName = z.string().refine((name) => ENV_NAME.test(name), {
  error: (issue) => `invalid environment variable name ${JSON.stringify(issue.input)}: use letters, digits and "_", not starting with a digit`,
});

const port = z.number().refine((n) => Number.isInteger(n) && n >= 1 && n <= 65535, {
  error: (issue) => `expected a port from 1 to 65535, got ${String(issue.input)}`,
});

const count = z.int().min(0);
const positive = z.int().min(1);
const nonEmpty = z.string().min(1);
const strings = z.union([z.string(), z.array(z.string())]);
const envMap = z.record(envName, z.string());
const triggerMode = z.enum(['auto', 'manual']);

/**
 * A union of objects told apart by which key they carry (`{ http }` / `{ tcp }` / `{ exec }`).
 * zod cannot discriminate on key presence, so a value with none or several of the keys gets its
 * own message here instead of every branch's complaint.
 */
function oneKeyOf<const Options extends readonly [z.ZodType, z.ZodType, ...z.ZodType[]]>(what: string, keys: readonly string[], options: Options) {
  const listed = keys.map((k) => JSON.stringify(k)).join(', ');
  return z.union(options, {
    error: (issue) => {
      if (issue.code !== 'invalid_union' || typeof issue.input !== 'object' || issue.input === null || Array.isArray(issue.input)) return undefined;
      const present = keys.filter((k) => k in (issue.input as object));
      if (present.length === 1) return undefined;
      return present.length === 0
        ? `${what} needs one of ${listed}`
        : `${what} takes exactly one of ${listed}, got ${present.map((k) => JSON.stringify(k)).join(' and ')}`;
    },
  });
}

const timing = { intervalMs: positive.optional(), timeoutMs: positive.optional() };
const health = oneKeyOf('a health check', ['http', 'tcp', 'exec'], [
  z.strictObject({ http: z.string(), port: port.optional(), ...timing, expectStatus: z.int().min(100).max(599).optional() }),
  z.strictObject({ tcp: z.union([port, z.literal(true)]), ...timing }),
  z.strictObject({ exec: strings, ...timing }),
]);

const secretRef = z.strictObject({ secret: nonEmpty, version: nonEmpty.optional(), key: nonEmpty.optional() });
/** Per-environment production settings, shared by `environments.<env>` and `services.<name>.environments.<env>`. */
const productionSettings = {
  replicas: count.optional(),
  resources: z.strictObject({ cpu: nonEmpty.optional(), memory: nonEmpty.optional() }).optional(),
  scaling: z.strictObject({
    min: count.optional(), max: positive.optional(), targetCpuUtilization: z.int().min(1).max(100).optional(),
    concurrency: z.int().min(1).max(1000).optional(), timeoutSeconds: z.int().min(1).max(3600).optional(),
  }).optional(),
  secrets: z.record(envName, secretRef).optional(),
};

const liveUpdateStep = oneKeyOf('a live-update step', ['fallBackOn', 'sync', 'run', 'restart'], [
  z.strictObject({ fallBackOn: strings }),
  z.strictObject({ sync: z.strictObject({ from: nonEmpty, to: nonEmpty }) }),
  z.strictObject({ run: nonEmpty, trigger: strings.optional() }),
  z.strictObject({ restart: z.literal(true) }),
]);

const build = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('docker'), context: z.string().optional(), dockerfile: z.string().optional(),
    args: z.record(z.string(), z.string()).optional(), target: z.string().optional(), platform: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('esbuild'), entry: nonEmpty, outfile: z.string().optional(), external: z.array(z.string()).optional(),
    format: z.enum(['esm', 'cjs']).optional(), baseImage: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('command'), command: nonEmpty, cwd: z.string().optional(), outputs: z.array(z.string()).optional(), env: envMap.optional(),
  }),
]);

const portConfig = z.strictObject({
  name: z.string().optional(), containerPort: port, hostPort: port.optional(), protocol: z.enum(['tcp', 'udp']).optional(),
});

/**
 * `resources`; with `autoRaise`, the quantities it raises between must be readable and the cap
 * not below the limit (each a located error on its own field).
 */
const resources = z.strictObject({
  cpu: z.string().optional(),
  memory: z.string().optional(),
  autoRaise: z.union([
    z.boolean(),
    z.strictObject({
      max: z.string().optional(),
      step: z.number().refine((n) => n > 1 && Number.isFinite(n), { error: (issue) => `autoRaise.step is the factor per raise: expected a number above 1, got ${String(issue.input)}` }).optional(),
    }),
  ]).optional(),
}).superRefine((r, ctx) => {
  if (r.autoRaise === undefined || r.autoRaise === false) return;
  const quantity = 'write it like "512Mi", "1Gi" or "256m"';
  if (r.memory === undefined) {
    ctx.addIssue({ code: 'custom', path: ['autoRaise'], message: 'resources.autoRaise raises resources.memory, which is not set: give the service a memory limit (for example memory: "256Mi")' });
    return;
  }
  const limit = memoryBytes(r.memory);
  if (limit === undefined) ctx.addIssue({ code: 'custom', path: ['memory'], message: `cannot read ${JSON.stringify(r.memory)} as an amount of memory: ${quantity}` });
  if (r.autoRaise === true || r.autoRaise.max === undefined) return;
  const max = memoryBytes(r.autoRaise.max);
  if (max === undefined) {
    ctx.addIssue({ code: 'custom', path: ['autoRaise', 'max'], message: `cannot read ${JSON.stringify(r.autoRaise.max)} as an amount of memory: ${quantity}` });
  } else if (limit !== undefined && max < limit) {
    ctx.addIssue({ code: 'custom', path: ['autoRaise', 'max'], message: `the cap ${JSON.stringify(r.autoRaise.max)} is below resources.memory (${JSON.stringify(r.memory)}): autoRaise only raises; make max at least the limit` });
  }
});

/** One object of `k8s.objects`; what it must hold is checked in checks.ts, located by index. */
const k8sObject = z.custom<object>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), {
  error: (issue) => `expected a Kubernetes object ({ apiVersion, kind, metadata: { name } }), got ${describeValue(issue.input)}`,
});
type K8sObjectsFn = Extract<NonNullable<K8sServiceConfig['objects']>, (...args: never[]) => unknown>;

const service = z.strictObject({
  src: strings.optional(),
  ignore: z.array(z.string()).optional(),
  build: build.optional(),
  image: nonEmpty.optional(),
  runtime: nonEmpty.optional(),
  command: strings.optional(),
  cwd: z.string().optional(),
  port: port.optional(),
  ports: z.array(portConfig).optional(),
  env: envMap.optional(),
  envByEnvironment: z.record(z.string(), envMap).optional(),
  environments: z.record(z.string(), z.strictObject(productionSettings)).optional(),
  health: health.optional(),
  dependsOn: z.array(z.string()).optional(),
  liveUpdate: z.array(liveUpdateStep).optional(),
  triggerMode: triggerMode.optional(),
  cloudRun: z.strictObject({
    service: z.string().optional(), containerConcurrency: positive.optional(), timeoutSeconds: positive.optional(),
    minScale: count.optional(), maxScale: positive.optional(), cpu: z.string().optional(), memory: z.string().optional(),
    cpuThrottling: z.boolean().optional(),
  }).optional(),
  autopilot: z.strictObject({
    computeClass: nonEmpty.optional(), spot: z.boolean().optional(),
    gpu: z.strictObject({ type: nonEmpty, count: positive }).optional(), arm: z.boolean().optional(),
  }).optional(),
  k8s: z.strictObject({
    manifests: strings.optional(),
    kustomize: nonEmpty.optional(),
    helm: z.strictObject({
      chart: nonEmpty, release: nonEmpty.optional(), namespace: nonEmpty.optional(),
      values: z.array(nonEmpty).optional(), set: z.record(z.string(), z.string()).optional(),
    }).optional(),
    objects: z.union([z.array(k8sObject), z.custom<K8sObjectsFn>((v) => typeof v === 'function')], {
      error: (issue) => issue.code === 'invalid_union' && Array.isArray(issue.input) ? undefined : `expected an array of Kubernetes objects or a function returning one, got ${describeValue(issue.input)}`,
    }).optional(),
    imageFields: z.array(z.strictObject({ kind: nonEmpty, apiVersion: nonEmpty.optional(), path: nonEmpty })).optional(),
    namespace: nonEmpty.optional(),
  }).optional(),
  resources: resources.optional(),
  restart: z.enum(['always', 'on-failure', 'never']).optional(),
  extensions: z.record(z.string(), z.unknown()).optional(),
});

const inlinePlugin = z.custom<DevloopPlugin>(
  (v) => typeof v === 'object' && v !== null && typeof (v as DevloopPlugin).name === 'string' && typeof (v as DevloopPlugin).apply === 'function',
  { error: 'an inline plugin is an object with "name" (a string) and "apply" (a function)' },
);
const plugin = z.union([nonEmpty, z.tuple([nonEmpty, z.record(z.string(), z.unknown())]), inlinePlugin], {
  error: (issue) => issue.code === 'invalid_union' && (typeof issue.input === 'string' || (typeof issue.input === 'object' && issue.input !== null))
    ? undefined
    : `expected a plugin (an object, a package name or path, or [name, options]), got ${describeValue(issue.input)}`,
});

/** `ai.modelServing.models[]`: each becomes a service (model-services.ts); names and images are cross-checked in checks.ts. */
const model = z.strictObject({
  name: serviceName,
  path: nonEmpty,
  versionPolicy: oneKeyOf('a version policy', ['latest', 'all', 'specific'], [
    z.strictObject({ latest: positive }),
    z.strictObject({ all: z.literal(true) }),
    z.strictObject({ specific: z.array(positive).min(1, { error: 'expected at least one version number' }) }),
  ]).optional(),
  gpu: z.boolean().optional(),
  maxBatchSize: positive.optional(),
  maxBatchDelayMs: count.optional(),
  instances: positive.optional(),
  maxQueue: positive.optional(),
  port: port.optional(),
  runtime: z.enum(['process', 'kubernetes']).optional(),
  image: nonEmpty.optional(),
  containerModelPath: z.string().regex(/^\//, { error: 'expected an absolute path inside the image, like "/models/gemma/model.onnx"' }).optional(),
  accelerator: nonEmpty.optional(),
  resources: z.strictObject({ cpu: nonEmpty.optional(), memory: nonEmpty.optional() }).optional(),
});

/** `'15%'` or a number of percent. */
const percent = z.union([
  z.string().refine((s) => { const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(s); return !!m && Number(m[1]) <= 100; }, { error: (issue) => `expected a percent like "15%" (0 to 100), got ${JSON.stringify(issue.input)}` }),
  z.number().min(0).max(100),
]);

const toggle = z.union([z.boolean(), z.strictObject({ port: port.optional() })]);
/** A duration as Prometheus writes one: `5s`, `1m30s`, `2d`. */
const promDuration = z.string().regex(/^(\d+(ms|s|m|h|d|w|y))+$/, { error: 'expected a Prometheus duration like "5s", "1m" or "2d"' });

export const devfileSchema = z.strictObject({
  name: nonEmpty.optional(),
  services: z.record(serviceName, service),
  environments: z.record(z.string(), z.strictObject({
    env: envMap.optional(), kubeContext: z.string().optional(), allowKubeContexts: z.array(z.string()).optional(), runtime: nonEmpty.optional(),
    ...productionSettings, registry: nonEmpty.optional(), project: nonEmpty.optional(), region: nonEmpty.optional(),
  })).optional(),
  plugins: z.array(plugin).optional(),
  ignore: z.array(z.string()).optional(),
  parallelism: positive.optional(),
  triggerMode: triggerMode.optional(),
  watch: z.strictObject({ debounceMs: count.optional(), maxWaitMs: count.optional() }).optional(),
  cluster: z.strictObject({
    name: z.string().optional(), version: z.string().optional(), nodes: positive.optional(),
    provider: z.enum(['kind', 'gke', 'existing']).optional(), kubeContext: z.string().optional(),
  }).optional(),
  kubernetes: z.strictObject({
    context: nonEmpty.optional(), allowContexts: z.array(nonEmpty).optional(),
    ingress: z.strictObject({ port: port.optional(), enabled: z.boolean().optional() }).optional(),
  }).optional(),
  simulation: z.strictObject({
    cloudRun: z.strictObject({
      enabled: z.boolean().optional(), scaleToZero: z.boolean().optional(),
      coldStartDelay: z.union([z.string(), z.number().min(0)]).optional(), preset: z.enum(['dev', 'parity']).optional(),
      region: z.string().optional(), projectId: z.string().optional(),
      idleTimeout: z.union([z.string(), z.number().min(0)]).optional(), scaleToZeroAfter: z.union([z.string(), z.number().min(0)]).optional(),
      secretsFile: z.string().optional(), instances: z.enum(['auto', 'docker', 'process']).optional(), metricsPort: port.optional(),
      requestLogs: z.boolean().optional(), host: nonEmpty.optional(),
    }).optional(),
    autopilot: z.strictObject({
      enabled: z.boolean().optional(), nodeAutoProvisioning: z.boolean().optional(), resourceOptimization: z.boolean().optional(),
      bursting: z.boolean().optional(), gkeVersion: z.string().optional(), region: z.string().optional(),
      provisioning: z.enum(['realistic', 'fast']).optional(), consolidationDelayS: z.number().nonnegative().optional(),
      mode: z.enum(['run', 'simulate']).optional(), metricsPort: port.optional(),
    }).optional(),
  }).optional(),
  monitoring: z.strictObject({
    metrics: toggle.optional(),
    prometheus: z.union([z.boolean(), z.strictObject({
      port: port.optional(), scrapeInterval: promDuration.optional(), retention: promDuration.optional(),
      retentionSize: z.string().regex(/^\d+(B|KB|MB|GB|TB|PB|EB)$/, { error: 'expected a size like "512MB" or "2GB"' }).optional(),
      rules: z.array(nonEmpty).optional(),
    })]).optional(),
    alertmanager: toggle.optional(), grafana: toggle.optional(), jaeger: toggle.optional(),
    scrape: z.record(z.string(), z.union([z.string().regex(/^\//, { error: 'expected a path starting with "/" (like "/metrics"), or false' }), z.boolean()])).optional(),
    alerts: z.strictObject({
      errorRatio: z.number().gt(0).lt(1).optional(), p99LatencyMs: z.number().positive().optional(),
      coldStartRatio: z.number().gt(0).lt(1).optional(), crashLoopRestarts: positive.optional(), for: promDuration.optional(),
    }).optional(),
  }).optional(),
  dashboard: z.union([z.boolean(), z.strictObject({ enabled: z.boolean().optional(), port: port.optional(), host: nonEmpty.optional() })]).optional(),
  ai: z.strictObject({
    modelServing: z.union([z.boolean(), z.strictObject({ models: z.array(model) })]).optional(),
    ghostbusters: z.union([z.boolean(), z.strictObject({
      layers: z.array(z.object({
        from: z.union([z.string(), z.array(z.string())]),
        notImport: z.array(z.string()).min(1, { error: 'expected at least one glob or package name' }),
        because: z.string().optional(),
      }), { error: 'must be a list of { from, notImport } rules' }).optional(),
      model: z.strictObject({
        baseUrl: z.string().regex(/^https?:\/\//, { error: 'expected an http(s) URL including the version, like "http://127.0.0.1:8000/v1"' }),
        model: nonEmpty, apiKeyEnv: envName.optional(), timeoutMs: positive.optional(),
      }).optional(),
    })]).optional(),
    gpuSupport: z.boolean().optional(),
  }).optional(),
  tests: z.array(z.strictObject({
    name: nonEmpty, command: nonEmpty, cwd: z.string().optional(), env: envMap.optional(),
    services: z.array(z.string()).optional(), timeoutMs: positive.optional(),
  })).optional(),
  resourcePressure: z.strictObject({
    enabled: z.boolean().optional(), memoryAvailableBelow: percent.optional(), diskUsedAbove: percent.optional(),
    interval: z.union([z.string().regex(/^\s*\d+(\.\d+)?\s*(ms|s|m)?\s*$/, { error: 'expected a duration like "5s" or "500ms"' }), z.number().min(100)]).optional(),
    keepImages: positive.optional(),
  }).optional(),
});

export type ValidateResult = { ok: true; config: DevfileConfig } | { ok: false; issues: ValidationIssue[] };

/** Checks the shape, then what a shape cannot say (dependencies, ports, step order). */
export function validateDevfile(value: unknown): ValidateResult {
  const parsed = parseWith(devfileSchema, value);
  // The cross-field checks read the raw value defensively, so a shape error elsewhere does not
  // hide a dependency cycle: the author sees everything in one pass.
  const issues = [...(parsed.ok ? [] : parsed.issues), ...checkDevfile(value)];
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, config: (parsed as { data: DevfileConfig }).data };
}

// Compile-time: the schema accepts exactly the documented shape. Optional fields are made
// required first, because `{ a?: T }` and `{}` are assignable to each other and a field missing
// on one side would otherwise go unnoticed.
type Exact<T> = T extends string | number | boolean | bigint | symbol | null | undefined ? T
  : T extends (...args: never[]) => unknown ? T
  : T extends DevloopPlugin ? T
  : T extends object ? { [K in keyof T]-?: Exact<T[K]> }
  : T;
type Agree<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemaMatchesTypes: Agree<Exact<z.input<typeof devfileSchema>>, Exact<DevfileConfig>> = true;
void schemaMatchesTypes;
