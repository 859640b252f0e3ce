/**
 * Imports a local module that may be TypeScript. Node 20 cannot import .ts, so TypeScript is
 * bundled with esbuild (packages left external) into a temp .mjs beside the source, imported, and
 * the temp file removed.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const TS = /\.(c|m)?tsx?$/;

export async function importModule(file: string): Promise<Record<string, unknown>> {
  if (!TS.test(file)) return import(`${pathToFileURL(file).href}?t=${Date.now()}`);
  const { build } = await import('esbuild');
  const out = await build({
    entryPoints: [file], bundle: true, platform: 'node', format: 'esm', packages: 'external',
    write: false, sourcemap: 'inline', logLevel: 'silent', target: 'node20',
  });
  const tmp = path.join(path.dirname(file), `${path.basename(file)}.timestamp-${Date.now()}-${Math.random().toString(16).slice(2, 8)}.mjs`);
  await writeFile(tmp, out.outputFiles[0].contents);
  try {
    return await import(pathToFileURL(tmp).href);
  } finally {
    await rm(tmp, { force: true });
  }
}
