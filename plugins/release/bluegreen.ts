/**
 * `devloop release --strategy blue-green`: two Deployments, one per color, and the Service
 * selecting one of them by the pod label `devloop.dev/release-color` (plan.ts sideDeployment: blue
 * is the rendered Deployment, green is `<name>-green`). Each release goes to the other color:
 *
 * 1. prepare (only the first time on a Service that does not select by color yet, e.g. after
 *    rolling releases): the serving Deployment's template gets `color: blue` (a rolling update of
 *    the same version, its pods serve throughout), then the Service's selector gets `color: blue`.
 * 2. new-side: the new image as the other color, with as many replicas as the serving side. Its
 *    pods carry every label the Service selects except the color it selects, so no user request
 *    reaches them; gated like a canary (gate.ts: Ready without restarts, then a burst straight to
 *    its pods). A failed gate deletes the new side (or puts a standby Deployment back as it was, at
 *    0 replicas): the Service never pointed at it.
 * 3. switch: one JSON merge patch of the Service's spec.selector to the new color; verified through
 *    the Service: its endpoints become exactly the new pods, then a short burst through the API
 *    server's Service proxy. A failed check switches back.
 * 4. retire: the old side is scaled to 0, not deleted: releasing its image again (`release
 *    rollback`) scales it up with its template unchanged, gates it and switches back, with no
 *    image pull or new template.
 *
 * A service with no Deployment yet is installed (rolling) as the blue side with the Service
 * selecting blue. Once a Service selects by color, rolling and canary releases of it are refused
 * (run.ts): they would update the blue Deployment's template without the color.
 */
import { DevloopError } from '../../core/errors.js';
import { apiError, applyAll } from '../kubernetes/apply.js';
import type { K8sObject } from '../kubernetes/manifests.js';
import { podHealth, runGate } from './gate.js';
import { COLOR_LABEL, imageOfDeployment, otherColor, sideDeployment, sideName, type Color } from './plan.js';
import type { ServiceRecord, StepRecord } from './record.js';
import { quiet, readLive, ready, rolling, selectorText, timed, type RunOptions, type ServicePlan } from './run.js';

type Live = K8sObject & { spec?: any; status?: any };

const VERIFY_REQUESTS = 10;

/** Whether the live Service of this plan selects by color: it has been released blue-green. */
export async function coloredService(opts: RunOptions, plan: ServicePlan): Promise<boolean> {
  const svc = plan.objects.find((o) => o.kind === 'Service');
  if (!svc) return false;
  const live = await readLive(opts.api, svc) as Live | undefined;
  return !!live?.spec?.selector?.[COLOR_LABEL];
}

export async function blueGreen(opts: RunOptions, plan: ServicePlan, live: Live | undefined, rec: ServiceRecord): Promise<void> {
  const svc = plan.objects.find((o) => o.kind === 'Service') as Live | undefined;
  if (!svc) {
    rec.outcome = 'failed';
    rec.reason = 'blue-green switches a Service\'s selector, and the production render gives this service no Service (no port): release it with --strategy rolling';
    return;
  }
  const svcLive = await readLive(opts.api, svc) as Live | undefined;
  const replicasOf = (d: Live | undefined) => Math.max(1, d?.spec?.replicas ?? (plan.deployment as Live).spec.replicas ?? 1);
  if (!live || !svcLive) return install(opts, plan, svc, rec);

  let from = svcLive.spec?.selector?.[COLOR_LABEL] as Color | undefined;
  const to = otherColor(from);
  const fromName = sideName(plan.deployment, from ?? 'blue');
  const toName = sideName(plan.deployment, to);
  const fromLive = from === 'green' ? await readLive(opts.api, side(plan, fromName)) : live;
  if (!fromLive?.spec?.template) {
    rec.outcome = 'failed';
    rec.reason = `Service ${svc.metadata.name} selects ${COLOR_LABEL}=${from}, and its Deployment ${fromName} is missing: nothing serves to switch from; nothing was changed`;
    return;
  }
  rec.previousImage = imageOfDeployment(fromLive);
  rec.previousTemplate = fromLive.spec.template;
  rec.colors = { ...(from ? { from } : {}), to, fromDeployment: fromName, toDeployment: toName };
  const replicas = replicasOf(fromLive);
  let fromTemplate = fromLive.spec.template;

  if (!from) {
    opts.log(`${plan.name}: Service ${svc.metadata.name} does not select by color yet: labelling deployment/${fromName}'s pods ${COLOR_LABEL}=blue (a rolling update of the same version), then the selector`);
    const blue = sideDeployment(plan.deployment, 'blue', fromTemplate, replicas);
    const step = await timed('prepare', async () => {
      await applyAll(opts.api, [{ object: blue, source: `blue side of ${plan.name}` }], plan.name, AbortSignal.timeout(opts.timeoutMs));
      await ready(opts, plan.name, [blue]);
      await patchSelector(opts, svc, 'blue');
    });
    rec.steps.push(step);
    if (step.error) { rec.outcome = 'failed'; rec.reason = `preparing the blue side failed: ${step.error}`; return; }
    from = 'blue';
    rec.colors.from = 'blue';
    fromTemplate = (blue as Live).spec.template;
  }

  // A standby side already on this image (what `release rollback` asks for) is scaled up as it is.
  const toLive = await readLive(opts.api, side(plan, toName));
  const standby = toLive?.metadata?.labels?.[COLOR_LABEL] === to ? toLive : undefined;
  const reuse = standby && imageOfDeployment(standby) === plan.image;
  const newSide = sideDeployment(plan.deployment, to, reuse ? standby.spec.template : (plan.deployment as Live).spec.template, replicas);
  const selector = { ...svcLive.spec.selector, [COLOR_LABEL]: to };
  const port = svc.spec?.ports?.[0]?.targetPort ?? svc.spec?.ports?.[0]?.port;
  const others = plan.objects.filter((o) => o.kind !== 'Deployment' && o.kind !== 'Service');
  opts.log(`${plan.name}: ${to} side deployment/${toName}: ${replicas} pod(s) of ${plan.image}${reuse ? ' (the standby, scaled up as it is)' : ''}, outside Service ${svc.metadata.name} (it selects ${from})`);
  let gate: StepRecord['gate'];
  const step = await timed('new-side', async () => {
    await applyAll(opts.api, [...others, newSide].map((object) => ({ object, source: `${to} side of ${plan.name}` })), plan.name, AbortSignal.timeout(opts.timeoutMs));
    await ready(opts, plan.name, [newSide]);
    if (port === undefined) return;
    const sel = selectorText(selector);
    gate = await runGate(opts.kc, opts.core, { namespace: plan.namespace, canary: sel, isolated: sel, port, path: plan.gatePath, maxErrorRatio: opts.maxErrorRatio }, quiet(opts));
  });
  rec.steps.push({ ...step, replicas, ...(gate ? { gate } : {}) });
  const failed = step.error ?? (gate && !gate.passed ? gate.reason : undefined);
  if (failed) {
    rec.reason = `the ${to} side failed its gate: ${failed}`;
    opts.log(`${plan.name}: ${rec.reason}; ${standby ? 'putting the standby back at 0 replicas' : `deleting deployment/${toName}`} (Service still selects ${from})`);
    await removeSide(opts, plan, to, toName, standby);
    rec.outcome = 'rolled-back';
    return;
  }
  opts.log(`${plan.name}: gate passed${gate ? ` (${gate.errors}/${gate.requests} errors on ${gate.path})` : ''}; switching Service ${svc.metadata.name} to ${to}`);

  const switched = await timed('switch', async () => {
    await patchSelector(opts, svc, to);
    await verify(opts, plan, svc, selector);
  });
  rec.steps.push(switched);
  if (switched.error) {
    rec.reason = `switching Service ${svc.metadata.name} to ${to} failed: ${switched.error}`;
    opts.log(`${plan.name}: ${rec.reason}; switching back to ${from}`);
    await patchSelector(opts, svc, from);
    await removeSide(opts, plan, to, toName, standby);
    rec.outcome = 'rolled-back';
    return;
  }

  // Scaled to 0 with its template unchanged: kept as the standby a rollback scales up again.
  const old = sideDeployment(plan.deployment, from, fromTemplate, 0);
  const retire = await timed('retire', async () => {
    await applyAll(opts.api, [{ object: old, source: `${from} side of ${plan.name}` }], plan.name, AbortSignal.timeout(opts.timeoutMs));
  });
  rec.steps.push(retire);
  opts.log(`${plan.name}: Service ${svc.metadata.name} selects ${to} (${plan.image}); deployment/${fromName} scaled to 0 as the standby`);
  if (retire.error) {
    rec.outcome = 'failed';
    rec.reason = `the ${to} side serves ${plan.image}, but scaling deployment/${fromName} to 0 failed: ${retire.error}`;
    return;
  }
  rec.outcome = 'succeeded';
}

/** First install: the rendered objects with the Deployment as the blue side and the Service selecting blue. */
async function install(opts: RunOptions, plan: ServicePlan, svc: Live, rec: ServiceRecord): Promise<void> {
  opts.log(`${plan.name}: no Deployment ${plan.deployment.metadata.name} or Service in ${plan.namespace} yet: installed as the blue side with a rolling update`);
  const blue = sideDeployment(plan.deployment, 'blue', (plan.deployment as Live).spec.template, (plan.deployment as Live).spec.replicas ?? 1);
  const service = { ...svc, spec: { ...svc.spec, selector: { ...svc.spec.selector, [COLOR_LABEL]: 'blue' } } };
  const objects = plan.objects.map((o) => (o === plan.deployment ? blue : o === svc ? service : o));
  rec.colors = { to: 'blue', toDeployment: blue.metadata.name };
  await rolling(opts, { ...plan, objects, deployment: blue }, undefined, rec);
}

const side = (plan: ServicePlan, name: string) => ({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: plan.namespace } }) as K8sObject;

/** One JSON merge patch of the Service's selector: only the color key changes. */
async function patchSelector(opts: RunOptions, svc: Live, color: Color): Promise<void> {
  const { PatchStrategy } = await import('@kubernetes/client-node');
  const patch = { apiVersion: 'v1', kind: 'Service', metadata: { name: svc.metadata.name, namespace: svc.metadata.namespace }, spec: { selector: { [COLOR_LABEL]: color } } };
  try {
    await opts.api.patch(patch, undefined, undefined, 'devloop', undefined, PatchStrategy.MergePatch);
  } catch (err) {
    throw new DevloopError(`cannot switch Service ${svc.metadata.name} to ${COLOR_LABEL}=${color}: ${apiError(err).message}`, { code: 'RELEASE_SWITCH', hint: 'devloop needs "patch" on services in the namespace' });
  }
}

/**
 * Through the Service: its endpoints are exactly the new side's Ready pods (the old ones have left
 * it), then a short burst through the API server's Service proxy answers 2xx every time.
 */
async function verify(opts: RunOptions, plan: ServicePlan, svc: Live, selector: Record<string, string>): Promise<void> {
  const namespace = plan.namespace;
  const deadline = Date.now() + Math.min(opts.timeoutMs, 60_000);
  let seen = '';
  let want = '';
  for (;;) {
    want = (await podHealth(opts.core, namespace, selectorText(selector))).names.join(' ');
    const ep = await opts.core.readNamespacedEndpoints({ name: svc.metadata.name, namespace });
    seen = (ep.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.targetRef?.name ?? a.ip)).sort().join(' ');
    if (want && seen === want) break;
    if (Date.now() > deadline) throw new DevloopError(`Service ${svc.metadata.name}'s endpoints are [${seen}], not the new pods [${want}]`, { code: 'RELEASE_SWITCH', hint: 'see kubectl get endpoints and the pods\' labels' });
    await new Promise((r) => setTimeout(r, 200));
  }
  const p = svc.spec?.ports?.[0];
  if (!p) return;
  const name = `${svc.metadata.name}:${p.name ?? p.port}`;
  for (let i = 0; i < VERIFY_REQUESTS; i++) {
    try {
      await opts.core.connectGetNamespacedServiceProxyWithPath({ name, namespace, path: plan.gatePath.replace(/^\//, '') });
    } catch (err) {
      throw new DevloopError(`request ${i + 1} of ${VERIFY_REQUESTS} to ${plan.gatePath} through Service ${svc.metadata.name} failed: ${apiError(err).message}`, { code: 'RELEASE_SWITCH', hint: 'the Service is switched back; see the new pods\' logs' });
    }
  }
}

/** A failed new side: a standby goes back to its template at 0 replicas (a rollback still has it), a new one is deleted. */
async function removeSide(opts: RunOptions, plan: ServicePlan, color: Color, name: string, standby: Live | undefined): Promise<void> {
  if (standby) {
    const back = sideDeployment(plan.deployment, color, standby.spec.template, 0);
    await applyAll(opts.api, [{ object: back, source: `${color} side of ${plan.name}` }], plan.name, AbortSignal.timeout(opts.timeoutMs));
    return;
  }
  // The rendered Deployment (blue) is never deleted here: it only is a new side as a standby.
  if (name === plan.deployment.metadata.name) return;
  try {
    // To 0 first: the ReplicaSet removes the pods at once (see run.ts deleteCanary).
    await applyAll(opts.api, [{ object: sideDeployment(plan.deployment, color, (plan.deployment as Live).spec.template, 0), source: `${color} side of ${plan.name}` }], plan.name, AbortSignal.timeout(opts.timeoutMs));
    await opts.api.delete(side(plan, name), undefined, undefined, undefined, undefined, 'Background');
  } catch (err) {
    if (apiError(err).code !== 404) throw err;
  }
}
