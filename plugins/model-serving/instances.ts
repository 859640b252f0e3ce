/**
 * One loaded model version: its onnxruntime session(s) and the provider they run on.
 *
 * onnxruntime-node's `run` executes synchronously on the calling thread, so two sessions on one
 * thread never overlap. One instance (the default) runs on the server's thread, which costs
 * nothing per request; `instances: N > 1` gives each session its own worker thread, and the
 * batcher hands each runner index to one of them.
 */
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import { cudaProviderFile, GPU_INSTALL_HINT, loadOrt, runSession, signatureOf, type OrtModule } from './ort.js';
import type { HostTensor, ModelSignature } from './types.js';

export type Provider = 'cpu' | 'cuda';

export interface LoadOptions {
  gpu: boolean;
  instances: number;
  /** Said once per process when `gpu` cannot be honoured. */
  warn: (message: string) => void;
  projectDir?: string;
}

export interface LoadedModel {
  signature: ModelSignature;
  provider: Provider;
  instances: number;
  /** Milliseconds from reading the file to the sessions being ready. */
  loadMs: number;
  run(inputs: HostTensor[], runner: number): Promise<HostTensor[]>;
  dispose(): Promise<void>;
}

let gpuWarned = false;

function warnOnce(opts: LoadOptions, message: string): void {
  if (gpuWarned) return;
  gpuWarned = true;
  opts.warn(message);
}

/** The execution providers to try, in order, for this request of `gpu`. */
export function providersFor(ort: OrtModule, gpu: boolean, opts: LoadOptions): Provider[] {
  if (!gpu) return ['cpu'];
  if (cudaProviderFile(ort)) return ['cuda', 'cpu'];
  warnOnce(opts, `gpu: true, but this onnxruntime-node has no CUDA execution provider (it was installed without its CUDA build); running on CPU. To use a GPU, ${GPU_INSTALL_HINT}`);
  return ['cpu'];
}

/** Session options for one of `instances` sessions sharing the machine's cores. */
function sessionOptions(provider: Provider, instances: number): Ort.InferenceSession.SessionOptions {
  const threads = Math.max(1, Math.floor(os.availableParallelism() / instances));
  // No spinning: onnxruntime's pool threads otherwise busy-wait after each run, taking the CPU
  // the server's own thread needs for parsing and answering the next requests.
  return {
    executionProviders: [provider], graphOptimizationLevel: 'all', logSeverityLevel: 3, ...(instances > 1 ? { intraOpNumThreads: threads } : {}),
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

/** Creates a session from model bytes on the first provider that works. */
export async function createSession(ort: OrtModule, bytes: Uint8Array, providers: Provider[], instances: number, opts: LoadOptions): Promise<{ session: Ort.InferenceSession; provider: Provider }> {
  let last: unknown;
  for (const provider of providers) {
    try {
      return { session: await ort.InferenceSession.create(bytes, sessionOptions(provider, instances)), provider };
    } catch (err) {
      last = err;
      if (provider === 'cuda') warnOnce(opts, `gpu: true, but the CUDA execution provider did not start (${firstLine(err)}); running on CPU. Check that a GPU is visible (nvidia-smi) and CUDA 12 / cuDNN 9 libraries are on LD_LIBRARY_PATH.`);
      else throw err;
    }
  }
  throw last;
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 300);
}

/**
 * Reads and loads a model file. The bytes are read once and parsed from memory, so a file
 * being rewritten during the load yields either a whole model or a parse error, never a mix.
 */
export async function loadModelFile(file: string, opts: LoadOptions): Promise<LoadedModel> {
  const started = performance.now();
  const ort = loadOrt(opts.projectDir);
  const bytes = new Uint8Array(await readFile(file));
  const providers = providersFor(ort, opts.gpu, opts);
  const instances = Math.max(1, opts.instances);
  if (instances === 1) {
    const { session, provider } = await createSession(ort, bytes, providers, 1, opts);
    const signature = signatureOf(session);
    return {
      signature, provider, instances, loadMs: performance.now() - started,
      run: (inputs) => runSession(ort, session, inputs),
      dispose: () => session.release(),
    };
  }
  const workers = await Promise.all(Array.from({ length: instances }, () => startWorker(bytes, providers, instances, opts)));
  // The first worker's view stands for all: they loaded the same bytes.
  const { signature, provider } = workers[0]!;
  return {
    signature, provider, instances, loadMs: performance.now() - started,
    run: (inputs, runner) => workers[runner % workers.length]!.run(inputs),
    async dispose() {
      await Promise.all(workers.map((w) => w.stop()));
    },
  };
}

interface InstanceWorker {
  signature: ModelSignature;
  provider: Provider;
  run(inputs: HostTensor[]): Promise<HostTensor[]>;
  stop(): Promise<void>;
}

/**
 * A worker on the compiled .js beside this file; under tsx (the tests run the sources) a worker
 * does not inherit tsx's loader, so a small bootstrap registers it before importing the .ts.
 */
function newWorker(workerData: unknown): Worker {
  const js = new URL('./instance-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) return new Worker(js, { workerData });
  const ts = new URL('./instance-worker.ts', import.meta.url).href;
  const boot = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(ts)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

async function startWorker(bytes: Uint8Array, providers: Provider[], instances: number, opts: LoadOptions): Promise<InstanceWorker> {
  const worker = newWorker({ bytes, providers, instances, projectDir: opts.projectDir });
  const pending = new Map<number, { resolve: (v: HostTensor[]) => void; reject: (e: Error) => void }>();
  let next = 0;
  const ready = new Promise<{ signature: ModelSignature; provider: Provider }>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.kind === 'ready') resolve(msg);
      else if (msg.kind === 'failed') reject(new Error(msg.message));
      else if (msg.kind === 'warn') opts.warn(msg.message);
      else {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.kind === 'result') p?.resolve(msg.outputs);
        else p?.reject(new Error(msg.message));
      }
    });
  });
  worker.on('exit', (code) => {
    for (const p of pending.values()) p.reject(new Error(`model instance worker exited (code ${code})`));
    pending.clear();
  });
  let info: { signature: ModelSignature; provider: Provider };
  try {
    info = await ready;
  } catch (err) {
    await worker.terminate();
    throw err;
  }
  return {
    ...info,
    run(inputs) {
      const id = next++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        worker.postMessage({ id, inputs });
      });
    },
    async stop() {
      await worker.terminate();
    },
  };
}

export type WorkerMessage =
  | { kind: 'ready'; signature: ModelSignature; provider: Provider }
  | { kind: 'failed'; message: string }
  | { kind: 'warn'; message: string }
  | { kind: 'result'; id: number; outputs: HostTensor[] }
  | { kind: 'error'; id: number; message: string };
