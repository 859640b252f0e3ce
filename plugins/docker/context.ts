/**
 * A Docker build context as the daemon will see it: the files under the context folder that
 * `.dockerignore` lets through (Docker's semantics, shared with the watcher), plus the Dockerfile
 * even when it lives elsewhere or is ignored. The same list feeds the content hash that names the
 * image and the tar sent to the daemon, so the tag always describes what was built.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { DockerBuildConfig } from '../../core/devfile/types.js';
import { DevloopError } from '../../core/errors.js';
import { DOCKERIGNORE, DockerignoreMatcher } from '../../core/watch/dockerignore.js';
import type { TarEntry } from './tar.js';

export interface ContextFile {
  /** `/`-separated path relative to the context. */
  rel: string;
  abs: string;
  type: 'file' | 'directory' | 'symlink';
  mode: number;
  size: number;
  mtimeMs: number;
  linkname?: string;
}

export interface BuildInputs {
  contextDir: string;
  dockerfile: string;
  /** Where the Dockerfile sits in the tar (the `dockerfile` build parameter). */
  dockerfileInContext: string;
  dockerfileText: string;
  files: ContextFile[];
  /** Extra entries not on disk under the context (a Dockerfile from outside it). */
  extra: TarEntry[];
  args: Record<string, string>;
  target?: string;
  platform?: string;
  /** sha256 hex over everything above that changes the image. */
  hash: string;
}

/** Where an outside Dockerfile goes in the tar; the name the docker CLI would pick is random, ours is fixed so the hash is stable. */
const OUTSIDE_DOCKERFILE = '.devloop.Dockerfile';

export async function collectBuildInputs(root: string, build: DockerBuildConfig, service: string): Promise<BuildInputs> {
  const contextDir = path.resolve(root, build.context ?? '.');
  const dockerfile = path.resolve(contextDir, build.dockerfile ?? 'Dockerfile');
  let dockerfileText: string;
  try {
    dockerfileText = await readFile(dockerfile, 'utf8');
  } catch (err) {
    throw new DevloopError(`no Dockerfile at ${path.relative(root, dockerfile) || dockerfile}`, {
      code: 'BUILD_FAILED',
      service,
      cause: err,
      hint: `create it, or set services.${service}.build.dockerfile (relative to the context ${path.relative(root, contextDir) || '.'})`,
    });
  }
  const ignoreText = await readFile(path.join(contextDir, DOCKERIGNORE), 'utf8').catch(() => '');
  // devloop's own state folder (bundles, registry storage, process records) is never build input:
  // sending it would make every esbuild rebuild or push look like a change to this image.
  const files = await listContext(contextDir, ignoreText, path.join(path.resolve(root), '.devloop'));
  const relDockerfile = toPosix(path.relative(contextDir, dockerfile));
  const inside = !relDockerfile.startsWith('../') && !path.isAbsolute(relDockerfile);
  const extra: TarEntry[] = [];
  let dockerfileInContext = relDockerfile;
  if (!inside) {
    dockerfileInContext = OUTSIDE_DOCKERFILE;
    extra.push({ name: OUTSIDE_DOCKERFILE, type: 'file', mode: 0o644, content: Buffer.from(dockerfileText) });
  } else if (!files.some((f) => f.rel === relDockerfile)) {
    // Ignored by .dockerignore: Docker still sends it, since it cannot build without it.
    const st = await lstat(dockerfile);
    files.push({ rel: relDockerfile, abs: dockerfile, type: 'file', mode: st.mode, size: st.size, mtimeMs: st.mtimeMs });
    files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  }
  const inputs = {
    contextDir, dockerfile, dockerfileInContext, dockerfileText, files, extra,
    args: build.args ?? {}, target: build.target, platform: build.platform,
  };
  return { ...inputs, hash: await hashInputs(inputs) };
}

/** Tar entries for the whole context, in the hash's order. */
export function contextEntries(inputs: BuildInputs): TarEntry[] {
  const entries: TarEntry[] = inputs.files.map((f) => ({
    name: f.rel,
    type: f.type,
    mode: f.mode,
    mtime: new Date(f.mtimeMs),
    linkname: f.linkname,
    source: f.type === 'file' ? f.abs : undefined,
  }));
  return [...entries, ...inputs.extra];
}

async function listContext(contextDir: string, ignoreText: string, stateDir: string): Promise<ContextFile[]> {
  const matcher = new DockerignoreMatcher(ignoreText);
  // With a `!` rule, something under an ignored folder may come back: the folder must be walked.
  const canPrune = !/^\s*!/m.test(ignoreText);
  const out: ContextFile[] = [];
  async function walk(dir: string, relDir: string): Promise<void> {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && relDir === '') {
        throw new DevloopError(`build context ${contextDir} does not exist`, { code: 'BUILD_FAILED', hint: 'check build.context in Devfile.ts (it is relative to the Devfile)' });
      }
      throw err;
    }
    names.sort();
    for (const name of names) {
      const rel = relDir ? `${relDir}/${name}` : name;
      const abs = path.join(dir, name);
      if (abs === stateDir) continue;
      const st = await lstat(abs).catch(() => undefined);
      if (!st) continue; // deleted while we walked
      const ignored = !matcher.empty && matcher.ignores(rel);
      if (st.isDirectory()) {
        if (ignored && canPrune) continue;
        if (!ignored) out.push({ rel, abs, type: 'directory', mode: st.mode, size: 0, mtimeMs: st.mtimeMs });
        await walk(abs, rel);
      } else if (ignored) {
        continue;
      } else if (st.isSymbolicLink()) {
        out.push({ rel, abs, type: 'symlink', mode: st.mode, size: 0, mtimeMs: st.mtimeMs, linkname: await readlink(abs) });
      } else if (st.isFile()) {
        out.push({ rel, abs, type: 'file', mode: st.mode, size: st.size, mtimeMs: st.mtimeMs });
      }
      // Sockets, fifos and devices are not sent: Docker skips them too.
    }
  }
  await walk(contextDir, '');
  return out;
}

// Content hashes of files by identity and stat, so re-hashing an unchanged tree reads nothing.
const contentCache = new Map<string, { key: string; hash: string }>();

async function fileHash(f: ContextFile): Promise<string> {
  const key = `${f.size}:${f.mtimeMs}`;
  const hit = contentCache.get(f.abs);
  if (hit && hit.key === key) return hit.hash;
  const h = createHash('sha256');
  for await (const chunk of createReadStream(f.abs)) h.update(chunk as Buffer);
  const hash = h.digest('hex');
  contentCache.set(f.abs, { key, hash });
  return hash;
}

async function hashInputs(inputs: Omit<BuildInputs, 'hash'>): Promise<string> {
  const h = createHash('sha256');
  h.update('devloop-docker-inputs/1\0');
  // mtime is left out: Docker's own COPY cache ignores it, and a `touch` should not rebuild.
  for (const f of inputs.files) {
    const content = f.type === 'file' ? await fileHash(f) : f.type === 'symlink' ? f.linkname ?? '' : '';
    h.update(`${f.type[0]}\0${f.rel}\0${(f.mode & 0o7777).toString(8)}\0${content}\0`);
  }
  for (const e of inputs.extra) h.update(`x\0${e.name}\0${createHash('sha256').update(e.content ?? '').digest('hex')}\0`);
  h.update(`dockerfile\0${inputs.dockerfileInContext}\0${inputs.dockerfileText}\0`);
  h.update(`args\0${JSON.stringify(Object.entries(inputs.args).sort(([a], [b]) => (a < b ? -1 : 1)))}\0`);
  h.update(`target\0${inputs.target ?? ''}\0platform\0${inputs.platform ?? ''}\0`);
  return h.digest('hex');
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}
