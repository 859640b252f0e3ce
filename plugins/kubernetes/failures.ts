/**
 * The pure half of readiness and failure reporting, unit-tested without a cluster: a Service's
 * readiness from its EndpointSlices, a custom resource's from its Ready/Available condition, an
 * OOM-killed container turned into its limit and the fix (under Autopilot, the next size admission
 * accepts), a failing probe's last result, and the API server's answers to a failed apply turned
 * into errors that name the object and say what to do.
 */
import type { ClusterSettings } from '../autopilot/settings.js';
import { admit } from '../autopilot/admission.js';
import { formatQuantity, parseQuantity, QuantityError } from '../autopilot/quantity.js';
import { refOf, type K8sObject } from './manifests.js';

/** Ready or not, and on what it waits; `note` says how readiness was decided when it is a guess. */
export interface Readiness { ready: boolean; waiting?: string; note?: string }

type Obj = K8sObject & { spec?: any; status?: any };
const nameOf = (o: Obj) => refOf({ kind: o.kind, metadata: { name: o.metadata.name } });

// ---------------------------------------------------------------------------------------------
// Services

export interface EndpointSliceLike {
  endpoints?: { conditions?: { ready?: boolean | null } }[] | null;
}

/**
 * A Service with a selector is ready once one endpoint is: a client can reach it. ExternalName and
 * selector-less Services (endpoints managed by hand) have nothing to wait for. `matchingPods` is
 * how many pods the selector matches, to tell "no pod" from "no ready pod".
 */
export function serviceStatus(svc: Obj, slices: EndpointSliceLike[], matchingPods?: number): Readiness {
  const selector = svc.spec?.selector as Record<string, string> | undefined;
  if (svc.spec?.type === 'ExternalName' || !selector || Object.keys(selector).length === 0) return { ready: true };
  const endpoints = slices.flatMap((s) => s.endpoints ?? []);
  // The API: "ready ... nil should be interpreted as true" (unknown state counts as ready).
  const ready = endpoints.filter((e) => e.conditions?.ready !== false).length;
  if (ready > 0) return { ready: true };
  const sel = Object.entries(selector).map(([k, v]) => `${k}=${v}`).join(',');
  if (endpoints.length > 0) return { ready: false, waiting: `${nameOf(svc)}: 0 of ${endpoints.length} endpoints ready` };
  if (matchingPods === 0) return { ready: false, waiting: `${nameOf(svc)}: no endpoints; no pod matches its selector ${sel}` };
  return { ready: false, waiting: `${nameOf(svc)}: waiting for a ready endpoint (selector ${sel})` };
}

// ---------------------------------------------------------------------------------------------
// Custom resources

/** API groups served by Kubernetes itself; their kinds are ready once applied (or have rules of their own). */
const BUILTIN_GROUPS = new Set([
  'admissionregistration.k8s.io', 'apiextensions.k8s.io', 'apiregistration.k8s.io', 'authentication.k8s.io',
  'authorization.k8s.io', 'certificates.k8s.io', 'coordination.k8s.io', 'discovery.k8s.io', 'events.k8s.io',
  'flowcontrol.apiserver.k8s.io', 'internal.apiserver.k8s.io', 'networking.k8s.io', 'node.k8s.io',
  'rbac.authorization.k8s.io', 'resource.k8s.io', 'scheduling.k8s.io', 'storage.k8s.io', 'storagemigration.k8s.io',
  'metrics.k8s.io',
]);

/** Whether objects of this apiVersion come from a CRD (or an aggregated API): a group with a dot that Kubernetes does not serve. */
export function isCustomResource(apiVersion: string): boolean {
  const slash = apiVersion.indexOf('/');
  if (slash < 0) return false;
  const group = apiVersion.slice(0, slash);
  return group.includes('.') && !BUILTIN_GROUPS.has(group);
}

interface Condition { type: string; status: string; reason?: string; message?: string; observedGeneration?: number }

/**
 * A custom resource is ready when its controller says so: a `Ready` condition (else `Available`)
 * that is True for the current generation. False or Unknown: waiting, with the controller's reason
 * and message. No such condition: waiting during the grace period (a controller sets its first
 * conditions a moment after the apply), then ready with a note, as Tilt does for kinds it does not know.
 */
export function customResourceStatus(o: Obj, graceOver: boolean): Readiness {
  const name = nameOf(o);
  const conds: Condition[] = Array.isArray(o.status?.conditions) ? o.status.conditions : [];
  const cond = conds.find((c) => c.type === 'Ready') ?? conds.find((c) => c.type === 'Available');
  if (!cond) {
    const others = conds.length ? ` (it has ${conds.map((c) => `${c.type}=${c.status}`).join(', ')})` : '';
    if (!graceOver) return { ready: false, waiting: `${name}: waiting for its controller to report a Ready or Available condition${others}` };
    return { ready: true, note: `${name} reports no Ready or Available condition${others}; counted as ready once applied` };
  }
  const why = [cond.reason, cond.message].filter(Boolean).join(': ');
  if (cond.status === 'True') {
    const gen = o.metadata.generation as number | undefined;
    const seen = cond.observedGeneration ?? o.status?.observedGeneration;
    if (gen !== undefined && seen !== undefined && seen < gen) return { ready: false, waiting: `${name}: ${cond.type} is for generation ${seen}; waiting for its controller to see generation ${gen}` };
    return { ready: true };
  }
  return { ready: false, waiting: `${name}: ${cond.type}=${cond.status}${why ? ` (${why})` : ''}` };
}

// ---------------------------------------------------------------------------------------------
// OOMKilled

export interface ContainerResources { requests?: Record<string, string>; limits?: Record<string, string> }
export interface PodLike {
  metadata?: { name?: string; namespace?: string };
  spec?: { containers?: { name: string; resources?: ContainerResources }[]; initContainers?: { name: string; resources?: ContainerResources }[]; [k: string]: unknown };
}

/** Autopilot's admission settings when the service deploys under Autopilot (`devloop:autopilot` admitted it). */
export type AutopilotSettings = ClusterSettings;

/**
 * The error for a container the kernel killed for memory: its limit, and the fix. Under Autopilot
 * a limit is not free-form (requests = limits, a CPU:memory ratio, 250m CPU steps), so the fix
 * names the size admission turns twice the memory into.
 */
export function oomMessage(owner: string, pod: PodLike, container: string, restarts: number | undefined, autopilot?: AutopilotSettings): { message: string; hint: string } {
  const c = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((x) => x.name === container);
  const limit = c?.resources?.limits?.memory;
  const podName = pod.metadata?.name ?? '?';
  const message = `${owner}: container ${container} of pod ${podName} was killed for using more memory than ${limit ? `its limit, ${limit}` : 'it had (no memory limit: the node ran out, or a LimitRange set one)'} (OOMKilled${restarts ? `, ${restarts} restart${restarts === 1 ? '' : 's'}` : ''})`;
  const next = limit && autopilot ? nextAutopilotSize(pod, container, limit, autopilot) : undefined;
  const field = `resources.limits.memory of container ${container} in the manifest of ${owner}`;
  const hint = next
    ? `raise ${field} and requests.memory; under Autopilot the next valid size is memory ${next.memory} with cpu ${next.cpu} (what admission makes of twice ${limit})`
    : limit
      ? `raise ${field} above ${limit} (to ${double(limit)}, say), or make the program use less memory`
      : `set ${field} to what the program needs, or make it use less memory`;
  return { message, hint };
}

function double(q: string): string {
  try {
    const v = parseQuantity(q);
    return formatQuantity({ nano: v.nano * 2n, format: v.format });
  } catch (err) {
    if (err instanceof QuantityError) return `twice ${q}`;
    throw err;
  }
}

/** What Autopilot admission makes of the pod with the container's memory doubled: the cpu and memory it would run with. */
export function nextAutopilotSize(pod: PodLike, container: string, limit: string, settings: AutopilotSettings): { cpu: string; memory: string } | undefined {
  let memory: string;
  try { memory = double(limit); parseQuantity(memory); } catch { return undefined; }
  const spec = structuredClone(pod.spec ?? {}) as NonNullable<PodLike['spec']>;
  const c = spec.containers?.find((x) => x.name === container) ?? spec.initContainers?.find((x) => x.name === container);
  if (!c) return undefined;
  const cpu = c.resources?.requests?.cpu ?? c.resources?.limits?.cpu;
  c.resources = { requests: { ...(cpu ? { cpu } : {}), memory }, limits: { memory } };
  const result = admit({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.metadata?.name ?? container, namespace: pod.metadata?.namespace ?? 'default' }, spec }, settings);
  if (!result.allowed) return undefined;
  const admitted = (result.mutated.spec as NonNullable<PodLike['spec']>).containers?.find((x) => x.name === container) ?? (result.mutated.spec as NonNullable<PodLike['spec']>).initContainers?.find((x) => x.name === container);
  const requests = admitted?.resources?.requests ?? {};
  const mem = admitted?.resources?.limits?.memory ?? requests.memory;
  return mem && requests.cpu ? { cpu: requests.cpu, memory: mem } : undefined;
}

// ---------------------------------------------------------------------------------------------
// Probes

export interface EventLike { reason?: string; message?: string; lastTimestamp?: string | Date | null; eventTime?: string | Date | null; count?: number }

const when = (e: EventLike) => { const t = e.lastTimestamp ?? e.eventTime; return t ? new Date(t).getTime() : 0; };

/** The kubelet's last word on a failing probe ("Readiness probe failed: HTTP probe failed with statuscode: 500"), from the pod's Unhealthy events. */
export function probeFailure(events: EventLike[]): string | undefined {
  const last = events.filter((e) => e.reason === 'Unhealthy' && e.message).sort((a, b) => when(a) - when(b)).at(-1);
  return last?.message?.trim().replace(/\s*\n\s*/g, ' ');
}

// ---------------------------------------------------------------------------------------------
// Apply errors

export interface ApplyFailure { code: string; message: string; hint: string }

interface RawError { code?: unknown; message?: string; body?: unknown; cause?: { code?: unknown } }

function bodyOf(err: RawError): { message?: string; reason?: string; details?: { causes?: { field?: string; message?: string; reason?: string }[] } } | undefined {
  let body = err.body;
  if (typeof body === 'string') { try { body = JSON.parse(body); } catch { return body ? { message: String(body).trim() } : undefined; } }
  return body && typeof body === 'object' ? body as never : undefined;
}

const NETWORK = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EPIPE|socket hang up|CERT_|certificate|self[- ]signed|UNABLE_TO_VERIFY)/i;

/**
 * The API server's answer to applying `object` (from `source`, `k8s/web.yaml:12`), as an error
 * class with a message naming the object and a hint with the fix. `server` is the context's API
 * server, for the unreachable case; `verb` what devloop was doing (`apply`, `read`).
 */
export function applyFailure(err: unknown, object: Pick<K8sObject, 'apiVersion' | 'kind' | 'metadata'>, source: string, server?: string, verb = 'apply'): ApplyFailure {
  const e = (err ?? {}) as RawError;
  const raw = e.message ?? String(err);
  const body = bodyOf(e);
  const status = typeof e.code === 'number' ? e.code : undefined;
  const said = body?.message ?? raw.replace(/^Failed to fetch resource metadata for \S+: /, '');
  const what = `${refOf(object)} (${source})`;
  const kubectlKind = object.kind.toLowerCase();

  if (status === undefined && (NETWORK.test(raw) || NETWORK.test(String(e.code ?? '')) || NETWORK.test(String(e.cause?.code ?? '')))) {
    const url = /request to (\S+) failed/.exec(raw)?.[1];
    const at = server ?? (url ? new URL(url).origin : 'its address');
    const reason = /reason: (.*)$/.exec(raw)?.[1] ?? (typeof e.code === 'string' ? e.code : raw);
    return {
      code: 'K8S_UNREACHABLE',
      message: `cannot reach the Kubernetes API server at ${at} to ${verb} ${what}: ${reason}`,
      hint: `start the cluster, or point the context at one that runs ("kubectl cluster-info" shows what the kubeconfig's current context reaches)`,
    };
  }
  if (/^Unrecognized API version and kind/.test(raw) || (status === 404 && /^Failed to fetch resource metadata/.test(raw))) {
    return {
      code: 'K8S_NO_SUCH_KIND',
      message: `cannot apply ${what}: no kind "${object.kind}" in apiVersion "${object.apiVersion}" on this cluster (no match for kind)`,
      hint: `install the CustomResourceDefinition for ${object.kind} first (put it in the service's manifests, or "kubectl get crd" to see what is installed), or fix apiVersion/kind at ${source}`,
    };
  }
  if (status === 401) {
    return {
      code: 'K8S_UNAUTHORIZED',
      message: `the API server${server ? ` at ${server}` : ''} refused the kubeconfig's credentials to ${verb} ${what} (401 Unauthorized): they are missing, wrong or expired`,
      hint: 'refresh the credentials of the current context (GKE: "gcloud container clusters get-credentials CLUSTER"; others: re-create the kubeconfig user), then check with "kubectl auth whoami"',
    };
  }
  if (status === 403) {
    return {
      code: 'K8S_FORBIDDEN',
      message: `not allowed to apply ${what}: ${said}`,
      hint: `grant the kubeconfig's user "patch" and "create" on ${kubectlKind} (a Role/RoleBinding), or use a context that has them ("kubectl auth can-i patch ${kubectlKind}")`,
    };
  }
  if (status === 409) {
    const managers = [...said.matchAll(/conflicts? with "([^"]+)"/g)].map((m) => m[1]);
    const who = managers.length ? [...new Set(managers)].map((m) => `"${m}"`).join(', ') : 'another field manager';
    return {
      code: 'K8S_APPLY_CONFLICT',
      message: `${what} is also managed by ${who}: ${said}`,
      hint: `remove the conflicting fields from the manifest, or let devloop own the object: delete it ("kubectl delete ${kubectlKind} ${object.metadata.name}${object.metadata.namespace ? ` -n ${object.metadata.namespace}` : ''}") and deploy again`,
    };
  }
  const causes = body?.details?.causes?.filter((c) => c.field) ?? [];
  const typed = /failed to create typed patch object[^:]*\): (\.?[\w.[\]\-/"=]+): (.*)$/.exec(said);
  if (status === 422 || status === 400 || typed) {
    const fields = causes.length ? causes.map((c) => `${c.field}: ${c.message ?? c.reason ?? 'invalid'}`) : typed ? [`${typed[1].replace(/^\./, '')}: ${typed[2]}`] : [];
    const named = fields.length ? fields.map((f) => `field ${f}`).join('; ') : said;
    const first = causes[0]?.field ?? typed?.[1]?.replace(/^\./, '');
    return {
      code: 'K8S_INVALID',
      message: `the API server rejected ${what}: ${named}`,
      hint: `fix ${first ? `${first} ` : 'the object '}at ${source}`,
    };
  }
  if (status === 404) {
    const ns = /namespaces "([^"]+)" not found/.exec(said)?.[1];
    return {
      code: 'K8S_APPLY_NOT_FOUND',
      message: `cannot apply ${what}: ${said}`,
      hint: ns ? `create the namespace ("kubectl create namespace ${ns}"), put a Namespace in the manifests, or set k8s.namespace to one that exists` : 'the namespace or the resource type does not exist on this cluster: create the namespace, or install the CRD first',
    };
  }
  return {
    code: 'K8S_APPLY_FAILED',
    message: `cannot apply ${what}: ${status ? `${status} ` : ''}${said}`,
    hint: `fix the manifest at ${source}, or check that the API server is healthy ("kubectl get --raw /readyz")`,
  };
}

/** `(applied before it: a, b; not applied: c)`: what a failed apply left behind, so nothing is half-applied unsaid. */
export function appliedSoFar(applied: string[], notApplied: string[]): string {
  const parts = [applied.length ? `applied before it: ${applied.join(', ')}` : 'nothing was applied'];
  if (notApplied.length) parts.push(`not applied: ${notApplied.join(', ')}`);
  return ` (${parts.join('; ')})`;
}
