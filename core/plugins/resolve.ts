/**
 * Turns the Devfile's `plugins` entries into plugin objects: inline objects as they are,
 * `devloop:<name>` from the built-ins, relative paths from the project, and npm names from the
 * project's node_modules (`foo` also tries `devloop-plugin-foo`).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DevloopError } from '../errors.js';
import { importModule } from './import-module.js';
import type { DevloopPlugin, PluginSpec } from './types.js';

export type BuiltinRegistry = Record<string, (options: Record<string, unknown>) => DevloopPlugin>;

export interface ResolveOptions {
  /** The project root; npm names and relative paths resolve from here. */
  root: string;
  builtins?: BuiltinRegistry;
}

export async function resolvePlugins(specs: PluginSpec[], options: ResolveOptions): Promise<DevloopPlugin[]> {
  const out: DevloopPlugin[] = [];
  for (const [i, spec] of specs.entries()) out.push(await resolvePlugin(spec, i, options));
  return out;
}

export async function resolvePlugin(spec: PluginSpec, index: number, options: ResolveOptions): Promise<DevloopPlugin> {
  const where = `plugins.${index}`;
  if (typeof spec === 'object' && !Array.isArray(spec)) return checkPlugin(spec, where, 'inline plugin');
  const [id, pluginOptions] = Array.isArray(spec) ? spec : [spec, {}];
  if (id.startsWith('devloop:')) {
    const factory = options.builtins?.[id];
    if (!factory) {
      throw new DevloopError(`${where}: no built-in plugin named "${id}"`, {
        code: 'PLUGIN_NOT_FOUND', exitCode: 2,
        hint: `built-in plugins are: ${Object.keys(options.builtins ?? {}).join(', ') || '(none)'}`,
      });
    }
    return checkPlugin(factory(pluginOptions), where, id);
  }
  const file = isPath(id) ? resolvePath(id, options.root, where) : resolvePackage(id, options.root, where);
  let mod: Record<string, unknown>;
  try {
    mod = await importModule(file);
  } catch (err) {
    throw new DevloopError(`${where}: could not load plugin "${id}" from ${file}: ${err instanceof Error ? err.message : String(err)}`, {
      code: 'PLUGIN_LOAD_FAILED', exitCode: 2, cause: err, hint: 'fix the error above in the plugin, or remove it from the Devfile',
    });
  }
  const exported = mod.default ?? mod.plugin;
  const value = typeof exported === 'function' ? await (exported as (o: unknown) => unknown)(pluginOptions) : exported;
  return checkPlugin(value, where, id);
}

function checkPlugin(value: unknown, where: string, id: string): DevloopPlugin {
  const p = value as Partial<DevloopPlugin> | undefined;
  if (!p || typeof p !== 'object' || typeof p.name !== 'string' || !p.name || typeof p.apply !== 'function') {
    throw new DevloopError(`${where}: ${id} is not a devloop plugin: expected an object { name: string, apply(engine) }, got ${describe(value)}`, {
      code: 'PLUGIN_INVALID', exitCode: 2,
      hint: 'a plugin module default-exports a factory `(options) => ({ name, apply(engine) { ... } })`',
    });
  }
  return p as DevloopPlugin;
}

function isPath(id: string): boolean {
  return id.startsWith('./') || id.startsWith('../') || path.isAbsolute(id);
}

function resolvePath(id: string, root: string, where: string): string {
  const base = path.resolve(root, id);
  for (const candidate of [base, `${base}.ts`, `${base}.js`, `${base}.mjs`, path.join(base, 'index.ts'), path.join(base, 'index.js')]) {
    if (existsSync(candidate) && !isDirectory(candidate)) return candidate;
  }
  throw new DevloopError(`${where}: plugin file "${id}" not found (looked for ${base})`, {
    code: 'PLUGIN_NOT_FOUND', exitCode: 2, hint: 'paths are relative to the folder holding Devfile.ts',
  });
}

/** Finds an installed package's ESM entry by walking up node_modules folders from the project. */
function resolvePackage(id: string, root: string, where: string): string {
  const names = id.startsWith('@') || id.startsWith('devloop-plugin-') ? [id] : [id, `devloop-plugin-${id}`];
  for (const name of names) {
    for (let dir = path.resolve(root); ; dir = path.dirname(dir)) {
      const pkgDir = path.join(dir, 'node_modules', name);
      const pkgJson = path.join(pkgDir, 'package.json');
      if (existsSync(pkgJson)) return packageEntry(pkgDir, JSON.parse(readFileSync(pkgJson, 'utf8')));
      if (path.dirname(dir) === dir) break;
    }
  }
  throw new DevloopError(`${where}: plugin package "${id}" is not installed in ${root}`, {
    code: 'PLUGIN_NOT_FOUND', exitCode: 2,
    hint: `install it: npm install -D ${names[names.length - 1]}`,
  });
}

function packageEntry(dir: string, pkg: { exports?: unknown; module?: string; main?: string }): string {
  const fromExports = pickExport(pkg.exports);
  const rel = fromExports ?? pkg.module ?? pkg.main ?? 'index.js';
  return path.join(dir, rel);
}

function pickExport(exp: unknown): string | undefined {
  if (typeof exp === 'string') return exp;
  if (!exp || typeof exp !== 'object') return undefined;
  const obj = exp as Record<string, unknown>;
  if ('.' in obj) return pickExport(obj['.']);
  for (const cond of ['import', 'node', 'default']) if (cond in obj) return pickExport(obj[cond]);
  return undefined;
}

function isDirectory(p: string): boolean {
  try { return statSync(p).isDirectory(); } catch { return false; }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return `an object with keys ${Object.keys(value as object).join(', ') || '(none)'}`;
  return typeof value;
}
