/** Finds the Devfile: the one named, else `Devfile.ts` here or in the nearest parent folder. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.js';

export const DEVFILE_NAME = 'Devfile.ts';
const HINT = 'run "devloop init" to create one';

/** Returns the absolute path of the Devfile. `file` is relative to `cwd` and may name a folder. */
export async function findDevfile(cwd: string, file?: string): Promise<string> {
  if (file !== undefined) {
    const target = path.resolve(cwd, file);
    const kind = await kindOf(target);
    if (kind === 'file') return target;
    if (kind === 'dir' && (await kindOf(path.join(target, DEVFILE_NAME))) === 'file') return path.join(target, DEVFILE_NAME);
    // An explicit path that names nothing is a typo more often than a project without a Devfile:
    // say the path was not found, and what -f accepts, rather than suggesting `devloop init`.
    if (kind === undefined) {
      throw new UsageError(`-f ${file}: no such file or folder (looked for ${target})`, {
        code: 'DEVFILE_NOT_FOUND',
        hint: /\.ya?ml$/i.test(file)
          ? 'give the service.yaml a `devloop cloudrun replace` session runs, or a Devfile.ts; check the path'
          : 'give a Devfile.ts or the folder holding one; check the path',
      });
    }
    throw new UsageError(`no ${DEVFILE_NAME} in ${file}`, { code: 'DEVFILE_NOT_FOUND', hint: HINT });
  }
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, DEVFILE_NAME);
    if ((await kindOf(candidate)) === 'file') return candidate;
    if (path.dirname(dir) === dir) break;
  }
  throw new UsageError(`no ${DEVFILE_NAME} in ${cwd} or any folder above it`, { code: 'DEVFILE_NOT_FOUND', hint: HINT });
}

async function kindOf(p: string): Promise<'file' | 'dir' | undefined> {
  try {
    const s = await stat(p);
    return s.isFile() ? 'file' : s.isDirectory() ? 'dir' : undefined;
  } catch {
    return undefined;
  }
}
