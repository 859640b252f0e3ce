/**
 * Content-addressed tags pile up: every edit that rebuilds leaves one behind. After a build, the
 * service's older devloop tags beyond the newest few are untagged, as Tilt's image pruning does.
 * Images a container still uses are refused by the daemon and simply kept.
 */
import type Docker from 'dockerode';
import { TAG_PREFIX } from './names.js';

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
