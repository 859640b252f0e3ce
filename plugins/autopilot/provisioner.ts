/**
 * Autopilot's node auto-provisioning inside a real cluster. The kube-scheduler marks a pod it
 * cannot place `PodScheduled=False, reason Unschedulable`; this controller sees such pods in the
 * namespaces devloop deploys to, asks the planner (scheduler.ts) which nodes GKE would add for
 * them, and after the provisioning delay creates those nodes as kwok-managed Node objects with
 * GKE's labels, taints, capacity and allocatable. The real kube-scheduler then binds the pods and
 * kwok runs them. Nodes it made that stay empty for the consolidation delay are removed (GKE's
 * scale-down), the rest at shutdown; nodes a dead earlier session left behind go at start.
 *
 * Only nodes carrying PROVISIONED_LABEL and kwok's annotation are ever deleted, and only those this
 * instance made or whose session is gone: the real node and anyone else's nodes are not touched.
 * The pure parts (which pods need a node, the Node object for a planned node, fit on a node made
 * earlier, emptiness) are exported for the unit tests; `Provisioner` is the I/O around them.
 */
import { randomBytes } from 'node:crypto';
import { consolidationPlan, type ConsolidationNode, type ConsolidationPod } from './consolidate.js';
import { CLUSTER_FEE_HOUR, EXTENDED_DURATION_S, GPU_RESOURCE, LABELS, PROVISIONING, SAFE_TO_EVICT, SCALE_DOWN_UTILIZATION_THRESHOLD, SPOT_GRACE_SECONDS } from './data.js';
import { admit } from './admission.js';
import { estimate } from './estimate.js';
import type { AutopilotMetrics, AutopilotSnapshot, RemovalReason } from './metrics.js';
import { gkeSpec, SIMULATED_NODE_LABEL } from './modes.js';
import { parseQuantity, toBytes, toMilli } from './quantity.js';
import { plan, type PlanNode, type PlanPod, type Taint } from './scheduler.js';
import type { ClusterSettings } from './settings.js';
import type { PodSpec, Toleration } from './types.js';

/** Every node the provisioner makes carries it; stale-node cleanup selects on it. */
export const PROVISIONED_LABEL = SIMULATED_NODE_LABEL;
export const SESSION_LABEL = 'devloop.dev/session';
export const SESSION_START_LABEL = 'devloop.dev/session-start';
/** What kwok's `--manage-nodes-with-annotation-selector` in test/infra/k8s-up.sh selects on. */
export const KWOK_ANNOTATION = 'kwok.x-k8s.io/node';
/** Pods needing a node are planned once none has arrived for this long (ms)... */
const SETTLE_QUIET_MS = 1000;
/** ...or once the first of them has waited this long. */
const SETTLE_MAX_MS = 3000;
/** A simulated boot disk: the planner does not model ephemeral storage on nodes. */
const EPHEMERAL_CAPACITY = '100Gi';

/** The fields of a v1 Pod the provisioner reads (client-node's V1Pod has them under the same names). */
export interface PodLike {
  metadata?: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: unknown; ownerReferences?: { kind?: string; name?: string }[] };
  spec?: PodSpec & { nodeName?: string };
  status?: { phase?: string; conditions?: { type?: string; status?: string; reason?: string; message?: string }[] };
}

export interface NodeObject {
  apiVersion: 'v1';
  kind: 'Node';
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: { taints: Taint[] };
  status: {
    capacity: Record<string, string>;
    allocatable: Record<string, string>;
    nodeInfo: Record<string, string>;
  };
}

/**
 * A pod the scheduler gave up on: Pending, unbound, PodScheduled=False with reason Unschedulable.
 * Pods the real node (or any node) can hold never get that condition, so they are not this
 * controller's business; DaemonSet pods follow nodes rather than cause them.
 */
export function needsNode(pod: PodLike): boolean {
  if (pod.status?.phase !== 'Pending' || pod.spec?.nodeName || pod.metadata?.deletionTimestamp) return false;
  if (pod.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet')) return false;
  return (pod.status.conditions ?? []).some((c) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable');
}

/** CPU (millicores) and memory (bytes) the pod requests, as the scheduler counts them. */
export function podRequests(spec: PodSpec): { cpuMilli: number; memoryBytes: number; gpus: number } {
  const sum = (containers: PodSpec['containers'] | undefined, max: boolean) => {
    const r = { cpuMilli: 0, memoryBytes: 0, gpus: 0 };
    for (const c of containers ?? []) {
      const q = c.resources?.requests ?? {};
      const l = c.resources?.limits ?? {};
      const cpu = q.cpu ?? l.cpu;
      const mem = q.memory ?? l.memory;
      const gpu = q[GPU_RESOURCE] ?? l[GPU_RESOURCE];
      const v = { cpuMilli: cpu === undefined ? 0 : toMilli(parseQuantity(cpu)), memoryBytes: mem === undefined ? 0 : toBytes(parseQuantity(mem)), gpus: gpu === undefined ? 0 : Number(gpu) };
      if (max) { r.cpuMilli = Math.max(r.cpuMilli, v.cpuMilli); r.memoryBytes = Math.max(r.memoryBytes, v.memoryBytes); r.gpus = Math.max(r.gpus, v.gpus); }
      else { r.cpuMilli += v.cpuMilli; r.memoryBytes += v.memoryBytes; r.gpus += v.gpus; }
    }
    return r;
  };
  const main = sum(spec.containers, false);
  const init = sum(spec.initContainers, true);
  return { cpuMilli: Math.max(main.cpuMilli, init.cpuMilli), memoryBytes: Math.max(main.memoryBytes, init.memoryBytes), gpus: Math.max(main.gpus, init.gpus) };
}

function tolerates(tolerations: Toleration[], taint: Taint): boolean {
  return tolerations.some((t) => (t.key === undefined || t.key === '' ? t.operator === 'Exists' : t.key === taint.key)
    && (t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? ''))
    && (!t.effect || t.effect === taint.effect));
}

/**
 * Whether the pod fits a node the provisioner made, given what is already bound there: then the
 * scheduler binds it on its next try and a new node would be waste. Taints, nodeSelector and
 * CPU/memory/pod count only; affinity is left to the scheduler.
 */
export function fitsNode(pod: PodLike, node: NodeObject, bound: PodLike[]): boolean {
  const spec = pod.spec!;
  if (node.spec.taints.some((t) => t.effect !== 'PreferNoSchedule' && !tolerates(spec.tolerations ?? [], t))) return false;
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) if (node.metadata.labels[k] !== String(v)) return false;
  const alloc = node.status.allocatable;
  let cpu = toMilli(parseQuantity(alloc.cpu));
  let mem = toBytes(parseQuantity(alloc.memory));
  let pods = Number(alloc.pods);
  let gpus = Number(alloc[GPU_RESOURCE] ?? 0);
  for (const b of bound) {
    const r = podRequests(b.spec!);
    cpu -= r.cpuMilli; mem -= r.memoryBytes; pods -= 1; gpus -= r.gpus;
  }
  const need = podRequests(spec);
  return pods >= 1 && need.cpuMilli <= cpu && need.memoryBytes <= mem && need.gpus <= gpus;
}

/** Pods that keep a node busy: bound there, not finished, not DaemonSet copies. */
export function workloadPodsOn(node: string, pods: PodLike[]): PodLike[] {
  return pods.filter((p) => p.spec?.nodeName === node && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed'
    && !p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet'));
}

/** `name-abcd1234`: GKE's node names end in a random part, and two sessions must not collide. */
export function nodeName(planned: PlanNode, suffix = randomBytes(4).toString('hex')): string {
  return `${planned.name.replace(/-\d{4}$/, '')}-${suffix}`;
}

/** The Node object for a planned node: GKE's labels and taints, capacity and allocatable, kwok's annotation. */
export function nodeObject(planned: PlanNode, name: string, opts: { region: string; session?: Record<string, string>; kubeletVersion?: string }): NodeObject {
  const pool = /^gk3-.+?-((?:pool|nap)-\d+)$/.exec(planned.name.replace(/-\d{4}$/, ''))?.[1] ?? 'nap';
  const labels: Record<string, string> = {
    ...planned.labels,
    [LABELS.hostname]: name,
    [LABELS.instanceType]: planned.machineType,
    'topology.kubernetes.io/region': opts.region,
    'cloud.google.com/gke-nodepool': pool,
    'cloud.google.com/gke-provisioning': planned.spot ? 'spot' : 'standard',
    [PROVISIONED_LABEL]: 'true',
    ...opts.session,
  };
  const capacity: Record<string, string> = {
    cpu: `${planned.capacity.cpuMilli}m`, memory: `${Math.floor(planned.capacity.memoryBytes / 1024)}Ki`, pods: String(planned.capacity.pods), 'ephemeral-storage': EPHEMERAL_CAPACITY,
  };
  const allocatable: Record<string, string> = {
    cpu: `${planned.allocatable.cpuMilli}m`, memory: `${Math.floor(planned.allocatable.memoryBytes / 1024)}Ki`, pods: String(planned.allocatable.pods), 'ephemeral-storage': EPHEMERAL_CAPACITY,
  };
  if (planned.gpu) capacity[GPU_RESOURCE] = allocatable[GPU_RESOURCE] = String(planned.gpu.count);
  return {
    apiVersion: 'v1', kind: 'Node',
    metadata: { name, labels, annotations: { [KWOK_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' } },
    spec: { taints: planned.taints.map((t) => ({ ...t })) },
    status: {
      capacity, allocatable,
      nodeInfo: { architecture: planned.arch, operatingSystem: 'linux', kubeletVersion: opts.kubeletVersion ?? 'v1.34.4', kubeProxyVersion: opts.kubeletVersion ?? 'v1.34.4', containerRuntimeVersion: 'containerd://kwok' },
    },
  };
}

export interface ProvisionDecision {
  node: PlanNode;
  /** `namespace/name` of the pods it is for. */
  pods: string[];
  /** Seconds from now until the node exists (the planner's boot time). */
  delayS: number;
}

/** Plans nodes for `pods` with the planner; pods it cannot place come back with the reason. */
export function planNodes(pods: PodLike[], settings: { region: string; provisioning: 'fast' | 'realistic'; cluster?: ClusterSettings; clusterName?: string }):
  { nodes: ProvisionDecision[]; unschedulable: { pod: string; reason: string }[] } {
  const input: PlanPod[] = pods.map((p) => ({
    name: `${p.metadata?.namespace ?? 'default'}/${p.metadata?.name}`, namespace: p.metadata?.namespace, labels: p.metadata?.labels,
    annotations: p.metadata?.annotations, owner: p.metadata?.ownerReferences?.[0] ? `${p.metadata.ownerReferences[0].kind} ${p.metadata.ownerReferences[0].name}` : undefined,
    // The planner admits the pod itself, as GKE would see it (gkeSpec copies: admission must not touch the live object).
    // (its JSON copy also drops the `undefined` fields client-node's objects carry, which the planner's key hashing must not see).
    spec: gkeSpec(p),
  }));
  const result = plan(input, { region: settings.region, provisioning: settings.provisioning, cluster: settings.cluster, clusterName: settings.clusterName });
  const nodes = result.nodes.map((node) => ({
    node, pods: result.placements.filter((r) => r.node === node.name).map((r) => r.pod),
    delayS: node.readyAt - node.createdAt,
  }));
  const unschedulable = result.placements.filter((r) => r.status !== 'running').map((r) => ({ pod: r.pod, reason: r.reason }));
  return { nodes, unschedulable };
}

// ---------------------------------------------------------------------------------------------

interface Log { info(message: string): void; warn(message: string): void }

/** The CoreV1Api calls used, so the controller runs against client-node's API object as it is. */
export interface ProvisionerApi {
  listPodForAllNamespaces(): Promise<{ items: PodLike[] }>;
  listNode(param: { labelSelector: string }): Promise<{ items: { metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> } }[] }>;
  createNode(param: { body: NodeObject }): Promise<unknown>;
  deleteNode(param: { name: string }): Promise<unknown>;
  /** For Spot preemption (preempt()); optional so controllers that never preempt need not have them. */
  readNode?(param: { name: string }): Promise<{ spec?: { taints?: Taint[] } }>;
  replaceNode?(param: { name: string; body: unknown }): Promise<unknown>;
  deleteNamespacedPod?(param: { name: string; namespace: string }): Promise<unknown>;
  /** For scale-down of underused nodes (honours PodDisruptionBudgets); deleteNamespacedPod otherwise. */
  createNamespacedPodEviction?(param: { name: string; namespace: string; body: unknown }): Promise<unknown>;
}

/** The cluster autoscaler's taint on a node it is removing: nothing new lands there. */
export const SCALE_DOWN_TAINT: Taint = { key: 'ToBeDeletedByClusterAutoscaler', effect: 'NoSchedule' };

/** GKE's taint on a Spot VM about to be reclaimed: nothing new lands there during the grace period. */
export const TERMINATION_TAINT: Taint = { key: 'cloud.google.com/impending-node-termination', effect: 'NoSchedule' };

/** `devloop autopilot preempt NODE` named a node this controller may not preempt. */
export class PreemptError extends Error {
  constructor(message: string, readonly preemptible: string[]) { super(message); }
}

export interface ProvisionerOptions {
  api: ProvisionerApi;
  logger: Log;
  provisioning?: 'fast' | 'realistic';
  /** Seconds a node it made stays empty before it is removed. Default: the provisioning's scaleDownDelayS. */
  consolidationDelayS?: number;
  cluster?: ClusterSettings;
  /** The session labels of this devloop (pid, start time): stale-node cleanup keeps nodes of live sessions. */
  session?: Record<string, string>;
  /** Whether the session that made a node is still running (defaults to "no" for every other session). */
  sessionAlive?: (labels: Record<string, string>) => boolean;
  kubeletVersion?: string;
  /** Namespaces watched from the start (watch() adds more and starts the loop). */
  namespaces?: string[];
  /**
   * false (`run` mode, modes.ts): no node is made; each scan plans the watched pods onto the nodes
   * GKE would make, for `plannedFor`. Default true (`simulate`): the plan becomes kwok nodes.
   */
  materialize?: boolean;
  /** Prometheus series (metrics.ts): nodes, pending pods, cost, evictions. */
  metrics?: AutopilotMetrics;
}

/** Where GKE would run a pod, in `run` mode. */
export interface PlannedPlacement {
  node: string;
  machineType: string;
  computeClass: string;
  spot: boolean;
  zone: string;
}

interface Made { object: NodeObject; emptySince?: number; underusedSince?: number }

export class Provisioner {
  private namespaces = new Set<string>();
  private made = new Map<string, Made>();
  /** Nodes planned and not created yet (their delay is running). */
  private booting = new Map<string, { timer: NodeJS.Timeout; object: NodeObject; readyAt: number }>();
  /** Pods a node is on its way for, by uid, until when (ms): not planned again meanwhile. */
  private claimed = new Map<string, { until: number; node: string; pod: PodLike }>();
  /** Pods already reported as never to be placed (or that did not bind to the node made for them). */
  private reported = new Set<string>();
  /** How many claims of a pod ran out without the pod being bound. */
  private misses = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private started = false;
  private ticking?: Promise<void>;
  private creating = new Set<Promise<void>>();
  readonly provisioning: 'fast' | 'realistic';
  readonly scanMs: number;
  readonly consolidationMs: number;
  private region: string;
  /** Spot nodes being preempted: deleted when the grace period ends (or at stop). */
  private preempting = new Map<string, NodeJS.Timeout>();
  /** Called after each scan and node change, for views that show where pods are (visibility.ts). */
  readonly onChange = new Set<() => void>();
  readonly materialize: boolean;
  /** `run` mode: each watched pod's node in the latest plan, by uid. */
  private planned = new Map<string, PlannedPlacement>();
  /** When each pod needing a node was first seen (ms), so pods arriving together are planned together. */
  private firstSeen = new Map<string, number>();
  /** Why a node was kept from scale-down, said once per node and cause. */
  private blockedSaid = new Set<string>();
  /** $/h of one pod by what decides it (requests, placement), for the metrics. */
  private podCost = new Map<string, number>();

  constructor(private options: ProvisionerOptions) {
    for (const ns of options.namespaces ?? []) this.namespaces.add(ns);
    this.provisioning = options.provisioning ?? 'realistic';
    const timings = PROVISIONING[this.provisioning];
    this.scanMs = timings.scanIntervalS * 1000;
    this.consolidationMs = (options.consolidationDelayS ?? timings.scaleDownDelayS) * 1000;
    this.region = options.cluster?.region ?? 'us-central1';
    this.materialize = options.materialize ?? true;
  }

  /** Names of the nodes it made that exist now. */
  get nodes(): string[] {
    return [...this.made.keys()];
  }

  /** Adds a namespace to watch; the first call removes stale nodes and starts the loop. */
  async watch(namespace: string): Promise<void> {
    this.namespaces.add(namespace);
    if (this.started || this.stopped) return;
    this.started = true;
    try {
      await this.removeStale();
    } finally {
      // The loop runs even when the stale-node listing failed (it retries its own calls).
      this.schedule(0);
    }
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.ticking = this.tick().catch((err) => this.options.logger.warn(`autopilot provisioner: ${errText(err)}; trying again in ${this.scanMs / 1000}s`))
        .finally(() => { this.ticking = undefined; this.changed(); this.schedule(this.scanMs); });
    }, ms);
    this.timer.unref?.();
  }

  /** One scan: scale down what stayed empty, then provision for the pods nothing can hold. */
  async tick(now = Date.now()): Promise<void> {
    const pods = (await this.options.api.listPodForAllNamespaces()).items;
    if (this.stopped) return;
    try {
      if (!this.materialize) this.planOnly(pods);
      else await this.scan(pods, now);
    } finally {
      if (this.options.metrics && !this.stopped) this.options.metrics.update(this.snapshot(pods));
    }
  }

  /** The series of metrics.ts: this controller's nodes, the watched pods (where they are or why they wait) and their cost. */
  snapshot(pods: PodLike[]): AutopilotSnapshot {
    const shape = (o: NodeObject) => ({ computeClass: o.metadata.labels[LABELS.computeClass] ?? 'general-purpose', machineType: o.metadata.labels[LABELS.instanceType] ?? '', spot: o.metadata.labels[LABELS.spot] === 'true', zone: o.metadata.labels[LABELS.zone] ?? '' });
    const nodes: AutopilotSnapshot['nodes'] = [
      ...[...this.made].map(([name, m]) => ({ name, ...shape(m.object), state: 'ready' as const })),
      ...[...this.booting].map(([name, b]) => ({ name, ...shape(b.object), state: 'booting' as const })),
    ];
    const out: AutopilotSnapshot['pods'] = [];
    const cost = new Map<string, { namespace: string; pods: number; nodes: number }>();
    for (const p of pods) {
      const namespace = p.metadata?.namespace ?? '';
      if (!this.namespaces.has(namespace) || p.metadata?.deletionTimestamp || p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed') continue;
      if (p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet')) continue;
      const node = p.spec?.nodeName ? this.made.get(p.spec.nodeName)?.object : undefined;
      const planned = this.placementOf(p);
      const where = node ? shape(node) : planned ?? { computeClass: 'general-purpose', spot: false };
      if (p.spec?.nodeName) {
        out.push({ namespace, computeClass: where.computeClass, spot: where.spot, bound: true });
        const c = cost.get(namespace) ?? cost.set(namespace, { namespace, pods: 0, nodes: 0 }).get(namespace)!;
        c.pods += this.costOf(p);
      } else {
        const waiting = needsNode(p) ? (this.materialize && this.awaitingNode(p) ? 'awaiting-node' : 'unschedulable') : undefined;
        out.push({ namespace, computeClass: where.computeClass, spot: where.spot, bound: false, ...(waiting ? { pendingReason: waiting } : {}) });
      }
    }
    return { nodes, pods: out, cost: [...cost.values()], clusterFeeUsdPerHour: CLUSTER_FEE_HOUR };
  }

  private costOf(p: PodLike): number {
    const spec = gkeSpec(p);
    const key = JSON.stringify([spec.containers?.map((c) => c.resources), spec.initContainers?.map((c) => c.resources), spec.nodeSelector, spec.tolerations]);
    let c = this.podCost.get(key);
    if (c === undefined) {
      try { c = estimate(admit({ apiVersion: 'v1', kind: 'Pod', metadata: { name: p.metadata?.name ?? 'pod', namespace: p.metadata?.namespace }, spec }, this.options.cluster ?? {}), 1, this.region)?.usdPerHour ?? 0; } catch { c = 0; }
      this.podCost.set(key, c);
    }
    return c;
  }

  /** One `simulate` scan: scale down what stayed empty or underused, then provision for the pods nothing can hold. */
  private async scan(pods: PodLike[], now: number): Promise<void> {
    for (const [name, m] of this.made) {
      if (workloadPodsOn(name, pods).length > 0 || [...this.claimed.values()].some((c) => c.node === name && c.until > now)) { m.emptySince = undefined; continue; }
      m.emptySince ??= now;
      if (now - m.emptySince >= this.consolidationMs) {
        this.made.delete(name);
        await this.deleteNode(name, `empty for ${Math.round((now - m.emptySince) / 1000)}s (consolidation delay ${this.consolidationMs / 1000}s)`, 'empty');
      }
    }
    await this.consolidate(pods, now);
    const uidOf = (p: PodLike) => p.metadata?.uid ?? `${p.metadata?.namespace}/${p.metadata?.name}`;
    const unbound = new Set(pods.filter((p) => !p.spec?.nodeName).map(uidOf));
    // What a node has or is about to get: pods bound there plus pods claimed for it and not bound yet.
    const load = (name: string) => [...workloadPodsOn(name, pods),
      ...[...this.claimed.entries()].filter(([uid, c]) => c.node === name && c.until > now && unbound.has(uid)).map(([, c]) => c.pod)];
    const wanting: PodLike[] = [];
    for (const p of pods) {
      const uid = uidOf(p);
      if (!this.namespaces.has(p.metadata?.namespace ?? '') || !needsNode(p) || this.reported.has(uid)) continue;
      const claim = this.claimed.get(uid);
      if (claim && claim.until > now) continue;
      const mine = claim && this.made.get(claim.node);
      // A miss is a claim that ran out while its node still had room for the pod: the scheduler refuses
      // it for what fitsNode does not check. When others took the room first, the pod is simply planned again.
      const refused = !!claim && !!mine && fitsNode(p, mine.object, load(claim.node).filter((q) => q !== p && uidOf(q) !== uid));
      const misses = (this.misses.get(uid) ?? 0) + (refused ? 1 : 0);
      if (refused) this.misses.set(uid, misses);
      if (claim && ((mine && !fitsNode(p, mine.object, [])) || misses >= 3)) {
        // Even empty, the node made for it cannot take it (a toleration admission would add is missing), or the
        // scheduler keeps refusing it for what fitsNode does not check (affinity): say why once, do not loop.
        this.reported.add(uid);
        const why = p.status?.conditions?.find((c) => c.type === 'PodScheduled')?.message ?? 'no reason given';
        this.options.logger.warn(`autopilot provisioner: pod ${p.metadata?.namespace}/${p.metadata?.name} did not bind to node ${claim.node} made for it (${why}); no further node is made for it`);
        continue;
      }
      // The scheduler gave its room to other pods, or it arrived later: a node made or booting with room takes it.
      const room = [...this.made.values(), ...this.booting.values()].find((m) => fitsNode(p, m.object, load(m.object.metadata.name)));
      if (room) { this.claimed.set(uid, { until: ('readyAt' in room ? room.readyAt : now) + Math.max(3 * this.scanMs, 15_000), node: room.object.metadata.name, pod: p }); continue; }
      wanting.push(p);
    }
    for (const [uid, c] of this.claimed) if (c.until <= now - 60_000) this.claimed.delete(uid);
    const wantingIds = new Set(wanting.map(uidOf));
    for (const uid of this.firstSeen.keys()) if (!wantingIds.has(uid)) this.firstSeen.delete(uid);
    if (!wanting.length) return;
    // A rollout creates its pods over a second or two (the ReplicaSet's slow start): planning each
    // scan's arrivals alone sizes a node per slice. Wait while pods keep arriving, up to SETTLE_MAX_MS.
    for (const uid of wantingIds) if (!this.firstSeen.has(uid)) this.firstSeen.set(uid, now);
    const seen = [...wantingIds].map((uid) => this.firstSeen.get(uid)!);
    if (now - Math.max(...seen) < SETTLE_QUIET_MS && now - Math.min(...seen) < SETTLE_MAX_MS) return;
    const { nodes, unschedulable } = planNodes(wanting, { region: this.region, provisioning: this.provisioning, cluster: this.options.cluster });
    for (const u of unschedulable) {
      const pod = wanting.find((p) => `${p.metadata?.namespace}/${p.metadata?.name}` === u.pod);
      const uid = pod?.metadata?.uid ?? u.pod;
      if (this.reported.has(uid)) continue;
      this.reported.add(uid);
      this.options.logger.warn(`autopilot provisioner: no Autopilot node can hold pod ${u.pod}: ${u.reason}`);
    }
    for (const d of nodes) {
      const name = nodeName(d.node);
      const object = nodeObject(d.node, name, { region: this.region, session: this.options.session, kubeletVersion: this.options.kubeletVersion });
      // The claim outlives the boot by a few scans: the scheduler retries the pod when the node appears.
      const until = now + d.delayS * 1000 + Math.max(3 * this.scanMs, 15_000);
      for (const pod of d.pods) {
        const p = wanting.find((w) => `${w.metadata?.namespace}/${w.metadata?.name}` === pod);
        if (p) this.claimed.set(uidOf(p), { until, node: name, pod: p });
      }
      this.options.logger.info(`autopilot provisioner: provisioning ${name} (${d.node.machineType}, ${d.node.zone}) for ${d.node.reason}; ready in ${d.delayS}s`);
      const timer = setTimeout(() => {
        this.booting.delete(name);
        if (this.stopped) return;
        const creating: Promise<void> = this.options.api.createNode({ body: object })
          .then(() => {
            this.made.set(name, { object });
            this.options.metrics?.nodeProvisioned(object.metadata.labels[LABELS.computeClass] ?? 'general-purpose', object.metadata.labels[LABELS.spot] === 'true');
            this.options.logger.info(`autopilot provisioner: node ${name} is up`);
          })
          .catch((err) => this.options.logger.warn(`autopilot provisioner: creating node ${name} failed: ${errText(err)}`))
          .finally(() => this.creating.delete(creating));
        this.creating.add(creating);
      }, d.delayS * 1000);
      timer.unref?.();
      this.booting.set(name, { timer, object, readyAt: now + d.delayS * 1000 });
    }
  }

  /**
   * GKE's scale-down of underused nodes (consolidate.ts): a node it made whose pods request under
   * half its CPU and memory for the consolidation delay, and whose pods all fit on its other nodes,
   * is tainted ToBeDeletedByClusterAutoscaler, its pods are evicted (their controllers recreate
   * them; the scheduler puts them where the plan found room) and the node is deleted. Pods without
   * a controller, and extended-duration pods (safe-to-evict=false) for 7 days, keep their node.
   */
  private async consolidate(pods: PodLike[], now: number): Promise<void> {
    const nodes: ConsolidationNode[] = [];
    const cpods: ConsolidationPod[] = [];
    const unneeded = new Map<string, number>();
    for (const [name, m] of this.made) {
      const alloc = m.object.status.allocatable;
      const allocatable = { cpuMilli: toMilli(parseQuantity(alloc.cpu)), memoryBytes: toBytes(parseQuantity(alloc.memory)), pods: Number(alloc.pods) };
      nodes.push({ name, allocatable, labels: m.object.metadata.labels, taints: m.object.spec.taints, removable: true });
      const on = pods.filter((p) => p.spec?.nodeName === name && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && !p.metadata?.deletionTimestamp);
      let cpu = 0; let mem = 0; let regular = 0;
      for (const p of on) {
        const r = podRequests(p.spec!);
        const owner = p.metadata?.ownerReferences?.[0];
        const daemonSet = owner?.kind === 'DaemonSet';
        if (!daemonSet) { cpu += r.cpuMilli; mem += r.memoryBytes; regular++; }
        const started = Date.parse(String((p.status as { startTime?: unknown } | undefined)?.startTime ?? '')) || now;
        cpods.push({
          name: `${p.metadata?.namespace}/${p.metadata?.name}`, node: name, requests: { cpuMilli: r.cpuMilli, memoryBytes: r.memoryBytes },
          tolerations: p.spec?.tolerations, nodeSelector: p.spec?.nodeSelector,
          requiredNodeAffinity: p.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
          owner: owner ? `${owner.kind}/${owner.name}` : undefined, daemonSet,
          safeToEvict: p.metadata?.annotations?.[SAFE_TO_EVICT] as 'true' | 'false' | undefined, ownNode: r.gpus > 0, boundAt: started / 1000,
        });
      }
      const under = regular > 0 && cpu < allocatable.cpuMilli * SCALE_DOWN_UTILIZATION_THRESHOLD && mem < allocatable.memoryBytes * SCALE_DOWN_UTILIZATION_THRESHOLD;
      if (!under) { m.underusedSince = undefined; continue; }
      m.underusedSince ??= now;
      unneeded.set(name, m.underusedSince / 1000);
    }
    if (!unneeded.size) return;
    const result = consolidationPlan(nodes, cpods, {
      now: now / 1000, utilizationThreshold: SCALE_DOWN_UTILIZATION_THRESHOLD, unneededSinceByNode: unneeded,
      delayS: this.consolidationMs / 1000, extendedDurationS: EXTENDED_DURATION_S,
    });
    for (const b of result.blocked) {
      const key = `${b.node}|${b.cause}`;
      if (this.blockedSaid.has(key)) continue;
      this.blockedSaid.add(key);
      this.options.logger.info(`autopilot provisioner: node ${b.node} is underused but kept: ${b.reason}`);
    }
    const { readNode, replaceNode } = this.options.api;
    for (const d of result.drain) {
      if (this.stopped) return;
      this.made.delete(d.node);
      try {
        if (readNode && replaceNode) {
          const node = await readNode.call(this.options.api, { name: d.node }) as { spec?: { taints?: Taint[] } };
          node.spec = { ...node.spec, taints: [...(node.spec?.taints ?? []), { ...SCALE_DOWN_TAINT, value: String(Math.floor(now / 1000)) }] };
          await replaceNode.call(this.options.api, { name: d.node, body: node });
        }
      } catch (err) {
        this.options.logger.warn(`autopilot provisioner: tainting node ${d.node} for scale-down failed: ${errText(err)}`);
      }
      const evicted: string[] = [];
      for (const m of d.moves) {
        const [namespace, name] = m.pod.split('/');
        if (await this.evict(namespace, name, 'scale-down')) evicted.push(m.pod);
      }
      if (evicted.length) this.options.metrics?.eviction('consolidation', evicted.length);
      await this.deleteNode(d.node, `${d.reason}${evicted.length ? `; evicted ${evicted.join(', ')}` : ''}`, 'underused');
    }
  }

  /** The Eviction API (it honours PodDisruptionBudgets); a plain delete where the client has no eviction call. */
  private async evict(namespace: string, name: string, why: string): Promise<boolean> {
    const api = this.options.api;
    try {
      if (api.createNamespacedPodEviction) await api.createNamespacedPodEviction.call(api, { name, namespace, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } } });
      else if (api.deleteNamespacedPod) await api.deleteNamespacedPod.call(api, { name, namespace });
      else return false;
      return true;
    } catch (err) {
      if ((err as { code?: number }).code !== 404) this.options.logger.warn(`autopilot provisioner: evicting pod ${namespace}/${name} (${why}) failed: ${errText(err)}`);
      return false;
    }
  }

  /** `run` mode: plans every live pod of the watched namespaces as GKE would place it; makes nothing. */
  private planOnly(pods: PodLike[]): void {
    const live = pods.filter((p) => this.namespaces.has(p.metadata?.namespace ?? '') && !p.metadata?.deletionTimestamp
      && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed' && !p.metadata?.ownerReferences?.some((o) => o.kind === 'DaemonSet'));
    const byName = new Map(live.map((p) => [`${p.metadata?.namespace}/${p.metadata?.name}`, p]));
    const planned = new Map<string, PlannedPlacement>();
    if (live.length) {
      const { nodes } = planNodes(live, { region: this.region, provisioning: this.provisioning, cluster: this.options.cluster });
      for (const d of nodes) {
        for (const pod of d.pods) {
          const p = byName.get(pod);
          if (p) planned.set(p.metadata?.uid ?? pod, { node: d.node.name, machineType: d.node.machineType, computeClass: d.node.computeClass, spot: d.node.spot, zone: d.node.zone });
        }
      }
    }
    this.planned = planned;
  }

  /** `run` mode: the node GKE would run the pod on, per the latest scan. */
  placementOf(pod: { metadata?: { uid?: string; namespace?: string; name?: string } }): PlannedPlacement | undefined {
    return this.planned.get(pod.metadata?.uid ?? `${pod.metadata?.namespace}/${pod.metadata?.name}`);
  }

  /**
   * For the rollout wait: what an Unschedulable pod is waiting for while this controller may still
   * give it a node; undefined when it will not (outside its namespaces, or reported as unplaceable).
   */
  awaitingNode(pod: { metadata?: { uid?: string; namespace?: string; name?: string } }): string | undefined {
    if (this.stopped || !this.materialize || !this.namespaces.has(pod.metadata?.namespace ?? '')) return undefined;
    const uid = pod.metadata?.uid ?? `${pod.metadata?.namespace}/${pod.metadata?.name}`;
    if (this.reported.has(uid)) return undefined;
    const claim = this.claimed.get(uid);
    if (!claim) return 'no node has room; Autopilot node auto-provisioning is planning one';
    const boot = this.booting.get(claim.node);
    return boot
      ? `waiting for node ${claim.node} (${boot.object.metadata.labels[LABELS.instanceType]}), provisioning, up in about ${Math.max(0, Math.ceil((boot.readyAt - Date.now()) / 1000))}s`
      : `node ${claim.node} is up; waiting for the scheduler to bind the pod there`;
  }

  private changed(): void {
    for (const f of this.onChange) f();
  }

  /** For the details view: the node being booted for an Unschedulable pod, and seconds until it is up. */
  plannedFor(pod: { metadata?: { uid?: string; namespace?: string; name?: string } }): { node: string; machineType: string; upInS: number } | undefined {
    const claim = this.claimed.get(pod.metadata?.uid ?? `${pod.metadata?.namespace}/${pod.metadata?.name}`);
    const boot = claim && this.booting.get(claim.node);
    if (!claim || !boot) return undefined;
    return { node: claim.node, machineType: boot.object.metadata.labels[LABELS.instanceType], upInS: Math.max(0, Math.ceil((boot.readyAt - Date.now()) / 1000)) };
  }

  /** The Spot nodes this controller made and may preempt. */
  get preemptible(): string[] {
    return [...this.made].filter(([, m]) => m.object.metadata.labels[LABELS.spot] === 'true').map(([n]) => n);
  }

  /**
   * Preempts a Spot node it made, as GKE reclaims a Spot VM: the node gets the impending-termination
   * taint, its pods are deleted (their controllers recreate them, the scan provisions a node for
   * them as for any Unschedulable pod), and the node goes when the grace period ends (SPOT_GRACE_SECONDS,
   * 2 s with fast provisioning). Resolves once the pods are deleted.
   */
  async preempt(name: string): Promise<{ node: string; pods: string[]; graceS: number }> {
    if (!this.materialize) throw new PreemptError(`node ${name} cannot be preempted: simulation.autopilot.mode is "run", where pods run on this cluster's own nodes and Autopilot's nodes are only planned; set mode: 'simulate' to have Spot nodes to preempt`, []);
    const spot = this.preemptible;
    const m = this.made.get(name);
    if (!m || !spot.includes(name)) {
      const which = spot.length ? `the Spot nodes it can preempt: ${spot.join(', ')}` : 'it has made no Spot node (a pod with nodeSelector cloud.google.com/gke-spot: "true" gets one)';
      throw new PreemptError(`node ${name} ${m ? 'is not a Spot node' : 'was not made by this session\'s Autopilot node provisioner'}; ${which}`, spot);
    }
    const { readNode, replaceNode, deleteNamespacedPod } = this.options.api;
    if (!readNode || !replaceNode || !deleteNamespacedPod) throw new Error('this provisioner\'s API client cannot patch nodes or delete pods');
    // Out of `made` first: the scan must neither consolidate it nor give it the rescheduled pods.
    this.made.delete(name);
    const graceS = this.provisioning === 'fast' ? 2 : SPOT_GRACE_SECONDS;
    const node = await readNode.call(this.options.api, { name }) as { spec?: { taints?: Taint[] } };
    node.spec = { ...node.spec, taints: [...(node.spec?.taints ?? []).filter((t) => t.key !== TERMINATION_TAINT.key), { ...TERMINATION_TAINT }] };
    await replaceNode.call(this.options.api, { name, body: node });
    const pods = workloadPodsOn(name, (await this.options.api.listPodForAllNamespaces()).items);
    const names: string[] = [];
    for (const p of pods) {
      const id = `${p.metadata?.namespace}/${p.metadata?.name}`;
      try { await deleteNamespacedPod.call(this.options.api, { name: p.metadata!.name!, namespace: p.metadata!.namespace! }); names.push(id); } catch (err) {
        if ((err as { code?: number }).code !== 404) this.options.logger.warn(`autopilot provisioner: evicting pod ${id} from preempted node ${name} failed: ${errText(err)}`);
      }
    }
    this.options.logger.info(`autopilot provisioner: preempted Spot node ${name}: ${names.length ? `evicted ${names.join(', ')}` : 'no pods on it'}; the node goes in ${graceS}s`);
    const timer = setTimeout(() => { this.preempting.delete(name); void this.deleteNode(name, 'Spot preemption', 'preempted'); }, graceS * 1000);
    timer.unref?.();
    this.preempting.set(name, timer);
    this.changed();
    return { node: name, pods: names, graceS };
  }

  /** Nodes with PROVISIONED_LABEL whose session is gone: a devloop that crashed left them. */
  async removeStale(): Promise<string[]> {
    const list = await this.options.api.listNode({ labelSelector: `${PROVISIONED_LABEL}=true` });
    const alive = this.options.sessionAlive ?? (() => false);
    const removed: string[] = [];
    for (const n of list.items) {
      const name = n.metadata?.name;
      const labels = n.metadata?.labels ?? {};
      if (!name || n.metadata?.annotations?.[KWOK_ANNOTATION] !== 'fake' || this.made.has(name)) continue;
      if (this.isMine(labels) || alive(labels)) continue;
      await this.deleteNode(name, 'left by a devloop session that is gone', 'stale');
      removed.push(name);
    }
    return removed;
  }

  private isMine(labels: Record<string, string>): boolean {
    const s = this.options.session;
    return !!s && Object.keys(s).length > 0 && Object.entries(s).every(([k, v]) => labels[k] === v);
  }

  private async deleteNode(name: string, why: string, reason: RemovalReason): Promise<void> {
    try {
      await this.options.api.deleteNode({ name });
      this.options.metrics?.nodeRemoved(reason);
      this.options.logger.info(`autopilot provisioner: removed node ${name}: ${why}`);
    } catch (err) {
      if ((err as { code?: number }).code === 404) return;
      this.options.logger.warn(`autopilot provisioner: removing node ${name} failed: ${errText(err)}; delete it with kubectl delete node ${name}`);
    }
  }

  /** Stops the loop and deletes every node it made. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const b of this.booting.values()) clearTimeout(b.timer);
    this.booting.clear();
    await this.ticking;
    await Promise.all([...this.creating]);
    for (const t of this.preempting.values()) clearTimeout(t);
    const names = [...this.made.keys(), ...this.preempting.keys()];
    this.preempting.clear();
    this.made.clear();
    await Promise.all(names.map((n) => this.deleteNode(n, 'devloop stopped', 'shutdown')));
  }
}

function errText(err: unknown): string {
  const e = err as { body?: unknown; message?: string };
  if (typeof e.body === 'string') { try { return (JSON.parse(e.body) as { message?: string }).message ?? e.body; } catch { return e.body; } }
  return e.message ?? String(err);
}
