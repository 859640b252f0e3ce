/**
 * Runs a bundled Devfile under a time limit. A Devfile is user code: an endless loop saved into
 * it must not freeze the session that reloads it (nor `devloop down`, which may load it). Most
 * Devfiles are evaluated on the main thread in a vm context with the limit (sandbox.ts); the rest
 * (top-level await, package imports, an error, a promise awaiting I/O) here, in a worker thread,
 * which can be terminated when it runs past the limit.
 *
 * The worker's result is used as is when it is plain data (objects, arrays, strings, numbers,
 * dates, regexps). A config holding functions or class instances (an inline plugin object, a
 * plugin factory's result) cannot cross threads without losing its methods; such a Devfile, once
 * the worker has shown that it finishes, is evaluated again on the main thread to get the real
 * objects. Its top-level side effects then run twice.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { parseDurationMs } from '../time.js';
import type { DevfileContext } from './types.js';

/** How long a Devfile may take to evaluate: `DEVLOOP_DEVFILE_TIMEOUT` (`10s`, `500ms`, ms) or 10 s. */
export function devfileTimeoutMs(env: Record<string, string | undefined> = process.env): number {
  const text = env.DEVLOOP_DEVFILE_TIMEOUT?.trim();
  return (text && parseDurationMs(text)) || 10_000;
}

export type Evaluation =
  | { kind: 'value'; value: unknown }
  | { kind: 'not-plain' }
  | { kind: 'no-export' }
  | { kind: 'error'; error: unknown }
  | { kind: 'timeout'; ms: number };

// The worker imports the bundle, calls a function export with the context, and answers with the
// value when it is plain data. CommonJS text, because `eval: true` workers are scripts.
const WORKER = `
const { parentPort } = require('node:worker_threads');
const PLAIN = new Set([Object.prototype, Array.prototype, null]);
function plain(v, seen) {
  if (v === null || v === undefined) return true;
  const t = typeof v;
  if (t === 'function' || t === 'symbol') return false;
  if (t !== 'object') return true;
  if (v instanceof Date || v instanceof RegExp) return true;
  if (!PLAIN.has(Object.getPrototypeOf(v))) return false;
  if (seen.has(v)) return true;
  seen.add(v);
  for (const k of Reflect.ownKeys(v)) { if (typeof k === 'symbol' || !plain(v[k], seen)) return false; }
  return true;
}
let tsx;
parentPort.on('message', async (job) => {
  try {
    if (job.tsx && !tsx) { tsx = await import(job.tsx); tsx.register(); }
    const mod = await import(job.url);
    const exported = mod.default !== undefined ? mod.default : mod.devfile;
    if (exported === undefined) { parentPort.postMessage({ id: job.id, kind: 'no-export' }); return; }
    const value = typeof exported === 'function' ? await exported(job.ctx) : exported;
    if (!plain(value, new Set())) { parentPort.postMessage({ id: job.id, kind: 'not-plain' }); return; }
    parentPort.postMessage({ id: job.id, kind: 'value', value });
  } catch (err) {
    const e = err instanceof Error ? { name: err.name, message: err.message, stack: err.stack, code: err.code } : { thrown: String(err) };
    parentPort.postMessage({ id: job.id, kind: 'error', error: e });
  }
});
`;

let worker: Worker | undefined;
let nextId = 0;

/**
 * Running from source (under tsx), the bundle imports devloop's own `.ts` files; a worker does
 * not inherit the parent's loader hooks in Node 20, so it registers tsx itself.
 */
let tsx: { url: string | undefined } | undefined;
function tsxLoader(): string | undefined {
  tsx ??= { url: findTsx() };
  return tsx.url;
}

function findTsx(): string | undefined {
  const here = path.dirname(fileURLToPath(import.meta.url));
  if (!existsSync(path.join(here, 'evaluate.ts')) || existsSync(path.join(here, 'evaluate.js'))) return undefined;
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return undefined;
  }
}

function getWorker(): Worker {
  if (!worker) {
    // The worker's text is a CommonJS script: a parent run as `node --input-type=module` must not
    // pass that on.
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
    const w = new Worker(WORKER, { eval: true, execArgv });
    w.unref();
    w.on('error', () => { if (worker === w) worker = undefined; });
    w.on('exit', () => { if (worker === w) worker = undefined; });
    worker = w;
  }
  return worker;
}

/**
 * Starts the worker now: a worker's own Node start-up (some 0.1-0.2 s on a small machine) then
 * overlaps the bundling instead of following it.
 */
export function prewarmWorker(): void {
  getWorker();
}

/** Imports `url` in the worker and waits at most `timeoutMs` for its config. */
export function evaluateInWorker(url: string, ctx: DevfileContext, timeoutMs: number): Promise<Evaluation> {
  const w = getWorker();
  const id = ++nextId;
  return new Promise<Evaluation>((resolve) => {
    const done = (result: Evaluation) => {
      clearTimeout(timer);
      w.off('message', onMessage);
      w.off('exit', onExit);
      resolve(result);
    };
    const onMessage = (m: { id: number; kind: string; value?: unknown; error?: { name?: string; message?: string; stack?: string; code?: string; thrown?: string } }) => {
      if (m.id !== id) return;
      if (m.kind === 'value') done({ kind: 'value', value: m.value });
      else if (m.kind === 'not-plain' || m.kind === 'no-export') done({ kind: m.kind });
      else done({ kind: 'error', error: revive(m.error ?? {}) });
    };
    const onExit = (code: number) => done({ kind: 'error', error: new Error(`the Devfile worker exited with code ${code}`) });
    const timer = setTimeout(() => {
      // The only way to stop a loop: the next load gets a fresh worker.
      if (worker === w) worker = undefined;
      void w.terminate();
      done({ kind: 'timeout', ms: timeoutMs });
    }, timeoutMs);
    w.on('message', onMessage);
    w.once('exit', onExit);
    w.postMessage({ id, url, ctx: { mode: ctx.mode, command: ctx.command, env: { ...ctx.env } }, tsx: tsxLoader() });
  });
}

function revive(e: { name?: string; message?: string; stack?: string; code?: string; thrown?: string }): unknown {
  if (e.thrown !== undefined) return e.thrown;
  const err = new Error(e.message ?? 'unknown error');
  err.name = e.name ?? 'Error';
  if (e.stack) err.stack = e.stack;
  if (e.code !== undefined) (err as NodeJS.ErrnoException).code = e.code;
  return err;
}
