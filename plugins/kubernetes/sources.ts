/**
 * Where a service's objects come from (`k8s` in the Devfile): manifest files and globs, a
 * kustomization (`kustomize build`, else `kubectl kustomize`), a Helm chart (`helm template`) and
 * objects written in the Devfile or returned by a function of it. Each object keeps a `source`
 * naming where it came from, for the apply's messages. The tools are the user's own binaries:
 * devloop renders with them and applies the result itself.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { k8sObjectProblems } from '../../core/devfile/checks.js';
import type { K8sHelmConfig, K8sServiceConfig } from '../../core/devfile/types.js';
import { DevloopError } from '../../core/errors.js';
import { loadManifests, parseObjects, refOf, type K8sObject, type LoadedObject } from './manifests.js';

export interface SourceContext {
  root: string;
  service: string;
  /** Where objects that name no namespace go (and the Helm release's namespace by default). */
  namespace: string;
  mode: string;
  /** Pushed images by service name, given to `k8s.objects` functions. */
  images: Map<string, string>;
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

/** How long one `kustomize build` or `helm template` may take (a remote chart or base is fetched). */
const RENDER_TIMEOUT_MS = 120_000;

export const hasSource = (k8s: K8sServiceConfig | undefined) =>
  !!k8s && ((k8s.manifests !== undefined && k8s.manifests.length > 0) || !!k8s.kustomize || !!k8s.helm || k8s.objects !== undefined);

/** Every object of every source, in the order manifests, kustomize, helm, objects. The same object from two places is refused. */
export async function loadSources(k8s: K8sServiceConfig, ctx: SourceContext): Promise<LoadedObject[]> {
  const out: LoadedObject[] = [];
  if (k8s.manifests !== undefined) {
    const patterns = Array.isArray(k8s.manifests) ? k8s.manifests : [k8s.manifests];
    if (patterns.length) out.push(...await loadManifests(ctx.root, patterns, ctx.service));
  }
  if (k8s.kustomize) out.push(...await renderKustomize(k8s.kustomize, ctx));
  if (k8s.helm) out.push(...await renderHelm(k8s.helm, ctx));
  if (k8s.objects !== undefined) out.push(...await objectsFromCode(k8s.objects, ctx));
  const seen = new Map<string, string>();
  for (const { object, source } of out) {
    const key = `${object.apiVersion.split('/').length > 1 ? object.apiVersion.split('/')[0] : ''}|${refOf(object)}`;
    const first = seen.get(key);
    if (first !== undefined) {
      throw new DevloopError(`services.${ctx.service}.k8s: ${refOf(object)} comes from both ${first} and ${source}`, {
        code: 'K8S_DUPLICATE_OBJECT', service: ctx.service, hint: 'keep one of them: each object must come from one source only',
      });
    }
    seen.set(key, source);
  }
  return out;
}

/** The executable `name` in a folder of PATH, or undefined. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch { /* not here */ }
  }
  return undefined;
}

/** `DEVLOOP_KUBECTL` when it names a file, else `kubectl` on PATH. */
export function findKubectl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env.DEVLOOP_KUBECTL;
  if (explicit && existsSync(explicit)) return explicit;
  return findOnPath('kubectl', env);
}

/** `DEVLOOP_HELM` when it names a file, else `helm` on PATH: the variable pins one helm (a test's, a CI's) over whatever PATH holds. */
export function findHelm(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const explicit = env.DEVLOOP_HELM;
  if (explicit && existsSync(explicit)) return explicit;
  return findOnPath('helm', env);
}

/** The command that builds a kustomization: a kustomize binary when there is one (its own release cycle), else kubectl's. */
export function kustomizeCommand(dir: string, env: NodeJS.ProcessEnv = process.env): { file: string; args: string[] } | undefined {
  const kustomize = findOnPath('kustomize', env);
  if (kustomize) return { file: kustomize, args: ['build', dir] };
  const kubectl = findKubectl(env);
  return kubectl ? { file: kubectl, args: ['kustomize', dir] } : undefined;
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

async function renderKustomize(dir: string, ctx: SourceContext): Promise<LoadedObject[]> {
  const field = `services.${ctx.service}.k8s.kustomize`;
  const abs = path.resolve(ctx.root, dir);
  const rel = path.relative(ctx.root, abs) || '.';
  if (!isDirectory(abs)) {
    throw new DevloopError(`${field}: "${dir}" is not a directory under ${ctx.root}`, {
      code: 'K8S_KUSTOMIZE_NOT_FOUND', service: ctx.service, hint: 'give the folder holding kustomization.yaml, relative to the Devfile (e.g. "k8s/overlays/dev")',
    });
  }
  if (!KUSTOMIZATION_FILES.some((f) => existsSync(path.join(abs, f)))) {
    throw new DevloopError(`${field}: ${rel} has no kustomization.yaml`, {
      code: 'K8S_KUSTOMIZE_NOT_FOUND', service: ctx.service, hint: `point kustomize at the folder with the kustomization, or add ${path.join(rel, 'kustomization.yaml')}`,
    });
  }
  const command = kustomizeCommand(abs, ctx.env);
  if (!command) {
    throw new DevloopError(`${field}: cannot build ${rel}: neither kustomize nor kubectl is on PATH`, {
      code: 'K8S_TOOL_MISSING', service: ctx.service,
      hint: 'install kubectl (https://kubernetes.io/docs/tasks/tools/), which builds kustomizations, or kustomize (https://kubectl.docs.kubernetes.io/installation/kustomize/); or set DEVLOOP_KUBECTL to a kubectl binary',
    });
  }
  const shown = `${path.basename(command.file)} ${command.args[0]} ${rel}`;
  const text = await run(command.file, command.args, ctx, field, shown, `fix the kustomization in ${rel}`);
  return parseObjects(text, ctx.service, (line) => `${shown}, line ${line} of its output`);
}

/** `helm template` arguments: release, chart (a local folder resolved against the root), namespace, values files, --set pairs. */
export function helmArgs(helm: K8sHelmConfig, root: string, service: string, namespace: string): string[] {
  const local = path.resolve(root, helm.chart);
  // A chart that is a folder here is local; anything else (repo/name, oci://, a URL) is for helm to resolve.
  const chart = helm.chart.startsWith('.') || path.isAbsolute(helm.chart) || existsSync(local) ? local : helm.chart;
  const args = ['template', helm.release ?? service, chart, '--namespace', helm.namespace ?? namespace, '--include-crds'];
  for (const v of helm.values ?? []) args.push('-f', path.resolve(root, v));
  // helm splits --set on commas and reads backslashes as escapes: a value is one string, so escape both.
  for (const [k, v] of Object.entries(helm.set ?? {})) args.push('--set', `${k}=${String(v).replace(/[\\,]/g, '\\$&')}`);
  return args;
}

/**
 * Where a `# Source: <chart name>/templates/x.yaml` comment of `helm template` points in the
 * project: the chart's name is swapped for its folder (`charts/web/templates/x.yaml`), so that a
 * message names a file one can open. A remote chart keeps helm's text.
 */
export function helmSourceFile(comment: string, helm: K8sHelmConfig, root: string): string {
  const local = path.resolve(root, helm.chart);
  const slash = comment.indexOf('/');
  if (slash <= 0 || !isDirectory(local)) return `${helm.chart}: ${comment}`;
  return path.relative(root, path.join(local, comment.slice(slash + 1))) || comment;
}

async function renderHelm(helm: K8sHelmConfig, ctx: SourceContext): Promise<LoadedObject[]> {
  const field = `services.${ctx.service}.k8s.helm`;
  const binary = findHelm(ctx.env);
  if (!binary) {
    throw new DevloopError(`${field}: cannot render chart ${helm.chart}: helm is not on PATH${(ctx.env ?? process.env).DEVLOOP_HELM ? ' and DEVLOOP_HELM names no file' : ''}`, {
      code: 'K8S_TOOL_MISSING', service: ctx.service,
      hint: 'install helm (https://helm.sh/docs/intro/install/; devloop is tested with v4.3.2) and make sure `helm version` works in this shell, or set DEVLOOP_HELM to a helm binary; or render the chart once (helm template … > k8s/rendered.yaml) and use k8s.manifests',
    });
  }
  for (const [i, v] of (helm.values ?? []).entries()) {
    if (!existsSync(path.resolve(ctx.root, v))) {
      throw new DevloopError(`${field}.values[${i}]: "${v}" does not exist under ${ctx.root}`, {
        code: 'K8S_HELM_VALUES_NOT_FOUND', service: ctx.service, hint: 'give values files relative to the Devfile',
      });
    }
  }
  const args = helmArgs(helm, ctx.root, ctx.service, ctx.namespace);
  const shown = `helm template ${args[1]} ${helm.chart}`;
  const text = await run(binary, args, ctx, field, shown, `fix the chart or its values (try: helm ${args.join(' ')})`);
  const objects = parseObjects(text, ctx.service, (line, source) => (source ? helmSourceFile(source, helm, ctx.root) : `${shown}, line ${line} of its output`));
  // Most charts leave the namespace out, for `helm install --namespace` to fill in: do the same.
  if (helm.namespace) for (const { object } of objects) object.metadata.namespace ??= helm.namespace;
  return objects;
}

function run(file: string, args: string[], ctx: SourceContext, field: string, shown: string, hint: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: ctx.root, env: ctx.env ?? process.env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, timeout: RENDER_TIMEOUT_MS, signal: ctx.signal }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      if (ctx.signal?.aborted) return reject(ctx.signal.reason);
      const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string };
      const why = e.killed ? `did not finish within ${RENDER_TIMEOUT_MS / 1000} s` : typeof e.code === 'number' ? `exited with code ${e.code}` : e.message;
      const detail = stderr.trim() ? `:\n${stderr.trim()}` : '';
      reject(new DevloopError(`${field}: ${shown} ${why}${detail}`, { code: 'K8S_RENDER_FAILED', service: ctx.service, hint }));
    });
  });
}

function isDirectory(p: string): boolean {
  try { return statSync(p).isDirectory(); } catch { return false; }
}

/** Objects from the Devfile: the array, or what the function returns for this deploy; each checked before anything is applied. */
export async function objectsFromCode(objects: NonNullable<K8sServiceConfig['objects']>, ctx: SourceContext): Promise<LoadedObject[]> {
  const field = `services.${ctx.service}.k8s.objects`;
  let value: unknown = objects;
  if (typeof objects === 'function') {
    try {
      value = await objects({ service: ctx.service, namespace: ctx.namespace, mode: ctx.mode, images: Object.fromEntries(ctx.images) });
    } catch (err) {
      throw new DevloopError(`${field}: the function threw: ${err instanceof Error ? err.message : String(err)}`, {
        code: 'K8S_OBJECTS_FAILED', service: ctx.service, cause: err, hint: 'fix the k8s.objects function in Devfile.ts',
      });
    }
  }
  if (!Array.isArray(value)) {
    throw new DevloopError(`${field}: expected an array of objects, got ${value === null ? 'null' : typeof value}`, {
      code: 'K8S_OBJECTS_INVALID', service: ctx.service, hint: 'return an array ([] for none) from the k8s.objects function',
    });
  }
  return value.map((o: unknown, i) => {
    const at = `${field}[${i}]`;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      throw new DevloopError(`${at} is not an object (got ${o === null ? 'null' : Array.isArray(o) ? 'an array' : typeof o})`, {
        code: 'K8S_OBJECTS_INVALID', service: ctx.service, hint: 'each element is one Kubernetes object: { apiVersion, kind, metadata: { name }, … }',
      });
    }
    const missing = k8sObjectProblems(o as Record<string, unknown>);
    if (missing.length) {
      throw new DevloopError(`${missing.map((m) => `${at}.${m}`).join(' and ')} ${missing.length > 1 ? 'are' : 'is'} missing`, {
        code: 'K8S_OBJECTS_INVALID', service: ctx.service, hint: 'each object needs apiVersion, kind and metadata.name',
      });
    }
    // A copy: prepare() and the apply must not change what the Devfile holds (it is reused on the next deploy).
    return { object: structuredClone(o) as K8sObject, source: at };
  });
}
