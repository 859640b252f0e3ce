/**
 * `devloop release` against a cluster: one service after another, each by its strategy.
 *
 * | strategy | steps | on failure |
 * | --- | --- | --- |
 * | rolling | server-side apply of the rendered objects, wait for the rollout (plugins/kubernetes/readiness.ts) | re-apply the pod template the Deployment had before (recorded), as `kubectl rollout undo` would |
 * | canary | `<svc>-canary` at each step's replica count, its new pods outside the Service (plan.ts), wait Ready, gate them (gate.ts), then admit them to the Service by adding the withheld selector label; then promote: apply the rendered objects (stable gets the new image), wait, delete the canary | delete the canary; stable was never touched and keeps serving, and no user request reached a pod that failed its gate |
 *
 * | blue-green | see bluegreen.ts: the new version as the side the Service does not select, gated like a canary, then the Service's selector switched to it and the old side scaled to 0 | delete (or put back at 0) the new side; the Service never pointed at it |
 *
 * A service whose Deployment does not exist yet has no stable to compare against: it is installed
 * with `rolling` whatever the strategy, and the record says so. Services after a failed one are not
 * started: a release goes forward as a whole or stops where it failed.
 */
import type { CoreV1Api, KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import type { Logger } from '../../core/engine/contexts.js';
import { DevloopError } from '../../core/errors.js';
import { apiError, applyAll } from '../kubernetes/apply.js';
import type { K8sObject } from '../kubernetes/manifests.js';
import { waitReady } from '../kubernetes/readiness.js';
import { blueGreen, coloredService } from './bluegreen.js';
import { podHealth, runGate } from './gate.js';
import { COLOR_LABEL, TRACK_LABEL, admissionLabel, canaryDeployment, canaryReplicas, imageOfDeployment, withTemplate, type Strategy } from './plan.js';
import type { Outcome, ServiceRecord, StepRecord } from './record.js';

/** One service's part of the release: the rendered objects (Deployment first among workloads). */
export interface ServicePlan {
  name: string;
  namespace: string;
  image: string;
  objects: K8sObject[];
  deployment: K8sObject;
  /** Where the gate's burst goes: the HTTP health path, else `/`. */
  gatePath: string;
}

export interface RunOptions {
  kc: KubeConfig;
  api: KubernetesObjectApi;
  core: CoreV1Api;
  strategy: Strategy;
  steps: number[];
  maxErrorRatio: number;
  /** Each rollout and each canary step must be ready within this. */
  timeoutMs: number;
  log(line: string): void;
}

type Live = K8sObject & { spec?: any; status?: any };

export async function runRelease(opts: RunOptions, plans: ServicePlan[]): Promise<ServiceRecord[]> {
  const records: ServiceRecord[] = [];
  let stopped = false;
  for (const plan of plans) {
    const rec: ServiceRecord = { name: plan.name, namespace: plan.namespace, image: plan.image, outcome: 'not-started', steps: [] };
    records.push(rec);
    if (stopped) continue;
    const live = await readLive(opts.api, plan.deployment);
    rec.previousImage = imageOfDeployment(live);
    rec.previousTemplate = live?.spec?.template;
    if (opts.strategy === 'blue-green') await blueGreen(opts, plan, live, rec);
    else if (await coloredService(opts, plan)) {
      // A rolling update or canary of the blue Deployment would drop the color label its pods need to be selected.
      rec.outcome = 'failed';
      rec.reason = `Service ${plan.name} in ${plan.namespace} selects by ${COLOR_LABEL} (released blue-green before): a ${opts.strategy} release would take its pods out of it; nothing was changed`;
    } else if (opts.strategy === 'canary' && live) await canary(opts, plan, live, rec);
    else {
      if (opts.strategy === 'canary') opts.log(`${plan.name}: no Deployment ${plan.deployment.metadata.name} in ${plan.namespace} yet: installed with a rolling update (a canary needs a stable to run beside)`);
      await rolling(opts, plan, live, rec);
    }
    stopped = rec.outcome !== 'succeeded';
  }
  return records;
}

export async function rolling(opts: RunOptions, plan: ServicePlan, live: Live | undefined, rec: ServiceRecord): Promise<void> {
  const step = await timed('rollout', async () => {
    await applyAll(opts.api, plan.objects.map((object) => ({ object, source: `release of ${plan.name}` })), plan.name, AbortSignal.timeout(opts.timeoutMs));
    await ready(opts, plan.name, [plan.deployment]);
  });
  rec.steps.push(step);
  if (!step.error) { rec.outcome = 'succeeded'; return; }
  rec.reason = `rollout of ${plan.image} failed: ${step.error}`;
  rec.outcome = await undo(opts, plan, live, rec);
}

async function canary(opts: RunOptions, plan: ServicePlan, live: Live, rec: ServiceRecord): Promise<void> {
  const stableReplicas = live.spec?.replicas ?? live.status?.replicas ?? 1;
  const counts = canaryReplicas(opts.steps, stableReplicas);
  const svc = plan.objects.find((o) => o.kind === 'Service') as Live | undefined;
  const port = svc?.spec?.ports?.[0]?.targetPort ?? svc?.spec?.ports?.[0]?.port;
  const admit = admissionLabel(svc?.spec?.selector ?? (plan.deployment as Live).spec.selector.matchLabels);
  const canaryLabels = selectorText((canaryDeployment(plan.deployment, 0, admit.key) as Live).spec.selector.matchLabels);
  const target = { namespace: plan.namespace, canary: canaryLabels, isolated: `${canaryLabels},!${admit.key}`, port, path: plan.gatePath, maxErrorRatio: opts.maxErrorRatio };
  for (const [i, percent] of opts.steps.entries()) {
    const replicas = counts[i];
    const obj = canaryDeployment(plan.deployment, replicas, admit.key);
    opts.log(`${plan.name}: canary step ${percent}%: ${replicas} canary pod(s) beside ${stableReplicas} stable`);
    let gate: StepRecord['gate'];
    let admitted: string[] = [];
    const step = await timed(percent, async () => {
      await applyAll(opts.api, [{ object: obj, source: `canary of ${plan.name}` }], plan.name, AbortSignal.timeout(opts.timeoutMs));
      await ready(opts, plan.name, [obj]);
      if (port === undefined) {
        // Nothing to send requests to (and no Service to keep them out of): readiness alone gates.
        admitted = await admitPods(opts, plan, admit, (await podHealth(opts.core, plan.namespace, target.isolated)).names);
        return;
      }
      gate = await runGate(opts.kc, opts.core, { ...target, port }, quiet(opts));
      // Only a gate that passed lets its pods into the Service: until then no user request reaches them.
      if (gate.passed) admitted = await admitPods(opts, plan, admit, gate.pods ?? []);
    });
    rec.steps.push({ ...step, replicas, ...(gate ? { gate } : {}) });
    const failed = step.error ?? (gate && !gate.passed ? gate.reason : undefined);
    if (failed) {
      rec.reason = `canary step ${percent}% failed its gate: ${failed}`;
      opts.log(`${plan.name}: ${rec.reason}; deleting the canary (stable untouched)`);
      await deleteCanary(opts, plan, admit.key);
      rec.outcome = 'rolled-back';
      return;
    }
    opts.log(`${plan.name}: gate passed${gate ? ` (${gate.errors}/${gate.requests} errors on ${gate.path})` : ''}; ${admitted.length ? `pod(s) ${admitted.join(', ')} now in Service ${svc?.metadata.name ?? plan.name}` : 'no new pod to admit'}`);
  }
  const promote = await timed('promote', async () => {
    await applyAll(opts.api, plan.objects.map((object) => ({ object, source: `release of ${plan.name}` })), plan.name, AbortSignal.timeout(opts.timeoutMs));
    await ready(opts, plan.name, [plan.deployment]);
  });
  rec.steps.push(promote);
  await deleteCanary(opts, plan, admit.key);
  if (!promote.error) { rec.outcome = 'succeeded'; return; }
  rec.reason = `promoting ${plan.image} to ${plan.deployment.metadata.name} failed: ${promote.error}`;
  rec.outcome = await undo(opts, plan, live, rec);
}

/** Re-applies the pod template the Deployment had before; `failed` when there was none (first install). */
async function undo(opts: RunOptions, plan: ServicePlan, live: Live | undefined, rec: ServiceRecord): Promise<Outcome> {
  if (!live?.spec?.template) return 'failed';
  opts.log(`${plan.name}: rolling back to ${rec.previousImage}`);
  const back = withTemplate(plan.deployment, live.spec.template);
  const step = await timed('rollback', async () => {
    await applyAll(opts.api, [{ object: back, source: `rollback of ${plan.name}` }], plan.name, AbortSignal.timeout(opts.timeoutMs));
    await ready(opts, plan.name, [back]);
  });
  rec.steps.push(step);
  return step.error ? 'failed' : 'rolled-back';
}

/**
 * Lets gated canary pods into the Service: a JSON merge patch adding the withheld selector label to
 * each pod (the canary Deployment's template stays without it, so pods of a later step start
 * outside again). A pod gone since its gate is skipped: the step's readiness wait covers the rest.
 */
async function admitPods(opts: RunOptions, plan: ServicePlan, admit: { key: string; value: string }, pods: string[]): Promise<string[]> {
  const { PatchStrategy } = await import('@kubernetes/client-node');
  const done: string[] = [];
  for (const name of pods) {
    const patch = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: plan.namespace, labels: { [admit.key]: admit.value } } };
    try {
      await opts.api.patch(patch, undefined, undefined, 'devloop', undefined, PatchStrategy.MergePatch);
      done.push(name);
    } catch (err) {
      if (apiError(err).code === 404) continue;
      throw new DevloopError(`cannot admit canary pod ${name} to the Service (label ${admit.key}=${admit.value}): ${apiError(err).message}`, { code: 'RELEASE_ADMIT', service: plan.name, hint: 'devloop needs "patch" on pods in the namespace; the canary is deleted and stable keeps serving' });
    }
  }
  return done;
}

export const selectorText = (s: Record<string, string>) => Object.entries(s).map(([k, v]) => `${k}=${v}`).join(',');

async function deleteCanary(opts: RunOptions, plan: ServicePlan, withhold: string): Promise<void> {
  const ref = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: `${plan.deployment.metadata.name}-canary`, namespace: plan.namespace } };
  try {
    const found = await opts.api.read(ref);
    // Only ours: a Deployment of that name devloop did not make as a canary is left alone.
    if (found.metadata?.labels?.[TRACK_LABEL] !== 'canary') return;
    // Scaled to zero first: its ReplicaSet deletes the pods at once, and a terminating pod leaves
    // the Service's endpoints, where a Background delete of the Deployment reaches the pods only
    // after the garbage collector has walked Deployment -> ReplicaSet -> pods.
    await applyAll(opts.api, [{ object: canaryDeployment(plan.deployment, 0, withhold), source: `canary of ${plan.name}` }], plan.name, AbortSignal.timeout(opts.timeoutMs));
    await opts.api.delete(ref, undefined, undefined, undefined, undefined, 'Background');
  } catch (err) {
    if (apiError(err).code === 404) return;
    throw err;
  }
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    try { await opts.api.read(ref); } catch (err) { if (apiError(err).code === 404) return; throw err; }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function readLive(api: KubernetesObjectApi, d: K8sObject): Promise<Live | undefined> {
  try {
    return await api.read({ apiVersion: d.apiVersion, kind: d.kind, metadata: { name: d.metadata.name, namespace: d.metadata.namespace } }) as Live;
  } catch (err) {
    if (apiError(err).code === 404) return undefined;
    throw err;
  }
}

export async function ready(opts: RunOptions, service: string, objects: K8sObject[]): Promise<void> {
  const signal = AbortSignal.timeout(opts.timeoutMs);
  let waiting = '';
  try {
    await waitReady({ api: opts.api, core: opts.core, service, objects, signal, onWaiting: (m) => { waiting = m; } });
  } catch (err) {
    if (!signal.aborted) throw err;
    throw new DevloopError(`not ready within ${Math.round(opts.timeoutMs / 1000)}s${waiting ? `: ${waiting}` : ''}`, { code: 'RELEASE_TIMEOUT', service, hint: 'raise --timeout, or see the pods\' events' });
  }
}

export async function timed(step: StepRecord['step'], fn: () => Promise<void>): Promise<StepRecord> {
  const startedAt = new Date();
  try {
    await fn();
    return { step, startedAt: startedAt.toISOString(), ms: Date.now() - startedAt.getTime() };
  } catch (err) {
    return { step, startedAt: startedAt.toISOString(), ms: Date.now() - startedAt.getTime(), error: err instanceof Error ? err.message : String(err) };
  }
}

export function quiet(opts: RunOptions): Logger {
  return { info: () => undefined, warn: (m) => opts.log(m), error: (m) => opts.log(m), output: () => undefined };
}
