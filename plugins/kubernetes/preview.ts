/**
 * The one-shot Kubernetes commands: `devloop render` (the objects as devloop would apply them),
 * `devloop deploy --diff` (the server's dry-run of that apply against what is live) and the
 * cluster checks of `devloop doctor`. They read the same sources and prepare them the same way as
 * a deploy (runtime.ts), so what they show is what `up` applies; imported by those commands only.
 */
import type { KubernetesObject, KubernetesObjectApi } from '@kubernetes/client-node';
import type { DevfileConfig, ServiceConfig } from '../../core/devfile/types.js';
import { DevloopError } from '../../core/errors.js';
import { FIELD_MANAGER, apiError } from './apply.js';
import { describeRequestError } from './client.js';
import { forDiff, diffYaml, unifiedDiff } from './diff.js';
import { applyFailure } from './failures.js';
import { locatedSource } from './locate.js';
import { LABEL_PROJECT, LABEL_SESSION, LABEL_SESSION_START, prepare, refOf, repositoryOf, type LoadedObject } from './manifests.js';
import { hasSource, loadSources } from './sources.js';
import { projectId } from '../docker/names.js';

/** Services deployed to a cluster in this environment, with their objects' sources. */
export function kubernetesServices(devfile: DevfileConfig, mode: string, only?: string[]): [string, ServiceConfig][] {
  return Object.entries(devfile.services).filter(([name, s]) =>
    (!only?.length || only.includes(name)) && (s.runtime ?? devfile.environments?.[mode]?.runtime) === 'kubernetes' && hasSource(s.k8s));
}

export interface PreparedService {
  service: string;
  objects: LoadedObject[];
  /** Services whose image is not built yet: their `image:` fields keep the name as written. */
  unbuilt: string[];
}

/**
 * A service's objects as a deploy prepares them: images substituted from `images` (service name ->
 * pushed reference), devloop's labels and the project label; not the session labels, which name
 * the process that applies.
 */
export async function prepareService(devfile: DevfileConfig, root: string, mode: string, service: string, namespaceOfContext: string, images: Map<string, string>): Promise<PreparedService> {
  const k8s = devfile.services[service].k8s!;
  const namespace = k8s.namespace ?? namespaceOfContext;
  const loaded = await loadSources(k8s, { root, service, namespace, mode, images });
  const objects = prepare(loaded, service, namespace, images, { [LABEL_PROJECT]: projectId(root) }, k8s.imageFields);
  // Services devloop builds whose image no session knows: a manifest naming one keeps the name.
  const built = Object.entries(devfile.services).filter(([, s]) => s.build).map(([n]) => n).filter((n) => !images.has(n));
  const unbuilt = built.filter((n) => objects.some((o) => imagesIn(o.object).some((i) => repositoryOf(i) === n)));
  return { service, objects, unbuilt };
}

/** Every `image:` string in an object. */
export function imagesIn(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) imagesIn(v, out);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'image' && typeof v === 'string') out.push(v);
      else imagesIn(v, out);
    }
  }
  return out;
}

/** Outcome of the dry-run of one object. */
export interface ObjectDiff {
  ref: string;
  source: string;
  status: 'new' | 'changed' | 'unchanged';
  diff: string;
}

/**
 * Server-side apply with dryRun=All (field manager devloop, not forced) of each object, diffed with
 * the live object. Session labels of the live object are kept (a deploy sets them anew; they are
 * not a change of the manifests). An error is thrown as the apply's would be, located in the file.
 */
export async function dryRunDiff(api: KubernetesObjectApi, objects: LoadedObject[], service: string, where: { context: string; server: string }): Promise<ObjectDiff[]> {
  const { PatchStrategy } = await import('@kubernetes/client-node');
  const out: ObjectDiff[] = [];
  for (const loaded of objects) {
    const { object, source } = loaded;
    const ref = refOf(object);
    let live: KubernetesObject | undefined;
    try {
      live = await api.read({ apiVersion: object.apiVersion, kind: object.kind, metadata: { name: object.metadata.name, namespace: object.metadata.namespace } });
    } catch (err) {
      if (apiError(err).code !== 404 || !isResourceKnownError(err)) throw objectError(err, loaded, service, where);
    }
    const desired = structuredClone(object);
    for (const label of [LABEL_SESSION, LABEL_SESSION_START]) {
      const value = live?.metadata?.labels?.[label];
      if (value !== undefined) desired.metadata.labels = { ...desired.metadata.labels, [label]: value };
    }
    let result: KubernetesObject;
    try {
      result = await api.patch(desired, undefined, 'All', FIELD_MANAGER, false, PatchStrategy.ServerSideApply);
    } catch (err) {
      throw objectError(err, loaded, service, where);
    }
    const before = live ? diffYaml(forDiff(live as Record<string, unknown>)) : '';
    const after = diffYaml(forDiff(result as Record<string, unknown>));
    const diff = unifiedDiff(before, after, live ? `${ref} (live)` : '/dev/null', `${ref} (after apply, ${source})`);
    out.push({ ref, source, status: !live ? 'new' : diff ? 'changed' : 'unchanged', diff });
  }
  return out;
}

/** A 404 from reading an object means "not there yet"; a 404 from discovery means the type is unknown. */
function isResourceKnownError(err: unknown): boolean {
  const message = err instanceof Error ? err.message : '';
  return !/Failed to fetch resource metadata|Unrecognized API version and kind/.test(message);
}

/**
 * The error of a request about one object, as an apply's would be (failures.ts: unreachable,
 * credentials, no such kind, conflict, invalid), located at the manifest line of the field the
 * server names (the object's own line when it names none or the object has no file).
 */
export function objectError(err: unknown, loaded: LoadedObject, service: string, where: { context: string; server: string }): DevloopError {
  if (err instanceof DevloopError) return err;
  const at = locatedSource(err, loaded);
  const f = applyFailure(err, loaded.object, at.source, where.server, 'apply (dry run)');
  return new DevloopError(f.message, {
    code: f.code, service, hint: f.hint, cause: err,
    location: loaded.file && at.line ? { file: loaded.file, line: at.line, column: at.column ?? 1 } : undefined,
  });
}

/** A line of `devloop doctor`. */
export interface KubeCheck { name: string; level: 'ok' | 'warn' | 'fail'; detail: string; fix?: string }

/** The subresources devloop uses besides the manifests' kinds: port-forward, exec (live update), logs. */
const POD_SUBRESOURCES: { subresource: string; verb: string }[] = [
  { subresource: 'portforward', verb: 'create' }, { subresource: 'exec', verb: 'create' }, { subresource: 'log', verb: 'get' },
];
const OBJECT_VERBS = ['get', 'list', 'watch', 'create', 'patch', 'delete'];

/**
 * `devloop doctor`'s cluster checks: the context (which, local, allowed), the API server (answers,
 * version), RBAC (a SelfSubjectAccessReview per verb devloop uses on each kind of the manifests, and
 * on the pod subresources) and the registry the cluster advertises (KEP-1755, answering). `needed`:
 * the Devfile deploys to a cluster, so a failure fails doctor; else it only warns.
 */
export async function kubeChecks(devfile: DevfileConfig | undefined, root: string | undefined, mode: string, needed: boolean, timeoutMs = 5_000): Promise<KubeCheck[]> {
  const bad: KubeCheck['level'] = needed ? 'fail' : 'warn';
  const { pickContext } = await import('./context.js');
  let target;
  try {
    target = await pickContext(devfile ?? { services: {} });
  } catch (err) {
    return [{ name: 'Kubernetes context', level: bad, detail: err instanceof Error ? err.message : String(err), fix: err instanceof DevloopError ? err.hint : undefined }];
  }
  const { context, server } = target;
  const checks: KubeCheck[] = [];
  checks.push(target.allowed
    ? { name: 'Kubernetes context', level: 'ok', detail: `${context} (${server}), ${target.local ? 'a local cluster' : 'not local, listed in kubernetes.allowContexts'}` }
    : { name: 'Kubernetes context', level: bad, detail: `${context} (${server}) is not a local cluster, and devloop refuses to deploy to it`, fix: `if it is meant for devloop, add it to Devfile.ts: kubernetes: { allowContexts: ['${context}'] }; else pick a local one with --context or kubernetes.context` });

  const { timedApis } = await import('./client.js');
  const apis = await timedApis(target.kc, timeoutMs);
  try {
    const started = Date.now();
    const v = await apis.version.getCode();
    checks.push({ name: 'Kubernetes API', level: 'ok', detail: `${server} answers: Kubernetes ${v.gitVersion} (${Date.now() - started} ms)` });
  } catch (err) {
    const d = describeRequestError(err, server, context);
    checks.push({ name: 'Kubernetes API', level: bad, detail: d.message, fix: d.hint });
    return checks;
  }

  checks.push(await rbacCheck(apis, devfile, root, mode, target.namespace, bad, context));
  checks.push(await clusterRegistryCheck(context, timeoutMs));
  return checks;
}

async function rbacCheck(apis: import('./client.js').TimedApis, devfile: DevfileConfig | undefined, root: string | undefined, mode: string, contextNamespace: string, bad: KubeCheck['level'], context: string): Promise<KubeCheck> {
  // What to ask about: each kind of the manifests in its namespace, and the pod subresources in each namespace.
  const kinds = new Map<string, { apiVersion: string; kind: string; namespace?: string; ref: string }>();
  const namespaces = new Set<string>();
  const notes: string[] = [];
  if (devfile && root) {
    for (const [service] of kubernetesServices(devfile, mode)) {
      try {
        const { objects } = await prepareService(devfile, root, mode, service, contextNamespace, new Map());
        for (const { object, source } of objects) {
          const ns = object.metadata.namespace;
          if (ns) namespaces.add(ns);
          kinds.set(`${object.apiVersion}|${object.kind}|${ns ?? ''}`, { apiVersion: object.apiVersion, kind: object.kind, namespace: ns, ref: `${refOf(object)} (${source})` });
        }
      } catch (err) {
        notes.push(`${service}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
  if (namespaces.size === 0) namespaces.add(contextNamespace);
  const reviews: { what: string; attrs: Record<string, string | undefined> }[] = [];
  const missing: string[] = [];
  for (const k of kinds.values()) {
    let resource;
    try {
      // Discovery, as the apply itself does it (protected in the typings, public in use).
      resource = await (apis.objects as unknown as { resource(apiVersion: string, kind: string): Promise<{ name: string } | undefined> }).resource(k.apiVersion, k.kind);
    } catch { /* discovery of the group failed: the type is unknown too */ }
    if (!resource) { missing.push(`${k.kind} (${k.apiVersion}), used by ${k.ref}`); continue; }
    const group = k.apiVersion.includes('/') ? k.apiVersion.split('/')[0] : '';
    for (const verb of OBJECT_VERBS) reviews.push({ what: `${verb} ${resource.name}${group ? `.${group}` : ''}${k.namespace ? ` in ${k.namespace}` : ''}`, attrs: { verb, group, resource: resource.name, namespace: k.namespace } });
  }
  for (const ns of namespaces) for (const s of POD_SUBRESOURCES) reviews.push({ what: `${s.verb} pods/${s.subresource} in ${ns}`, attrs: { verb: s.verb, group: '', resource: 'pods', subresource: s.subresource, namespace: ns } });
  const denied: string[] = [];
  const failed: string[] = [];
  await Promise.all(reviews.map(async (r) => {
    try {
      const answer = await apis.authz.createSelfSubjectAccessReview({ body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: r.attrs } } });
      if (!answer.status?.allowed) denied.push(r.what);
    } catch (err) {
      failed.push(`${r.what}: ${apiError(err).message}`);
    }
  }));
  if (missing.length) {
    return { name: 'Kubernetes RBAC', level: bad, detail: `the cluster has no resource type ${missing.join('; ')}`, fix: 'install the CustomResourceDefinitions the manifests use first (or fix their apiVersion/kind)' };
  }
  if (denied.length || failed.length) {
    return {
      name: 'Kubernetes RBAC', level: bad,
      detail: `context ${context} may not ${[...denied.sort(), ...failed].join(', ')}`,
      fix: `ask the cluster's admin for a Role (or ClusterRole) granting those verbs to your user, bound in ${[...namespaces].join(', ')}; "kubectl auth can-i --list" shows what you may do`,
    };
  }
  const kindsText = kinds.size ? `${[...new Set([...kinds.values()].map((k) => k.kind))].join(', ')}, ` : '';
  return { name: 'Kubernetes RBAC', level: notes.length ? 'warn' : 'ok', detail: `${reviews.length} access reviews allowed (${kindsText}pods/portforward, pods/exec, pods/log in ${[...namespaces].join(', ')})${notes.length ? `; not checked: ${notes.join('; ')}` : ''}` };
}

async function clusterRegistryCheck(context: string, timeoutMs: number): Promise<KubeCheck> {
  const { readLocalRegistryHosting, registryAnswers, KEP_1755_NAMESPACE, KEP_1755_NAME } = await import('../registry/detect.js');
  let hosting;
  try {
    hosting = await readLocalRegistryHosting({ context, timeoutMs });
  } catch (err) {
    return { name: 'Cluster registry', level: 'warn', detail: `cannot read ${KEP_1755_NAMESPACE}/${KEP_1755_NAME}: ${apiError(err).message}` };
  }
  if (!hosting?.host) {
    return {
      name: 'Cluster registry', level: 'ok',
      detail: `the cluster advertises no registry (no ${KEP_1755_NAMESPACE}/${KEP_1755_NAME} ConfigMap, KEP-1755); images are pushed to DEVLOOP_REGISTRY or 127.0.0.1:5001${/^kind-/.test(context) ? ', else loaded with "kind load docker-image"' : ''}`,
    };
  }
  const via = hosting.hostFromContainerRuntime && hosting.hostFromContainerRuntime !== hosting.host ? `; nodes pull from ${hosting.hostFromContainerRuntime}` : '';
  return await registryAnswers(hosting.host)
    ? { name: 'Cluster registry', level: 'ok', detail: `advertised by the cluster (KEP-1755): ${hosting.host}, its /v2/ answers${via}` }
    : { name: 'Cluster registry', level: 'fail', detail: `the cluster advertises ${hosting.host} (KEP-1755) and nothing answers at http://${hosting.host}/v2/`, fix: `start the registry the cluster was set up with (${hosting.help ?? 'see the cluster\'s setup'}), or set DEVLOOP_REGISTRY to one the nodes can pull from` };
}
