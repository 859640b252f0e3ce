/**
 * `devloop:esbuild`: bundles a TypeScript/JavaScript service for Node. One incremental esbuild
 * context per service stays warm between builds, so a rebuild after an edit re-parses only what
 * changed (tens of milliseconds) instead of starting cold.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as esbuild from 'esbuild';
import type { EsbuildBuildConfig } from '../../core/devfile/types.js';
import type { BuildContext, BuildResult } from '../../core/engine/contexts.js';
import type { DevloopPlugin } from '../../core/plugins/types.js';
import { buildFailure, formatMessage, isBuildFailure } from './errors.js';
import { optionsKey, serviceBuildOptions } from './options.js';

export const ESBUILD_PLUGIN = 'devloop:esbuild';

export interface EsbuildPluginOptions {
  /**
   * esbuild options merged over devloop's for every service (plugins, define, loader, ...);
   * a service adds its own under `extensions['devloop:esbuild']`. For example
   * `{ packages: 'bundle' }` inlines node_modules instead of leaving them as imports.
   */
  esbuildOptions?: Partial<esbuild.BuildOptions>;
}

interface WarmContext {
  key: string;
  context: esbuild.BuildContext;
  outfile: string;
  lastHash?: string;
}

export function esbuildPlugin(pluginOptions: EsbuildPluginOptions = {}): DevloopPlugin {
  const warm = new Map<string, WarmContext>();
  /** Services in a build now: their contexts are in use and stay under memory pressure. */
  const building = new Set<string>();
  /** The bundle hash of a context dropped under memory pressure: its cold rebuild still counts as unchanged. */
  const droppedHashes = new Map<string, string | undefined>();
  const dispose = async (service: string) => {
    const w = warm.get(service);
    warm.delete(service);
    await w?.context.dispose().catch(() => {});
  };

  async function build(ctx: BuildContext): Promise<BuildResult> {
    building.add(ctx.service);
    try { return await buildWarm(ctx); } finally { building.delete(ctx.service); }
  }

  async function buildWarm(ctx: BuildContext): Promise<BuildResult> {
    const config = ctx.config.build as EsbuildBuildConfig;
    const perService = ctx.config.extensions?.[ESBUILD_PLUGIN] as Partial<esbuild.BuildOptions> | undefined;
    const { options, outfile } = serviceBuildOptions(ctx.root, ctx.service, config, pluginOptions.esbuildOptions, perService);
    const key = optionsKey(options);
    let w = warm.get(ctx.service);
    if (w && w.key !== key) {
      ctx.logger.info('esbuild options changed; starting a fresh incremental context');
      await dispose(ctx.service);
      w = undefined;
    }
    if (!w) {
      w = { key, context: await esbuild.context(options), outfile, lastHash: droppedHashes.get(ctx.service) };
      droppedHashes.delete(ctx.service);
      warm.set(ctx.service, w);
    }
    const context = w.context;
    const onAbort = () => { void context.cancel(); };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    let result: esbuild.BuildResult;
    try {
      result = await context.rebuild();
    } catch (err) {
      ctx.signal.throwIfAborted();
      if (isBuildFailure(err)) throw buildFailure(err.errors, ctx.root, ctx.service);
      throw err;
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
    ctx.signal.throwIfAborted();
    for (const warning of result.warnings) ctx.logger.warn(formatMessage(warning, ctx.root));

    const files = result.outputFiles ?? [];
    const bundle = files.find((f) => path.resolve(f.path) === outfile);
    if (!bundle) throw new Error(`esbuild produced no ${outfile}`);
    const hash = createHash('sha256').update(bundle.contents).digest('hex');
    const cached = w.lastHash === hash && existsSync(outfile);
    if (!cached) await writeOutputs(files);
    w.lastHash = hash;
    // What went into the bundle: a runtime may skip a restart only when every changed file is
    // one of these (an edited .env or template read at runtime is not, and needs the restart).
    const inputs = Object.keys(result.metafile?.inputs ?? {}).map((f) => path.resolve(ctx.root, f));
    return { artifacts: [outfile], digest: hash, cached, inputs };
  }

  return {
    name: ESBUILD_PLUGIN,
    apply(engine) {
      engine.hooks.build.for('esbuild').tapPromise(ESBUILD_PLUGIN, build);
      // An outfile configured inside the sources (`dist/`) must not look like an edit.
      engine.hooks.watch.tap(ESBUILD_PLUGIN, (ctx) => {
        const outfile = warm.get(ctx.service)?.outfile;
        if (outfile) ctx.changedFiles = ctx.changedFiles.filter((f) => !f.startsWith(outfile));
      });
      engine.subscribe((_state, action) => {
        if (action.type === 'service/removed') void dispose(action.service);
      });
      // Memory pressure: a warm context holds its whole module graph; an idle service gives it
      // back and its next build starts cold (slower once, same output).
      engine.hooks.pressure.tapPromise(ESBUILD_PLUGIN, async (ctx) => {
        if (ctx.kind !== 'memory') return;
        const idle = [...warm.keys()].filter((s) => !building.has(s));
        for (const s of idle) droppedHashes.set(s, warm.get(s)?.lastHash);
        await Promise.all(idle.map(dispose));
        if (idle.length) ctx.report(`dropped the esbuild incremental context${idle.length === 1 ? '' : 's'} of ${idle.join(', ')} (the next build starts cold)`);
      });
      engine.hooks.shutdown.tapPromise(ESBUILD_PLUGIN, async () => {
        await Promise.all([...warm.keys()].map(dispose));
      });
    },
  };
}

/** Written beside and renamed into place: a process restarting mid-write never reads half a bundle. */
async function writeOutputs(files: esbuild.OutputFile[]): Promise<void> {
  await Promise.all(files.map(async (f) => {
    await mkdir(path.dirname(f.path), { recursive: true });
    const tmp = `${f.path}.${process.pid}.tmp`;
    await writeFile(tmp, f.contents);
    await rename(tmp, f.path);
  }));
}
