/**
 * One served model: its versions on disk, the loaded ones, a batcher per loaded version, and
 * reloading when the files change.
 *
 * A reload never drops a request: the new version is loaded beside the old one, new requests go
 * to the new one from the moment it is ready, and the old one is released only after its
 * batcher has finished what it had. A file that does not load (half written, corrupt) leaves the
 * previous version serving and says why; the next change is tried again.
 */
import { existsSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Batcher } from './batcher.js';
import { loadModelFile, type LoadedModel } from './instances.js';
import type { HostTensor, ModelSignature } from './types.js';

/** Which versions of a model folder are served (Triton's version_policy). */
export type VersionPolicy = { latest: number } | { all: true } | { specific: number[] };

export interface ModelHostOptions {
  name: string;
  /** A `.onnx` file (served as version 1) or a folder of numbered versions (`1/model.onnx`). */
  path: string;
  versionPolicy?: VersionPolicy;
  gpu?: boolean;
  instances?: number;
  maxBatchSize?: number;
  maxBatchDelayMs?: number;
  maxQueue?: number;
  projectDir?: string;
  log: (line: string) => void;
  warn: (line: string) => void;
  error: (line: string) => void;
  /** Metrics hooks (server.ts wires them to prom-client): each merged batch's rows and requests. */
  onBatch?: (model: string, rows: number, requests: number) => void;
  /** Seconds each batch spent in onnxruntime. */
  onInference?: (model: string, seconds: number) => void;
  /** Reload outcomes (metrics). */
  onReload?: (model: string, ok: boolean) => void;
  /** Debounce for file changes. Default 150 ms. */
  debounceMs?: number;
}

export interface ServedVersion {
  version: string;
  file: string;
  model: LoadedModel;
  batcher: Batcher;
  batchable: boolean;
  /** The file's identity when it was read, to tell a later change. */
  stamp: string;
}

/** The model versions present on disk, by version number. */
export async function versionsOnDisk(modelPath: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  let stats: Stats;
  try {
    stats = statSync(modelPath);
  } catch {
    return found;
  }
  if (stats.isFile()) {
    found.set('1', modelPath);
    return found;
  }
  for (const entry of await readdir(modelPath, { withFileTypes: true })) {
    if (!entry.isDirectory() || !/^[1-9]\d*$/.test(entry.name)) continue;
    const file = path.join(modelPath, entry.name, 'model.onnx');
    if (existsSync(file)) found.set(entry.name, file);
  }
  return found;
}

/** The versions a policy serves out of those on disk (Triton's default: the latest one). */
export function selectVersions(available: string[], policy: VersionPolicy = { latest: 1 }): string[] {
  const sorted = available.map(Number).sort((a, b) => b - a);
  if ('all' in policy) return sorted.map(String);
  if ('specific' in policy) return sorted.filter((v) => policy.specific.includes(v)).map(String);
  return sorted.slice(0, Math.max(1, policy.latest)).map(String);
}

/** Whether merging requests along dimension 0 is sound for this signature. */
export function isBatchable(sig: ModelSignature): boolean {
  return [...sig.inputs, ...sig.outputs].every((t) => t.shape.length > 0 && t.shape[0] === -1);
}

function stampOf(file: string): string {
  try {
    const s = statSync(file);
    return `${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch {
    return 'missing';
  }
}

export class ModelHost {
  readonly name: string;
  private readonly served = new Map<string, ServedVersion>();
  private watcher?: FSWatcher;
  private timer?: NodeJS.Timeout;
  private syncing?: Promise<void>;
  private again = false;
  private closed = false;

  constructor(private readonly opts: ModelHostOptions) {
    this.name = opts.name;
  }

  /** Loads the versions the policy selects; throws when none loads. Then watches for changes. */
  async start(): Promise<void> {
    if (!existsSync(this.opts.path)) throw new Error(`model file not found: ${this.opts.path}`);
    const available = await versionsOnDisk(this.opts.path);
    if (available.size === 0) throw new Error(`no model versions in ${this.opts.path}: expected numbered folders holding model.onnx (1/model.onnx, 2/model.onnx)`);
    await this.sync(true);
    if (this.served.size === 0) throw new Error(`no version of ${this.opts.path} matches versionPolicy ${JSON.stringify(this.opts.versionPolicy)}; on disk: ${[...available.keys()].join(', ')}`);
    this.watch();
  }

  /** Ready versions, newest first. */
  versions(): string[] {
    return [...this.served.keys()].sort((a, b) => Number(b) - Number(a));
  }

  /** A served version; without one, the newest. */
  get(version?: string): ServedVersion | undefined {
    return this.served.get(version ?? this.versions()[0] ?? '');
  }

  get ready(): boolean {
    return this.served.size > 0;
  }

  /** Requests waiting across versions (metrics). */
  get depth(): number {
    let n = 0;
    for (const s of this.served.values()) n += s.batcher.depth;
    return n;
  }

  infer(version: string | undefined, inputs: HostTensor[]): Promise<HostTensor[]> | undefined {
    return this.get(version)?.batcher.submit(inputs);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    clearTimeout(this.timer);
    await this.syncing?.catch(() => undefined);
    const all = [...this.served.values()];
    this.served.clear();
    await Promise.all(all.map((s) => this.retire(s)));
  }

  private watch(): void {
    const isDir = statSync(this.opts.path).isDirectory();
    // The folder, not the file: a model saved by rename (most exporters, `cp` over it too on
    // some filesystems) replaces the inode a file watch would be holding.
    const target = isDir ? this.opts.path : path.dirname(this.opts.path);
    const base = path.basename(this.opts.path);
    try {
      this.watcher = watch(target, { recursive: isDir }, (_event, name) => {
        if (!isDir && name !== null && name !== base) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.resync(), this.opts.debounceMs ?? 150);
      });
      this.watcher.on('error', (err) => this.opts.warn(`${this.name}: stopped watching ${target} (${err.message}); restart the service to pick up model changes`));
    } catch (err) {
      this.opts.warn(`${this.name}: cannot watch ${target} (${(err as Error).message}); model changes need a restart`);
    }
  }

  private resync(): void {
    if (this.closed) return;
    if (this.syncing) {
      this.again = true;
      return;
    }
    this.syncing = this.sync(false).finally(() => {
      this.syncing = undefined;
      if (this.again) {
        this.again = false;
        this.resync();
      }
    });
  }

  /** Brings the served versions in line with the disk and the policy. */
  private async sync(initial: boolean): Promise<void> {
    const available = await versionsOnDisk(this.opts.path);
    const wanted = selectVersions([...available.keys()], this.opts.versionPolicy);
    for (const version of wanted) {
      const file = available.get(version)!;
      const current = this.served.get(version);
      const stamp = stampOf(file);
      if (current && current.stamp === stamp) continue;
      let loaded: LoadedModel;
      try {
        loaded = await loadModelFile(file, { gpu: this.opts.gpu ?? false, instances: this.opts.instances ?? 1, warn: this.opts.warn, projectDir: this.opts.projectDir });
      } catch (err) {
        const why = String((err as Error).message).split('\n')[0];
        if (initial) throw new Error(`cannot load ${file}: ${why}`);
        this.opts.onReload?.(this.name, false);
        this.opts.error(current
          ? `${this.name}: version ${version} changed but does not load (${why}); still serving the version loaded before`
          : `${this.name}: version ${version} does not load (${why})`);
        continue;
      }
      if (this.closed) {
        await loaded.dispose();
        return;
      }
      const served = this.serve(version, file, loaded, stamp);
      this.served.set(version, served);
      const changedMeanwhile = stampOf(file) !== stamp;
      if (current) {
        this.opts.onReload?.(this.name, true);
        this.opts.log(`${this.name}: reloaded version ${version} in ${loaded.loadMs.toFixed(0)} ms; requests already queued finish on the old one`);
        void this.retire(current);
      } else {
        this.opts.log(`${this.name}: loaded version ${version} in ${loaded.loadMs.toFixed(0)} ms on ${loaded.provider.toUpperCase()}${loaded.instances > 1 ? ` (${loaded.instances} instances)` : ''}`
          + `; inputs ${describe(loaded.signature.inputs)}; outputs ${describe(loaded.signature.outputs)}`
          + (served.batchable ? '' : (this.opts.maxBatchSize ?? 1) > 1 ? '; no dynamic batching: not every input and output has a dynamic first dimension' : ''));
      }
      // A file rewritten while it was being read: what loaded was whole (it parsed), but the
      // newer bytes are what the author means. Load again.
      if (changedMeanwhile) this.again = true;
    }
    for (const [version, served] of [...this.served]) {
      if (wanted.includes(version)) continue;
      this.served.delete(version);
      this.opts.log(`${this.name}: unloaded version ${version} (${available.has(version) ? 'not selected by versionPolicy' : 'removed from disk'})`);
      void this.retire(served);
    }
  }

  private serve(version: string, file: string, model: LoadedModel, stamp: string): ServedVersion {
    const batchable = isBatchable(model.signature) && (this.opts.maxBatchSize ?? 1) > 1;
    const batcher = new Batcher({
      maxBatchSize: this.opts.maxBatchSize ?? 1,
      maxBatchDelayMs: this.opts.maxBatchDelayMs ?? 0,
      maxQueue: this.opts.maxQueue ?? 128,
      concurrency: model.instances,
      batchable,
      run: async (inputs, runner) => {
        const started = performance.now();
        const out = await model.run(inputs, runner);
        this.opts.onInference?.(this.name, (performance.now() - started) / 1000);
        return out;
      },
      onBatch: (rows, requests) => this.opts.onBatch?.(this.name, rows, requests),
      onWarn: (message) => this.opts.warn(`${this.name}: ${message}`),
    });
    return { version, file, model, batcher, batchable, stamp };
  }

  /** Lets an old version finish its queue, then frees it. */
  private async retire(served: ServedVersion): Promise<void> {
    try {
      await served.batcher.idle();
      await served.batcher.close();
    } finally {
      await served.model.dispose().catch(() => undefined);
    }
  }
}

function describe(specs: ModelSignature['inputs']): string {
  return specs.map((s) => `${s.name} ${s.datatype} [${s.shape.map((d) => (d < 0 ? '?' : d)).join(',')}]`).join(', ');
}
