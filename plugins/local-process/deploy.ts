/** Deploys a service as a local process: the `process` runtime's deploy step. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { DeployContext, Deployment } from '../../core/engine/contexts.js';
import { DevloopError } from '../../core/errors.js';
import { triggerPhrase } from '../../core/engine/trigger.js';
import type { LiveUpdateStep } from '../../core/devfile/types.js';
import type { Endpoint } from '../../core/store/state.js';
import { childEnv } from '../shared/env.js';
import { healthTiming, resolveHealthProbe } from '../shared/health.js';
import { liveUpdateOrderProblems } from '../shared/liveupdate.js';
import { choosePort, LOCALHOST } from '../shared/ports.js';
import { processGroupUsage } from '../shared/usage.js';
import { shellLine, shQuote } from '../shared/shell.js';
import { serviceArgv } from './command.js';
import { ProcessSupervisor, type RestartPolicy } from './supervisor.js';
import { processLiveUpdateSteps } from './sync-targets.js';

export interface ProcessDeployOptions {
  stopGraceMs: number;
  livenessMs: number;
  /** Disabled container-only sync rules already reported, so each is said once per session. */
  warnedSyncRules: Set<string>;
}

export interface ProcessDeployment extends Deployment {
  readonly supervisor: ProcessSupervisor;
  /** Everything that decides how the process runs; equal fingerprints run the same thing. */
  readonly fingerprint: string;
  /** The liveUpdate steps applied in place: the Devfile's, less rules only a container can apply. */
  liveUpdate: LiveUpdateStep[];
}

export async function deployProcess(ctx: DeployContext, options: ProcessDeployOptions, ours: (d: Deployment | undefined) => ProcessDeployment | undefined): Promise<ProcessDeployment> {
  const { config, service, root } = ctx;
  const argv = serviceArgv(service, config, ctx.build);
  const cwd = path.resolve(root, config.cwd ?? '.');
  if (!existsSync(cwd)) {
    throw new DevloopError(`cwd ${config.cwd} does not exist`, { code: 'PROCESS_CONFIG', hint: `services.${service}.cwd is relative to the Devfile's folder (${root})` });
  }
  // `devloop debug`: the Node inspector on 127.0.0.1 only, through NODE_OPTIONS so it works for
  // `node bundle.mjs` and for commands that start node themselves.
  const inspectPort = ctx.getState().services[service]?.extra.debug?.inspectPort as number | undefined;
  const debugEnv = inspectPort ? { NODE_OPTIONS: [process.env.NODE_OPTIONS, ctx.env.NODE_OPTIONS, `--inspect=127.0.0.1:${inspectPort}`].filter(Boolean).join(' ') } : undefined;
  // Before the running process is replaced: a refused rule leaves the last good deployment up.
  const liveUpdate = await processLiveUpdateSteps(ctx, cwd, options.warnedSyncRules);
  const fingerprint = JSON.stringify({ argv, cwd, env: ctx.env, inspectPort, port: config.port, ports: config.ports, health: config.health, restart: config.restart, digest: ctx.build.digest });

  // An identical rebuild (a comment or type-only edit) changes nothing that runs: keep the
  // process rather than drop its in-memory state and connections. A manual trigger always restarts.
  const previous = ours(ctx.previous);
  if (previous && previous.fingerprint === fingerprint && previous.supervisor.healthy && ctx.trigger.reason !== 'manual' && onlyBundleInputsChanged(ctx)) {
    ctx.logger.info('build output unchanged; the running process was kept');
    previous.liveUpdate = liveUpdate;
    return previous;
  }
  // The old process goes first: the new one needs its port.
  if (ctx.previous) await ctx.previous.stop('replaced by a new deployment');
  ctx.signal.throwIfAborted();

  let port: number | undefined;
  if (config.port) {
    const choice = await choosePort(config.port, `port`);
    if (choice.warning) ctx.logger.warn(choice.warning);
    port = choice.port;
  }
  for (const problem of liveUpdateOrderProblems(config.liveUpdate ?? [])) ctx.logger.warn(problem);
  // HOST: where a server should listen; loopback unless the Devfile's env says otherwise, so a
  // service on a laptop is not reachable from the network by default.
  const added = { HOST: LOCALHOST, ...ctx.env, DEVLOOP_SERVICE: service, ...(port ? { PORT: String(port) } : {}), ...debugEnv };
  const env = childEnv([root, cwd], added);
  const { intervalMs, timeoutMs } = healthTiming(config.health);
  const supervisor = new ProcessSupervisor({
    service,
    root,
    argv,
    cwd,
    env,
    probe: resolveHealthProbe(config.health, port),
    intervalMs,
    timeoutMs,
    restart: (config.restart ?? 'on-failure') as RestartPolicy,
    logger: ctx.logger,
    dispatch: ctx.dispatch,
    stopGraceMs: options.stopGraceMs,
    livenessMs: options.livenessMs,
    // What devloop adds to its own environment, so the pasted line runs what devloop ran.
    shellLine: shellLine({ cwd, argv, env: added, pathPrefix: [...new Set([root, cwd])].map((d) => path.join(d, 'node_modules', '.bin')) }),
  });
  // Why it (re)starts, as the pipeline's "building (...)" line does for a build: with no build
  // step (a plain `command`), this is the only line that says what a restart was for.
  const why = ctx.trigger.reason === 'initial' && !ctx.previous ? '' : ` ${triggerPhrase(ctx.trigger)}`;
  ctx.logger.info(`${ctx.previous ? 'restarting' : 'starting'} ${displayCommand(argv, root)}${port ? ` on port ${port}` : ''}${why}`);
  await supervisor.start();

  const endpoints: Endpoint[] = [];
  if (port) endpoints.push({ name: 'http', url: `http://${LOCALHOST}:${port}` });
  if (inspectPort) endpoints.push({ name: 'inspector', url: `http://${LOCALHOST}:${inspectPort}/json/list` });
  for (const [i, p] of (config.ports ?? []).entries()) {
    endpoints.push({ name: p.name ?? `port-${i + 1}`, url: `${p.protocol === 'udp' ? 'udp' : 'tcp'}://${LOCALHOST}:${p.containerPort}` });
  }
  return {
    runtime: 'process',
    endpoints,
    supervisor,
    fingerprint,
    liveUpdate,
    stop: (reason) => supervisor.stop(reason),
    ready: (signal) => supervisor.ready(signal),
    get details() {
      return { pid: supervisor.pid, pgid: supervisor.pid, command: argv, cwd, port };
    },
    // The supervisor starts the command as its own process group: the whole group is the service.
    usage: () => (supervisor.pid ? processGroupUsage(supervisor.pid) : undefined),
  };
}

/**
 * True when the build says its output is unchanged and lists its inputs, and every changed file
 * is one of them: a file read at runtime (an .env, a template) is not, and needs a restart.
 */
function onlyBundleInputsChanged(ctx: DeployContext): boolean {
  const inputs = ctx.build.inputs;
  if (!ctx.build.cached || !ctx.build.digest || !Array.isArray(inputs)) return false;
  const set = new Set(inputs as string[]);
  return ctx.trigger.files.length > 0 && ctx.trigger.files.every((f) => set.has(path.resolve(ctx.root, f)));
}

/** `node .devloop/build/api/index.mjs` reads better in a log than two absolute paths. */
function displayCommand(argv: string[], root: string): string {
  if (argv[0] === '/bin/sh' && argv[1] === '-c') return argv[2];
  return argv
    .map((a, i) => (i === 0 && a === process.execPath ? 'node' : path.isAbsolute(a) && a.startsWith(root + path.sep) ? path.relative(root, a) : a))
    .map((a) => (/\s/.test(a) ? shQuote(a) : a))
    .join(' ');
}
