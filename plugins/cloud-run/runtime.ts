/**
 * The Cloud Run simulator's deploy-time work, loaded by `plugin.ts` on the first Cloud Run
 * deploy: most projects never deploy one, and this module and what it pulls in (the proxy,
 * prom-client, the YAML checker) would cost every devloop command tens of milliseconds at start.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { DevfileConfig, ServiceConfig } from '../../core/devfile/types.js';
import type { DeployContext } from '../../core/engine/contexts.js';
import type { Engine } from '../../core/engine/engine.js';
import { DevloopError } from '../../core/errors.js';
import { daemonMessage, DockerDaemon } from '../docker/client.js';
import { serviceArgv } from '../local-process/command.js';
import { isPortFree, nextFreePort, portTakenError } from '../shared/ports.js';
import { parseDurationMs } from '../shared/time.js';
import { DockerLauncher, ProcessLauncher, type InstanceLauncher } from './instances.js';
import { startMetadataServer, TokenSigner, type InstanceIdentity } from './metadata.js';
import { CloudRunMetrics, serveMetrics } from './metrics.js';
import { CloudRunService } from './service.js';
import { SCALING_PRESETS } from './data.js';
import { parseServiceYaml, specFromInline, validateSpec } from './spec.js';
import type { CloudRunPluginOptions } from './plugin.js';
import type { CloudRunSpec, EnvVar, ScalingSettings, TrafficTarget } from './types.js';


type SimulationSettings = NonNullable<NonNullable<DevfileConfig['simulation']>['cloudRun']>;

/** One engine's simulated services, the Docker daemon, metrics and the token signer. */
export class CloudRunRuntime {
  private readonly services = new Map<string, CloudRunService>();
  private readonly daemon = new DockerDaemon();
  private readonly metrics = new CloudRunMetrics();
  private readonly signer = new TokenSigner();
  private metricsServer?: Promise<{ url: string; close(): Promise<void> } | undefined>;
  private readonly toldLiveUpdate = new Set<string>();
  /** `service:port` pairs whose "port moved" warning was given this session. */
  private readonly portMovedSaid = new Set<string>();
  /** Images being brought back, by tag: concurrent cold starts share one rebuild. */
  private readonly restoring = new Map<string, Promise<void>>();

  constructor(private readonly engine: Engine, private readonly options: CloudRunPluginOptions) {}

  /** `deploy.for('cloud-run')`: spec -> revision -> traffic -> the service's front end. */
  async deploy(ctx: DeployContext): Promise<CloudRunService> {
    const sim = ctx.devfile.simulation?.cloudRun ?? {};
    const spec = loadSpec(ctx);
    for (const note of spec.unsupported) ctx.logger.warn(`${note.line ? `line ${note.line}: ` : ''}${note.path}: ${note.message}`);
    if (ctx.config.liveUpdate?.length && !this.toldLiveUpdate.has(ctx.service)) {
      this.toldLiveUpdate.add(ctx.service);
      ctx.logger.info(`services.${ctx.service}.liveUpdate does not apply on the cloud-run runtime: each change makes a new revision (new instances would not have synced files)`);
    }
    if (this.options.metrics !== false) {
      this.metricsServer ??= startMetrics(this.engine, this.metrics, sim.metricsPort);
      await this.metricsServer;
    }
    const settings = scalingSettings(sim, this.options.scaling);
    const built = Boolean(ctx.config.build);
    const { launcher, key } = await chooseLauncher(ctx, spec, sim, this.daemon, (image, revision, signal) => this.restoreImage(ctx.service, built, image, revision, signal));
    // Secret values are redacted from every log line, as the Devfile's secret-looking env is.
    const env = await instanceEnv(ctx, spec, sim, (value) => this.engine.redactor.add(value));

    let service = ctx.previous instanceof CloudRunService ? ctx.previous : this.services.get(ctx.service);
    const wantedPort = ctx.config.port ?? spec.template.port.containerPort;
    if (service && service.wantedPort !== wantedPort) {
      // The URL's port changed in the Devfile: the service starts over on the new one.
      ctx.logger.info(`port changed from ${service.wantedPort} to ${wantedPort}; restarting ${spec.name} there (revisions start over)`);
      await service.stop('its port changed');
      service = undefined;
    }
    if (!service) {
      // Another runtime's deployment holds the service's port: it goes first.
      if (ctx.previous && !(ctx.previous instanceof CloudRunService)) await ctx.previous.stop('replaced by the Cloud Run simulator');
      service = new CloudRunService({
        service: ctx.service,
        port: wantedPort,
        explicitPort: explicitPort(ctx),
        portMoved: (wanted, port, owner) => {
          // Said once a session: a restart or a port edit back and forth would repeat it otherwise.
          const key = `${ctx.service}:${wanted}`;
          if (this.portMovedSaid.has(key)) { ctx.logger.info(`${spec.name} is at port ${port} (${wanted} is still in use)`); return; }
          this.portMovedSaid.add(key);
          ctx.logger.warn(`port ${wanted} is in use${owner ? ` by ${owner}` : ''}; ${spec.name} is at port ${port} instead (${replacing(ctx) ? 'pass --port' : `set services.${ctx.service}.port`} to choose one)`);
        },
        settings,
        logger: ctx.logger,
        dispatch: ctx.dispatch,
        metrics: this.metrics,
        requestLogs: sim.requestLogs ?? false,
        tracing: this.engine.tracing,
        tracePreset: sim.preset ?? 'dev',
        frontEnd: this.options.frontEnd,
        host: sim.host,
      });
      this.services.set(ctx.service, service);
      const created = service;
      const stop = created.stop.bind(created);
      created.stop = async (reason) => { if (this.services.get(ctx.service) === created) this.services.delete(ctx.service); await stop(reason); };
    }
    service.backend = launcher.kind;
    const hostAddress = await launcher.hostAddress();
    const identity = (instanceId: string, revision: string): InstanceIdentity => ({
      projectId: sim.projectId ?? spec.namespace ?? 'local-project',
      numericProjectId: '000000000000',
      region: sim.region ?? spec.region ?? 'us-central1',
      instanceId,
      service: spec.name,
      revision,
      serviceAccountEmail: spec.template.serviceAccountName ?? '000000000000-compute@developer.gserviceaccount.com',
    });
    await service.deploy({
      spec,
      key,
      signal: ctx.signal,
      deps: {
        launcher,
        settings,
        env,
        coldStartDelayMs: durationMs(sim.coldStartDelay, 0, 'simulation.cloudRun.coldStartDelay'),
        metadata: (instanceId, revision) => startMetadataServer(identity(instanceId, revision), {
          hosts: hostAddress === '127.0.0.1' ? ['127.0.0.1'] : ['127.0.0.1', hostAddress],
          signer: this.signer,
        }),
      },
    });
    ctx.logger.info(`${spec.name} at ${service.endpoints.map((e) => e.url).join(', ')} (instances: ${launcher.kind === 'docker' ? 'containers' : 'processes'})`);
    return service;
  }

  /** `devloop cloudrun update-traffic`, arriving as a plugin action; the outcome goes back through the store. */
  updateTraffic(action: { payload?: unknown }): void {
    const { service: name, traffic, id } = (action.payload ?? {}) as { service?: string; traffic?: TrafficTarget[]; id?: string };
    const report = (result: { ok: boolean; error?: string; hint?: string }) => {
      if (name) this.engine.dispatch({ type: 'service/extra', service: name, plugin: 'cloud-run-traffic', data: { id, ...result } });
    };
    const service = name ? this.services.get(name) : undefined;
    if (!service) { report({ ok: false, error: `no Cloud Run service named "${name}" is running` }); return; }
    const spec = service.currentSpec;
    const problems = spec && Array.isArray(traffic) ? validateSpec({ ...spec, traffic }).filter((i) => i.path.startsWith('spec.traffic')) : [];
    if (!spec || !Array.isArray(traffic) || problems.length) {
      report({ ok: false, error: problems.map((i) => `${i.path}: ${i.message}`).join('\n') || 'no traffic given' });
      return;
    }
    try {
      service.updateTraffic(traffic);
      report({ ok: true });
    } catch (err) {
      report({ ok: false, error: err instanceof Error ? err.message : String(err), hint: err instanceof DevloopError ? err.hint : undefined });
    }
  }

  /**
   * An instance's image is gone (`docker rmi`, a prune while scaled to zero): the engine's own
   * run of the service builds it again (a Dockerfile or an esbuild bundle on its base image
   * alike, under the same content-addressed tag); an image devloop does not build is pulled.
   * Resolves once the tag exists again. A stopping revision stops waiting, not the rebuild.
   */
  private restoreImage(service: string, built: boolean, image: string, revision: string, signal?: AbortSignal): Promise<void> {
    let restoring = this.restoring.get(image);
    if (!restoring) {
      this.engine.logger(service).warn(`${revision}: image ${image} is gone (removed outside devloop?); ${built ? 'rebuilding' : 'pulling'} it and starting the instance again`);
      restoring = (built ? rebuildImage(this.engine, this.daemon, service, image) : pullImage(this.daemon, image, this.engine.signal))
        .finally(() => this.restoring.delete(image));
      restoring.catch(() => {});
      this.restoring.set(image, restoring);
    }
    if (!signal) return restoring;
    return Promise.race([restoring, new Promise<never>((_, reject) => {
      if (signal.aborted) reject(new Error('the revision stopped'));
      else signal.addEventListener('abort', () => reject(new Error('the revision stopped')), { once: true });
    })]);
  }

  async shutdown(): Promise<void> {
    await Promise.all([...this.services.values()].map((s) => s.stop('devloop is stopping')));
    const m = await this.metricsServer;
    await m?.close();
  }
}

/** Prometheus' usual port for an exporter; moved when taken, as nobody asked for it. */
const DEFAULT_METRICS_PORT = 9464;

async function startMetrics(engine: Engine, metrics: CloudRunMetrics, asked: number | undefined) {
  // The session's sources are read in-process too (the dashboard's charts), so the series join
  // them whether or not a plugin serves them.
  const remove = engine.metrics.add({ name: 'devloop:cloud-run', collect: () => metrics.metrics() });
  // With devloop:monitoring serving the session's /metrics, the series go there instead.
  if (engine.metrics.claimedBy) {
    if (asked !== undefined) engine.logger().info(`simulation.cloudRun.metricsPort is not used: the Cloud Run series are served with the session's, at ${engine.metrics.url ?? 'the monitoring endpoint'}`);
    return { url: engine.metrics.url ?? '', close: async () => remove() };
  }
  const server = await serveOwnMetrics(engine, metrics, asked);
  return server ? { url: server.url, close: async () => { remove(); await server.close(); } } : { url: '', close: async () => remove() };
}

async function serveOwnMetrics(engine: Engine, metrics: CloudRunMetrics, asked: number | undefined) {
  try {
    // An asked-for port is not swapped for another: a scraper set up for it would read whatever holds it.
    if (asked !== undefined && !(await isPortFree(asked))) {
      const taken = portTakenError(asked, 'simulation.cloudRun.metricsPort', 'set simulation.cloudRun.metricsPort to a free port, or remove it to take the next free one after 9464');
      engine.logger().warn(`Cloud Run metrics endpoint not started: ${taken.message}; ${taken.hint}`);
      return undefined;
    }
    const server = await serveMetrics(metrics, { port: asked ?? await nextFreePort(DEFAULT_METRICS_PORT) });
    engine.logger().info(`Cloud Run simulator metrics at ${server.url}`);
    return server;
  } catch (err) {
    engine.logger().warn(`Cloud Run metrics endpoint not started: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
}

/** A `devloop cloudrun replace` session: its service comes from a YAML file, with no Devfile to edit. */
function replacing(ctx: Pick<DeployContext, 'command'>): boolean {
  return ctx.command?.startsWith('cloudrun replace') ?? false;
}

/**
 * Where the service URL's port was asked for by name, if it was: `--port` of `cloudrun replace`,
 * or the Devfile's `port`. A port that only follows the container port (8080 unless service.yaml
 * says otherwise) was not asked for, and moves when taken.
 */
function explicitPort(ctx: Pick<DeployContext, 'service' | 'config' | 'command'>): { field: string; instead: string } | undefined {
  if (ctx.config.port === undefined) return undefined;
  if (replacing(ctx)) return { field: '--port', instead: 'pass another --port, or leave --port out to take the next free port' };
  return { field: `services.${ctx.service}.port`, instead: `set services.${ctx.service}.port in Devfile.ts to a free port, or remove it to take the next free port after the container port` };
}

/** The Knative spec of a service: its service.yaml, else its inline options. */
export function loadSpec(ctx: Pick<DeployContext, 'root' | 'service' | 'config'>): CloudRunSpec {
  const cr = ctx.config.cloudRun ?? {};
  if (cr.service) {
    const file = path.resolve(ctx.root, cr.service);
    if (!existsSync(file)) {
      throw new DevloopError(`services.${ctx.service}.cloudRun.service: ${cr.service} does not exist`, {
        code: 'CLOUD_RUN_SPEC', service: ctx.service, exitCode: 2,
        hint: `give the path of a Knative Service YAML relative to the Devfile (gcloud run services describe ${ctx.service} --format export > ${cr.service})`,
      });
    }
    const spec = parseServiceYaml(readFileSync(file, 'utf8'), path.relative(ctx.root, file) || file);
    // Devfile fields given beside the YAML override it, so one file serves several setups.
    const t = spec.template;
    if (cr.containerConcurrency !== undefined) t.containerConcurrency = cr.containerConcurrency;
    if (cr.timeoutSeconds !== undefined) t.timeoutSeconds = cr.timeoutSeconds;
    if (cr.minScale !== undefined) t.minScale = cr.minScale;
    if (cr.maxScale !== undefined) t.maxScale = cr.maxScale;
    return spec;
  }
  return specFromInline(ctx.service, { ...cr, port: ctx.config.port }, `services.${ctx.service}.cloudRun`);
}

export function scalingSettings(sim: SimulationSettings, overrides: Partial<ScalingSettings> | undefined): ScalingSettings {
  const base = { ...SCALING_PRESETS[sim.preset ?? 'dev'] };
  if (sim.idleTimeout !== undefined) base.idleTimeoutMs = durationMs(sim.idleTimeout, base.idleTimeoutMs, 'simulation.cloudRun.idleTimeout');
  if (sim.scaleToZeroAfter !== undefined) base.scaleToZeroAfterMs = durationMs(sim.scaleToZeroAfter, base.scaleToZeroAfterMs, 'simulation.cloudRun.scaleToZeroAfter');
  if (sim.scaleToZero === false) base.scaleToZeroAfterMs = Number.POSITIVE_INFINITY;
  return { ...base, ...overrides };
}

/** `2s`, `500ms`, `1m`, or a number of ms. */
export function durationMs(value: string | number | undefined, fallback: number, field: string): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return value;
  const ms = parseDurationMs(value);
  if (ms === undefined) throw new DevloopError(`${field}: expected a duration like "2s", "500ms" or "15m", got ${JSON.stringify(value)}`, { code: 'CLOUD_RUN_SPEC', exitCode: 2 });
  return ms;
}

/** How long a cold start waits for its image to be rebuilt (the request's own timeout usually ends it first). */
const REBUILD_WAIT_MS = 10 * 60_000;

/**
 * Triggers the service's pipeline (build, push, deploy: the deploy of an unchanged service keeps
 * its revision) and resolves once `image` exists again; rejects with the run's error, or when the
 * run deployed without making that tag (the sources changed since the revision was built).
 */
function rebuildImage(engine: Engine, daemon: DockerDaemon, service: string, image: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      unsubscribe();
      clearInterval(poll);
      clearTimeout(timer);
      engine.signal.removeEventListener('abort', onStop);
      if (err) reject(err); else resolve();
    };
    const check = (otherwise?: string) => void daemon.docker.getImage(image).inspect().then(
      () => finish(),
      () => { if (otherwise) finish(new Error(otherwise)); },
    );
    const unsubscribe = engine.subscribe((_state, action) => {
      if (!('service' in action) || action.service !== service) return;
      if (action.type === 'service/failed') finish(new DevloopError(`the rebuild failed: ${action.error.message}`, { code: 'IMAGE_MISSING', service, hint: action.error.hint }));
      else if (action.type === 'deploy/finished') check(`the build now makes ${action.image ?? 'no image'}, not ${image} (the sources changed since this revision was built)`);
    });
    const poll = setInterval(() => check(), 250);
    const timer = setTimeout(() => finish(new Error(`it was not back within ${REBUILD_WAIT_MS / 60_000} min`)), REBUILD_WAIT_MS);
    const onStop = () => finish(new Error('devloop is stopping'));
    engine.signal.addEventListener('abort', onStop, { once: true });
    engine.trigger(service, { reason: 'image-missing', files: [] });
  });
}

async function pullImage(daemon: DockerDaemon, image: string, signal: AbortSignal): Promise<void> {
  try {
    const stream = (await daemon.docker.pull(image, { abortSignal: signal } as never)) as NodeJS.ReadableStream;
    await new Promise<void>((resolve, reject) => daemon.docker.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => {
      const failed = err?.message ?? out?.find((m) => m.error)?.error;
      if (failed) reject(new Error(failed)); else resolve();
    }));
  } catch (err) {
    throw new Error(`cannot pull ${image}: ${daemonMessage(err)}`);
  }
}

async function chooseLauncher(
  ctx: DeployContext, spec: CloudRunSpec, sim: SimulationSettings, daemon: DockerDaemon,
  onImageMissing: (image: string, revision: string, signal?: AbortSignal) => Promise<void>,
): Promise<{ launcher: InstanceLauncher; key: string }> {
  const image = ctx.image ?? ctx.build.image ?? (ctx.config.build ? undefined : ctx.config.image ?? spec.template.image);
  const want = sim.instances ?? 'auto';
  const templateKey = JSON.stringify(spec.template);
  const envKey = JSON.stringify(ctx.env);
  if (want === 'docker' || (want === 'auto' && image && (await daemon.reachable()))) {
    if (!image) {
      throw new DevloopError(`services.${ctx.service} has no image for Cloud Run containers`, {
        code: 'NO_IMAGE', service: ctx.service,
        hint: `give it build: { type: 'docker' }, an image, or spec.template.spec.containers[0].image in its service.yaml; or set simulation.cloudRun.instances: 'process'`,
      });
    }
    await daemon.connect();
    // An image devloop builds is there by now; one the Devfile or YAML only names may not be.
    const local = ctx.config.build ? image : await localImage(ctx, spec, daemon, image);
    const t = spec.template;
    // `cloudrun replace --command` is what a process instance runs: a container runs its image as the YAML says.
    const command = replacing(ctx) ? undefined : ctx.config.command;
    return {
      launcher: new DockerLauncher({
        docker: daemon.docker, root: ctx.root, image: local,
        entrypoint: t.command, cmd: t.args ?? (command ? (typeof command === 'string' ? ['/bin/sh', '-c', command] : command) : undefined),
        onImageMissing,
      }),
      key: JSON.stringify({ image: local, digest: ctx.build.digest, templateKey, envKey }),
    };
  }
  if (!spec.template.command && !ctx.config.command && replacing(ctx)) {
    // The service has no Devfile to set a command in: the flag is the way to say it.
    throw new DevloopError(`${ctx.service}: a process instance needs a command to run, and ${ctx.config.cloudRun?.service ?? 'the YAML'} gives the container none`, {
      code: 'NO_COMMAND', service: ctx.service, exitCode: 2,
      hint: `pass the command each instance runs, e.g. devloop ${ctx.command} --instances process --command "node server.js" (it gets $PORT), or set spec.template.spec.containers[0].command in the YAML`,
    });
  }
  const argv = spec.template.command ? [...spec.template.command, ...(spec.template.args ?? [])] : serviceArgv(ctx.service, ctx.config as ServiceConfig, ctx.build);
  const cwd = path.resolve(ctx.root, ctx.config.cwd ?? '.');
  return {
    launcher: new ProcessLauncher({ root: ctx.root, argv, cwd }),
    key: JSON.stringify({ argv, digest: ctx.build.digest, artifacts: ctx.build.artifacts, templateKey, envKey }),
  };
}

/** The annotation `gcloud run services describe --format export` writes with the image as deployed (a tag). */
export const USER_IMAGE_ANNOTATION = 'client.knative.dev/user-image';

/**
 * The image instances run, made sure to be on this machine before any revision is made: the
 * named one, else (for an exported digest `...@sha256:`) the tag the user deployed it from, which
 * the export carries in its user-image annotation, else the named one pulled. Fails saying how
 * to get the image (build or pull it), not as a container that did not listen.
 */
async function localImage(ctx: DeployContext, spec: CloudRunSpec, daemon: DockerDaemon, image: string): Promise<string> {
  const present = (ref: string) => daemon.docker.getImage(ref).inspect().then(() => true, () => false);
  if (await present(image)) return image;
  const digest = image.includes('@sha256:');
  const userImage = spec.template.annotations[USER_IMAGE_ANNOTATION] ?? spec.annotations[USER_IMAGE_ANNOTATION];
  if (digest && userImage && userImage !== image && await present(userImage)) {
    ctx.logger.info(`image ${image} is not on this machine; running ${userImage}, the image it was deployed from (annotation ${USER_IMAGE_ANNOTATION})`);
    return userImage;
  }
  ctx.logger.info(`image ${image} is not on this machine; pulling it`);
  try {
    await pullImage(daemon, image, ctx.signal);
    return image;
  } catch (err) {
    const why = err instanceof Error ? err.message.replace(/^cannot pull \S+: /, '') : String(err);
    // `cloudrun replace` puts the YAML's image in its generated config: the YAML is what to fix.
    const field = ctx.config.image && !replacing(ctx) ? `services.${ctx.service}.image` : 'spec.template.spec.containers[0].image';
    let hint: string;
    if (digest && userImage) {
      hint = `${image.split('@')[0]}@sha256:... is the digest gcloud's export names; the tag you deployed is in the annotation ${USER_IMAGE_ANNOTATION}: ${userImage}. Build it (docker build -t ${userImage} .) or pull it (docker pull ${userImage}) and deploy again: devloop runs it in place of the digest`;
    } else if (digest) {
      hint = `pull it (docker pull ${image}, after gcloud auth configure-docker for its registry), or set ${field} to a tag you build here (docker build -t my-service .)`;
    } else {
      hint = `build it (docker build -t ${image} .) or pull it (docker pull ${image}), or set ${field} to an image this machine has (docker images lists them)`;
    }
    throw new DevloopError(`${field}: image ${image} is not on this machine and could not be pulled (${why})`, {
      code: 'IMAGE_NOT_FOUND', service: ctx.service, exitCode: 2, cause: err, hint,
    });
  }
}

/** The env an instance gets: the Devfile's, then the spec's (secrets resolved). PORT and K_* are added later. */
export async function instanceEnv(ctx: DeployContext, spec: CloudRunSpec, sim: SimulationSettings, secret: (value: string) => void): Promise<Record<string, string>> {
  const env: Record<string, string> = { ...ctx.env };
  if ('PORT' in env) {
    throw new DevloopError(`services.${ctx.service}.env.PORT: PORT is reserved on Cloud Run`, {
      code: 'CLOUD_RUN_SPEC', service: ctx.service, exitCode: 2,
      hint: 'Cloud Run sets PORT from the container port; remove it and set the container port (services.' + ctx.service + '.port or ports[0].containerPort) instead',
    });
  }
  const secretsFile = path.resolve(ctx.root, sim.secretsFile ?? 'secrets.local.yaml');
  let secrets: Record<string, unknown> | undefined;
  const reported = new Set<string>();
  for (const [i, v] of spec.template.env.entries()) {
    if ('value' in v) { env[v.name] = v.value; continue; }
    secrets ??= readSecrets(secretsFile, ctx.service);
    env[v.name] = secretValue(secrets, v, i, secretsFile, ctx.root, ctx.service);
    secret(env[v.name]);
    reported.add(env[v.name]);
  }
  // Every value in the file is a secret, referenced or not: a service may read it some other way.
  if (secrets) for (const value of leafValues(secrets)) if (!reported.has(value)) secret(value);
  return env;
}

function readSecrets(file: string, service: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  const name = path.basename(file);
  const hint = 'the secrets file maps a secret name to its value, or to a map of version -> value ("latest", "1", ...)';
  let parsed: unknown;
  try {
    // logLevel 'error': the parser's warnings would print the offending line to stderr too.
    parsed = parseYaml(readFileSync(file, 'utf8'), { logLevel: 'error' }) as unknown;
  } catch (err) {
    // The parser's own message quotes the offending line, which is where the secret is: say
    // where and what only.
    const e = err as { message?: unknown; code?: unknown; linePos?: Array<{ line: number; col: number }> };
    const what = typeof e.message === 'string' ? e.message.split(/ at line \d+|:\n/)[0] : 'unreadable YAML';
    const at = e.linePos?.[0] ? `:${e.linePos[0].line}:${e.linePos[0].col}` : '';
    throw new DevloopError(`${name}${at}: ${what}${typeof e.code === 'string' ? ` (${e.code})` : ''}; the line is not shown because it holds secrets`, {
      code: 'CLOUD_RUN_SECRETS', service, exitCode: 2, hint: `fix the YAML in ${file}; ${hint}`,
    });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new DevloopError(`${name}: expected a map of secret names, got ${Array.isArray(parsed) ? 'a list' : `a ${typeof parsed}`}`, { code: 'CLOUD_RUN_SECRETS', service, exitCode: 2, hint });
  }
  return parsed as Record<string, unknown>;
}

function leafValues(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string' || typeof v === 'number') out.push(String(v));
  else if (v && typeof v === 'object') for (const x of Object.values(v)) leafValues(x, out);
  return out;
}

function secretValue(secrets: Record<string, unknown>, v: Extract<EnvVar, { secretKeyRef: unknown }>, index: number, file: string, root: string, service: string): string {
  const { name, key } = v.secretKeyRef;
  const entry = secrets[name];
  let value: unknown;
  if (typeof entry === 'string' || typeof entry === 'number') value = String(entry);
  else if (entry && typeof entry === 'object') {
    const versions = entry as Record<string, unknown>;
    value = versions[key] ?? (key === 'latest' ? latestVersion(versions) : undefined);
  }
  if (typeof value !== 'string' && typeof value !== 'number') {
    const rel = path.relative(root, file) || file;
    throw new DevloopError(`spec.template.spec.containers[0].env[${index}] (${v.name}): secret "${name}" version "${key}" is not in ${rel}`, {
      code: 'CLOUD_RUN_SECRETS', service, exitCode: 2,
      hint: `add it to ${rel} (keep that file out of git):\n  ${name}:\n    ${JSON.stringify(key)}: "<value>"`,
    });
  }
  return String(value);
}

function latestVersion(versions: Record<string, unknown>): unknown {
  const numbered = Object.keys(versions).filter((k) => /^\d+$/.test(k)).sort((a, b) => Number(b) - Number(a));
  return numbered.length ? versions[numbered[0]] : undefined;
}
