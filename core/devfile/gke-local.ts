/**
 * Reads the configuration file of the older gke-local tool (`gke-local.yaml`, snake_case) so
 * `devloop init --from` can convert it. Problems are reported as `gke-local.yaml:LINE:COL path`,
 * with the same wording as Devfile problems.
 */
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { codeFrame } from './frame.js';
import { parseWith, type ValidationIssue } from './issues.js';

const flag = z.boolean().optional();
const section = <S extends z.ZodRawShape>(shape: S) => z.strictObject(shape).nullish();

const gkeLocalSchema = z.strictObject({
  cluster: section({ name: z.string().optional(), version: z.union([z.string(), z.number()]).optional(), nodes: z.int().min(1).optional() }),
  simulation: section({
    cloud_run: section({ enabled: flag, scale_to_zero: flag, cold_start_delay: z.union([z.string(), z.number().min(0)]).optional() }),
    autopilot: section({ enabled: flag, node_auto_provisioning: flag, resource_optimization: flag }),
  }),
  services: section({
    monitoring: section({ prometheus: flag, grafana: flag, jaeger: flag }),
    ai: section({ model_serving: flag, ghostbusters: flag, gpu_support: flag }),
  }),
}).nullish();

/** The old format, as parsed. An empty section (`cluster:` with nothing under it) is null. */
export type GkeLocalYaml = NonNullable<z.output<typeof gkeLocalSchema>>;

export function parseGkeLocalYaml(text: string, file: string): GkeLocalYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col, frame: codeFrame(text, line, col) };
  };
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e): ConfigIssue => ({ path: '', message: e.message, location: at(e.pos[0]) }));
    throw new ConfigError(issues, { code: 'GKE_LOCAL_SYNTAX', hint: `fix the YAML syntax in ${file}` });
  }
  const parsed = parseWith(gkeLocalSchema, doc.toJS());
  if (!parsed.ok) {
    const issues = parsed.issues.map((issue): ConfigIssue => ({ ...strip(issue), location: at(offsetOf(doc.contents, issue)) }));
    throw new ConfigError(issues, { code: 'GKE_LOCAL_INVALID', hint: `fix ${file}, or write Devfile.ts by hand ("devloop init" without --from)` });
  }
  const config = parsed.data ?? {};
  // `version: 1.30` is the number 1.3 to YAML; the author meant the text as written.
  const version = doc.getIn(['cluster', 'version'], true);
  if (config.cluster && typeof config.cluster.version === 'number' && isScalar(version) && version.range) {
    config.cluster.version = text.slice(version.range[0], version.range[1]).trim();
  }
  return config;
}

function strip({ path, message }: ValidationIssue): ConfigIssue {
  return { path, message };
}

/** The offset of the node an issue is about: the key for an unknown key, else the value. */
function offsetOf(root: YamlNode | null, issue: ValidationIssue): number {
  const segments = [...(issue.path === '' ? [] : issue.path.split('.')), ...(issue.key === undefined ? [] : [issue.key])];
  let node: unknown = root;
  let offset = root?.range?.[0] ?? 0;
  for (let i = 0; i < segments.length && isMap(node); i++) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === segments[i]);
    if (!pair) break;
    const key = pair.key as YamlNode;
    const value = pair.value as YamlNode | null;
    const last = i === segments.length - 1;
    // A key with no value (`cluster:`) has no range of its own; point at the key then.
    const target = (last && issue.key !== undefined) || !value?.range ? key : value;
    offset = target.range?.[0] ?? offset;
    node = value;
  }
  return offset;
}
