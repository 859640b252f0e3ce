/**
 * Loads a Devfile: find it, bundle it (bundle.ts), evaluate it under a time limit, call it if it
 * is a function, and validate the result. Every failure is a ConfigError whose issues say
 * FILE:LINE:COL.
 *
 * Evaluating: on this thread in a vm context (sandbox.ts) when the Devfile needs nothing but the
 * language and devloop itself, as most do; else in a worker (evaluate.ts), which imports the
 * bundle from a temp .mjs beside the Devfile (so its package imports resolve from the project).
 *
 * The schema (zod: some 100 modules, about 0.1 s to load) is imported once esbuild has been
 * asked to bundle, so it loads on this thread while esbuild does its part.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { ConfigError, DevloopError, type ConfigIssue } from '../errors.js';
import { bundleDevfile, bundleDevfileScript, isDevloopModule, type ScriptBundle } from './bundle.js';
import { cloudRunIssues } from './cloud-run.js';
import { findDevfile } from './find.js';
import { codeFrame } from './frame.js';
import { locateThrow } from './stack.js';
import { tempBundlePath } from './temp.js';
import { formatMs } from '../time.js';
import { devfileTimeoutMs, evaluateInWorker, prewarmWorker } from './evaluate.js';
import { evaluateInSandbox, evaluateInThisRealm, promiseHooksActive, sandboxObstacle } from './sandbox.js';
import type { DevfileConfig, DevfileContext } from './types.js';

export { findDevfile } from './find.js';

export { TEMP_BUNDLE } from './temp.js';

export interface LoadDevfileOptions {
  /** The Devfile to load, relative to `cwd`; default: `Devfile.ts` in `cwd` or a parent. */
  file?: string;
  cwd: string;
  /** The environment selected with `--env`; default `local`. */
  mode?: string;
  /** The CLI command running; default `up`. */
  command?: string;
  /** The environment a function-form Devfile sees; default `process.env`. */
  env?: Record<string, string | undefined>;
  /** How long evaluating may take; default `DEVLOOP_DEVFILE_TIMEOUT` or 10 s (evaluate.ts). */
  timeoutMs?: number;
}

export interface LoadedDevfile {
  /** Absolute path of the Devfile. */
  file: string;
  /** Its folder: the root that service paths are relative to. */
  dir: string;
  config: DevfileConfig;
  /** Absolute paths of every local file the Devfile bundle read, itself included. */
  dependencies: string[];
  loadMs: number;
}

export async function loadDevfile(options: LoadDevfileOptions): Promise<LoadedDevfile> {
  const started = performance.now();
  const cwd = path.resolve(options.cwd);
  const file = await findDevfile(cwd, options.file);
  const shown = path.relative(cwd, file) || path.basename(file);
  const dir = path.dirname(file);
  const tmp = tempBundlePath(file);
  const ctx: DevfileContext = { mode: options.mode ?? 'local', env: options.env ?? process.env, command: options.command ?? 'up' };
  const limit = options.timeoutMs ?? devfileTimeoutMs(ctx.env);
  const scripting = bundleDevfileScript(file, tmp, cwd);
  const schema = import('./schema.js');
  // Not left unhandled when the bundle fails first; awaited below.
  schema.catch(() => undefined);
  const script = await scripting;

  let value: unknown;
  let dependencies: string[];
  const here = script && !script.importMeta && sandboxObstacle(script.externals, isDevloopModule) === undefined
    ? await evaluateHere(script, { tmp, ctx, limit, shown, cwd })
    : undefined;
  if (script && here) {
    value = here.value;
    dependencies = script.dependencies;
  } else {
    // A Devfile the sandbox cannot run (top-level await, a package import, an error or a promise
    // it cannot settle alone): the worker's answer is the one that counts.
    prewarmWorker();
    const bundle = await bundleDevfile(file, tmp, cwd);
    dependencies = bundle.dependencies;
    await writeFile(tmp, bundle.code);
    try {
      // The query defeats Node's module cache when the same name ever comes round again.
      const url = `${pathToFileURL(tmp).href}?t=${Date.now()}`;
      const outcome = await evaluateInWorker(url, ctx, limit);
      if (outcome.kind === 'timeout') throw timeoutError(shown, outcome.ms);
      if (outcome.kind === 'error') throw outcome.error;
      if (outcome.kind === 'no-export') throw noExportError(shown);
      if (outcome.kind === 'value') {
        value = outcome.value;
      } else {
        // Functions or class instances in the config (inline plugins): the worker proved the Devfile
        // finishes; the real objects come from evaluating it here.
        const mod = (await import(url)) as Record<string, unknown>;
        const exported = mod.default !== undefined ? mod.default : mod.devfile;
        value = typeof exported === 'function' ? await (exported as (c: DevfileContext) => unknown)(ctx) : exported;
      }
    } catch (err) {
      if (err instanceof DevloopError) throw err;
      throw await evalError(err, { tmp, code: bundle.code, sources: bundle.dependencies, cwd, shown });
    } finally {
      await rm(tmp, { force: true });
    }
  }

  const result = (await schema).validateDevfile(value);
  // Models are served as services of their own (checks.ts refused names that clash).
  if (result.ok && typeof result.config.ai?.modelServing === 'object') {
    const { modelServices } = await import('./model-services.js');
    result.config.services = { ...result.config.services, ...modelServices(result.config, dir) };
  }
  // Cloud Run's own bounds for inline cloudRun values, which a deploy would refuse later.
  const issues = result.ok ? await cloudRunIssues(result.config) : result.issues;
  if (!result.ok || issues.length > 0) {
    // Only now is the TypeScript parser worth loading (locate.ts imports it lazily).
    const { locateIssues } = await import('./locate.js');
    const located = await locateIssues(await readFile(file, 'utf8'), shown, issues);
    throw new ConfigError(sortBySource(located), {
      code: 'DEVFILE_INVALID',
      hint: `fix the fields above in ${shown}; wrapped in defineDevfile(), the config is also checked by your editor`,
    });
  }
  return { file, dir, config: result.config, dependencies, loadMs: performance.now() - started };
}

function timeoutError(shown: string, ms: number): ConfigError {
  return new ConfigError([{ path: '', message: `${shown} did not finish evaluating within ${formatMs(ms)}, so it was stopped (an endless loop, or a promise that never settles?)` }], {
    code: 'DEVFILE_TIMEOUT',
    hint: `fix ${shown} and save it again; a running session keeps the last good config meanwhile (DEVLOOP_DEVFILE_TIMEOUT raises the limit)`,
  });
}

function noExportError(shown: string): ConfigError {
  return new ConfigError([{ path: '', message: `${shown} has no default export` }], {
    code: 'DEVFILE_NO_EXPORT',
    hint: 'end the Devfile with "export default defineDevfile({ services: { ... } })"',
  });
}

interface HereContext { tmp: string; ctx: DevfileContext; limit: number; shown: string; cwd: string }

/**
 * Evaluates the script bundle on this thread (sandbox.ts): the config, or undefined when only the
 * worker can tell (or the sandbox cannot be used in this process: promiseHooksActive). devloop's own modules it imports are this thread's: the engine needs them
 * loaded anyway, and the Devfile's values are then made of the very classes the engine checks.
 */
async function evaluateHere(script: ScriptBundle, { tmp, ctx, limit, shown, cwd }: HereContext): Promise<{ value: unknown } | undefined> {
  let modules: Map<string, unknown>;
  try {
    modules = new Map(await Promise.all(script.externals.filter(isDevloopModule).map(async (spec) => [spec, await import(spec)] as const)));
  } catch {
    // The worker's import of it fails too, and reports that where the Devfile imports it.
    return undefined;
  }
  if (await promiseHooksActive()) return undefined;
  const url = pathToFileURL(tmp).href;
  const outcome = evaluateInSandbox({ code: script.code, filename: tmp, url, ctx, timeoutMs: limit, modules });
  if (outcome.kind === 'timeout') throw timeoutError(shown, outcome.ms);
  if (outcome.kind === 'no-export') throw noExportError(shown);
  if (outcome.kind === 'value') return { value: outcome.value };
  if (outcome.kind === 'unsupported') return undefined;
  // Functions or class instances in the config (inline plugins): the sandbox proved the Devfile
  // finishes; the real objects come from evaluating it in this realm.
  try {
    return { value: await evaluateInThisRealm({ code: script.code, filename: tmp, url, ctx, modules }) };
  } catch (err) {
    if (err instanceof DevloopError) throw err;
    throw await evalError(err, { tmp, code: script.code, sources: script.dependencies, cwd, shown });
  }
}

interface EvalContext { tmp: string; code: string; sources: string[]; cwd: string; shown: string }

async function evalError(err: unknown, { tmp, code, sources, cwd, shown }: EvalContext): Promise<ConfigError> {
  const raw = err instanceof Error ? `${err.name}: ${err.message}` : `thrown: ${String(err)}`;
  // Messages from Node name the temp file ("imported from .../Devfile.ts.timestamp-...mjs").
  const message = raw.split(pathToFileURL(tmp).href).join(shown).split(tmp).join(shown);
  const at = locateThrow(err, tmp, code, sources);
  let location: ConfigIssue['location'];
  if (at) {
    const source = await readFile(at.file, 'utf8').catch(() => undefined);
    location = { file: path.relative(cwd, at.file) || at.file, line: at.line, column: at.column, frame: source === undefined ? undefined : codeFrame(source, at.line, at.column) };
  }
  const notFound = (err as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND';
  return new ConfigError([{ path: '', message: location ? message : `${shown}: ${message}`, location }], {
    code: notFound ? 'DEVFILE_IMPORT' : 'DEVFILE_EVAL',
    hint: notFound ? `install the missing package in the project (next to ${shown})` : `the error was thrown while running ${shown}`,
    cause: err,
  });
}

function sortBySource(issues: ConfigIssue[]): ConfigIssue[] {
  const key = (i: ConfigIssue) => (i.location ? i.location.line * 1e6 + i.location.column : Infinity);
  return issues.map((issue, i) => ({ issue, i })).sort((a, b) => key(a.issue) - key(b.issue) || a.i - b.i).map(({ issue }) => issue);
}
