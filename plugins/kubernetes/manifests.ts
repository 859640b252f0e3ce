/**
 * A service's manifests: read from the files and globs of `k8s.manifests` (the other sources are in
 * sources.ts), images devloop built substituted by repository name (as Skaffold and Tilt do), in
 * `image` fields and at the paths `k8s.imageFields` declares, labelled as devloop's, and put in the
 * order the API server needs them (a Namespace before what lives in it, a CRD before its objects).
 * Pure apart from reading the files, so the rules are unit-tested without a cluster.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { parseAllDocuments } from 'yaml';
import { DevloopError } from '../../core/errors.js';

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_SERVICE = 'devloop.dev/service';
/** The project (hash of its root) and the session (pid, start time) that applied an object: what `cleanup` reads. */
export const LABEL_PROJECT = 'devloop.dev/project';
export const LABEL_SESSION = 'devloop.dev/session';
export const LABEL_SESSION_START = 'devloop.dev/session-start';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

export interface LoadedObject {
  object: K8sObject;
  /** `k8s/web.yaml:12`, for errors. */
  source: string;
  /** The file (absolute) and the index of the YAML document in it: where an error about a field is located. */
  file?: string;
  doc?: number;
}

/** Kinds without a namespace: the ones a manifest of a service plausibly holds. */
const CLUSTER_SCOPED = new Set([
  'Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding', 'PersistentVolume', 'StorageClass',
  'PriorityClass', 'IngressClass', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'APIService',
]);
export const isClusterScoped = (kind: string) => CLUSTER_SCOPED.has(kind);

const ORDER: Record<string, number> = {
  Namespace: 0, CustomResourceDefinition: 1,
  ServiceAccount: 2, ConfigMap: 2, Secret: 2, PersistentVolumeClaim: 2, Role: 2, ClusterRole: 2, RoleBinding: 2, ClusterRoleBinding: 2,
  Service: 3,
  Deployment: 4, StatefulSet: 4, DaemonSet: 4, ReplicaSet: 4, Pod: 4, Job: 4, CronJob: 4,
};
/** Apply order: namespaces, CRDs, config and identities, Services, workloads, then the rest (custom resources, Ingresses). */
export const applyRank = (kind: string) => ORDER[kind] ?? 5;

/** `kind/name` or `kind/namespace/name`: how objects are named in messages and compared. */
export function refOf(o: Pick<K8sObject, 'kind' | 'metadata'>): string {
  return `${o.kind.toLowerCase()}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}

/** Reads every file the patterns name, in pattern order then name order. */
export async function loadManifests(root: string, patterns: string[], service: string): Promise<LoadedObject[]> {
  const files: string[] = [];
  for (const pattern of patterns) {
    const matched = await expand(root, pattern);
    if (matched.length === 0) {
      throw new DevloopError(`services.${service}.k8s.manifests: "${pattern}" matches no file under ${root}`, {
        code: 'K8S_MANIFEST_NOT_FOUND', service, hint: 'give paths relative to the Devfile, e.g. "k8s/*.yaml"',
      });
    }
    for (const f of matched) if (!files.includes(f)) files.push(f);
  }
  const out: LoadedObject[] = [];
  for (const file of files) {
    const rel = path.relative(root, file);
    out.push(...parseObjects(await readFile(file, 'utf8'), service, (line) => `${rel}:${line}`).map((o) => ({ ...o, file })));
  }
  return out;
}

/**
 * The objects of a YAML stream, one per document; `where` names a document for messages from the
 * line it starts on (in the text) and the `# Source: …` comment above it, which `helm template` writes.
 */
export function parseObjects(text: string, service: string, where: (line: number, sourceComment?: string) => string): LoadedObject[] {
  const out: LoadedObject[] = [];
  for (const [index, doc] of parseAllDocuments(text).entries()) {
    // The line of the object itself, not of the `---` before it.
    const start = doc.contents?.range?.[0] ?? doc.range?.[0] ?? 0;
    const line = text.slice(0, start).split('\n').length;
    const comment = /^ ?Source: (.+)$/m.exec(`${doc.commentBefore ?? ''}\n${doc.contents?.commentBefore ?? ''}`)?.[1]?.trim();
    if (doc.errors.length) {
      throw new DevloopError(`${where(line, comment)}: invalid YAML: ${doc.errors[0].message}`, { code: 'K8S_MANIFEST_INVALID', service, hint: 'fix the YAML of that document' });
    }
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) continue;
    const o = value as Partial<K8sObject>;
    if (typeof o !== 'object' || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || typeof o.metadata?.name !== 'string') {
      throw new DevloopError(`${where(line, comment)}: not a Kubernetes object (apiVersion, kind and metadata.name are required)`, {
        code: 'K8S_MANIFEST_INVALID', service, hint: 'each YAML document must be one object; lists (kind: List) are not supported yet',
      });
    }
    out.push({ object: o as K8sObject, source: where(line, comment), doc: index });
  }
  return out;
}

async function expand(root: string, pattern: string): Promise<string[]> {
  const abs = path.resolve(root, pattern);
  if (!picomatch.scan(pattern).isGlob) {
    try { await readFile(abs); return [abs]; } catch { return []; }
  }
  const { base } = picomatch.scan(abs);
  const isMatch = picomatch(abs, { dot: false });
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try { entries = await readdir(dir, { withFileTypes: true }); } catch { return; }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (isMatch(p)) found.push(p);
    }
  };
  await walk(base);
  return found;
}

/** Repository of an image reference: `web:1` -> `web`, `127.0.0.1:5001/x/web@sha256:..` -> `127.0.0.1:5001/x/web`. */
export function repositoryOf(image: string): string {
  const noDigest = image.split('@')[0];
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(0, colon) : noDigest;
}

/**
 * Replaces every `image:` string field whose repository is a key of `images` (a service name) with
 * the pushed reference, anywhere in the object: containers, initContainers, and custom resources
 * that carry images their own way. Returns the images substituted.
 */
export function substituteImages(value: unknown, images: Map<string, string>, done: string[] = []): string[] {
  if (Array.isArray(value)) {
    for (const v of value) substituteImages(v, images, done);
  } else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    for (const [k, v] of Object.entries(o)) {
      if (k === 'image' && typeof v === 'string' && images.has(repositoryOf(v))) {
        o[k] = images.get(repositoryOf(v))!;
        done.push(`${v} -> ${o[k] as string}`);
      } else {
        substituteImages(v, images, done);
      }
    }
  }
  return done;
}

/** A custom resource's image field that is not named `image`: `k8s.imageFields` of the Devfile. */
export interface ImageField {
  kind: string;
  apiVersion?: string;
  path: string;
}

type Step = { key: string } | { each: true } | { index: number };

/** `spec.workers[].image`, `$.spec.images[*]`, `.spec.x[0].y` -> its steps; undefined when it is none of those. */
export function parseFieldPath(p: string): Step[] | undefined {
  const body = p.replace(/^\$?\./, '');
  const steps: Step[] = [];
  for (const part of body.split('.')) {
    const m = /^([A-Za-z0-9_-]+)((?:\[(?:\*|\d+)?\])*)$/.exec(part);
    if (!m) return undefined;
    steps.push({ key: m[1] });
    for (const [, inner] of m[2].matchAll(/\[(\*|\d+)?\]/g)) steps.push(inner === undefined || inner === '*' ? { each: true } : { index: Number(inner) });
  }
  return steps;
}

/**
 * Substitutes images at the declared paths of the objects of the declared kind, by repository name
 * as `substituteImages` does. A path an object does not have (an optional field) is skipped.
 */
export function substituteImageFields(o: K8sObject, fields: readonly ImageField[], images: Map<string, string>, done: string[] = []): string[] {
  for (const f of fields) {
    if (f.kind !== o.kind || (f.apiVersion !== undefined && f.apiVersion !== o.apiVersion)) continue;
    const steps = parseFieldPath(f.path);
    if (!steps) continue; // refused when the Devfile loads
    const visit = (holder: Record<string | number, unknown>, key: string | number, rest: Step[]): void => {
      const v = holder[key];
      if (rest.length === 0) {
        if (typeof v === 'string' && images.has(repositoryOf(v))) {
          holder[key] = images.get(repositoryOf(v))!;
          done.push(`${v} -> ${holder[key] as string}`);
        }
        return;
      }
      const [step, ...more] = rest;
      if ('each' in step) {
        if (Array.isArray(v)) v.forEach((_, i) => visit(v as unknown as Record<number, unknown>, i, more));
      } else if ('index' in step) {
        if (Array.isArray(v) && step.index < v.length) visit(v as unknown as Record<number, unknown>, step.index, more);
      } else if (v && typeof v === 'object' && !Array.isArray(v)) {
        visit(v as Record<string, unknown>, step.key, more);
      }
    };
    visit({ root: o }, 'root', steps);
  }
  return done;
}

/** Labels, namespace and order: what devloop applies for a service. */
export function prepare(loaded: LoadedObject[], service: string, namespace: string, images: Map<string, string>, extraLabels: Record<string, string> = {}, imageFields: readonly ImageField[] = []): LoadedObject[] {
  const out = loaded.map(({ object, ...where }) => {
    const o = structuredClone(object);
    o.metadata.labels = { ...o.metadata.labels, ...extraLabels, [LABEL_MANAGED_BY]: 'devloop', [LABEL_SERVICE]: service };
    if (isClusterScoped(o.kind)) delete o.metadata.namespace;
    else o.metadata.namespace ??= namespace;
    substituteImages(o, images);
    substituteImageFields(o, imageFields, images);
    return { object: o, ...where };
  });
  return out.sort((a, b) => applyRank(a.object.kind) - applyRank(b.object.kind));
}
