/**
 * The base images a Dockerfile builds on, for the build-input hash: a rebuilt or re-pulled base
 * (same name, new image) must rebuild the service, so the hash takes each base's image ID, not
 * its name. `FROM` lines are read with the Dockerfile's `ARG` defaults and the build's args
 * substituted; names of earlier stages and `scratch` are not images.
 */
import type Docker from 'dockerode';
import { imageId } from './image-build.js';

export function baseImageRefs(dockerfileText: string, args: Record<string, string>): string[] {
  const lines = dockerfileText.replace(/\\\r?\n/g, ' ').split(/\r?\n/);
  const globalArgs: Record<string, string> = {};
  const stages = new Set<string>();
  const refs: string[] = [];
  let seenFrom = false;
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?/i.exec(line);
    if (arg && !seenFrom) {
      globalArgs[arg[1]] = args[arg[1]] ?? unquote(arg[2] ?? '');
      continue;
    }
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!from) continue;
    seenFrom = true;
    const image = from[1].replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_m, a: string, def: string | undefined, b: string) => {
      const name = a ?? b;
      return args[name] ?? globalArgs[name] ?? def ?? '';
    });
    if (image.toLowerCase() !== 'scratch' && !stages.has(image.toLowerCase()) && !refs.includes(image)) refs.push(image);
    if (from[2]) stages.add(from[2].toLowerCase());
  }
  return refs;
}

function unquote(s: string): string {
  return /^(["']).*\1$/.test(s) ? s.slice(1, -1) : s;
}

/** `ref=<image id>` for each base, `ref=missing` when the daemon does not have it (the build pulls it). */
export async function baseImageIds(docker: Docker, refs: string[]): Promise<string[]> {
  return Promise.all(refs.map(async (ref) => `${ref}=${(await imageId(docker, ref).catch(() => undefined)) ?? 'missing'}`));
}
