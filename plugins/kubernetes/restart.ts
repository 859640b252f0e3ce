/**
 * Live update's `restart` in a pod, without restarting the container: a restarted container comes
 * back from the image and loses the synced files. As with the Docker runtime (plugins/docker/
 * supervisor.ts, the same script), the container built for the service runs its command under a
 * small sh supervisor when the service's liveUpdate has a `restart` step: devloop rewrites the
 * container's `command`/`args` in what it applies, and marks the pod template with an annotation
 * naming the container. A restart is a SIGHUP to the supervisor (PID 1) through exec; the
 * supervisor stops the command and starts it again, and prints a marker line to stderr, which the
 * restart waits for in the container's log.
 *
 * The command to wrap is the manifest's `command` + `args`, else the image's ENTRYPOINT followed by
 * the manifest's `args` or the image's CMD (read from the local Docker daemon, where devloop built
 * it). An image without /bin/sh, or one the daemon cannot show, is left as it is: its live updates
 * with a `restart` rebuild, and the log says why.
 */
import { Writable } from 'node:stream';
import type { LiveUpdateStep } from '../../core/devfile/types.js';
import { LineSplitter } from '../shared/lines.js';
import { RESTART_MARKER, SUPERVISOR_SCRIPT } from '../docker/supervisor.js';
import type { LoadedObject } from './manifests.js';

/** On the pod template: the name of the container that runs under the supervisor. */
export const ANNOTATION_SUPERVISED = 'devloop.dev/supervised';
/** Seconds between SIGTERM and SIGKILL when the supervisor restarts the command (as the Docker runtime's default). */
export const RESTART_GRACE_S = 2;

export const wantsRestart = (steps: readonly LiveUpdateStep[] | undefined) => steps?.some((s) => 'restart' in s && s.restart === true) ?? false;

interface Container { name: string; image?: string; command?: string[]; args?: string[] }
interface PodSpec { containers?: Container[] }

/** Pure: the pod templates of a workload (what a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet or Job runs). */
function templates(o: LoadedObject['object']): { meta: { annotations?: Record<string, string> }; spec: PodSpec }[] {
  const x = o as { kind: string; metadata: { annotations?: Record<string, string> }; spec?: { template?: { metadata?: { annotations?: Record<string, string> }; spec?: PodSpec } } & PodSpec };
  if (x.kind === 'Pod' && x.spec) return [{ meta: x.metadata, spec: x.spec }];
  if (['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'].includes(x.kind) && x.spec?.template?.spec) {
    x.spec.template.metadata ??= {};
    return [{ meta: x.spec.template.metadata, spec: x.spec.template.spec }];
  }
  return [];
}

/**
 * Pure: runs the container whose image is `image` under the supervisor in every pod template, in
 * place. `imageCommand` is the image's ENTRYPOINT and CMD (undefined when unknown: then only a
 * container whose manifest names its `command` can be wrapped). Returns the containers wrapped.
 */
export function supervise(objects: LoadedObject[], image: string, imageCommand: { entrypoint: string[]; cmd: string[] } | undefined): string[] {
  const wrapped: string[] = [];
  for (const { object } of objects) {
    for (const t of templates(object)) {
      const c = t.spec.containers?.find((x) => x.image === image);
      if (!c) continue;
      const argv = c.command ? [...c.command, ...(c.args ?? [])]
        : imageCommand ? [...imageCommand.entrypoint, ...(c.args ?? imageCommand.cmd)] : [];
      if (!argv.length) continue;
      c.command = ['/bin/sh', '-c', SUPERVISOR_SCRIPT, 'devloop-supervisor', String(RESTART_GRACE_S)];
      c.args = argv;
      t.meta.annotations = { ...t.meta.annotations, [ANNOTATION_SUPERVISED]: c.name };
      wrapped.push(`${object.kind.toLowerCase()}/${object.metadata.name}:${c.name}`);
    }
  }
  return wrapped;
}

/**
 * The image's ENTRYPOINT and CMD from the local Docker daemon, if it has /bin/sh (checked on a
 * created, never started, container, as the Docker runtime does); undefined otherwise.
 */
export function localImageCommand(ref: string): Promise<{ entrypoint: string[]; cmd: string[] } | undefined> {
  // Tags devloop builds name their content: one check per image, not per deploy.
  let known = imageCommands.get(ref);
  if (!known) imageCommands.set(ref, (known = readImageCommand(ref)));
  return known;
}

const imageCommands = new Map<string, Promise<{ entrypoint: string[]; cmd: string[] } | undefined>>();

async function readImageCommand(ref: string): Promise<{ entrypoint: string[]; cmd: string[] } | undefined> {
  const Docker = (await import('dockerode')).default;
  const { hasShell, imageCommand } = await import('../docker/supervisor.js');
  const docker = new Docker();
  try {
    const info = await docker.getImage(ref).inspect();
    const container = await docker.createContainer({ Image: ref, Entrypoint: ['/bin/sh'], Cmd: [] });
    try {
      return (await hasShell(container)) ? imageCommand(info) : undefined;
    } finally {
      await container.remove({ force: true }).catch(() => {});
    }
  } catch {
    return undefined;
  }
}

/**
 * Sends the restart signal to the supervisor of a pod's container and resolves once it has started
 * the command again (its marker line in the container's log), or rejects after `timeoutMs`.
 */
export async function restartInPod(
  kc: import('@kubernetes/client-node').KubeConfig, namespace: string, pod: string, container: string,
  exec: (command: string[]) => Promise<{ exitCode: number; output: string[] }>, timeoutMs: number,
): Promise<void> {
  const { Log } = await import('@kubernetes/client-node');
  let seen!: () => void;
  const restarted = new Promise<void>((resolve) => { seen = resolve; });
  const split = new LineSplitter((line) => { if (line.includes(RESTART_MARKER)) seen(); });
  const sink = new Writable({ write(chunk: Buffer, _enc, cb) { split.push(chunk); cb(); } });
  // From now on only (tailLines 0): the marker of an earlier restart must not count.
  const req = await new Log(kc).log(namespace, pod, container, sink, { follow: true, tailLines: 0 });
  let timer: NodeJS.Timeout | undefined;
  try {
    const r = await exec(['sh', '-c', 'kill -HUP 1']);
    if (r.exitCode !== 0) throw new Error(`signalling the supervisor in pod ${pod} failed with exit code ${r.exitCode}: ${r.output.join(' / ')}`);
    await Promise.race([restarted, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the process in pod ${pod} did not restart within ${timeoutMs / 1000} s`)), timeoutMs);
    })]);
  } finally {
    clearTimeout(timer);
    req.abort();
    sink.destroy();
  }
}

/**
 * At deploy: when the service's liveUpdate restarts, runs the container built for it under the
 * supervisor in what is about to be applied (`objects`, in place). Says so once per deploy when
 * it cannot (then a live update with a restart rebuilds).
 */
export async function superviseForRestart(ctx: import('../../core/engine/contexts.js').DeployContext, objects: LoadedObject[]): Promise<void> {
  if (!wantsRestart(ctx.config.liveUpdate) || !ctx.image || !ctx.build.image) return;
  const wrapped = supervise(objects, ctx.image, await localImageCommand(ctx.build.image));
  if (!wrapped.length) ctx.logger.info(`live update's restart will rebuild: no container running ${ctx.image} could be put under the restart supervisor (the image has no /bin/sh, or its command is unknown)`);
}
