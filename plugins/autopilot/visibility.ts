/**
 * What the TUI's details view and `devloop status` show per Kubernetes service when Autopilot is
 * simulated in the cluster (service/extra under `devloop:autopilot`): the requests admission
 * settled on per container and why they changed, the node each pod is on (or why it waits, the
 * provisioner's node on its way included), and the hourly cost of the pods bound to a node.
 *
 * `describePod` and `autopilotExtra` are pure (unit-tested); `AutopilotView` lists the service's
 * pods and their nodes every few seconds, and at once when the provisioner reports a change.
 */
import { admit } from './admission.js';
import { LABELS } from './data.js';
import { estimate, usd } from './estimate.js';
import { gkeSpec } from './modes.js';
import type { PlannedPlacement, PodLike } from './provisioner.js';
import type { ClusterSettings } from './settings.js';
import { ANNOTATION_ADJUSTMENT } from './webhook/review.js';

export const VIEW_PLUGIN = 'devloop:autopilot';
const REFRESH_MS = 3000;

export interface NodeInfo { name: string; computeClass?: string; spot: boolean; machineType?: string }

export interface PodView {
  name: string;
  /** `c cpu=250m memory=512Mi` per container, as admitted. */
  containers: string[];
  node?: NodeInfo;
  /** `run` mode: the node GKE would run it on (planned, not made). */
  gke?: PlannedPlacement;
  pending?: string;
  usdPerHour: number;
}

type Resources = { requests?: Record<string, string>; limits?: Record<string, string> };
interface LivePod extends PodLike { metadata?: PodLike['metadata'] & { annotations?: Record<string, string> } }

/** The reasons admission gives for the changes the webhook recorded in the resource-adjustment annotation. */
export function adjustmentReasons(pod: LivePod, annotation: string | undefined, settings: ClusterSettings): string[] {
  if (!annotation) return [];
  // GKE's shape: `{"limits":…,"requests":…,"name":…}` per container (webhook/review.ts resourceView).
  let input: { containers?: ({ name: string } & Resources)[]; initContainers?: ({ name: string } & Resources)[] };
  try { input = (JSON.parse(annotation) as { input?: typeof input }).input ?? {}; } catch { return [`unreadable ${ANNOTATION_ADJUSTMENT} annotation`]; }
  // Admission run again over what was submitted gives the words; the annotation alone has only before/after.
  // As GKE saw it: without `simulate` mode's node selector, with `run` mode's placement put back.
  const spec = gkeSpec(pod) as unknown as { containers?: { name: string; resources?: Resources }[]; initContainers?: { name: string; resources?: Resources }[] };
  for (const key of ['containers', 'initContainers'] as const) {
    for (const c of spec[key] ?? []) {
      const i = input[key]?.find((x) => x.name === c.name);
      c.resources = { ...(i?.requests ? { requests: i.requests } : {}), ...(i?.limits ? { limits: i.limits } : {}) };
    }
  }
  const result = admit({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.metadata?.name ?? 'pod', namespace: pod.metadata?.namespace }, spec }, settings);
  return result.adjustments.map((a) => `${a.container} ${a.field}.${a.resource} ${a.from ?? 'unset'} → ${a.to}: ${a.reason}`);
}

/** One pod: admitted requests, its node (or why it waits) and its $/h (0 until a node runs it: Autopilot bills running pods). */
export function describePod(pod: LivePod, nodes: Map<string, NodeInfo>, pendingWhy: string | undefined, settings: ClusterSettings, gke?: PlannedPlacement): PodView {
  const containers = (pod.spec?.containers ?? []).map((c) => {
    const r = (c.resources?.requests ?? {}) as Record<string, string>;
    return `${c.name} ${['cpu', 'memory', 'ephemeral-storage'].filter((k) => r[k]).map((k) => `${k}=${r[k]}`).join(' ') || 'no requests'}`;
  });
  const nodeName = pod.spec?.nodeName;
  const node = nodeName ? nodes.get(nodeName) ?? { name: nodeName, spot: false } : undefined;
  let usdPerHour = 0;
  if (node) {
    try {
      // Priced as GKE would bill it: `run` mode's relaxed placement (a Spot selector) put back.
      const spec = gkeSpec(pod) as unknown as Record<string, unknown>;
      const est = estimate(admit({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.metadata?.name ?? 'pod', namespace: pod.metadata?.namespace }, spec }, settings), 1, settings.region ?? 'us-central1');
      usdPerHour = est?.usdPerHour ?? 0;
    } catch { /* a pod admission cannot read costs nothing here rather than breaking the view */ }
  }
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  const pending = node ? undefined : pendingWhy ?? (scheduled?.status === 'False' ? `${scheduled.reason ?? 'unschedulable'}: ${scheduled.message ?? 'no message'}` : 'not scheduled yet');
  return { name: pod.metadata?.name ?? '?', containers, node, ...(gke ? { gke } : {}), pending, usdPerHour };
}

const describeNode = (n: { computeClass?: string; machineType?: string; spot: boolean }) =>
  [n.computeClass ?? 'general-purpose', n.machineType, n.spot ? 'Spot' : 'on-demand'].filter(Boolean).join(', ');

/** service/extra data: scalars for the key=value line, `details` one line each. */
export function autopilotExtra(pods: PodView[], reasons: string[]): Record<string, unknown> {
  const details: string[] = [];
  for (const p of pods) {
    const where = p.node
      ? (p.gke ? `on ${p.node.name} · on GKE: ${p.gke.node} (${describeNode(p.gke)}, ${p.gke.zone}), planned` : `on ${p.node.name} (${describeNode(p.node)})`)
      : `pending: ${p.pending}${p.gke ? ` · on GKE: ${p.gke.node} (${describeNode(p.gke)}), planned` : ''}`;
    details.push(`pod ${p.name} ${where}${p.node ? ` · $${p.usdPerHour.toFixed(4)}/h` : ''}`);
    for (const c of p.containers) details.push(`  admitted ${c}`);
  }
  // One line per change: the reasons themselves contain `;`.
  if (reasons.length) for (const r of reasons) details.push(`adjusted: ${r}`);
  else details.push('adjusted: nothing (requests admitted as written)');
  const first = pods[0];
  return {
    pods: pods.length,
    running: pods.filter((p) => p.node).length,
    nodes: [...new Set(pods.flatMap((p) => (p.node ? [p.node.name] : [])))],
    spot: pods.some((p) => (p.gke ?? p.node)?.spot),
    ...(pods.some((p) => p.gke) ? { plannedNodes: [...new Set(pods.flatMap((p) => (p.gke ? [p.gke.node] : [])))] } : {}),
    usdPerHour: usd(pods.reduce((sum, p) => sum + p.usdPerHour, 0)),
    admitted: first ? first.containers : [],
    pending: pods.filter((p) => !p.node).map((p) => `${p.name}: ${p.pending}`),
    details,
  };
}

export function nodeInfo(n: { metadata?: { name?: string; labels?: Record<string, string> } }): NodeInfo {
  const l = n.metadata?.labels ?? {};
  return { name: n.metadata?.name ?? '?', computeClass: l[LABELS.computeClass], spot: l[LABELS.spot] === 'true', machineType: l[LABELS.instanceType] };
}

interface ViewApi {
  listNamespacedPod(param: { namespace: string; labelSelector: string }): Promise<{ items: LivePod[] }>;
  readNode(param: { name: string }): Promise<{ metadata?: { name?: string; labels?: Record<string, string> } }>;
}

/** Publishes the view of one service's pods until stop(). */
export class AutopilotView {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private running?: Promise<void>;
  private last = '';

  constructor(private o: {
    api: ViewApi; service: string; selectors: { namespace: string; selector: string }[];
    /** The applied workloads' resource-adjustment annotations (pods made from an admitted template carry none). */
    annotations: string[];
    settings: ClusterSettings;
    planned?: (pod: LivePod) => { node: string; machineType: string; upInS: number } | undefined;
    /** `run` mode: where GKE would run the pod. */
    gke?: (pod: LivePod) => PlannedPlacement | undefined;
    dispatch: (data: Record<string, unknown>) => void;
  }) {}

  start(): void { this.refresh(); }

  /** Now, unless a refresh is running (the next one follows soon). */
  refresh(): void {
    if (this.stopped || this.running) return;
    clearTimeout(this.timer);
    this.running = this.once().catch(() => { /* the cluster's errors show in the rollout and events */ }).finally(() => {
      this.running = undefined;
      if (this.stopped) return;
      this.timer = setTimeout(() => this.refresh(), REFRESH_MS);
      this.timer.unref?.();
    });
  }

  private async once(): Promise<void> {
    const pods: LivePod[] = [];
    for (const s of this.o.selectors) pods.push(...(await this.o.api.listNamespacedPod({ namespace: s.namespace, labelSelector: s.selector })).items.filter((p) => !p.metadata?.deletionTimestamp));
    const nodes = new Map<string, NodeInfo>();
    for (const name of new Set(pods.flatMap((p) => (p.spec?.nodeName ? [p.spec.nodeName] : [])))) {
      try { nodes.set(name, nodeInfo(await this.o.api.readNode({ name }))); } catch { nodes.set(name, { name, spot: false }); }
    }
    const views = pods.map((p) => {
      const plan = this.o.planned?.(p);
      return describePod(p, nodes, plan && `node provisioning, up in ~${plan.upInS}s (${plan.node}, ${plan.machineType})`, this.o.settings, this.o.gke?.(p));
    });
    const reasons = new Set<string>();
    const source = pods.find((p) => p.metadata?.annotations?.[ANNOTATION_ADJUSTMENT]);
    for (const a of [source?.metadata?.annotations?.[ANNOTATION_ADJUSTMENT], ...this.o.annotations]) {
      if (a && pods[0]) for (const r of adjustmentReasons(source ?? pods[0], a, this.o.settings)) reasons.add(r);
    }
    const data = autopilotExtra(views.sort((a, b) => a.name.localeCompare(b.name)), [...reasons]);
    const text = JSON.stringify(data);
    if (this.stopped || text === this.last) return;
    this.last = text;
    this.o.dispatch(data);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
