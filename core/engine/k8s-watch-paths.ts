/**
 * What a `k8s` block reads from disk, so that saving it redeploys the service: manifest files (a
 * glob's fixed folder, unless that is the project root), a kustomization's folder and every local folder or file it pulls in
 * (bases, components, patches, generator files, through `../` too), a local Helm chart and its
 * values files. Read when the watch starts and on each Devfile reload; a kustomization edited to
 * pull in a new folder outside the watched ones is picked up at the next reload.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import picomatch from 'picomatch';
import type { K8sServiceConfig } from '../devfile/types.js';
import { isWithin } from '../watch/paths.js';

export function k8sWatchPaths(k8s: K8sServiceConfig, root: string): string[] {
  const out: string[] = [];
  const manifests = k8s.manifests === undefined ? [] : Array.isArray(k8s.manifests) ? k8s.manifests : [k8s.manifests];
  for (const p of manifests) {
    const scan = picomatch.scan(p);
    // A glob's fixed folder; not the project root itself (`*.yaml`), which would make every file a manifest.
    if (!scan.isGlob) out.push(path.resolve(root, p));
    else if (path.resolve(root, scan.base) !== path.resolve(root)) out.push(path.resolve(root, scan.base));
  }
  if (k8s.kustomize) kustomizationPaths(path.resolve(root, k8s.kustomize), out, new Set());
  if (k8s.helm) {
    const chart = path.resolve(root, k8s.helm.chart);
    if (k8s.helm.chart.startsWith('.') || path.isAbsolute(k8s.helm.chart) || existsSync(chart)) out.push(chart);
    for (const v of k8s.helm.values ?? []) out.push(path.resolve(root, v));
  }
  // Outermost first, then only what no earlier path holds.
  const sorted = [...new Set(out)].sort((a, b) => a.length - b.length);
  return sorted.filter((p, i) => !sorted.slice(0, i).some((q) => isWithin(p, q)));
}

const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];
/** Fields of a kustomization that name files or folders, as strings or as `{ path }`. */
const LIST_FIELDS = ['resources', 'bases', 'components', 'crds', 'patchesStrategicMerge', 'transformers', 'generators', 'validators', 'configurations'];
const PATH_LIST_FIELDS = ['patches', 'patchesJson6902', 'replacements'];

function kustomizationPaths(dir: string, out: string[], seen: Set<string>): void {
  if (seen.has(dir)) return;
  seen.add(dir);
  out.push(dir);
  const file = KUSTOMIZATION_FILES.map((f) => path.join(dir, f)).find((f) => existsSync(f));
  if (!file) return;
  let k: Record<string, unknown>;
  try {
    // yaml only for projects with a kustomization, so the watcher's start does not load it otherwise.
    const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
    k = parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return; // the deploy reports a broken kustomization
  }
  if (!k || typeof k !== 'object') return;
  const refs: string[] = [];
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);
  for (const f of LIST_FIELDS) refs.push(...strings(k[f]));
  for (const f of PATH_LIST_FIELDS) {
    if (Array.isArray(k[f])) for (const e of k[f] as unknown[]) if (e && typeof (e as { path?: unknown }).path === 'string') refs.push((e as { path: string }).path);
  }
  const openapi = k.openapi as { path?: unknown } | undefined;
  if (typeof openapi?.path === 'string') refs.push(openapi.path);
  for (const f of ['configMapGenerator', 'secretGenerator']) {
    if (!Array.isArray(k[f])) continue;
    for (const g of k[f] as Record<string, unknown>[]) {
      // `files` entries may be `key=path`.
      refs.push(...strings(g?.files).map((s) => s.slice(s.indexOf('=') + 1)), ...strings(g?.envs));
      if (typeof g?.env === 'string') refs.push(g.env);
    }
  }
  for (const ref of refs) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(ref) || ref.startsWith('git@') || ref.startsWith('github.com/')) continue; // remote: nothing to watch
    const abs = path.resolve(dir, ref);
    let isDir: boolean;
    try { isDir = statSync(abs).isDirectory(); } catch { continue; }
    if (isDir) kustomizationPaths(abs, out, seen);
    else if (!isWithin(abs, dir)) out.push(abs);
  }
}
