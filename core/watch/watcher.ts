/**
 * The file watcher: @parcel/watcher subscriptions -> relevance filter -> coalescer -> batches of
 * changed files per target.
 *
 * Events are filtered as they arrive, not only at flush time, so that ignored churn (a build
 * writing into `dist/`, an editor's swap files, devloop's own output redirected into the project)
 * neither extends the quiet window nor produces empty batches. Matching is redone at flush time
 * because an ignore file may have changed in between. Last, the files of a flushed batch are
 * compared with what the engine was last told they held (contents.ts): a batch whose files all
 * hold what they held (a save without change, `touch`) is not reported at all.
 */
import { lstatSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import parcel from '@parcel/watcher';
import { Coalescer, type CoalescedBatch } from './coalesce.js';
import { ContentLedger } from './contents.js';
import { translateWatchError } from './errors.js';
import { ProjectIgnores } from './ignore.js';
import { isOwnOutput, ownOutputs } from './own-output.js';
import { isWithin, trimSep } from './paths.js';
import { coverDirs, ignoreFileDirs, parcelIgnoreGlobs, watchDirFor } from './roots.js';
import { ActivityProbe } from './probe.js';
import { createdFolders, listTree } from './scan.js';
import { candidateTargets, indexTargets, mapChangesToTargets, type TargetIndex } from './targets.js';
import type { Watcher, WatcherOptions, WatchTarget, WatchTargetSpec } from './types.js';

interface State {
  specs: WatchTargetSpec[];
  targets: WatchTarget[];
  index: TargetIndex;
  files: Set<string>;
  /** Folders above a target path or extra file: creating one may create what is watched. */
  ancestors: Set<string>;
}

/**
 * @parcel/watcher hands over a live stream in slices: after 50 ms of quiet, or every ~500 ms
 * while events keep coming. The probe (probe.ts) sees whether the folders of a pending batch are
 * still busy in between. When a large slice comes from more folders than the probe can cover,
 * and ~500 ms after the previous slice (so possibly cut while the stream was live), the batch
 * is held open long enough for the next slice instead.
 */
const BURST_EVENTS = 50;
const LIVE_SLICE_GAP_MS = 400;
const BURST_HOLD_MS = 700;
/** Probe callbacks come once per file operation; during a burst, one check per few ms is plenty. */
const PROBE_THROTTLE_MS = 5;

/**
 * Left to choose, @parcel/watcher first looks for watchman by running it through a shell, and
 * never reaps that shell: a zombie `sh` under devloop for the whole session. Name the system's
 * own backend instead (undefined elsewhere: the library's default).
 */
export function nativeBackend(platform: NodeJS.Platform = process.platform): parcel.BackendType | undefined {
  switch (platform) {
    case 'linux': return 'inotify';
    case 'darwin': return 'fs-events';
    case 'win32': return 'windows';
    default: return undefined;
  }
}

export async function createWatcher(options: WatcherOptions): Promise<Watcher> {
  const root = trimSep(resolve(options.root));
  const own = ownOutputs();
  const rules = new ProjectIgnores({ root, globs: options.ignore, paths: own.paths });
  const ledger = new ContentLedger();
  const scannedRoots: string[] = [];
  let scans: Promise<unknown> = Promise.resolve();
  let delivering: Promise<void> = Promise.resolve();
  const backend = nativeBackend();
  const subscriptions = new Map<string, parcel.AsyncSubscription>();
  const dirWatchers = new Map<string, FSWatcher>();
  let skipDirs: string[] = [];
  let closed = false;
  let state = makeState(options.targets, options.files);
  let syncing: Promise<void> = Promise.resolve();
  let lastSliceAt = -Infinity;
  let lastProbeAt = -Infinity;
  const probing = (options.debounceMs ?? 1) > 0;

  const coalescer = new Coalescer({ quietMs: options.debounceMs, maxWaitMs: options.maxWaitMs, onFlush: flush });
  const probe = new ActivityProbe((path) => {
    const now = performance.now();
    if (closed || now - lastProbeAt < PROBE_THROTTLE_MS || !isRelevant(path, [])) return;
    lastProbeAt = now;
    coalescer.touch();
  });

  function makeState(specs: WatchTargetSpec[], files: string[] = []): State {
    const resolved = specs.map((s) => ({
      ...s,
      paths: s.paths.map((p) => resolve(root, p)),
      dockerContext: s.dockerContext === undefined ? undefined : resolve(root, s.dockerContext),
      ignorePaths: s.ignorePaths?.map((p) => resolve(root, p)),
    }));
    const targets = rules.targets(resolved);
    const fileSet = new Set(files.map((f) => resolve(root, f)));
    const ancestors = new Set<string>();
    for (const p of [...resolved.flatMap((s) => s.paths), ...fileSet]) {
      for (let d = dirname(p); !ancestors.has(d); d = dirname(d)) {
        ancestors.add(d);
        if (dirname(d) === d) break;
      }
    }
    return { specs: resolved, targets, index: indexTargets(targets), files: fileSet, ancestors };
  }

  function isRelevant(path: string, candidates: number[]): boolean {
    if (state.files.has(path)) return true;
    for (const i of candidateTargets(path, state.index, candidates)) if (!state.targets[i].ignore.ignores(path)) return true;
    return false;
  }

  function onEvents(err: Error | null, events: parcel.Event[], dir: string): void {
    if (closed) return;
    if (err) {
      options.onError(translateWatchError(err, dir));
      return;
    }
    // Reload rules first so the rest of this chunk is judged by the new ones.
    for (const e of events) if (rules.isIgnoreFile(e.path)) rules.reload(e.path);
    const relevant: string[] = [];
    const created: string[] = [];
    const candidates: number[] = [];
    for (const e of events) {
      if (isRelevant(e.path, candidates)) {
        relevant.push(e.path);
        ledger.noteEvent(e.path);
        if (e.type === 'create') created.push(e.path);
      } else if (e.type === 'create' && state.ancestors.has(e.path)) {
        created.push(e.path);
      }
    }
    const now = performance.now();
    const covered = relevant.length === 0 || !probing || probe.watchParentsOf(relevant);
    const maybeLive = !covered && relevant.length >= BURST_EVENTS && now - lastSliceAt >= LIVE_SLICE_GAP_MS;
    // A small slice that creates a folder is how a checkout starts (mkdir, then the files in it):
    // hold the batch as for a live slice, so that a pause before the first write (a busy machine)
    // does not flush the bare folder as a build of its own. Only small slices are checked, so a
    // burst's big slices cost no extra stat calls; the probe watches the new folder meanwhile.
    const newFolder = probing && created.length > 0 && created.length < BURST_EVENTS && created.some(isDirectory);
    lastSliceAt = now;
    coalescer.add(relevant, maybeLive || newFolder ? BURST_HOLD_MS : 0);
    if (created.length > 0) void addContentsOfNewFolders(created);
  }

  async function addContentsOfNewFolders(created: string[]): Promise<void> {
    try {
      for (const dir of await createdFolders(created)) {
        if (closed) return;
        const candidates: number[] = [];
        coalescer.add((await listTree(dir, skipDirs)).filter((p) => isRelevant(p, candidates)));
      }
    } catch (err) {
      if (!closed) options.onError(translateWatchError(err));
    }
  }

  function flush(batch: CoalescedBatch): void {
    probe.clear();
    const byTarget = mapChangesToTargets(batch.paths, state.targets, state.index);
    const files = batch.paths.filter((p) => state.files.has(p));
    const reported = new Set(files);
    for (const list of byTarget.values()) for (const p of list) reported.add(p);
    if (reported.size === 0) return;
    const candidates = batch.paths.filter((p) => reported.has(p));
    // The ledger runs one comparison at a time, so batches are delivered in the order flushed.
    delivering = ledger.changed(candidates, (p) => isOwnOutput(p.id, own)).then((changed) => {
      if (closed || changed.length === 0) return;
      const keep = new Set(changed);
      const kept = new Map<string, string[]>();
      for (const [name, list] of byTarget) {
        const left = list.filter((p) => keep.has(p));
        if (left.length > 0) kept.set(name, left);
      }
      options.onBatch({ byTarget: kept, files: files.filter((p) => keep.has(p)), all: changed, events: batch.events, firstEventAt: batch.firstEventAt, flushedAt: performance.now() });
    }).catch((err) => {
      if (!closed) options.onError(err instanceof Error ? err : new Error(String(err)));
    });
  }

  /**
   * Baselines for the ledger: each target path and extra file not inside one scanned before.
   * `since` is when the subscriptions now in place were asked for.
   */
  function scanNewRoots(since: number): void {
    const paths = [...state.specs.flatMap((s) => s.paths), ...state.files];
    const fresh = paths.filter((p) => !scannedRoots.some((r) => isWithin(p, r)));
    if (fresh.length === 0) return;
    scannedRoots.push(...fresh);
    const skip = [...skipDirs];
    scans = Promise.all([scans, ...fresh.map((p) => ledger.scan({ path: p, relevant: (q) => isRelevant(q, []), skipDirs: skip }, since))])
      .catch((err) => { if (!closed) options.onError(translateWatchError(err)); });
  }

  /** Brings subscriptions in line with `state`: new ones first so no change slips through. */
  async function sync(): Promise<void> {
    const since = Date.now();
    skipDirs = ['.git', '.devloop'];
    if (rules.git.ignores(join(root, 'node_modules'))) skipDirs.push('node_modules');
    const paths = [...state.specs.flatMap((s) => s.paths), ...state.files];
    const dirs = await Promise.all(paths.map((p) => watchDirFor(p, root)));
    const roots = coverDirs(dirs.filter((d): d is string => d !== undefined), skipDirs);
    const ignore = parcelIgnoreGlobs(skipDirs);
    const wanted = new Map(roots.map((dir) => [`${dir}\0${skipDirs.join('\0')}`, dir]));

    const added = [...wanted].filter(([key]) => !subscriptions.has(key));
    const results = await Promise.allSettled(
      added.map(async ([key, dir]) => {
        const sub = await parcel.subscribe(dir, (err, events) => onEvents(err, events, dir), { ignore, backend });
        subscriptions.set(key, sub);
      }),
    );
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) throw translateWatchError((results[failed] as PromiseRejectedResult).reason, added[failed][1]);

    await Promise.all([...subscriptions].filter(([key]) => !wanted.has(key)).map(async ([key, sub]) => {
      subscriptions.delete(key);
      await sub.unsubscribe();
    }));

    const contexts = state.specs.flatMap((s) => (s.dockerContext ? [s.dockerContext] : []));
    syncDirWatchers(ignoreFileDirs(root, roots, contexts));
    scanNewRoots(since);
  }

  function syncDirWatchers(dirs: string[]): void {
    const wanted = new Set(dirs);
    for (const [dir, w] of dirWatchers) if (!wanted.has(dir)) { w.close(); dirWatchers.delete(dir); }
    for (const dir of wanted) {
      if (dirWatchers.has(dir)) continue;
      try {
        const w = fsWatch(dir, (_type, name) => {
          if (closed) return;
          if (name === null) for (const f of ['.gitignore', '.dockerignore']) rules.reload(join(dir, f));
          else if (rules.isIgnoreFile(name)) rules.reload(join(dir, name));
        });
        w.on('error', () => { w.close(); dirWatchers.delete(dir); });
        dirWatchers.set(dir, w);
      } catch {
        // A missing context folder has no ignore file to follow.
      }
    }
  }

  /** Runs one sync at a time; a failed sync does not poison the next. */
  function enqueueSync(): Promise<void> {
    const next = syncing.catch(() => undefined).then(() => (closed ? undefined : sync()));
    syncing = next;
    return next;
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    coalescer.dispose();
    probe.clear();
    await syncing.catch(() => undefined);
    for (const w of dirWatchers.values()) w.close();
    dirWatchers.clear();
    const subs = [...subscriptions.values()];
    subscriptions.clear();
    await Promise.allSettled(subs.map((s) => s.unsubscribe()));
  }

  rules.git.preload(state.specs.flatMap((s) => s.paths));
  try {
    await enqueueSync();
  } catch (err) {
    await close();
    throw err;
  }

  return {
    async update(targets, files) {
      if (closed) return;
      state = makeState(targets, files ?? [...state.files]);
      await enqueueSync();
    },
    close,
    async settled() {
      await syncing.catch(() => undefined);
      await scans;
      await delivering;
    },
  };
}

function isDirectory(p: string): boolean {
  try { return lstatSync(p).isDirectory(); } catch { return false; }
}
