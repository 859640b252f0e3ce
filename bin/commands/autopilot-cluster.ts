/**
 * `devloop autopilot simulate --cluster FILE...`: Autopilot's `simulate` mode (plugins/autopilot/
 * modes.ts) on a real Kubernetes API server, no Devfile needed. The manifests are applied to a
 * local cluster with devloop's Autopilot admission webhook in front (mode `simulate`: every pod
 * selects the provisioner's kwok nodes, so no container runs) and the node provisioner behind; it
 * prints the nodes as they appear and, once every pod runs (or can never run), a summary: nodes by
 * machine, class, Spot and zone, pods on each, and the hourly cost. The real kube-scheduler places
 * the pods; kwok reports them Running.
 *
 * Without `--watch` it then removes everything it applied, the namespace it made, the nodes and
 * the webhook, and exits: 0 all placed; 1 something denied, unschedulable, or not placed within
 * `--timeout`; 2 invalid input (nothing is applied then). With `--watch` it keeps running, printing
 * every change (scale a Deployment with kubectl and watch nodes come and go), until Ctrl-C.
 *
 * Only a local kube context is used: it creates Node objects, which no real cluster should get.
 */
import { randomBytes } from 'node:crypto';
import { admit } from '../../plugins/autopilot/admission.js';
import { CLUSTER_FEE_HOUR, LABELS } from '../../plugins/autopilot/data.js';
import { estimate, usd } from '../../plugins/autopilot/estimate.js';
import { gkeSpec } from '../../plugins/autopilot/modes.js';
import type { PodLike } from '../../plugins/autopilot/provisioner.js';
import type { K8sObject } from '../../plugins/autopilot/types.js';
import { isWorkload, podCount } from '../../plugins/autopilot/workload.js';
import { LABEL_SESSION as DOCKER_SESSION, LABEL_SESSION_START as DOCKER_SESSION_START, sessionAlive } from '../../plugins/docker/names.js';
import type { DevfileConfig } from '../../core/devfile/types.js';
import { DevloopError } from '../../core/errors.js';
import { onInterrupt } from '../interrupts.js';
import { EXIT } from '../shared.js';
import { inputError, InputError, load, reportProblems, seconds, streams, type AutopilotCliOptions, type AutopilotSimulateFlags } from './autopilot.js';

export interface ClusterSimulateFlags extends AutopilotSimulateFlags {
  /** `--namespace NS`: where objects without a namespace go. Default: a new `devloop-sim-XXXXXX`, deleted at the end. */
  namespace?: string;
  /** `--watch`: keep running after the pods settle, until Ctrl-C. */
  watch?: boolean;
  /** `--timeout <duration>`: how long the pods may take to settle. Default 10m. */
  timeout?: string;
}

const SERVICE = 'autopilot-simulate';
const POLL_MS = 1000;

interface NodeRow { name: string; machineType: string; computeClass: string; spot: boolean; zone: string; pods: number; usdPerHour: number }

export interface ClusterSimulateReport {
  context: string;
  namespaces: string[];
  settled: boolean;
  /** Seconds from the first apply until every pod was placed (or found unplaceable). */
  settledS?: number;
  pods: { expected: number; total: number; running: number; pending: number; unschedulable: number };
  nodes: NodeRow[];
  /** Pod-based billing of the running pods, GKE's prices; node-billed pods at their node's price. */
  usdPerHour: number;
  clusterFeeHour: number;
  denied: { object: string; source: string; message: string }[];
  unschedulable: string[];
  /** This process (webhook, provisioner, watcher): CPU seconds and peak RSS. */
  controller: { cpuS: number; maxRssMiB: number };
  errors: { file: string; line?: number; column?: number; message: string }[];
}

export async function autopilotSimulateCluster(opts: AutopilotCliOptions, files: string[], flags: ClusterSimulateFlags = {}): Promise<number> {
  const io = streams(opts);
  const json = opts.output === 'json';
  const say = (line: string) => { if (!json) io.out(`${line}\n`); };
  let input: Awaited<ReturnType<typeof load>>;
  let timeoutMs: number;
  let consolidationDelayS: number | undefined;
  const provisioning = flags.provisioning ?? 'fast';
  try {
    input = await load(opts, files, flags);
    if (provisioning !== 'realistic' && provisioning !== 'fast') throw new InputError(`--provisioning: expected realistic or fast, got "${provisioning}"`);
    if (flags.until) throw new InputError('--until is for the planner alone; with --cluster use --timeout (how long pods may take to settle) or --watch');
    timeoutMs = seconds(flags.timeout ?? '10m', '--timeout') * 1000;
    consolidationDelayS = flags.scaleDownDelay ? seconds(flags.scaleDownDelay, '--scale-down-delay') : undefined;
    if (flags.namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(flags.namespace)) throw new InputError(`--namespace: "${flags.namespace}" is not a valid namespace name (lower-case letters, digits and -, at most 63)`);
  } catch (err) { return inputError(err, io); }
  const problems = reportProblems(input, io);
  // Nothing touches the cluster when an input is broken: a half-applied application tells nothing.
  if (input.errors.length) return EXIT.usage;

  const { pickContext, notAllowedError } = await import('../../plugins/kubernetes/context.js');
  const target = await pickContext({ services: {} } as unknown as DevfileConfig);
  if (!target.allowed) {
    const e = notAllowedError(target, undefined, 'simulate Autopilot nodes in');
    throw new DevloopError(e.message, { code: e.code, hint: 'devloop autopilot simulate --cluster creates Node objects; it only runs against a local cluster (kind-*, k3d-*, minikube, docker-desktop, devloop-local, or an API server on 127.0.0.1)' });
  }
  const k8s = await import('@kubernetes/client-node');
  const core = target.kc.makeApiClient(k8s.CoreV1Api);
  const objects = k8s.KubernetesObjectApi.makeApiClient(target.kc);
  const { applyAll, deleteOwned, toRef, apiError } = await import('../../plugins/kubernetes/apply.js');
  const { LABEL_MANAGED_BY, LABEL_SERVICE } = await import('../../plugins/kubernetes/manifests.js');
  const { AutopilotWebhook, removeStale, sessionOf } = await import('../../plugins/autopilot/webhook/index.js');
  const { Provisioner, needsNode } = await import('../../plugins/autopilot/provisioner.js');

  const namespace = flags.namespace ?? `devloop-sim-${randomBytes(3).toString('hex')}`;
  const session = sessionOf(opts.cwd);
  const alive = (labels: Record<string, string>) => sessionAlive({ [DOCKER_SESSION]: labels['devloop.dev/session'] ?? '', ...(labels['devloop.dev/session-start'] ? { [DOCKER_SESSION_START]: labels['devloop.dev/session-start'] } : {}) });
  const started = Date.now();
  const stamp = () => `+${((Date.now() - started) / 1000).toFixed(1)}s`;
  const logger = { info: (m: string) => say(`${stamp()} ${m.replace(/^autopilot (provisioner|webhook): /, '')}`), warn: (m: string) => io.err(`${stamp()} warning: ${m.replace(/^autopilot (provisioner|webhook): /, '')}\n`) };

  // What is applied, in order, with a namespace; cluster-scoped kinds keep none.
  const CLUSTER_SCOPED = new Set(['Namespace', 'Node', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PriorityClass', 'StorageClass', 'PersistentVolume', 'MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration', 'IngressClass', 'RuntimeClass']);
  const toApply = input.objects.map(({ object, source }) => {
    const o = structuredClone(object) as K8sObject & { metadata: NonNullable<K8sObject['metadata']> & { name: string } };
    o.metadata ??= { name: '' };
    if (!CLUSTER_SCOPED.has(String(o.kind))) o.metadata.namespace ??= namespace;
    o.metadata.labels = { ...(o.metadata.labels ?? {}), [LABEL_MANAGED_BY]: 'devloop', [LABEL_SERVICE]: SERVICE };
    return { object: o, source: `${source.file}:${source.line}` };
  });
  const namespaces = [...new Set([namespace, ...toApply.flatMap((a) => (a.object.metadata.namespace ? [a.object.metadata.namespace] : []))])];
  // Pods the applied workloads should have once their controllers have made them (refused ones have none).
  const podsOf = (o: K8sObject) => (isWorkload(o) && o.kind !== 'DaemonSet' && o.kind !== 'CronJob' ? podCount(o) : 0);
  let expected = 0;

  const abort = new AbortController();
  const createdNamespaces: string[] = [];
  const applied: ReturnType<typeof toRef>[] = [];
  let webhook: Awaited<ReturnType<typeof AutopilotWebhook.start>> | undefined;
  let provisioner: InstanceType<typeof Provisioner> | undefined;
  let interrupted = false;
  // A forced exit would leave the namespaces, nodes and webhook configurations: an echo of the
  // same Ctrl-C is ignored, a later one too (the cleanup takes seconds and is what it waits for);
  // the handlers stay until the process exits, so no copy can kill it by the default action.
  onInterrupt({ signals: ['SIGINT', 'SIGTERM'], stop: () => { interrupted = true; abort.abort(); }, force: () => {} });

  const cleanup = async () => {
    if (applied.length) await deleteOwned(objects, applied.filter((r) => r.kind !== 'Namespace' || !createdNamespaces.includes(r.name)), SERVICE).catch((err) => logger.warn(`deleting what was applied failed: ${apiError(err).message}`));
    for (const ns of createdNamespaces) await core.deleteNamespace({ name: ns }).catch((err) => logger.warn(`deleting namespace ${ns} failed: ${apiError(err).message}; delete it with kubectl delete namespace ${ns}`));
    await provisioner?.stop();
    await webhook?.stop();
  };

  const report: ClusterSimulateReport = {
    context: target.context, namespaces, settled: false, pods: { expected: 0, total: 0, running: 0, pending: 0, unschedulable: 0 }, nodes: [],
    usdPerHour: 0, clusterFeeHour: CLUSTER_FEE_HOUR, denied: [], unschedulable: [], controller: { cpuS: 0, maxRssMiB: 0 }, errors: problems.errors,
  };
  try {
    say(`simulating GKE Autopilot in kube context ${target.context} (${target.server}), namespace ${namespace}, ${provisioning} provisioning`);
    const stale = await removeStale(target.kc, alive);
    if (stale.length) logger.info(`deleted ${stale.join(', ')}, left by an earlier devloop`);
    for (const ns of namespaces) {
      try {
        await core.readNamespace({ name: ns });
      } catch (err) {
        if (apiError(err).code !== 404) throw err;
        await core.createNamespace({ body: { metadata: { name: ns, labels: { [LABEL_MANAGED_BY]: 'devloop', [LABEL_SERVICE]: SERVICE } } } });
        createdNamespaces.push(ns);
      }
    }
    webhook = await AutopilotWebhook.start({ kc: target.kc, settings: input.settings, mode: 'simulate', logger, session, onFallback: (r) => logger.warn(`running with reduced Autopilot simulation: ${r}`) });
    for (const ns of namespaces) await webhook.watch(ns, abort.signal);
    provisioner = new Provisioner({
      api: core as unknown as import('../../plugins/autopilot/provisioner.js').ProvisionerApi, logger, provisioning, consolidationDelayS,
      cluster: input.settings, session, sessionAlive: alive, materialize: true,
    });
    for (const ns of namespaces) await provisioner.watch(ns);

    for (const a of toApply) {
      if (abort.signal.aborted) break;
      try {
        const [live] = await applyAll(objects, [a as never], SERVICE, abort.signal);
        applied.push(toRef(live));
        expected += podsOf(a.object);
      } catch (err) {
        if (abort.signal.aborted) break;
        const message = err instanceof Error ? err.message : String(err);
        report.denied.push({ object: `${a.object.kind} ${a.object.metadata.namespace ? `${a.object.metadata.namespace}/` : ''}${a.object.metadata.name}`, source: a.source, message });
        io.err(`${stamp()} refused: ${a.object.kind} ${a.object.metadata.name} (${a.source}): ${message}\n`);
      }
    }
    say(`${stamp()} applied ${applied.length} object${applied.length === 1 ? '' : 's'}${report.denied.length ? `, ${report.denied.length} refused` : ''}; ${expected} pod${expected === 1 ? '' : 's'} expected`);

    const deadline = Date.now() + timeoutMs;
    let last = '';
    const costs = new Map<string, number>();
    const nodeCache = new Map<string, { machineType: string; computeClass: string; spot: boolean; zone: string }>();
    for (;;) {
      if (abort.signal.aborted) break;
      const pods: PodLike[] = [];
      for (const ns of namespaces) pods.push(...(await core.listNamespacedPod({ namespace: ns })).items as PodLike[]);
      const live = pods.filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
      const running = live.filter((p) => p.spec?.nodeName && p.status?.phase === 'Running');
      const givenUp = live.filter((p) => !p.spec?.nodeName && needsNode(p) && provisioner!.awaitingNode(p) === undefined);
      const rows = new Map<string, NodeRow>();
      for (const name of provisioner.nodes) {
        let n = nodeCache.get(name);
        if (!n) {
          try {
            const l = (await core.readNode({ name })).metadata?.labels ?? {};
            n = { machineType: l[LABELS.instanceType] ?? '?', computeClass: l[LABELS.computeClass] ?? 'general-purpose', spot: l[LABELS.spot] === 'true', zone: l[LABELS.zone] ?? '?' };
            nodeCache.set(name, n);
          } catch { continue; }
        }
        rows.set(name, { name, ...n, pods: 0, usdPerHour: 0 });
      }
      let cost = 0;
      for (const p of running) {
        const spec = gkeSpec(p);
        const key = JSON.stringify([spec.containers?.map((c) => c.resources), spec.initContainers?.map((c) => c.resources), spec.nodeSelector]);
        let c = costs.get(key);
        if (c === undefined) {
          try { c = estimate(admit({ apiVersion: 'v1', kind: 'Pod', metadata: { name: p.metadata?.name ?? 'pod', namespace: p.metadata?.namespace }, spec }, input.settings), 1, input.settings.region)?.usdPerHour ?? 0; } catch { c = 0; }
          costs.set(key, c);
        }
        cost += c;
        const row = rows.get(p.spec!.nodeName!);
        if (row) { row.pods++; row.usdPerHour += c; }
      }
      report.pods = { expected, total: live.length, running: running.length, pending: live.length - running.length - givenUp.length, unschedulable: givenUp.length };
      report.nodes = [...rows.values()].sort((a, b) => a.name.localeCompare(b.name));
      report.usdPerHour = usd(cost);
      report.unschedulable = givenUp.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`);
      const line = `pods ${running.length}/${Math.max(expected, live.length)} running, ${report.pods.pending} pending${givenUp.length ? `, ${givenUp.length} unschedulable` : ''}; ${rows.size} node${rows.size === 1 ? '' : 's'}; $${report.usdPerHour.toFixed(4)}/h`;
      if (line !== last) { say(`${stamp()} ${line}`); last = line; }
      const settled = live.length >= expected && report.pods.pending === 0;
      if (settled && !report.settled) {
        report.settled = true;
        report.settledS = Math.round((Date.now() - started) / 100) / 10;
        if (!json) io.out(`${summary(report).join('\n')}\n`);
        if (!flags.watch) break;
      }
      if (!settled) report.settled = false;
      if (!flags.watch && Date.now() > deadline) {
        io.err(`not settled within ${flags.timeout ?? '10m'}: ${report.pods.pending} pod${report.pods.pending === 1 ? '' : 's'} still pending\n`);
        break;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } finally {
    const usage = process.resourceUsage();
    report.controller = { cpuS: Math.round((usage.userCPUTime + usage.systemCPUTime) / 1e4) / 100, maxRssMiB: Math.round(usage.maxRSS / 1024) };
    await cleanup();
  }
  if (json) io.out(`${JSON.stringify(report, null, 2)}\n`);
  else say(`removed what was applied${createdNamespaces.length ? `, namespace ${createdNamespaces.join(', ')}` : ''}, the simulated nodes and the webhook`);
  if (interrupted) return EXIT.interrupted;
  return report.settled && !report.denied.length && !report.unschedulable.length ? EXIT.ok : EXIT.failed;
}

function summary(r: ClusterSimulateReport): string[] {
  const head = ['NODE', 'MACHINE', 'CLASS', 'SPOT', 'ZONE', 'PODS', '$/H'];
  const rows = r.nodes.map((n) => [n.name, n.machineType, n.computeClass, n.spot ? 'yes' : 'no', n.zone, String(n.pods), n.usdPerHour.toFixed(4)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const fmt = (row: string[]) => row.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [
    `settled in ${r.settledS}s: ${r.pods.running}/${r.pods.total} pods running on ${r.nodes.length} Autopilot node${r.nodes.length === 1 ? '' : 's'}${r.pods.unschedulable ? `, ${r.pods.unschedulable} unschedulable` : ''}`,
    fmt(head), ...rows.map(fmt),
    `cost: $${r.usdPerHour.toFixed(4)}/h for the pods (Autopilot bills pod requests), plus the $${r.clusterFeeHour.toFixed(2)}/h cluster fee`,
    ...(r.denied.length ? [`refused: ${r.denied.map((d) => d.object).join(', ')}`] : []),
    ...(r.unschedulable.length ? [`unschedulable: ${r.unschedulable.slice(0, 10).join(', ')}${r.unschedulable.length > 10 ? ` and ${r.unschedulable.length - 10} more` : ''}`] : []),
  ];
}
