/**
 * `devloop validate`: every environment of the Devfile checked before anyone deploys, not only the
 * one in use. Per environment (the Devfile evaluated for it, so a function-form Devfile's
 * `mode` branches count):
 * - secrets: a secret some environment declares (or `local` reads from its secrets file) that
 *   another environment has no reference for; in `local`, a declared secret missing from the
 *   secrets file;
 * - GKE services: the production workload (render-gke.ts) through the Autopilot admission; a
 *   resource Autopilot would change is an error naming the Devfile field and the value that would
 *   be admitted as is, a denial is an error with Warden's text;
 * - Cloud Run services: the production Service YAML (render-cloudrun.ts) through the product's
 *   Cloud Run validation (what production would refuse).
 * Which target a service has in an environment: Cloud Run when its runtime there is `cloud-run`,
 * or it has a `cloudRun` block, or `simulation.cloudRun.enabled`; otherwise GKE.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import type { LoadedDevfile } from '../../core/devfile/load.js';
import type { DevfileConfig, ServiceConfig } from '../../core/devfile/types.js';
import { ConfigError, DevloopError } from '../../core/errors.js';
import { admit } from '../autopilot/admission.js';
import type { ClusterSettings } from '../autopilot/settings.js';
import { cloudRunService } from './render-cloudrun.js';
import { gkeObjects, namespaceOf, projectNamespace } from './render-gke.js';
import { projectName } from './render.js';
import { productionSettings } from './render-settings.js';
import { validateCloudRunText } from './render-validate.js';

export interface EnvironmentIssue {
  env: string;
  service?: string;
  /** Devfile field path. */
  path: string;
  message: string;
  hint?: string;
}

/** Whether a service runs on Cloud Run in an environment (else GKE). */
export function onCloudRun(cfg: DevfileConfig, svc: ServiceConfig, env: string): boolean {
  const runtime = svc.runtime ?? cfg.environments?.[env]?.runtime;
  if (runtime) return runtime === 'cloud-run';
  return svc.cloudRun !== undefined || cfg.simulation?.cloudRun?.enabled === true;
}

/** Services a production render covers: something to deploy, and no manifests of their own. */
function deployable(svc: ServiceConfig): boolean {
  return (svc.build !== undefined || svc.image !== undefined) && !svc.k8s;
}

/** Secret names per service in one environment; `local`'s come from its declared secrets. */
function secretNames(cfg: DevfileConfig, name: string, env: string): string[] {
  return Object.keys(productionSettings(cfg, cfg.services[name]!, env).secrets);
}

/** The local secrets file's names (`{ NAME: value }` or `{ NAME: { version: value } }`), or undefined when there is none. */
function localSecretValues(loaded: LoadedDevfile): { file: string; names: Set<string> } | undefined {
  const file = path.resolve(loaded.dir, loaded.config.simulation?.cloudRun?.secretsFile ?? 'secrets.local.yaml');
  if (!existsSync(file)) return undefined;
  const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown> | null;
  return { file, names: new Set(Object.keys(doc ?? {})) };
}

/**
 * Checks every environment. `byEnv` holds the Devfile evaluated for each environment (the caller
 * loads it once per environment). Returns the issues, sorted by environment then path.
 */
export function checkEnvironments(byEnv: Map<string, LoadedDevfile>): EnvironmentIssue[] {
  const issues: EnvironmentIssue[] = [];
  const envs = [...byEnv.keys()];
  // Secrets: what another environment has as a secret, each non-local environment must reference
  // too (local may give a plain stand-in value instead).
  const envLevel = (env: string) => Object.keys(byEnv.get(env)!.config.environments?.[env]?.secrets ?? {});
  const serviceLevel = (env: string, name: string) => Object.keys(byEnv.get(env)!.config.services[name]?.environments?.[env]?.secrets ?? {});
  for (const [env, loaded] of byEnv) {
    const cfg = loaded.config;
    if (env === 'local') {
      const declared = new Set([...envLevel(env), ...Object.keys(cfg.services).flatMap((name) => serviceLevel(env, name))]);
      if (declared.size === 0) continue;
      const values = localSecretValues(loaded);
      const fileName = values ? path.relative(loaded.dir, values.file) : 'secrets.local.yaml';
      for (const secret of [...declared].sort()) {
        if (values?.names.has(secret)) continue;
        issues.push({
          env, path: `environments.local.secrets.${secret}`,
          message: `${secret} is a secret in local, but ${values ? fileName : 'the secrets file (secrets.local.yaml) is not there and'} has no value for it`,
          hint: `add "${secret}: <value>" to ${fileName} (git-ignored; never commit it)`,
        });
      }
      continue;
    }
    const mine = new Set(envLevel(env));
    for (const other of envs) {
      if (other === env || other === 'local') continue;
      for (const secret of envLevel(other).filter((x) => !mine.has(x)).sort()) {
        if (issues.some((i) => i.env === env && i.path === `environments.${env}.secrets.${secret}`)) continue;
        issues.push({
          env, path: `environments.${env}.secrets.${secret}`,
          message: `${secret} is a secret of every service in ${other}, but ${env} has no reference for it: its services would start without it`,
          hint: `add environments.${env}.secrets.${secret} = { secret: '<Secret Manager id or Kubernetes Secret name>' }`,
        });
      }
    }
    for (const name of Object.keys(cfg.services).sort()) {
      if (!deployable(cfg.services[name]!)) continue;
      const resolved = new Set(secretNames(cfg, name, env));
      for (const other of envs) {
        if (other === env || other === 'local') continue;
        for (const secret of serviceLevel(other, name).filter((x) => !resolved.has(x)).sort()) {
          const at = `services.${name}.environments.${env}.secrets.${secret}`;
          if (issues.some((i) => i.env === env && i.path === at)) continue;
          issues.push({
            env, service: name, path: at,
            message: `${secret} is a secret of services.${name} in ${other}, but ${env} has no reference for it: the service would start without it`,
            hint: `add ${at} = { secret: '<Secret Manager id or Kubernetes Secret name>' } (or environments.${env}.secrets.${secret} for every service)`,
          });
        }
      }
    }
  }
  // Targets: what production would change or refuse.
  for (const [env, loaded] of byEnv) {
    if (env === 'local') continue;
    const cfg = loaded.config;
    const settings = (cfg.simulation?.autopilot ?? {}) as ClusterSettings;
    for (const name of Object.keys(cfg.services).sort()) {
      const svc = cfg.services[name]!;
      if (!deployable(svc)) continue;
      const ps = productionSettings(cfg, svc, env);
      const image = svc.image ?? `${name}:validate`;
      try {
        if (onCloudRun(cfg, svc, env)) {
          const notes: string[] = [];
          const object = cloudRunService(name, svc, ps, image, notes);
          try {
            validateCloudRunText(name, `${name}.service.yaml`, stringify(object));
          } catch (err) {
            const cause = (err as { cause?: unknown }).cause;
            if (!(cause instanceof ConfigError)) throw err;
            for (const issue of cause.issues) {
              const field = cloudRunField(issue.path);
              const where = field ? settingPath(cfg, name, env, field) : `services.${name}`;
              issues.push({ env, service: name, path: where, message: `Cloud Run would refuse it: ${issue.path}: ${issue.message}`, hint: `change ${where} (devloop render --env ${env} --target cloudrun shows the Service YAML)` });
            }
          }
          continue;
        }
        const objects = gkeObjects(name, svc, ps, { project: projectName(cfg, loaded.dir), namespace: namespaceOf(svc, projectNamespace(cfg)), image, settings });
        for (const object of objects) {
          const r = admit(object, settings);
          const kind = String((object as { kind?: unknown }).kind);
          if (!r.allowed) {
            issues.push({ env, service: name, path: `services.${name}`, message: `GKE Autopilot would refuse its ${kind}: ${r.message ?? r.denials.map((d) => d.message).join('; ')}`, hint: r.hints[0] });
            continue;
          }
          const seen = new Set<string>();
          for (const a of r.adjustments) {
            if (a.from === undefined) continue; // a value the Devfile left to Autopilot's defaults
            // A limit raised with its request is one problem, said once (the request's reason).
            if (seen.has(`${a.container}/${a.resource}`)) continue;
            seen.add(`${a.container}/${a.resource}`);
            const field = a.resource === 'cpu' || a.resource === 'memory' ? a.resource : undefined;
            const where = field ? settingPath(cfg, name, env, `resources.${field}`) : `services.${name}`;
            issues.push({
              env, service: name, path: where,
              message: `Autopilot would change ${a.resource} ${a.field} of ${kind} ${name} from ${a.from} to ${a.to} (${a.reason})`,
              hint: field ? `set ${where} to ${a.to}, so what runs in ${env} is what the Devfile says` : undefined,
            });
          }
        }
      } catch (err) {
        if (!(err instanceof DevloopError)) throw err;
        issues.push({ env, service: name, path: `services.${name}`, message: err.message.replace(/^services\.[^:]+: /, ''), hint: err.hint });
      }
    }
  }
  return issues.sort((a, b) => a.env.localeCompare(b.env) || a.path.localeCompare(b.path) || a.message.localeCompare(b.message));
}

/** The Devfile setting behind a Cloud Run Service YAML path, when there is one. */
function cloudRunField(yamlPath: string): string | undefined {
  if (yamlPath.endsWith('containerConcurrency')) return 'scaling.concurrency';
  if (yamlPath.endsWith('timeoutSeconds') && !/Probe/.test(yamlPath)) return 'scaling.timeoutSeconds';
  if (yamlPath.includes('autoscaling.knative.dev/minScale')) return 'scaling.min';
  if (yamlPath.includes('autoscaling.knative.dev/maxScale')) return 'scaling.max';
  if (/resources\.limits\.cpu$/.test(yamlPath)) return 'resources.cpu';
  if (/resources\.limits\.memory$/.test(yamlPath)) return 'resources.memory';
  return undefined;
}

/**
 * Where a production setting (`resources.memory`, `scaling.concurrency`) of a service in an
 * environment is set: the most specific place that sets it, else the service's own
 * `environments.<env>` where it belongs.
 */
function settingPath(cfg: DevfileConfig, name: string, env: string, setting: string): string {
  const get = (obj: unknown): unknown => setting.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
  const svc = cfg.services[name]!;
  if (get(svc.environments?.[env]) !== undefined) return `services.${name}.environments.${env}.${setting}`;
  if (get(cfg.environments?.[env]) !== undefined) return `environments.${env}.${setting}`;
  if (setting.startsWith('resources.') && get(svc) !== undefined) return `services.${name}.${setting}`;
  return `services.${name}.environments.${env}.${setting}`;
}
