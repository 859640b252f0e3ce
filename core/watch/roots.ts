/**
 * Which folders to subscribe to. @parcel/watcher is always recursive and each watched folder
 * costs an inotify watch, so: subscribe to the fewest folders that cover every target path and
 * extra file, and let it skip folders that can never matter (`.git`, `.devloop`, and
 * `node_modules` when git ignores it) so that they cost no watches at all.
 */
import { stat } from 'node:fs/promises';
import { dirname, sep } from 'node:path';
import { isWithin } from './paths.js';

export interface WatchRoot {
  dir: string;
  /** Folder names @parcel/watcher skips at any depth below `dir`. */
  skipDirs: string[];
}

/** Globs in the form @parcel/watcher wants: relative to the watched folder. */
export function parcelIgnoreGlobs(skipDirs: readonly string[]): string[] {
  return skipDirs.flatMap((name) => [`**/${name}`, `**/${name}/**`]);
}

/**
 * The folder to watch for one path: itself, its parent for a file, its nearest existing ancestor
 * when missing (so its creation is seen). A missing path never widens the watch above `root`
 * when it lies inside it, nor to the file-system root when it lies outside: undefined then.
 */
export async function watchDirFor(path: string, root: string): Promise<string | undefined> {
  const floor = isWithin(path, root) ? root : undefined;
  let p = path;
  let first = true;
  for (;;) {
    try {
      const s = await stat(p);
      if (s.isDirectory()) return p;
      if (first) return dirname(p);
    } catch {
      // Missing: try the parent.
    }
    first = false;
    const parent = dirname(p);
    if (p === floor || parent === p || (floor === undefined && parent === dirname(parent))) return floor;
    p = parent;
  }
}

/**
 * Drops folders inside another one, unless the outer watch would skip them: a target inside
 * `node_modules` keeps its own subscription when the project-wide one skips `node_modules`.
 */
export function coverDirs(dirs: readonly string[], skipDirs: readonly string[]): string[] {
  const sorted = [...new Set(dirs)].sort((a, b) => a.length - b.length || (a < b ? -1 : 1));
  const kept: string[] = [];
  for (const dir of sorted) {
    const covered = kept.some((outer) => isWithin(dir, outer) && !crossesSkipped(outer, dir, skipDirs));
    if (!covered) kept.push(dir);
  }
  return kept;
}

function crossesSkipped(outer: string, inner: string, skipDirs: readonly string[]): boolean {
  if (inner === outer) return false;
  const rel = inner.slice(outer === sep ? 1 : outer.length + 1);
  return rel.split(sep).some((seg) => skipDirs.includes(seg));
}

/**
 * Folders between the project root and the watch roots (and build contexts) that no recursive
 * subscription covers. Their .gitignore/.dockerignore still shape the rules, so they get a cheap
 * non-recursive watch each.
 */
export function ignoreFileDirs(root: string, watchRoots: readonly string[], contexts: readonly string[]): string[] {
  const out = new Set<string>();
  const covered = (d: string) => watchRoots.some((w) => isWithin(d, w));
  for (const start of [...watchRoots, ...contexts]) {
    if (!isWithin(start, root)) continue;
    for (let d = start; ; d = dirname(d)) {
      if (!covered(d)) out.add(d);
      if (d === root || dirname(d) === d) break;
    }
  }
  return [...out].sort();
}
