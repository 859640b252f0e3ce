/**
 * What each watched path held when the engine was last told about it, so that a change that
 * changes nothing (a save without edits, `touch`, a file deleted and written back the same, an
 * editor's temp file that comes and goes within one batch) does not redeploy.
 *
 * A path's print is its content hash (a folder, a link and a large file get cheaper prints, see
 * `printOf`). The baseline comes from a scan of the watched trees when the watcher starts,
 * running beside the first build rather than delaying the watch. Two races are closed:
 *   - the scan may read a file after an edit whose event has not arrived yet (the backend holds
 *     events for up to ~500 ms), and would then take the edited content for the baseline: a print
 *     is kept only when the file's ctime, read after its content, predates the watch;
 *   - a file may be deleted or created while the scan runs: paths with events during a scan are
 *     never taken from it, and are reported on their next flush whatever they hold.
 * Anything without a trusted baseline is reported, as before this ledger existed.
 */
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isWithin } from './paths.js';

/** Files above this are printed by size and mtime, not read: a touch of one still redeploys. */
export const MAX_HASHED_BYTES = 8 * 1024 * 1024;
/** Baseline scans stop after this many paths; paths beyond it have no baseline. */
export const MAX_SCANNED_PATHS = 50_000;
/**
 * File timestamps come from a coarse kernel clock that can lag the wall clock by a tick: a write
 * just after the watch began may carry a ctime just before it. Prints this close are not trusted.
 */
const CTIME_MARGIN_MS = 100;
const MISSING = 'missing';
/**
 * Files are read synchronously, this many between turns of the event loop: for small source
 * files a synchronous read is several times cheaper than five thread-pool round trips (lstat,
 * open, fstat, read, close), and a slice this size blocks the loop for a few ms at most.
 */
const SLICE = 256;

/** Identity of a file: device and inode (the same file under any name). */
export interface FileId { dev: number; ino: number }

export interface Printed {
  path: string;
  print: string;
  /** Set for regular files, so the caller can drop files it must never report. */
  id?: FileId;
}

/**
 * `missing`, `dir`, `link:<target>`, `other:<mode>` (a socket or FIFO: never opened),
 * `big:<size>:<mtime>` above `MAX_HASHED_BYTES`, else `sha1:<hex>` of the content.
 */
export function printOf(path: string): Printed {
  let st: Stats;
  try {
    st = lstatSync(path);
  } catch {
    return { path, print: MISSING };
  }
  if (st.isDirectory()) return { path, print: 'dir' };
  if (st.isSymbolicLink()) {
    let target = '?';
    try { target = readlinkSync(path); } catch { /* gone meanwhile */ }
    return { path, print: `link:${target}` };
  }
  if (!st.isFile()) return { path, print: `other:${st.mode}` };
  const id = { dev: st.dev, ino: st.ino };
  if (st.size > MAX_HASHED_BYTES) return { path, print: `big:${st.size}:${st.mtimeMs}`, id };
  try {
    return { path, print: `sha1:${createHash('sha1').update(readFileSync(path)).digest('hex')}`, id };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { path, print: MISSING };
    // Unreadable (permissions): fall back to what stat says, so it still differs from absent.
    return { path, print: `unreadable:${st.size}:${st.mtimeMs}:${st.mode}`, id };
  }
}

/** Maps `fn` over `items` in slices of `SLICE`, yielding to the event loop between slices. */
async function mapSliced<T, R>(items: readonly T[], fn: (item: T) => R): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += SLICE) {
    if (i > 0) await new Promise((r) => setImmediate(r));
    for (const item of items.slice(i, i + SLICE)) out.push(fn(item));
  }
  return out;
}

export interface ScanRoot {
  /** A folder (scanned recursively) or a single file. */
  path: string;
  /** Answers whether a path is watched at all; ignored paths need no baseline. */
  relevant(path: string): boolean;
  /** Folder names never entered. */
  skipDirs: readonly string[];
}

export class ContentLedger {
  private readonly prints = new Map<string, string>();
  /** Roots whose scan finished without hitting the cap: a path inside with no print was absent. */
  private readonly covered: string[] = [];
  /** Ignored folders a scan did not enter: what they hold has no baseline, even in a covered root. */
  private readonly unscanned = new Set<string>();
  /** Paths with events while a scan ran, until they are flushed. */
  private readonly dirty = new Set<string>();
  private scanning = 0;
  private flushing: Promise<unknown> = Promise.resolve();

  /**
   * Scans `root` for baselines. `since` is when the watch on it began (`Date.now()`): prints of
   * files changed after that are not trusted (see the header).
   */
  async scan(root: ScanRoot, since: number): Promise<void> {
    this.scanning++;
    try {
      const { paths, complete, skipped } = await listRelevant(root);
      const trustBefore = since - CTIME_MARGIN_MS;
      await mapSliced(paths, (p) => {
        if (this.prints.has(p) || this.dirty.has(p)) return;
        const printed = printOf(p);
        if (printed.print === MISSING) return;
        // Read after the content: a change between the two shows as a ctime after the watch began
        // (for a folder: created, or an entry added or removed, after it began).
        let after: Stats | undefined;
        try { after = lstatSync(p); } catch { return; }
        if (after.ctimeMs >= trustBefore) return;
        this.prints.set(p, printed.print);
      });
      for (const dir of skipped) this.unscanned.add(dir);
      if (complete) this.covered.push(root.path);
    } finally {
      // Paths noted meanwhile stay dirty until their flush: their events may be flushed later.
      this.scanning--;
    }
  }

  /** Called for every relevant event; only matters while a scan runs. */
  noteEvent(path: string): void {
    if (this.scanning > 0) this.dirty.add(path);
  }

  /**
   * The paths whose print differs from what was last reported (or scanned), in input order, and
   * records their new prints: from now on they are what the engine has seen. `skip` drops paths
   * (and does not record them), such as devloop's own output files. Calls run one at a time, so
   * two overlapping flushes cannot record prints out of order.
   */
  changed(paths: readonly string[], skip?: (p: Printed) => boolean): Promise<string[]> {
    const run = this.flushing.then(() => this.compare(paths, skip));
    this.flushing = run.catch(() => undefined);
    return run;
  }

  private async compare(paths: readonly string[], skip?: (p: Printed) => boolean): Promise<string[]> {
    const printed = await mapSliced(paths, printOf);
    const out: string[] = [];
    for (const p of printed) {
      if (skip?.(p)) continue;
      const dirty = this.dirty.delete(p.path);
      const before = this.prints.get(p.path) ?? (!dirty && this.isCovered(p.path) ? MISSING : undefined);
      if (before === p.print) continue;
      out.push(p.path);
      // In covered roots absence is the default: a deleted file needs no entry.
      if (p.print === MISSING && this.isCovered(p.path)) this.prints.delete(p.path);
      else this.prints.set(p.path, p.print);
    }
    return out;
  }

  /** Number of paths with a print (for tests and benches). */
  get size(): number {
    return this.prints.size;
  }

  private isCovered(path: string): boolean {
    if (!this.covered.some((root) => isWithin(path, root))) return false;
    // Ancestors, not every skipped folder: a monorepo may skip thousands (each package's dist/).
    for (let dir = dirname(path); this.unscanned.size > 0; dir = dirname(dir)) {
      if (this.unscanned.has(dir)) return false;
      if (dirname(dir) === dir) break;
    }
    return !this.unscanned.has(path);
  }
}

/**
 * The relevant paths (files and folders) under a root, up to `MAX_SCANNED_PATHS`, and the ignored
 * folders it did not enter (a build's output tree, a virtualenv: nothing there is watched, bar
 * the rare path re-included by a negated rule, which then simply has no baseline).
 */
async function listRelevant(root: ScanRoot): Promise<{ paths: string[]; complete: boolean; skipped: string[] }> {
  const paths: string[] = [];
  const skipped: string[] = [];
  const top = await lstat(root.path).catch(() => undefined);
  if (!top?.isDirectory()) return { paths: top && root.relevant(root.path) ? [root.path] : [], complete: true, skipped };
  const pending = [root.path];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      skipped.push(dir); // removed meanwhile, or unreadable: no baseline there
      continue;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && root.skipDirs.includes(entry.name)) continue;
      if (!root.relevant(path)) {
        if (entry.isDirectory()) skipped.push(path);
        continue;
      }
      if (paths.length >= MAX_SCANNED_PATHS) return { paths, complete: false, skipped };
      paths.push(path);
      if (entry.isDirectory()) pending.push(path);
    }
  }
  return { paths, complete: true, skipped };
}
