/**
 * Devfile load time: the full `loadDevfile` (find, esbuild bundle, import, validate) on the
 * fixture project, cold (first load in this process) and warm (median of 30), against the floor
 * of the approach measured in the same run: esbuild bundle + import of the same file with no
 * validation.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { loadDevfile } from '../core/devfile/load.js';
import { median, percentile, type BenchResult } from './types.js';

const fixture = path.resolve(new URL('../test/fixtures/devfile-valid', import.meta.url).pathname);

async function rawImport(file: string): Promise<void> {
  const out = await build({ entryPoints: [file], bundle: true, platform: 'node', format: 'esm', packages: 'external', write: false, logLevel: 'silent',
    plugins: [{ name: 'devloop', setup(b) { b.onResolve({ filter: /^devloop$/ }, () => ({ path: pathToFileURL(path.resolve('core/index.ts')).href, external: true })); } }] });
  const tmp = `${file}.raw-${Date.now()}-${Math.random().toString(16).slice(2)}.mjs`;
  writeFileSync(tmp, out.outputFiles[0].contents);
  try { await import(pathToFileURL(tmp).href); } finally { rmSync(tmp, { force: true }); }
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'devloop-bench-devfile-'));
  cpSync(fixture, dir, { recursive: true });
  const file = path.join(dir, 'Devfile.ts');

  let t = performance.now();
  await loadDevfile({ cwd: dir });
  const cold = performance.now() - t;

  const warm: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < 30; i++) {
    t = performance.now();
    await loadDevfile({ cwd: dir });
    warm.push(performance.now() - t);
    t = performance.now();
    await rawImport(file);
    raw.push(performance.now() - t);
  }
  rmSync(dir, { recursive: true, force: true });
  return [
    { name: 'Devfile load, cold (first in process)', value: cold, unit: 'ms', note: 'includes starting the esbuild service and importing the engine' },
    { name: 'Devfile load, warm median', value: median(warm), unit: 'ms', baseline: { name: 'esbuild bundle + import only', value: median(raw) } },
    { name: 'Devfile load, warm p95', value: percentile(warm, 95), unit: 'ms', baseline: { name: 'esbuild bundle + import only', value: percentile(raw, 95) } },
  ];
}
