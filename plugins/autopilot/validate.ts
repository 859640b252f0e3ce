/**
 * The API server's own validation of the fields admission reads, which runs before any admission
 * webhook: an object that fails it never reaches Autopilot. Without it a negative CPU request or a
 * `containers` mapping would be "admitted" here while the API server refuses it. Messages follow
 * the API server's (`Invalid value: -1: must be greater than or equal to 0`).
 */
import { parseQuantity, QuantityError } from './quantity.js';
import type { K8sObject } from './types.js';
import { isWorkload } from './workload.js';

export interface FieldIssue {
  /** Path segments, as `yaml`'s getIn takes them. */
  path: (string | number)[];
  message: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const kindOf = (v: unknown): string => (Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'a mapping' : `${typeof v} ${JSON.stringify(v)}`);

/** The problems in the fields of `obj` that admission and scheduling read; empty when none. */
export function fieldIssues(obj: K8sObject): FieldIssue[] {
  if (!isWorkload(obj)) return [];
  const issues: FieldIssue[] = [];
  const mapping = (v: unknown, path: (string | number)[]): v is Record<string, unknown> | undefined => {
    if (v === undefined || isObject(v)) return true;
    issues.push({ path, message: `expected a mapping, got ${kindOf(v)}` });
    return false;
  };
  const count = (v: unknown, path: (string | number)[]) => {
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v)) issues.push({ path, message: `expected a whole number, got ${kindOf(v)}` });
    else if (v < 0) issues.push({ path, message: `Invalid value: ${v}: must be greater than or equal to 0` });
  };

  const spec = obj.spec as unknown;
  if (!mapping(spec, ['spec']) || spec === undefined) return issues;
  let podSpecPath: (string | number)[];
  let podSpec: unknown;
  if (obj.kind === 'Pod') {
    podSpecPath = ['spec'];
    podSpec = spec;
  } else {
    let holder: unknown = spec;
    let holderPath: (string | number)[] = ['spec'];
    if (obj.kind === 'CronJob') {
      const jobTemplate = spec.jobTemplate;
      if (!mapping(jobTemplate, ['spec', 'jobTemplate']) || jobTemplate === undefined) return issues;
      holder = jobTemplate.spec;
      holderPath = ['spec', 'jobTemplate', 'spec'];
      if (!mapping(holder, holderPath) || holder === undefined) return issues;
    }
    const h = holder as Record<string, unknown>;
    for (const field of ['replicas', 'parallelism', 'completions']) count(h[field], [...holderPath, field]);
    const template = h.template;
    if (!mapping(template, [...holderPath, 'template']) || template === undefined) return issues;
    podSpecPath = [...holderPath, 'template', 'spec'];
    podSpec = template.spec;
  }
  if (!mapping(podSpec, podSpecPath) || podSpec === undefined) return issues;
  for (const list of ['initContainers', 'containers']) {
    const containers = podSpec[list];
    const listPath = [...podSpecPath, list];
    if (containers === undefined) continue;
    if (!Array.isArray(containers)) {
      issues.push({ path: listPath, message: `expected a list of containers, got ${kindOf(containers)}` });
      continue;
    }
    containers.forEach((c, i) => {
      if (!isObject(c)) { issues.push({ path: [...listPath, i], message: `expected a container (a mapping), got ${kindOf(c)}` }); return; }
      const resources = c.resources;
      if (!mapping(resources, [...listPath, i, 'resources']) || resources === undefined) return;
      for (const group of ['requests', 'limits']) {
        const values = resources[group];
        const groupPath = [...listPath, i, 'resources', group];
        if (!mapping(values, groupPath) || values === undefined) continue;
        for (const [name, raw] of Object.entries(values)) {
          const path = [...groupPath, name];
          if (typeof raw !== 'string' && typeof raw !== 'number') { issues.push({ path, message: `expected a quantity such as 500m or 1Gi, got ${kindOf(raw)}` }); continue; }
          try {
            if (parseQuantity(raw).nano < 0n) issues.push({ path, message: `Invalid value: "${raw}": must be greater than or equal to 0` });
          } catch (err) {
            if (!(err instanceof QuantityError)) throw err;
            issues.push({ path, message: `Invalid value: "${raw}": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'` });
          }
        }
      }
    });
  }
  return issues;
}

/** `spec.template.spec.containers[0].resources.requests.cpu` */
export function formatPath(path: (string | number)[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}
