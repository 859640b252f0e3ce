/**
 * Which paths each service watches. `src` when given; else a docker build's context; else the
 * project root. The Devfile and its imports are left to the config reload (they are excluded
 * from every service), and build outputs are excluded so a build never triggers itself.
 */
import path from 'node:path';
import { isWithin } from '../watch/paths.js';
import { k8sWatchPaths } from './k8s-watch-paths.js';
import type { DevfileConfig } from '../devfile/types.js';

export interface ServiceWatchTarget {
  name: string;
  paths: string[];
  ignore: string[];
  dockerContext?: string;
  ignorePaths: string[];
}

export function watchTargets(devfile: DevfileConfig, root: string, devfileFiles: string[], services = Object.keys(devfile.services)): ServiceWatchTarget[] {
  return services.map((name) => {
    const svc = devfile.services[name];
    const build = svc.build;
    const src = svc.src === undefined ? undefined : Array.isArray(svc.src) ? svc.src : [svc.src];
    const dockerContext = build?.type === 'docker' ? path.resolve(root, build.context ?? '.') : undefined;
    const paths = (src ?? [dockerContext ?? root]).map((p) => path.resolve(root, p));
    // A Cloud Run service.yaml redeploys its service when saved, wherever it lives.
    if (svc.cloudRun?.service) {
      const yaml = path.resolve(root, svc.cloudRun.service);
      if (!paths.some((p) => isWithin(yaml, p))) paths.push(yaml);
    }
    // So do its Kubernetes manifests, kustomization (with its bases) and Helm chart.
    if (svc.k8s) for (const p of k8sWatchPaths(svc.k8s, root)) if (!paths.some((q) => isWithin(p, q))) paths.push(p);
    const ignorePaths = [...devfileFiles];
    if (build?.type === 'esbuild' && build.outfile) ignorePaths.push(path.resolve(root, build.outfile));
    if (build?.type === 'command') for (const o of build.outputs ?? []) ignorePaths.push(path.resolve(root, build.cwd ?? '.', o));
    return { name, paths, ignore: [...(devfile.ignore ?? []), ...(svc.ignore ?? [])], dockerContext, ignorePaths };
  });
}
