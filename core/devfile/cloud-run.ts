/**
 * Cloud Run's rules for a service's inline `cloudRun` options, checked when the Devfile loads
 * instead of when the service first deploys. The rules are the simulator's own
 * (plugins/cloud-run/spec.ts, its numbers in data.ts), so the two can never disagree; they are
 * imported only for a Devfile that has a `cloudRun` block, so other projects do not load them.
 */
import { ConfigError } from '../errors.js';
import type { ValidationIssue } from './issues.js';
import type { CloudRunServiceConfig, DevfileConfig } from './types.js';

/** The inline fields that still apply beside `cloudRun.service` (runtime.ts `loadSpec`). */
const OVERRIDES = ['containerConcurrency', 'timeoutSeconds', 'minScale', 'maxScale'] as const;

export async function cloudRunIssues(config: DevfileConfig): Promise<ValidationIssue[]> {
  const services = Object.entries(config.services).filter(([, svc]) => svc.cloudRun);
  if (services.length === 0) return [];
  const { specFromInline } = await import('../../plugins/cloud-run/spec.js');
  const issues: ValidationIssue[] = [];
  for (const [name, svc] of services) {
    const cr = svc.cloudRun as CloudRunServiceConfig;
    const where = `services.${name}.cloudRun`;
    let options: Parameters<typeof specFromInline>[1];
    if (cr.service === undefined) {
      // Exactly what the deploy reads (runtime.ts loadSpec).
      options = { ...cr, port: svc.port };
    } else {
      // Beside a service.yaml only the overrides apply, on top of values in the file that are not
      // known here: check each against its own bounds, and minScale against maxScale only when
      // both are given here.
      const given = Object.fromEntries(OVERRIDES.filter((k) => cr[k] !== undefined).map((k) => [k, cr[k]]));
      if (Object.keys(given).length === 0) continue;
      options = { ...given, ...(given.minScale !== undefined && given.maxScale === undefined ? { maxScale: Math.max(1, given.minScale) } : {}) };
    }
    try {
      specFromInline(name, options, where);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      for (const issue of err.issues) {
        if (cr.service !== undefined && !issue.path.startsWith(`${where}.`)) continue;
        issues.push({ path: issue.path, message: issue.message });
      }
    }
  }
  return issues;
}
