/**
 * AdmissionReview v1 in, AdmissionReview v1 out, for the two webhooks GKE Autopilot runs: the
 * mutator (autopilot-default-resources-mutator: defaults, minimums, ratios and steps as a
 * JSONPatch, its warning in `warnings`, the `autopilot.gke.io/*` annotations) and Warden's
 * validating webhook (denials). Pure: the server only parses the body and writes this back.
 *
 * Split as on GKE, the validator sees the object after the mutator's patch, and the API server
 * prints the mutator's warning even when Warden then denies ([seen] "Warning: autopilot-default-
 * resources-mutator:... Error from server (GKE Warden constraints violations): ...").
 */
import { admit } from '../admission.js';
import type { ClusterSettings } from '../settings.js';
import type { Container, K8sObject } from '../types.js';
import { formatDenials, WARDEN_WEBHOOK } from '../warden.js';
import { isWorkload, podTemplate } from '../workload.js';
import { placeForMode, type AutopilotMode } from '../modes.js';
import { jsonPatch, type PatchOp } from './patch.js';

export const ANNOTATION_ADJUSTMENT = 'autopilot.gke.io/resource-adjustment';
export const ANNOTATION_WARDEN_VERSION = 'autopilot.gke.io/warden-version';
/** [seen] `autopilot.gke.io/warden-version: 2.7.41` on a pod of a 2023 Autopilot cluster. */
export const WARDEN_VERSION = '2.7.41';
/** `kubectl` prints it in parentheses: "Error from server (GKE Warden constraints violations): ..." [seen]. */
export const WARDEN_REASON = 'GKE Warden constraints violations';

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  namespace?: string;
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  userInfo?: { username?: string; groups?: string[] };
  object?: K8sObject | null;
  dryRun?: boolean;
}

export interface AdmissionReview {
  apiVersion?: string;
  kind?: string;
  request?: AdmissionRequest;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  warnings?: string[];
  patchType?: 'JSONPatch';
  patch?: string;
  status?: { code: number; reason?: string; message: string };
}

export interface ReviewOut {
  apiVersion: 'admission.k8s.io/v1';
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** Thrown for a body that is not an AdmissionReview with a request: the server answers 400. */
export class ReviewError extends Error {}

const out = (response: AdmissionResponse): ReviewOut => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response });

function requestOf(body: unknown): AdmissionRequest {
  const request = (body as AdmissionReview | null)?.request;
  if (typeof request !== 'object' || request === null || typeof request.uid !== 'string') {
    throw new ReviewError('not an AdmissionReview: request.uid is missing');
  }
  return request;
}

/** The object as admission sees it: on CREATE the API server leaves `metadata.namespace` to the request. */
function subject(request: AdmissionRequest): K8sObject | undefined {
  const object = request.object;
  if (!object || typeof object !== 'object' || !isWorkload(object)) return undefined;
  const copy = structuredClone(object);
  copy.metadata ??= {};
  if (!copy.metadata.namespace && request.namespace) copy.metadata.namespace = request.namespace;
  return copy;
}

const verbOf = (request: AdmissionRequest) => (request.operation ?? 'CREATE').toLowerCase();

/**
 * The mutator's answer: always allowed (Warden denies, not the mutator). With `mode`, a Pod is also
 * placed for it (modes.ts): `run` lets it run on the cluster's own node, `simulate` only on kwok's.
 */
export function mutate(body: unknown, settings: ClusterSettings = {}, mode?: AutopilotMode, session?: Record<string, string>): ReviewOut {
  const request = requestOf(body);
  const before = subject(request);
  if (!before) return out({ uid: request.uid, allowed: true });
  const result = admit(before, { ...settings, verb: verbOf(request) });
  const after = result.mutated;
  annotate(before, after);
  if (mode && result.allowed) placeForMode(after, mode, session);
  const ops: PatchOp[] = jsonPatch(before, after);
  return out({
    uid: request.uid,
    allowed: true,
    ...(result.warnings.length ? { warnings: result.warnings } : {}),
    ...(ops.length ? { patchType: 'JSONPatch' as const, patch: Buffer.from(JSON.stringify(ops)).toString('base64') } : {}),
  });
}

/** Warden's answer: a 403 with GKE's text, less the "admission webhook ... denied the request: " the API server puts before it. */
export function validate(body: unknown, settings: ClusterSettings = {}): ReviewOut {
  const request = requestOf(body);
  const object = subject(request);
  if (!object) return out({ uid: request.uid, allowed: true });
  const result = admit(object, { ...settings, verb: verbOf(request) });
  if (result.allowed) return out({ uid: request.uid, allowed: true });
  const by = request.userInfo?.username ? { user: request.userInfo.username, groups: request.userInfo.groups ?? [] } : undefined;
  const text = formatDenials(result.denials, { kind: object.kind, name: object.metadata?.name }, by);
  const prefix = `admission webhook "${WARDEN_WEBHOOK}" denied the request: `;
  return out({ uid: request.uid, allowed: false, status: { code: 403, reason: WARDEN_REASON, message: text.startsWith(prefix) ? text.slice(prefix.length) : text } });
}

type Resources = { limits?: Record<string, unknown>; requests?: Record<string, unknown> };

/** `{"limits":…,"requests":…,"name":…}` per container, empty parts left out, as GKE writes it [seen]. */
function resourceView(containers: Container[] | undefined) {
  return (containers ?? []).map((c) => {
    const r = (c.resources ?? {}) as Resources;
    return {
      ...(r.limits && Object.keys(r.limits).length ? { limits: r.limits } : {}),
      ...(r.requests && Object.keys(r.requests).length ? { requests: r.requests } : {}),
      name: c.name,
    };
  });
}

/**
 * GKE's two annotations on the admitted object: the Warden version always, and the resource
 * adjustment (containers before and after) when the mutator changed resources. [seen] shape:
 * {"input":{"containers":[…]},"output":{"containers":[…]},"modified":true}. Init containers go
 * under "initContainers" *verify* (only regular containers seen).
 */
export function annotate(before: K8sObject, after: K8sObject): void {
  const b = podTemplate(before)?.spec;
  const a = podTemplate(after)?.spec;
  const annotations: Record<string, string> = { ...(after.metadata?.annotations ?? {}) };
  annotations[ANNOTATION_WARDEN_VERSION] = WARDEN_VERSION;
  if (b && a) {
    const part = (s: typeof a) => ({
      ...(s.initContainers?.length ? { initContainers: resourceView(s.initContainers) } : {}),
      containers: resourceView(s.containers),
    });
    const input = part(b);
    const output = part(a);
    if (JSON.stringify(input) !== JSON.stringify(output)) {
      annotations[ANNOTATION_ADJUSTMENT] = JSON.stringify({ input, output, modified: true });
    }
  }
  after.metadata = { ...(after.metadata ?? {}), annotations };
}
