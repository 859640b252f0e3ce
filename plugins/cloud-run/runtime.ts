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
import { nextFreePort } from '../shared/ports.js';
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
        settings,
        logger: ctx.logger,
        dispatch: ctx.dispatch,
        metrics: this.metrics,
        requestLogs: sim.requestLogs ?? false,
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

async function startMetrics(engine: Engine, metrics: CloudRunMetrics, port = 9464) {
  try {
    const server = await serveMetrics(metrics, { port: await nextFreePort(port) });
    engine.logger().info(`Cloud Run simulator metrics at ${server.url}`);
    return server;
  } catch (err) {
    engine.logger().warn(`Cloud Run metrics endpoint not started: ${err instanceof Error ? err.message : String(err)}`);
    return undefined;
  }
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
    const t = spec.template;
    const command = ctx.config.command;
    return {
      launcher: new DockerLauncher({
        docker: daemon.docker, root: ctx.root, image,
        entrypoint: t.command, cmd: t.args ?? (command ? (typeof command === 'string' ? ['/bin/sh', '-c', command] : command) : undefined),
        onImageMissing,
      }),
      key: JSON.stringify({ image, digest: ctx.build.digest, templateKey, envKey }),
    };
  }
  const argv = spec.template.command ? [...spec.template.command, ...(spec.template.args ?? [])] : serviceArgv(ctx.service, ctx.config as ServiceConfig, ctx.build);
  const cwd = path.resolve(ctx.root, ctx.config.cwd ?? '.');
  return {
    launcher: new ProcessLauncher({ root: ctx.root, argv, cwd }),
    key: JSON.stringify({ argv, digest: ctx.build.digest, artifacts: ctx.build.artifacts, templateKey, envKey }),
  };
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
