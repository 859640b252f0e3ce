/**
 * `devloop parity --env ENV --against FILE|DIR [--target gke|cloudrun]`: what devloop renders for
 * production (plugins/production/render.ts: the Deployment after Autopilot admission, its HPA; or
 * the Knative Service) against what production runs, exported with `kubectl get … -o yaml` or
 * `gcloud run services describe --format export`. Prints each difference that changes behaviour
 * (plugins/production/parity.ts decides which) with its field path on both sides; exit 1 when
 * there is one, 0 when none, 2 when the export cannot be read.
 *
 * Images are rendered without a session's pushed references: those point at the local registry,
 * and would make every repository differ. The render's `<registry>/<service>:placeholder` has the
 * production repository; the tag or digest differs and is printed as a note.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { DevloopError } from '../../core/errors.js';
import { flattenObjects, isKnativeService, isWorkload, parityReport, type ParityDifference } from '../../plugins/production/parity.js';
import { EXIT, load, type GlobalOptions } from '../shared.js';

export type ParityTarget = 'gke' | 'cloudrun';

export interface ParityOptions {
  /** The export: a YAML file (documents, or a `kind: List`) or a folder of them. */
  against: string;
  /** Default: from the export's kinds. */
  target?: ParityTarget;
}

type Obj = Record<string, unknown>;

const EXPORT_HINT = 'export with kubectl get deploy,hpa -n NAMESPACE -o yaml > prod.yaml, or gcloud run services describe SERVICE --format export > prod.yaml';

export async function parity(opts: GlobalOptions, p: ParityOptions): Promise<number> {
  const exported = await readExport(path.resolve(opts.cwd, p.against));
  const target = p.target ?? detectTarget(exported, p.against);
  const actual = exported.filter((o) => (target === 'cloudrun') === isKnativeService(o));
  if (!actual.some(isWorkload)) {
    throw new DevloopError(`${p.against}: no ${target === 'cloudrun' ? 'Cloud Run (serving.knative.dev) Service' : 'Deployment, StatefulSet or other workload'} in it`, { code: 'PARITY_NO_WORKLOADS', exitCode: 2, hint: EXPORT_HINT });
  }
  const loaded = await load(opts, 'parity');
  const { renderProduction } = await import('../../plugins/production/render.js');
  const files = await renderProduction(loaded, { env: opts.env, target });
  const report = parityReport(files.flatMap((f) => f.objects), actual);
  const workloads = new Set(report.differences.map((d) => d.workload));
  if (opts.output === 'json') {
    process.stdout.write(`${JSON.stringify({ env: opts.env, target, against: p.against, differences: report.differences, notes: report.notes }, null, 2)}\n`);
  } else {
    const lines = [...report.differences.map((d) => line(d)), ...report.notes.map((d) => `note: ${line(d)}`)];
    const count = actual.filter(isWorkload).length;
    lines.push(report.differences.length
      ? `${report.differences.length} difference${report.differences.length === 1 ? '' : 's'} in ${[...workloads].join(', ')} between environment "${opts.env}" (${target}) and ${p.against}`
      : `no differences: ${count} workload${count === 1 ? '' : 's'} in ${p.against} behave as environment "${opts.env}" (${target}) renders ${count === 1 ? 'it' : 'them'}${report.notes.length ? ` (${report.notes.length} note${report.notes.length === 1 ? '' : 's'})` : ''}`);
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return report.differences.length ? EXIT.failed : EXIT.ok;
}

function show(value: unknown): string {
  return value === undefined ? '(not set)' : JSON.stringify(value);
}

function line(d: ParityDifference): string {
  const side = (value: unknown, where: string, defaulted?: boolean) => `${show(value)} (${defaulted ? 'default, ' : ''}${where})`;
  return `${d.workload}  ${d.what}: local ${side(d.local, d.localPath, d.defaulted?.local)} vs production ${side(d.prod, d.prodPath, d.defaulted?.prod)}`;
}

async function readExport(target: string): Promise<Obj[]> {
  const info = await stat(target).catch(() => undefined);
  if (!info) throw new DevloopError(`no export at ${target}`, { code: 'PARITY_EXPORT_NOT_FOUND', exitCode: 2, hint: `pass --against a YAML file or a folder of them; ${EXPORT_HINT}` });
  const files = info.isDirectory()
    ? (await readdir(target, { recursive: true })).filter((f) => /\.ya?ml$/i.test(f)).sort().map((f) => path.join(target, f))
    : [target];
  if (files.length === 0) throw new DevloopError(`no .yaml or .yml file in ${target}`, { code: 'PARITY_EXPORT_NOT_FOUND', exitCode: 2, hint: EXPORT_HINT });
  const objects: Obj[] = [];
  for (const file of files) {
    const docs = parseAllDocuments(await readFile(file, 'utf8'));
    for (const doc of docs) {
      const err = doc.errors[0];
      if (err) {
        const where = err.linePos ? `:${err.linePos[0].line}:${err.linePos[0].col}` : '';
        throw new DevloopError(`${file}${where}: not YAML: ${err.message.split('\n')[0].replace(/:$/, '')}`, { code: 'PARITY_EXPORT_NOT_YAML', exitCode: 2, hint: EXPORT_HINT });
      }
    }
    const found = flattenObjects(docs.map((d) => d.toJS()));
    if (found.length === 0 || !found.some((o) => typeof o.kind === 'string')) {
      throw new DevloopError(`${file}: no Kubernetes or Knative object in it (no document with a kind)`, { code: 'PARITY_EXPORT_NOT_YAML', exitCode: 2, hint: EXPORT_HINT });
    }
    objects.push(...found);
  }
  return objects;
}

function detectTarget(objects: Obj[], against: string): ParityTarget {
  const knative = objects.some((o) => isKnativeService(o));
  const k8s = objects.some((o) => isWorkload(o) && !isKnativeService(o));
  if (knative && k8s) {
    throw new DevloopError(`${against} holds both Cloud Run services and Kubernetes workloads`, { code: 'PARITY_TARGET_AMBIGUOUS', exitCode: 2, hint: 'say which to compare with --target gke or --target cloudrun' });
  }
  if (!knative && !k8s) {
    throw new DevloopError(`${against}: no workload in it (kinds: ${[...new Set(objects.map((o) => String(o.kind)))].join(', ')})`, { code: 'PARITY_NO_WORKLOADS', exitCode: 2, hint: EXPORT_HINT });
  }
  return knative ? 'cloudrun' : 'gke';
}
