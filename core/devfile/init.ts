/**
 * What `devloop init` writes: a starter Devfile.ts, or one converted from gke-local.yaml. The
 * output is checked by the tests to load and validate, so a fresh project starts green.
 */
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parseGkeLocalYaml, type GkeLocalYaml } from './gke-local.js';
import type { DevfileConfig } from './types.js';

export type { GkeLocalYaml } from './gke-local.js';

export interface RenderDevfileOptions {
  /** Project name. */
  name: string;
  /** Settings converted from gke-local.yaml; the example service is then left commented out. */
  from?: GkeLocalYaml;
  /** The example service's esbuild entry. Default `src/server.ts`. */
  entry?: string;
}

const EXAMPLE_SERVICE = (entry = 'src/server.ts') => `api: {
  // Changes under these paths rebuild the service (relative to this file).
  src: ['src'],
  // Bundled with esbuild and run by node: no Dockerfile needed to start. For a container,
  // use { type: 'docker', context: '.' } and drop "runtime".
  build: { type: 'esbuild', entry: '${entry}' },
  runtime: 'process',
  // Passed to the service as PORT; devloop waits for it before calling the service healthy.
  port: 8080,
  health: { http: '/healthz' },
  env: { LOG_LEVEL: 'debug' },
},`;

/**
 * gke-local.yaml's `model_serving` was an on/off switch with no model files, so it converts to
 * `modelServing: true`, which serves nothing: this says how to name the models.
 */
const MODELS_NOTE = [
  `// modelServing: true serves no model yet. List each model file to serve it as a service of its own:`,
  `//   modelServing: { models: [{ name: 'gemma', path: 'models/gemma.onnx' }] },`,
].join('\n');

export function renderDevfile(options: RenderDevfileOptions): string {
  const converted = options.from ? fromGkeLocal(options.from) : {};
  const services = options.from
    ? `services: {\n${indent(`// gke-local.yaml described the platform, not your services: add one entry per service,\n// for example:\n${comment(EXAMPLE_SERVICE())}`, 2)}\n},`
    : `services: {\n${indent(EXAMPLE_SERVICE(options.entry), 2)}\n},`;
  const rest = Object.entries(converted).map(([key, value]) => `${key === 'ai' && converted.ai?.modelServing === true ? `${MODELS_NOTE}\n` : ''}${key}: ${literal(value, '')},`);
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
 * What `devloop init` found in the folder it runs in. Pure data, so detection is testable without
 * a disk: `files` are the folder's entry names (top level), the rest the text of the files that
 * matter when present.
 */
export interface ProjectScan {
  files: string[];
  packageJson?: string;
  dockerfile?: string;
  serviceYaml?: string;
}

export interface InitPlan {
  /** The Devfile.ts source. */
  devfile: string;
  /** Other files to create (relative path -> text), written only where nothing exists yet. */
  files: Record<string, string>;
  /** What the Devfile was made from, for the CLI's message. */
  detected: 'service.yaml' | 'Dockerfile' | 'package.json' | 'starter';
}

const STARTER_SERVER = `// A starter HTTP service written by "devloop init". devloop passes PORT and HOST.
import { createServer } from 'node:http';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? '127.0.0.1';

createServer((req, res) => {
  if (req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    return;
  }
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ hello: 'world', path: req.url }));
}).listen(port, host, () => console.log(\`listening on http://\${host}:\${port}\`));
`;

/**
 * The Devfile for the project `init` runs in: a service.yaml (Cloud Run, built from the
 * Dockerfile when there is one), else a Dockerfile (docker build, port from EXPOSE), else a
 * package.json with a start script or main (run as a local process), else a starter service
 * (src/server.js, bundled by esbuild) that is written too.
 */
export function planInit(name: string, scan: ProjectScan): InitPlan {
  const has = (f: string) => scan.files.includes(f);
  const dockerfile = has('Dockerfile') ? scan.dockerfile ?? '' : undefined;
  const port = dockerfile === undefined ? 8080 : exposedPort(dockerfile);
  const dockerBuild = [`// Built from ./Dockerfile; EXPOSE (else 8080) is the port passed as PORT.`, `build: { type: 'docker', context: '.' },`, `port: ${port},`];

  if (has('service.yaml')) {
    const service = serviceName(cloudRunName(scan.serviceYaml), 'app');
    const body = [
      `// Settings from service.yaml (as "gcloud run services describe --format export" prints it).`,
      `cloudRun: { service: 'service.yaml' },`,
      ...(dockerfile !== undefined ? dockerBuild : [`// Without a build, the image named in service.yaml runs.`]),
    ];
    return { devfile: devfileText(name, `// service.yaml served the way Cloud Run serves it. Run "devloop up" to start.`, service, body, `simulation: { cloudRun: { enabled: true } },`), files: {}, detected: 'service.yaml' };
  }
  if (dockerfile !== undefined) {
    return { devfile: devfileText(name, `// The Dockerfile's image, built and run in a container. Run "devloop up" to start.`, 'app', [...dockerBuild, `runtime: 'docker',`]), files: {}, detected: 'Dockerfile' };
  }
  const pkg = has('package.json') ? parsePackageJson(scan.packageJson) : undefined;
  const start = typeof pkg?.scripts?.start === 'string' && pkg.scripts.start.trim() ? 'npm start' : typeof pkg?.main === 'string' && pkg.main.trim() ? `node ${pkg.main.trim()}` : undefined;
  if (start) {
    const body = [
      `// Runs as a local process, restarted when a file in the folder changes.`,
      `runtime: 'process',`,
      `command: ${quote(start)},`,
      `// Passed as PORT (and HOST 127.0.0.1): listen there. devloop waits for it before calling the service healthy.`,
      `port: 8080,`,
    ];
    return { devfile: devfileText(name, `// package.json's ${start === 'npm start' ? 'start script' : 'main'}, run as a local process. Run "devloop up" to start.`, serviceName(pkg?.name, 'app'), body), files: {}, detected: 'package.json' };
  }
  return {
    devfile: renderDevfile({ name, entry: 'src/server.js' }),
    files: { 'src/server.js': STARTER_SERVER },
    detected: 'starter',
  };
}

function devfileText(name: string, headline: string, service: string, body: string[], top?: string): string {
  const key = /^[A-Za-z_$][\w$]*$/.test(service) ? service : quote(service);
  return [
    `import { defineDevfile } from 'devloop';`,
    ``,
    headline,
    `// defineDevfile() only adds types: hover a field in your editor for what it does.`,
    `export default defineDevfile({`,
    indent([`name: ${quote(name)},`, ...(top ? [top] : []), `services: {`, indent(`${key}: {\n${indent(body.join('\n'), 2)}\n},`, 2), `},`].join('\n'), 2),
    `});`,
    ``,
  ].join('\n');
}

function exposedPort(dockerfile: string): number {
  const m = /^\s*EXPOSE\s+(\d+)/im.exec(dockerfile);
  const port = m ? Number(m[1]) : NaN;
  return port > 0 && port < 65536 ? port : 8080;
}

function cloudRunName(text: string | undefined): string | undefined {
  try {
    const doc = parseYaml(text ?? '') as { metadata?: { name?: unknown } } | null;
    return typeof doc?.metadata?.name === 'string' ? doc.metadata.name : undefined;
  } catch {
    return undefined;
  }
}

function parsePackageJson(text: string | undefined): { name?: unknown; main?: unknown; scripts?: Record<string, unknown> } | undefined {
  try {
    const v = JSON.parse(text ?? '');
    return v && typeof v === 'object' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** A DNS-1123 label made from `raw` (a package or service name), else `fallback`. */
function serviceName(raw: unknown, fallback: string): string {
  if (typeof raw !== 'string') return fallback;
  const s = raw.replace(/^@[^/]*\//, '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '').slice(0, 63).replace(/-+$/, '');
  return s || fallback;
}

/**
 * Editor types for `import ... from 'devloop'` without publishing devloop: `.devloop/types/devloop.d.ts`
 * re-exports the types of the devloop install at `typesFile` (machine-specific, so under the ignored
 * `.devloop/`), and tsconfig's `paths` maps `devloop` to it. (An ambient `declare module 'devloop'`
 * cannot re-export from an absolute path: TS2439.)
 */
export const TYPES_SHIM = '.devloop/types/devloop.d.ts';

export function renderTypesShim(typesFile: string): string {
  const spec = typesFile.split(path.sep).join('/').replace(/\.d\.ts$/, '.js').replace(/\.ts$/, '.js');
  return [
    `// Written by "devloop init": the types of the devloop that runs this project, for editors and tsc.`,
    `// tsconfig.json maps 'devloop' here. Not committed (the path is this machine's): "devloop init" writes it again.`,
    `export * from ${JSON.stringify(spec)};`,
    ``,
  ].join('\n');
}

/** A tsconfig.json for a project that has none: checks the Devfile, with `devloop` mapped to the shim. */
export function renderTsconfig(): string {
  return `${JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler', strict: true, noEmit: true, skipLibCheck: true,
      paths: { devloop: [`./${TYPES_SHIM}`] },
    },
    include: ['Devfile.ts'],
  }, null, 2)}\n`;
}

/**
 * Adds `paths.devloop` to an existing tsconfig.json when that can be done without losing anything:
 * plain JSON (no comments), no `extends` (local paths would hide inherited ones) and no `baseUrl`.
 * Otherwise `note` says what to add by hand. `text` is undefined when nothing is to be written.
 */
export function mergeTsconfig(existing: string): { text?: string; note?: string } {
  const line = `"paths": { "devloop": ["./${TYPES_SHIM}"] }`;
  let cfg: { extends?: unknown; compilerOptions?: { baseUrl?: unknown; paths?: Record<string, unknown> } };
  try {
    cfg = JSON.parse(existing);
  } catch {
    return { note: `tsconfig.json is not plain JSON; add to its compilerOptions: ${line}` };
  }
  if (!cfg || typeof cfg !== 'object' || Array.isArray(cfg)) return { note: `add to tsconfig.json's compilerOptions: ${line}` };
  if (cfg.compilerOptions?.paths && 'devloop' in cfg.compilerOptions.paths) return {};
  if (cfg.extends !== undefined || cfg.compilerOptions?.baseUrl !== undefined) return { note: `tsconfig.json has extends or baseUrl; add to its compilerOptions (relative to baseUrl): ${line}` };
  const compilerOptions = { ...(cfg.compilerOptions ?? {}), paths: { ...(cfg.compilerOptions?.paths ?? {}), devloop: [`./${TYPES_SHIM}`] } };
  const indentWidth = /^\{\s*\n( +)/.exec(existing)?.[1].length ?? 2;
  return { text: `${JSON.stringify({ ...cfg, compilerOptions }, null, indentWidth)}\n` };
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
