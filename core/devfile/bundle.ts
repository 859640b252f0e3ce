/**
 * Bundles a Devfile with esbuild so Node can import it: TypeScript and local helper files are
 * compiled in, packages stay external (resolved from the project as usual). The metafile tells
 * which local files were read, so the watcher can reload the Devfile when any of them changes.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Message, type Plugin } from 'esbuild';
import { ConfigError, type ConfigIssue } from '../errors.js';
import { codeFrame } from './frame.js';

export interface DevfileBundle {
  /** ESM code with an inline source map. */
  code: string;
  /** Absolute paths of the local files bundled, the Devfile first. */
  dependencies: string[];
}

/** `outfile` only names the output (for source map paths); nothing is written. */
export async function bundleDevfile(file: string, outfile: string, cwd: string): Promise<DevfileBundle> {
  const { bundle } = await bundle_(file, outfile, cwd, 'esm');
  return bundle;
}

/** A Devfile bundled as a CommonJS function body, for evaluating in a vm context (sandbox.ts). */
export interface ScriptBundle extends DevfileBundle {
  /** Every module it requires at run time: `file:` URLs of devloop's own modules, packages, builtins. */
  externals: string[];
  /**
   * `import.meta` other than `import.meta.url` was used: a script has none, so esbuild made it
   * an empty object, which would not be what the code meant.
   */
  importMeta: boolean;
}

/**
 * The same bundle as CommonJS code that reads `import.meta.url` from `__devloop_import_meta_url`.
 * Undefined when the Devfile cannot be a script: top-level await needs a module.
 */
export async function bundleDevfileScript(file: string, outfile: string, cwd: string): Promise<ScriptBundle | undefined> {
  try {
    const { bundle, externals, warnings } = await bundle_(file, outfile, cwd, 'cjs');
    return { ...bundle, externals, importMeta: warnings.some((w) => w.id === 'empty-import-meta') };
  } catch (err) {
    if (err instanceof ConfigError && err.issues.some((i) => i.message.startsWith('Top-level await is currently not supported'))) return undefined;
    throw err;
  }
}

async function bundle_(file: string, outfile: string, cwd: string, format: 'esm' | 'cjs'): Promise<{ bundle: DevfileBundle; externals: string[]; warnings: Message[] }> {
  const dir = path.dirname(file);
  try {
    const result = await build({
      entryPoints: [file], outfile, absWorkingDir: dir, write: false,
      bundle: true, platform: 'node', format, target: 'node20', packages: 'external',
      metafile: true, sourcemap: 'inline', sourcesContent: false, logLevel: 'silent',
      define: format === 'cjs' ? { 'import.meta.url': '__devloop_import_meta_url' } : undefined,
      plugins: [devloopItself],
    });
    const inputs = Object.keys(result.metafile.inputs).map((p) => path.resolve(dir, p));
    const externals = Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path));
    return {
      bundle: { code: result.outputFiles[0].text, dependencies: [file, ...inputs.filter((p) => p !== file).sort()] },
      externals: [...new Set(externals)],
      warnings: result.warnings,
    };
  } catch (err) {
    const messages = (err as { errors?: Message[] }).errors;
    if (!Array.isArray(messages)) throw err;
    throw await buildError(messages, dir, cwd);
  }
}

/**
 * `import ... from 'devloop'` resolves to this running copy of devloop, not to whatever the
 * project has installed: the Devfile's defineDevfile, error classes and plugin types are then the
 * very ones the engine checks against, and a Devfile works in a project that never installed
 * devloop (a global install, npx).
 */
const devloopItself: Plugin = {
  name: 'devloop-itself',
  setup(b) {
    b.onResolve({ filter: /^devloop(\/|$)/ }, (args) => {
      const target = devloopModule(args.path.slice('devloop'.length).replace(/^\//, ''));
      if (!target) return { errors: [{ text: `devloop has no module ${JSON.stringify(args.path)}` }] };
      return { path: pathToFileURL(target).href, external: true };
    });
  },
};

// This file is core/devfile/bundle.ts when run from source and dist/core/devfile/bundle.js when
// built; two levels up is the folder holding both `core` and `plugins` in either case.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const resolved = new Map<string, string | undefined>();
const ROOT_URL = `${pathToFileURL(ROOT).href}/`;

/** Whether a bundle's external import is one of devloop's own modules (devloopItself made it). */
export function isDevloopModule(spec: string): boolean {
  return spec.startsWith(ROOT_URL);
}

function devloopModule(subpath: string): string | undefined {
  if (!resolved.has(subpath)) {
    const base = path.join(ROOT, subpath === '' ? 'core/index' : subpath);
    // Compiled output first: a built install has no .ts, and from source there is no .js.
    const candidates = [`${base}.js`, `${base}.ts`, path.join(base, 'index.js'), path.join(base, 'index.ts')];
    resolved.set(subpath, candidates.find((c) => existsSync(c)));
  }
  return resolved.get(subpath);
}

async function buildError(messages: Message[], dir: string, cwd: string): Promise<ConfigError> {
  const issues: ConfigIssue[] = [];
  for (const m of messages) {
    if (!m.location) {
      issues.push({ path: '', message: m.text });
      continue;
    }
    const abs = path.resolve(dir, m.location.file);
    // esbuild counts columns in UTF-8 bytes from 0; messages count characters from 1.
    const column = Buffer.from(m.location.lineText).subarray(0, m.location.column).toString('utf8').length + 1;
    const source = await readFile(abs, 'utf8').catch(() => undefined);
    const frame = source === undefined ? undefined : codeFrame(source, m.location.line, column);
    issues.push({ path: '', message: m.text, location: { file: path.relative(cwd, abs) || abs, line: m.location.line, column, frame } });
  }
  const unresolved = messages.every((m) => m.text.startsWith('Could not resolve'));
  return unresolved
    ? new ConfigError(issues, { code: 'DEVFILE_IMPORT', hint: 'check the import path; relative paths start from the file that imports them' })
    : new ConfigError(issues, { code: 'DEVFILE_SYNTAX', hint: 'fix the code at the location above; the Devfile is ordinary TypeScript' });
}
