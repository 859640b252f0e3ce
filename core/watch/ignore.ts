/**
 * Builds each target's ignore matcher from every source of "this change does not matter":
 *   - `.gitignore` files from the project root down (git semantics, see gitignore.ts),
 *   - the `.dockerignore` of the target's build context (Docker semantics),
 *   - Devfile globs, project-wide and per service (picomatch, relative to the project root),
 *   - always `.git/` and `.devloop/` (devloop writes there; watching it would loop), the temp
 *     bundles written beside a Devfile while it loads (devfile/temp.ts), and editors' swap,
 *     backup and temp files (editor-temp.ts) unless a target names one itself,
 *   - extra absolute paths such as build outputs.
 *
 * The ignore files are read once and shared by all targets; `reload(path)` forgets a changed one
 * so the next check re-reads it.
 */
import { basename } from 'node:path';
import picomatch from 'picomatch';
import { DOCKERIGNORE, DockerignoreCache } from './dockerignore.js';
import { GITIGNORE, GitignoreRules, type ReadText, readTextOrNull } from './gitignore.js';
import { isWithin, relativeTo, trimSep } from './paths.js';
import type { Ignorer, WatchTarget, WatchTargetSpec } from './types.js';
import { TEMP_BUNDLE } from '../devfile/temp.js';
import { isEditorTemp } from './editor-temp.js';

/** Folder names never watched, at any depth. */
export const ALWAYS_IGNORED_DIRS = ['.git', '.devloop'] as const;

export interface ProjectIgnoreOptions {
  root: string;
  /** Project-wide Devfile globs, relative to the root. */
  globs?: string[];
  /** Absolute paths ignored for every target. */
  paths?: string[];
  readText?: ReadText;
}

export class ProjectIgnores {
  readonly root: string;
  readonly git: GitignoreRules;
  private readonly docker: DockerignoreCache;
  private readonly globs: string[];
  private readonly paths: string[];

  constructor(options: ProjectIgnoreOptions) {
    this.root = trimSep(options.root);
    const readText = options.readText ?? readTextOrNull;
    this.git = new GitignoreRules(this.root, readText);
    this.docker = new DockerignoreCache(readText);
    this.globs = options.globs ?? [];
    this.paths = (options.paths ?? []).map(trimSep);
  }

  /** True for files whose change alters the rules themselves. */
  isIgnoreFile(absPath: string): boolean {
    const name = basename(absPath);
    return name === GITIGNORE || name === DOCKERIGNORE;
  }

  /** Forgets a changed ignore file; matchers built earlier see the new rules on their next check. */
  reload(absPath: string): boolean {
    const git = this.git.invalidate(absPath);
    const docker = this.docker.invalidate(absPath);
    return git || docker;
  }

  /** The matcher for one target, combining the project's rules with the target's own. */
  forTarget(spec: WatchTargetSpec): Ignorer {
    const root = this.root;
    const extraPaths = [...this.paths, ...(spec.ignorePaths ?? []).map(trimSep)];
    const globs = [...this.globs, ...(spec.ignore ?? [])];
    const globMatch = globs.length > 0 ? picomatch(globs, { dot: true }) : undefined;
    const context = spec.dockerContext ? trimSep(spec.dockerContext) : undefined;
    const targetPaths = spec.paths.map(trimSep);
    const git = this.git;
    const docker = this.docker;
    // A target path that git ignores was named on purpose (a generated folder, a local .env):
    // below it, .gitignore does not apply. Recomputed only when the rules change.
    let exemptGeneration = -1;
    let gitExempt: string[] = [];

    return {
      ignores(absPath: string): boolean {
        const rel = relativeTo(root, absPath);
        if (hasAlwaysIgnoredSegment(rel ?? absPath) || TEMP_BUNDLE.test(absPath)) return true;
        if (isEditorTemp(absPath) && !targetPaths.includes(absPath)) return true;
        for (const p of extraPaths) if (isWithin(absPath, p)) return true;
        if (globMatch && rel !== undefined && rel !== '' && matchesOrParentMatches(globMatch, rel)) return true;
        if (context !== undefined) {
          const relCtx = relativeTo(context, absPath);
          if (relCtx !== undefined && relCtx !== '' && docker.get(context)?.ignores(relCtx)) return true;
        }
        if (exemptGeneration !== git.generation) {
          gitExempt = targetPaths.filter((p) => git.ignores(p));
          exemptGeneration = git.generation;
        }
        for (const p of gitExempt) if (isWithin(absPath, p)) return false;
        return git.ignores(absPath);
      },
    };
  }

  /** Resolves specs into the shape `mapChangesToTargets` takes. */
  targets(specs: readonly WatchTargetSpec[]): WatchTarget[] {
    return specs.map((spec) => ({ name: spec.name, paths: spec.paths.map(trimSep), ignore: this.forTarget(spec) }));
  }
}

function hasAlwaysIgnoredSegment(p: string): boolean {
  for (const dir of ALWAYS_IGNORED_DIRS) {
    if (p === dir || p.startsWith(dir + '/') || p.includes('/' + dir + '/') || p.endsWith('/' + dir)) return true;
  }
  return false;
}

function matchesOrParentMatches(match: (p: string) => boolean, rel: string): boolean {
  for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) if (match(rel.slice(0, i))) return true;
  return match(rel);
}
