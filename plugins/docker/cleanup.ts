/**
 * Leftovers. `cleanup` (start of `up`/`ci`, and `down`) removes this project's containers whose
 * devloop session is gone: crashed, killed -9, or the machine slept through its shutdown.
 * `shutdown` makes sure nothing this session started survives it, including a container created
 * by a deploy that was cancelled half-way, and removes the images it built but the last good one
 * per service (session-images.ts).
 */
import type Docker from 'dockerode';
import type { Engine } from '../../core/engine/engine.js';
import { DOCKER_PLUGIN } from './builder.js';
import { bounded, statusOf, type DockerDaemon } from './client.js';
import type { ActiveContainers } from './deployer.js';
import type { SessionImages } from './session-images.js';
import { LABEL_PROJECT, LABEL_SERVICE, LABEL_SESSION, projectId, sessionAlive } from './names.js';

export function tapCleanup(engine: Engine, daemon: DockerDaemon, active: ActiveContainers, images?: SessionImages): void {
  engine.hooks.cleanup.tapPromise(DOCKER_PLUGIN, async (ctx) => {
    // Asked over a plain request first: nearly every start finds nothing to remove, and loading
    // dockerode for that would delay the first build by 0.3 s (client.ts).
    if (!(await daemon.ping())) return;
    const listed = await peekProjectContainers(daemon, ctx.root);
    if (!listed?.some((c) => !sessionAlive(c.Labels))) return;
    if (!(await daemon.reachable())) return;
    const removed = await removeStaleContainers(daemon.docker, ctx.root);
    if (removed.length) {
      const sessions = [...new Set(removed.map((r) => r.session))].join(', ');
      ctx.logger.info(`removed ${removed.length} container${removed.length === 1 ? '' : 's'} left by an earlier devloop (pid ${sessions}): ${removed.map((r) => r.name).join(', ')}`);
    }
  });

  engine.hooks.shutdown.tapPromise(DOCKER_PLUGIN, async (ctx) => {
    await Promise.all([...active.values()].map((d) => d.stop(ctx.reason).catch(() => {})));
    if (!(await daemon.ping())) return;
    const mine = (await peekProjectContainers(daemon, ctx.root, [`${LABEL_SESSION}=${process.pid}`])) ?? [];
    // Nothing of this session on Docker (a project whose services all run as processes): stop
    // without loading dockerode.
    if (!mine.length && !images?.any()) return;
    if (!(await daemon.reachable())) return;
    await Promise.all(mine.map((c) => removeContainer(daemon.docker, c.Id)));
    // Once no container of this session uses them.
    await images?.removeAtShutdown(daemon.docker, ctx.root, ctx.logger).catch((err) => ctx.logger.warn(`could not remove this session's older images: ${err instanceof Error ? err.message : String(err)}`));
  });
}

export interface RemovedContainer {
  name: string;
  service: string;
  session: string;
}

export async function removeStaleContainers(docker: Docker, root: string): Promise<RemovedContainer[]> {
  const all = await listProjectContainers(docker, root);
  const stale = all.filter((c) => !sessionAlive(c.Labels));
  await Promise.all(stale.map((c) => removeContainer(docker, c.Id)));
  return stale.map((c) => ({ name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''), service: c.Labels?.[LABEL_SERVICE] ?? '?', session: c.Labels?.[LABEL_SESSION] ?? '?' }));
}

export function listProjectContainers(docker: Docker, root: string, extraLabels: string[] = []): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${LABEL_PROJECT}=${projectId(root)}`, ...extraLabels] }, ...bounded() });
}

/** listProjectContainers without loading dockerode when the daemon is on a local socket; undefined when none answers. */
function peekProjectContainers(daemon: DockerDaemon, root: string, extraLabels: string[] = []): Promise<Docker.ContainerInfo[] | undefined> {
  const filters = JSON.stringify({ label: [`${LABEL_PROJECT}=${projectId(root)}`, ...extraLabels] });
  return daemon.getJson(`/containers/json?all=1&filters=${encodeURIComponent(filters)}`, (docker) => listProjectContainers(docker, root, extraLabels));
}

async function removeContainer(docker: Docker, id: string): Promise<void> {
  try {
    await docker.getContainer(id).remove({ force: true, v: true, ...bounded() } as object);
  } catch (err) {
    if (statusOf(err) !== 404 && statusOf(err) !== 409) throw err;
  }
}
