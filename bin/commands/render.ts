/**
 * `devloop render`: with services on Kubernetes, the objects devloop would apply for them, as
 * `skaffold render` prints them: a YAML stream (`---`) to read or pipe to `kubectl apply -f -`,
 * images substituted (the latest a running session built and pushed; else the name as written,
 * with a comment), labelled, namespaced. Otherwise, or with `--devfile`, the Devfile as devloop
 * resolved it for the selected environment (function form evaluated, env merged per environment),
 * as YAML, or JSON with `--output json`. Secret-looking env values are masked. With `--monitoring`,
 * the project's Prometheus rules as files (render-monitoring.ts). With `--target gke|cloudrun`,
 * what production needs for the `--env` environment (plugins/production/render.ts): a YAML stream
 * on stdout, or files under `--out DIR` whose paths are printed; notes (placeholder images,
 * skipped services) go to stderr.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import type { LoadedDevfile } from '../../core/devfile/load.js';
import { serviceEnv } from '../../core/engine/env.js';
import { looksSecret, Redactor } from '../../core/engine/redact.js';
import { DevloopError } from '../../core/errors.js';
import { findSession, sessionState } from '../../core/session/client.js';
import { repositoryOf } from '../../plugins/kubernetes/manifests.js';
import { EXIT, load, type GlobalOptions } from '../shared.js';

export interface RenderOptions {
  /** Only these services' objects. */
  services?: string[];
  /** The resolved Devfile even when services deploy to a cluster. */
  devfile?: boolean;
  /** Write the recording and alerting rules (rule file, PrometheusRule, GMP Rules) instead. */
  monitoring?: boolean;
  /** Where `monitoring` or `target` writes, relative to the working folder. Default for `monitoring`: `.devloop/monitoring/rendered` in the project; for `target`: stdout. */
  out?: string;
  /** Production manifests for this platform instead (`gke` or `cloudrun`). */
  target?: string;
  /** With `target`: pushed images, `service=reference` each. */
  images?: string[];
}

/**
 * Images a running session of the project built and pushed, by service: what a deploy would put
 * in the manifests now. Only pushed references (`…@sha256:`): a local tag is not on the cluster.
 */
export async function knownImages(dir: string): Promise<Map<string, string>> {
  const images = new Map<string, string>();
  const session = await findSession(dir);
  if (!session) return images;
  try {
    for (const [name, s] of Object.entries((await sessionState(session)).services)) if (s.image?.includes('@sha256:')) images.set(name, s.image);
  } catch { /* the session is going away: as if none ran */ }
  return images;
}

export async function render(opts: GlobalOptions, renderOpts: RenderOptions = {}): Promise<number> {
  if (renderOpts.target !== undefined) return renderTarget(opts, renderOpts);
  if (renderOpts.images?.length) {
    throw new DevloopError('--image only applies to --target', { code: 'BAD_FLAGS', exitCode: 2, hint: 'devloop render --env prod --target gke --image api=REGISTRY/api@sha256:... renders production manifests with that image' });
  }
  if (renderOpts.out !== undefined && !renderOpts.monitoring) {
    throw new DevloopError('--out only applies to --monitoring or --target', { code: 'BAD_FLAGS', exitCode: 2, hint: 'devloop render --monitoring --out DIR writes the rule files to DIR, devloop render --env prod --target gke --out DIR the production manifests; plain render prints to stdout' });
  }
  if (renderOpts.monitoring && (renderOpts.devfile || renderOpts.services?.length)) {
    throw new DevloopError('--monitoring renders the whole project\'s rules: it takes no service names and no --devfile', { code: 'BAD_FLAGS', exitCode: 2, hint: 'run devloop render --monitoring [--out DIR] on its own' });
  }
  const loaded = await load(opts, 'render');
  if (renderOpts.monitoring) return (await import('./render-monitoring.js')).renderMonitoring(opts, loaded, renderOpts.out);
  for (const name of renderOpts.services ?? []) {
    if (!loaded.config.services[name]) throw new DevloopError(`no service named "${name}" in ${loaded.file}`, { code: 'UNKNOWN_SERVICE', exitCode: 2, hint: `services are: ${Object.keys(loaded.config.services).join(', ') || '(none)'}` });
  }
  if (!renderOpts.devfile) {
    const { kubernetesServices } = await import('../../plugins/kubernetes/preview.js');
    const k8s = kubernetesServices(loaded.config, opts.env, renderOpts.services);
    if (k8s.length) return renderObjects(opts, loaded, k8s.map(([name]) => name));
    if (renderOpts.services?.length) {
      throw new DevloopError(`${renderOpts.services.join(', ')}: no Kubernetes objects to render in environment "${opts.env}"`, { code: 'NO_K8S_SERVICE', exitCode: 2, hint: 'devloop render prints the objects of services with runtime \'kubernetes\'; "devloop render --devfile" prints the resolved Devfile' });
    }
  }
  return renderDevfile(opts, loaded);
}

/** `--target`: production manifests for `--env` (plugins/production/render.ts), to stdout or under `--out`. */
async function renderTarget(opts: GlobalOptions, renderOpts: RenderOptions): Promise<number> {
  const target = renderOpts.target;
  if (target !== 'gke' && target !== 'cloudrun') {
    throw new DevloopError(`unknown --target "${target}"`, { code: 'BAD_TARGET', exitCode: 2, hint: 'devloop render --env prod --target gke (or --target cloudrun)' });
  }
  if (renderOpts.monitoring || renderOpts.devfile || renderOpts.services?.length) {
    throw new DevloopError('--target renders the whole project for one environment: it takes no service names, no --devfile and no --monitoring', {
      code: 'BAD_FLAGS', exitCode: 2, hint: `run devloop render --env ${opts.env} --target ${target} [--out DIR] on its own (with a monitoring block, the rules are part of it)`,
    });
  }
  const images = new Map<string, string>();
  for (const pair of renderOpts.images ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0 || eq === pair.length - 1) {
      throw new DevloopError(`--image "${pair}" is not service=reference`, { code: 'BAD_FLAGS', exitCode: 2, hint: '--image api=europe-docker.pkg.dev/PROJECT/REPO/api@sha256:...' });
    }
    images.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  const loaded = await load(opts, 'render');
  for (const name of images.keys()) {
    if (!loaded.config.services[name]) throw new DevloopError(`--image names "${name}", which is no service in ${loaded.file}`, { code: 'UNKNOWN_SERVICE', exitCode: 2, hint: `services are: ${Object.keys(loaded.config.services).join(', ') || '(none)'}` });
  }
  const { renderProductionWithNotes } = await import('../../plugins/production/render.js');
  const { files, notes } = await renderProductionWithNotes(loaded, { env: opts.env, target, images });
  if (opts.output !== 'json') for (const n of notes) process.stderr.write(`note: ${n}\n`);
  if (renderOpts.out === undefined) {
    process.stdout.write(opts.output === 'json'
      ? `${JSON.stringify({ environment: opts.env, target, files: files.map((f) => ({ path: f.path, objects: f.objects })), notes }, null, 2)}\n`
      : files.map((f) => `# Source: ${f.path}\n${f.text}`).join('---\n'));
    return EXIT.ok;
  }
  const dir = path.resolve(opts.cwd, renderOpts.out);
  const written: string[] = [];
  for (const f of files) {
    const file = path.join(dir, f.path);
    try {
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, f.text);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new DevloopError(`cannot write ${file}: ${e.code ?? e.message}`, { code: 'RENDER_WRITE_FAILED', cause: err, hint: 'pick a writable folder with --out DIR' });
    }
    written.push(file);
  }
  process.stdout.write(opts.output === 'json' ? `${JSON.stringify({ environment: opts.env, target, dir, files: written, notes }, null, 2)}\n` : `${written.join('\n')}\n`);
  return EXIT.ok;
}

async function renderObjects(opts: GlobalOptions, loaded: LoadedDevfile, services: string[]): Promise<number> {
  const [preview, { pickContext }] = await Promise.all([import('../../plugins/kubernetes/preview.js'), import('../../plugins/kubernetes/context.js')]);
  const images = await knownImages(loaded.dir);
  // The namespace of objects that name none comes from the context; rendering needs no cluster.
  let namespace = 'default';
  let contextNote = 'no kube context: objects without a namespace get "default"';
  try {
    const target = await pickContext(loaded.config);
    namespace = target.namespace;
    contextNote = `context ${target.context}`;
  } catch (err) {
    contextNote = `no kube context (${err instanceof Error ? err.message : String(err)}): objects without a namespace get "default"`;
  }
  const docs: string[] = [];
  const items: unknown[] = [];
  for (const service of services) {
    const prepared = await preview.prepareService(loaded.config, loaded.dir, opts.env, service, namespace, images);
    for (const { object, source } of prepared.objects) {
      items.push(object);
      const notes = [`# Source: ${source} (service ${service}, ${contextNote})`];
      for (const name of prepared.unbuilt) {
        if (preview.imagesIn(object).some((i) => repositoryOf(i) === name)) notes.push(`# image "${name}": not built yet (no running session knows it); a deploy puts the pushed reference here`);
      }
      docs.push(`${notes.join('\n')}\n${stringify(object, { lineWidth: 0 })}`);
    }
  }
  process.stdout.write(opts.output === 'json' ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2)}\n` : docs.map((d) => `---\n${d}`).join(''));
  return EXIT.ok;
}

function renderDevfile(opts: GlobalOptions, loaded: LoadedDevfile): number {
  const cfg = loaded.config;
  const services = Object.fromEntries(Object.entries(cfg.services).map(([name, svc]) => {
    const env = Object.fromEntries(Object.entries(serviceEnv(cfg, svc, opts.env)).map(([k, v]) => [k, looksSecret(k) ? '[redacted]' : v]));
    const { envByEnvironment: _merged, ...rest } = svc;
    return [name, { ...rest, env }];
  }));
  const plugins = (cfg.plugins ?? []).map((p) => (typeof p === 'string' ? p : Array.isArray(p) ? { [p[0]]: p[1] } : `inline: ${p.name}`));
  // The merged env is masked by name above; a secret's value can also sit elsewhere (the raw
  // `environments` blocks, a test command that uses it): every declared secret value, from every
  // environment, is redacted from the whole document.
  const redactor = new Redactor();
  redactor.addEnv(process.env, { ambient: true });
  for (const mode of new Set([opts.env, ...Object.keys(cfg.environments ?? {})])) {
    for (const svc of Object.values(cfg.services)) redactor.addEnv(serviceEnv(cfg, svc, mode));
  }
  const doc = redactor.redactDeep({ devfile: loaded.file, environment: opts.env, ...cfg, plugins, services });
  process.stdout.write(opts.output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc));
  return EXIT.ok;
}
