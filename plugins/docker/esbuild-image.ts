/**
 * An esbuild service on the Docker runtime needs no Dockerfile: after the bundle is built, it is
 * layered on `build.baseImage` with `node --enable-source-maps`, under the same content-hash tag
 * scheme as Dockerfile builds (the hash covers the base image's ID and the bundle's bytes).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import path from 'node:path';
import type { EsbuildBuildConfig } from '../../core/devfile/types.js';
import type { BuildContext } from '../../core/engine/contexts.js';
import type { Engine } from '../../core/engine/engine.js';
import { DevloopError } from '../../core/errors.js';
import { DOCKER_PLUGIN, lastGoodRunning } from './builder.js';
import { daemonErrors, type DockerDaemon } from './client.js';
import { buildOrReuse } from './image-build.js';
import { baseImageIds } from './base-images.js';
import { imageRepository, imageTag, projectName } from './names.js';
import { runtimeOf } from './runtime-of.js';
import type { SessionImages } from './session-images.js';
import type { TarEntry } from './tar.js';

export function tapEsbuildImage(engine: Engine, daemon: DockerDaemon, images?: SessionImages): void {
  const warned = new Set<string>();
  engine.hooks.afterBuild.tapPromise(DOCKER_PLUGIN, daemonErrors(daemon, async (ctx) => {
    if (ctx.kind !== 'esbuild' || !ctx.result?.artifacts?.length) return;
    // Cloud Run instances are containers too when a base image is named.
    const runtime = await runtimeOf(engine, ctx);
    if (runtime !== 'docker' && !(runtime === 'cloud-run' && ctx.config.build?.type === 'esbuild' && ctx.config.build.baseImage)) return;
    await wrapBundle(ctx, daemon, warned, lastGoodRunning(engine, ctx));
    const image = (ctx.result as { image?: string }).image;
    if (image) images?.noteBuilt(ctx.service, image);
  }));
}

export function esbuildDockerfile(baseImage: string, entry: string): string {
  return [
    `FROM ${baseImage}`,
    'WORKDIR /app',
    'COPY . /app/',
    `CMD ["node", "--enable-source-maps", ${JSON.stringify(`/app/${entry}`)}]`,
    '',
  ].join('\n');
}

async function wrapBundle(ctx: BuildContext, daemon: DockerDaemon, warned: Set<string>, lastGood: boolean): Promise<void> {
  const build = ctx.config.build as EsbuildBuildConfig;
  if (!build.baseImage) {
    throw new DevloopError(`services.${ctx.service} is an esbuild build on the docker runtime, and has no build.baseImage to put the bundle on`, {
      code: 'BUILD_FAILED',
      service: ctx.service,
      hint: `set services.${ctx.service}.build.baseImage (for example "node:20-slim"), or run it on the process runtime (runtime: 'process')`,
    });
  }
  const result = ctx.result!;
  const bundle = result.artifacts![0];
  // The bundle's source map must travel with it, or --enable-source-maps has nothing to read.
  const files = [...new Set(result.artifacts!.flatMap((a) => [a, `${a}.map`]))].filter((f) => existsSync(f));
  const entries: TarEntry[] = [];
  const info = await daemon.connect();
  // The base by image ID: a base rebuilt or pulled anew under the same name makes a new image.
  const [base] = await baseImageIds(daemon.docker, [build.baseImage]);
  const hash = createHash('sha256').update(`devloop-esbuild-image/1\0${base}\0`);
  let bundleText = '';
  for (const file of files) {
    const content = await readFile(file);
    if (file === bundle) bundleText = content.toString('utf8');
    const name = path.basename(file);
    entries.push({ name, type: 'file', mode: 0o644, content });
    hash.update(`${name}\0${createHash('sha256').update(content).digest('hex')}\0`);
  }
  const dockerfileText = esbuildDockerfile(build.baseImage, path.basename(bundle));
  hash.update(dockerfileText);
  entries.push({ name: 'Dockerfile', type: 'file', mode: 0o644, content: Buffer.from(dockerfileText) });
  const digest = hash.digest('hex');

  warnExternalImports(ctx, bundleText, build.baseImage, warned);

  const repository = imageRepository(projectName(ctx.root, ctx.devfile.name), ctx.service);
  const ref = `${repository}:${imageTag(digest)}`;
  const outcome = await buildOrReuse(daemon, {
    root: ctx.root,
    service: ctx.service,
    ref,
    entries,
    dockerfileInContext: 'Dockerfile',
    dockerfile: path.join(ctx.root, 'Dockerfile (generated)'),
    dockerfileText,
    generated: true,
    lastGoodRunning: lastGood,
    signal: ctx.signal,
    logger: ctx.logger,
  });
  ctx.logger.info(`${outcome.cached ? 'reused' : 'built'} image ${ref} (bundle on ${build.baseImage})`);
  Object.assign(result, { image: ref, imageDigest: digest, imageId: outcome.imageId, daemon: info.id, builtBy: DOCKER_PLUGIN, cached: Boolean(result.cached && outcome.cached) });
}

const IMPORT_RE = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s*)["']([^"'./][^"']*)["']/gm;

/** Packages left external by the bundle are not in the base image: say so before the container fails to start. */
function warnExternalImports(ctx: BuildContext, code: string, baseImage: string, warned: Set<string>): void {
  const builtins = new Set(builtinModules);
  const external = new Set<string>();
  for (const m of code.matchAll(IMPORT_RE)) {
    const spec = m[1];
    if (spec.startsWith('node:') || builtins.has(spec) || builtins.has(spec.split('/')[0])) continue;
    external.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
  }
  const key = `${ctx.service}:${[...external].sort().join(',')}`;
  if (external.size === 0 || warned.has(key)) return;
  warned.add(key);
  ctx.logger.warn(`the bundle imports ${[...external].join(', ')} from node_modules, which ${baseImage} does not have; `
    + `bundle them with extensions: { 'devloop:esbuild': { packages: 'bundle' } } on services.${ctx.service}`);
}
