/**
 * Where each workload kind keeps its pod template, and how many pods it asks for. Admission and
 * scheduling only ever see the template; this is the one place that knows the kinds apart.
 */
import type { K8sObject, PodTemplate } from './types.js';

export const WORKLOAD_KINDS = ['Pod', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicaSet'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

export function isWorkload(obj: K8sObject): obj is K8sObject & { kind: WorkloadKind } {
  return typeof obj?.kind === 'string' && (WORKLOAD_KINDS as readonly string[]).includes(obj.kind);
}

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The pod template inside `obj`: `spec` by reference (editing it edits `obj`); `metadata` by
 * reference when present (a fresh empty object otherwise, not attached). Undefined for
 * non-workloads or a template without `containers`.
 */
export function podTemplate(obj: K8sObject): PodTemplate | undefined {
  if (!isWorkload(obj)) return undefined;
  if (obj.kind === 'Pod') {
    if (!isObject(obj.spec) || !Array.isArray(obj.spec.containers)) return undefined;
    return { metadata: obj.metadata ?? {}, spec: obj.spec as PodTemplate['spec'] };
  }
  const holder = obj.kind === 'CronJob' ? obj.spec?.jobTemplate?.spec : obj.spec;
  const template = isObject(holder) ? holder.template : undefined;
  if (!isObject(template) || !isObject(template.spec) || !Array.isArray(template.spec.containers)) return undefined;
  return { metadata: isObject(template.metadata) ? template.metadata : {}, spec: template.spec as PodTemplate['spec'] };
}

/** Pods the object runs at once: replicas, Job parallelism, 1 for a Pod, CronJob run or DaemonSet (per node). */
export function podCount(obj: K8sObject): number {
  const spec = obj.spec ?? {};
  const n = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : fallback);
  switch (obj.kind) {
    case 'Deployment': case 'StatefulSet': case 'ReplicaSet': return n(spec.replicas, 1);
    case 'Job': return Math.min(n(spec.parallelism, 1), n(spec.completions, Infinity));
    case 'CronJob': return n(spec.jobTemplate?.spec?.parallelism, 1);
    default: return 1;
  }
}

/** `Deployment default/web`: how GKE names an object in warnings. */
export function describeObject(obj: K8sObject): string {
  return `${obj.kind} ${namespaceOf(obj)}/${nameOf(obj)}`;
}

export function nameOf(obj: K8sObject): string {
  return obj.metadata?.name ?? obj.metadata?.generateName ?? '';
}

export function namespaceOf(obj: K8sObject): string {
  return obj.metadata?.namespace || 'default';
}
