/**
 * Imports a local module that may be TypeScript (a plugin given by path). Node 20 cannot import
 * .ts, so it is bundled the same way as the Devfile (bundle.ts: packages external, `devloop`
 * resolved to this running copy, located syntax errors), written to a temp .mjs beside the
 * source, imported, and the temp file removed.
 */
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleDevfile } from '../devfile/bundle.js';
import { tempBundlePath } from '../devfile/temp.js';

const TS = /\.(c|m)?tsx?$/;

export async function importModule(file: string): Promise<Record<string, unknown>> {
  if (!TS.test(file)) return import(`${pathToFileURL(file).href}?t=${Date.now()}`);
  const tmp = tempBundlePath(file);
  const { code } = await bundleDevfile(file, tmp, path.dirname(file));
  await writeFile(tmp, code);
  try {
    return await import(pathToFileURL(tmp).href);
  } finally {
    await rm(tmp, { force: true });
  }
}
