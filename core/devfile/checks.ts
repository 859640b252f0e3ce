/**
 * What the schema's shape cannot say: dependencies that name no service or go round in a
 * circle, model names that clash with a service or each other, a cluster model without an
 * image, the order of live-update steps, fixed host ports claimed twice, and `cloudRun` settings
 * that nothing would read. These read the raw value and skip anything malformed, which the schema
 * reports on its own.
 */
import { suggest, type ValidationIssue } from './issues.js';

type Obj = Record<string, unknown>;

export function checkDevfile(value: unknown): ValidationIssue[] {
  if (!isObj(value) || !isObj(value.services)) return [];
  const services = value.services;
  const models = modelsOf(value.ai);
  // Models become services once loaded (model-services.ts): dependencies and tests may name them.
  const named: Obj = { ...Object.fromEntries(models.flatMap((m) => (typeof m.name === 'string' ? [[m.name, {}]] : []))), ...services };
  return [
    ...checkModels(services, models),
    ...checkDependencies(named),
    ...Object.entries(services).flatMap(([name, svc]) => (isObj(svc) ? checkLiveUpdate(`services.${name}`, svc.liveUpdate) : [])),
    ...Object.entries(services).flatMap(([name, svc]) => (isObj(svc) ? checkCloudRunEffect(`services.${name}`, svc) : [])),
    ...Object.entries(services).flatMap(([name, svc]) => (isObj(svc) ? checkK8s(`services.${name}`, svc.k8s) : [])),
    ...checkHostPorts(services, value.monitoring, value.dashboard),
    ...checkTests(named, value.tests),
  ];
}

/** `ai.modelServing.models`, the entries that are objects, with their index. */
function modelsOf(ai: unknown): (Obj & { index: number })[] {
  const serving = isObj(ai) ? ai.modelServing : undefined;
  if (!isObj(serving) || !Array.isArray(serving.models)) return [];
  return serving.models.flatMap((m, index) => (isObj(m) ? [{ ...m, index }] : []));
}

/** Each model is served as the service of its name, so a name must be free; on a cluster it runs from an image. */
function checkModels(services: Obj, models: (Obj & { index: number })[]): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const first = new Map<string, number>();
  for (const m of models) {
    const at = `ai.modelServing.models.${m.index}`;
    if (typeof m.name === 'string') {
      if (Object.hasOwn(services, m.name)) {
        issues.push({ path: `${at}.name`, message: `"${m.name}" is already the name of a service (services.${m.name}); a model is served as a service of its own name: rename the model or the service` });
      } else if (first.has(m.name)) {
        issues.push({ path: `${at}.name`, message: `"${m.name}" is already the name of ai.modelServing.models.${first.get(m.name)}: each model needs its own name` });
      } else first.set(m.name, m.index);
    }
    if (m.runtime === 'kubernetes' && m.image === undefined) {
      issues.push({ path: `${at}.image`, message: `runtime "kubernetes" runs the model from an image, and none is set: give the model-server image with the model in it (image: 'registry.example/model-server:1', the model at containerModelPath, default /models/${typeof m.name === 'string' ? m.name : '<name>'}/model.onnx), or remove runtime to serve it as a local process` });
    }
  }
  return issues;
}

function dependsOn(svc: unknown): unknown[] {
  return isObj(svc) && Array.isArray(svc.dependsOn) ? svc.dependsOn : [];
}

function checkDependencies(services: Obj): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const names = Object.keys(services);
  for (const name of names) {
    dependsOn(services[name]).forEach((dep, i) => {
      if (typeof dep === 'string' && !Object.hasOwn(services, dep)) {
        issues.push({ path: `services.${name}.dependsOn.${i}`, message: `unknown service ${JSON.stringify(dep)}${suggest(dep, names)}` });
      }
    });
  }
  // Depth-first search; every edge back into the current stack closes one cycle.
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 'active');
    stack.push(name);
    dependsOn(services[name]).forEach((dep, i) => {
      if (typeof dep !== 'string' || !Object.hasOwn(services, dep)) return;
      if (state.get(dep) === 'active') {
        const cycle = [...stack.slice(stack.indexOf(dep)), dep].join(' -> ');
        issues.push({ path: `services.${name}.dependsOn.${i}`, message: `dependency cycle: ${cycle}` });
      } else if (!state.has(dep)) visit(dep);
    });
    stack.pop();
    state.set(name, 'done');
  };
  for (const name of names) if (!state.has(name)) visit(name);
  return issues;
}

const STEP_ORDER = ['fallBackOn', 'sync', 'run', 'restart'] as const;

/** Steps run top to bottom: a fallBackOn after a sync would come too late to stop it. */
function checkLiveUpdate(at: string, steps: unknown): ValidationIssue[] {
  if (!Array.isArray(steps)) return [];
  const issues: ValidationIssue[] = [];
  let latest = -1;
  steps.forEach((step, i) => {
    const kinds = isObj(step) ? STEP_ORDER.filter((k) => k in step) : [];
    if (kinds.length !== 1) return; // the schema reports it
    const rank = STEP_ORDER.indexOf(kinds[0]);
    if (latest === STEP_ORDER.indexOf('restart')) {
      issues.push({ path: `${at}.liveUpdate.${i}`, message: `"restart" must be the last live-update step, but ${JSON.stringify(kinds[0])} follows it` });
    } else if (rank < latest) {
      issues.push({ path: `${at}.liveUpdate.${i}`, message: `a ${JSON.stringify(kinds[0])} step must come before any ${JSON.stringify(STEP_ORDER[latest])} step` });
    }
    latest = Math.max(latest, rank);
  });
  return issues;
}

/**
 * A `cloudRun` block is read only by the Cloud Run simulator: the `cloud-run` runtime, which is
 * what a service with the block gets unless it names a runtime itself. A service-level runtime
 * wins in every environment, so beside it the block does nothing. (An environment's runtime
 * applies in that environment only; the block still matters in the others.) Beside a
 * service.yaml, only the scaling overrides are read (plugins/cloud-run/runtime.ts loadSpec).
 */
function checkCloudRunEffect(at: string, svc: Obj): ValidationIssue[] {
  const cr = svc.cloudRun;
  if (!isObj(cr)) return [];
  const issues: ValidationIssue[] = [];
  const runtime = svc.runtime;
  if (typeof runtime === 'string' && runtime !== 'cloud-run') {
    const instances = runtime === 'docker' || runtime === 'process'
      ? ` (its instances are then ${runtime === 'docker' ? 'containers' : 'local processes'}: simulation.cloudRun.instances: ${JSON.stringify(runtime)} makes that so for every Cloud Run service)`
      : '';
    issues.push({
      path: `${at}.runtime`,
      message: `runtime ${JSON.stringify(runtime)} ignores this service's cloudRun block: only the Cloud Run simulator (runtime "cloud-run", the default for a service with a cloudRun block) reads it. Remove runtime to serve the service behind the simulator${instances}, or remove cloudRun to run it as a plain ${runtime} service`,
    });
  }
  if (typeof cr.service === 'string') {
    for (const key of ['cpu', 'memory', 'cpuThrottling']) {
      if (cr[key] === undefined) continue;
      issues.push({
        path: `${at}.cloudRun.${key}`,
        message: `has no effect beside cloudRun.service, which sets ${key} itself (only containerConcurrency, timeoutSeconds, minScale and maxScale override the file): set it in ${cr.service}, or remove it here`,
      });
    }
  }
  return issues;
}

const K8S_SOURCES = ['manifests', 'kustomize', 'helm', 'objects'] as const;
/** `spec.workers[].image`, `$.spec.images[*]`, `.spec.x[0].y`: dotted names, each maybe followed by `[]`, `[*]` or `[N]`. */
export const IMAGE_FIELD_PATH = /^(?:\$?\.)?[A-Za-z0-9_-]+(?:\[(?:\*|\d+)?\])*(?:\.[A-Za-z0-9_-]+(?:\[(?:\*|\d+)?\])*)*$/;

/**
 * A `k8s` block needs somewhere to get objects from; objects written in the Devfile must be
 * objects the API server can take (a function's result is checked the same way at deploy).
 */
function checkK8s(at: string, k8s: unknown): ValidationIssue[] {
  if (!isObj(k8s)) return [];
  const issues: ValidationIssue[] = [];
  // `manifests: []` alone names no file either.
  if (!K8S_SOURCES.some((k) => k8s[k] !== undefined && !(Array.isArray(k8s[k]) && k8s[k].length === 0 && k === 'manifests'))) {
    issues.push({ path: `${at}.k8s`, message: `needs at least one source of objects: ${K8S_SOURCES.map((k) => `"${k}"`).join(', ')} (e.g. manifests: 'k8s/*.yaml')` });
  }
  if (Array.isArray(k8s.objects)) {
    k8s.objects.forEach((o, i) => {
      if (!isObj(o)) return; // the schema reports it
      const missing = k8sObjectProblems(o);
      if (missing.length) issues.push({ path: `${at}.k8s.objects.${i}`, message: `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing: each object needs apiVersion, kind and metadata.name` });
    });
  }
  if (Array.isArray(k8s.imageFields)) {
    k8s.imageFields.forEach((f, i) => {
      if (isObj(f) && typeof f.path === 'string' && f.path !== '' && !IMAGE_FIELD_PATH.test(f.path)) {
        issues.push({ path: `${at}.k8s.imageFields.${i}.path`, message: `cannot read ${JSON.stringify(f.path)} as a field path: write dotted field names, with [] after an array's name to walk its elements (e.g. "spec.workers[].image")` });
      }
    });
  }
  return issues;
}

/** The fields an object lacks among apiVersion, kind and metadata.name (each a non-empty string). */
export function k8sObjectProblems(o: Obj): string[] {
  const str = (v: unknown) => typeof v === 'string' && v !== '';
  const out: string[] = [];
  if (!str(o.apiVersion)) out.push('apiVersion');
  if (!str(o.kind)) out.push('kind');
  if (!str(isObj(o.metadata) ? o.metadata.name : undefined)) out.push('metadata.name');
  return out;
}

function checkHostPorts(services: Obj, monitoring: unknown, dashboard: unknown): ValidationIssue[] {
  const claims: { port: unknown; path: string }[] = [];
  for (const [name, svc] of Object.entries(services)) {
    if (!isObj(svc) || !Array.isArray(svc.ports)) continue;
    svc.ports.forEach((p, i) => {
      if (isObj(p) && p.hostPort !== undefined) claims.push({ port: p.hostPort, path: `services.${name}.ports.${i}.hostPort` });
    });
  }
  if (isObj(monitoring)) {
    for (const [tool, setting] of Object.entries(monitoring)) {
      if (isObj(setting) && setting.port !== undefined) claims.push({ port: setting.port, path: `monitoring.${tool}.port` });
    }
  }
  if (isObj(dashboard) && dashboard.port !== undefined) claims.push({ port: dashboard.port, path: 'dashboard.port' });
  const owner = new Map<number, string>();
  const issues: ValidationIssue[] = [];
  for (const { port, path } of claims) {
    if (typeof port !== 'number') continue;
    const first = owner.get(port);
    if (first) issues.push({ path, message: `host port ${port} is already used by ${first}` });
    else owner.set(port, path);
  }
  return issues;
}

function checkTests(services: Obj, tests: unknown): ValidationIssue[] {
  if (!Array.isArray(tests)) return [];
  const names = Object.keys(services);
  return tests.flatMap((test, t) => (isObj(test) && Array.isArray(test.services) ? test.services : [])
    .map((svc: unknown, i: number) => ({ svc, i }))
    .filter(({ svc }) => typeof svc === 'string' && !Object.hasOwn(services, svc))
    .map(({ svc, i }) => ({ path: `tests.${t}.services.${i}`, message: `unknown service ${JSON.stringify(svc)}${suggest(String(svc), names)}` })));
}

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
