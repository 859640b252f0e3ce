/**
 * Autopilot admission as one pure function: (object, cluster settings) -> (mutated object,
 * warnings, denials). No I/O and no clock, so the same function can later sit behind a real
 * mutating + validating webhook: the mutated object becomes the patch, warnings the response's
 * `warnings`, denials its `status.message`.
 *
 * The steps follow the API server's order: Warden's authorizer (managed namespaces), then the
 * mutating webhook (placement rewrites, resource defaults and adjustments, whose warning is
 * returned even when a later check denies), then Warden's validation.
 */
import { GKE_NODE_LABEL_PREFIXES, MANAGED_NAMESPACES, SAFE_TO_EVICT } from './data.js';
import { ALLOWLISTABLE, CONSTRAINTS, HINTS, MSG } from './messages.js';
import { applyPlacement, gpuCount, readPlacement, type Denial, type PodPlacement } from './placement.js';
import { toBytes, toMilli } from './quantity.js';
import { admitResources, effectiveRequests, type Adjustment } from './resources.js';
import { allContainers, securityDenials } from './security.js';
import { resolveSettings, type ClusterSettings, type ResolvedSettings } from './settings.js';
import type { K8sObject, PodSpec } from './types.js';
import { formatDenials } from './warden.js';
import { mutatorWarning } from './warnings.js';
import { describeObject, nameOf, namespaceOf, podTemplate } from './workload.js';

export type { Denial } from './placement.js';

export interface PodRequests {
  cpuMilli: number;
  memoryBytes: number;
  ephemeralBytes: number;
  gpus: number;
}

export interface AdmissionResult {
  allowed: boolean;
  /** The object after mutation (a copy; the input is never touched). Also set when denied. */
  mutated: K8sObject;
  /** Admission warnings, as kubectl prints them after "Warning: ". */
  warnings: string[];
  /** Warden's denials, ordered by constraint id. */
  denials: Denial[];
  /** The text kubectl shows for a denied request (undefined when allowed). */
  message?: string;
  /** Each value admission set or changed, with the rule in words. Not part of GKE's response. */
  adjustments: Adjustment[];
  /** devloop's advice on a denial: what GKE would need to admit it. Not part of GKE's response. */
  hints: string[];
  /** Node requirements read from the pod; undefined for objects without a pod template. */
  placement?: PodPlacement;
  /**
   * One pod's effective requests after admission (init containers included the Kubernetes way:
   * the larger of the running total and any init container); undefined without a pod template.
   */
  podRequests?: PodRequests;
}

/** Admits one object. Throws TypeError when `object` is not an object with a `kind`. */
export function admit(object: unknown, settings: ClusterSettings | ResolvedSettings = {}): AdmissionResult {
  if (typeof object !== 'object' || object === null || Array.isArray(object) || typeof (object as K8sObject).kind !== 'string') {
    throw new TypeError('admit() needs a Kubernetes object with a "kind"');
  }
  const s = 'newWarningFormat' in settings ? settings : resolveSettings(settings);
  const mutated = structuredClone(object) as K8sObject;

  const ns = namespaceOf(mutated);
  if (MANAGED_NAMESPACES.includes(ns)) {
    const denials = [{ constraint: CONSTRAINTS.managedNamespaces, message: MSG.managedNamespace(ns, s.verb) }];
    return { allowed: false, mutated, warnings: [], denials, message: formatDenials(denials), adjustments: [], hints: [] };
  }

  const template = podTemplate(mutated);
  if (!template) return { allowed: true, mutated, warnings: [], denials: [], adjustments: [], hints: [] };
  const spec = template.spec;

  const denials: Denial[] = [];
  const placement = readPlacement(spec, s, denials);
  denials.push(...securityDenials(spec));
  const validateOnly = mutated.kind === 'CronJob' && !s.mutatesCronJobs;
  if (!validateOnly) applyPlacement(spec, placement);
  const fieldPrefix = mutated.kind === 'Pod' ? 'spec' : mutated.kind === 'CronJob' ? 'spec.jobTemplate.spec.template.spec' : 'spec.template.spec';
  const outcome = admitResources(spec, {
    placement, settings: s, daemonSet: mutated.kind === 'DaemonSet', workloadName: nameOf(mutated), validateOnly, fieldPrefix,
    separation: separationReason(spec, template.metadata?.annotations),
  });
  denials.push(...outcome.denials);

  const warnings: string[] = [];
  if (!validateOnly) {
    const warning = mutatorWarning(describeObject(mutated), allContainers(spec).map((c) => c.name), outcome, s.newWarningFormat);
    if (warning) warnings.push(warning);
  }
  const effective = effectiveRequests(spec);
  const sorted = denials.map((d, i) => [d, i] as const).sort((a, b) => (a[0].constraint < b[0].constraint ? -1 : a[0].constraint > b[0].constraint ? 1 : a[1] - b[1])).map(([d]) => d);
  const allowed = sorted.length === 0;
  return {
    allowed,
    mutated,
    warnings,
    denials: sorted,
    message: allowed ? undefined : formatDenials(sorted, { kind: mutated.kind, name: nameOf(mutated) }),
    adjustments: outcome.adjustments,
    hints: sorted.some((d) => ALLOWLISTABLE.has(d.constraint)) ? [HINTS.allowlist()] : [],
    placement,
    podRequests: {
      cpuMilli: toMilli(effective.cpu),
      memoryBytes: toBytes(effective.memory),
      ephemeralBytes: toBytes(effective['ephemeral-storage']),
      gpus: gpuCount(spec),
    },
  };
}

/**
 * Why the pod gets the workload-separation / extended-duration minimums (data.ts SEPARATION_MIN):
 * a node selector (or single-valued required node affinity) on a label GKE does not own, or the
 * safe-to-evict=false annotation on the pod template. Undefined when neither applies.
 */
function separationReason(spec: PodSpec, annotations: Record<string, string> | undefined): string | undefined {
  const own = (key: string) => GKE_NODE_LABEL_PREFIXES.some((p) => key.startsWith(p));
  const keys = Object.keys(spec.nodeSelector ?? {});
  for (const term of spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const e of term?.matchExpressions ?? []) if (e.operator === 'In') keys.push(e.key);
  }
  const custom = keys.find((k) => !own(k));
  if (custom !== undefined) return `workload separation on '${custom}'`;
  if (String(annotations?.[SAFE_TO_EVICT]) === 'false') return `extended duration: ${SAFE_TO_EVICT}=false`;
  return undefined;
}
