/**
 * `devloop render --env ENV --target gke|cloudrun`: what production needs, from the same Devfile
 * the inner loop runs. Pure apart from calling a service's `k8s.objects` function: no clock, no
 * cluster, no session, so the same Devfile and images give byte-identical files (services sorted,
 * keys in a fixed order, env sorted by name).
 *
 * Which services: those with something to deploy, a `build` or an `image`, rendered from their
 * Devfile fields (render-gke.ts, render-cloudrun.ts). Skipped, each with a note:
 * - no build and no image (a `process` command, and the `process` models of `ai.modelServing`,
 *   which run a model file on this machine): nothing to ship;
 * - services with `k8s.manifests`, `kustomize` or `helm`: their own manifests are what they
 *   deploy (`devloop render` prints them, `devloop autopilot check` checks them);
 * - on Cloud Run, every service with `k8s`: it deploys to a cluster.
 * Services whose `k8s` is only `objects` (the `kubernetes` models of `ai.modelServing` are such)
 * get those objects on GKE, images substituted, through the same admission.
 *
 * Images: `opts.images` (service -> pushed reference, ideally a digest) when it names the service;
 * else a service without a build runs its `image` as written; else a deterministic placeholder
 * `<registry>/<service>:placeholder` with a note, never `:latest` (which would make the same
 * render mean different things on different days).
 */
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import type { LoadedDevfile } from '../../core/devfile/load.js';
import type { DevfileConfig, ServiceConfig } from '../../core/devfile/types.js';
import { DevloopError } from '../../core/errors.js';
import { looksSecret } from '../../core/engine/redact.js';
import { substituteImages } from '../kubernetes/manifests.js';
import { devloopRuleGroups, gmpRules, prometheusRuleCrd, prometheusRuleFile, type AlertThresholds } from '../monitoring/rules.js';
import type { ClusterSettings } from '../autopilot/settings.js';
import { cloudRunService } from './render-cloudrun.js';
import { admitAll, gkeObjects, namespaceOf, projectNamespace } from './render-gke.js';
import { productionSettings } from './render-settings.js';
import { validateCloudRunText } from './render-validate.js';

export interface RenderedFile {
  /** Relative to the output folder: `gke/api.yaml`, `cloudrun/api.service.yaml`, `gke/monitoring/prometheusrule.yaml`. */
  path: string;
  /** The objects the file holds, in order (the admitted ones on GKE). */
  objects: object[];
  /** YAML, documents separated by `---`. */
  text: string;
}

export interface ProductionRenderOptions {
  env: string;
  target: 'gke' | 'cloudrun';
  /** Pushed image references by service name. */
  images?: Map<string, string>;
}

export interface ProductionRender {
  files: RenderedFile[];
  /** What the user should know: placeholder images, skipped services, settings left out, admission warnings. Sorted. */
  notes: string[];
}

export const TARGETS = ['gke', 'cloudrun'] as const;
export const PLACEHOLDER_TAG = 'placeholder';

export async function renderProduction(loaded: LoadedDevfile, opts: ProductionRenderOptions): Promise<RenderedFile[]> {
  return (await renderProductionWithNotes(loaded, opts)).files;
}

export async function renderProductionWithNotes(loaded: LoadedDevfile, opts: ProductionRenderOptions): Promise<ProductionRender> {
  const cfg = loaded.config;
  if (!(TARGETS as readonly string[]).includes(opts.target)) {
    throw new DevloopError(`unknown target "${opts.target}"`, { code: 'BAD_TARGET', exitCode: 2, hint: `--target is one of ${TARGETS.join(', ')}` });
  }
  requireEnvironment(loaded, opts.env);
  const images = opts.images ?? new Map<string, string>();
  const project = projectName(cfg, loaded.dir);
  const namespace = projectNamespace(cfg);
  const ap = cfg.simulation?.autopilot;
  const settings: ClusterSettings = { gkeVersion: ap?.gkeVersion, bursting: ap?.bursting, region: ap?.region };
  const files: RenderedFile[] = [];
  const notes: string[] = [];

  for (const name of Object.keys(cfg.services).sort()) {
    const svc = cfg.services[name];
    const ps = productionSettings(cfg, svc, opts.env);
    const k8s = svc.k8s;
    if (k8s && (k8s.manifests || k8s.kustomize || k8s.helm)) {
      notes.push(`${name}: skipped: its own Kubernetes manifests are what it deploys (devloop render prints them; devloop autopilot check checks them)`);
      continue;
    }
    if (k8s && opts.target === 'cloudrun') {
      notes.push(`${name}: skipped: it deploys to a cluster through k8s.objects, not to Cloud Run`);
      continue;
    }
    if (k8s?.objects) {
      const raw = typeof k8s.objects === 'function'
        ? await k8s.objects({ service: name, namespace: namespaceOf(svc, namespace), mode: opts.env, images: Object.fromEntries(images) })
        : structuredClone(k8s.objects);
      substituteImages(raw, images);
      const admitted = admitAll(name, raw, settings);
      notes.push(...admitted.notes);
      files.push(file(`gke/${name}.yaml`, admitted.objects));
      continue;
    }
    if (!svc.build && !svc.image) {
      notes.push(`${name}: skipped: nothing to deploy (no build and no image; a command run on this machine)`);
      continue;
    }
    const image = imageOf(name, svc, ps.registry, images);
    const header: string[] = [];
    if (image.placeholder) {
      const msg = `image "${image.ref}" is a placeholder: pass the pushed reference (devloop render --image ${name}=REF, a digest keeps the render reproducible)`;
      notes.push(`${name}: ${msg}`);
      header.push(msg);
    }
    for (const key of Object.keys(ps.env).sort()) {
      if (looksSecret(key)) notes.push(`${name}: env ${key} looks like a secret but is a plain value in environment "${opts.env}"; declare it under environments.${opts.env}.secrets`);
    }
    if (opts.target === 'gke') {
      const objects = gkeObjects(name, svc, ps, { project, namespace: namespaceOf(svc, namespace), image: image.ref, settings });
      const admitted = admitAll(name, objects, settings);
      notes.push(...admitted.notes);
      files.push(file(`gke/${name}.yaml`, admitted.objects, header));
    } else {
      const object = cloudRunService(name, svc, ps, image.ref, notes);
      const f = file(`cloudrun/${name}.service.yaml`, [object], header);
      notes.push(...validateCloudRunText(name, f.path, f.text));
      files.push(f);
    }
  }

  if (cfg.monitoring) files.push(...monitoringFiles(cfg, opts.target, project, namespace));
  return { files, notes: notes.sort() };
}

function imageOf(name: string, svc: ServiceConfig, registry: string | undefined, images: Map<string, string>): { ref: string; placeholder: boolean } {
  const given = images.get(name);
  if (given) return { ref: given, placeholder: false };
  if (!svc.build && svc.image) return { ref: svc.image, placeholder: false };
  return { ref: `${registry?.replace(/\/+$/, '') ?? 'REGISTRY'}/${name}:${PLACEHOLDER_TAG}`, placeholder: true };
}

/** The rules `devloop render --monitoring` writes (plugins/monitoring/rules.ts), for the target's monitoring. */
function monitoringFiles(cfg: DevfileConfig, target: 'gke' | 'cloudrun', project: string, namespace: string): RenderedFile[] {
  const alerts = (cfg.monitoring as { alerts?: AlertThresholds } | undefined)?.alerts;
  const groups = devloopRuleGroups(alerts ?? {});
  const name = `${project}-devloop`;
  if (target === 'cloudrun') return [textFile('cloudrun/monitoring/prometheus-rules.yaml', prometheusRuleFile(groups))];
  const labels = { 'app.kubernetes.io/managed-by': 'devloop', 'app.kubernetes.io/part-of': project };
  return [
    textFile('gke/monitoring/gmp-rules.yaml', gmpRules(groups, { name, namespace })),
    textFile('gke/monitoring/prometheusrule.yaml', prometheusRuleCrd(groups, { name, namespace, labels })),
  ];
}

function file(p: string, objects: object[], header: string[] = []): RenderedFile {
  const text = header.map((l) => `# ${l}\n`).join('') + objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
  return { path: p, objects, text };
}

function textFile(p: string, text: string): RenderedFile {
  return { path: p, objects: parseAllDocuments(text).map((d) => d.toJS() as object), text };
}

/** The project name as a Kubernetes name (DNS-1123), as render-monitoring.ts makes it. */
export function projectName(cfg: DevfileConfig, dir: string): string {
  const s = cfg.name || path.basename(dir);
  return s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-{2,}/g, '-').replace(/^-+|-+$/g, '').slice(0, 200).replace(/-+$/, '') || 'project';
}

/** An environment the Devfile declares, else a usage error listing those it does. */
export function requireEnvironment(loaded: LoadedDevfile, env: string): void {
  const cfg = loaded.config;
  if (cfg.environments?.[env]) return;
  const known = Object.keys(cfg.environments ?? {});
  throw new DevloopError(`no environment "${env}" in ${loaded.file}`, {
    code: 'UNKNOWN_ENVIRONMENT', exitCode: 2,
    hint: known.length ? `environments are: ${known.join(', ')}; pick one with --env` : `add environments: { ${env}: { registry, replicas, ... } } to the Devfile`,
  });
}
