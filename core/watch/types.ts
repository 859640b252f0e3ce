/** Shared shapes of the watcher. Kept apart so the pure modules need not import the I/O ones. */

/** Answers whether an absolute path is excluded from one target. */
export interface Ignorer {
  ignores(absPath: string): boolean;
}

/** A target as the pure mapping sees it: resolved paths plus a ready matcher. */
export interface WatchTarget {
  name: string;
  /** Absolute files or folders. */
  paths: string[];
  ignore: Ignorer;
}

/** A target as the engine describes it; the watcher turns it into a `WatchTarget`. */
export interface WatchTargetSpec {
  /** Usually the service name; the key of `WatchBatch.byTarget`. */
  name: string;
  /** Absolute files or folders whose changes concern this target. */
  paths: string[];
  /** Per-service Devfile globs, relative to the project root. */
  ignore?: string[];
  /** The docker build context; its `.dockerignore` applies when given. */
  dockerContext?: string;
  /** Absolute paths never reported for this target, such as its build outputs. */
  ignorePaths?: string[];
}

export interface WatchBatch {
  /** Target name -> changed files of that target. Only targets with changes are present. */
  byTarget: Map<string, string[]>;
  /** The extra watched files (`WatcherOptions.files`) that changed. */
  files: string[];
  /** Every reported path once: the union of `byTarget` values and `files`. */
  all: string[];
  /** Raw relevant events folded into this batch (before de-duplication). */
  events: number;
  /** `performance.now()` when the first event of the batch arrived. */
  firstEventAt: number;
  /** `performance.now()` when the batch was handed over (after its files were compared). */
  flushedAt: number;
}

export interface WatcherOptions {
  /** Project root: where `.gitignore` lookup starts and what Devfile globs are relative to. */
  root: string;
  targets: WatchTargetSpec[];
  /** Extra individual files to report in `batch.files` (the Devfile and its imports). */
  files?: string[];
  /** Project-wide Devfile globs, relative to `root`. */
  ignore?: string[];
  /** Quiet window before a batch is flushed. Default 100 ms. */
  debounceMs?: number;
  /** Longest a batch may wait after its first event. Default 2000 ms. */
  maxWaitMs?: number;
  onBatch(batch: WatchBatch): void;
  onError(err: Error): void;
}

export interface Watcher {
  /** Replaces the targets and extra files; subscriptions are adjusted, pending events are kept. */
  update(targets: WatchTargetSpec[], files?: string[]): Promise<void>;
  /** Unsubscribes everything and clears timers; pending events are dropped. */
  close(): Promise<void>;
  /**
   * Resolves once the baselines of the paths watched so far are read (until then, a save without
   * change is still reported) and batches already flushed are delivered.
   */
  settled(): Promise<void>;
}
