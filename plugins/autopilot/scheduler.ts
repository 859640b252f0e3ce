/**
 * A pure planner for Autopilot's node auto-provisioning and kube-scheduler: given pending pods
 * (already admitted) and settings, it decides which nodes exist when, which pod runs where, and
 * why. No clock and no I/O: time is simulated in seconds, so the same plan comes out every run and
 * the planner can later answer a real cluster's pending pods unchanged.
 *
 * The model, after KWOK/Karpenter's simulators and kube-scheduler-simulator's per-pod record:
 * - the scheduler binds a pending pod at once to the ready node it fits best (most allocated);
 * - the autoscaler scans every `scanIntervalS`: it nominates each still-pending pod to a node
 *   that is booting and has room, else provisions a node sized for the pending pods of the same
 *   shape (class, machine family, Arm, Spot, GPU, zone, workload separation);
 * - a node boots in `nodeBootS` (`gpuNodeBootS` for GPU nodes) and its nominated pods bind then;
 * - GPU and Performance pods get a node each; nodes carry Autopilot's taints, so Spot pods land
 *   only on Spot nodes and everything else stays off them;
 * - preferences score the feasible nodes like kube-scheduler's plugins (NodeAffinity,
 *   InterPodAffinity, PodTopologySpread with ScheduleAnyway: weight 2 each, normalized to 0-100,
 *   over NodeResourcesFit most-allocated, weight 1); a new node's zone follows them too;
 * - a node left empty for `scaleDownDelayS` is removed;
 * - a node under SCALE_DOWN_UTILIZATION_THRESHOLD of CPU and memory for `scaleDownDelayS` whose
 *   pods can all move elsewhere is drained and removed (consolidate.ts decides; pods with no owner
 *   and extended-duration pods block it).
 */
import { admit, type PodRequests } from './admission.js';
import { consolidationPlan, matchExpression as matchExpr, tolerates, type ConsolidationHooks, type ConsolidationNode, type ConsolidationPod } from './consolidate.js';
import { CLUSTER_FEE_HOUR, EXTENDED_DURATION_S, GKE_NODE_LABEL_PREFIXES, LABELS, MACHINES, MAX_PODS_PER_NODE, PROVISIONING, SAFE_TO_EVICT, SCALE_DOWN_UTILIZATION_THRESHOLD, ZONES, type MachineShape } from './data.js';
import { podHourly, usd } from './estimate.js';
import { allocatable, familyFor, nodeBilledHourly, shapesFor, type Capacity } from './machines.js';
import type { PodPlacement } from './placement.js';
import { GiB } from './quantity.js';
import type { ClusterSettings } from './settings.js';
import type { LabelSelector, NodeSelectorTerm, PodAffinityTerm, PodSpec, Toleration, TopologySpreadConstraint } from './types.js';

export interface ProvisioningTimings {
  scanIntervalS: number;
  nodeBootS: number;
  gpuNodeBootS: number;
  scaleDownDelayS: number;
}

export interface PlanPod {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  /** The pod spec after admission (run `admit` first, or leave `requests` out to have it run here). */
  spec: PodSpec;
  /** From admission; when absent the planner admits `spec` as a Pod itself. */
  requests?: PodRequests;
  placement?: PodPlacement;
  /** Seconds from the start when the pod is created. Default 0. */
  arriveAt?: number;
  /** Seconds from the start when the pod is deleted, wherever it is by then. Default: never. */
  deleteAt?: number;
  /** Seconds the pod runs once bound, then completes (a Job's pod). Default: forever. */
  runForS?: number;
  /** The workload it belongs to, e.g. `Deployment default/web`. */
  owner?: string;
  /** A DaemonSet's pod: one copy runs on every node whose taints and selectors it matches. */
  daemonSet?: boolean;
  /** Higher is scheduled first (spec.priority). */
  priority?: number;
  /** The pod's annotations; `cluster-autoscaler.kubernetes.io/safe-to-evict: "false"` makes it extended-duration. */
  annotations?: Record<string, string>;
}

export interface PlanSettings {
  region?: string;
  /** `realistic` (default), `fast`, or explicit timings (missing ones from `realistic`). */
  provisioning?: 'realistic' | 'fast' | Partial<ProvisioningTimings>;
  /** Node name prefix part: gk3-<clusterName>-... Default `devloop`. */
  clusterName?: string;
  maxPodsPerNode?: number;
  /** Stop at this time (seconds). Default: when nothing is left to happen. */
  until?: number;
  /** Used only for pods given without `requests`. */
  cluster?: ClusterSettings;
}

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'NoExecute' | 'PreferNoSchedule';
}

export interface PlanNode {
  name: string;
  machineType: string;
  family: string;
  computeClass: string;
  arch: 'amd64' | 'arm64';
  spot: boolean;
  gpu?: { type: string; count: number };
  zone: string;
  labels: Record<string, string>;
  taints: Taint[];
  capacity: Capacity & { pods: number };
  allocatable: Capacity & { pods: number };
  /** Requests on the node at its busiest. */
  peak: Capacity & { pods: number };
  /** Every pod that ran on it, in binding order (DaemonSet copies included). */
  pods: string[];
  createdAt: number;
  readyAt: number;
  removedAt?: number;
  billing: 'pod' | 'node';
  /** What the user pays for the node itself: the VM plus premium when node-billed, else 0. */
  usdPerHour: number;
  /** Why it was provisioned. */
  reason: string;
}

export interface PlacementRecord {
  pod: string;
  owner?: string;
  node?: string;
  status: 'running' | 'deleted' | 'pending' | 'unschedulable';
  decision: 'existing-node' | 'upcoming-node' | 'new-node' | 'daemonset' | 'unschedulable';
  /** When the pod was bound to its node. */
  boundAt?: number;
  /** Why it went where it went, in words. */
  reason: string;
  /** Up to 5 nodes ruled out, with the filter that ruled each out. */
  filtered: { node: string; reason: string }[];
  /** How many nodes were ruled out in all. */
  filteredCount: number;
}

export interface TimelineEvent {
  t: number;
  /** `pod-evicted`: moved off a node being consolidated; `no-scale-down`: an underused node stays, and why. */
  type: 'scale-up' | 'node-ready' | 'pod-bound' | 'pod-deleted' | 'pod-evicted' | 'node-empty' | 'scale-down' | 'no-scale-down' | 'unschedulable';
  node?: string;
  pod?: string;
  detail: string;
}

export interface Cost {
  /** Pod-billed pods: requests x price table. */
  pods: number;
  /** Node-billed nodes (Accelerator, Performance): VM + premium. */
  nodes: number;
  clusterFee: number;
  total: number;
}

export interface Plan {
  nodes: PlanNode[];
  placements: PlacementRecord[];
  timeline: TimelineEvent[];
  /** $/h at the busiest moment of the simulation. */
  costPerHour: Cost;
  /** $/h when the simulation ends (after scale-down). */
  costAtEnd: Cost;
  settings: { region: string; zones: string[]; timings: ProvisioningTimings; maxPodsPerNode: number };
}

// ---------------------------------------------------------------------------------------------

interface Shape {
  key: string;
  requests: PodRequests;
  placement: PodPlacement;
  spec: PodSpec;
  tolerations: Toleration[];
  exclusive: boolean;
  /** Labels a new node must carry beyond GKE's (workload separation), and the taints that go with them. */
  extraLabels: Record<string, string>;
  extraTaints: Taint[];
  zones?: string[];
  antiAffinity: { term: PodAffinityTerm; sel: string }[];
  affinity: { term: PodAffinityTerm; sel: string }[];
  spread: { c: TopologySpreadConstraint; sel: string }[];
  /** Preferences (scores, not filters). */
  nodePrefs: { weight: number; term: NodeSelectorTerm }[];
  podPrefs: { weight: number; term: PodAffinityTerm; sel: string; anti: boolean }[];
  softSpread: { c: TopologySpreadConstraint; sel: string }[];
  scored: boolean;
  hourly: number;
  error?: string;
  given?: PodRequests;
  givenPlacement?: PodPlacement;
}

interface PodState {
  pod: PlanPod;
  index: number;
  shape: Shape;
  ns: string;
  labels: Record<string, string>;
  record: PlacementRecord;
  node?: NodeState;
  nominated?: NodeState;
}

interface NodeState {
  out: PlanNode;
  key: string;
  ready: boolean;
  removed: boolean;
  free: Capacity & { pods: number };
  bound: number;
  /** DaemonSet copies among `bound`. */
  dsBound: number;
  nominatedCount: number;
  emptySince?: number;
  exclusive: boolean;
  /** Pods bound or nominated here (for affinity and spread counting). */
  members: Set<PodState>;
  compat: Map<string, string>;
  ds: PodState[];
  /** Since when its CPU and memory requests are under the scale-down threshold. */
  underSince?: number;
  /** The last reason given for keeping it while underused (said once). */
  blockedCause?: string;
}

const NO_FIT = 5;
const NO_TERMS: number[] = [];
const SYSTEM_PREFIXES = GKE_NODE_LABEL_PREFIXES;

export function resolveTimings(p: PlanSettings['provisioning']): ProvisioningTimings {
  if (p === 'fast') return { ...PROVISIONING.fast };
  if (p === undefined || p === 'realistic') return { ...PROVISIONING.realistic };
  return { ...PROVISIONING.realistic, ...p };
}

/** Plans `pods` onto simulated Autopilot nodes. Pure: same input, same plan. */
export function plan(pods: PlanPod[], settings: PlanSettings = {}): Plan {
  const region = settings.region ?? 'us-central1';
  const zones = (ZONES[region] ?? ['a', 'b', 'c']).map((z) => `${region}-${z}`);
  const timings = resolveTimings(settings.provisioning);
  const maxPods = settings.maxPodsPerNode ?? MAX_PODS_PER_NODE;
  const cluster = settings.clusterName ?? 'devloop';
  const until = settings.until ?? Infinity;
  const sim = new Simulation(region, zones, timings, maxPods, cluster, settings.cluster ?? {});
  sim.load(pods);
  sim.run(until);
  return sim.result();
}

class Simulation {
  nodes: NodeState[] = [];
  nodesByKey = new Map<string, NodeState[]>();
  pending: PodState[] = [];
  states: PodState[] = [];
  daemonSets: PodState[] = [];
  timeline: TimelineEvent[] = [];
  heap = new Heap();
  shapes = new WeakMap<PodSpec, Shape>();
  shapeByKey = new Map<string, Shape>();
  selectors = new Map<string, { selector: LabelSelector; ns: string }>();
  zoneCursor = new Map<string, number>();
  poolIds = new Map<string, string>();
  nodeSeq = 0;
  scanAt?: number;
  alive = 0;
  peak: Cost = { pods: 0, nodes: 0, clusterFee: 0, total: 0 };

  constructor(readonly region: string, readonly zones: string[], readonly timings: ProvisioningTimings, readonly maxPods: number,
    readonly cluster: string, readonly clusterSettings: ClusterSettings) {}

  load(pods: PlanPod[]): void {
    pods.forEach((pod, index) => {
      const shape = this.shapeOf(pod);
      const ns = pod.namespace ?? 'default';
      const record: PlacementRecord = { pod: pod.name, owner: pod.owner, status: 'pending', decision: 'unschedulable', reason: '', filtered: [], filteredCount: 0 };
      const state: PodState = { pod, index, shape, ns, labels: pod.labels ?? {}, record };
      if (pod.daemonSet) { this.daemonSets.push(state); return; }
      this.states.push(state);
      if (shape.error) {
        record.status = 'unschedulable';
        record.reason = shape.error;
        return;
      }
      this.heap.push(pod.arriveAt ?? 0, 2, () => this.arrive(state));
      if (pod.deleteAt !== undefined) this.heap.push(pod.deleteAt, 0, (t) => this.remove(state, t));
    });
  }

  run(until: number): void {
    while (this.heap.size) {
      const t = this.heap.peekTime();
      if (t > until) break;
      // Everything at the same instant first, then one scheduling pass, like a scheduler cycle.
      while (this.heap.size && this.heap.peekTime() === t) this.heap.pop()(t);
      this.schedulePass(t);
      if (this.scanAt === t) { this.scanAt = undefined; this.autoscale(t); }
      if (this.pending.some((p) => !p.nominated) && this.scanAt === undefined) {
        const next = Math.ceil(t / this.timings.scanIntervalS) * this.timings.scanIntervalS;
        this.scanAt = next;
        this.heap.push(next, 3, () => {});
      }
      this.trackCost();
    }
  }

  // ---- pods

  shapeOf(pod: PlanPod): Shape {
    const cached = this.shapes.get(pod.spec);
    if (cached && cached.given === pod.requests && cached.givenPlacement === pod.placement) return cached;
    let spec = pod.spec;
    let requests = pod.requests;
    let placement = pod.placement;
    let error: string | undefined;
    if (!requests || !placement) {
      const r = admit({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod.name, namespace: pod.namespace, labels: pod.labels }, spec }, this.clusterSettings);
      spec = r.mutated.spec as PodSpec;
      requests = r.podRequests!;
      placement = r.placement!;
      if (!r.allowed) error = `denied at admission: ${r.denials.map((d) => d.message).join('; ')}`;
    }
    const tolerations = spec.tolerations ?? [];
    const extraLabels: Record<string, string> = {};
    const extraTaints: Taint[] = [];
    for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) {
      if (SYSTEM_PREFIXES.some((p) => k.startsWith(p))) continue;
      extraLabels[k] = String(v);
      // Workload separation: Autopilot taints the node it makes for a custom selector the pod tolerates.
      if (tolerations.some((t) => t.key === k)) extraTaints.push({ key: k, value: String(v), effect: 'NoSchedule' });
    }
    const a = spec.affinity;
    // GKE takes the same separation from required node affinity: one term, a custom key, In, one value.
    const required = a?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    if (required.length === 1) {
      for (const e of required[0].matchExpressions ?? []) {
        if (e.operator !== 'In' || e.values?.length !== 1 || e.key in extraLabels || SYSTEM_PREFIXES.some((p) => e.key.startsWith(p))) continue;
        extraLabels[e.key] = e.values[0];
        if (tolerations.some((t) => t.key === e.key)) extraTaints.push({ key: e.key, value: e.values[0], effect: 'NoSchedule' });
      }
    }
    const zones = requiredZones(spec);
    const antiAffinity = (a?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((term) => ({ term, sel: this.register(term.labelSelector, pod.namespace ?? 'default') }));
    const affinity = (a?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []).map((term) => ({ term, sel: this.register(term.labelSelector, pod.namespace ?? 'default') }));
    const spread = (spec.topologySpreadConstraints ?? []).filter((c) => c.whenUnsatisfiable !== 'ScheduleAnyway')
      .map((c) => ({ c, sel: this.register(c.labelSelector, pod.namespace ?? 'default') }));
    const softSpread = (spec.topologySpreadConstraints ?? []).filter((c) => c.whenUnsatisfiable === 'ScheduleAnyway')
      .map((c) => ({ c, sel: this.register(c.labelSelector, pod.namespace ?? 'default') }));
    // An empty preferred term is a no-op in Kubernetes.
    const nodePrefs = (a?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [])
      .filter((x) => x.weight > 0 && (x.preference?.matchExpressions?.length ?? 0) > 0).map((x) => ({ weight: x.weight, term: x.preference }));
    const podPrefs = [
      ...(a?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((x) => ({ x, anti: false })),
      ...(a?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((x) => ({ x, anti: true })),
    ].filter(({ x }) => x.weight > 0 && x.podAffinityTerm?.topologyKey)
      .map(({ x, anti }) => ({ weight: x.weight, term: x.podAffinityTerm, anti, sel: this.register(x.podAffinityTerm.labelSelector, pod.namespace ?? 'default') }));
    // Node-billed pods and GPU pods run one to a node. [ref]
    const exclusive = placement.billing === 'node' || (placement.gpu?.count ?? 0) > 0;
    const key = JSON.stringify([placement.computeClass, placement.machineFamily, placement.arch, placement.spot, placement.gpu?.type, placement.gpu?.count, extraLabels, extraTaints, zones,
      spec.nodeSelector, a?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution, tolerations, ...(nodePrefs.length ? [nodePrefs] : [])]);
    const shape: Shape = {
      key, requests, placement, spec, tolerations, exclusive, extraLabels, extraTaints, zones, antiAffinity, affinity, spread,
      nodePrefs, podPrefs, softSpread, scored: nodePrefs.length + podPrefs.length + softSpread.length > 0,
      hourly: placement.billing === 'pod' ? podHourly(requests, placement, this.region).usdPerHour : 0, error,
      given: pod.requests, givenPlacement: pod.placement,
    };
    this.shapes.set(pod.spec, shape);
    return shape;
  }

  register(selector: LabelSelector | undefined, ns: string): string {
    const key = `${ns}|${JSON.stringify(selector ?? {})}`;
    if (!this.selectors.has(key)) this.selectors.set(key, { selector: selector ?? {}, ns });
    return key;
  }

  arrive(state: PodState): void {
    if (state.record.status === 'deleted') return;
    this.pending.push(state);
  }

  remove(state: PodState, t: number): void {
    const rec = state.record;
    if (rec.status === 'deleted' || rec.status === 'unschedulable') return;
    if (state.nominated) { this.unreserve(state.nominated, state); state.nominated.nominatedCount--; state.nominated = undefined; }
    this.pending = this.pending.filter((p) => p !== state);
    const node = state.node;
    rec.status = 'deleted';
    if (!node) return;
    this.unreserve(node, state);
    node.bound--;
    this.timeline.push({ t, type: 'pod-deleted', pod: state.pod.name, node: node.out.name, detail: `${state.pod.name} finished; ${node.bound} pods left on ${node.out.name}` });
    this.checkEmpty(node, t);
    this.touch(node, t);
    // Room freed here may let a blocked underused node go.
    if (this.retryOnChange) this.scheduleConsolidation(t);
  }

  // ---- scheduling

  schedulePass(t: number): void {
    if (!this.pending.length) return;
    const ready = this.nodes.some((n) => n.ready && !n.removed);
    if (!ready) return;
    this.sortPending();
    const still: PodState[] = [];
    for (const p of this.pending) {
      if (p.nominated) { still.push(p); continue; }
      const { node, filtered, count, why } = this.best(p, (n) => n.ready);
      if (node) {
        const where = `ready node ${node.out.name} (${node.out.machineType}, ${describeNode(node)})`;
        this.bind(p, node, t, 'existing-node', why ? `placed on ${where} by preference: ${why}; best score among ${this.feasibleNote(count, filtered)}`
          : `bin-packed onto ${where}: best fit among ${this.feasibleNote(count, filtered)}`, filtered, count);
        this.touch(node, t);
      } else still.push(p);
    }
    this.pending = still;
  }

  autoscale(t: number): void {
    this.sortPending();
    const waiting = this.pending.filter((p) => !p.nominated);
    const byKey = new Map<string, PodState[]>();
    for (const p of waiting) (byKey.get(p.shape.key) ?? byKey.set(p.shape.key, []).get(p.shape.key)!).push(p);
    const done = new Set<PodState>();
    for (const p of waiting) {
      if (done.has(p)) continue;
      const { node, filtered, count, why } = this.best(p, (n) => !n.ready);
      if (node) {
        this.nominate(p, node, 'upcoming-node', `nominated to node ${node.out.name} (${node.out.machineType}), booting, ready at t=${node.out.readyAt}s: no ready node fits (${this.feasibleNote(count, filtered, true)})${why ? `; by preference: ${why}` : ''}`, filtered, count);
        continue;
      }
      const group = (byKey.get(p.shape.key) ?? []).filter((q) => !done.has(q) && !q.nominated);
      const created = this.provision(p, group, t, filtered, count);
      if (!created) {
        p.record.status = 'unschedulable';
        p.record.decision = 'unschedulable';
        p.record.reason = `no machine in family ${familyFor(p.shape.placement)} can hold ${fmtReq(p.shape.requests)}`;
        this.timeline.push({ t, type: 'unschedulable', pod: p.pod.name, detail: p.record.reason });
        this.pending = this.pending.filter((q) => q !== p);
        done.add(p);
      }
    }
  }

  /** The feasible node with the least room left after placing `p` (most allocated); with preferences, the best scored. */
  best(p: PodState, which: (n: NodeState) => boolean): { node?: NodeState; filtered: { node: string; reason: string }[]; count: number; why?: string } {
    if (p.shape.scored) return this.bestScored(p, which);
    const { feasible, filtered, count } = this.feasible(p, which);
    let best: NodeState | undefined;
    let bestScore = Infinity;
    for (const n of feasible) {
      const score = this.leftAfter(p, n);
      if (score < bestScore) { bestScore = score; best = n; }
    }
    return { node: best, filtered, count };
  }

  /** The nodes `which` admits that can take `p`; of the others, the count and the first few reasons. */
  private feasible(p: PodState, which: (n: NodeState) => boolean): { feasible: NodeState[]; filtered: { node: string; reason: string }[]; count: number } {
    const filtered: { node: string; reason: string }[] = [];
    const feasible: NodeState[] = [];
    let count = 0;
    for (const n of this.nodes) {
      if (n.removed || !which(n)) continue;
      const why = this.fits(p, n);
      if (why === undefined) { feasible.push(n); continue; }
      count++;
      if (filtered.length < NO_FIT) filtered.push({ node: n.out.name, reason: typeof why === 'function' ? why() : why });
    }
    return { feasible, filtered, count };
  }

  /** The share of CPU plus the share of memory `n` has left once `p` is on it (0 to 2; lower is fuller). */
  private leftAfter(p: PodState, n: NodeState): number {
    const r = p.shape.requests;
    const a = n.out.allocatable;
    return (n.free.cpuMilli - r.cpuMilli) / a.cpuMilli + (n.free.memoryBytes - r.memoryBytes) / a.memoryBytes;
  }

  /**
   * kube-scheduler's scoring, for pods with preferences: NodeResourcesFit (most allocated) weight 1,
   * NodeAffinity, InterPodAffinity and PodTopologySpread weight 2 each, every plugin normalized to
   * 0-100 over the feasible nodes. `why` names the preferences that set the winner apart.
   */
  bestScored(p: PodState, which: (n: NodeState) => boolean): { node?: NodeState; filtered: { node: string; reason: string }[]; count: number; why?: string } {
    const { feasible, filtered, count } = this.feasible(p, which);
    if (!feasible.length) return { filtered, count };
    const pack = feasible.map((n) => 100 * (1 - this.leftAfter(p, n) / 2));
    const raws: Prefs[] = feasible.map((n) => this.prefs(p.shape, n.out.labels, (sel, key) => this.countIn(sel, key, n)));
    const g = rangesOf(raws);
    let best = 0;
    let top = -Infinity;
    for (let i = 0; i < feasible.length; i++) {
      const score = prefScore(raws[i], g) + pack[i];
      if (score > top) { top = score; best = i; }
    }
    const n = feasible[best];
    return { node: n, filtered, count, why: explainPrefs(p.shape, raws, g, best, n.out.labels) };
  }

  /** Raw preference scores of `shape` for a node with `labels`; `count` gives matching pods in a topology domain. */
  prefs(shape: Shape, labels: Record<string, string>, count: (sel: string, topologyKey: string) => number): Prefs {
    let nodeAffinity = 0;
    for (const { weight, term } of shape.nodePrefs) if ((term.matchExpressions ?? []).every((e) => matchExpr(e, labels))) nodeAffinity += weight;
    let podAffinity = 0;
    const podTerms: number[] = shape.podPrefs.length ? [] : NO_TERMS;
    for (const { weight, term, sel, anti } of shape.podPrefs) {
      const c = labels[term.topologyKey] === undefined ? 0 : count(sel, term.topologyKey);
      podTerms.push(c);
      podAffinity += (anti ? -1 : 1) * weight * c;
    }
    let spread = 0;
    for (const { c, sel } of shape.softSpread) if (labels[c.topologyKey] !== undefined) spread += count(sel, c.topologyKey);
    return { nodeAffinity, podAffinity, podTerms, spread };
  }

  /** undefined when `p` may go on `n`; else why not (lazily built for the cheap, frequent cases). */
  fits(p: PodState, n: NodeState): string | (() => string) | undefined {
    let c = n.compat.get(p.shape.key);
    if (c === undefined) { c = this.staticFit(p.shape, n) ?? ''; n.compat.set(p.shape.key, c); }
    if (c) return c;
    const r = p.shape.requests;
    if (n.exclusive && (n.bound - n.dsBound + n.nominatedCount) > 0) return 'node runs one pod (GPU / Performance nodes are not shared)';
    if (n.free.pods < 1) return () => `max pods per node (${this.maxPods}) reached`;
    if (n.free.cpuMilli < r.cpuMilli) return () => `insufficient cpu: pod requests ${fmtCpu(r.cpuMilli)}, node has ${fmtCpu(n.free.cpuMilli)} free`;
    if (n.free.memoryBytes < r.memoryBytes) return () => `insufficient memory: pod requests ${fmtGiB(r.memoryBytes)}, node has ${fmtGiB(n.free.memoryBytes)} free`;
    for (const { term, sel } of p.shape.antiAffinity) {
      if (this.countIn(sel, term.topologyKey, n) > 0) return `pod anti-affinity: a pod matching ${JSON.stringify(term.labelSelector ?? {})} already runs in ${term.topologyKey}=${n.out.labels[term.topologyKey]}`;
    }
    for (const { term, sel } of p.shape.affinity) {
      if (this.countIn(sel, term.topologyKey, n) === 0 && (this.total(sel) > 0 || !this.matches(sel, p))) {
        return `pod affinity: no pod matching ${JSON.stringify(term.labelSelector ?? {})} in ${term.topologyKey}=${n.out.labels[term.topologyKey]}`;
      }
    }
    for (const { c, sel } of p.shape.spread) {
      const skew = this.skewIfPlaced(sel, c.topologyKey, n, p);
      if (skew > c.maxSkew) return `topology spread: skew would be ${skew} > maxSkew ${c.maxSkew} on ${c.topologyKey}`;
    }
    return undefined;
  }

  /** Taints, node selector and required node affinity: depend only on the pod's shape and the node's labels. */
  staticFit(shape: Shape, n: NodeState): string | undefined {
    for (const taint of n.out.taints) {
      if (taint.effect === 'PreferNoSchedule') continue;
      if (!shape.tolerations.some((t) => tolerates(t, taint))) return `taint ${taint.key}${taint.value !== undefined ? `=${taint.value}` : ''}:${taint.effect} not tolerated`;
    }
    for (const [k, v] of Object.entries(shape.spec.nodeSelector ?? {})) {
      if (n.out.labels[k] !== String(v)) return `node selector ${k}=${v} does not match (node has ${n.out.labels[k] === undefined ? 'no such label' : `${k}=${n.out.labels[k]}`})`;
    }
    const terms = shape.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
    if (terms?.length && !terms.some((term) => (term.matchExpressions ?? []).every((e) => matchExpr(e, n.out.labels)))) {
      return 'required node affinity not satisfied';
    }
    return undefined;
  }

  // ---- provisioning

  provision(p: PodState, group: PodState[], t: number, filtered: { node: string; reason: string }[], count: number): NodeState | undefined {
    const shape = p.shape;
    const pl = shape.placement;
    const family = familyFor(pl);
    const gpus = pl.gpu?.count ?? 0;
    const shapes = shapesFor(family, gpus);
    if (!shapes.length || !MACHINES[family]) return undefined;
    const { zone, why: zoneWhy } = this.pickZone(p, family);
    const template = this.nodeTemplate(shape, family, zone);
    const overhead = this.daemonOverhead(template);
    // Size the node for the batch of same-shape pods waiting now, up to the largest machine.
    const largest = allocatable(shapes[shapes.length - 1]);
    const need = { cpuMilli: overhead.cpuMilli, memoryBytes: overhead.memoryBytes };
    let batch = 0;
    // Pods that repel each other per node would not share it: size for one.
    const selfRepelling = shape.antiAffinity.some((a) => a.term.topologyKey === LABELS.hostname && this.matches(a.sel, p));
    for (const q of shape.exclusive || selfRepelling ? [p] : group) {
      const r = q.shape.requests;
      if (batch >= this.maxPods - overhead.pods || need.cpuMilli + r.cpuMilli > largest.cpuMilli || need.memoryBytes + r.memoryBytes > largest.memoryBytes) {
        if (batch === 0) return undefined;
        break;
      }
      need.cpuMilli += r.cpuMilli;
      need.memoryBytes += r.memoryBytes;
      batch++;
    }
    if (batch === 0) return undefined;
    const machine = shapes.find((s) => { const a = allocatable(s); return a.cpuMilli >= need.cpuMilli && a.memoryBytes >= need.memoryBytes; })!;
    const note = this.feasibleNote(count, filtered, true);
    const node = this.addNode(machine, family, template, zone, t, shape, batch, need);
    for (const d of this.daemonSets) this.placeDaemon(d, node);
    this.nominate(p, node, 'new-node',
      `no ready or booting node fits (${note}); provisioned ${machine.name} (${describeNode(node)}) sized for ${batch} pending pod${batch === 1 ? '' : 's'} of this shape${zoneWhy ? `; zone ${zone} by preference: ${zoneWhy}` : ''}`, filtered, count);
    return node;
  }

  nodeTemplate(shape: Shape, family: string, zone: string): { labels: Record<string, string>; taints: Taint[] } {
    const pl = shape.placement;
    const labels: Record<string, string> = {
      [LABELS.arch]: pl.arch,
      [LABELS.zone]: zone,
      [LABELS.machineFamily]: family,
      'kubernetes.io/os': 'linux',
      ...shape.extraLabels,
    };
    const taints: Taint[] = [...shape.extraTaints];
    if (pl.computeClass !== 'general-purpose') {
      labels[LABELS.computeClass] = pl.computeClass;
      taints.push({ key: LABELS.computeClass, value: pl.computeClass, effect: 'NoSchedule' });
    }
    if (pl.spot) {
      labels[LABELS.spot] = 'true';
      taints.push({ key: LABELS.spot, value: 'true', effect: 'NoSchedule' });
    }
    if (pl.arch === 'arm64') taints.push({ key: LABELS.arch, value: 'arm64', effect: 'NoSchedule' });
    if (pl.gpu?.type) {
      labels[LABELS.accelerator] = pl.gpu.type;
      labels[LABELS.acceleratorCount] = String(pl.gpu.count);
      taints.push({ key: 'nvidia.com/gpu', value: 'present', effect: 'NoSchedule' });
    }
    return { labels, taints };
  }

  addNode(machine: MachineShape, family: string, template: { labels: Record<string, string>; taints: Taint[] }, zone: string, t: number, shape: Shape, batch: number, need: Capacity): NodeState {
    const pl = shape.placement;
    const poolKey = JSON.stringify([pl.computeClass, family, pl.spot, pl.arch, pl.gpu?.type, shape.extraLabels]);
    let pool = this.poolIds.get(poolKey);
    if (!pool) { pool = this.poolIds.size === 0 && pl.computeClass === 'general-purpose' && !pl.spot ? 'pool-1' : `nap-${this.poolIds.size + 1}`; this.poolIds.set(poolKey, pool); }
    const name = `gk3-${this.cluster}-${pool}-${String(++this.nodeSeq).padStart(4, '0')}`;
    const alloc = allocatable(machine);
    const gpu = pl.gpu?.type ? { type: pl.gpu.type, count: pl.gpu.count } : undefined;
    const boot = gpu ? this.timings.gpuNodeBootS : this.timings.nodeBootS;
    const labels = { ...template.labels, [LABELS.instanceType]: machine.name, [LABELS.hostname]: name };
    const out: PlanNode = {
      name, machineType: machine.name, family, computeClass: pl.computeClass, arch: pl.arch, spot: pl.spot, gpu, zone, labels, taints: template.taints,
      capacity: { cpuMilli: machine.vcpu * 1000, memoryBytes: machine.memoryGiB * GiB, pods: this.maxPods },
      allocatable: { ...alloc, pods: this.maxPods },
      peak: { cpuMilli: 0, memoryBytes: 0, pods: 0 },
      pods: [], createdAt: t, readyAt: t + boot,
      billing: pl.billing,
      usdPerHour: pl.billing === 'node' ? usd(nodeBilledHourly(family, machine, pl.spot, gpu?.count ?? 0)) : 0,
      reason: `${batch} pending pod${batch === 1 ? '' : 's'} (${fmtReq({ cpuMilli: need.cpuMilli, memoryBytes: need.memoryBytes, ephemeralBytes: 0, gpus: gpu?.count ?? 0 })}) of class ${pl.computeClass}${pl.spot ? ', Spot' : ''}${pl.arch === 'arm64' ? ', Arm' : ''}${gpu ? `, ${gpu.count} x ${gpu.type}` : ''}`,
    };
    const key = JSON.stringify([template.labels, template.taints]);
    const node: NodeState = {
      out, key, ready: false, removed: false, free: { ...alloc, pods: this.maxPods }, bound: 0, dsBound: 0, nominatedCount: 0,
      exclusive: shape.exclusive, members: new Set(), compat: new Map(), ds: [],
    };
    this.nodes.push(node);
    this.alive++;
    this.timeline.push({ t, type: 'scale-up', node: name, detail: `provisioning ${machine.name} in ${zone} for ${out.reason}; ready at t=${out.readyAt}s` });
    this.heap.push(out.readyAt, 1, (now) => this.ready(node, now));
    return node;
  }

  ready(node: NodeState, t: number): void {
    if (node.removed) return;
    node.ready = true;
    this.timeline.push({ t, type: 'node-ready', node: node.out.name, detail: `${node.out.name} (${node.out.machineType}) is ready; ${node.nominatedCount} nominated pod${node.nominatedCount === 1 ? ' binds' : 's bind'} now` });
    for (const d of node.ds) this.bindDaemon(d, node, t);
    const nominated = this.pending.filter((p) => p.nominated === node);
    for (const p of nominated) {
      node.nominatedCount--;
      p.nominated = undefined;
      this.unreserve(node, p);
      this.bind(p, node, t, p.record.decision, p.record.reason, p.record.filtered, p.record.filteredCount);
    }
    this.pending = this.pending.filter((p) => p.node === undefined);
    this.checkEmpty(node, t);
    this.touch(node, t);
    if (this.retryOnChange) this.scheduleConsolidation(t);
  }

  /** The zone for a new node: hard zone spread first, else the preferences (round robin among equals), else round robin. */
  pickZone(p: PodState, family: string): { zone: string; why?: string } {
    const allowed = p.shape.zones?.filter((z) => this.zones.includes(z)) ?? this.zones;
    const zoneSpread = p.shape.spread.find((s) => s.c.topologyKey === LABELS.zone);
    if (zoneSpread) {
      let best = allowed[0];
      let min = Infinity;
      for (const z of allowed) {
        const c = this.countZone(zoneSpread.sel, z);
        if (c < min) { min = c; best = z; }
      }
      return { zone: best };
    }
    const cursor = this.zoneCursor.get(p.shape.key) ?? 0;
    this.zoneCursor.set(p.shape.key, cursor + 1);
    if (p.shape.scored && allowed.length > 1) {
      // A preferred zone outside the region matches no candidate here, so it is ignored.
      const order = allowed.map((_, i) => allowed[(cursor + i) % allowed.length]);
      const labels = order.map((z) => this.nodeTemplate(p.shape, family, z).labels);
      const raws = labels.map((l) => this.prefs(p.shape, l, (sel, key) => (key === LABELS.zone ? this.countZone(sel, l[LABELS.zone]) : 0)));
      const g = rangesOf(raws);
      let best = 0;
      let top = -Infinity;
      for (let i = 0; i < order.length; i++) {
        const score = prefScore(raws[i], g);
        if (score > top) { top = score; best = i; }
      }
      return { zone: order[best], why: explainPrefs(p.shape, raws, g, best, labels[best]) };
    }
    return { zone: allowed[cursor % allowed.length] ?? this.zones[0] };
  }

  // ---- DaemonSets

  daemonOverhead(template: { labels: Record<string, string>; taints: Taint[] }): Capacity & { pods: number } {
    const o = { cpuMilli: 0, memoryBytes: 0, pods: 0 };
    const probe = { out: { labels: template.labels, taints: template.taints } } as unknown as NodeState;
    for (const d of this.daemonSets) {
      if (d.shape.error || this.staticFit(d.shape, probe) !== undefined) continue;
      o.cpuMilli += d.shape.requests.cpuMilli;
      o.memoryBytes += d.shape.requests.memoryBytes;
      o.pods++;
    }
    return o;
  }

  placeDaemon(d: PodState, node: NodeState): void {
    if (d.shape.error || this.staticFit(d.shape, node) !== undefined) return;
    const copy: PodState = { ...d, record: { pod: `${d.pod.name}-${node.out.name.slice(-4)}`, owner: d.pod.owner, status: 'pending', decision: 'daemonset', reason: '', filtered: [], filteredCount: 0 } };
    this.reserve(node, copy);
    node.ds.push(copy);
    this.states.push(copy);
  }

  bindDaemon(d: PodState, node: NodeState, t: number): void {
    d.node = node;
    d.record.node = node.out.name;
    d.record.status = 'running';
    d.record.boundAt = t;
    d.record.reason = `DaemonSet copy for node ${node.out.name}: Autopilot sizes each node to include its DaemonSet pods`;
    node.bound++;
    node.dsBound++;
    node.out.pods.push(d.record.pod);
    this.timeline.push({ t, type: 'pod-bound', pod: d.record.pod, node: node.out.name, detail: `${d.record.pod} (DaemonSet) on ${node.out.name}` });
    this.notePeak(node);
  }

  // ---- bookkeeping

  nominate(p: PodState, node: NodeState, decision: PlacementRecord['decision'], reason: string, filtered: { node: string; reason: string }[], count: number): void {
    p.nominated = node;
    node.nominatedCount++;
    this.reserve(node, p);
    Object.assign(p.record, { decision, reason, filtered, filteredCount: count, node: node.out.name });
  }

  bind(p: PodState, node: NodeState, t: number, decision: PlacementRecord['decision'], reason: string, filtered: { node: string; reason: string }[], count: number): void {
    if (!node.members.has(p)) this.reserve(node, p);
    p.node = node;
    node.bound++;
    node.emptySince = undefined;
    Object.assign(p.record, { node: node.out.name, status: 'running', decision, reason, filtered, filteredCount: count, boundAt: t });
    node.out.pods.push(p.pod.name);
    this.timeline.push({ t, type: 'pod-bound', pod: p.pod.name, node: node.out.name, detail: `${p.pod.name} on ${node.out.name}` });
    if (p.pod.runForS !== undefined) this.heap.push(t + p.pod.runForS, 0, (now) => this.remove(p, now));
    this.notePeak(node);
  }

  reserve(node: NodeState, p: PodState): void {
    node.free.cpuMilli -= p.shape.requests.cpuMilli;
    node.free.memoryBytes -= p.shape.requests.memoryBytes;
    node.free.pods--;
    node.members.add(p);
    this.count(p, node, 1);
  }

  unreserve(node: NodeState, p: PodState): void {
    if (!node.members.has(p)) return;
    node.free.cpuMilli += p.shape.requests.cpuMilli;
    node.free.memoryBytes += p.shape.requests.memoryBytes;
    node.free.pods++;
    node.members.delete(p);
    this.count(p, node, -1);
  }

  notePeak(node: NodeState): void {
    const a = node.out.allocatable;
    const used = { cpuMilli: a.cpuMilli - node.free.cpuMilli, memoryBytes: a.memoryBytes - node.free.memoryBytes, pods: a.pods - node.free.pods };
    const pk = node.out.peak;
    pk.cpuMilli = Math.max(pk.cpuMilli, used.cpuMilli);
    pk.memoryBytes = Math.max(pk.memoryBytes, used.memoryBytes);
    pk.pods = Math.max(pk.pods, used.pods);
  }

  checkEmpty(node: NodeState, t: number): void {
    const regular = node.bound - node.dsBound;
    if (regular > 0 || node.nominatedCount > 0 || node.emptySince !== undefined) return;
    node.emptySince = t;
    this.timeline.push({ t, type: 'node-empty', node: node.out.name, detail: `${node.out.name} has no pods; removed at t=${t + this.timings.scaleDownDelayS}s unless a pod lands on it` });
    this.heap.push(t + this.timings.scaleDownDelayS, 0, (now) => {
      if (node.removed || node.emptySince !== t) return;
      node.removed = true;
      node.out.removedAt = now;
      this.alive--;
      for (const d of node.ds) if (d.node === node) d.record.status = 'deleted';
      this.timeline.push({ t: now, type: 'scale-down', node: node.out.name, detail: `${node.out.name} removed after ${this.timings.scaleDownDelayS}s empty` });
    });
  }

  // ---- consolidation of underused nodes

  consolidationAt = new Set<number>();
  /** A node was kept for want of room (or a bare pod): look again when pods leave or nodes come. */
  retryOnChange = false;

  /** Starts or ends a node's underused period after its pods changed. */
  touch(n: NodeState, t: number): void {
    if (!n.ready || n.removed || n.exclusive) return;
    const a = n.out.allocatable;
    let cpu = a.cpuMilli - n.free.cpuMilli;
    let mem = a.memoryBytes - n.free.memoryBytes;
    for (const d of n.ds) if (d.node === n) { cpu -= d.shape.requests.cpuMilli; mem -= d.shape.requests.memoryBytes; }
    const under = n.bound > n.dsBound && n.nominatedCount === 0 && cpu < SCALE_DOWN_UTILIZATION_THRESHOLD * a.cpuMilli && mem < SCALE_DOWN_UTILIZATION_THRESHOLD * a.memoryBytes;
    if (!under) { n.underSince = undefined; n.blockedCause = undefined; return; }
    if (n.underSince !== undefined) return;
    n.underSince = t;
    this.scheduleConsolidation(t + this.timings.scaleDownDelayS);
  }

  /** A consolidation pass at the first autoscaler scan at or after `at`. */
  scheduleConsolidation(at: number): void {
    const scan = this.timings.scanIntervalS;
    const when = scan > 0 ? Math.ceil(at / scan) * scan : at;
    if (this.consolidationAt.has(when)) return;
    this.consolidationAt.add(when);
    this.heap.push(when, 4, (now) => { this.consolidationAt.delete(when); this.consolidate(now); });
  }

  consolidate(t: number): void {
    this.retryOnChange = false;
    const live = this.nodes.filter((n) => n.ready && !n.removed);
    const since = new Map<string, number>();
    let due = false;
    for (const n of live) {
      if (n.underSince === undefined) continue;
      since.set(n.out.name, n.underSince);
      due ||= t - n.underSince >= this.timings.scaleDownDelayS;
    }
    if (!due) return;
    const byNode = new Map(live.map((n) => [n.out.name, n]));
    const nodes: ConsolidationNode[] = live.map((n) => {
      const a = n.out.allocatable;
      return {
        name: n.out.name, allocatable: a, labels: n.out.labels, taints: n.out.taints, removable: !n.exclusive && n.nominatedCount === 0,
        // A node with only DaemonSet pods goes as empty; a GPU / Performance node takes no one else.
        destination: !n.exclusive && n.bound > n.dsBound,
        requested: { cpuMilli: a.cpuMilli - n.free.cpuMilli, memoryBytes: a.memoryBytes - n.free.memoryBytes, pods: a.pods - n.free.pods },
      };
    });
    const pods: ConsolidationPod[] = [];
    const byPod = new Map<string, PodState>();
    for (const name of since.keys()) {
      const n = byNode.get(name)!;
      for (const m of n.members) {
        if (m.node !== n) continue;
        byPod.set(m.record.pod, m);
        const safe = m.pod.annotations?.[SAFE_TO_EVICT];
        pods.push({
          name: m.record.pod, node: name, requests: m.shape.requests, tolerations: m.shape.tolerations, nodeSelector: m.shape.spec.nodeSelector,
          requiredNodeAffinity: m.shape.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
          owner: m.pod.owner, daemonSet: m.pod.daemonSet, safeToEvict: safe === 'false' || safe === 'true' ? safe : undefined,
          ownNode: m.shape.exclusive, boundAt: m.record.boundAt ?? t,
        });
      }
    }
    // The full filters (pod affinity, spread) run against the simulation's own counts, moved as the plan moves pods.
    let undo: (() => void)[] = [];
    const hooks: ConsolidationHooks = {
      lift: (node, names) => {
        undo = [];
        const n = byNode.get(node)!;
        for (const name of names) { const p = byPod.get(name)!; this.unreserve(n, p); undo.push(() => this.reserve(n, p)); }
      },
      fits: (pod, node) => {
        const n = byNode.get(node)!;
        if (n.exclusive) return 'node runs one pod (GPU / Performance nodes are not shared)';
        const why = this.fits(byPod.get(pod)!, n);
        return typeof why === 'function' ? why() : why;
      },
      place: (pod, node) => { const n = byNode.get(node)!; const p = byPod.get(pod)!; this.reserve(n, p); undo.push(() => this.unreserve(n, p)); },
      abandon: () => { for (const f of undo.reverse()) f(); undo = []; },
    };
    const result = consolidationPlan(nodes, pods, {
      now: t, utilizationThreshold: SCALE_DOWN_UTILIZATION_THRESHOLD, unneededSinceByNode: since,
      delayS: this.timings.scaleDownDelayS, extendedDurationS: EXTENDED_DURATION_S, hooks,
    });
    const touched = new Set<NodeState>();
    for (const d of result.drain) {
      const from = byNode.get(d.node)!;
      // The hooks already moved the requests; what is left is the pods' own move.
      for (const m of d.moves) {
        from.bound--;
        this.timeline.push({ t, type: 'pod-evicted', pod: m.pod, node: from.out.name, detail: `${m.pod} evicted from ${from.out.name} (scale-down of an underused node); recreated on ${m.to}` });
      }
      for (const m of d.moves) {
        const p = byPod.get(m.pod)!;
        const to = byNode.get(m.to)!;
        p.node = to;
        to.bound++;
        to.emptySince = undefined;
        Object.assign(p.record, { node: to.out.name, decision: 'existing-node', boundAt: t, filtered: [], filteredCount: 0,
          reason: `moved from ${from.out.name} when it was scaled down (${d.reason.split(';')[0]}); bin-packed onto ready node ${to.out.name} (${to.out.machineType}, ${describeNode(to)})` });
        to.out.pods.push(p.record.pod);
        this.timeline.push({ t, type: 'pod-bound', pod: p.record.pod, node: to.out.name, detail: `${p.record.pod} on ${to.out.name}` });
        this.notePeak(to);
        touched.add(to);
      }
      from.removed = true;
      from.out.removedAt = t;
      this.alive--;
      for (const x of from.ds) if (x.node === from) x.record.status = 'deleted';
      this.timeline.push({ t, type: 'scale-down', node: from.out.name, detail: `${from.out.name} removed: ${d.reason}` });
    }
    for (const n of touched) this.touch(n, t);
    for (const b of result.blocked) {
      const n = byNode.get(b.node)!;
      if (b.retryAt !== undefined) this.scheduleConsolidation(b.retryAt);
      else this.retryOnChange = true;
      if (n.blockedCause === b.cause) continue;
      n.blockedCause = b.cause;
      this.timeline.push({ t, type: 'no-scale-down', node: b.node, detail: `scale-down blocked: ${b.node} ${b.reason}` });
    }
  }

  // ---- affinity and spread counting: per registered selector, pods per node and per zone

  counts = new Map<string, { byNode: Map<NodeState, number>; byZone: Map<string, number>; total: number }>();

  count(p: PodState, node: NodeState, delta: number): void {
    if (!this.selectors.size) return;
    for (const [key, { selector, ns }] of this.selectors) {
      if (p.ns !== ns || !selectorMatches(selector, p.labels)) continue;
      let c = this.counts.get(key);
      if (!c) { c = { byNode: new Map(), byZone: new Map(), total: 0 }; this.counts.set(key, c); }
      c.byNode.set(node, (c.byNode.get(node) ?? 0) + delta);
      c.byZone.set(node.out.zone, (c.byZone.get(node.out.zone) ?? 0) + delta);
      c.total += delta;
    }
  }

  matches(sel: string, p: PodState): boolean {
    const s = this.selectors.get(sel)!;
    return p.ns === s.ns && selectorMatches(s.selector, p.labels);
  }

  total(sel: string): number {
    return this.counts.get(sel)?.total ?? 0;
  }

  countZone(sel: string, zone: string): number {
    return this.counts.get(sel)?.byZone.get(zone) ?? 0;
  }

  countIn(sel: string, topologyKey: string, n: NodeState): number {
    const c = this.counts.get(sel);
    if (!c) return 0;
    if (topologyKey === LABELS.hostname) return c.byNode.get(n) ?? 0;
    if (topologyKey === LABELS.zone) return c.byZone.get(n.out.zone) ?? 0;
    let sum = 0;
    const v = n.out.labels[topologyKey];
    for (const [other, k] of c.byNode) if (!other.removed && other.out.labels[topologyKey] === v) sum += k;
    return sum;
  }

  skewIfPlaced(sel: string, topologyKey: string, n: NodeState, p: PodState): number {
    const self = this.matches(sel, p) ? 1 : 0;
    if (topologyKey === LABELS.zone) {
      let min = Infinity;
      for (const z of this.zones) min = Math.min(min, this.countZone(sel, z));
      return this.countZone(sel, n.out.zone) + self - min;
    }
    let min = Infinity;
    for (const other of this.nodes) {
      if (other.removed || this.staticFit(p.shape, other) !== undefined) continue;
      min = Math.min(min, this.countIn(sel, topologyKey, other));
    }
    return this.countIn(sel, topologyKey, n) + self - (min === Infinity ? 0 : min);
  }

  // ---- results

  sortPending(): void {
    this.pending.sort((a, b) => (b.pod.priority ?? 0) - (a.pod.priority ?? 0) || (a.pod.arriveAt ?? 0) - (b.pod.arriveAt ?? 0) || a.index - b.index);
  }

  feasibleNote(count: number, filtered: { node: string; reason: string }[], none = false): string {
    const total = this.alive;
    if (total === 0) return 'the cluster has no nodes yet';
    if (none) return `${count} node${count === 1 ? '' : 's'} ruled out${filtered.length ? `, e.g. ${filtered[0].node}: ${filtered[0].reason}` : ''}`;
    return `${total - count} feasible of ${total} nodes${count ? `; ${count} ruled out, e.g. ${filtered[0].node}: ${filtered[0].reason}` : ''}`;
  }

  trackCost(): void {
    const now = this.cost();
    if (now.total > this.peak.total) this.peak = now;
  }

  cost(): Cost {
    const nodes = this.nodes.filter((n) => !n.removed && n.out.billing === 'node' && n.bound > n.dsBound)
      .reduce((s, n) => s + n.out.usdPerHour, 0);
    const pods = this.states.filter((s) => s.node && s.record.status === 'running' && !s.node.removed).reduce((s, p) => s + p.shape.hourly, 0);
    const clusterFee = CLUSTER_FEE_HOUR;
    return { pods: usd(pods), nodes: usd(nodes), clusterFee, total: usd(pods + nodes + clusterFee) };
  }

  result(): Plan {
    for (const s of this.states) if (s.record.status === 'pending' && !s.node && !s.nominated) s.record.reason ||= 'still pending when the simulation stopped';
    return {
      nodes: this.nodes.map((n) => n.out),
      placements: this.states.map((s) => s.record),
      timeline: this.timeline,
      costPerHour: this.peak.total ? this.peak : this.cost(),
      costAtEnd: this.cost(),
      settings: { region: this.region, zones: this.zones, timings: this.timings, maxPodsPerNode: this.maxPods },
    };
  }
}

// ---------------------------------------------------------------------------------------------

export function selectorMatches(sel: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const v = labels[e.key];
    const ok = e.operator === 'In' ? v !== undefined && (e.values ?? []).includes(v)
      : e.operator === 'NotIn' ? v === undefined || !(e.values ?? []).includes(v)
        : e.operator === 'Exists' ? v !== undefined : v === undefined;
    if (!ok) return false;
  }
  return true;
}

interface Prefs {
  /** Sum of the weights of the preferred node affinity terms the node satisfies. */
  nodeAffinity: number;
  /** Sum of weight x matching pods in the term's domain, anti-affinity terms negative. */
  podAffinity: number;
  /** Matching pods per preferred pod (anti-)affinity term, in order. */
  podTerms: number[];
  /** Matching pods in the node's domain, summed over the ScheduleAnyway constraints (fewer is better). */
  spread: number;
}

/** Lowest and highest of each raw score over the candidates. */
interface Ranges { naMin: number; naMax: number; paMin: number; paMax: number; spMin: number; spMax: number }

function rangesOf(raws: Prefs[]): Ranges {
  const g = { naMin: Infinity, naMax: -Infinity, paMin: Infinity, paMax: -Infinity, spMin: Infinity, spMax: -Infinity };
  for (const x of raws) {
    if (x.nodeAffinity < g.naMin) g.naMin = x.nodeAffinity;
    if (x.nodeAffinity > g.naMax) g.naMax = x.nodeAffinity;
    if (x.podAffinity < g.paMin) g.paMin = x.podAffinity;
    if (x.podAffinity > g.paMax) g.paMax = x.podAffinity;
    if (x.spread < g.spMin) g.spMin = x.spread;
    if (x.spread > g.spMax) g.spMax = x.spread;
  }
  return g;
}

/** Each plugin's score normalized to 0-100 over the candidates (as kube-scheduler's NormalizeScore), weight 2 each. */
function prefScore(x: Prefs, g: Ranges): number {
  return 2 * ((g.naMax > 0 ? (x.nodeAffinity * 100) / g.naMax : 0)
    + (g.paMax > g.paMin ? ((x.podAffinity - g.paMin) * 100) / (g.paMax - g.paMin) : 0)
    + (g.spMax > g.spMin ? ((g.spMax - x.spread) * 100) / (g.spMax - g.spMin) : 0));
}

/** The preferences in which candidate `i` is best and that differ among the candidates; undefined when none decided. */
function explainPrefs(shape: Shape, raws: Prefs[], g: Ranges, i: number, labels: Record<string, string>): string | undefined {
  const x = raws[i];
  const parts: string[] = [];
  const { naMin, naMax, paMin, paMax, spMin, spMax } = g;
  if (naMax > naMin && x.nodeAffinity === naMax) parts.push(`preferred node affinity weight ${x.nodeAffinity} satisfied`);
  if (paMax > paMin && x.podAffinity === paMax) {
    shape.podPrefs.forEach(({ weight, term, anti }, j) => {
      const c = x.podTerms[j];
      const where = `${term.topologyKey}=${labels[term.topologyKey] ?? '(none)'}`;
      if (!anti && c > 0) parts.push(`preferred pod affinity weight ${weight} satisfied (${c} matching pod${c === 1 ? '' : 's'} in ${where})`);
      if (anti && c === 0 && raws.some((r) => r.podTerms[j] > 0)) parts.push(`preferred pod anti-affinity weight ${weight} satisfied (no matching pod in ${where})`);
    });
  }
  if (spMax > spMin && x.spread === spMin) {
    const keys = shape.softSpread.map(({ c }) => `${c.topologyKey}=${labels[c.topologyKey] ?? '(none)'}`).join(', ');
    parts.push(`soft topology spread (ScheduleAnyway): lowest skew, ${x.spread} matching pod${x.spread === 1 ? '' : 's'} in ${keys}`);
  }
  return parts.length ? parts.join('; ') : undefined;
}

function requiredZones(spec: PodSpec): string[] | undefined {
  const z = spec.nodeSelector?.[LABELS.zone];
  if (z) return [String(z)];
  for (const term of spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const e of term.matchExpressions ?? []) if (e.key === LABELS.zone && e.operator === 'In') return e.values;
  }
  return undefined;
}

function describeNode(n: NodeState): string {
  const o = n.out;
  return `${o.computeClass}${o.spot ? ', Spot' : ', on-demand'}${o.arch === 'arm64' ? ', Arm' : ''}${o.gpu ? `, ${o.gpu.count} x ${o.gpu.type}` : ''}, ${o.zone}`;
}

export const fmtCpu = (milli: number): string => (milli % 1000 === 0 ? `${milli / 1000}` : `${milli}m`);
export const fmtGiB = (bytes: number): string => `${Math.round((bytes / GiB) * 100) / 100}Gi`;
const fmtReq = (r: PodRequests): string => `${fmtCpu(r.cpuMilli)} CPU, ${fmtGiB(r.memoryBytes)}${r.gpus ? `, ${r.gpus} GPU` : ''}`;

/** A binary min-heap of timed callbacks; ties run in `rank` order, then insertion order. */
class Heap {
  private items: { t: number; rank: number; seq: number; fn: (t: number) => void }[] = [];
  private seq = 0;
  get size(): number { return this.items.length; }
  peekTime(): number { return this.items[0].t; }
  push(t: number, rank: number, fn: (t: number) => void): void {
    const item = { t, rank, seq: this.seq++, fn };
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(a[i], a[parent])) break;
      [a[i], a[parent]] = [a[parent], a[i]];
      i = parent;
    }
  }
  pop(): (t: number) => void {
    const a = this.items;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && less(a[l], a[m])) m = l;
        if (r < a.length && less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top.fn;
  }
}

function less(a: { t: number; rank: number; seq: number }, b: { t: number; rank: number; seq: number }): boolean {
  return a.t !== b.t ? a.t < b.t : a.rank !== b.rank ? a.rank < b.rank : a.seq < b.seq;
}
