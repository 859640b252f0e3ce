/**
 * Parity: what devloop renders for an environment (the objects `renderProduction` returns) against
 * what production runs (`kubectl get -o yaml`, `gcloud run services describe --format export`).
 *
 * Each side is reduced to a behaviour model per workload (kind/name): per container the image,
 * entrypoint, env, resources, probes and ports; per pod the scaling (replicas or the HPA that
 * targets it), Cloud Run's concurrency, timeout, instance bounds and CPU annotations, and the
 * termination grace period. Only fields read into the model can differ, so status, managed
 * fields, uids, generated names and server-set annotations never show. Absent fields take the
 * value Kubernetes or Cloud Run gives them (../cloud-run/data.ts), so an export where the server
 * wrote a default out is equal to a render that left it unset.
 *
 * Image tags and digests: the render has the reference a running session pushed (or the bare name
 * when none did) and production a digest from its last deploy, so they differ all the time without
 * a change of behaviour. A different repository is a difference; the same repository at another
 * tag or digest is a note (`notes`), printed but not failing the check. A bare local name (`api`,
 * never pushed) matches a production repository ending in `/api`.
 *
 * Pure: no I/O; bin/commands/parity.ts reads the files and prints.
 */
import { parseQuantity } from '../autopilot/quantity.js';
import { repositoryOf } from '../kubernetes/manifests.js';
import { ANNOTATIONS, CONCURRENCY, DEFAULT_CPU, DEFAULT_MEMORY, DEFAULT_STARTUP_PROBE, PORT, PROBE_DEFAULTS, SCALE, TIMEOUT_SECONDS } from '../cloud-run/data.js';

export interface ParityDifference {
  /** `Deployment/api`, `Service/api` (a Knative Service). */
  workload: string;
  /** What differs: `env var LOG_LEVEL`, `memory limit`, `concurrency`, `readiness probe path`, `request timeout`. */
  what: string;
  /** Where it is (or would be) in the rendered object: `spec.template.spec.containers[name=api].env[name=LOG_LEVEL].value`. */
  localPath: string;
  /** The same in the production object. */
  prodPath: string;
  /** The value devloop renders; undefined when not set. */
  local: unknown;
  /** The value production has; undefined when not set. */
  prod: unknown;
  /** A side whose value is the platform default, the field being unset there. */
  defaulted?: { local?: boolean; prod?: boolean };
}

export interface ParityReport {
  /** Differences that change behaviour. */
  differences: ParityDifference[];
  /** Differences that do not (an image's tag or digest): shown, never failing. */
  notes: ParityDifference[];
}

type Obj = Record<string, unknown>;

interface Entry {
  what: string;
  /** Names the prefix in `Model.anchors` the path is relative to. */
  anchor: string;
  rel: string;
  /** Shown value; undefined when not set. */
  value: unknown;
  /** What is compared (quantities as nano-units, defaults filled). */
  key: string;
  defaulted?: boolean;
  /** Entries under a head entry (a probe's fields) are not compared when the head differs. */
  parent?: string;
}

interface Model {
  workload: string;
  anchors: Map<string, string>;
  entries: Map<string, Entry>;
  images: Map<string, { anchor: string; image: string }>;
}

const POD_KINDS: Record<string, string[]> = {
  Deployment: ['spec', 'template'], StatefulSet: ['spec', 'template'], DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'], Job: ['spec', 'template'], CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};
const SCALABLE = new Set(['Deployment', 'StatefulSet', 'ReplicaSet']);
/** Kubernetes' defaults for fields a pod template leaves out. */
const K8S = { replicas: 1, hpaMinReplicas: 1, hpaCpuUtilization: 80, terminationGracePeriodSeconds: 30, serviceAccountName: 'default', successThreshold: 1 };

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);
const at = (o: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((v, k) => (isObj(v) ? v[k] : undefined), o);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
const annotation = (key: string): string => `annotations["${key}"]`;

export const isKnativeService = (o: Obj): boolean => o.kind === 'Service' && typeof o.apiVersion === 'string' && o.apiVersion.startsWith('serving.knative.dev/');
/** Pod-bearing objects and Knative Services; a controller-owned one (a Deployment's ReplicaSet) is generated, not declared. */
export const isWorkload = (o: Obj): boolean =>
  (isKnativeService(o) || typeof o.kind === 'string' && (o.kind in POD_KINDS || o.kind === 'Pod')) && list(at(o, 'metadata', 'ownerReferences')).length === 0;

/** Objects out of parsed YAML documents: `kind: List` (and `*List`) flattened, nulls dropped. */
export function flattenObjects(docs: unknown[]): Obj[] {
  const out: Obj[] = [];
  for (const d of docs) {
    if (!isObj(d)) continue;
    if (typeof d.kind === 'string' && d.kind.endsWith('List') && Array.isArray(d.items)) out.push(...flattenObjects(d.items));
    else out.push(d);
  }
  return out;
}

export function parityDifferences(expected: object[], actual: object[]): ParityDifference[] {
  return parityReport(expected, actual).differences;
}

export function parityReport(expected: object[], actual: object[]): ParityReport {
  const local = workloads(flattenObjects(expected));
  const prod = workloads(flattenObjects(actual));
  const report: ParityReport = { differences: [], notes: [] };
  for (const [workload, l] of local) {
    const p = prod.get(workload);
    if (!p) {
      report.differences.push({ workload, what: 'missing in production', localPath: 'metadata.name', prodPath: '(none)', local: workload, prod: undefined });
      continue;
    }
    // One container on each side pairs whatever its name (Cloud Run exports often name none).
    const pairSingle = list(at(podOf(l.object).pod, 'containers')).length === 1 && list(at(podOf(p.object).pod, 'containers')).length === 1;
    compareModels(modelOf(workload, l.object, l.hpa, pairSingle), modelOf(workload, p.object, p.hpa, pairSingle), report);
  }
  for (const workload of prod.keys()) {
    if (!local.has(workload)) report.differences.push({ workload, what: 'only in production', localPath: '(none)', prodPath: 'metadata.name', local: undefined, prod: workload });
  }
  return report;
}

function compareModels(l: Model, p: Model, report: ParityReport): void {
  const differs = new Set<string>();
  // A field one side lacks is shown where it would be on that side, when that side has the object holding it.
  const pathOf = (m: Model, e: Entry): string => (m.anchors.has(e.anchor) ? `${m.anchors.get(e.anchor)}${e.rel}`.replace(/^\./, '') : `(no ${e.anchor === 'hpa' ? 'HorizontalPodAutoscaler' : e.anchor})`);
  for (const key of new Set([...l.entries.keys(), ...p.entries.keys()])) {
    const le = l.entries.get(key);
    const pe = p.entries.get(key);
    const e = (le ?? pe)!;
    // A container on one side only is one difference, not one per field of it.
    if (e.anchor.startsWith('container:') && (!l.anchors.has(e.anchor) || !p.anchors.has(e.anchor)) && e.what !== containerWhat(e.anchor)) continue;
    if (e.parent && differs.has(e.parent)) continue;
    if (le?.key === pe?.key) continue;
    differs.add(key);
    const defaulted = { ...(le?.defaulted ? { local: true } : {}), ...(pe?.defaulted ? { prod: true } : {}) };
    report.differences.push({
      workload: l.workload, what: e.what,
      localPath: pathOf(l, le ?? e), prodPath: pathOf(p, pe ?? e),
      local: le?.value, prod: pe?.value,
      ...(Object.keys(defaulted).length ? { defaulted } : {}),
    });
  }
  for (const [anchor, li] of l.images) {
    const pi = p.images.get(anchor);
    if (!pi || li.image === pi.image) continue;
    const d: ParityDifference = { workload: l.workload, what: 'image', localPath: `${l.anchors.get(anchor)}.image`, prodPath: `${p.anchors.get(anchor)}.image`, local: li.image, prod: pi.image };
    if (sameRepository(li.image, pi.image)) report.notes.push({ ...d, what: 'image tag or digest' });
    else report.differences.push({ ...d, what: 'image repository' });
  }
}

function sameRepository(local: string, prod: string): boolean {
  const l = repositoryOf(local);
  const p = repositoryOf(prod);
  return l === p || (!l.includes('/') && p.endsWith(`/${l}`));
}

/** Workloads by kind/name, each with the HPA whose scaleTargetRef names it. */
export function workloads(objects: Obj[]): Map<string, { object: Obj; hpa?: Obj }> {
  const hpas = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler');
  const out = new Map<string, { object: Obj; hpa?: Obj }>();
  for (const o of objects.filter(isWorkload)) {
    const hpa = hpas.find((h) => at(h, 'spec', 'scaleTargetRef', 'kind') === o.kind && at(h, 'spec', 'scaleTargetRef', 'name') === at(o, 'metadata', 'name'));
    out.set(`${String(o.kind)}/${String(at(o, 'metadata', 'name'))}`, { object: o, hpa });
  }
  return out;
}

function podOf(o: Obj): { templatePath: string; podPath: string; template: unknown; pod: unknown } {
  const templateKeys = isKnativeService(o) ? ['spec', 'template'] : o.kind === 'Pod' ? [] : POD_KINDS[String(o.kind)];
  const templatePath = templateKeys.join('.');
  const template = templateKeys.length ? at(o, ...templateKeys) : o;
  return { templatePath, podPath: templatePath ? `${templatePath}.spec` : 'spec', template, pod: at(template, 'spec') };
}

function modelOf(workload: string, o: Obj, hpa: Obj | undefined, pairSingle: boolean): Model {
  const knative = isKnativeService(o);
  const { templatePath, podPath, template, pod } = podOf(o);
  const m: Model = { workload, anchors: new Map([['object', ''], ['pod', podPath], ['template', templatePath]]), entries: new Map(), images: new Map() };
  const add = (e: Omit<Entry, 'key'> & { key?: string }): void => {
    m.entries.set(entryKey(e.anchor, e.what), { ...e, key: e.key ?? JSON.stringify(e.value ?? null) });
  };
  const containers = list(at(pod, 'containers'));
  const single = pairSingle;
  containers.forEach((c, i) => {
    const name = str(c.name);
    const anchor = `container:${single ? '' : name ?? i}`;
    m.anchors.set(anchor, `${podPath}.containers[${name ? `name=${name}` : i}]`);
    containerEntries(c, anchor, knative, add, single ? '' : `container ${name ?? i}: `);
    if (typeof c.image === 'string') m.images.set(anchor, { anchor, image: c.image });
  });
  if (knative) knativeEntries(o, template, containers, add);
  else kubernetesEntries(o, pod, hpa, m, add);
  return m;
}

type Add = (e: Omit<Entry, 'key'> & { key?: string }) => void;

function containerWhat(anchor: string): string {
  return `container ${anchor.slice('container:'.length)}`.trim();
}

/** Entries of a container compare with the same container's; pod-level ones whatever object holds them (the HPA, or spec.replicas). */
const scopeOf = (anchor: string): string => (anchor.startsWith('container:') ? anchor : 'pod');
const entryKey = (anchor: string, what: string): string => `${scopeOf(anchor)}|${what}`;

function containerEntries(c: Obj, anchor: string, knative: boolean, add: Add, prefix: string): void {
  add({ what: containerWhat(anchor), anchor, rel: '', value: 'present' });
  for (const field of ['command', 'args'] as const) {
    const v = Array.isArray(c[field]) ? (c[field] as unknown[]).map(String) : undefined;
    add({ what: `${prefix}entrypoint ${field}`, anchor, rel: `.${field}`, value: v, key: JSON.stringify(v ?? null) });
  }
  const env = new Map<string, Obj>();
  for (const e of list(c.env)) if (typeof e.name === 'string') env.set(e.name, e); // the last of a name wins, as in the kubelet
  for (const [name, e] of env) {
    const [rel, value] = envValue(e);
    add({ what: `${prefix}env var ${name}`, anchor, rel: `.env[name=${name}]${rel}`, value });
  }
  if (list(c.envFrom).length) add({ what: `${prefix}envFrom`, anchor, rel: '.envFrom', value: list(c.envFrom), key: JSON.stringify(list(c.envFrom).map(sortKeys).sort()) });
  resourceEntries(c, anchor, knative, add, prefix);
  const ports = portsOf(c, knative);
  add({ what: `${prefix}ports`, anchor, rel: '.ports', value: ports.map((p) => p.text), key: JSON.stringify(ports.map((p) => p.text).sort()), defaulted: knative && list(c.ports).length === 0 });
  for (const kind of ['readiness', 'liveness', 'startup'] as const) probeEntries(c, kind, anchor, ports, knative, add, prefix);
}

function envValue(e: Obj): [string, unknown] {
  if ('value' in e || !isObj(e.valueFrom)) return ['.value', str(e.value) ?? ''];
  const from = e.valueFrom;
  for (const [key, shown] of [['secretKeyRef', 'secret'], ['configMapKeyRef', 'configMap'], ['fieldRef', 'field'], ['resourceFieldRef', 'resource']] as const) {
    const ref = from[key];
    // A secret is named by its reference (name, key or Secret Manager version), never its value.
    if (isObj(ref)) return [`.valueFrom.${key}`, { [shown]: sortKeys(ref) }];
  }
  return ['.valueFrom', sortKeys(from)];
}

function sortKeys(o: Obj): Obj {
  return Object.fromEntries(Object.keys(o).sort().map((k) => [k, isObj(o[k]) ? sortKeys(o[k] as Obj) : o[k]]));
}

function quantityKey(v: unknown): string {
  try {
    return `q${parseQuantity(v as string | number).nano}`;
  } catch {
    return JSON.stringify(v);
  }
}

function resourceEntries(c: Obj, anchor: string, knative: boolean, add: Add, prefix: string): void {
  const limits = { ...(at(c, 'resources', 'limits') as Obj | undefined) };
  const requests = { ...(at(c, 'resources', 'requests') as Obj | undefined) };
  const defaulted = new Set<string>();
  if (knative) {
    // Cloud Run sizes an instance by its limits, 1 CPU and 512Mi when unset; requests do not matter.
    for (const [k, d] of [['cpu', DEFAULT_CPU], ['memory', DEFAULT_MEMORY]] as const) if (limits[k] === undefined) { limits[k] = d; defaulted.add(`limits.${k}`); }
    for (const k of Object.keys(requests)) delete requests[k];
  } else {
    // The API server copies a limit to an unset request.
    for (const [k, v] of Object.entries(limits)) if (requests[k] === undefined) { requests[k] = v; defaulted.add(`requests.${k}`); }
  }
  for (const [field, values, word] of [['requests', requests, 'request'], ['limits', limits, 'limit']] as const) {
    for (const [k, v] of Object.entries(values)) {
      add({ what: `${prefix}${k} ${word}`, anchor, rel: `.resources.${field}.${k}`, value: str(v), key: quantityKey(v), defaulted: defaulted.has(`${field}.${k}`) });
    }
  }
}

interface Port { number: number; name?: string; text: string }

function portsOf(c: Obj, knative: boolean): Port[] {
  const declared = list(c.ports);
  if (knative) {
    const p = declared[0] ?? {};
    const number = typeof p.containerPort === 'number' ? p.containerPort : PORT.default;
    const name = str(p.name) ?? PORT.defaultName;
    return [{ number, name, text: `${number} ${name}` }];
  }
  return declared.filter((p) => typeof p.containerPort === 'number').map((p) => ({
    number: p.containerPort as number, name: str(p.name), text: `${String(p.containerPort)}/${str(p.protocol) ?? 'TCP'}`,
  }));
}

const HANDLERS = ['httpGet', 'tcpSocket', 'exec', 'grpc'] as const;

function probeEntries(c: Obj, kind: 'readiness' | 'liveness' | 'startup', anchor: string, ports: Port[], knative: boolean, add: Add, prefix: string): void {
  const field = `${kind}Probe`;
  let probe = isObj(c[field]) ? c[field] as Obj : undefined;
  let defaulted = false;
  if (!probe && knative && kind === 'startup') {
    // What Cloud Run gives a revision without one, and writes into its export.
    const { initialDelaySeconds, timeoutSeconds, periodSeconds, failureThreshold } = DEFAULT_STARTUP_PROBE;
    probe = { tcpSocket: { port: ports[0]?.number ?? PORT.default }, initialDelaySeconds, timeoutSeconds, periodSeconds, failureThreshold };
    defaulted = true;
  }
  const head = `${prefix}${kind} probe`;
  const handler = probe ? HANDLERS.find((h) => isObj(probe![h])) : undefined;
  if (!probe || !handler) {
    add({ what: head, anchor, rel: `.${field}`, value: undefined, key: 'none' });
    return;
  }
  const h = probe[handler] as Obj;
  const port = (v: unknown): unknown => (typeof v === 'string' ? ports.find((p) => p.name === v)?.number ?? v : v ?? (handler === 'grpc' || knative ? ports[0]?.number : undefined));
  const fields: Record<string, [string, unknown]> = {
    port: [`.${handler}.port`, port(h.port)],
    ...(handler === 'httpGet' ? {
      path: ['.httpGet.path', str(h.path) || '/'],
      scheme: ['.httpGet.scheme', str(h.scheme) ?? 'HTTP'],
      headers: ['.httpGet.httpHeaders', list(h.httpHeaders).map((x) => `${String(x.name)}: ${String(x.value)}`).sort()],
    } : {}),
    ...(handler === 'exec' ? { command: ['.exec.command', Array.isArray(h.command) ? h.command.map(String) : []] } : {}),
    ...(handler === 'grpc' ? { service: ['.grpc.service', str(h.service) ?? ''] } : {}),
  };
  const defaults: Record<string, number> = { ...PROBE_DEFAULTS, successThreshold: K8S.successThreshold };
  add({ what: head, anchor, rel: `.${field}.${handler}`, value: handler, defaulted });
  for (const [name, [rel, value]] of Object.entries(fields)) add({ what: `${head} ${name}`, anchor, rel: `.${field}${rel}`, value, parent: entryKey(anchor, head), defaulted });
  for (const [name, d] of Object.entries(defaults)) {
    const set = typeof probe[name] === 'number';
    add({ what: `${head} ${name}`, anchor, rel: `.${field}.${name}`, value: set ? probe[name] : d, parent: entryKey(anchor, head), defaulted: defaulted || !set });
  }
}

function knativeEntries(svc: Obj, template: unknown, containers: Obj[], add: Add): void {
  const spec = at(template, 'spec');
  const ann = (at(template, 'metadata', 'annotations') ?? {}) as Obj;
  const serviceAnn = (at(svc, 'metadata', 'annotations') ?? {}) as Obj;
  const number = (v: unknown): number | undefined => (v === undefined || v === null || v === '' ? undefined : Number(v));
  // Below 1 CPU, Cloud Run's default concurrency is 1.
  let cpu = 1;
  try {
    const limit = containers.map((c) => at(c, 'resources', 'limits', 'cpu')).find((v) => v !== undefined);
    if (limit !== undefined) cpu = Number(parseQuantity(limit as string | number).nano) / 1e9;
  } catch { /* an unreadable CPU is compared as a resource; the default stays */ }
  const cc = number(at(spec, 'containerConcurrency'));
  add({ what: 'concurrency', anchor: 'pod', rel: '.containerConcurrency', value: cc ?? (cpu < 1 ? CONCURRENCY.defaultBelowOneCpu : CONCURRENCY.default), defaulted: cc === undefined });
  const timeout = number(at(spec, 'timeoutSeconds'));
  add({ what: 'request timeout', anchor: 'pod', rel: '.timeoutSeconds', value: timeout ?? TIMEOUT_SECONDS.default, defaulted: timeout === undefined });
  // The revision's bounds win over the Service's.
  for (const [what, revision, service, d] of [
    ['min instances', ANNOTATIONS.minScale, ANNOTATIONS.serviceMinScale, SCALE.minDefault],
    ['max instances', ANNOTATIONS.maxScale, ANNOTATIONS.serviceMaxScale, SCALE.maxDefault],
  ] as const) {
    const r = number(ann[revision]);
    const s = number(serviceAnn[service]);
    if (r !== undefined || s === undefined) add({ what, anchor: 'template', rel: `.metadata.${annotation(revision)}`, value: r ?? d, defaulted: r === undefined });
    else add({ what, anchor: 'object', rel: `metadata.${annotation(service)}`, value: s });
  }
  for (const [what, key, d] of [
    ['cpu throttling', ANNOTATIONS.cpuThrottling, 'true'],
    ['startup cpu boost', ANNOTATIONS.startupCpuBoost, 'false'],
    ['execution environment', ANNOTATIONS.executionEnvironment, undefined],
  ] as const) {
    const v = str(ann[key]);
    add({ what, anchor: 'template', rel: `.metadata.${annotation(key)}`, value: v ?? d, defaulted: v === undefined && d !== undefined });
  }
}

function kubernetesEntries(o: Obj, pod: unknown, hpa: Obj | undefined, m: Model, add: Add): void {
  const grace = at(pod, 'terminationGracePeriodSeconds');
  add({ what: 'termination grace period', anchor: 'pod', rel: '.terminationGracePeriodSeconds', value: grace ?? K8S.terminationGracePeriodSeconds, defaulted: grace === undefined });
  const sa = str(at(pod, 'serviceAccountName'));
  add({ what: 'service account', anchor: 'pod', rel: '.serviceAccountName', value: sa ?? K8S.serviceAccountName, defaulted: sa === undefined });
  if (!SCALABLE.has(String(o.kind))) return;
  if (!hpa) {
    // Without an HPA, spec.replicas is the scale; with one, it is whatever the HPA set last.
    const replicas = at(o, 'spec', 'replicas');
    for (const what of ['min replicas', 'max replicas']) add({ what, anchor: 'object', rel: 'spec.replicas', value: replicas ?? K8S.replicas, defaulted: replicas === undefined });
    add({ what: 'autoscaling', anchor: 'object', rel: 'spec.replicas', value: 'fixed replicas' });
    return;
  }
  m.anchors.set('hpa', `HorizontalPodAutoscaler/${String(at(hpa, 'metadata', 'name'))}:spec`);
  const min = at(hpa, 'spec', 'minReplicas');
  add({ what: 'min replicas', anchor: 'hpa', rel: '.minReplicas', value: min ?? K8S.hpaMinReplicas, defaulted: min === undefined });
  add({ what: 'max replicas', anchor: 'hpa', rel: '.maxReplicas', value: at(hpa, 'spec', 'maxReplicas') });
  add({ what: 'autoscaling', anchor: 'hpa', rel: '', value: 'HorizontalPodAutoscaler' });
  for (const t of hpaTargets(hpa)) add({ what: `autoscaling target ${t.metric}`, anchor: 'hpa', rel: t.rel, value: t.value, key: t.key, parent: entryKey('hpa', 'autoscaling'), defaulted: t.defaulted });
}

function hpaTargets(hpa: Obj): { metric: string; rel: string; value: string; key: string; defaulted?: boolean }[] {
  const v1 = at(hpa, 'spec', 'targetCPUUtilizationPercentage');
  const metrics = list(at(hpa, 'spec', 'metrics'));
  // autoscaling/v1 has one CPU target; v2 (and v2beta*) a list; neither set means 80% CPU.
  if (metrics.length === 0) {
    const value = `${String(v1 ?? K8S.hpaCpuUtilization)}% utilization`;
    return [{ metric: 'cpu', rel: v1 !== undefined ? '.targetCPUUtilizationPercentage' : '.metrics', value, key: value, defaulted: v1 === undefined }];
  }
  return metrics.map((metric, i) => {
    const type = str(metric.type) ?? 'Resource';
    const body = (metric[type.charAt(0).toLowerCase() + type.slice(1)] ?? {}) as Obj;
    const name = str(at(body, 'name')) ?? str(at(body, 'metric', 'name')) ?? type;
    const target = (body.target ?? {}) as Obj;
    const value = target.averageUtilization !== undefined ? `${String(target.averageUtilization)}% utilization` : target.averageValue !== undefined ? `average ${String(target.averageValue)}` : `value ${String(target.value)}`;
    const key = target.averageUtilization !== undefined ? value : `${String(target.type)}:${quantityKey(target.averageValue ?? target.value)}`;
    return { metric: name, rel: `.metrics[${i}]`, value, key };
  });
}
