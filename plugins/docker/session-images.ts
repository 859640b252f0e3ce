/**
 * The images this session built, so that stopping it (`q`, Ctrl-C, `devloop down`, the end of
 * `devloop ci`) does not leave one image per save behind. Per service, the last image that ran
 * healthy stays (the next `up` finds it by its content-addressed tag and starts without a
 * build); the session's other images go. While the session runs, builder.ts keeps the newest few
 * per service (`keepImages`, default 3) as Tilt does.
 *
 * Only images devloop built are touched: the `devloop-<hash>` content tags this session recorded
 * (an image an older devloop labelled for another project or service is left alone); a tag that
 * is not devloop's content tag is never removed, and removing a tag leaves the user's own tags
 * of the same image in place.
 */
import type Docker from 'dockerode';
import type { Logger } from '../../core/engine/contexts.js';
import { bounded, statusOf } from './client.js';
import { isDevloopTag, LABEL_PROJECT, LABEL_SERVICE, projectId } from './names.js';

export class SessionImages {
  /** By service, in the order built (or reused), each once. */
  private readonly built = new Map<string, string[]>();
  private readonly good = new Map<string, string>();

  /** An image the builder produced (or found already built) for `service` in this session. */
  noteBuilt(service: string, ref: string): void {
    const list = this.built.get(service) ?? [];
    const i = list.indexOf(ref);
    if (i >= 0) list.splice(i, 1);
    list.push(ref);
    this.built.set(service, list);
  }

  /** `ref` ran healthy for `service`: the one kept at the end. */
  noteGood(service: string, ref: string): void {
    this.good.set(service, ref);
  }

  /** What stays of a service's session images: the last good one, else (never healthy) the last built. */
  kept(service: string): string | undefined {
    return this.good.get(service) ?? this.built.get(service)?.at(-1);
  }

  /** Whether this session built (or reused) any image at all. */
  any(): boolean {
    return [...this.built.values()].some((refs) => refs.length > 0);
  }

  /**
   * Removes the session's images but the kept one per service. Call after the containers are
   * gone: an image a container still uses is refused by the daemon and simply stays.
   */
  async removeAtShutdown(docker: Docker, root: string, logger: Logger): Promise<string[]> {
    const project = projectId(root);
    const removed: string[] = [];
    for (const [service, refs] of this.built) {
      const keep = this.kept(service);
      for (const ref of refs) {
        if (ref === keep || !isDevloopTag(ref)) continue;
        try {
          const info = await docker.getImage(ref).inspect(bounded() as object);
          const labels = info.Config?.Labels ?? {};
          // Images carry no devloop label (the classic builder would spend an intermediate container,
          // some 0.3 s, per label on every build): the `devloop-<hash>` tag this session recorded is
          // what marks them. Those an older devloop labelled for another project or service stay.
          if (labels[LABEL_PROJECT] !== undefined && (labels[LABEL_PROJECT] !== project || labels[LABEL_SERVICE] !== service)) continue;
          await docker.getImage(ref).remove({ noprune: false, ...bounded() } as object);
          removed.push(ref);
        } catch (err) {
          // 404: already gone; 409: in use (a container outside this session): kept.
          if (statusOf(err) !== 404 && statusOf(err) !== 409) logger.warn(`could not remove image ${ref}: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      this.built.set(service, keep ? [keep] : []);
    }
    if (removed.length) logger.info(`removed ${removed.length} image${removed.length === 1 ? '' : 's'} this session built; kept the last good one of each service (${[...this.built.keys()].map((s) => `${s}: ${this.kept(s) ?? 'none'}`).join(', ')})`);
    return removed;
  }
}
