/**
 * Reads a Cloud Run service into a `CloudRunSpec`: from the Knative `Service` YAML that
 * `gcloud run services replace` takes (and `gcloud run services describe --format export` prints),
 * or from a Devfile's inline `cloudRun` options. Both go through the same defaults and the same
 * checks of Cloud Run's rules (`data.ts` holds the numbers).
 *
 * Every field of the file falls in one of four groups:
 * - read: simulated, checked and defaulted;
 * - accepted: printed by gcloud but without local effect (`status`, `uid`, client annotations):
 *   taken silently;
 * - unsupported: a real Cloud Run field the simulator does not reproduce (volumes, sidecars, VPC
 *   access): listed in `spec.unsupported` with its path and why, never dropped silently;
 * - anything else is not part of a Cloud Run Service: an error, with "did you mean" when close.
 *
 * All problems are collected in one pass and thrown together as one `ConfigError`, each issue
 * shaped `service.yaml:12:9 spec.template.spec.containerConcurrency: must be from 1 to 1000, got 2000`.
 * The YAML tree and its reader are in `yaml-tree.ts`; Cloud Run's rules in `rules.ts`.
 */
import { isScalar, LineCounter, parseAllDocuments } from 'yaml';
import { closest, describeValue } from '../../core/devfile/issues.js';
import type { CloudRunServiceConfig } from '../../core/devfile/types.js';
import { ConfigError, type ConfigIssue } from '../../core/errors.js';
import { parseQuantity, toBytes } from '../autopilot/quantity.js';
import { ANNOTATIONS, API_VERSION, CONCURRENCY, DEFAULT_CPU, DEFAULT_MEMORY, DEFAULT_STARTUP_PROBE, KIND, LOCATION_LABEL, PORT, PROBE_DEFAULTS, SCALE, TIMEOUT_SECONDS } from './data.js';
import { checkSpec, type Field, type Where, yamlWhere } from './rules.js';
import type { CloudRunSpec, EnvVar, Probe, SpecNote, TrafficTarget } from './types.js';
import { AliasBomb, bool, child, describe, isNull, list, type MapValue, num, OBJECT_META_ACCEPT, type Pos, Reader, type ScalarValue, type Shape, str, strList, strMap, toValue, type Value, walk } from './yaml-tree.js';

/** The Devfile's inline options, with the service's port and env the caller adds. */
export type InlineOptions = CloudRunServiceConfig & { port?: number; env?: Record<string, string> };

// ---------------------------------------------------------------------------------------------
// Entry points

/** Parses a Service YAML. Throws `ConfigError` listing every problem, each with file:line:column. */
export function parseServiceYaml(text: string, file: string): CloudRunSpec {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, prettyErrors: false });
  const at = (offset: number | undefined): Pos => {
    const { line, col } = lineCounter.linePos(offset ?? 0);
    return { line, column: col };
  };
  const r = new Reader(file, text);
  const list = Array.isArray(docs) ? docs : [];
  for (const doc of list) for (const e of doc.errors) r.error('', e.message.split('\n')[0], at(e.pos[0]));
  if (r.issues.length > 0) {
    throw new ConfigError(r.sortedIssues(), { code: 'CLOUD_RUN_YAML_SYNTAX', hint: `fix the YAML syntax in ${file}` });
  }
  const filled = list.filter((d) => d.contents !== null && !(isScalar(d.contents) && d.contents.value === null));
  if (filled.length === 0) {
    r.error('', `the file is empty; expected a Cloud Run Service (apiVersion: ${API_VERSION}, kind: ${KIND})`, { line: 1, column: 1 });
  } else if (filled.length > 1) {
    r.error('', 'expected one Service per file, but another document starts here; put it in a file of its own', at(filled[1].contents?.range?.[0]));
  }
  if (r.issues.length > 0) throw invalid(r, file);

  const doc = filled[0];
  let root: Value;
  try {
    root = toValue(doc.contents, at(doc.contents?.range?.[0]), doc, at, text, 0);
  } catch (err) {
    if (!(err instanceof AliasBomb)) throw err;
    r.error('', err.message, err.pos);
    throw invalid(r, file);
  }
  if (!checkKind(r, root)) throw invalid(r, file);

  const draft = readService(r, root as MapValue);
  const where = yamlWhere(draft.containerPath, draft);
  const spec = finish(draft, r.notes);
  r.issues.push(...checkSpec(spec, where, r.failed).map((i) => r.locate(i)));
  if (r.issues.length > 0) throw invalid(r, file);
  spec.unsupported = r.sortedNotes();
  return spec;
}

/**
 * The same for a Devfile's inline options (`services.api.cloudRun`). `where` prefixes the paths
 * in messages; `port` and `env` are the service's own (`services.api.port`, `services.api.env`),
 * so when `where` ends in `.cloudRun` their paths drop that segment.
 */
export function specFromInline(name: string, options: InlineOptions, where: string): CloudRunSpec {
  const r = new Reader(undefined, undefined);
  const svc = where.endsWith('.cloudRun') ? where.slice(0, -'.cloudRun'.length) : where;
  const d = newDraft();
  d.name = name;
  const given = new Set<string>();
  const opt = <K extends keyof InlineOptions>(key: K): InlineOptions[K] | undefined => {
    const value = options[key];
    if (value !== undefined) given.add(key === 'port' || key === 'env' ? `${svc}.${key}` : `${where}.${key}`);
    return value;
  };
  const number = (key: 'containerConcurrency' | 'timeoutSeconds' | 'minScale' | 'maxScale'): number | undefined => {
    const value = opt(key);
    if (value === undefined || typeof value === 'number') return value;
    r.error(`${where}.${key}`, `expected a whole number, got ${describeValue(value)}`);
    return undefined;
  };
  d.containerConcurrency = number('containerConcurrency');
  d.timeoutSeconds = number('timeoutSeconds');
  d.minScale = number('minScale');
  d.maxScale = number('maxScale');
  const cpu = opt('cpu');
  if (cpu !== undefined) readCpu(r, cpu, String(cpu), `${where}.cpu`, undefined, d);
  const memory = opt('memory');
  if (memory !== undefined) readMemory(r, memory, String(memory), `${where}.memory`, undefined, d);
  const throttling = opt('cpuThrottling');
  if (throttling !== undefined) {
    if (typeof throttling === 'boolean') d.cpuThrottling = throttling;
    else r.error(`${where}.cpuThrottling`, `expected true or false, got ${describeValue(throttling)}`);
  }
  const port = opt('port');
  if (port !== undefined) {
    if (typeof port === 'number') d.port = { containerPort: port };
    else r.error(`${svc}.port`, `expected a port number, got ${describeValue(port)}`);
  }
  const envPaths: string[] = [];
  for (const [key, value] of Object.entries(opt('env') ?? {})) {
    if (typeof value !== 'string') {
      r.error(`${svc}.env.${key}`, `expected a string, got ${describeValue(value)}`);
      continue;
    }
    d.env.push({ name: key, value });
    envPaths.push(`${svc}.env.${key}`);
  }

  const paths: Record<Field, string> = {
    name: svc, revisionName: where, containerConcurrency: `${where}.containerConcurrency`, timeoutSeconds: `${where}.timeoutSeconds`,
    cpu: `${where}.cpu`, memory: `${where}.memory`, minScale: `${where}.minScale`, maxScale: `${where}.maxScale`,
    cpuThrottling: `${where}.cpuThrottling`, executionEnvironment: where, containerPort: `${svc}.port`, portName: `${svc}.port`,
    env: `${svc}.env`, startupProbe: where, livenessProbe: where, traffic: where,
  };
  const whereInline: Where = { paths, envPaths, portHint: 'port', given: (p) => given.has(p) };
  const spec = finish(d, r.notes);
  r.issues.push(...checkSpec(spec, whereInline, r.failed));
  if (r.issues.length > 0) {
    throw new ConfigError(r.issues, { code: 'CLOUD_RUN_CONFIG_INVALID', hint: `fix ${where} in the Devfile` });
  }
  return spec;
}

/**
 * Cloud Run's rules on a finished spec (for one built or changed elsewhere): the issues found,
 * empty when it is valid. Paths are the YAML's (`spec.template.spec.containerConcurrency`).
 */
export function validateSpec(spec: CloudRunSpec): ConfigIssue[] {
  return checkSpec(spec, yamlWhere('spec.template.spec.containers[0]'), new Set());
}

function invalid(r: Reader, file: string): ConfigError {
  return new ConfigError(r.sortedIssues(), {
    code: 'CLOUD_RUN_SPEC_INVALID',
    hint: `fix ${file}: it must be a Service that "gcloud run services replace" accepts`,
  });
}

// ---------------------------------------------------------------------------------------------
// The draft: what the file (or the options) said, before defaults

export interface DraftProbe {
  kind?: Probe['kind'];
  path?: string;
  port?: number;
  headers?: Record<string, string>;
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
}

export interface Draft {
  name?: string;
  namespace?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  revisionName?: string;
  templateLabels: Record<string, string>;
  templateAnnotations: Record<string, string>;
  image?: string;
  command?: string[];
  args?: string[];
  containerConcurrency?: number;
  timeoutSeconds?: number;
  minScale?: number;
  maxScale?: number;
  /** Service-level bounds (`run.googleapis.com/minScale` on the Service). */
  serviceMinScale?: number;
  serviceMaxScale?: number;
  cpu?: number;
  cpuText?: string;
  memoryBytes?: number;
  memoryText?: string;
  cpuThrottling?: boolean;
  startupCpuBoost?: boolean;
  executionEnvironment?: 'gen1' | 'gen2';
  port?: { containerPort?: number; name?: string };
  env: EnvVar[];
  /** The path of each env var's name, in `env` order. */
  envPaths: string[];
  startupProbe?: DraftProbe;
  livenessProbe?: DraftProbe;
  serviceAccountName?: string;
  traffic?: TrafficTarget[];
  /** `spec.template.spec.containers[N]`: the ingress container. */
  containerPath: string;
  /** Which annotation gave each bound, when one did. */
  minScalePath?: string;
  maxScalePath?: string;
  /** `spec.template.spec.volumes[].name`, and the ingress container's mounts (not simulated, but checked). */
  volumeNames?: string[];
  volumeMounts?: Array<{ name: string; path: string; pos: Pos }>;
}

const newDraft = (): Draft => ({
  labels: {}, annotations: {}, templateLabels: {}, templateAnnotations: {}, env: [], envPaths: [],
  containerPath: 'spec.template.spec.containers[0]',
});

// ---------------------------------------------------------------------------------------------
// The Service YAML

function checkKind(r: Reader, root: Value): boolean {
  if (root.kind !== 'map') {
    r.error('', `expected a Cloud Run Service (a mapping with apiVersion: ${API_VERSION} and kind: ${KIND}), got ${describe(root)}`, root.pos);
    return false;
  }
  const get = (key: string) => root.entries.find((e) => e.key === key);
  const apiVersion = get('apiVersion');
  const kind = get('kind');
  const notService = 'this file is not a Cloud Run service';
  if (!apiVersion) r.error('apiVersion', `missing; a Cloud Run service file has apiVersion: ${API_VERSION} and kind: ${KIND}`, root.pos);
  else if (!(apiVersion.value.kind === 'scalar' && apiVersion.value.value === API_VERSION)) {
    r.error('apiVersion', `expected "${API_VERSION}", got ${describe(apiVersion.value)}; ${notService}`, apiVersion.value.pos);
  }
  if (!kind) r.error('kind', `missing; a Cloud Run service file has apiVersion: ${API_VERSION} and kind: ${KIND}`, root.pos);
  else if (!(kind.value.kind === 'scalar' && kind.value.value === KIND)) {
    const job = kind.value.kind === 'scalar' && kind.value.value === 'Job';
    r.error('kind', `expected "${KIND}", got ${describe(kind.value)}; ${job ? 'Cloud Run jobs are not simulated, only services' : notService}`, kind.value.pos);
  }
  return r.issues.length === 0;
}

function readService(r: Reader, root: MapValue): Draft {
  const d = newDraft();
  r.positions.set('', root.pos);
  walk(r, root, '', {
    read: {
      apiVersion: () => {}, // checked by checkKind
      kind: () => {},
      metadata: (v, p) => walk(r, v, p, {
        read: {
          name: (v, p) => { d.name = str(r, v, p); },
          // The project number is often written unquoted; it is only shown, so take it as text.
          namespace: (v, p) => { d.namespace = v.kind === 'scalar' && typeof v.value === 'number' ? String(v.source ?? v.value) : str(r, v, p); },
          labels: (v, p) => { d.labels = strMap(r, v, p); },
          annotations: (v, p) => { d.annotations = readAnnotations(r, v, p, 'service', d); },
        },
        accept: OBJECT_META_ACCEPT,
      }),
      spec: (v, p) => walk(r, v, p, {
        read: {
          template: (v, p) => walk(r, v, p, {
            read: {
              metadata: (v, p) => walk(r, v, p, {
                read: {
                  name: (v, p) => { d.revisionName = str(r, v, p); },
                  labels: (v, p) => { d.templateLabels = strMap(r, v, p); },
                  annotations: (v, p) => { d.templateAnnotations = readAnnotations(r, v, p, 'template', d); },
                },
                accept: OBJECT_META_ACCEPT,
              }),
              spec: (v, p) => readRevisionSpec(r, v, p, d),
            },
          }),
          traffic: (v, p) => { d.traffic = readTraffic(r, v, p); },
        },
      }),
    },
    accept: ['status'],
  });
  if (!root.entries.some((e) => e.key === 'metadata')) r.positions.set('metadata', root.pos);
  // Template-level bounds win over service-level ones.
  const tmpl = 'spec.template.metadata.annotations';
  d.minScalePath = d.templateAnnotations[ANNOTATIONS.minScale] !== undefined ? child(tmpl, ANNOTATIONS.minScale)
    : d.annotations[ANNOTATIONS.serviceMinScale] !== undefined ? child('metadata.annotations', ANNOTATIONS.serviceMinScale) : undefined;
  d.maxScalePath = d.templateAnnotations[ANNOTATIONS.maxScale] !== undefined ? child(tmpl, ANNOTATIONS.maxScale)
    : d.annotations[ANNOTATIONS.serviceMaxScale] !== undefined ? child('metadata.annotations', ANNOTATIONS.serviceMaxScale) : undefined;
  return d;
}

interface AnnotationRule {
  /** Where Cloud Run reads it: the Service's metadata, the revision template's, or both. */
  level: 'service' | 'template' | 'both';
  /** `read`: simulated; `accept`: no local effect, taken silently; otherwise the reason it is not simulated. */
  use: 'read' | 'accept' | { unsupported: string };
  /** Said when a `read` annotation sits on the wrong level. */
  instead?: string;
}

const A = ANNOTATIONS;
const VPC = 'VPC networking is not simulated; the container reaches the network through the host';
const CMEK = 'customer-managed encryption keys are not simulated';
const ANNOTATION_RULES: Record<string, AnnotationRule> = {
  [A.minScale]: { level: 'template', use: 'read', instead: `use ${A.serviceMinScale} there for a service-wide bound` },
  [A.maxScale]: { level: 'template', use: 'read', instead: `use ${A.serviceMaxScale} there for a service-wide bound` },
  [A.serviceMinScale]: { level: 'service', use: 'read', instead: `use ${A.minScale} there for this revision` },
  [A.serviceMaxScale]: { level: 'service', use: 'read', instead: `use ${A.maxScale} there for this revision` },
  [A.cpuThrottling]: { level: 'template', use: 'read' },
  [A.startupCpuBoost]: { level: 'template', use: 'read' },
  [A.executionEnvironment]: { level: 'template', use: 'read' },
  // Printed by gcloud; nothing to simulate.
  'run.googleapis.com/client-name': { level: 'both', use: 'accept' },
  'run.googleapis.com/client-version': { level: 'both', use: 'accept' },
  'run.googleapis.com/ingress': { level: 'service', use: 'accept' },
  'run.googleapis.com/ingress-status': { level: 'service', use: 'accept' },
  'run.googleapis.com/launch-stage': { level: 'service', use: 'accept' },
  'run.googleapis.com/operation-id': { level: 'service', use: 'accept' },
  'run.googleapis.com/urls': { level: 'service', use: 'accept' },
  'run.googleapis.com/description': { level: 'service', use: 'accept' },
  'run.googleapis.com/creator': { level: 'service', use: 'accept' },
  'run.googleapis.com/lastModifier': { level: 'service', use: 'accept' },
  'serving.knative.dev/creator': { level: 'service', use: 'accept' },
  'serving.knative.dev/lastModifier': { level: 'service', use: 'accept' },
  // The local URL has no IAM check, which is what this asks for.
  'run.googleapis.com/invoker-iam-disabled': { level: 'service', use: 'accept' },
  'run.googleapis.com/base-images': { level: 'both', use: 'accept' },
  'client.knative.dev/user-image': { level: 'both', use: 'accept' },
  // Real settings the simulator does not reproduce.
  'run.googleapis.com/default-url-disabled': { level: 'service', use: { unsupported: 'not simulated; the local URL is always served' } },
  'run.googleapis.com/binary-authorization': { level: 'service', use: { unsupported: 'Binary Authorization is not enforced locally' } },
  'run.googleapis.com/binary-authorization-breakglass': { level: 'service', use: { unsupported: 'Binary Authorization is not enforced locally' } },
  'run.googleapis.com/custom-audiences': { level: 'service', use: { unsupported: 'ID token audiences are not checked locally' } },
  'run.googleapis.com/iap-enabled': { level: 'service', use: { unsupported: 'Identity-Aware Proxy is not simulated; requests reach the service directly' } },
  'run.googleapis.com/scalingMode': { level: 'service', use: { unsupported: 'manual scaling is not simulated; the autoscaler picks the instance count' } },
  'run.googleapis.com/manualInstanceCount': { level: 'service', use: { unsupported: 'manual scaling is not simulated; the autoscaler picks the instance count' } },
  'run.googleapis.com/vpc-access-connector': { level: 'template', use: { unsupported: VPC } },
  'run.googleapis.com/vpc-access-egress': { level: 'template', use: { unsupported: VPC } },
  'run.googleapis.com/network-interfaces': { level: 'template', use: { unsupported: VPC } },
  'run.googleapis.com/cloudsql-instances': { level: 'template', use: { unsupported: 'Cloud SQL connections are not simulated; run the Cloud SQL Auth Proxy locally and point the service at it' } },
  'run.googleapis.com/secrets': { level: 'template', use: { unsupported: 'secret aliases are not simulated; secretKeyRef names are resolved locally as written' } },
  'run.googleapis.com/sessionAffinity': { level: 'template', use: { unsupported: 'session affinity is not simulated; each request goes to any instance with room' } },
  'run.googleapis.com/container-dependencies': { level: 'template', use: { unsupported: 'container start order is not simulated; sidecars do not run' } },
  'run.googleapis.com/encryption-key': { level: 'template', use: { unsupported: CMEK } },
  'run.googleapis.com/encryption-key-shutdown-hours': { level: 'template', use: { unsupported: CMEK } },
  'run.googleapis.com/post-key-revocation-action-type': { level: 'template', use: { unsupported: CMEK } },
  'run.googleapis.com/gpu-zonal-redundancy-disabled': { level: 'template', use: { unsupported: 'GPUs are not simulated' } },
};

/** Annotation prefixes Google and Knative own: an unknown key there is a typo or a setting devloop does not know. */
const OWNED_PREFIXES = ['run.googleapis.com/', 'autoscaling.knative.dev/', 'serving.knative.dev/', 'features.knative.dev/', 'client.knative.dev/'];
/** Set by source deploys (`gcloud run deploy --source`); no local effect. */
const ACCEPTED_PREFIXES = ['run.googleapis.com/build-'];

function readAnnotations(r: Reader, v: Value, path: string, level: 'service' | 'template', d: Draft): Record<string, string> {
  const all = strMap(r, v, path);
  for (const [key, value] of Object.entries(all)) {
    const p = child(path, key);
    const pos = r.positions.get(p);
    const keyPos = r.keys.get(p);
    const rule = ANNOTATION_RULES[key];
    if (rule) {
      if (rule.use === 'read' && rule.level !== 'both' && rule.level !== level) {
        const there = rule.level === 'template' ? 'spec.template.metadata.annotations (the revision template)' : 'metadata.annotations (the Service)';
        r.error(p, `belongs on ${there}; move it there${rule.instead ? `, or ${rule.instead}` : ''}`, keyPos);
      } else if (rule.use === 'read') {
        readAnnotation(r, key, value, p, pos, d);
      } else if (rule.use !== 'accept') {
        r.note(p, rule.use.unsupported, keyPos);
      }
      continue;
    }
    const prefix = OWNED_PREFIXES.find((x) => key.startsWith(x));
    if (!prefix || ACCEPTED_PREFIXES.some((x) => key.startsWith(x))) continue; // the user's own: kept as given
    const known = Object.keys(ANNOTATION_RULES).filter((k) => k.startsWith(prefix));
    const guess = closest(key.slice(prefix.length), known.map((k) => k.slice(prefix.length)));
    if (guess) r.error(p, `unknown annotation (did you mean "${prefix}${guess}"?)`, keyPos);
    else r.note(p, 'not an annotation devloop knows; it has no effect locally', keyPos);
  }
  return all;
}

function readAnnotation(r: Reader, key: string, value: string, path: string, pos: Pos | undefined, d: Draft): void {
  const flag = (): boolean | undefined => {
    if (value === 'true' || value === 'false') return value === 'true';
    r.error(path, `must be "true" or "false", got ${JSON.stringify(value)}`, pos);
    return undefined;
  };
  const count = (): number | undefined => {
    if (/^\d+$/.test(value.trim())) return Number(value.trim());
    r.error(path, `must be a whole number of instances (0 or more), got ${JSON.stringify(value)}`, pos);
    return undefined;
  };
  switch (key) {
    case A.minScale: d.minScale = count(); break;
    case A.maxScale: d.maxScale = count(); break;
    case A.serviceMinScale: d.serviceMinScale = count(); break;
    case A.serviceMaxScale: d.serviceMaxScale = count(); break;
    case A.cpuThrottling: d.cpuThrottling = flag(); break;
    case A.startupCpuBoost: d.startupCpuBoost = flag(); break;
    case A.executionEnvironment:
      if (value === 'gen1' || value === 'gen2') d.executionEnvironment = value;
      else r.error(path, `must be "gen1" or "gen2", got ${JSON.stringify(value)}`, pos);
      break;
  }
}

function readRevisionSpec(r: Reader, v: Value, path: string, d: Draft): void {
  walk(r, v, path, {
    read: {
      containerConcurrency: (v, p) => { d.containerConcurrency = num(r, v, p); },
      timeoutSeconds: (v, p) => { d.timeoutSeconds = num(r, v, p); },
      serviceAccountName: (v, p) => { d.serviceAccountName = str(r, v, p); },
      containers: (v, p) => readContainers(r, v, p, d),
      volumes: (v, p) => {
        r.note(p, 'volumes are not simulated; nothing is mounted from secrets, emptyDir or Cloud Storage', r.keys.get(p));
        d.volumeNames = list(r, v, p).map((item) => nameOf(item)?.value).filter((n): n is string => n !== undefined);
      },
    },
    accept: ['enableServiceLinks'],
    unsupported: {
      nodeSelector: 'GPUs are not simulated; the container runs on the local CPU',
      imagePullSecrets: 'not simulated; images are pulled with the local Docker credentials',
      runtimeClassName: 'not simulated',
    },
  });
  // Cloud Run refuses a mount of a volume the revision does not declare: said here, not at the real deploy.
  const declared = d.volumeNames ?? [];
  for (const m of d.volumeMounts ?? []) {
    if (declared.includes(m.name)) continue;
    const known = declared.length ? `the volumes in ${path}.volumes are ${declared.map((n) => `"${n}"`).join(', ')}` : `${path}.volumes declares none`;
    const guess = closest(m.name, declared);
    r.error(m.path, `no volume named "${m.name}": ${known}${guess ? ` (did you mean "${guess}"?)` : ''}`, m.pos);
  }
}

/** The `name` scalar of a list item (a volume, a volume mount), with where it sits. */
function nameOf(item: Value): { value: string; pos: Pos } | undefined {
  if (item.kind !== 'map') return undefined;
  const e = item.entries.find((x) => x.key === 'name');
  return e && e.value.kind === 'scalar' && typeof e.value.value === 'string' ? { value: e.value.value, pos: e.value.pos } : undefined;
}

function readContainers(r: Reader, v: Value, path: string, d: Draft): void {
  const items = list(r, v, path);
  if (items.length === 0) return; // the Devfile's build gives the image
  // The ingress container is the one with ports (Cloud Run's rule for sidecars); else the first.
  const hasPorts = (item: Value) => item.kind === 'map' && item.entries.some((e) => e.key === 'ports' && !isNull(e.value));
  const withPorts = items.map((item, i) => (hasPorts(item) ? i : -1)).filter((i) => i >= 0);
  const ingress = withPorts[0] ?? 0;
  for (const extra of withPorts.slice(1)) {
    const p = `${path}[${extra}].ports`;
    const item = items[extra] as MapValue;
    const key = item.entries.find((e) => e.key === 'ports')?.keyPos ?? item.pos;
    r.error(p, `only the ingress container may set ports, and containers[${ingress}] already does; remove ports here`, key);
  }
  d.containerPath = `${path}[${ingress}]`;
  items.forEach((item, i) => {
    if (i !== ingress) r.note(`${path}[${i}]`, `sidecar containers are not simulated; only the ingress container (containers[${ingress}]) runs`, item.pos);
  });
  readContainer(r, items[ingress], d.containerPath, d);
}

function readContainer(r: Reader, v: Value, path: string, d: Draft): void {
  walk(r, v, path, {
    read: {
      image: (v, p) => { d.image = str(r, v, p); },
      command: (v, p) => { d.command = strList(r, v, p); },
      args: (v, p) => { d.args = strList(r, v, p); },
      ports: (v, p) => readPorts(r, v, p, d),
      env: (v, p) => readEnv(r, v, p, d),
      resources: (v, p) => walk(r, v, p, {
        read: {
          limits: (v, p) => walk(r, v, p, {
            read: {
              cpu: (v, p) => {
                if (v.kind === 'scalar') readCpu(r, v.value, scalarText(v), p, v.pos, d);
                else r.error(p, `expected a CPU amount such as 1 or 500m, got ${describe(v)}`, v.pos);
              },
              memory: (v, p) => {
                if (v.kind === 'scalar') readMemory(r, v.value, scalarText(v), p, v.pos, d);
                else r.error(p, `expected a memory amount such as 512Mi, got ${describe(v)}`, v.pos);
              },
            },
            unsupported: { 'nvidia.com/gpu': 'GPUs are not simulated; the container runs on the local CPU' },
          }),
        },
        unsupported: { requests: 'not simulated; Cloud Run sizes instances by limits' },
      }),
      startupProbe: (v, p) => { d.startupProbe = readProbe(r, v, p); },
      livenessProbe: (v, p) => { d.livenessProbe = readProbe(r, v, p); },
      volumeMounts: (v, p) => {
        r.note(p, 'volume mounts are not simulated; nothing is mounted at these paths', r.keys.get(p));
        d.volumeMounts = list(r, v, p).flatMap((item, i) => {
          const name = nameOf(item);
          return name ? [{ name: name.value, path: `${p}[${i}].name`, pos: name.pos }] : [];
        });
      },
    },
    accept: ['name', 'terminationMessagePath', 'terminationMessagePolicy', 'imagePullPolicy'],
    unsupported: {
      workingDir: "not simulated; the image's WORKDIR is used",
      envFrom: 'not simulated; only the env list is set',
      readinessProbe: 'readiness probes are not simulated; an instance serves once its startup probe passes',
      securityContext: 'not simulated',
    },
  });
}

const scalarText = (v: ScalarValue): string => (typeof v.value === 'string' ? v.value : v.source ?? String(v.value));

function readPorts(r: Reader, v: Value, path: string, d: Draft): void {
  const items = list(r, v, path);
  if (items.length > 1) {
    r.error(`${path}[1]`, `Cloud Run allows one container port, got ${items.length}; keep only the port the server listens on`, items[1].pos);
  }
  if (items.length === 0) return;
  const port: NonNullable<Draft['port']> = {};
  walk(r, items[0], `${path}[0]`, {
    read: {
      name: (v, p) => { port.name = str(r, v, p); },
      containerPort: (v, p) => { port.containerPort = num(r, v, p); },
      protocol: (v, p) => {
        if (!(v.kind === 'scalar' && v.value === 'TCP')) r.error(p, `must be "TCP", got ${describe(v)}; Cloud Run serves HTTP over TCP only`, v.pos);
      },
    },
  });
  d.port = port;
}

function readEnv(r: Reader, v: Value, path: string, d: Draft): void {
  list(r, v, path).forEach((item, i) => {
    const p = `${path}[${i}]`;
    // Filled by the handlers below.
    const e: { name?: string; value?: string; ref?: { name?: string; key?: string }; hasValue: boolean; hasFrom: boolean } =
      { hasValue: false, hasFrom: false };
    walk(r, item, p, {
      read: {
        name: (v, p) => { e.name = str(r, v, p); },
        value: (v, p) => { e.hasValue = true; e.value = str(r, v, p); },
        valueFrom: (v, p) => {
          e.hasFrom = true;
          walk(r, v, p, {
            read: {
              secretKeyRef: (v, p) => {
                const ref: { name?: string; key?: string } = {};
                e.ref = ref;
                walk(r, v, p, {
                  read: {
                    name: (v, p) => { ref.name = str(r, v, p); },
                    key: (v, p) => { ref.key = str(r, v, p); },
                  },
                  accept: ['optional'],
                });
                if (ref.name === undefined && !r.failed.has(`${p}.name`)) r.error(`${p}.name`, 'missing; name the Secret Manager secret', r.find(p));
                if (ref.key === undefined && !r.failed.has(`${p}.key`)) r.error(`${p}.key`, 'missing; name the secret version, such as "latest"', r.find(p));
              },
            },
            unsupported: { configMapKeyRef: 'Cloud Run has no ConfigMaps; this variable is not set' },
          });
        },
      },
    });
    if (item.kind !== 'map') return;
    if (e.name === undefined) {
      if (!r.failed.has(`${p}.name`)) r.error(`${p}.name`, 'missing; every env var needs a name', item.pos);
      return;
    }
    if (e.hasValue && e.hasFrom) {
      r.error(p, 'set value or valueFrom, not both', item.pos);
      return;
    }
    if (e.hasFrom && !e.ref) return; // only an unsupported source: noted above, the variable is not set
    if (e.hasFrom) {
      // After a bad name or key (already reported) the variable stays, so its name is still checked.
      d.env.push({ name: e.name, secretKeyRef: { name: e.ref?.name ?? '', key: e.ref?.key ?? '' } });
    } else {
      d.env.push({ name: e.name, value: e.value ?? '' });
    }
    d.envPaths.push(`${p}.name`);
  });
}

const HANDLERS = { tcpSocket: 'tcp', httpGet: 'http', grpc: 'grpc' } as const;

function readProbe(r: Reader, v: Value, path: string): DraftProbe {
  const probe: DraftProbe = {};
  const handlers: string[] = [];
  const port = (v: Value, p: string) => { probe.port = num(r, v, p); };
  const handler = (key: keyof typeof HANDLERS, shape: Shape) => (v: Value, p: string) => {
    handlers.push(key);
    probe.kind = HANDLERS[key];
    walk(r, v, p, shape);
  };
  walk(r, v, path, {
    read: {
      tcpSocket: handler('tcpSocket', { read: { port }, unsupported: { host: 'not simulated; the probe connects to the instance' } }),
      httpGet: handler('httpGet', {
        read: {
          port,
          path: (v, p) => { probe.path = str(r, v, p); },
          httpHeaders: (v, p) => {
            const headers: Record<string, string> = {};
            list(r, v, p).forEach((h, i) => {
              const hp = `${p}[${i}]`;
              const header: { name?: string; value?: string } = {};
              walk(r, h, hp, {
                read: { name: (v, p) => { header.name = str(r, v, p); }, value: (v, p) => { header.value = str(r, v, p); } },
              });
              if (h.kind === 'map' && header.name === undefined && !r.failed.has(`${hp}.name`)) r.error(`${hp}.name`, 'missing; every header needs a name', h.pos);
              if (header.name !== undefined) headers[header.name] = header.value ?? '';
            });
            probe.headers = headers;
          },
        },
        unsupported: { host: 'not simulated; the probe calls the instance', scheme: 'not simulated; probes use plain HTTP as on Cloud Run' },
      }),
      grpc: handler('grpc', { read: { port }, unsupported: { service: 'not simulated; the probe checks the server\'s overall health' } }),
      initialDelaySeconds: (v, p) => { probe.initialDelaySeconds = num(r, v, p); },
      periodSeconds: (v, p) => { probe.periodSeconds = num(r, v, p); },
      timeoutSeconds: (v, p) => { probe.timeoutSeconds = num(r, v, p); },
      failureThreshold: (v, p) => { probe.failureThreshold = num(r, v, p); },
    },
    accept: ['successThreshold'],
    unsupported: { terminationGracePeriodSeconds: 'not simulated; a failed instance gets the usual 10 s grace' },
    refused: { exec: 'exec probes are not supported by Cloud Run; use tcpSocket, httpGet or grpc' },
  });
  if (handlers.length > 1) r.error(path, `set only one of tcpSocket, httpGet or grpc; this probe sets ${handlers.join(' and ')}`, r.find(path));
  return probe;
}

function readTraffic(r: Reader, v: Value, path: string): TrafficTarget[] {
  return list(r, v, path).map((item, i) => {
    const t: TrafficTarget = { percent: 0 };
    walk(r, item, `${path}[${i}]`, {
      read: {
        revisionName: (v, p) => { t.revisionName = str(r, v, p); },
        latestRevision: (v, p) => { t.latestRevision = bool(r, v, p); },
        percent: (v, p) => { t.percent = num(r, v, p) ?? 0; },
        tag: (v, p) => { t.tag = str(r, v, p); },
      },
      accept: ['url'],
      unsupported: { configurationName: 'not simulated; name a revision or use latestRevision: true' },
    });
    return t;
  });
}

// ---------------------------------------------------------------------------------------------
// CPU and memory amounts (shared by the YAML and the inline options)

function readCpu(r: Reader, raw: unknown, text: string, path: string, pos: Pos | undefined, d: Draft): void {
  try {
    if (typeof raw !== 'string' && typeof raw !== 'number') throw new Error('not a quantity');
    d.cpu = Number(parseQuantity(raw).nano) / 1e9;
    d.cpuText = text;
  } catch {
    r.error(path, `${JSON.stringify(text)} is not a CPU amount; write vCPUs such as 1, 2 or 500m`, pos);
  }
}

function readMemory(r: Reader, raw: unknown, text: string, path: string, pos: Pos | undefined, d: Draft): void {
  try {
    if (typeof raw !== 'string' && typeof raw !== 'number') throw new Error('not a quantity');
    d.memoryBytes = toBytes(parseQuantity(raw));
    d.memoryText = text;
  } catch {
    r.error(path, `${JSON.stringify(text)} is not a memory amount; write it with Mi or Gi, such as 512Mi or 2Gi`, pos);
  }
}

// ---------------------------------------------------------------------------------------------
// Defaults

function finish(d: Draft, notes: SpecNote[]): CloudRunSpec {
  const cpu = d.cpu ?? Number(DEFAULT_CPU);
  const containerPort = d.port?.containerPort ?? PORT.default;
  const probe = (p: DraftProbe | undefined): Probe | undefined => p && {
    kind: p.kind ?? 'tcp', // a probe with no handler is a TCP probe, as in Knative
    ...(p.kind === 'http' ? { path: p.path ?? '/' } : {}),
    port: p.port ?? containerPort,
    ...(p.headers && Object.keys(p.headers).length > 0 ? { headers: p.headers } : {}),
    initialDelaySeconds: p.initialDelaySeconds ?? PROBE_DEFAULTS.initialDelaySeconds,
    periodSeconds: p.periodSeconds ?? PROBE_DEFAULTS.periodSeconds,
    timeoutSeconds: p.timeoutSeconds ?? PROBE_DEFAULTS.timeoutSeconds,
    failureThreshold: p.failureThreshold ?? PROBE_DEFAULTS.failureThreshold,
  };
  const livenessProbe = probe(d.livenessProbe);
  return {
    name: d.name ?? '',
    ...(d.namespace !== undefined ? { namespace: d.namespace } : {}),
    labels: d.labels,
    annotations: d.annotations,
    ...(d.labels[LOCATION_LABEL] !== undefined ? { region: d.labels[LOCATION_LABEL] } : {}),
    template: {
      ...(d.revisionName !== undefined ? { name: d.revisionName } : {}),
      ...(d.image !== undefined ? { image: d.image } : {}),
      ...(d.command !== undefined ? { command: d.command } : {}),
      ...(d.args !== undefined ? { args: d.args } : {}),
      containerConcurrency: d.containerConcurrency ?? (cpu < 1 ? CONCURRENCY.defaultBelowOneCpu : CONCURRENCY.default),
      timeoutSeconds: d.timeoutSeconds ?? TIMEOUT_SECONDS.default,
      minScale: d.minScale ?? d.serviceMinScale ?? SCALE.minDefault,
      maxScale: d.maxScale ?? d.serviceMaxScale ?? SCALE.maxDefault,
      cpu,
      memoryBytes: d.memoryBytes ?? toBytes(parseQuantity(DEFAULT_MEMORY)),
      cpuText: d.cpuText ?? DEFAULT_CPU,
      memoryText: d.memoryText ?? DEFAULT_MEMORY,
      cpuThrottling: d.cpuThrottling ?? true,
      startupCpuBoost: d.startupCpuBoost ?? false,
      ...(d.executionEnvironment !== undefined ? { executionEnvironment: d.executionEnvironment } : {}),
      // The name is checked by checkSpec before the spec is returned.
      port: { containerPort, name: (d.port?.name ?? PORT.defaultName) as 'http1' | 'h2c' },
      env: d.env,
      startupProbe: probe(d.startupProbe) ?? { ...DEFAULT_STARTUP_PROBE, port: containerPort },
      ...(livenessProbe ? { livenessProbe } : {}),
      labels: d.templateLabels,
      annotations: d.templateAnnotations,
      ...(d.serviceAccountName !== undefined ? { serviceAccountName: d.serviceAccountName } : {}),
    },
    traffic: d.traffic && d.traffic.length > 0 ? d.traffic : [{ latestRevision: true, percent: 100 }],
    unsupported: notes,
  };
}
