/**
 * Lists what a newly created folder already holds. inotify can only watch a folder once it
 * exists, so files written into it before the watch is in place (`git checkout`, `tar x`,
 * `mkdir -p a && cp ...`) produce no events of their own.
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

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

/**
 * The created paths that are folders. One readdir per parent folder rather than one lstat per
 * path: a burst creates thousands of files in a handful of folders.
 */
export async function createdFolders(paths: readonly string[]): Promise<string[]> {
  const byParent = new Map<string, Set<string>>();
  for (const p of paths) {
    const parent = dirname(p);
    let names = byParent.get(parent);
    if (!names) byParent.set(parent, (names = new Set()));
    names.add(basename(p));
  }
  const found = await Promise.all([...byParent].map(async ([parent, names]) => {
    try {
      const entries = await readdir(parent, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && names.has(e.name)).map((e) => join(parent, e.name));
    } catch {
      return []; // the parent is gone again
    }
  }));
  return found.flat();
}
