/**
 * The manifests expert: every Kubernetes YAML through devloop's own Autopilot admission engine
 * (the one `devloop autopilot check` runs: plugins/autopilot/manifests.ts reads, admission.ts
 * admits), and every Cloud Run service.yaml through the Cloud Run validator (`devloop cloudrun
 * validate`: plugins/cloud-run/spec.ts). Denials are errors; warnings and the resources GKE
 * would raise are warnings, each at the line of its object or of the very value.
 *
 * Fix: a request or limit that Autopilot would raise is raised in the file to the value GKE
 * admits, in place, so applying the manifest changes nothing on the way in.
 */
import type { Node } from 'yaml';
import { ConfigError, DevloopError } from '../../../core/errors.js';
import { admit } from '../../autopilot/admission.js';
import { scanManifests } from '../../autopilot/manifests.js';
import { resolveSettings } from '../../autopilot/settings.js';
import type { K8sObject } from '../../autopilot/types.js';
import { nameOf, namespaceOf } from '../../autopilot/workload.js';
import { parseServiceYaml } from '../../cloud-run/spec.js';
import type { Expert, Finding, Fix, RepoView } from '../types.js';
import { isYaml } from './text.js';
import { get, isKnative, items, podSpecPath, readYaml, scalar, startOf, type YamlFile } from './yaml-nodes.js';

const EXPERT = 'manifests';

export const MANIFESTS_RULES: Record<string, string> = {
  'manifests/autopilot-denied': 'GKE Autopilot would deny this object (Warden constraint)',
  'manifests/autopilot-warning': 'GKE Autopilot would admit this object with a warning (it mutates it)',
  'manifests/autopilot-resources-raised': 'A request or limit GKE Autopilot would raise to its minimum or ratio',
  'manifests/invalid-manifest': 'A Kubernetes manifest the API server would refuse (syntax, unknown field)',
  'manifests/cloud-run-invalid': 'A Cloud Run service.yaml that Cloud Run would refuse',
};

export const manifestsExpert: Expert = {
  id: EXPERT,
  description: 'Kubernetes YAML through the Autopilot admission engine, Cloud Run YAML through the Cloud Run validator',
  rules: MANIFESTS_RULES,
  async detect(repo: RepoView, signal: AbortSignal): Promise<Finding[]> {
    const settings = resolveSettings({});
    const out: Finding[] = [];
    for (const file of repo.files) {
      signal.throwIfAborted();
      if (!isYaml(file)) continue;
      const text = repo.read(file);
      const yaml = readYaml(text);
      if (yaml?.docs.some((d) => isKnative(scalar(get(d.contents, 'apiVersion'))) && scalar(get(d.contents, 'kind')) === 'Service')) {
        out.push(...cloudRun(file, text));
        continue;
      }
      const set = scanManifests(text, file);
      for (const e of set.errors) {
        out.push(finding({ ruleId: 'manifests/invalid-manifest', severity: 'error', confidence: 'high', file, line: Math.max(1, e.line), column: Math.max(1, e.column), message: e.reason }));
      }
      for (const m of set.objects) {
        const r = admit(m.object, settings);
        const what = `${m.object.kind} ${namespaceOf(m.object)}/${nameOf(m.object)}`;
        const where = { file, line: m.source.line, column: m.source.column };
        for (const d of r.denials) {
          out.push(finding({ ruleId: 'manifests/autopilot-denied', severity: 'error', confidence: 'high', ...where, message: `${what}: denied by ${d.constraint}: ${d.message}${r.hints.length ? ` (hint: ${r.hints.join('; ')})` : ''}` }));
        }
        for (const w of r.warnings) out.push(finding({ ruleId: 'manifests/autopilot-warning', severity: 'warning', confidence: 'high', ...where, message: `${what}: ${w}` }));
        for (const a of r.adjustments) {
          if (a.from === undefined) continue;
          const node = yaml && valueNode(yaml, m.object, m.source.line, a.container, a.field, a.resource);
          const pos = node ? yaml.at(startOf(node)) : m.source;
          out.push(finding({
            ruleId: 'manifests/autopilot-resources-raised', severity: 'warning', confidence: 'high', file, line: pos.line, column: pos.column,
            message: `${what}: container ${a.container} ${a.field}.${a.resource} ${a.from} would become ${a.to} (${a.reason})`,
            fix: node ? raise(file, text, node, a.to, `${a.container} ${a.field}.${a.resource}`) : undefined,
          }));
        }
      }
    }
    return out;
  },
};

const finding = (f: Omit<Finding, 'expert'>): Finding => ({ expert: EXPERT, ...f });

/** The scalar node of `containers[name].resources.<field>.<resource>` in the document that starts at `line`. */
function valueNode(yaml: YamlFile, object: K8sObject, line: number, container: string, field: string, resource: string): Node | undefined {
  const doc = yaml.docs.find((d) => yaml.at(startOf(d.contents as Node)).line === line);
  const specPath = podSpecPath(object.kind, object.apiVersion);
  if (!doc || !specPath) return undefined;
  const spec = get(doc.contents, ...specPath);
  const c = ['initContainers', 'containers'].flatMap((k) => items(get(spec, k))).find((n) => scalar(get(n, 'name')) === container);
  return get(c, 'resources', field, resource);
}

function raise(file: string, text: string, node: Node, to: string, what: string): Fix | undefined {
  const [start, end] = node.range ?? [];
  if (start === undefined || end === undefined) return undefined;
  const quote = /^["']/.test(text.slice(start, end)) ? text[start] : '';
  return { description: `raise ${what} to ${to}, what GKE Autopilot admits`, edits: [{ file, start, end, text: `${quote}${to}${quote}` }] };
}

function cloudRun(file: string, text: string): Finding[] {
  try {
    parseServiceYaml(text, file);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) {
      return err.issues.map((i) => finding({
        ruleId: 'manifests/cloud-run-invalid', severity: 'error', confidence: 'high', file, line: i.location?.line ?? 1, column: i.location?.column ?? 1,
        message: `${i.path ? `${i.path}: ` : ''}${i.message}`,
      }));
    }
    if (err instanceof DevloopError) return [finding({ ruleId: 'manifests/cloud-run-invalid', severity: 'error', confidence: 'high', file, line: 1, column: 1, message: err.message })];
    throw err;
  }
}
