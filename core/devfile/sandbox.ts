/**
 * Evaluates a Devfile bundled as a script (bundle.ts, bundleDevfileScript) on this thread, in a
 * vm context of its own: no worker to start (a second Node, some 0.1-0.2 s on a small machine,
 * that then loads devloop's engine a second time), yet still under the time limit.
 *
 * The guarantee is the worker's: no Devfile code runs on this thread outside the time limit. The
 * context has its own microtask queue, drained inside the limit (`microtaskMode: 'afterEvaluate'`),
 * and no timers, I/O or `require` of packages, so nothing the Devfile starts can run later. What
 * the context cannot give answers `unsupported`, and the caller asks the worker instead (which
 * then decides): a thrown error (it may come from a global the context lacks: the worker's
 * answer is the true one), an unsettled promise (it awaits something outside), a package import.
 *
 * A plain result is copied into this thread's realm inside the limit (a getter is user code);
 * a config holding functions or class instances answers `not-plain`, as the worker does.
 *
 * Not used where Node tracks promises for async hooks (promiseHooksActive): there a limit that
 * stops a microtask aborts the process.
 *
 * Not a security boundary (nor was the worker): it stops an endless loop saved by mistake, not code
 * that sets out to escape.
 */
import { executionAsyncId } from 'node:async_hooks';
import { builtinModules, createRequire } from 'node:module';
import { types } from 'node:util';
import vm from 'node:vm';
import type { DevfileContext } from './types.js';

const hostRequire = createRequire(import.meta.url);

export type SandboxResult =
  | { kind: 'value'; value: unknown }
  | { kind: 'not-plain' }
  | { kind: 'no-export' }
  | { kind: 'timeout'; ms: number }
  | { kind: 'unsupported'; reason: string };

/** Builtins with no callbacks, events or handles: nothing they do can run code later. */
const PURE_BUILTINS = new Set(['path', 'path/posix', 'path/win32', 'url', 'os']);

/** The builtin a specifier names (`node:path`, `path`), or undefined. */
function builtin(spec: string): string | undefined {
  const name = spec.startsWith('node:') ? spec.slice('node:'.length) : spec;
  return builtinModules.includes(name) ? name : undefined;
}

/**
 * Why a bundle with these externals cannot be evaluated in the context, or undefined when it can.
 * `isDevloop` tells devloop's own modules (`file:` URLs: bundle.ts makes every `devloop` import
 * one); those are given already loaded, this thread's own.
 */
export function sandboxObstacle(externals: readonly string[], isDevloop: (spec: string) => boolean): string | undefined {
  for (const spec of externals) {
    if (isDevloop(spec)) continue;
    const b = builtin(spec);
    if (b !== undefined && PURE_BUILTINS.has(b)) continue;
    return `imports ${spec}`;
  }
  return undefined;
}

export interface SandboxOptions {
  /** The CommonJS bundle. */
  code: string;
  /** The name stack traces give the code (the temp bundle's path: stack.ts maps it back). */
  filename: string;
  /** What `import.meta.url` reads. */
  url: string;
  ctx: DevfileContext;
  timeoutMs: number;
  /** The loaded modules the code may require, by specifier (devloop's own, as namespaces). */
  modules: ReadonlyMap<string, unknown>;
}

// Runs inside the context: its intrinsics are the ones the Devfile's values are made of. `host`
// holds this realm's constructors, so the copy is made of objects the engine can use as its own.
const DRIVER = `(function (host) {
  'use strict';
  const state = { kind: 'pending' };
  const PLAIN = new Set([Object.prototype, Array.prototype, host.Object.prototype, host.Array.prototype, null]);
  function copy(v, seen) {
    if (v === null || v === undefined) return v;
    const t = typeof v;
    if (t === 'function' || t === 'symbol') throw host.notPlain;
    if (t !== 'object') return v;
    if (host.isProxy(v)) throw host.notPlain;
    if (seen.has(v)) return seen.get(v);
    const proto = Object.getPrototypeOf(v);
    if (proto === Date.prototype || proto === host.Date.prototype) { const d = new host.Date(Date.prototype.getTime.call(v)); seen.set(v, d); return d; }
    if (proto === RegExp.prototype || proto === host.RegExp.prototype) { const r = new host.RegExp(v.source, v.flags); seen.set(v, r); return r; }
    if (!PLAIN.has(proto)) throw host.notPlain;
    const out = Array.isArray(v) ? host.newArray() : host.newObject();
    seen.set(v, out);
    for (const k of Reflect.ownKeys(v)) {
      if (typeof k === 'symbol') throw host.notPlain;
      const c = copy(v[k], seen);
      // As a structured clone: own enumerable properties (not an array's length).
      if (Object.prototype.propertyIsEnumerable.call(v, k)) host.define(out, k, c);
    }
    return out;
  }
  return {
    run(fn) {
      const module = { exports: {} };
      fn.call(module.exports, module.exports, host.require, module, host.url);
      const mod = module.exports;
      const exported = mod.default !== undefined ? mod.default : mod.devfile;
      if (exported === undefined) { state.kind = 'no-export'; return; }
      const value = typeof exported === 'function' ? exported(host.ctx) : exported;
      if (value !== null && (typeof value === 'object' || typeof value === 'function') && typeof value.then === 'function') {
        // Settled, if at all, while the microtasks are drained at the end of this evaluation.
        Promise.resolve(value).then((v) => { state.kind = 'value'; state.value = v; }, () => { state.kind = 'error'; });
      } else {
        state.kind = 'value';
        state.value = value;
      }
    },
    finish() {
      if (state.kind !== 'value') return { kind: state.kind };
      try {
        return { kind: 'value', value: copy(state.value, new Map()) };
      } catch (err) {
        if (err === host.notPlain) return { kind: 'not-plain' };
        throw err;
      }
    },
  };
})`;

/**
 * Whether Node tracks promises for async hooks (an AsyncLocalStorage or a hook is in use, as
 * under the test runner). Then the sandbox must not be used: Node 20 aborts the whole process
 * ("async hook stack has become corrupted") when the time limit stops a microtask. Tracked, a
 * promise reaction runs under an async id of its own; untracked, under the caller's.
 */
export async function promiseHooksActive(): Promise<boolean> {
  const outer = executionAsyncId();
  const inner = await new Promise<number>((resolve) => { void Promise.resolve().then(() => resolve(executionAsyncId())); });
  return inner !== outer;
}

/**
 * The bundle as a CommonJS function. Strict, as the module it was: an assignment to an undeclared
 * name throws, as it does in the worker. The body starts on the line after the wrapper's, so stack
 * lines stay the bundle's (lineOffset -1).
 */
function wrap(code: string): string {
  return `(function (exports, require, module, __devloop_import_meta_url) { 'use strict';\n${code}\n})`;
}

/**
 * Evaluates the bundle in a fresh context under the time limit. Only where promiseHooksActive()
 * said false just before: see there.
 */
export function evaluateInSandbox(options: SandboxOptions): SandboxResult {
  const { code, filename, ctx, timeoutMs, modules } = options;
  const notPlain = Object.freeze({ notPlain: true });
  const host = {
    Object, Array, Date, RegExp,
    newObject: () => ({}),
    newArray: () => [] as unknown[],
    define: (o: Record<string, unknown>, k: string, v: unknown) => { Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true }); },
    isProxy: types.isProxy,
    notPlain,
    url: options.url,
    ctx: { mode: ctx.mode, command: ctx.command, env: { ...ctx.env } },
    require: (spec: string): unknown => {
      if (modules.has(spec)) return modules.get(spec);
      const b = builtin(spec);
      if (b !== undefined && PURE_BUILTINS.has(b)) return hostRequire(b);
      // sandboxObstacle keeps such a bundle out; this is the last line.
      throw new Error(`the Devfile sandbox cannot load ${spec}`);
    },
  };
  // What a Devfile may read at its top level besides the language's own globals: the values a
  // worker would see, with nothing that schedules work (no timers, no process.nextTick).
  const context = vm.createContext({
    console,
    process: Object.freeze({ env: { ...process.env }, platform: process.platform, arch: process.arch, version: process.version, versions: process.versions, cwd: () => process.cwd() }),
    URL, URLSearchParams, TextEncoder, TextDecoder, Buffer, atob, btoa,
  }, { microtaskMode: 'afterEvaluate', codeGeneration: { strings: true, wasm: false } });
  const limit = { timeout: Math.max(1, Math.round(timeoutMs)) };
  const started = performance.now();
  const remaining = () => ({ timeout: Math.max(1, Math.round(timeoutMs - (performance.now() - started))) });
  try {
    const driver = (vm.runInContext(DRIVER, context, limit) as (h: typeof host) => { run(fn: unknown): void; finish(): { kind: string; value?: unknown } })(host);
    const fn = vm.runInContext(wrap(code), context, { filename, lineOffset: -1, ...remaining() });
    const runner = vm.runInContext('(d, fn) => d.run(fn)', context, remaining()) as (d: unknown, fn: unknown) => void;
    const finisher = vm.runInContext('(d) => d.finish()', context, remaining()) as (d: unknown) => { kind: string; value?: unknown };
    context.__devloop = { driver, fn, runner, finisher };
    vm.runInContext('__devloop.runner(__devloop.driver, __devloop.fn)', context, remaining());
    const result = vm.runInContext('__devloop.finisher(__devloop.driver)', context, remaining()) as { kind: string; value?: unknown };
    switch (result.kind) {
      case 'value': return { kind: 'value', value: result.value };
      case 'not-plain': return { kind: 'not-plain' };
      case 'no-export': return { kind: 'no-export' };
      case 'pending': return { kind: 'unsupported', reason: 'its promise awaits something outside the Devfile' };
      default: return { kind: 'unsupported', reason: 'it threw' };
    }
  } catch (err) {
    // Node's own error, checked without touching a Devfile's thrown value: its properties may be
    // getters (user code, out of the limit here).
    // (It is of the context's realm: no instanceof Error.)
    if (err !== null && typeof err === 'object' && !types.isProxy(err) && Object.getOwnPropertyDescriptor(err, 'code')?.value === 'ERR_SCRIPT_EXECUTION_TIMEOUT') return { kind: 'timeout', ms: timeoutMs };
    return { kind: 'unsupported', reason: 'it threw' };
  }
}


export interface ThisRealmOptions {
  code: string;
  filename: string;
  url: string;
  ctx: DevfileContext;
  modules: ReadonlyMap<string, unknown>;
}

/**
 * Evaluates the bundle in this realm, for a config whose functions and class instances must be
 * real ones: only once the sandbox has shown that it finishes. Its side effects run twice.
 */
export async function evaluateInThisRealm({ code, filename, url, ctx, modules }: ThisRealmOptions): Promise<unknown> {
  const fn = vm.runInThisContext(wrap(code), { filename, lineOffset: -1 }) as (...args: unknown[]) => void;
  const module = { exports: {} as Record<string, unknown> };
  const require = (spec: string): unknown => {
    if (modules.has(spec)) return modules.get(spec);
    return hostRequire(builtin(spec) ?? spec);
  };
  fn.call(module.exports, module.exports, require, module, url);
  const mod = module.exports;
  const exported = mod.default !== undefined ? mod.default : mod.devfile;
  return typeof exported === 'function' ? await (exported as (c: DevfileContext) => unknown)(ctx) : exported;
}
