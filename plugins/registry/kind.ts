/**
 * kind without a registry: `kind load docker-image` copies the image onto the cluster's nodes, as
 * Skaffold and Tilt do when kind advertises no KEP-1755 registry. Used only when no registry was
 * found and a `kind` binary is on the PATH.
 */
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { DevloopError } from '../../core/errors.js';

/** `kind-dev` -> `dev`: kind names its contexts `kind-<cluster>`. */
export function kindClusterOf(context: string): string | undefined {
  return /^kind-(.+)$/.exec(context)?.[1];
}

/** The `kind` binary on the PATH, or undefined. */
export async function whichKind(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, 'kind');
    try { await access(candidate, 1 /* X_OK */); return candidate; } catch { /* next */ }
  }
  return undefined;
}

export function kindLoad(image: string, cluster: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('kind', ['load', 'docker-image', image, '--name', cluster], { signal, maxBuffer: 4 << 20 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      reject(new DevloopError(`kind load docker-image ${image} --name ${cluster} failed: ${(stderr || err.message).trim()}`, {
        code: 'KIND_LOAD_FAILED',
        hint: `check the kind cluster "${cluster}" is running ("kind get clusters"), or give it a registry (KEP-1755) or set DEVLOOP_REGISTRY`,
      }));
    });
  });
}
