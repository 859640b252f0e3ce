/**
 * Content-addressed tags pile up: every edit that rebuilds leaves one behind. After a build, the
 * service's older devloop tags beyond the newest few are untagged, as Tilt's image pruning does;
 * under disk pressure, every service's are (`pruneForPressure`). Images a container still uses
 * are refused by the daemon and simply kept.
 */
import type Docker from 'dockerode';
import type { DiskPressureContext } from '../../core/pressure/context.js';
import type { DiskTarget } from '../../core/pressure/decide.js';
import { daemonMessage, type DockerDaemon } from './client.js';
import { imageRepository, projectName, TAG_PREFIX } from './names.js';

export async function pruneOldTags(docker: Docker, repository: string, keep: number, protect: string[]): Promise<string[]> {
  if (keep <= 0) return [];
  const images = await docker.listImages({ filters: { reference: [repository] } });
  const tagged = images
    .map((img) => ({ created: img.Created, tags: (img.RepoTags ?? []).filter((t) => t.startsWith(`${repository}:${TAG_PREFIX}`)) }))
    .filter((i) => i.tags.length > 0)
    .sort((a, b) => b.created - a.created);
  const removed: string[] = [];
  for (const img of tagged.slice(keep)) {
    for (const tag of img.tags) {
      if (protect.includes(tag)) continue;
      try {
        await docker.getImage(tag).remove({ noprune: false });
        removed.push(tag);
      } catch {
        // In use by a container (ours or the user's): keep it.
      }
    }
  }
  return removed;
}

/**
 * Disk pressure on the disk holding Docker's data: each service's devloop tags beyond the
 * newest `keep` removed, said per service. Only when a daemon answers.
 */
export async function pruneForPressure(ctx: DiskPressureContext, daemon: DockerDaemon, services: string[]): Promise<void> {
  if (!ctx.holds.includes('docker') || !(await daemon.reachable())) return;
  const project = projectName(ctx.root, ctx.devfile.name);
  for (const service of services) {
    try {
      const removed = await pruneOldTags(daemon.docker, imageRepository(project, service), ctx.keepImages, []);
      if (removed.length) ctx.report(`removed ${removed.length} older image${removed.length === 1 ? '' : 's'} of ${service} (kept the newest ${ctx.keepImages})`);
    } catch (err) {
      ctx.report(`could not prune the images of ${service}: ${daemonMessage(err)}`);
    }
  }
}

/**
 * The disk to watch for Docker's data: `docker info`'s DockerRootDir, when a daemon answers.
 * Asked at every reading (a daemon may start later); the answer is kept once there is one.
 */
export function dockerDataDisk(daemon: DockerDaemon): () => Promise<DiskTarget[]> {
  let dir: string | undefined;
  return async () => {
    // A plain GET /info on a local socket: the watcher runs for every project, most with nothing on Docker.
    if (!dir && (await daemon.ping())) dir = (await daemon.getJson<{ DockerRootDir?: string }>('/info', (docker) => docker.info() as Promise<{ DockerRootDir?: string }>))?.DockerRootDir || undefined;
    return dir ? [{ path: dir, holds: ['docker'] }] : [];
  };
}
