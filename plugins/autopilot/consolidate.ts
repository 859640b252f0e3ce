/**
 * Consolidation of underused nodes, as GKE's cluster autoscaler does it: a pure decision over
 * plain data, so the planner (scheduler.ts) and a live controller can share it.
 *
 *   consolidationPlan(nodes, pods, opts) => { drain: ConsolidationDrain[]; blocked: { node; reason }[] }
 *
 * A node is a candidate when it is `removable`, holds at least one pod that is not a DaemonSet's,
 * its requested CPU and memory (DaemonSet pods left out) are each below
 * `opts.utilizationThreshold` of allocatable, and it has been so since
 * `opts.unneededSinceByNode.get(node)` for at least `opts.delayS`. Candidates are taken emptiest
 * first; each is drained when every pod on it may be evicted and all fit on other nodes, else it
 * is blocked, with the first reason found:
 * - a pod with no owner (not recreated by a controller once evicted);
 * - an extended-duration pod (`safeToEvict: 'false'`) bound less than `opts.extendedDurationS` ago;
 * - a pod that fits on no other node (the reason names one node and why it does not fit).
 * DaemonSet pods neither count nor block; they go with their node.
 *
 * The fit check here covers taints (NoSchedule and NoExecute need a toleration), nodeSelector,
 * required node affinity (matchExpressions), CPU, memory and the pod count, and `ownNode` pods (a
 * GPU or Performance pod needs a node with no other pod). Pod affinity and anti-affinity, topology
 * spread, ephemeral storage, host ports and volumes are left to the optional `hooks`, which see
 * each tentative move; without hooks they are not checked. Moves go to the most allocated node
 * that fits (bin packing), biggest pods first. A node that received pods in this call is not
 * drained in it; a drained node receives none, nor does one marked `destination: false`. With several extended-duration pods the reason names the
 * one protected longest, and `retryAt` says when that protection ends.
 *
 * Pods on nodes that are not candidates need not be listed when the node gives `requested` (their
 * `ownNode` pods are then unknown: mark such nodes `destination: false`).
 */
import type { NodeSelectorTerm, Toleration } from './types.js';

export interface ConsolidationTaint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'NoExecute' | 'PreferNoSchedule';
}

export interface ConsolidationNode {
  name: string;
  allocatable: { cpuMilli: number; memoryBytes: number; pods: number };
  labels: Record<string, string>;
  taints: ConsolidationTaint[];
  /** False for nodes the autoscaler may not remove (not made by it, GPU nodes in use, booting). */
  removable: boolean;
  /** What all its pods request, DaemonSet pods included. Default: the sum over the pods listed on it. */
  requested?: { cpuMilli: number; memoryBytes: number; pods: number };
  /** False: nothing moves onto it (a node going away as empty, a GPU node whose pods are not listed). Default true. */
  destination?: boolean;
}

export interface ConsolidationPod {
  /** Unique among the pods given (the planner uses the pod's name, a controller `namespace/name`). */
  name: string;
  node: string;
  requests: { cpuMilli: number; memoryBytes: number };
  tolerations?: Toleration[];
  nodeSelector?: Record<string, string>;
  /** spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms */
  requiredNodeAffinity?: NodeSelectorTerm[];
  /** The controller that recreates it once evicted; a pod without one blocks its node's removal. */
  owner?: string;
  daemonSet?: boolean;
  /** The `cluster-autoscaler.kubernetes.io/safe-to-evict` annotation. */
  safeToEvict?: 'true' | 'false';
  /** A GPU or Performance pod: runs alone on its node. */
  ownNode?: boolean;
  /** When it was bound (seconds, on the clock of `opts.now`). */
  boundAt: number;
}

export interface ConsolidationHooks {
  /** The movable pods of `node` leave it, tentatively, before new places are looked for. */
  lift(node: string, pods: string[]): void;
  /** Why `pod` may not go on `node` beyond what is checked here (pod affinity, spread); undefined when it may. */
  fits(pod: string, node: string): string | undefined;
  place(pod: string, node: string): void;
  /** Undo every lift and place since the last `lift` (that node's drain failed). */
  abandon(): void;
}

export interface ConsolidationOptions {
  now: number;
  utilizationThreshold: number;
  /** Since when each node has been below the threshold (the caller's clock); nodes not in it are not candidates. */
  unneededSinceByNode: Map<string, number>;
  delayS: number;
  extendedDurationS: number;
  /** Extra fit checks against the caller's state; tentative moves that succeed are left in place. */
  hooks?: ConsolidationHooks;
}

export interface ConsolidationDrain {
  node: string;
  moves: { pod: string; to: string }[];
  /** e.g. "underused: cpu 31%, memory 22% of allocatable for 600s; moved 3 pods to n2, n3" */
  reason: string;
  utilization: { cpu: number; memory: number };
}

export interface ConsolidationResult {
  drain: ConsolidationDrain[];
  /** `cause`: the pod-level part of `reason` (stable across calls, for reporting once); `retryAt`: when it may lift by itself. */
  blocked: { node: string; reason: string; cause: string; retryAt?: number }[];
}

interface Room { cpuMilli: number; memoryBytes: number; pods: number; ownNodeTaken: boolean; regular: number }

/** Decides which underused nodes to drain now and where their pods go. Pure unless `hooks` mutate the caller's state. */
export function consolidationPlan(nodes: ConsolidationNode[], pods: ConsolidationPod[], opts: ConsolidationOptions): ConsolidationResult {
  const podsByNode = new Map<string, ConsolidationPod[]>();
  for (const p of pods) (podsByNode.get(p.node) ?? podsByNode.set(p.node, []).get(p.node)!).push(p);
  const room = new Map<string, Room>();
  for (const n of nodes) {
    const on = podsByNode.get(n.name) ?? [];
    const req = n.requested ?? on.reduce((s, p) => ({ cpuMilli: s.cpuMilli + p.requests.cpuMilli, memoryBytes: s.memoryBytes + p.requests.memoryBytes, pods: s.pods + 1 }), { cpuMilli: 0, memoryBytes: 0, pods: 0 });
    room.set(n.name, {
      cpuMilli: n.allocatable.cpuMilli - req.cpuMilli, memoryBytes: n.allocatable.memoryBytes - req.memoryBytes, pods: n.allocatable.pods - req.pods,
      ownNodeTaken: on.some((p) => p.ownNode), regular: on.filter((p) => !p.daemonSet).length,
    });
  }

  const candidates: { node: ConsolidationNode; movable: ConsolidationPod[]; cpu: number; memory: number; since: number }[] = [];
  for (const n of nodes) {
    const since = opts.unneededSinceByNode.get(n.name);
    if (!n.removable || since === undefined || opts.now - since < opts.delayS) continue;
    const movable = (podsByNode.get(n.name) ?? []).filter((p) => !p.daemonSet);
    if (!movable.length) continue;
    const cpu = movable.reduce((s, p) => s + p.requests.cpuMilli, 0) / n.allocatable.cpuMilli;
    const memory = movable.reduce((s, p) => s + p.requests.memoryBytes, 0) / n.allocatable.memoryBytes;
    if (cpu >= opts.utilizationThreshold || memory >= opts.utilizationThreshold) continue;
    candidates.push({ node: n, movable, cpu, memory, since });
  }
  candidates.sort((a, b) => a.cpu + a.memory - (b.cpu + b.memory) || (a.node.name < b.node.name ? -1 : 1));

  const drained = new Set<string>();
  const received = new Set<string>();
  const result: ConsolidationResult = { drain: [], blocked: [] };
  for (const c of candidates) {
    const name = c.node.name;
    if (received.has(name)) continue;
    const use = `cpu ${pct(c.cpu)}, memory ${pct(c.memory)} of allocatable for ${Math.round(opts.now - c.since)}s`;
    const stuck = blocker(c.movable, opts);
    if (stuck) { result.blocked.push({ node: name, reason: `underused (${use}) but ${stuck.cause}`, ...stuck }); continue; }
    opts.hooks?.lift(name, c.movable.map((p) => p.name));
    const moves: { pod: string; to: string }[] = [];
    const taken: { to: Room; p: ConsolidationPod }[] = [];
    let failed: string | undefined;
    const order = [...c.movable].sort((a, b) => b.requests.cpuMilli - a.requests.cpuMilli || b.requests.memoryBytes - a.requests.memoryBytes || (a.name < b.name ? -1 : 1));
    for (const p of order) {
      let best: ConsolidationNode | undefined;
      let bestLeft = Infinity;
      let why: string | undefined;
      for (const n of nodes) {
        if (n.name === name || drained.has(n.name) || n.destination === false) continue;
        const r = room.get(n.name)!;
        const no = fitError(p, n, r) ?? opts.hooks?.fits(p.name, n.name);
        if (no !== undefined) { why ??= `${n.name}: ${no}`; continue; }
        const left = (r.cpuMilli - p.requests.cpuMilli) / n.allocatable.cpuMilli + (r.memoryBytes - p.requests.memoryBytes) / n.allocatable.memoryBytes;
        if (left < bestLeft) { bestLeft = left; best = n; }
      }
      if (!best) { failed = `pod ${p.name} fits on no other node${why ? ` (e.g. ${why})` : ''}`; break; }
      const r = room.get(best.name)!;
      take(r, p, 1);
      taken.push({ to: r, p });
      opts.hooks?.place(p.name, best.name);
      moves.push({ pod: p.name, to: best.name });
    }
    if (failed) {
      for (const { to, p } of taken) take(to, p, -1);
      opts.hooks?.abandon();
      result.blocked.push({ node: name, reason: `underused (${use}) but ${failed}`, cause: failed });
      continue;
    }
    drained.add(name);
    for (const m of moves) received.add(m.to);
    const targets = [...new Set(moves.map((m) => m.to))];
    result.drain.push({
      node: name, moves, utilization: { cpu: c.cpu, memory: c.memory },
      reason: `underused: ${use}; moved ${moves.length} pod${moves.length === 1 ? '' : 's'} to ${targets.join(', ')}`,
    });
  }
  return result;
}

function take(r: Room, p: ConsolidationPod, sign: 1 | -1): void {
  r.cpuMilli -= sign * p.requests.cpuMilli;
  r.memoryBytes -= sign * p.requests.memoryBytes;
  r.pods -= sign;
  r.regular += sign;
  if (p.ownNode) r.ownNodeTaken = sign === 1;
}

function blocker(pods: ConsolidationPod[], opts: ConsolidationOptions): { cause: string; retryAt?: number } | undefined {
  for (const p of pods) if (!p.owner) return { cause: `pod ${p.name} has no controller (a bare pod is not recreated once evicted)` };
  let last: ConsolidationPod | undefined;
  for (const p of pods) if (p.safeToEvict === 'false' && opts.now < p.boundAt + opts.extendedDurationS && (!last || p.boundAt > last.boundAt)) last = p;
  if (!last) return undefined;
  const until = last.boundAt + opts.extendedDurationS;
  return { cause: `pod ${last.name} is extended-duration (safe-to-evict=false) until t=${until}s`, retryAt: until };
}

/** Why `p` may not go on `n` (with room `r` left): taints, selector, required node affinity, resources. */
function fitError(p: ConsolidationPod, n: ConsolidationNode, r: Room): string | undefined {
  for (const t of n.taints) {
    if (t.effect === 'PreferNoSchedule') continue;
    if (!(p.tolerations ?? []).some((tol) => tolerates(tol, t))) return `taint ${t.key}${t.value !== undefined ? `=${t.value}` : ''}:${t.effect} not tolerated`;
  }
  for (const [k, v] of Object.entries(p.nodeSelector ?? {})) if (n.labels[k] !== String(v)) return `node selector ${k}=${v} does not match`;
  const terms = p.requiredNodeAffinity;
  if (terms?.length && !terms.some((term) => (term.matchExpressions ?? []).every((e) => matchExpression(e, n.labels)))) return 'required node affinity not satisfied';
  if (p.ownNode && r.regular > 0) return 'the pod needs a node of its own (GPU / Performance)';
  if (r.ownNodeTaken) return 'node runs one pod (GPU / Performance nodes are not shared)';
  if (r.pods < 1) return 'max pods per node reached';
  if (r.cpuMilli < p.requests.cpuMilli) return `insufficient cpu (${r.cpuMilli}m free, pod requests ${p.requests.cpuMilli}m)`;
  if (r.memoryBytes < p.requests.memoryBytes) return `insufficient memory (${Math.round(r.memoryBytes / 2 ** 20)}Mi free, pod requests ${Math.round(p.requests.memoryBytes / 2 ** 20)}Mi)`;
  return undefined;
}

export function tolerates(t: Toleration, taint: ConsolidationTaint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.operator === 'Exists') return t.key === undefined || t.key === '' || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

export function matchExpression(e: { key: string; operator: string; values?: string[] }, labels: Record<string, string>): boolean {
  const v = labels[e.key];
  switch (e.operator) {
    case 'In': return v !== undefined && (e.values ?? []).includes(v);
    case 'NotIn': return v === undefined || !(e.values ?? []).includes(v);
    case 'Exists': return v !== undefined;
    case 'DoesNotExist': return v === undefined;
    case 'Gt': return v !== undefined && Number(v) > Number(e.values?.[0]);
    case 'Lt': return v !== undefined && Number(v) < Number(e.values?.[0]);
    default: return false;
  }
}

const pct = (x: number): string => `${Math.round(x * 100)}%`;
