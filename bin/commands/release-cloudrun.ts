/**
 * `devloop release --env ENV --target cloudrun`: each service's Cloud Run YAML (the production
 * render) released by revisions and traffic steps with a gate through the new revision's tag URL
 * (plugins/release/cloudrun*.ts), by gcloud or, with `--via simulator`, against a running
 * `devloop cloudrun replace FILE` session standing in for production. Recorded like a GKE release
 * (target cloudrun), so `release history` lists it.
 */
import { createInterface } from 'node:readline/promises';
import { stringify } from 'yaml';
import { DevloopError } from '../../core/errors.js';
import { BURST_REQUESTS } from '../../plugins/release/gate.js';
import { CANDIDATE_TAG, candidateService, gcloudReplace, gcloudUpdateTraffic, revisionName, shellLine, stepSplit } from '../../plugins/release/cloudrun.js';
import { parseImages, parseRatio, parseSteps } from '../../plugins/release/plan.js';
import { releaseId, writeRecord, type Outcome, type ReleaseRecord } from '../../plugins/release/record.js';
import { EXIT, load, parseDuration, type GlobalOptions } from '../shared.js';
import type { ReleaseOptions } from './release.js';

export const VIAS = ['gcloud', 'simulator'] as const;

interface Planned { name: string; image: string; rendered: object; gatePath: string }

export async function releaseCloudRun(opts: GlobalOptions, o: ReleaseOptions): Promise<number> {
  const steps = parseSteps(o.steps);
  const maxErrorRatio = parseRatio(o.maxErrorRatio);
  const timeoutMs = parseDuration(o.timeout, '--timeout');
  const stepWaitMs = parseDuration(o.stepWait ?? '0s', '--step-wait');
  if (o.via !== undefined && !(VIAS as readonly string[]).includes(o.via)) throw new DevloopError(`unknown --via "${o.via}"`, { code: 'BAD_FLAGS', exitCode: 2, hint: `--via is one of ${VIAS.join(', ')}` });
  const loaded = await load(opts, 'release');
  (await import('../../plugins/production/render.js')).requireEnvironment(loaded, opts.env);
  const cfg = loaded.config;
  const images = parseImages(o.images, cfg.services, loaded.file);
  // A docker build without --image is built and pushed after the confirmation (plugins/release/build.ts).
  const { releaseBuilds, describeBuild, buildAndPush } = await import('../../plugins/release/build.js');
  const candidates = releaseBuilds(cfg, opts.env, Object.keys(cfg.services).sort().filter((n) => !o.services.length || o.services.includes(n)), images, loaded.file);
  const { renderProductionWithNotes } = await import('../../plugins/production/render.js');
  const { files, notes } = await renderProductionWithNotes(loaded, { env: opts.env, target: 'cloudrun', images });
  const planned: Planned[] = [];
  for (const name of Object.keys(cfg.services).sort()) {
    if (o.services.length && !o.services.includes(name)) continue;
    const svc = cfg.services[name];
    const rendered = files.find((f) => f.path === `cloudrun/${name}.service.yaml`)?.objects[0];
    if (!rendered) {
      if (o.services.includes(name)) throw new DevloopError(`${name}: nothing to release: the production render gives it no Cloud Run service`, { code: 'RELEASE_NOTHING', exitCode: 2, hint: notes.find((n) => n.startsWith(`${name}:`)) ?? 'devloop render --env ENV --target cloudrun shows what it renders' });
      continue;
    }
    if (svc.build && !images.has(name) && !candidates.some((b) => b.service === name)) {
      throw new DevloopError(`${name} is built from source, and has no pushed image`, { code: 'RELEASE_NO_IMAGE', exitCode: 2, service: name, hint: `push the image and pass it by digest: devloop release --env ${opts.env} --target cloudrun --image ${name}=REGISTRY/${name}@sha256:...` });
    }
    planned.push({ name, image: images.get(name) ?? String((rendered as any).spec.template.spec.containers[0].image), rendered, gatePath: svc.health && 'http' in svc.health ? svc.health.http : '/' });
  }
  if (!planned.length) throw new DevloopError(`nothing to release to Cloud Run in environment "${opts.env}"`, { code: 'RELEASE_NOTHING', exitCode: 2, hint: 'devloop render --env ENV --target cloudrun shows the services it renders' });
  const { gcloudOnPath } = await import('../../plugins/release/cloudrun-runners.js');
  const via = (o.via ?? (gcloudOnPath() ? 'gcloud' : undefined)) as (typeof VIAS)[number] | undefined;
  if (!via && !o.dryRun) throw new DevloopError('gcloud is not on PATH: a Cloud Run release needs it', { code: 'RELEASE_NO_GCLOUD', exitCode: 2, hint: 'install the Google Cloud CLI, or release against a local devloop cloudrun replace session with --via simulator' });
  if (via === 'simulator' && planned.length > 1) throw new DevloopError(`--via simulator releases one service, and ${planned.length} are rendered (${planned.map((p) => p.name).join(', ')})`, { code: 'USAGE', exitCode: 2, hint: 'name the one the session serves: devloop release SERVICE --via simulator ...' });
  const env = cfg.environments?.[opts.env];
  const started = new Date();
  const builds = candidates.filter((b) => planned.some((p) => p.name === b.service));
  if (o.dryRun) for (const b of builds) (opts.output === 'json' ? process.stderr : process.stdout).write(`${describeBuild(b)}\n`);
  if (o.dryRun) return printPlan(opts, planned, { via: via ?? 'gcloud', steps, stepWaitMs, maxErrorRatio, started, region: env?.region ?? 'REGION', project: env?.project ?? 'PROJECT' });
  if (via === 'gcloud' && !o.yes) await confirm(`release environment ${opts.env} to Cloud Run project ${env?.project}, region ${env?.region}?`);
  if (builds.length) {
    const built = await buildAndPush(loaded.dir, cfg, opts.env, builds, (line) => process.stderr.write(`release: ${line}\n`));
    for (const [name, ref] of built) images.set(name, ref);
    // Rendered again with the pushed digests in place of the placeholders.
    const again = (await renderProductionWithNotes(loaded, { env: opts.env, target: 'cloudrun', images })).files;
    for (const p of planned) if (built.has(p.name)) Object.assign(p, { image: built.get(p.name), rendered: again.find((f) => f.path === `cloudrun/${p.name}.service.yaml`)!.objects[0] });
  }

  const { assertGcloudTarget, releaseCloudRunService } = await import('../../plugins/release/cloudrun-run.js');
  const { gcloudRunner, simulatorRunner } = await import('../../plugins/release/cloudrun-runners.js');
  const log = (line: string) => process.stderr.write(`release: ${line}\n`);
  const services: ReleaseRecord['services'] = [];
  let where = '';
  for (const p of planned) {
    if (services.some((s) => s.outcome !== 'succeeded')) { services.push({ name: p.name, namespace: '', image: p.image, outcome: 'not-started', steps: [] }); continue; }
    const runner = via === 'simulator' ? await simulatorRunner(loaded.dir, p.name, o.serviceFile) : gcloudRunner({ service: p.name, ...assertGcloudTarget(p.name, opts.env, env) });
    where = runner.where;
    services.push(await releaseCloudRunService({ runner, service: p.name, image: p.image, rendered: p.rendered, revision: revisionName(p.name, started), steps, stepWaitMs, maxErrorRatio, gatePath: p.gatePath, timeoutMs, log }));
  }
  const failed = services.find((s) => s.outcome !== 'succeeded');
  const outcome: Outcome = failed ? failed.outcome : 'succeeded';
  const record: ReleaseRecord & { target: 'cloudrun'; via: string } = {
    id: releaseId(started, opts.env), env: opts.env, context: where, strategy: 'canary', target: 'cloudrun', via: via!, steps, maxErrorRatio,
    startedAt: started.toISOString(), finishedAt: new Date().toISOString(), ms: Date.now() - started.getTime(),
    outcome, ...(failed?.reason ? { reason: `${failed.name}: ${failed.reason}` } : {}), services,
  };
  const file = writeRecord(loaded.dir, record);
  if (opts.output === 'json') process.stdout.write(`${JSON.stringify({ ...record, file }, null, 2)}\n`);
  else {
    for (const s of services as Array<ReleaseRecord['services'][number] & { revision?: string; previousRevision?: string }>) {
      process.stdout.write(`${s.name}: ${s.outcome}${s.outcome === 'succeeded' ? `, 100% on ${s.revision}` : s.previousRevision ? `, 100% on ${s.previousRevision}` : ''} (${s.steps.map((st) => `${st.step}${typeof st.step === 'number' ? '%' : ''} ${(st.ms / 1000).toFixed(1)}s`).join(', ')})\n`);
    }
    process.stdout.write(`release ${record.id}: ${outcome} in ${(record.ms / 1000).toFixed(1)}s; record ${file}\n`);
  }
  if (!failed) return EXIT.ok;
  if (opts.output === 'json') { process.stderr.write(`error: ${record.reason}\n`); return EXIT.failed; }
  throw new DevloopError(record.reason ?? 'the release failed', { code: 'RELEASE_FAILED', hint: `the record is ${file}; devloop release history --env ${opts.env} lists releases` });
}

function printPlan(opts: GlobalOptions, planned: Planned[], x: { via: string; steps: number[]; stepWaitMs: number; maxErrorRatio: number; started: Date; region: string; project: string }): number {
  const PREVIOUS = 'PREVIOUS_REVISION';
  const out = planned.map((p) => {
    const revision = revisionName(p.name, x.started);
    const service = candidateService(p.rendered, revision, PREVIOUS);
    const t = { service: p.name, region: x.region, project: x.project };
    const gate = `error ratio of ${BURST_REQUESTS} requests to the ${CANDIDATE_TAG} tag URL + ${p.gatePath} <= ${x.maxErrorRatio}`;
    const steps = [
      { step: 'replace', traffic: `100% ${PREVIOUS}, 0% ${revision} (tag ${CANDIDATE_TAG})`, gate, ...(x.via === 'gcloud' ? { command: shellLine(gcloudReplace(t, `${p.name}.service.yaml`)) } : {}) },
      ...x.steps.map((pct) => { const split = stepSplit(revision, PREVIOUS, pct); return { step: `${pct}%`, traffic: split.map((s) => `${s.percent}% ${s.revision}`).join(', '), gate: `${x.stepWaitMs ? `after ${x.stepWaitMs / 1000} s, ` : ''}${gate}`, ...(x.via === 'gcloud' ? { command: shellLine(gcloudUpdateTraffic(t, split)) } : {}) }; }),
      { step: 'promote', traffic: `100% ${revision}, tag removed`, ...(x.via === 'gcloud' ? { command: shellLine(gcloudUpdateTraffic(t, [{ revision, percent: 100 }], { removeTag: true })) } : {}) },
    ];
    return { service: p.name, image: p.image, revision, yaml: stringify(service), steps };
  });
  if (opts.output === 'json') {
    process.stdout.write(`${JSON.stringify({ dryRun: true, env: opts.env, target: 'cloudrun', via: x.via, services: out }, null, 2)}\n`);
    return EXIT.ok;
  }
  const lines = [`dry run: release to environment ${opts.env} on Cloud Run via ${x.via} (nothing is changed); ${PREVIOUS} is the revision serving when it runs; on a failed gate: 100% back to it`];
  for (const s of out) {
    lines.push(`${s.service}: ${s.image} as revision ${s.revision}`, `--- ${s.service}.service.yaml`, s.yaml.trimEnd(), '---');
    for (const st of s.steps) lines.push(`  ${st.step}: ${st.traffic}${'gate' in st ? `; gate: ${st.gate}` : ''}${st.command ? `\n    $ ${st.command}` : ''}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}

async function confirm(question: string): Promise<void> {
  if (!process.stdin.isTTY) throw new DevloopError('a Cloud Run release through gcloud needs a confirmation, and stdin is not a terminal', { code: 'RELEASE_NOT_CONFIRMED', exitCode: 2, hint: 'pass --yes to confirm, or --dry-run to see the plan first' });
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const answer = await rl.question(`${question} [y/N] `);
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new DevloopError('release not confirmed', { code: 'RELEASE_NOT_CONFIRMED', exitCode: 1, hint: 'answer y, or pass --yes' });
}
