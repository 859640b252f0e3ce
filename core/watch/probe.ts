/**
 * Sees whether a burst is still going while @parcel/watcher is silent.
 *
 * @parcel/watcher delivers the first event after idle at once, then holds the rest until 50 ms of
 * quiet or 500 ms have passed. So after the first event of a `git checkout` there is a blind
 * spot of up to 500 ms, longer than the quiet window, and the checkout would be split into a
 * one-file batch and the rest. While a batch is pending, the folders its events came from get a
 * plain non-recursive `fs.watch` (one inotify watch each, no debouncing); activity there keeps
 * the batch open. The watches go away when the batch is flushed.
 */
import { lstatSync, watch, type FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';

export class ActivityProbe {
  private readonly watchers = new Map<string, FSWatcher>();

  constructor(
    private readonly onActivity: (path: string) => void,
    private readonly maxDirs = 16,
  ) {}

  /**
   * Watches the folders of `paths`, up to the cap; folders already watched cost nothing.
   * Returns false when some folder could not be watched, so activity there would go unseen.
   */
  watchParentsOf(paths: readonly string[]): boolean {
    let last = '';
    for (const p of paths) {
      // A folder just created (a checkout adding a directory) is where the next writes land:
      // probe it too, or the burst inside it goes unseen during the blind spot.
      if (!this.watchers.has(p) && isDirectory(p)) {
        if (this.watchers.size >= this.maxDirs) return false;
        this.watchDir(p);
      }
      const dir = dirname(p);
      if (dir === last || this.watchers.has(dir)) continue;
      if (this.watchers.size >= this.maxDirs) return false;
      last = dir;
      this.watchDir(dir);
    }
    return true;
  }

  private watchDir(dir: string): void {
    try {
      // persistent: false, so a forgotten probe can never keep the process alive.
      const w = watch(dir, { persistent: false }, (_type, name) => {
        if (name) this.onActivity(join(dir, name));
      });
      w.on('error', () => this.drop(dir));
      this.watchers.set(dir, w);
    } catch {
      // Gone already, or not a folder: nothing to probe.
    }
  }

  get size(): number {
    return this.watchers.size;
  }

  clear(): void {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  private drop(dir: string): void {
    this.watchers.get(dir)?.close();
    this.watchers.delete(dir);
  }
}

function isDirectory(p: string): boolean {
  try { return lstatSync(p).isDirectory(); } catch { return false; }
}
