/**
 * Lists what a newly created folder already holds. inotify can only watch a folder once it
 * exists, so files written into it before the watch is in place (`git checkout`, `tar x`,
 * `mkdir -p a && cp ...`) produce no events of their own.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Files below `dir` (not `dir` itself), skipping the named folders, at most `limit` of them. */
export async function listTree(dir: string, skipDirs: readonly string[], limit = 100_000): Promise<string[]> {
  const out: string[] = [];
  const pending = [dir];
  while (pending.length > 0 && out.length < limit) {
    const current = pending.pop()!;
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      continue; // removed again, or unreadable: nothing to report
    }
    for (const entry of entries) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) {
        if (!skipDirs.includes(entry.name)) pending.push(path);
      } else {
        out.push(path);
      }
    }
  }
  return out;
}

/** The created paths that are folders; lstat errors (already gone) count as not folders. */
export async function createdFolders(paths: readonly string[], concurrency = 64): Promise<string[]> {
  const dirs: string[] = [];
  let next = 0;
  async function worker(): Promise<void> {
    while (next < paths.length) {
      const p = paths[next++];
      try {
        if ((await lstat(p)).isDirectory()) dirs.push(p);
      } catch {
        // gone already
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  return dirs;
}
