/**
 * `devloop cloudrun validate FILE...`: checks Knative Service YAML the way Cloud Run would, and
 * prints what each file deploys (or every problem, with file:line:col and field path).
 *
 * `devloop cloudrun replace FILE`: the local `gcloud run services replace`: serves the service
 * the YAML describes (its image, run as is) behind the Cloud Run simulator until Ctrl-C or
 * `devloop down`, applying the file again whenever it is saved: a changed template makes a new
 * revision, a changed traffic block moves traffic.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadedDevfile } from '../../core/devfile/load.js';
import type { DevfileConfig } from '../../core/devfile/types.js';
import { DevloopError } from '../../core/errors.js';
import { PLUGIN as CLOUD_RUN_PLUGIN } from '../../plugins/cloud-run/id.js';
import { parseServiceYaml } from '../../plugins/cloud-run/spec.js';
import type { CloudRunSpec, TrafficTarget } from '../../plugins/cloud-run/types.js';
import { findSession, request, sessionState } from '../../core/session/client.js';
import { sleep } from '../../plugins/shared/time.js';
import { EXIT, loadOrSession, reportError, type GlobalOptions } from '../shared.js';
import { up } from './up.js';

function readSpec(file: string, cwd: string): CloudRunSpec {
  const abs = path.resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new DevloopError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, {
      code: 'CLOUD_RUN_SPEC', exitCode: 2, hint: 'give the path of a Knative Service YAML (gcloud run services describe NAME --format export > service.yaml)',
    });
  }
  return parseServiceYaml(text, path.relative(cwd, abs) || file);
}

export async function cloudrunValidate(opts: Pick<GlobalOptions, 'output' | 'cwd' | 'color'>, files: string[]): Promise<number> {
  if (files.length === 0) throw new DevloopError('cloudrun validate needs at least one file', { code: 'USAGE', exitCode: 2, hint: 'devloop cloudrun validate service.yaml' });
  let failed = false;
  const results: unknown[] = [];
  for (const file of files) {
    try {
      const spec = readSpec(file, opts.cwd);
      results.push({ file, valid: true, spec });
      if (opts.output !== 'json') process.stdout.write(`${describeSpec(file, spec)}\n`);
    } catch (err) {
      failed = true;
      if (opts.output === 'json') results.push({ file, valid: false, error: err instanceof DevloopError ? err.toJSON() : String(err) });
      else reportError(err, opts);
    }
  }
  if (opts.output === 'json') process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  return failed ? EXIT.usage : EXIT.ok;
}

/** A short human summary of what a valid file deploys. */
export function describeSpec(file: string, spec: CloudRunSpec): string {
  const t = spec.template;
  const lines = [
    `${file}: service ${spec.name} is valid`,
    `  image        ${t.image ?? '(from the Devfile build)'}`,
    `  container    port ${t.port.containerPort} (${t.port.name}), ${t.cpuText} vCPU, ${t.memoryText}${t.executionEnvironment ? `, ${t.executionEnvironment}` : ''}`,
    `  requests     concurrency ${t.containerConcurrency}, timeout ${t.timeoutSeconds} s`,
    `  scaling      ${t.minScale}..${t.maxScale} instances, CPU ${t.cpuThrottling ? 'only during requests' : 'always allocated'}${t.startupCpuBoost ? ', startup boost' : ''}`,
    `  traffic      ${spec.traffic.map((x) => `${x.latestRevision ? 'latest' : x.revisionName} ${x.percent}%${x.tag ? ` (tag ${x.tag})` : ''}`).join(', ')}`,
  ];
  for (const n of spec.unsupported) lines.push(`  not simulated: ${n.line ? `line ${n.line}: ` : ''}${n.path}: ${n.message}`);
  return lines.join('\n');
}

export interface ReplaceOptions {
  port?: number;
  /** What each process instance runs (`--instances process`, or no Docker); containers run their image. */
  command?: string;
  instances?: 'auto' | 'docker' | 'process';
  preset?: 'dev' | 'parity';
}

export async function cloudrunReplace(opts: GlobalOptions, file: string, o: ReplaceOptions): Promise<number> {
  const abs = path.resolve(opts.cwd, file);
  const spec = readSpec(file, opts.cwd);
  if (!spec.template.image) {
    throw new DevloopError(`${file}: spec.template.spec.containers[0].image is not set`, {
      code: 'CLOUD_RUN_SPEC', exitCode: 2,
      hint: 'cloudrun replace runs the image the file names (build it first, e.g. docker build -t my-service .); to build from source, declare the service in Devfile.ts with cloudRun: { service: "' + file + '" }',
    });
  }
  const root = opts.cwd;
  const config: DevfileConfig = {
    name: path.basename(root),
    simulation: { cloudRun: { enabled: true, ...(o.instances ? { instances: o.instances } : {}), ...(o.preset ? { preset: o.preset } : {}) } },
    services: {
      [spec.name]: {
        image: spec.template.image, runtime: 'cloud-run', cloudRun: { service: path.relative(root, abs) }, src: path.relative(root, abs),
        ...(o.port ? { port: o.port } : {}), ...(o.command ? { command: o.command } : {}),
      },
    },
  };
  const loaded: LoadedDevfile = { file: abs, dir: root, config, dependencies: [abs], loadMs: 0 };
  return up(opts, { services: [] }, {
    loaded,
    command: `cloudrun replace ${file}`,
    async reload(engine) {
      // Re-read now so a broken save is reported at once (the running revision keeps serving).
      const next = readSpec(file, opts.cwd);
      if (next.name !== spec.name) {
        throw new DevloopError(`${file}: metadata.name changed from ${spec.name} to ${next.name}`, {
          code: 'CLOUD_RUN_SPEC', exitCode: 2, hint: 'a replace keeps the service name; restart devloop cloudrun replace to serve another service',
        });
      }
      engine.trigger(spec.name, { reason: 'config-change', files: [path.relative(root, abs)] });
    },
  });
}

export interface TrafficOptions {
  toRevisions?: string;
  toLatest?: boolean;
  setTags?: string;
  removeTags?: string;
  clearTags?: boolean;
}

interface LiveTraffic { revisionName: string; percent: number; latestRevision?: boolean; tag?: string }

/**
 * The traffic block `update-traffic` asks for, from the live one and the flags (as `gcloud run
 * services update-traffic` takes them). `LATEST` names the latest ready revision and follows
 * later deploys. Pure, for tests.
 */
export function plannedTraffic(current: LiveTraffic[], o: TrafficOptions): TrafficTarget[] {
  const target = (name: string): Pick<TrafficTarget, 'revisionName' | 'latestRevision'> =>
    (name === 'LATEST' ? { latestRevision: true } : { revisionName: name });
  const same = (a: TrafficTarget, b: Pick<TrafficTarget, 'revisionName' | 'latestRevision'>) =>
    (a.latestRevision ? b.latestRevision === true : !b.latestRevision && a.revisionName === b.revisionName);
  let entries: TrafficTarget[] = current.map((t) => (t.latestRevision ? { latestRevision: true, percent: t.percent, tag: t.tag } : { revisionName: t.revisionName, percent: t.percent, tag: t.tag }));
  const pairs = (text: string | undefined, flag: string) => (text ?? '').split(',').map((x) => x.trim()).filter(Boolean).map((x) => {
    const m = /^([^=]+)=(.+)$/.exec(x);
    if (!m) throw new DevloopError(`${flag}: expected NAME=VALUE pairs separated by commas, got "${x}"`, { code: 'USAGE', exitCode: 2 });
    return [m[1].trim(), m[2].trim()] as const;
  });
  if (o.toLatest && o.toRevisions) throw new DevloopError('--to-latest and --to-revisions cannot be used together', { code: 'USAGE', exitCode: 2 });
  if (o.toLatest || o.toRevisions) {
    const wanted = o.toLatest ? [['LATEST', '100'] as const] : pairs(o.toRevisions, '--to-revisions');
    const split: TrafficTarget[] = wanted.map(([name, pct]) => {
      const percent = Number(pct);
      if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new DevloopError(`--to-revisions: ${name}=${pct}: the percent must be a whole number from 0 to 100`, { code: 'USAGE', exitCode: 2 });
      return { ...target(name), percent };
    });
    const total = split.reduce((n, t) => n + t.percent, 0);
    if (total !== 100) throw new DevloopError(`--to-revisions: the percents add up to ${total}; they must add up to exactly 100`, { code: 'USAGE', exitCode: 2, hint: 'for example --to-revisions api-00001-abc=90,LATEST=10' });
    // Tags stay where they were, without traffic of their own.
    entries = [...split, ...entries.filter((t) => t.tag).map((t) => ({ ...t, percent: 0 }))];
  }
  if (o.clearTags) entries = entries.map((t) => ({ ...t, tag: undefined }));
  for (const tag of (o.removeTags ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    entries = entries.map((t) => (t.tag === tag ? { ...t, tag: undefined } : t));
  }
  for (const [tag, name] of pairs(o.setTags, '--set-tags')) {
    entries = entries.map((t) => (t.tag === tag ? { ...t, tag: undefined } : t));
    entries.push({ ...target(name), percent: 0, tag });
  }
  // One entry per revision without a tag (percents summed); entries with neither traffic nor a tag go.
  const merged: TrafficTarget[] = [];
  for (const t of entries) {
    if (t.percent === 0 && !t.tag) continue;
    const plain = !t.tag && merged.find((m) => !m.tag && same(m, t));
    if (plain) plain.percent += t.percent;
    else merged.push(Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined)) as unknown as TrafficTarget);
  }
  // A tag on a revision that also has untagged traffic: fold the tag into that entry.
  for (const t of [...merged]) {
    if (!t.tag || t.percent !== 0) continue;
    const plain = merged.find((m) => m !== t && !m.tag && same(m, t));
    if (plain) { plain.tag = t.tag; merged.splice(merged.indexOf(t), 1); }
  }
  return merged;
}

export async function cloudrunUpdateTraffic(opts: GlobalOptions, service: string, o: TrafficOptions): Promise<number> {
  if (!o.toLatest && !o.toRevisions && !o.setTags && !o.removeTags && !o.clearTags) {
    throw new DevloopError('update-traffic needs --to-latest, --to-revisions, --set-tags, --remove-tags or --clear-tags', { code: 'USAGE', exitCode: 2, hint: 'devloop cloudrun update-traffic api --to-revisions api-00001-abc=90,LATEST=10' });
  }
  let dir = opts.cwd;
  try { dir = (await loadOrSession(opts, 'cloudrun')).dir; } catch { /* no Devfile and no session: said below */ }
  const session = await findSession(dir);
  if (!session) throw new DevloopError('no devloop session is running here', { code: 'NO_SESSION', hint: 'start one with "devloop up" or "devloop cloudrun replace FILE"' });
  const state = await sessionState(session);
  const live = state.services[service]?.extra['cloud-run'] as { traffic?: LiveTraffic[] } | undefined;
  if (!live?.traffic) {
    throw new DevloopError(`no Cloud Run service named "${service}" is serving in this session`, {
      code: 'UNKNOWN_SERVICE', exitCode: 2, hint: `Cloud Run services here: ${Object.entries(state.services).filter(([, s]) => s.extra['cloud-run']).map(([n]) => n).join(', ') || 'none'}`,
    });
  }
  const traffic = plannedTraffic(live.traffic, o);
  const id = `${process.pid}-${Date.now()}`;
  await request(session.socket, 'POST', `/plugin?plugin=${encodeURIComponent(CLOUD_RUN_PLUGIN)}&name=update-traffic`, 10_000, { service, traffic, id });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const s = (await sessionState(session)).services[service];
    const result = s?.extra['cloud-run-traffic'] as { id?: string; ok?: boolean; error?: string; hint?: string } | undefined;
    if (result?.id === id) {
      if (!result.ok) throw new DevloopError(`update-traffic: ${result.error}`, { code: 'TRAFFIC_REFUSED', exitCode: 2, hint: result.hint });
      const now = (s.extra['cloud-run'] as { traffic: Array<LiveTraffic & { url?: string }> }).traffic;
      if (opts.output === 'json') process.stdout.write(`${JSON.stringify(now, null, 2)}\n`);
      else for (const t of now) process.stdout.write(`${String(t.percent).padStart(3)}%  ${t.revisionName}${t.latestRevision ? ' (latest)' : ''}${t.tag ? `  tag ${t.tag}${t.url ? ` ${t.url}` : ''}` : ''}\n`);
      return EXIT.ok;
    }
    if (Date.now() > deadline) throw new DevloopError('the session did not apply the traffic within 10 s', { code: 'TIMEOUT' });
    await sleep(50);
  }
}
