/** The esbuild options devloop uses for a service: a Node bundle with linked source maps. */
import path from 'node:path';
import type { BuildOptions } from 'esbuild';
import type { EsbuildBuildConfig } from '../../core/devfile/types.js';

export interface ServiceBuildOptions {
  options: BuildOptions;
  /** Absolute path of the JS bundle. */
  outfile: string;
}

export function defaultOutfile(root: string, service: string, format: 'esm' | 'cjs' = 'esm'): string {
  return path.join(root, '.devloop', 'build', service, format === 'cjs' ? 'index.cjs' : 'index.mjs');
}

/**
 * `overrides` (plugin-wide, then the service's `extensions['devloop:esbuild']`) are merged last,
 * so a user can add plugins, `define`s or loaders without devloop having to know about them.
 */
export function serviceBuildOptions(root: string, service: string, build: EsbuildBuildConfig, ...overrides: Array<Partial<BuildOptions> | undefined>): ServiceBuildOptions {
  const format = build.format ?? 'esm';
  const outfile = build.outfile ? path.resolve(root, build.outfile) : defaultOutfile(root, service, format);
  const options: BuildOptions = {
    absWorkingDir: root,
    entryPoints: [path.resolve(root, build.entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format,
    target: `node${process.versions.node.split('.')[0]}`,
    // Linked (a .map file beside the bundle, referenced from it) so `node --enable-source-maps`
    // prints TS positions and a debugger can set breakpoints in the TS sources.
    sourcemap: 'linked',
    packages: 'external',
    external: build.external,
    // devloop writes the files itself, only when they changed, so an unchanged rebuild leaves
    // the bundle's mtime alone and can be recognised by its hash.
    write: false,
    logLevel: 'silent',
    metafile: true,
  };
  for (const o of overrides) if (o) Object.assign(options, o);
  if (options.format === 'esm' && options.packages !== 'external') {
    // Bundled CommonJS dependencies call require(); an ES module has none unless we make one.
    options.banner = { ...options.banner, js: `import { createRequire as __devloopCreateRequire } from 'node:module';\nconst require = __devloopCreateRequire(import.meta.url);\n${options.banner?.js ?? ''}` };
  }
  return { options, outfile };
}

/** A key that changes whenever the options do, so a stale incremental context is never reused. */
export function optionsKey(options: BuildOptions): string {
  return JSON.stringify(options, (_k, v) => (typeof v === 'function' ? `[fn ${v.name}:${String(v).length}]` : v));
}
