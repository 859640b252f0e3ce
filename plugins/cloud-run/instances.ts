/**
 * Cloud Run instances: one container (Docker) or one process group (no daemon, or a service
 * built to run as a process) per instance. A launcher starts an instance with Cloud Run's
 * contract (PORT, K_SERVICE, K_REVISION, K_CONFIGURATION, the metadata server), says where
 * requests go, reports its exit, and stops it the way Cloud Run does: SIGTERM, a grace period,
 * then SIGKILL.
 *
 * Containers are not published on host ports: the proxy reaches each one on its bridge address
 * (172.17.x.y:PORT), so every instance listens on the same container port as on Cloud Run and no
 * docker-proxy sits in the request path. Processes share the host, so each gets its own PORT.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import type Docker from 'dockerode';
import type { ResourceUsage } from '../../core/engine/contexts.js';
import { DevloopError } from '../../core/errors.js';
import { daemonMessage, statusOf } from '../docker/client.js';
import { followLogs } from '../docker/container-logs.js';
import { sessionLabels } from '../docker/names.js';
import { childEnv } from '../shared/env.js';
import { findFreePort, LOCALHOST } from '../shared/ports.js';
import { spawnGroup, terminateGroup } from '../shared/process-group.js';
import { formatLogLine } from '../shared/logs.js';
import { sleep } from '../shared/time.js';
import { containerCgroup, containerUsage, processCpuSeconds, processGroupUsage, readCgroupCpu } from '../shared/usage.js';
import { PROBE_HTTP_SUCCESS } from './data.js';
import { admitMetadataCaller } from './metadata.js';
import type { Probe } from './types.js';

export const LABEL_REVISION = 'dev.devloop.cloudrun.revision';
export const LABEL_INSTANCE = 'dev.devloop.cloudrun.instance';

export interface InstanceExit {
  code: number | null;
  signal: string | null;
  oomKilled?: boolean;
}

export interface InstanceHandle {
  /** Where requests for this instance go. */
  host: string;
  port: number;
  /** `container devloop-x-api-1a2b3c` / `pid 1234`, for messages. */
  describe: string;
  /** Settles when the instance's process ends, for whatever reason. */
  exited: Promise<InstanceExit>;
  /** SIGTERM, up to `graceSeconds`, SIGKILL; removes the container. Idempotent. */
  stop(graceSeconds: number): Promise<void>;
  /** Changes the CPU the instance may use (containers only): CPU throttling and startup boost. */
  setCpu?(cpu: number): Promise<void>;
  /** CPU time used so far, in seconds, when it can be read (cgroup or /proc). */
  cpuSeconds?(): number | undefined;
  /** CPU time and memory now, for the session's metrics. */
  usage?(): ResourceUsage | undefined;
}

/** Docker refuses more CPUs than the machine has; instances get at most that. */
export function hostCpus(): number {
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/** Docker's smallest CPU quota (0.01 CPU): what a throttled instance gets between requests. */
export const THROTTLED_CPU = 0.01;

export interface LaunchRequest {
  service: string;
  revision: string;
  instanceId: string;
  /** The container port (`PORT` inside a container). */
  containerPort: number;
  /** Env of the instance, without PORT (the launcher sets it). */
  env: Record<string, string>;
  /** vCPU and bytes (limits for containers). */
  cpu: number;
  memoryBytes: number;
  /** The metadata server for this instance, by the address the instance reaches it at. */
  metadata?: (host: string) => string;
  onLine(line: string, stream: 'stdout' | 'stderr'): void;
  /** Aborted when the revision stops: a launch waiting on a rebuild gives up. */
  signal?: AbortSignal;
  /** Told while the launch waits for its image to be rebuilt (the queue bound waits too). */
  rebuilding?(on: boolean): void;
}

export interface InstanceLauncher {
  readonly kind: 'docker' | 'process';
  /** The address the instance reaches the host at (for the metadata server to listen on). */
  hostAddress(): Promise<string>;
  launch(req: LaunchRequest): Promise<InstanceHandle>;
}

// ------------------------------------------------------------------------------------------
// Docker

export interface DockerLaunchOptions {
  docker: Docker;
  root: string;
  image: string;
  /** Entrypoint / arguments overrides (`command` and `args` of the container spec). */
  entrypoint?: string[];
  cmd?: string[];
  /**
   * The image is gone from the daemon (`docker rmi`, a prune while scaled to zero): bring it
   * back, resolving once the tag exists again; the create is then retried once. Without it, or
   * when it rejects, the launch fails with the reason.
   */
  onImageMissing?(image: string, revision: string, signal?: AbortSignal): Promise<void>;
}

export class DockerLauncher implements InstanceLauncher {
  readonly kind = 'docker';
  private gateway?: Promise<string>;

  constructor(private readonly options: DockerLaunchOptions) {}

  hostAddress(): Promise<string> {
    this.gateway ??= this.options.docker.getNetwork('bridge').inspect().then(
      (n: { IPAM?: { Config?: Array<{ Gateway?: string }> } }) => n.IPAM?.Config?.find((c) => c.Gateway)?.Gateway ?? '172.17.0.1',
      () => '172.17.0.1',
    );
    return this.gateway;
  }

  async launch(req: LaunchRequest): Promise<InstanceHandle> {
    const { docker, root, image } = this.options;
    const gateway = await this.hostAddress();
    const env: Record<string, string> = { ...req.env, PORT: String(req.containerPort) };
    if (req.metadata) env.GCE_METADATA_HOST = req.metadata(gateway);
    const create = () => docker.createContainer({
      name: `devloop-${req.revision}-${req.instanceId.slice(0, 8)}`,
      Image: image,
      Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
      Labels: { ...sessionLabels(root, req.service), [LABEL_REVISION]: req.revision, [LABEL_INSTANCE]: req.instanceId },
      ...(this.options.entrypoint ? { Entrypoint: this.options.entrypoint } : {}),
      ...(this.options.cmd ? { Cmd: this.options.cmd } : {}),
      ExposedPorts: { [`${req.containerPort}/tcp`]: {} },
      HostConfig: {
        Init: true,
        Memory: req.memoryBytes,
        MemorySwap: req.memoryBytes,
        NanoCpus: Math.round(Math.min(req.cpu, hostCpus()) * 1e9),
        ExtraHosts: [`metadata.google.internal:${gateway}`],
        RestartPolicy: { Name: 'no' },
      },
    });
    let container: Docker.Container;
    try {
      container = await create();
    } catch (err) {
      if (!imageMissing(err) || !this.options.onImageMissing) throw createFailed(req, image, err);
      // Rebuilt once (concurrent cold starts share it), then the create is tried once more.
      req.rebuilding?.(true);
      try {
        await this.options.onImageMissing(image, req.revision, req.signal);
      } catch (why) {
        throw new DevloopError(`cannot create an instance of ${req.revision}: image ${image} is gone and could not be rebuilt: ${why instanceof Error ? why.message : String(why)}`, {
          code: 'IMAGE_MISSING', service: req.service, cause: why,
          hint: why instanceof DevloopError && why.hint ? why.hint : 'fix the build (its log says why) and save to deploy again',
        });
      } finally {
        req.rebuilding?.(false);
      }
      try {
        container = await create();
      } catch (again) {
        if (!imageMissing(again)) throw createFailed(req, image, again);
        throw new DevloopError(`cannot create an instance of ${req.revision}: image ${image} is missing again after a rebuild`, {
          code: 'IMAGE_MISSING', service: req.service, cause: again,
          hint: 'something removes devloop\'s images as they are built (an image prune loop?); stop it and send the request again',
        });
      }
    }
    const remove = () => container.remove({ force: true }).catch(() => {});
    let logs: { stop(): void } | undefined;
    try {
      // 'next-exit': the default condition (not-running) is already true for a created container.
      const waited = container.wait({ condition: 'next-exit' });
      await container.start();
      logs = await followLogs(docker, container, undefined, req.onLine);
      const info = await container.inspect();
      const ip = (info.NetworkSettings as { IPAddress?: string } | undefined)?.IPAddress || Object.values(info.NetworkSettings?.Networks ?? {})[0]?.IPAddress;
      if (!ip) throw new Error('the container has no bridge address (is it on a network without one?)');
      // The metadata server answers this container only (not the others on the bridge).
      if (env.GCE_METADATA_HOST) admitMetadataCaller(env.GCE_METADATA_HOST, ip);
      const exited = waited.then(
        async (r: { StatusCode?: number }) => {
          const after = await container.inspect().catch(() => undefined);
          return { code: r.StatusCode ?? null, signal: null, oomKilled: Boolean(after?.State?.OOMKilled) };
        },
        () => ({ code: null, signal: null }),
      );
      let stopping: Promise<void> | undefined;
      const cgroupFile = containerCgroup(container.id).cpu;
      return {
        setCpu: async (cpu) => { await container.update({ NanoCpus: Math.round(Math.max(THROTTLED_CPU, Math.min(cpu, hostCpus())) * 1e9) }).catch(() => {}); },
        cpuSeconds: () => readCgroupCpu(cgroupFile),
        usage: containerUsage(container.id),
        host: ip,
        port: req.containerPort,
        describe: `container ${info.Name.replace(/^\//, '')}`,
        exited,
        stop: (graceSeconds) => (stopping ??= (async () => {
          await container.stop({ t: graceSeconds }).catch(() => {});
          await exited;
          logs?.stop();
          await remove();
        })()),
      };
    } catch (err) {
      logs?.stop();
      await remove();
      throw new DevloopError(`cannot start an instance of ${req.revision}: ${daemonMessage(err)}`, {
        code: 'CONTAINER_START_FAILED', service: req.service, cause: err,
        hint: 'check the image\'s entrypoint and the container command/args',
      });
    }
  }
}

/** The daemon's 404 for the container's image (not for a network or anything else it names). */
function imageMissing(err: unknown): boolean {
  return statusOf(err) === 404 && /no such image|not found/i.test(daemonMessage(err));
}

function createFailed(req: LaunchRequest, image: string, err: unknown): DevloopError {
  return new DevloopError(`cannot create an instance of ${req.revision}: ${daemonMessage(err)}`, {
    code: statusOf(err) === 404 ? 'IMAGE_MISSING' : 'CONTAINER_CREATE_FAILED', service: req.service, cause: err,
    hint: statusOf(err) === 404 ? `image ${image} is not on this machine; build it or fix the image name` : 'the daemon refused the container; the message says why',
  });
}

// ------------------------------------------------------------------------------------------
// Processes

export interface ProcessLaunchOptions {
  root: string;
  argv: string[];
  cwd: string;
}

export class ProcessLauncher implements InstanceLauncher {
  readonly kind = 'process';
  constructor(private readonly options: ProcessLaunchOptions) {}

  async hostAddress(): Promise<string> {
    return LOCALHOST;
  }

  async launch(req: LaunchRequest): Promise<InstanceHandle> {
    const port = await findFreePort();
    // HOST is not overridable: an instance listening beyond loopback could be reached around the
    // simulator's front end, and so around its concurrency limit.
    const extra: Record<string, string> = { PORT: String(port), HOST: LOCALHOST, DEVLOOP_SERVICE: req.service };
    if (req.metadata) extra.GCE_METADATA_HOST = req.metadata(LOCALHOST);
    const env = childEnv([this.options.root, this.options.cwd], req.env, extra);
    const proc = await spawnGroup(this.options.argv, {
      cwd: this.options.cwd,
      env,
      onLine: (raw, stream) => {
        const f = formatLogLine(raw);
        for (const line of f.lines) req.onLine(line, f.stream ?? stream);
      },
      record: { root: this.options.root, service: req.service, role: 'cloud-run-instance' },
    });
    let stopping: Promise<void> | undefined;
    return {
      cpuSeconds: () => processCpuSeconds(proc.pid),
      usage: () => processGroupUsage(proc.pid),
      host: LOCALHOST,
      port,
      describe: `pid ${proc.pid}`,
      exited: proc.exited.then((e) => ({ code: e.code, signal: e.signal })),
      stop: (graceSeconds) => (stopping ??= (async () => {
        await terminateGroup(proc.pid, graceSeconds * 1000);
        await proc.exited;
      })()),
    };
  }
}

// ------------------------------------------------------------------------------------------
// Probes

/**
 * Waits for the startup probe to pass. The default TCP probe retries connecting until its
 * timeout (Cloud Run: 240 s); devloop polls quickly (every 5 ms at first) so a cold start is
 * measured to within a few milliseconds of when the container began to listen. HTTP probes pass
 * on 200..399. Rejects with the reason once `failureThreshold` attempts failed, or when `exited`
 * settles first.
 */
export async function waitStartup(host: string, probe: Probe, exited: Promise<unknown>, signal: AbortSignal): Promise<void> {
  let gone = false;
  void exited.then(() => { gone = true; });
  if (probe.initialDelaySeconds > 0) await sleep(probe.initialDelaySeconds * 1000, signal);
  if (probe.kind === 'tcp') {
    // A TCP probe is one long attempt: keep connecting until the period's timeout is spent.
    const deadline = Date.now() + probe.timeoutSeconds * 1000 * Math.max(1, probe.failureThreshold);
    let delay = 5;
    for (;;) {
      signal.throwIfAborted();
      if (gone) throw new Error('the instance exited before it listened on its port');
      if (await tcpOpen(host, probe.port, 1000)) return;
      if (Date.now() > deadline) throw new Error(`nothing listened on port ${probe.port} within ${probe.timeoutSeconds * Math.max(1, probe.failureThreshold)} s (startup probe: tcpSocket)`);
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 50);
    }
  }
  // HTTP and gRPC: Cloud Run runs the probe every periodSeconds; a refused connection before the
  // server listens is retried quickly rather than waiting a whole period, as no request could be served anyway.
  let failures = 0;
  let last = '';
  for (;;) {
    signal.throwIfAborted();
    if (gone) throw new Error('the instance exited before its startup probe passed');
    const result = probe.kind === 'grpc' ? await grpcProbe(host, probe, signal) : await httpProbe(host, probe, signal);
    if (result.ok) return;
    const wrongPath = probe.kind === 'http' ? probeClientError(probe, (result as { status?: number }).status, 'startupProbe') : undefined;
    if (wrongPath) throw wrongPath;
    last = result.why;
    if (result.refused) { await sleep(10, signal); continue; }
    failures++;
    const what = probe.kind === 'grpc' ? 'grpc.health.v1.Health/Check' : `GET ${probe.path ?? '/'}`;
    if (failures >= probe.failureThreshold) throw new Error(`startup probe ${what} failed ${failures} times: ${last}`);
    await sleep(probe.periodSeconds * 1000, signal);
  }
}

/** Transient 4xx answers (slow, busy), which may pass: as in plugins/shared/health.ts. */
const TRANSIENT_4XX = new Set([408, 429]);

/**
 * PROBE_HTTP_4XX when an HTTP probe got a 4xx that waiting cannot fix, else undefined: the
 * instance listens and answers, so the probe's path is wrong (404, 405) or behind an auth check
 * the probe cannot pass (401, 403), and every further attempt would get the same answer.
 */
export function probeClientError(probe: Probe, status: number | undefined, which: 'startupProbe' | 'livenessProbe'): DevloopError | undefined {
  if (probe.kind !== 'http' || status === undefined || status < 400 || status > 499 || TRANSIENT_4XX.has(status)) return undefined;
  const path = probe.path ?? '/';
  const field = `spec.template.spec.containers[0].${which}.httpGet.path`;
  const kind = which === 'startupProbe' ? 'startup' : 'liveness';
  const auth = status === 401 || status === 403;
  return new DevloopError(`${kind} probe GET ${path} answered ${status}: set ${field} (in the service's YAML) to a path your service serves${auth ? ' without authentication' : ''}`, {
    code: 'PROBE_HTTP_4XX',
    hint: auth
      ? `probes send no credentials, on Cloud Run as here: serve a health route such as /healthz outside the auth check${which === 'startupProbe' ? ', or remove startupProbe to use the default TCP probe' : ''}`
      : `the instance listens on its port and answers, but not ${path}${status === 405 ? ' to GET' : ''}: point ${which}.httpGet.path at a route that answers GET with 2xx or 3xx${which === 'startupProbe' ? ', or remove startupProbe to use the default TCP probe' : ', or remove livenessProbe'}`,
  });
}

/** One liveness check: an HTTP GET (200..399 passes), a gRPC health check (SERVING passes), or a TCP connect. */
export async function probeOnce(host: string, probe: Probe, signal: AbortSignal): Promise<{ ok: boolean; why: string; status?: number }> {
  if (probe.kind === 'http') return httpProbe(host, probe, signal);
  if (probe.kind === 'grpc') return grpcProbe(host, probe, signal);
  const ok = await tcpOpen(host, probe.port, probe.timeoutSeconds * 1000);
  return { ok, why: ok ? 'connected' : `no connection to port ${probe.port}` };
}

/** grpc.health.v1 HealthCheckResponse.ServingStatus values. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/**
 * The standard gRPC health check (`grpc.health.v1.Health/Check`, service "" = the whole server)
 * over h2c, spoken with node:http2: an empty request message, and a pass only for grpc-status 0
 * with a response whose status field (1, varint) is SERVING.
 */
export function grpcProbe(host: string, probe: Probe, signal: AbortSignal): Promise<{ ok: boolean; refused?: boolean; why: string }> {
  return new Promise((resolve) => {
    const session = http2.connect(`http://${host}:${probe.port}`);
    let settled = false;
    const done = (r: { ok: boolean; refused?: boolean; why: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      session.destroy();
      resolve(r);
    };
    const onAbort = () => done({ ok: false, why: 'aborted' });
    signal.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => done({ ok: false, why: `no answer within ${probe.timeoutSeconds} s` }), probe.timeoutSeconds * 1000);
    session.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, refused: err.code === 'ECONNREFUSED', why: err.message }));
    const stream = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    stream.on('response', (h) => { if (h['grpc-status'] !== undefined) grpcStatus = String(h['grpc-status']); });
    stream.on('trailers', (t) => { if (t['grpc-status'] !== undefined) grpcStatus = String(t['grpc-status']); });
    stream.on('data', (c: Buffer) => chunks.push(c));
    // Before the server listens, the stream fails first, with the refused connection as its cause.
    stream.on('error', (err: Error & { cause?: NodeJS.ErrnoException }) => done({ ok: false, refused: err.cause?.code === 'ECONNREFUSED', why: err.cause?.message ?? err.message }));
    stream.on('end', () => {
      if (grpcStatus !== '0') { done({ ok: false, why: `grpc-status ${grpcStatus ?? 'missing'}` }); return; }
      const body = Buffer.concat(chunks).subarray(5);
      // HealthCheckResponse { ServingStatus status = 1; }: tag 0x08, then the value; absent = UNKNOWN.
      const status = body[0] === 0x08 ? body[1] ?? 0 : 0;
      done(status === 1 ? { ok: true, why: 'SERVING' } : { ok: false, why: SERVING_STATUS[status] ?? `status ${status}` });
    });
    // One uncompressed message of length 0: HealthCheckRequest { service: "" }.
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}

export function tcpOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => { socket.destroy(); resolve(ok); };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

function httpProbe(host: string, probe: Probe, signal: AbortSignal): Promise<{ ok: boolean; refused?: boolean; why: string; status?: number }> {
  return new Promise((resolve) => {
    const req = http.get({ host, port: probe.port, path: probe.path ?? '/', headers: probe.headers, timeout: probe.timeoutSeconds * 1000, signal, agent: false }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve({ ok: code >= PROBE_HTTP_SUCCESS.min && code <= PROBE_HTTP_SUCCESS.max, why: `status ${code}`, status: code });
    });
    req.once('timeout', () => { req.destroy(); resolve({ ok: false, why: `no answer within ${probe.timeoutSeconds} s` }); });
    req.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, refused: err.code === 'ECONNREFUSED', why: err.message }));
  });
}
