/**
 * `devloop release --env ENV`: ships the environment's GKE objects (the production render,
 * plugins/production/render.ts) to the environment's kube context, by a rolling update or a canary
 * by replicas with a gate between steps (plugins/release/), and records each release under
 * `.devloop/releases/`. `release history` lists the records; `release rollback` re-applies the
 * images of the successful release before the current one.
 *
 * Images: a service with a `build` is released from a pushed image by digest: `--image
 * svc=REGISTRY/NAME@sha256:...`, else, for a docker build, the one plugins/release/build.ts builds
 * and pushes to `environments.<env>.registry`.
 */
import { createInterface } from 'node:readline/promises';
import type { LoadedDevfile } from '../../core/devfile/load.js';
import { DevloopError } from '../../core/errors.js';
import type { K8sObject } from '../../plugins/kubernetes/manifests.js';
import { BURST_REQUESTS } from '../../plugins/release/gate.js';
import { canaryReplicas, parseImages, parseRatio, parseSteps, parseStrategy, type Strategy } from '../../plugins/release/plan.js';
import { readRecords, releaseId, writeRecord, type Outcome, type ReleaseRecord } from '../../plugins/release/record.js';
import type { ServicePlan } from '../../plugins/release/run.js';
import { EXIT, load, parseDuration, type GlobalOptions } from '../shared.js';

export interface ReleaseOptions {
  services: string[];
  strategy?: string;
  steps?: string;
  maxErrorRatio?: string;
  dryRun?: boolean;
  yes?: boolean;
  images: string[];
  timeout: string;
  /** `cloudrun`: bin/commands/release-cloudrun.ts; else GKE. */
  target?: string;
  /** Cloud Run: `gcloud` or `simulator`. */
  via?: string;
  /** Cloud Run via the simulator: the YAML the session serves. */
  serviceFile?: string;
  /** Cloud Run: how long each traffic step holds before its gate. */
  stepWait?: string;
}

export async function release(opts: GlobalOptions, o: ReleaseOptions): Promise<number> {
  if (o.target === 'cloudrun') return (await import('./release-cloudrun.js')).releaseCloudRun(opts, o);
  const strategy = parseStrategy(o.strategy);
  const steps = parseSteps(o.steps);
  const maxErrorRatio = parseRatio(o.maxErrorRatio);
  const timeoutMs = parseDuration(o.timeout, '--timeout');
  const loaded = await load(opts, 'release');
  (await import('../../plugins/production/render.js')).requireEnvironment(loaded, opts.env);
  const images = parseImages(o.images, loaded.config.services, loaded.file);
  // A docker build without --image is built and pushed here (plugins/release/build.ts), for the services released only.
  const { releaseBuilds, describeBuild, buildAndPush } = await import('../../plugins/release/build.js');
  const names = Object.keys(loaded.config.services).sort().filter((n) => !o.services.length || o.services.includes(n));
  const candidates = releaseBuilds(loaded.config, opts.env, names, images, loaded.file);
  let plans = await planServices(opts, loaded, images, o.services, new Set(candidates.map((b) => b.service)));
  const builds = candidates.filter((b) => plans.some((p) => p.name === b.service));
  if (o.dryRun) {
    for (const b of builds) (opts.output === 'json' ? process.stderr : process.stdout).write(`${describeBuild(b)}\n`);
    return printPlan(opts, loaded, plans, strategy, steps, maxErrorRatio);
  }
  if (builds.length) {
    for (const [name, ref] of await buildAndPush(loaded.dir, loaded.config, opts.env, builds, (line) => process.stderr.write(`release: ${line}\n`))) images.set(name, ref);
    plans = await planServices(opts, loaded, images, o.services);
  }
  return execute(opts, loaded, plans, { strategy, steps, maxErrorRatio, timeoutMs, yes: !!o.yes });
}

/** The rendered objects of each service to release; a service built from source needs its pushed image. */
async function planServices(opts: GlobalOptions, loaded: LoadedDevfile, images: Map<string, string>, only: string[], building = new Set<string>()): Promise<ServicePlan[]> {
  const cfg = loaded.config;
  for (const name of only) {
    if (!cfg.services[name]) throw new DevloopError(`no service named "${name}" in ${loaded.file}`, { code: 'UNKNOWN_SERVICE', exitCode: 2, hint: `services are: ${Object.keys(cfg.services).join(', ') || '(none)'}` });
  }
  const { renderProductionWithNotes } = await import('../../plugins/production/render.js');
  const { files, notes } = await renderProductionWithNotes(loaded, { env: opts.env, target: 'gke', images });
  const plans: ServicePlan[] = [];
  for (const name of Object.keys(cfg.services).sort()) {
    if (only.length && !only.includes(name)) continue;
    const svc = cfg.services[name];
    const file = files.find((f) => f.path === `gke/${name}.yaml`);
    const objects = (file?.objects ?? []) as K8sObject[];
    const deployment = objects.find((x) => x.kind === 'Deployment');
    if (!deployment) {
      if (only.includes(name)) throw new DevloopError(`${name}: nothing to release: the production render gives it no Deployment`, { code: 'RELEASE_NOTHING', exitCode: 2, hint: notes.find((n) => n.startsWith(`${name}:`)) ?? 'devloop render --env ENV --target gke shows what it renders' });
      continue;
    }
    if (svc.build && !images.has(name) && !building.has(name)) {
      throw new DevloopError(`${name} is built from source, and has no pushed image`, {
        code: 'RELEASE_NO_IMAGE', exitCode: 2, service: name,
        hint: `push the image and pass it by digest: devloop release --env ${opts.env} --image ${name}=REGISTRY/${name}@sha256:...`,
      });
    }
    const image = (deployment as any).spec.template.spec.containers[0].image as string;
    const health = svc.health && 'http' in svc.health ? svc.health.http : '/';
    plans.push({ name, namespace: deployment.metadata.namespace ?? 'default', image, objects, deployment, gatePath: health });
  }
  if (!plans.length) throw new DevloopError(`nothing to release in environment "${opts.env}"`, { code: 'RELEASE_NOTHING', exitCode: 2, hint: 'services with a build or an image and no k8s manifests of their own are released; devloop render --target gke shows them' });
  return plans;
}

function printPlan(opts: GlobalOptions, loaded: LoadedDevfile, plans: ServicePlan[], strategy: Strategy, steps: number[], maxErrorRatio: number): number {
  const cfg = loaded.config;
  // As clusterFor picks it; the dry run reads no kubeconfig.
  const context = opts.context ?? cfg.environments?.[opts.env]?.kubeContext ?? cfg.kubernetes?.context ?? '(the kubeconfig\'s current context)';
  const planned = plans.map((p) => {
    const replicas = (p.deployment as any).spec.replicas ?? 1;
    const canary = strategy === 'canary'
      ? canaryReplicas(steps, replicas).map((n, i) => ({ percent: steps[i], canaryReplicas: n, gate: `canary pods Ready with no restarts; error ratio of ${BURST_REQUESTS} requests to ${p.gatePath} <= ${maxErrorRatio}, sent to the new pods before they join the Service` }))
      : [];
    const last = strategy === 'blue-green'
      ? [
        { step: 'new side', what: `run the new image as the other color (${p.deployment.metadata.name} or ${p.deployment.metadata.name}-green, label devloop.dev/release-color) with as many replicas, outside the Service; gate: pods Ready with no restarts; error ratio of ${BURST_REQUESTS} requests to ${p.gatePath} <= ${maxErrorRatio}` },
        { step: 'switch', what: 'one patch of the Service\'s selector to the new color, checked through the Service (its endpoints, then 10 requests); switched back if that fails' },
        { step: 'retire', what: 'the old side scaled to 0 and kept for release rollback' },
      ]
      : [{ step: strategy === 'canary' ? 'promote' : 'rollout', what: `apply ${p.objects.length} objects, wait for deployment/${p.deployment.metadata.name}` }];
    return { service: p.name, namespace: p.namespace, image: p.image, objects: p.objects.map((x) => `${x.kind}/${x.metadata.name}`), steps: [...canary, ...last] };
  });
  if (opts.output === 'json') {
    process.stdout.write(`${JSON.stringify({ dryRun: true, env: opts.env, context, strategy, services: planned, objects: plans.flatMap((p) => p.objects) }, null, 2)}\n`);
    return EXIT.ok;
  }
  const lines = [`dry run: release to environment ${opts.env}, context ${context}, strategy ${strategy} (nothing is changed)`];
  for (const p of planned) {
    lines.push(`${p.service} (namespace ${p.namespace}): ${p.image}`, `  objects: ${p.objects.join(', ')}`);
    for (const s of p.steps) lines.push('percent' in s ? `  step ${s.percent}%: ${s.canaryReplicas} canary pod(s); gate: ${s.gate}` : `  ${s.step}: ${s.what}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}

interface ExecOptions { strategy: Strategy; steps: number[]; maxErrorRatio: number; timeoutMs: number; yes: boolean; rollbackOf?: string }

async function execute(opts: GlobalOptions, loaded: LoadedDevfile, plans: ServicePlan[], x: ExecOptions): Promise<number> {
  const target = await clusterFor(opts, loaded, x.yes);
  const [{ timedApis }, { runRelease }] = await Promise.all([import('../../plugins/kubernetes/client.js'), import('../../plugins/release/run.js')]);
  const apis = await timedApis(target.kc, 15_000);
  const started = new Date();
  const log = (line: string) => process.stderr.write(`release: ${line}\n`);
  log(`${x.strategy} release of ${plans.map((p) => p.name).join(', ')} to environment ${opts.env} (context ${target.context})`);
  const services = await runRelease({ kc: target.kc, api: apis.objects, core: apis.core, strategy: x.strategy, steps: x.steps, maxErrorRatio: x.maxErrorRatio, timeoutMs: x.timeoutMs, log }, plans);
  const failed = services.find((s) => s.outcome !== 'succeeded');
  const outcome: Outcome = failed ? (failed.outcome === 'not-started' ? 'failed' : failed.outcome) : 'succeeded';
  const record: ReleaseRecord = {
    id: releaseId(started, opts.env), env: opts.env, context: target.context, strategy: x.strategy,
    ...(x.strategy === 'canary' ? { steps: x.steps, maxErrorRatio: x.maxErrorRatio } : {}),
    ...(x.rollbackOf ? { rollbackOf: x.rollbackOf } : {}),
    startedAt: started.toISOString(), finishedAt: new Date().toISOString(), ms: Date.now() - started.getTime(),
    outcome, ...(failed?.reason ? { reason: `${failed.name}: ${failed.reason}` } : {}), services,
  };
  const file = writeRecord(loaded.dir, record);
  if (opts.output === 'json') process.stdout.write(`${JSON.stringify({ ...record, file }, null, 2)}\n`);
  else {
    for (const s of services) process.stdout.write(`${s.name}: ${s.outcome}${s.outcome === 'succeeded' ? `, now ${s.image}` : s.previousImage ? `, still ${s.previousImage}` : ''} (${s.steps.map((st) => `${st.step}${typeof st.step === 'number' ? '%' : ''} ${(st.ms / 1000).toFixed(1)}s`).join(', ')})\n`);
    process.stdout.write(`release ${record.id}: ${outcome} in ${(record.ms / 1000).toFixed(1)}s; record ${file}\n`);
  }
  if (!failed) return EXIT.ok;
  if (opts.output === 'json') { process.stderr.write(`error: ${record.reason}\n`); return EXIT.failed; }
  throw new DevloopError(record.reason ?? 'the release failed', { code: 'RELEASE_FAILED', hint: `the record is ${file}; devloop release history --env ${opts.env} lists releases` });
}

/**
 * The kube context (--context, else environments.<env>.kubeContext, else kubernetes.context, else
 * the kubeconfig's current one) and whether a release may change it: a local one always; another
 * only when the environment's allowKubeContexts or kubernetes.allowContexts lists it, and then only
 * after a yes (`--yes` where nobody can answer).
 */
async function clusterFor(opts: GlobalOptions, loaded: LoadedDevfile, yes: boolean) {
  const { pickContext, notAllowedError } = await import('../../plugins/kubernetes/context.js');
  const cfg = loaded.config;
  const env = cfg.environments?.[opts.env];
  const devfile = { ...cfg, kubernetes: { ...cfg.kubernetes, context: opts.context ? undefined : env?.kubeContext ?? cfg.kubernetes?.context } };
  const picked = await pickContext(devfile);
  if (picked.local) return picked;
  if (!(env?.allowKubeContexts ?? []).includes(picked.context) && !picked.allowed) {
    const err = notAllowedError(picked, undefined, `release environment ${opts.env}`);
    throw new DevloopError(err.message, { code: err.code, hint: `if that cluster is environment ${opts.env}'s, add it to Devfile.ts: environments: { ${opts.env}: { allowKubeContexts: ['${picked.context}'] } }` });
  }
  if (yes) return picked;
  if (!process.stdin.isTTY) {
    throw new DevloopError(`releasing to the non-local context "${picked.context}" needs a confirmation, and stdin is not a terminal`, { code: 'RELEASE_NOT_CONFIRMED', exitCode: 2, hint: 'pass --yes to confirm, or --dry-run to see the plan first' });
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`release environment ${opts.env} to kube context "${picked.context}" (${picked.server})? [y/N] `);
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new DevloopError('release not confirmed', { code: 'RELEASE_NOT_CONFIRMED', exitCode: 1, hint: 'answer y, or pass --yes' });
  return picked;
}

export async function releaseHistory(opts: GlobalOptions, envFilter: string | undefined): Promise<number> {
  const { projectDir } = await import('../shared.js');
  const records = readRecords(await projectDir(opts), envFilter);
  if (opts.output === 'json') { process.stdout.write(`${JSON.stringify(records, null, 2)}\n`); return EXIT.ok; }
  if (!records.length) { process.stdout.write(`no releases${envFilter ? ` of environment ${envFilter}` : ''} yet\n`); return EXIT.ok; }
  const rows = [['RELEASE', 'ENV', 'STRATEGY', 'SERVICES', 'OUTCOME', 'TOOK'], ...records.map((r) => [
    r.id, r.env, `${r.strategy}${(r as { target?: string }).target === 'cloudrun' ? ' (cloudrun)' : ''}${r.rollbackOf ? ' (rollback)' : ''}`,
    r.services.map((s) => `${s.name}@${s.image.split('@sha256:')[1]?.slice(0, 12) ?? s.image}`).join(' '), r.outcome, `${(r.ms / 1000).toFixed(1)}s`,
  ])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  process.stdout.write(rows.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n');
  return EXIT.ok;
}

/** Re-applies, rolling, the images of the successful release before the newest successful one. */
export async function releaseRollback(opts: GlobalOptions, service: string | undefined, o: { yes?: boolean; timeout: string }): Promise<number> {
  const timeoutMs = parseDuration(o.timeout, '--timeout');
  const loaded = await load(opts, 'release');
  const ok = readRecords(loaded.dir, opts.env).filter((r) => r.outcome === 'succeeded' && (!service || r.services.some((s) => s.name === service && s.outcome === 'succeeded')));
  if (ok.length < 2) {
    throw new DevloopError(`no earlier successful release of ${service ?? 'environment'} ${service ? `in ${opts.env}` : opts.env} to roll back to (${ok.length} successful in .devloop/releases)`, { code: 'RELEASE_NOTHING_TO_ROLL_BACK', exitCode: 2, hint: `devloop release history --env ${opts.env} lists them` });
  }
  const to = ok[ok.length - 2];
  const images = new Map(to.services.filter((s) => !service || s.name === service).map((s) => [s.name, s.image]));
  const plans = (await planServices(opts, loaded, images, [...images.keys()]));
  process.stderr.write(`release: rolling back to the images of release ${to.id}\n`);
  // A blue-green release is undone blue-green: its old side is the standby at 0 replicas on those images, scaled up and switched back to.
  const blueGreen = ok[ok.length - 1].strategy === 'blue-green';
  return execute(opts, loaded, plans, { strategy: blueGreen ? 'blue-green' : 'rolling', steps: [], maxErrorRatio: blueGreen ? parseRatio(undefined) : 0, timeoutMs, yes: !!o.yes, rollbackOf: to.id });
}
