/**
 * Server-side apply (field manager `devloop`, never forced), pruning and deletion. An error names
 * the object, the manifest line it came from, what was applied before it and what was not, so
 * nothing is half-applied without saying so; failures.ts turns the API server's answer (unreachable,
 * 401, no such kind, invalid field, conflict) into the message and the fix.
 */
import type { KubernetesObjectApi } from '@kubernetes/client-node';
import { DevloopError } from '../../core/errors.js';
import { appliedSoFar, applyFailure } from './failures.js';
import { locatedSource } from './locate.js';
import { LABEL_MANAGED_BY, LABEL_SERVICE, applyRank, refOf, type K8sObject, type LoadedObject } from './manifests.js';

export const FIELD_MANAGER = 'devloop';

/** What devloop applied: enough to find the object again. */
export interface AppliedRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

export const toRef = (o: K8sObject): AppliedRef => ({ apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace });
const key = (r: AppliedRef) => `${r.apiVersion}|${r.kind}|${r.namespace ?? ''}|${r.name}`;
const header = (r: AppliedRef) => ({ apiVersion: r.apiVersion, kind: r.kind, metadata: { name: r.name, namespace: r.namespace } });
const named = (r: AppliedRef) => refOf(header(r));

/** The API's answer to a failed request: status code and message. */
export function apiError(err: unknown): { code?: number; message: string } {
  const e = err as { code?: number; body?: unknown; message?: string };
  let body = e.body;
  if (typeof body === 'string') { try { body = JSON.parse(body); } catch { /* plain text */ } }
  const message = (body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string')
    ? (body as { message: string }).message
    : typeof body === 'string' && body ? body : (e.message ?? String(err));
  return { code: typeof e.code === 'number' ? e.code : undefined, message };
}

export async function applyAll(api: KubernetesObjectApi, objects: LoadedObject[], service: string, signal: AbortSignal): Promise<K8sObject[]> {
  const { PatchStrategy } = await import('@kubernetes/client-node');
  const applied: K8sObject[] = [];
  for (const [i, { object, source }] of objects.entries()) {
    signal.throwIfAborted();
    const patch = () => api.patch(object, undefined, undefined, FIELD_MANAGER, false, PatchStrategy.ServerSideApply);
    try {
      applied.push(await patch().catch((err) => definedHere(applied, object) ? untilKindServed(patch, err, signal) : Promise.reject(err)));
    } catch (err) {
      signal.throwIfAborted();
      // The manifest line of the field the server names, when it names one (locate.ts).
      const f = applyFailure(err, object, locatedSource(err, objects[i]).source);
      throw new DevloopError(f.message + appliedSoFar(applied.map(refOf), objects.slice(i + 1).map((o) => refOf(o.object))), { code: f.code, service, hint: f.hint, cause: err });
    }
  }
  return applied;
}

/** A CRD applied earlier in this same apply: its kind is served a moment later, once the CRD is Established. */
function definedHere(applied: K8sObject[], object: K8sObject): boolean {
  const group = object.apiVersion.split('/')[0];
  return applied.some((o) => {
    const spec = (o as { spec?: { group?: string; names?: { kind?: string } } }).spec;
    return o.kind === 'CustomResourceDefinition' && spec?.group === group && spec?.names?.kind === object.kind;
  });
}

const CRD_WAIT_MS = 15_000;

async function untilKindServed<T>(patch: () => Promise<T>, first: unknown, signal: AbortSignal): Promise<T> {
  const until = Date.now() + CRD_WAIT_MS;
  let last = first;
  while (Date.now() < until && applyFailure(last, { apiVersion: '', kind: '', metadata: { name: '' } }, '').code === 'K8S_NO_SUCH_KIND') {
    await new Promise((r) => setTimeout(r, 300));
    signal.throwIfAborted();
    try { return await patch(); } catch (err) { last = err; }
  }
  throw last;
}

/**
 * Deletes objects of `before` not in `now`: only those still labelled as this service's by devloop,
 * so an object someone else took over (or never ours) is left alone. Reverse apply order.
 */
export async function prune(api: KubernetesObjectApi, before: AppliedRef[], now: AppliedRef[], service: string): Promise<string[]> {
  const keep = new Set(now.map(key));
  return deleteOwned(api, before.filter((r) => !keep.has(key(r))), service);
}

export async function deleteOwned(api: KubernetesObjectApi, refs: AppliedRef[], service: string): Promise<string[]> {
  const deleted: string[] = [];
  const ordered = [...refs].sort((a, b) => applyRank(b.kind) - applyRank(a.kind));
  for (const r of ordered) {
    try {
      const live = await api.read(header(r));
      const labels = live.metadata?.labels ?? {};
      if (labels[LABEL_MANAGED_BY] !== 'devloop' || labels[LABEL_SERVICE] !== service) continue;
      // Background: the owner goes now and its pods follow, so `down` does not wait on grace periods.
      await api.delete(header(r), undefined, undefined, undefined, undefined, 'Background');
      deleted.push(named(r));
    } catch (err) {
      if (apiError(err).code !== 404) throw err;
    }
  }
  return deleted;
}
