/**
 * The build expert: Dockerfiles (unpinned or :latest base, no .dockerignore, ADD of a URL,
 * secrets in ENV/ARG, running as root) and package.json files (no lockfile; a server with no
 * start or test script).
 *
 * Digest pinning asks the local Docker daemon (`docker image inspect`) for the image's
 * RepoDigests: only a digest this machine has pulled is offered, never one guessed from a
 * registry. Without a daemon, or an image not pulled, that fix is skipped quietly.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Expert, Finding, RepoView } from '../types.js';
import { offsetOf, parseDockerfile, type Instruction } from './dockerfile.js';
import { isSecretName, position } from './text.js';

const EXPERT = 'build';

export const BUILD_RULES: Record<string, string> = {
  'build/dockerfile-unpinned-base': 'FROM an image with no tag or :latest (the build changes when the image does)',
  'build/dockerfile-base-digest': 'FROM a tag that can be pinned by the digest this machine has pulled',
  'build/dockerignore-missing': 'A Dockerfile with no .dockerignore beside it (node_modules, .git and logs go into the build context)',
  'build/dockerfile-add-url': 'ADD of a URL (not verified, not cached; use curl with a checksum, or ADD --checksum)',
  'build/dockerfile-secret': 'A literal secret in ENV or ARG (it stays in the image history)',
  'build/dockerfile-root-user': 'The image runs as root (no USER, or USER root)',
  'build/no-lockfile': 'A package.json with dependencies and no lockfile (installs are not reproducible)',
  'build/missing-script': 'A server package.json without a start or test script',
};

export const DOCKERIGNORE = ['node_modules', '.git', '.devloop', 'dist', '*.log'];
const LOCKFILES = ['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lock', 'bun.lockb'];

export const isDockerfile = (file: string): boolean => /^(Dockerfile|.+\.Dockerfile|Dockerfile\..+)$/.test(path.posix.basename(file));

export const buildExpert: Expert = {
  id: EXPERT,
  description: 'Dockerfile and package.json problems: unpinned bases, no .dockerignore, ADD of URLs, secrets in ENV/ARG, root user, no lockfile, missing scripts',
  rules: BUILD_RULES,
  async detect(repo: RepoView, signal: AbortSignal): Promise<Finding[]> {
    const out: Finding[] = [];
    const digests = new DigestLookup();
    for (const file of repo.files) {
      signal.throwIfAborted();
      if (isDockerfile(file)) out.push(...dockerfile(repo, file, digests));
      else if (path.posix.basename(file) === 'package.json') out.push(...packageJson(repo, file));
    }
    return out;
  },
};

const finding = (f: Omit<Finding, 'expert'>): Finding => ({ expert: EXPERT, ...f });

interface From { image: string; imageAt: number; alias?: string; ins: Instruction }

function dockerfile(repo: RepoView, file: string, digests: DigestLookup): Finding[] {
  const text = repo.read(file);
  const list = parseDockerfile(text);
  const out: Finding[] = [];
  const at = (o: number) => position(text, o);
  const stages: From[] = [];
  const dir = path.posix.dirname(file);

  for (const ins of list) {
    if (ins.keyword === 'FROM') {
      const tokens = ins.args.split(/\s+/).filter((t) => !t.startsWith('--'));
      const image = tokens[0] ?? '';
      const alias = /^as$/i.test(tokens[1] ?? '') ? tokens[2] : undefined;
      const from: From = { image, imageAt: offsetOf(ins, image), alias, ins };
      stages.push(from);
      if (image === 'scratch' || image.includes('$') || stages.some((s) => s.alias && s.alias === image)) continue;
      const name = image.split('/').pop()!;
      const tag = name.includes('@') ? 'digest' : name.includes(':') ? name.split(':')[1] : undefined;
      const digest = tag === 'digest' ? undefined : digests.of(image);
      const pin = digest ? { description: `pin ${image} to ${digest} (the digest this machine has pulled)`, edits: [{ file, start: from.imageAt, end: from.imageAt + image.length, text: `${image}@${digest}` }] } : undefined;
      if (tag === undefined || tag === 'latest') {
        out.push(finding({
          ruleId: 'build/dockerfile-unpinned-base', severity: 'warning', confidence: 'high', file, ...at(from.imageAt),
          message: `FROM ${image} ${tag ? 'uses :latest' : 'has no tag (so :latest)'}: the build changes whenever the image does; pin a version${digest ? ' or the digest' : ''}`,
          fix: pin,
        }));
      } else if (pin) {
        out.push(finding({ ruleId: 'build/dockerfile-base-digest', severity: 'note', confidence: 'high', file, ...at(from.imageAt), message: `FROM ${image} can be pinned by digest ${digest}`, fix: pin }));
      }
    } else if (ins.keyword === 'ADD') {
      const url = ins.args.split(/\s+/).find((t) => /^https?:\/\//i.test(t));
      if (url) out.push(finding({ ruleId: 'build/dockerfile-add-url', severity: 'warning', confidence: 'high', file, ...at(offsetOf(ins, url)), message: `ADD ${url} downloads without verifying it; use RUN curl with a checksum check, or ADD --checksum=sha256:...` }));
    } else if (ins.keyword === 'ENV' || ins.keyword === 'ARG') {
      for (const { name, value, offset } of assignments(ins)) {
        if (!isSecretName(name) || value === '' || value.startsWith('$')) continue;
        out.push(finding({ ruleId: 'build/dockerfile-secret', severity: 'error', confidence: 'high', file, ...at(offset), message: `${ins.keyword} ${name} holds a literal secret; it stays in the image layers and history. Pass it at run time, or use RUN --mount=type=secret` }));
      }
    }
  }

  if (!existsSync(path.join(repo.root, dir, '.dockerignore'))) {
    const target = dir === '.' ? '.dockerignore' : `${dir}/.dockerignore`;
    out.push(finding({
      ruleId: 'build/dockerignore-missing', severity: 'warning', confidence: 'high', file, line: 1, column: 1,
      message: `no .dockerignore beside ${file}: node_modules, .git and logs are sent into the build context`,
      fix: { description: `create ${target} (${DOCKERIGNORE.join(', ')})`, edits: [{ file: target, start: 0, end: 0, text: `${DOCKERIGNORE.join('\n')}\n`, create: true }] },
    }));
  }
  const root = rootUser(file, text, list, stages);
  if (root) out.push(root);
  return out;
}

/** `ENV A=1 B="2"`, `ENV A 1`, `ARG A=1` -> name, value, offset of the name. */
function assignments(ins: Instruction): { name: string; value: string; offset: number }[] {
  const args = ins.args;
  if (ins.keyword === 'ENV' && !/^[^\s=]+=/.test(args)) {
    const m = /^(\S+)\s+(.*)$/.exec(args);
    return m ? [{ name: m[1], value: m[2].trim().replace(/^["']|["']$/g, ''), offset: ins.offsets[0] }] : [];
  }
  const out: { name: string; value: string; offset: number }[] = [];
  for (const m of args.matchAll(/([^\s=]+)(?:=("[^"]*"|'[^']*'|\S*))?/g)) {
    if (m[2] === undefined) continue;
    out.push({ name: m[1], value: m[2].replace(/^["']|["']$/g, ''), offset: ins.offsets[m.index] ?? ins.argsStart });
  }
  return out;
}

const ROOT = /^(root|0)(:.*)?$/;

/** The final stage runs as root: no USER in it, or its last USER is root. Fix: a USER line before CMD/ENTRYPOINT. */
function rootUser(file: string, text: string, list: Instruction[], stages: From[]): Finding | undefined {
  const last = stages[stages.length - 1];
  if (!last) return undefined;
  const stage = list.slice(list.indexOf(last.ins) + 1);
  const users = stage.filter((i) => i.keyword === 'USER');
  const lastUser = users[users.length - 1];
  if (lastUser && !ROOT.test(lastUser.args.trim())) return undefined;
  const after = lastUser ? stage.slice(stage.indexOf(lastUser) + 1) : stage;
  const run = after.find((i) => i.keyword === 'CMD' || i.keyword === 'ENTRYPOINT');
  const user = isNodeImage(last, stages) ? 'node' : '65532';
  const lineStart = run ? text.lastIndexOf('\n', run.start - 1) + 1 : text.length;
  const insert = run ? `USER ${user}\n` : `${text.endsWith('\n') || text === '' ? '' : '\n'}USER ${user}\n`;
  const where = lastUser ?? last.ins;
  return finding({
    ruleId: 'build/dockerfile-root-user', severity: 'warning', confidence: lastUser ? 'high' : 'medium', file, ...position(text, where.start),
    message: lastUser ? `the image runs as root (USER ${lastUser.args}); switch to an unprivileged user before it starts` : `no USER in the final stage (FROM ${last.image}): the container runs as root`,
    fix: { description: `add USER ${user} ${run ? `before ${run.keyword}` : 'at the end'}`, edits: [{ file, start: lineStart, end: lineStart, text: insert }] },
  });
}

function isNodeImage(from: From, stages: From[]): boolean {
  const base = stages.find((s) => s !== from && s.alias === from.image);
  if (base) return isNodeImage(base, stages);
  const name = from.image.split('/').pop()!.split(/[:@]/)[0];
  return name === 'node';
}

/** Local RepoDigests, asked once per image; nothing when there is no daemon. */
class DigestLookup {
  private daemon?: boolean;
  private cache = new Map<string, string | undefined>();
  of(image: string): string | undefined {
    if (this.daemon === undefined) this.daemon = run(['info', '--format', '{{.ServerVersion}}']) !== undefined;
    if (!this.daemon) return undefined;
    if (!this.cache.has(image)) {
      const json = run(['image', 'inspect', '--format', '{{json .RepoDigests}}', image]);
      let digest: string | undefined;
      try { digest = (JSON.parse(json ?? '[]') as string[]).map((d) => d.split('@')[1]).find((d) => d?.startsWith('sha256:')); } catch { /* no digest */ }
      this.cache.set(image, digest);
    }
    return this.cache.get(image);
  }
}

function run(args: string[]): string | undefined {
  try { return execFileSync('docker', args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return undefined; }
}

const SERVER_ENTRIES = ['server.js', 'server.ts', 'server.mjs', 'src/server.ts', 'src/server.js', 'app.js', 'app.ts', 'src/app.ts', 'main.ts', 'src/main.ts', 'index.js', 'index.ts', 'src/index.ts'];

function packageJson(repo: RepoView, file: string): Finding[] {
  const text = repo.read(file);
  let pkg: { main?: string; scripts?: Record<string, string>; dependencies?: object; devDependencies?: object };
  try { pkg = JSON.parse(text); } catch { return []; }
  if (typeof pkg !== 'object' || pkg === null) return [];
  const dir = path.posix.dirname(file);
  const out: Finding[] = [];
  const keyAt = (key: string) => { const i = text.indexOf(`"${key}"`); return position(text, i < 0 ? 0 : i); };
  const deps = Object.keys(pkg.dependencies ?? {}).length + Object.keys(pkg.devDependencies ?? {}).length;
  if (deps && !hasLockfile(repo.root, dir)) {
    out.push(finding({
      ruleId: 'build/no-lockfile', severity: 'warning', confidence: 'high', file, ...keyAt(pkg.dependencies ? 'dependencies' : 'devDependencies'),
      message: `${file} has ${deps} dependencies and no lockfile: each install may resolve different versions; run npm install and commit package-lock.json`,
    }));
  }
  const entry = [pkg.main, ...SERVER_ENTRIES].filter((e): e is string => typeof e === 'string').map((e) => path.posix.normalize(path.posix.join(dir, e)))
    .find((e) => repo.files.includes(e) && /\.listen\(|createServer\(|\bserve\(/.test(repo.read(e)));
  if (entry) {
    const scripts = pkg.scripts ?? {};
    const where = pkg.scripts ? keyAt('scripts') : { line: 1, column: 1 };
    if (!scripts.start) out.push(finding({ ruleId: 'build/missing-script', severity: 'warning', confidence: 'medium', file, ...where, message: `${file} has no "start" script, but ${entry} is a server: npm start (and buildpacks) will not know how to run it` }));
    if (!scripts.test || /no test specified/.test(scripts.test)) out.push(finding({ ruleId: 'build/missing-script', severity: 'warning', confidence: 'medium', file, ...where, message: `${file} has no "test" script for the server ${entry}: npm test (and CI) runs nothing` }));
  }
  return out;
}

function hasLockfile(root: string, dir: string): boolean {
  for (let d = dir; ; d = path.posix.dirname(d)) {
    if (LOCKFILES.some((l) => existsSync(path.join(root, d, l)))) return true;
    if (d === '.' || d === '/' || d === '') return false;
  }
}
