/**
 * One service's production settings in one environment: `environments.<env>` with the service's
 * own `services.<name>.environments.<env>` merged over it field by field (a service that sets only
 * `scaling.max` keeps the environment's `scaling.min`). Pure; both targets of render.ts read this.
 */
import { memoryBytes } from '../../core/devfile/quantity.js';
import type { DevfileConfig, ScalingConfig, SecretRef, ServiceConfig } from '../../core/devfile/types.js';
import { serviceEnv } from '../../core/engine/env.js';

export interface ProductionSettings {
  /** Plain env vars (core/engine/env.ts order), without the names a secret sets. */
  env: Record<string, string>;
  secrets: Record<string, SecretRef>;
  replicas?: number;
  /** Per-environment resources (service over environment); the targets add their own fallbacks. */
  resources: { cpu?: string; memory?: string };
  scaling: ScalingConfig;
  registry?: string;
  project?: string;
  region?: string;
}

export function productionSettings(cfg: DevfileConfig, svc: ServiceConfig, env: string): ProductionSettings {
  const e = cfg.environments?.[env] ?? {};
  const s = svc.environments?.[env] ?? {};
  const secrets = { ...e.secrets, ...s.secrets };
  // A secret wins over a plain value of the same name: the plain one is usually the local stand-in.
  const plain = Object.fromEntries(Object.entries(serviceEnv(cfg, svc, env)).filter(([k]) => !(k in secrets)));
  return {
    env: plain,
    secrets,
    replicas: s.replicas ?? e.replicas,
    resources: defined({ ...defined(e.resources ?? {}), ...defined(s.resources ?? {}) }),
    scaling: defined({ ...defined(e.scaling ?? {}), ...defined(s.scaling ?? {}) }),
    registry: e.registry,
    project: e.project,
    region: e.region,
  };
}

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/**
 * A memory amount as Kubernetes and Cloud Run read it. The Devfile also takes Docker's forms
 * (`512m` is 512 MiB to Docker but half a byte to Kubernetes), so anything that is not already a
 * Kubernetes quantity is converted to the exact binary unit.
 */
export function k8sMemory(value: string): string {
  if (/^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$/.test(value)) return value;
  const bytes = memoryBytes(value);
  if (bytes === undefined) return value; // the schema accepted it; let the target's own check say what is wrong
  for (const [unit, factor] of [['Ti', 2 ** 40], ['Gi', 2 ** 30], ['Mi', 2 ** 20], ['Ki', 2 ** 10]] as const) {
    if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}
