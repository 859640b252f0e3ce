/**
 * What `devloop init` writes: a starter Devfile.ts, or one converted from gke-local.yaml. The
 * output is checked by the tests to load and validate, so a fresh project starts green.
 */
import path from 'node:path';
import { parseGkeLocalYaml, type GkeLocalYaml } from './gke-local.js';
import type { DevfileConfig } from './types.js';

export type { GkeLocalYaml } from './gke-local.js';

export interface RenderDevfileOptions {
  /** Project name. */
  name: string;
  /** Settings converted from gke-local.yaml; the example service is then left commented out. */
  from?: GkeLocalYaml;
}

const EXAMPLE_SERVICE = `api: {
  // Changes under these paths rebuild the service (relative to this file).
  src: ['src'],
  // Bundled with esbuild and run by node: no Dockerfile needed to start. For a container,
  // use { type: 'docker', context: '.' } and drop "runtime".
  build: { type: 'esbuild', entry: 'src/server.ts' },
  runtime: 'process',
  // Passed to the service as PORT; devloop waits for it before calling the service healthy.
  port: 8080,
  health: { http: '/healthz' },
  env: { LOG_LEVEL: 'debug' },
},`;

export function renderDevfile(options: RenderDevfileOptions): string {
  const converted = options.from ? fromGkeLocal(options.from) : {};
  const services = options.from
    ? `services: {\n${indent(`// gke-local.yaml described the platform, not your services: add one entry per service,\n// for example:\n${comment(EXAMPLE_SERVICE)}`, 2)}\n},`
    : `services: {\n${indent(EXAMPLE_SERVICE, 2)}\n},`;
  const rest = Object.entries(converted).map(([key, value]) => `${key}: ${literal(value, '')},`);
  return [
    `import { defineDevfile } from 'devloop';`,
    ``,
    options.from
      ? `// Converted from gke-local.yaml by "devloop init --from". Run "devloop up" to start.`
      : `// The services devloop builds, runs and watches. Run "devloop up" to start them.`,
    `// defineDevfile() only adds types: hover a field in your editor for what it does.`,
    `export default defineDevfile({`,
    indent([`name: ${quote(options.name)},`, services, ...rest].join('\n'), 2),
    `});`,
    ``,
  ].join('\n');
}

/**
 * Converts gke-local.yaml text to Devfile.ts source. `file` names it in error messages; `name`
 * defaults to the name of the folder holding `file` (the old format had no project name).
 */
export function convertGkeLocalYaml(text: string, file: string, name?: string): string {
  const from = parseGkeLocalYaml(text, file);
  return renderDevfile({ name: name ?? path.basename(path.dirname(path.resolve(file))), from });
}

function fromGkeLocal(y: GkeLocalYaml): Partial<DevfileConfig> {
  const cloudRun = y.simulation?.cloud_run;
  const autopilot = y.simulation?.autopilot;
  const simulation = compact({
    cloudRun: cloudRun ? compact({ enabled: cloudRun.enabled, scaleToZero: cloudRun.scale_to_zero, coldStartDelay: cloudRun.cold_start_delay }) : undefined,
    autopilot: autopilot ? compact({ enabled: autopilot.enabled, nodeAutoProvisioning: autopilot.node_auto_provisioning, resourceOptimization: autopilot.resource_optimization }) : undefined,
  });
  const m = y.services?.monitoring;
  const ai = y.services?.ai;
  return compact({
    cluster: y.cluster ? compact({ name: y.cluster.name, version: y.cluster.version === undefined ? undefined : String(y.cluster.version), nodes: y.cluster.nodes }) : undefined,
    simulation: Object.keys(simulation).length > 0 ? simulation : undefined,
    monitoring: m ? compact({ prometheus: m.prometheus, grafana: m.grafana, jaeger: m.jaeger }) : undefined,
    ai: ai ? compact({ modelServing: ai.model_serving, ghostbusters: ai.ghostbusters, gpuSupport: ai.gpu_support }) : undefined,
  });
}

function compact<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

/** A JS literal for plain data: one line when it fits, else one property a line. */
function literal(value: unknown, pad: string): string {
  if (typeof value === 'string') return quote(value);
  if (Array.isArray(value)) return `[${value.map((v) => literal(v, pad)).join(', ')}]`;
  if (typeof value !== 'object' || value === null) return String(value);
  const entries = Object.entries(value);
  if (entries.length === 0) return '{}';
  const key = (k: string) => (/^[A-Za-z_$][\w$]*$/.test(k) ? k : quote(k));
  const oneLine = `{ ${entries.map(([k, v]) => `${key(k)}: ${literal(v, pad)}`).join(', ')} }`;
  if (oneLine.length + pad.length <= 88 && !oneLine.includes('\n')) return oneLine;
  const inner = `${pad}  `;
  return `{\n${entries.map(([k, v]) => `${inner}${key(k)}: ${literal(v, inner)},`).join('\n')}\n${pad}}`;
}

function quote(s: string): string {
  return `'${JSON.stringify(s).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
}

function indent(text: string, n: number): string {
  return text.split('\n').map((l) => (l ? ' '.repeat(n) + l : l)).join('\n');
}

function comment(text: string): string {
  return text.split('\n').map((l) => `// ${l}`).join('\n');
}
