/**
 * Server-side apply (field manager `devloop`, never forced), pruning and deletion. An error names
 * the object, the manifest line it came from and what was applied before it, so nothing is
 * half-applied without saying so.
 */
import type { KubernetesObjectApi } from '@kubernetes/client-node';
import { DevloopError } from '../../core/errors.js';
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
  for (const { object, source } of objects) {
    signal.throwIfAborted();
    try {
      applied.push(await api.patch(object, undefined, undefined, FIELD_MANAGER, false, PatchStrategy.ServerSideApply));
    } catch (err) {
      const { code, message } = apiError(err);
      const before = applied.length ? ` (applied before it: ${applied.map(refOf).join(', ')})` : ' (nothing was applied)';
      if (code === 409) {
        const manager = /conflicts? with "([^"]+)"/.exec(message)?.[1] ?? 'another field manager';
        throw new DevloopError(`${refOf(object)} (${source}) is also managed by "${manager}": ${message}${before}`, {
          code: 'K8S_APPLY_CONFLICT', service,
          hint: `remove the conflicting fields from the manifest, or let devloop own the object: delete it ("kubectl delete ${object.kind.toLowerCase()} ${object.metadata.name}${object.metadata.namespace ? ` -n ${object.metadata.namespace}` : ''}") and deploy again`,
        });
      }
      throw new DevloopError(`cannot apply ${refOf(object)} (${source}): ${message}${before}`, {
        code: code === 404 ? 'K8S_APPLY_NOT_FOUND' : 'K8S_APPLY_FAILED', service,
        hint: code === 404 ? 'the namespace or the resource type does not exist on this cluster: create the namespace, or install the CRD first' : 'fix the manifest at that line, or check the API server is reachable',
      });
    }
  }
  return applied;
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
