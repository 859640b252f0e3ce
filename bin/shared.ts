/** What every command shares: global options, loading the Devfile, building the engine, output. */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { findDevfile } from '../core/devfile/find.js';
import type { LoadedDevfile } from '../core/devfile/load.js';
import type { Engine } from '../core/engine/engine.js';
import { ConfigError, DevloopError, describeError, errorToJSON } from '../core/errors.js';
import { Redactor } from '../core/engine/redact.js';
import { findSession, sessionState } from '../core/session/client.js';
import { sessionPaths } from '../core/session/paths.js';
import { parseDurationMs } from '../plugins/shared/time.js';
import { describeBug } from './bug.js';
import { EXIT_BUG, onFatal } from './last-resort.js';
import type { Reporter } from '../ui/shared/source.js';

// The Devfile loader (esbuild, the schema), the engine, the plugins (dockerode) and the reporters
// are imported where they are used: `status` with a session running, `logs` and a usage error
// need none of them, and `up` loads them while esbuild bundles the Devfile (preloadEngine).

export interface GlobalOptions {
  /** Devfile path (`--file`), relative to the working directory. */
  file?: string;
  /** Environment (`--env`), default `local`. */
  env: string;
  /** `plain` or `json` (`--output`). */
  output: 'plain' | 'json';
  /** False with `--no-tui`. */
  tui: boolean;
  /** Working directory (`--cwd`), default the process's. */
  cwd: string;
  color: boolean;
  /** Kube context (`--context`); also in DEVLOOP_KUBE_CONTEXT for the engine's plugins. */
  context?: string;
}

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/**
 * Loads the Devfile. `whileLoading` runs once the load has begun, before esbuild and the Devfile's
 * worker have answered: work for this thread meanwhile (preloadEngine) does not delay their start.
 */
export async function load(opts: GlobalOptions, command: string, whileLoading?: () => void): Promise<LoadedDevfile> {
  // "No Devfile here" is found before the loader (esbuild, the schema) is imported: it is cheap.
  await findDevfile(opts.cwd, opts.file);
  const { loadDevfile } = await import('../core/devfile/load.js');
  const loading = loadDevfile({ file: opts.file, cwd: opts.cwd, mode: opts.env, command, env: process.env });
  whileLoading?.();
  return loading;
}

/**
 * The folder whose `.devloop/` holds this project's session: the Devfile's folder, found without
 * running the Devfile (a broken or endless one must not keep `down`, `status` or `logs` from
 * finding the session), else the working folder (a `devloop cloudrun replace` session). `-f`
 * naming a YAML file (`-f service.yaml`) means that file's folder: where `cloudrun replace` ran.
 */
export async function projectDir(opts: Pick<GlobalOptions, 'file' | 'cwd'>): Promise<string> {
  if (opts.file !== undefined && /\.ya?ml$/i.test(opts.file)) {
    const target = path.resolve(opts.cwd, opts.file);
    if (existsSync(target)) return path.dirname(target);
  }
  try {
    return path.dirname(await findDevfile(opts.cwd, opts.file));
  } catch (err) {
    if (opts.file) throw err;
    return opts.cwd;
  }
}

/**
 * What `status`, `logs`, `deploy` and `update-traffic` work from: the running session's services
 * when one runs (the Devfile is not evaluated then: the session has it); else the Devfile; else,
 * in a folder where `devloop cloudrun replace` ran, the services it left logs for.
 */
export async function loadOrSession(opts: GlobalOptions, command: string): Promise<LoadedDevfile> {
  const dir = await projectDir(opts);
  const session = await findSession(dir);
  if (session) {
    const names = Object.keys((await sessionState(session)).services);
    return { file: session.devfile ?? path.join(dir, '(no Devfile)'), dir, config: { services: Object.fromEntries(names.map((n) => [n, {}])) }, dependencies: [], loadMs: 0 };
  }
  try {
    return await load(opts, command);
  } catch (err) {
    // Only a folder with no Devfile at all falls back to stored logs; a broken Devfile is reported.
    if (opts.file || !(err instanceof DevloopError && err.code === 'DEVFILE_NOT_FOUND')) throw err;
    const logs = sessionPaths(opts.cwd).logsDir;
    if (!existsSync(logs)) throw err;
    const names = readdirSync(logs).filter((f) => f.endsWith('.jsonl') && f !== '_devloop.jsonl').map((f) => f.slice(0, -'.jsonl'.length));
    if (names.length === 0) throw err;
    return { file: path.join(opts.cwd, '(no Devfile)'), dir: opts.cwd, config: { services: Object.fromEntries(names.map((n) => [n, {}])) }, dependencies: [], loadMs: 0 };
  }
}

/** The redactors of this process's engines, for errors reported outside any engine. */
const engineRedactors = new Set<Redactor>();

function redactIssue(redactor: Redactor, issue: ConfigError['issues'][number]): void {
  const o = issue as { message: string; location?: { frame?: string } };
  o.message = redactor.redact(o.message);
  if (o.location?.frame) o.location.frame = redactor.redact(o.location.frame);
}

/**
 * Starts importing what createProjectEngine needs, for a command to overlap with its Devfile load
 * (esbuild and a worker, off this thread): `load(opts, command, preloadEngine)`. A failed import
 * is reported where createProjectEngine imports the module again.
 */
export function preloadEngine(): void {
  for (const m of [import('../core/engine/engine.js'), import('../core/plugins/resolve.js'), import('../plugins/index.js')]) m.catch(() => undefined);
}

export async function createProjectEngine(loaded: LoadedDevfile, opts: GlobalOptions, only?: string[], command?: string): Promise<Engine> {
  const [{ Engine }, { resolvePlugins }, { builtinPlugins, defaultPlugins }] = await Promise.all([
    import('../core/engine/engine.js'), import('../core/plugins/resolve.js'), import('../plugins/index.js'),
  ]);
  const userPlugins = await resolvePlugins(loaded.config.plugins ?? [], { root: loaded.dir, builtins: builtinPlugins });
  const engine = new Engine({
    root: loaded.dir,
    devfile: loaded.config,
    devfileFile: loaded.file,
    mode: opts.env,
    command,
    plugins: [...defaultPlugins(loaded.config), ...userPlugins],
    only,
  });
  engine.serviceNames(); // throws a usage error for an unknown service name now, not mid-run
  engineRedactors.add(engine.redactor);
  // A bug nothing caught stops this engine's deployments before devloop exits (last-resort.ts).
  onFatal(async (err) => {
    engine.logger().error(`devloop hit an internal error and is stopping every service: ${err instanceof Error ? err.message : String(err)}`);
    await engine.stop('devloop hit an internal error');
  });
  return engine;
}

export interface TuiHooks {
  onQuit(): void;
  onForceQuit(): void;
  /** The `d` key on the selected service; without it the TUI says debugging is not available. */
  onDebug?(service: string): void;
}

/** TUI on a terminal (loaded lazily: plain and JSON runs never import React or Ink), else plain or JSON lines. */
export async function createReporter(engine: Engine, opts: GlobalOptions, tui?: TuiHooks): Promise<Reporter> {
  if (tui && opts.tui && opts.output === 'plain') {
    const { loadTuiReporter } = await import('../ui/tui/index.js');
    const createTui = await loadTuiReporter();
    return createTui(engine, { onQuit: tui.onQuit, onForceQuit: tui.onForceQuit, onDebug: tui.onDebug });
  }
  const write = (t: string) => { process.stdout.write(t); };
  if (opts.output === 'json') return (await import('../ui/json/reporter.js')).createJsonReporter(engine, { write });
  return (await import('../ui/plain/reporter.js')).createPlainReporter(engine, { write, color: opts.color });
}

/** Prints an error the way the user needs it and returns the exit code. */
export function reportError(err: unknown, opts: Pick<GlobalOptions, 'output' | 'color'>): number {
  // An error thrown out of a command skips the store's redaction: the engines' redactors (their
  // declared secrets) and devloop's own secret-looking env are applied here.
  const redactor = new Redactor();
  redactor.addEnv(process.env, { ambient: true });
  for (const r of engineRedactors) redactor.merge(r);
  redactor.redactError(err);
  if (err instanceof ConfigError) for (const issue of err.issues) redactIssue(redactor, issue);
  if (opts.output === 'json') {
    process.stdout.write(`${JSON.stringify({ type: 'error', error: errorToJSON(err) })}\n`);
  }
  if (err instanceof ConfigError) {
    for (const issue of err.issues) {
      const where = issue.location ? `${issue.location.file}:${issue.location.line}:${issue.location.column} ` : '';
      process.stderr.write(`${where}${issue.path ? `${issue.path}: ` : ''}${issue.message}\n`);
      if (issue.location?.frame) process.stderr.write(`${issue.location.frame}\n`);
    }
    if (err.hint) process.stderr.write(`try: ${err.hint}\n`);
    return err.exitCode;
  }
  if (err instanceof DevloopError) {
    process.stderr.write(`error: ${describeError(err)}\n`);
    return err.exitCode;
  }
  process.stderr.write(`devloop hit an internal error (a bug; please report it with this output):\n${describeBug(err)}\n`);
  return EXIT_BUG;
}

/** Parses `30s`, `5m`, `1h`, `250ms` or a plain number of ms. */
export function parseDuration(text: string, flag: string): number {
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new DevloopError(`${flag}: expected a duration like 30s, 5m or 1h, got "${text}"`, { code: 'BAD_FLAG', exitCode: 2 });
  return ms;
}

export function projectRootOf(loaded: LoadedDevfile): string {
  return path.resolve(loaded.dir);
}
