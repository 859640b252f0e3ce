/**
 * Prometheus metrics of the GKE Autopilot simulator: the nodes the provisioner made (by shape and
 * state), pods waiting for one or bound to one, what the workloads cost per hour, admission
 * reviews of the webhooks, node removals and evictions. They live on their own `Registry`, never
 * prom-client's global one, so two simulators (or tests) never share series.
 *
 * Names follow Prometheus conventions, as the Cloud Run simulator's (plugins/cloud-run/metrics.ts)
 * do: a prefix (`devloop_autopilot_`), base units in the name (`_seconds`, `_usd_per_hour`),
 * `_total` on counters. The gauges are a picture of the cluster, so they are set all at once from
 * a snapshot (`update`), which drops the label sets the previous one had and this one lacks: a
 * node that is gone stops being reported instead of staying at its last value. Counters and the
 * histogram are fed by events. `serveAutopilotMetrics` exposes them at `GET /metrics` on 127.0.0.1.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { serveMetricsEndpoint, type MetricsEndpoint } from '../shared/metrics-endpoint.js';

export type { MetricsEndpoint } from '../shared/metrics-endpoint.js';

export const NODE_STATES = ['booting', 'ready', 'preempting'] as const;
export type NodeState = (typeof NODE_STATES)[number];
export const PENDING_REASONS = ['awaiting-node', 'unschedulable'] as const;
export type PendingReason = (typeof PENDING_REASONS)[number];
export const REMOVAL_REASONS = ['empty', 'underused', 'preempted', 'shutdown', 'stale'] as const;
export type RemovalReason = (typeof REMOVAL_REASONS)[number];
export const EVICTION_REASONS = ['preemption', 'consolidation'] as const;
export type EvictionReason = (typeof EVICTION_REASONS)[number];
export const WEBHOOKS = ['mutating', 'validating'] as const;
export type Webhook = (typeof WEBHOOKS)[number];
export const REVIEW_RESULTS = ['allowed', 'denied', 'patched', 'error'] as const;
export type ReviewResult = (typeof REVIEW_RESULTS)[number];

/**
 * Admission review time: an in-process review takes about a millisecond, one over HTTPS from the
 * API server tens of ms; the API server gives up on a webhook after 10 s by default (the
 * webhooks devloop registers set less), so 5 s is already a failure in the making.
 */
const REVIEW_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** The cluster as the provisioner sees it at one moment: plain data, built by whoever holds the state. */
export interface AutopilotSnapshot {
  /** Nodes the provisioner made (booting: planned, not created yet), not the real node nor anyone else's. */
  nodes: { name: string; computeClass: string; machineType: string; spot: boolean; zone: string; state: NodeState }[];
  /**
   * Pods in the namespaces devloop deploys to. A bound pod counts under `pods`; an unbound one
   * under `pending_pods` with its `pendingReason`, and not at all without one (the kube-scheduler
   * has not looked at it yet, so it is not waiting on the provisioner).
   */
  pods: { namespace: string; computeClass: string; spot: boolean; bound: boolean; pendingReason?: PendingReason }[];
  /** USD per hour by namespace: pod-billed requests, and node-billed pods (Accelerator, Performance) at their node's price. */
  cost: { namespace: string; pods: number; nodes: number }[];
  /** GKE's per-cluster management fee, USD per hour. */
  clusterFeeUsdPerHour: number;
}

export class AutopilotMetrics {
  readonly registry: Registry;
  private readonly nodes: Gauge<'compute_class' | 'machine_type' | 'spot' | 'zone' | 'state'>;
  private readonly provisioned: Counter<'compute_class' | 'spot'>;
  private readonly removed: Counter<'reason'>;
  private readonly pending: Gauge<'namespace' | 'reason'>;
  private readonly pods: Gauge<'namespace' | 'compute_class' | 'spot'>;
  private readonly cost: Gauge<'namespace' | 'kind'>;
  private readonly reviews: Counter<'webhook' | 'result'>;
  private readonly reviewSeconds: Histogram<'webhook'>;
  private readonly evictions: Counter<'reason'>;

  constructor(prefix = 'devloop_autopilot_') {
    this.registry = new Registry();
    const registers = [this.registry];
    this.nodes = new Gauge({
      name: `${prefix}nodes`,
      help: 'Nodes the Autopilot provisioner made, by compute class, machine type, Spot, zone and state: booting (planned, boot delay running), ready (in the cluster), preempting (Spot VM reclaimed, grace period running).',
      labelNames: ['compute_class', 'machine_type', 'spot', 'zone', 'state'],
      registers,
    });
    this.provisioned = new Counter({
      name: `${prefix}nodes_provisioned_total`,
      help: 'Nodes the Autopilot provisioner planned for pods nothing could hold, by compute class and Spot.',
      labelNames: ['compute_class', 'spot'],
      registers,
    });
    this.removed = new Counter({
      name: `${prefix}nodes_removed_total`,
      help: 'Nodes the Autopilot provisioner removed, by reason: empty (consolidation delay passed), underused (pods moved off for consolidation), preempted (Spot grace period over), shutdown (devloop stopping), stale (left by a dead earlier session).',
      labelNames: ['reason'],
      registers,
    });
    this.pending = new Gauge({
      name: `${prefix}pending_pods`,
      help: 'Unbound pods the scheduler could not place, by namespace and reason: awaiting-node (a node is being provisioned or will be), unschedulable (no node Autopilot makes can hold it).',
      labelNames: ['namespace', 'reason'],
      registers,
    });
    this.pods = new Gauge({
      name: `${prefix}pods`,
      help: 'Pods bound to nodes, by namespace, compute class and Spot.',
      labelNames: ['namespace', 'compute_class', 'spot'],
      registers,
    });
    this.cost = new Gauge({
      name: `${prefix}cost_usd_per_hour`,
      help: 'What the workloads would cost on GKE Autopilot, USD per hour, by namespace and kind: pods (pod-based billing of requests), nodes (node-billed pods at their node\'s price), cluster_fee (the cluster management fee, namespace empty).',
      labelNames: ['namespace', 'kind'],
      registers,
    });
    this.reviews = new Counter({
      name: `${prefix}admission_reviews_total`,
      help: 'AdmissionReviews the simulated Autopilot webhooks answered, by webhook (mutating, validating) and result (allowed unchanged, denied, patched, error).',
      labelNames: ['webhook', 'result'],
      registers,
    });
    this.reviewSeconds = new Histogram({
      name: `${prefix}admission_review_duration_seconds`,
      help: 'Time the simulated Autopilot webhooks took to answer an AdmissionReview, in seconds.',
      labelNames: ['webhook'],
      buckets: REVIEW_BUCKETS,
      registers,
    });
    this.evictions = new Counter({
      name: `${prefix}evictions_total`,
      help: 'Pods evicted from nodes the provisioner made, by reason: preemption (Spot VM reclaimed), consolidation (moved off an underused node).',
      labelNames: ['reason'],
      registers,
    });
    // Every known label value starts at 0, so rate() and increase() see the first event.
    for (const reason of REMOVAL_REASONS) this.removed.inc({ reason }, 0);
    for (const reason of EVICTION_REASONS) this.evictions.inc({ reason }, 0);
    for (const webhook of WEBHOOKS) {
      for (const result of REVIEW_RESULTS) this.reviews.inc({ webhook, result }, 0);
      this.reviewSeconds.zero({ webhook });
    }
  }

  /**
   * Sets every gauge from `snapshot`, replacing what the previous one set. Throws (and changes
   * nothing) when the snapshot is malformed.
   */
  update(snapshot: AutopilotSnapshot): void {
    const nodes = new Tally<'compute_class' | 'machine_type' | 'spot' | 'zone' | 'state'>();
    const names = new Map<string, number>();
    snapshot.nodes.forEach((n, i) => {
      const at = `nodes[${i}]`;
      requireText(n.name, `${at}.name`);
      const earlier = names.get(n.name);
      if (earlier !== undefined) throw new TypeError(`AutopilotMetrics.update: snapshot ${at}.name "${n.name}" repeats nodes[${earlier}]; list each node once`);
      names.set(n.name, i);
      requireOneOf(n.state, NODE_STATES, `${at}.state`);
      nodes.add({
        compute_class: requireText(n.computeClass, `${at}.computeClass`),
        machine_type: requireText(n.machineType, `${at}.machineType`),
        spot: requireBool(n.spot, `${at}.spot`),
        zone: requireText(n.zone, `${at}.zone`),
        state: n.state,
      });
    });
    const pending = new Tally<'namespace' | 'reason'>();
    const pods = new Tally<'namespace' | 'compute_class' | 'spot'>();
    snapshot.pods.forEach((p, i) => {
      const at = `pods[${i}]`;
      const namespace = requireText(p.namespace, `${at}.namespace`);
      const spot = requireBool(p.spot, `${at}.spot`);
      const computeClass = requireText(p.computeClass, `${at}.computeClass`);
      requireBool(p.bound, `${at}.bound`);
      if (p.pendingReason !== undefined) requireOneOf(p.pendingReason, PENDING_REASONS, `${at}.pendingReason`);
      if (p.bound) {
        if (p.pendingReason !== undefined) throw new TypeError(`AutopilotMetrics.update: snapshot ${at} is bound yet has pendingReason "${p.pendingReason}"; a bound pod is not pending, leave pendingReason out`);
        pods.add({ namespace, compute_class: computeClass, spot });
      } else if (p.pendingReason) {
        pending.add({ namespace, reason: p.pendingReason });
      }
    });
    const cost = new Tally<'namespace' | 'kind'>();
    const namespaces = new Map<string, number>();
    snapshot.cost.forEach((c, i) => {
      const at = `cost[${i}]`;
      const namespace = requireText(c.namespace, `${at}.namespace`);
      const earlier = namespaces.get(namespace);
      if (earlier !== undefined) throw new TypeError(`AutopilotMetrics.update: snapshot ${at}.namespace "${namespace}" repeats cost[${earlier}]; give one entry per namespace`);
      namespaces.set(namespace, i);
      cost.set({ namespace, kind: 'pods' }, requireUsd(c.pods, `${at}.pods`));
      cost.set({ namespace, kind: 'nodes' }, requireUsd(c.nodes, `${at}.nodes`));
    });
    // Not any namespace's: an empty label value is Prometheus's way to say "not applicable".
    cost.set({ namespace: '', kind: 'cluster_fee' }, requireUsd(snapshot.clusterFeeUsdPerHour, 'clusterFeeUsdPerHour'));

    // Everything is checked: replace. reset() drops every label set, so what vanished is not reported.
    nodes.apply(this.nodes);
    pending.apply(this.pending);
    pods.apply(this.pods);
    cost.apply(this.cost);
  }

  /** The provisioner planned a node (it then boots: `update` shows it as booting). */
  nodeProvisioned(computeClass: string, spot: boolean): void {
    this.provisioned.inc({ compute_class: requireText(computeClass, 'computeClass'), spot: requireBool(spot, 'spot') });
  }

  nodeRemoved(reason: RemovalReason): void {
    this.removed.inc({ reason: requireOneOf(reason, REMOVAL_REASONS, 'reason') });
  }

  /** `pods` pods evicted (default 1). */
  eviction(reason: EvictionReason, pods = 1): void {
    if (!Number.isInteger(pods) || pods < 0) throw new RangeError(`AutopilotMetrics.eviction: pods is ${pods}; give a whole number of pods, 0 or more`);
    this.evictions.inc({ reason: requireOneOf(reason, EVICTION_REASONS, 'reason') }, pods);
  }

  /** One AdmissionReview answered with `result` after `seconds`. */
  review(webhook: Webhook, result: ReviewResult, seconds: number): void {
    requireOneOf(webhook, WEBHOOKS, 'webhook');
    requireOneOf(result, REVIEW_RESULTS, 'result');
    if (!Number.isFinite(seconds)) throw new RangeError(`AutopilotMetrics.review: seconds is ${seconds}; give the review's duration in seconds (a finite number)`);
    this.reviews.inc({ webhook, result });
    // A clock step backwards is not a negative duration.
    this.reviewSeconds.observe({ webhook }, Math.max(0, seconds));
  }

  /** The exposition text of every metric. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Label sets and their values for one gauge, built in full before the gauge is touched. */
class Tally<L extends string> {
  private readonly sets = new Map<string, { labels: Record<L, string>; value: number }>();

  add(labels: Record<L, string>, n = 1): void {
    const key = JSON.stringify(labels);
    const had = this.sets.get(key);
    if (had) had.value += n;
    else this.sets.set(key, { labels, value: n });
  }

  set(labels: Record<L, string>, value: number): void {
    this.sets.set(JSON.stringify(labels), { labels, value });
  }

  apply(gauge: Gauge<L>): void {
    gauge.reset();
    for (const { labels, value } of this.sets.values()) gauge.set(labels, value);
  }
}

function requireText(v: unknown, path: string): string {
  if (typeof v !== 'string' || v === '') throw new TypeError(`AutopilotMetrics: ${path} is ${JSON.stringify(v)}; give a non-empty string`);
  return v;
}

function requireBool(v: unknown, path: string): 'true' | 'false' {
  if (typeof v !== 'boolean') throw new TypeError(`AutopilotMetrics: ${path} is ${JSON.stringify(v)}; give true or false`);
  return v ? 'true' : 'false';
}

function requireOneOf<T extends string>(v: unknown, allowed: readonly T[], path: string): T {
  if (!allowed.includes(v as T)) throw new TypeError(`AutopilotMetrics: ${path} is ${JSON.stringify(v)}; give one of ${allowed.join(', ')}`);
  return v as T;
}

function requireUsd(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`AutopilotMetrics.update: snapshot ${path} is ${String(v)}; give USD per hour, a finite number, 0 or more`);
  return v;
}

/** GET /metrics on 127.0.0.1 (plugins/shared/metrics-endpoint.ts). */
export function serveAutopilotMetrics(metrics: { registry: Registry }, options: { host?: string; port?: number } = {}): Promise<MetricsEndpoint> {
  return serveMetricsEndpoint({ what: 'The devloop Autopilot metrics endpoint', collect: () => metrics.registry.metrics(), contentType: metrics.registry.contentType, ...options });
}
