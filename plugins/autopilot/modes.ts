/**
 * The two ways Autopilot runs inside a cluster (`simulation.autopilot.mode`):
 *
 * - `run` (default): the workloads run for real on the cluster's own node(s), with the resources
 *   Autopilot admitted (so a container raised to 500m/2Gi gets those cgroup limits). GKE's node
 *   placement cannot be met there (no node is Spot, Scale-Out or in us-central1-b), so the webhook
 *   moves the placement constraints of each *Pod* it admits into the PLACEMENT_ANNOTATION and out
 *   of the spec; the workload objects (Deployment, Job, ...) keep them exactly as GKE would. The
 *   planner answers, from the annotation, which node GKE would have made for the pod; nothing is
 *   materialised.
 * - `simulate`: the plan is materialised: every admitted Pod gets a node selector that only the
 *   provisioner's kwok nodes carry, so no container runs and a 300-pod application can be applied
 *   to watch Autopilot's nodes, costs and evictions.
 *
 * Pure: the webhook (webhook/review.ts) calls `placeForMode` on the Pod it admits; the planner and
 * the views call `gkeSpec` to see the pod as GKE would.
 */
import { LABELS } from './data.js';
import type { K8sObject, NodeSelectorTerm, PodAffinityTerm, PodSpec, TopologySpreadConstraint } from './types.js';

export type AutopilotMode = 'run' | 'simulate';
export const AUTOPILOT_MODES: readonly AutopilotMode[] = ['run', 'simulate'];

/** On a Pod admitted in `run` mode: the placement GKE would have honoured, as JSON (RelaxedPlacement). */
export const PLACEMENT_ANNOTATION = 'autopilot.devloop.dev/gke-placement';
/** Every node the provisioner makes carries it (provisioner.ts PROVISIONED_LABEL); `simulate` pods select it. */
export const SIMULATED_NODE_LABEL = 'devloop.dev/autopilot-provisioned';
/** The session label on provisioned nodes; `simulate` pods select their own session's. */
export const SESSION_LABEL = 'devloop.dev/session';

/** What `run` mode took out of a Pod's spec; put back by `gkeSpec`. */
export interface RelaxedPlacement {
  nodeSelector?: Record<string, string>;
  /** The required node affinity terms as written. */
  nodeAffinity?: NodeSelectorTerm[];
  topologySpreadConstraints?: TopologySpreadConstraint[];
  podAffinity?: PodAffinityTerm[];
  podAntiAffinity?: PodAffinityTerm[];
}

/** Keys any node has: a selector on them is kept in `run` mode (an arm64 pod on an amd64 machine should stay Pending, not crash). */
const KEPT_KEYS = new Set<string>([LABELS.os, LABELS.arch, 'beta.kubernetes.io/os', 'beta.kubernetes.io/arch']);
/** Topologies a single local node cannot spread over or separate by. */
const NODE_TOPOLOGIES = new Set<string>([LABELS.hostname, LABELS.zone, 'topology.kubernetes.io/region', 'failure-domain.beta.kubernetes.io/zone']);

/**
 * Changes the Pod `object` (in place) for `mode` and says what changed, in words for the log;
 * undefined when nothing did. `session`: labels the session's provisioned nodes carry (`simulate`). Objects that are not Pods are left alone: only pods are placed.
 */
export function placeForMode(object: K8sObject, mode: AutopilotMode, session: Record<string, string> = {}): string | undefined {
  if (object.kind !== 'Pod' || !object.spec) return undefined;
  const spec = object.spec as PodSpec;
  if (mode === 'simulate') {
    // The session's own nodes: two sessions simulating on one cluster never share nodes.
    const wanted = { [SIMULATED_NODE_LABEL]: 'true', ...session };
    if (Object.entries(wanted).every(([k, v]) => spec.nodeSelector?.[k] === v)) return undefined;
    spec.nodeSelector = { ...(spec.nodeSelector ?? {}), ...wanted };
    return 'placed on the simulated Autopilot nodes only';
  }
  const relaxed: RelaxedPlacement = {};
  const selector = spec.nodeSelector ?? {};
  const moved = Object.keys(selector).filter((k) => !KEPT_KEYS.has(k));
  if (moved.length) {
    relaxed.nodeSelector = Object.fromEntries(moved.map((k) => [k, selector[k]]));
    const kept = Object.fromEntries(Object.entries(selector).filter(([k]) => KEPT_KEYS.has(k)));
    if (Object.keys(kept).length) spec.nodeSelector = kept; else delete spec.nodeSelector;
  }
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required?.nodeSelectorTerms?.some((t) => (t.matchExpressions ?? []).some((e) => !KEPT_KEYS.has(e.key)) || (t.matchFields ?? []).length)) {
    relaxed.nodeAffinity = structuredClone(required.nodeSelectorTerms);
    // Terms keep only what every node can answer; a term left empty would match nothing, so it goes.
    const terms = required.nodeSelectorTerms.map((t) => ({ matchExpressions: (t.matchExpressions ?? []).filter((e) => KEPT_KEYS.has(e.key)) }))
      .filter((t) => t.matchExpressions.length);
    if (terms.length && terms.length === required.nodeSelectorTerms.length) required.nodeSelectorTerms = terms;
    else delete spec.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution;
  }
  if (spec.topologySpreadConstraints?.some((c) => c.whenUnsatisfiable !== 'ScheduleAnyway')) {
    relaxed.topologySpreadConstraints = spec.topologySpreadConstraints;
    const soft = spec.topologySpreadConstraints.filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway');
    if (soft.length) spec.topologySpreadConstraints = soft; else delete spec.topologySpreadConstraints;
  }
  for (const kind of ['podAffinity', 'podAntiAffinity'] as const) {
    const terms = spec.affinity?.[kind]?.requiredDuringSchedulingIgnoredDuringExecution;
    if (!terms?.some((t) => NODE_TOPOLOGIES.has(t.topologyKey))) continue;
    relaxed[kind] = terms;
    const kept = terms.filter((t) => !NODE_TOPOLOGIES.has(t.topologyKey));
    if (kept.length) spec.affinity![kind]!.requiredDuringSchedulingIgnoredDuringExecution = kept;
    else delete spec.affinity![kind]!.requiredDuringSchedulingIgnoredDuringExecution;
  }
  if (!Object.keys(relaxed).length) return undefined;
  object.metadata = { ...(object.metadata ?? {}), annotations: { ...(object.metadata?.annotations ?? {}), [PLACEMENT_ANNOTATION]: JSON.stringify(relaxed) } };
  const what = Object.keys(relaxed).map((k) => (k === 'nodeSelector' ? `nodeSelector ${moved.join(', ')}` : k)).join('; ');
  return `GKE placement (${what}) kept in ${PLACEMENT_ANNOTATION} so the pod runs on this cluster's node`;
}

/**
 * The pod's spec as GKE sees it: `run` mode's relaxed placement put back, `simulate` mode's node
 * selector taken out. Returns a copy; the input is not changed.
 */
export function gkeSpec(pod: { metadata?: { annotations?: Record<string, string> }; spec?: unknown }): PodSpec {
  const spec = JSON.parse(JSON.stringify(pod.spec ?? {})) as PodSpec & { nodeName?: string };
  delete spec.nodeName;
  if (spec.nodeSelector?.[SIMULATED_NODE_LABEL] !== undefined) {
    // What `simulate` added (placeForMode): not the user's, not GKE's (a custom key would read as workload separation).
    delete spec.nodeSelector[SIMULATED_NODE_LABEL];
    delete spec.nodeSelector[SESSION_LABEL];
    if (!Object.keys(spec.nodeSelector).length) delete spec.nodeSelector;
  }
  const text = pod.metadata?.annotations?.[PLACEMENT_ANNOTATION];
  if (!text) return spec;
  let relaxed: RelaxedPlacement;
  try { relaxed = JSON.parse(text) as RelaxedPlacement; } catch { return spec; }
  if (relaxed.nodeSelector) spec.nodeSelector = { ...(spec.nodeSelector ?? {}), ...relaxed.nodeSelector };
  if (relaxed.nodeAffinity) {
    spec.affinity = { ...(spec.affinity ?? {}) };
    spec.affinity.nodeAffinity = { ...(spec.affinity.nodeAffinity ?? {}), requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: relaxed.nodeAffinity } };
  }
  if (relaxed.topologySpreadConstraints) spec.topologySpreadConstraints = relaxed.topologySpreadConstraints;
  for (const kind of ['podAffinity', 'podAntiAffinity'] as const) {
    if (!relaxed[kind]) continue;
    spec.affinity = { ...(spec.affinity ?? {}) };
    spec.affinity[kind] = { ...(spec.affinity[kind] ?? {}), requiredDuringSchedulingIgnoredDuringExecution: relaxed[kind] };
  }
  return spec;
}
