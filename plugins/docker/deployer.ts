/**
 * `deploy.for('docker')`: runs a service's image as a container on the local daemon. Replace
 * strategy: the previous container is stopped first (it holds the service's host ports), then the
 * new one starts. Every container carries the project/service/session labels `cleanup` and
 * `shutdown` look for.
 */
import type Docker from 'dockerode';
import type { DeployContext, Deployment } from '../../core/engine/contexts.js';
import type { Engine } from '../../core/engine/engine.js';
import { DevloopError } from '../../core/errors.js';
import { DOCKER_PLUGIN } from './builder.js';
import { daemonErrors, daemonMessage, statusOf, type DockerDaemon } from './client.js';
import { ContainerDeployment, type ServiceLink } from './container.js';
import { containerName, isDevloopTag, projectName, sessionLabels } from './names.js';
import { planPorts, portConfig, type PublishedPort } from './publish.js';
import { PortForwarder } from './forwarder.js';
import { findFreePort } from '../shared/ports.js';
import { autoRaiseOff, autoRaisePlan, formatQuantity, parseCpu, parseMemory, type AutoRaisePlan } from './resources.js';
import { shellCommand } from './exec.js';
import { INSPECT_OPTION } from './inspector.js';
import { readProgress } from './progress-stream.js';
import { hasShell, imageCommand, looksLikeNode, nodeOptionsArchive, supervisedEntrypoint } from './supervisor.js';
import type { SessionImages } from './session-images.js';

export interface DeployerOptions {
  /** Run the container under Docker's init (tini), so a node or shell PID 1 stops on SIGTERM. Default true. */
  init?: boolean;
  /** Seconds between SIGTERM and SIGKILL on stop. Default 10. */
  stopTimeoutS?: number;
  /** Same, for live-update restarts. Default 2. */
  restartTimeoutS?: number;
  /** Live update's `restart` restarts the service's process under devloop's supervisor (supervisor.ts); false restarts the container. Default true. */
  restartProcess?: boolean;
  /** devloop holds the TCP host ports and switches them to a rebuilt container once it is healthy (forwarder.ts); false stops the old container first. Default true. */
  switchPorts?: boolean;
}

/** The containers this session runs, by service: live update and shutdown need them. */
export type ActiveContainers = Map<string, ContainerDeployment>;

export function tapDeployer(engine: Engine, daemon: DockerDaemon, active: ActiveContainers, options: DeployerOptions, images?: SessionImages): void {
  const stickyPorts = new Map<string, Map<string, number>>();
  const rebuiltFor = new Map<string, string>();
  const raised: RaisedLimits = { limits: new Map(), noted: new Set() };
  const shells: ShellFacts = { byImage: new Map(), noted: new Set() };
  const groups = new Map<string, ForwardGroup>();
  engine.hooks.deploy.for('docker').tapPromise(DOCKER_PLUGIN, daemonErrors(daemon, async (ctx) => {
    await daemon.connect();
    const image = ctx.image ?? ctx.build.image ?? ctx.config.image;
    if (!image) {
      throw new DevloopError(`services.${ctx.service} has nothing to run in Docker: no build and no image`, {
        code: 'NO_IMAGE',
        service: ctx.service,
        hint: `give it build: { type: 'docker' } or an image, or set runtime: 'process' with a command`,
      });
    }
    const previous = ctx.previous;
    const ours = previous && active.get(ctx.service) === previous ? (previous as ContainerDeployment) : undefined;
    const stopPrevious = async () => {
      if (!previous || (previous as ContainerDeployment).stopped) return;
      ctx.logger.info(`stopping the previous ${previous.runtime === 'docker' ? 'container' : `${previous.runtime} deployment`}`);
      await previous.stop('replaced by a new deployment');
    };
    let sticky = stickyPorts.get(ctx.service);
    if (!sticky) stickyPorts.set(ctx.service, (sticky = new Map()));
    const inspectPort = ctx.getState().services[ctx.service]?.extra.debug?.inspectPort as number | undefined;

    // `devloop debug` on and off: the same container, its process restarted under the supervisor
    // with or without the inspector (about 0.3 s instead of a new container's second or more).
    if ((ctx.trigger.reason === 'debug' || ctx.trigger.reason === 'debug off') && ours?.debuggableInPlace && ours.image === image) {
      const started = Date.now();
      if (await ours.debugInPlace(inspectPort, nodeOptionsWithInspector(ctx))) {
        ctx.logger.info(`restarted the process in its container ${inspectPort ? 'with the inspector' : 'without the inspector'} in ${Date.now() - started} ms`);
        return ours;
      }
    }

    // Switch (forwarder.ts): devloop holds the TCP host ports and the new container starts beside
    // the one serving, which is stopped once the new one is healthy. Set up (or set up again when
    // the Devfile's ports change) after stopping what held the ports before.
    let group = groups.get(ctx.service);
    const forwardable = options.switchPorts !== false && canForward(ctx.config, inspectPort);
    const signature = portSignature(ctx.config);
    if (group && (!forwardable || group.signature !== signature)) {
      if (group.serving && group.serving !== previous) await group.serving.stop('its ports changed');
      await stopPrevious();
      await closeGroup(group);
      group = undefined;
    }
    let replace: Replacement;
    let bind: (() => Promise<PublishedPort[]>) | undefined;
    if (forwardable && group) {
      // A container that never became healthy serves nobody: it goes now; the serving one stays.
      if (previous && previous !== group.serving) await stopPrevious();
      replace = { held: new Set(), beforeStart: async () => {} };
      const g = group;
      bind = () => upstreamPorts(g.ports);
    } else if (forwardable) {
      await stopPrevious();
      ctx.signal.throwIfAborted();
      const ports = await planPorts(ctx.config, ctx.service, ctx.logger, sticky, new Set(ours?.hostPorts ?? []));
      group = await openGroup(ctx.service, signature, ports);
      groups.set(ctx.service, group);
      replace = { held: new Set(), beforeStart: async () => {} };
      const g = group;
      bind = () => upstreamPorts(g.ports);
    } else {
      // Replace: the old container is stopped before the new one starts, freeing its host ports. Ours
      // stays up while the new one is created (a missing image or a bad option leaves it serving);
      // another runtime's deployment may hold the ports in ways not visible here, so it goes first.
      if (!ours) await stopPrevious();
      replace = { held: new Set(ours?.hostPorts ?? []), beforeStart: ours ? once(stopPrevious) : async () => {} };
    }
    ctx.signal.throwIfAborted();

    const link: ServiceLink = {
      service: ctx.service,
      logger: ctx.logger,
      dispatch: ctx.dispatch,
      isCurrent: (d: Deployment) => active.get(ctx.service) === d,
      phase: () => ctx.getState().services[ctx.service]?.phase,
    };
    const ports: PortPlan = { public: group?.ports, bind };
    let deployment: ContainerDeployment;
    try {
      deployment = await runContainer(daemon.docker, ctx, image, sticky, link, active, options, replace, raised, shells, ports);
    } catch (err) {
      if (!(err instanceof ImageMissing)) throw err;
      deployment = await recoverMissingImage(engine, daemon.docker, ctx, image, rebuiltFor, () => runContainer(daemon.docker, ctx, image, sticky!, link, active, options, replace, raised, shells, ports));
    }
    rebuiltFor.delete(ctx.service);
    const stop = deployment.stop.bind(deployment);
    const g = group;
    // Forget it once stopped, unless a newer container has taken its place; the host ports go
    // with the last container that serves them.
    deployment.stop = async (reason: string) => {
      try { await stop(reason); } finally {
        if (active.get(ctx.service) === deployment) active.delete(ctx.service);
        if (g && g.serving === deployment && !active.has(ctx.service) && groups.get(ctx.service) === g) {
          groups.delete(ctx.service);
          await closeGroup(g);
        }
      }
    };
    // The image that last ran healthy is the one kept when the session ends.
    const readyOf = deployment.ready.bind(deployment);
    deployment.ready = async (signal: AbortSignal) => {
      await readyOf(signal);
      images?.noteGood(ctx.service, ctx.build.image ?? image);
    };
    if (g) {
      const upstream = deployment.probePorts;
      if (!g.serving || g.serving.stopped) {
        point(g, upstream);
        g.serving = deployment;
      } else {
        // The switch: once the new container is healthy (or has failed: it is the service's
        // deployment now either way), new connections go to it and the old one stops.
        const handover = once(async () => {
          if (groups.get(ctx.service) !== g || deployment.stopped || g.serving === deployment) return;
          const old = g.serving;
          point(g, upstream);
          g.serving = deployment;
          if (old && !old.stopped) {
            ctx.logger.info(`switched ${g.ports.map((p) => `127.0.0.1:${p.hostPort}`).join(', ')} to ${deployment.name}; stopping the previous container`);
            await old.stop('replaced by a new deployment').catch((err) => ctx.logger.warn(`could not stop the previous container: ${err instanceof Error ? err.message : String(err)}`));
          }
        });
        const ready = deployment.ready.bind(deployment);
        deployment.ready = async (signal: AbortSignal) => {
          try { await ready(signal); } finally { await handover(); }
        };
      }
    }
    ctx.logger.info(`running ${deployment.name} (${image})${deployment.endpoints.length ? ` at ${deployment.endpoints.map((e) => e.url).join(', ')}` : ''}`);
    return deployment;
  }));

  engine.hooks.shutdown.tapPromise(DOCKER_PLUGIN, async () => {
    const all = [...groups.values()];
    groups.clear();
    await Promise.all(all.map(closeGroup));
  });
}

/** A service's host ports while devloop holds them (forwarder.ts), and the container they lead to. */
interface ForwardGroup {
  /** The Devfile's port settings they were made for: a change sets them up again. */
  signature: string;
  ports: PublishedPort[];
  forwarders: PortForwarder[];
  serving?: ContainerDeployment;
}

/** TCP only (a UDP port would need its own relay), and not while debugging: the inspector's port is served per container. */
function canForward(config: DeployContext['config'], inspectPort: number | undefined): boolean {
  if (inspectPort) return false;
  if (!config.port && !config.ports?.length) return false;
  return (config.ports ?? []).every((p) => (p.protocol ?? 'tcp') === 'tcp');
}

function portSignature(config: DeployContext['config']): string {
  return JSON.stringify({ port: config.port, ports: config.ports ?? [] });
}

async function openGroup(service: string, signature: string, ports: PublishedPort[]): Promise<ForwardGroup> {
  const forwarders: PortForwarder[] = [];
  try {
    for (const p of ports) forwarders.push(await PortForwarder.listen(p.hostPort));
  } catch (err) {
    await Promise.all(forwarders.map((f) => f.close()));
    throw new DevloopError(`cannot listen on the host port of ${service}: ${err instanceof Error ? err.message : String(err)}`, {
      code: 'PORT_IN_USE', service, cause: err,
      hint: 'another program took the port a moment after devloop checked it; save a file to try again (devloop picks again)',
    });
  }
  return { signature, ports, forwarders };
}

function closeGroup(group: ForwardGroup): Promise<unknown> {
  return Promise.all(group.forwarders.map((f) => f.close()));
}

function point(group: ForwardGroup, upstream: PublishedPort[] | undefined): void {
  group.ports.forEach((p, i) => group.forwarders[i].point(upstream?.find((u) => u.containerPort === p.containerPort)?.hostPort));
}

/** The container's own published ports (on 127.0.0.1, picked by devloop so they stay across restarts of the container). */
async function upstreamPorts(ports: PublishedPort[]): Promise<PublishedPort[]> {
  const taken = new Set<number>();
  const out: PublishedPort[] = [];
  for (const p of ports) {
    let port: number;
    do port = await findFreePort(); while (taken.has(port));
    taken.add(port);
    out.push({ ...p, hostPort: port });
  }
  return out;
}

/** What the container publishes (`bind`) and, when devloop forwards to it, what the user sees (`public`). */
interface PortPlan {
  public?: PublishedPort[];
  bind?: () => Promise<PublishedPort[]>;
}

class ImageMissing extends Error {}

/** `resources.autoRaise` across deployments of this session. */
interface RaisedLimits {
  /** By service: the limit autoRaise last set, and the Devfile limit and cap it was raised under. */
  limits: Map<string, { bytes: number; from: number; cap: number }>;
  /** Services already told that autoRaise is off here (said once per session). */
  noted: Set<string>;
}

/**
 * The memory limit to create the container with, and autoRaise when it is in force. A limit
 * raised earlier in this session is kept (a Tilt user expects a fix to stick until they restart
 * devloop), unless the Devfile's limit or cap has changed since; the store's
 * `extra["devloop:docker"].memory` shows the limit in force (`devloop status -o json`).
 */
function memorySetting(ctx: DeployContext, raised: RaisedLimits): { memory?: number; autoRaise?: ContainerAutoRaise } {
  const resources = ctx.config.resources;
  if (resources?.memory === undefined) { raised.limits.delete(ctx.service); return {}; }
  const devfile = parseMemory(resources.memory, ctx.service);
  const plan = autoRaisePlan(resources, ctx.service);
  const publish = (bytes: number, autoRaise: Record<string, unknown> | null) => ctx.dispatch({
    type: 'service/extra', service: ctx.service, plugin: DOCKER_PLUGIN,
    data: { memory: { limit: formatQuantity(bytes), limitBytes: bytes, devfile: formatQuantity(devfile), autoRaise } },
  });
  if (!plan) {
    raised.limits.delete(ctx.service);
    publish(devfile, null);
    return { memory: devfile };
  }
  const off = autoRaiseOff(ctx);
  if (off) {
    if (!raised.noted.has(ctx.service)) {
      raised.noted.add(ctx.service);
      ctx.logger.info(`resources.autoRaise is off ${off}: ${ctx.service} keeps its ${formatQuantity(devfile)} memory limit, so an OOM kill fails as it would outside dev`);
    }
    publish(devfile, { active: false, reason: off });
    return { memory: devfile };
  }
  const state = (bytes: number) => ({ active: true, cap: formatQuantity(plan.cap), step: plan.step, raised: bytes > devfile });
  let memory = devfile;
  const kept = raised.limits.get(ctx.service);
  if (kept && kept.from === plan.limit && kept.cap === plan.cap && kept.bytes > devfile) {
    memory = Math.min(kept.bytes, plan.cap);
    ctx.logger.info(`${ctx.service} keeps the memory limit resources.autoRaise set earlier in this session: ${formatQuantity(memory)} (Devfile: ${formatQuantity(devfile)}, cap ${formatQuantity(plan.cap)}); restart devloop to start from ${formatQuantity(devfile)} again`);
  } else {
    raised.limits.delete(ctx.service);
  }
  publish(memory, state(memory));
  return {
    memory,
    autoRaise: {
      ...plan,
      onRaise: (bytes) => {
        raised.limits.set(ctx.service, { bytes, from: plan.limit, cap: plan.cap });
        publish(bytes, state(bytes));
      },
    },
  };
}

/** Which images have /bin/sh for the restart supervisor (by image ID), and the services already told theirs has none. */
interface ShellFacts {
  byImage: Map<string, boolean>;
  noted: Set<string>;
}

/**
 * The command to run under the restart supervisor (supervisor.ts), when the service's liveUpdate
 * restarts it: the image's ENTRYPOINT followed by the service's command or the image's CMD.
 */
async function supervision(docker: Docker, ctx: DeployContext, image: string, restartTimeoutS: number): Promise<{ imageId: string; create: { Entrypoint: string[]; Cmd: string[] } } | undefined> {
  const restarts = ctx.config.liveUpdate?.some((s) => 'restart' in s && s.restart === true) ?? false;
  let info: Docker.ImageInspectInfo;
  try {
    info = await docker.getImage(image).inspect();
  } catch (err) {
    if (statusOf(err) === 404) throw new ImageMissing(daemonMessage(err));
    throw err;
  }
  const { entrypoint, cmd } = imageCommand(info);
  const argv = [...entrypoint, ...(ctx.config.command !== undefined ? shellCommand(ctx.config.command) : cmd)];
  // Nothing to run: let the daemon say so as it would without the supervisor.
  if (!argv.length) return undefined;
  // Node services too, for `devloop debug`'s restart in place.
  if (!restarts && !looksLikeNode(info, argv)) return undefined;
  return { imageId: info.Id, create: supervisedEntrypoint(argv, restartTimeoutS) };
}

/** The service's NODE_OPTIONS plus the inspector on the container's loopback (inspector.ts). */
function nodeOptionsWithInspector(ctx: DeployContext): string {
  return [ctx.env.NODE_OPTIONS, INSPECT_OPTION].filter(Boolean).join(' ');
}

type ContainerAutoRaise = AutoRaisePlan & { onRaise(bytes: number): void };

interface Replacement {
  /** Host ports the container being replaced holds: free for the new one once it is stopped. */
  held: Set<number>;
  /** Stops the container being replaced; called between create and start. */
  beforeStart(): Promise<void>;
}

function once(fn: () => Promise<void>): () => Promise<void> {
  let p: Promise<void> | undefined;
  return () => (p ??= fn());
}

async function runContainer(
  docker: Docker, ctx: DeployContext, image: string, sticky: Map<string, number>, link: ServiceLink, active: ActiveContainers,
  options: DeployerOptions, replace: Replacement, raised: RaisedLimits, shells: ShellFacts, plan: PortPlan,
): Promise<ContainerDeployment> {
  const config = ctx.config;
  const { memory, autoRaise } = memorySetting(ctx, raised);
  const nanoCpus = config.resources?.cpu !== undefined ? parseCpu(config.resources.cpu, ctx.service) : undefined;
  const project = projectName(ctx.root, ctx.devfile.name);
  // `devloop debug`: the Node inspector listens on the container's loopback only; the deployment
  // relays the host's 127.0.0.1:inspectPort to it (see inspector.ts for why nothing is published).
  const inspectPort = ctx.getState().services[ctx.service]?.extra.debug?.inspectPort as number | undefined;
  const env = {
    ...ctx.env,
    ...(config.port ? { PORT: String(config.port) } : {}),
  };
  const restartTimeoutS = options.restartTimeoutS ?? 2;
  let supervised = options.restartProcess === false ? undefined : await supervision(docker, ctx, image, restartTimeoutS);
  if (supervised && shells.byImage.get(supervised.imageId) === false) supervised = undefined;
  for (let attempt = 0; ; attempt++) {
    const bound = plan.bind ? await plan.bind() : await planPorts(config, ctx.service, ctx.logger, sticky, replace.held);
    const ports = plan.public ?? bound;
    const { exposed, bindings } = portConfig(bound);
    const name = containerName(project, ctx.service);
    let container: Docker.Container;
    try {
      container = await docker.createContainer({
        name,
        Image: image,
        // Under the supervisor the inspector's NODE_OPTIONS go in its file (written before the start),
        // so that `devloop debug` can turn it off again without a new container.
        Env: Object.entries({ ...env, ...(inspectPort && !supervised ? { NODE_OPTIONS: nodeOptionsWithInspector(ctx) } : {}) }).map(([k, v]) => `${k}=${v}`),
        Labels: sessionLabels(ctx.root, ctx.service),
        ExposedPorts: exposed,
        ...(supervised ? supervised.create : { Cmd: config.command !== undefined ? shellCommand(config.command) : undefined }),
        HostConfig: {
          PortBindings: bindings,
          Init: options.init ?? true,
          // No swap beyond the limit: a service over its memory limit is OOM-killed (and told so), not slowed to a crawl.
          ...(memory ? { Memory: memory, MemorySwap: memory } : {}),
          ...(nanoCpus ? { NanoCpus: nanoCpus } : {}),
          RestartPolicy: { Name: 'no' },
        },
      });
    } catch (err) {
      if (statusOf(err) === 404 && /no such image|not found/i.test(daemonMessage(err))) throw new ImageMissing(daemonMessage(err));
      throw new DevloopError(`cannot create the container for ${ctx.service}: ${daemonMessage(err)}`, {
        code: 'CONTAINER_CREATE_FAILED', service: ctx.service, cause: err,
        hint: 'check services.' + ctx.service + ' (resources, ports, command) in Devfile.ts',
      });
    }
    if (supervised && !shells.byImage.has(supervised.imageId)) {
      // A daemon error is not an answer: run without the supervisor this time, ask again next time.
      const shell = await hasShell(container).catch(() => undefined);
      if (shell !== undefined) shells.byImage.set(supervised.imageId, shell);
      if (!shell) {
        if (shell === false && !shells.noted.has(ctx.service) && ctx.config.liveUpdate?.some((s) => 'restart' in s && s.restart === true)) {
          shells.noted.add(ctx.service);
          ctx.logger.info(`${image} has no /bin/sh for devloop's restart supervisor: live update restarts the whole container (about a second longer than restarting the process)`);
        }
        supervised = undefined;
        await container.remove({ force: true }).catch(() => {});
        attempt--;
        continue;
      }
    }
    if (supervised && inspectPort) {
      // The archive API writes into a created container: the first start already has the inspector.
      await container.putArchive(nodeOptionsArchive(nodeOptionsWithInspector(ctx)), { path: '/' });
    }
    const deployment = new ContainerDeployment(docker, container, name, {
      image,
      ports,
      servicePort: config.port,
      health: config.health,
      restart: config.restart ?? 'on-failure',
      memoryLimit: memory,
      autoRaise,
      stopTimeoutS: options.stopTimeoutS ?? 10,
      restartTimeoutS,
      inspectPort,
      supervised: supervised !== undefined,
      probePorts: bound,
    }, link);
    // Current from its first second: a crash during startup is supervised like any other.
    active.set(ctx.service, deployment);
    try {
      await replace.beforeStart();
      ctx.signal.throwIfAborted();
      await deployment.start();
      return deployment;
    } catch (err) {
      if (active.get(ctx.service) === deployment) active.delete(ctx.service);
      await container.remove({ force: true }).catch(() => {});
      if (ctx.signal.aborted) throw err;
      const msg = daemonMessage(err);
      // Someone took a port between the check and the start: pick again, once.
      if (attempt === 0 && /port is already allocated|address already in use/i.test(msg)) {
        if (!plan.bind) forgetPorts(sticky, ports);
        ctx.logger.warn(`a port was taken while starting (${msg}); choosing another`);
        continue;
      }
      throw new DevloopError(`cannot start the container for ${ctx.service}: ${msg}`, {
        code: 'CONTAINER_START_FAILED', service: ctx.service, cause: err,
        hint: /executable file not found|no such file or directory/i.test(msg)
          ? 'the image\'s CMD/ENTRYPOINT (or services.' + ctx.service + '.command) names a program the image does not have'
          : 'the daemon refused to start it; the message above says why',
      });
    }
  }
}

function forgetPorts(sticky: Map<string, number>, ports: PublishedPort[]): void {
  for (const p of ports) sticky.delete(`${p.protocol}/${p.containerPort}`);
}

/**
 * The image went away between build and run (`docker image prune`, a rebuild of the base): an
 * image devloop built is rebuilt by triggering the service again, once; any other image is pulled.
 */
async function recoverMissingImage(
  engine: Engine, docker: Docker, ctx: DeployContext, image: string, rebuiltFor: Map<string, string>, retry: () => Promise<ContainerDeployment>,
): Promise<ContainerDeployment> {
  if (isDevloopTag(image) || ctx.build.builtBy === DOCKER_PLUGIN) {
    if (rebuiltFor.get(ctx.service) === image) {
      throw new DevloopError(`image ${image} is missing again after a rebuild`, {
        code: 'IMAGE_MISSING', service: ctx.service,
        hint: 'something removes devloop\'s images as they are built (an image prune loop?); stop it and save a file to retry',
      });
    }
    rebuiltFor.set(ctx.service, image);
    ctx.logger.warn(`image ${image} no longer exists (removed by an image prune?); rebuilding it`);
    // The rebuild supersedes this run: the engine cancels it and starts the next one.
    engine.trigger(ctx.service, { reason: 'image-missing', files: [] });
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    throw ctx.signal.reason;
  }
  ctx.logger.info(`image ${image} is not on this machine; pulling it`);
  await pullImage(docker, image, ctx);
  return retry();
}

async function pullImage(docker: Docker, image: string, ctx: DeployContext): Promise<void> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker.pull(image, { abortSignal: ctx.signal } as never)) as NodeJS.ReadableStream;
  } catch (err) {
    throw pullFailed(image, ctx.service, daemonMessage(err), err);
  }
  let error: string | undefined;
  await readProgress(stream as NodeJS.ReadableStream & { destroy(err?: Error): unknown }, (raw) => {
    try {
      const msg = JSON.parse(raw) as { status?: string; id?: string; error?: string };
      if (msg.error) error = msg.error;
      else if (msg.status && !/^(Downloading|Extracting|Waiting|Verifying Checksum)/.test(msg.status)) ctx.logger.output(`${msg.id ? `${msg.id}: ` : ''}${msg.status}`);
    } catch { /* not JSON: ignore */ }
  }, ctx.signal, 'pull');
  ctx.signal.throwIfAborted();
  if (error) throw pullFailed(image, ctx.service, error);
}

function pullFailed(image: string, service: string, why: string, cause?: unknown): DevloopError {
  return new DevloopError(`cannot pull ${image}: ${why}`, {
    code: 'IMAGE_PULL_FAILED', service, cause,
    hint: `check the image name in services.${service}.image, that this machine reaches its registry, and \`docker login\` for a private one`,
  });
}
