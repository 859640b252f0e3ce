/**
 * `.gitignore` rules of a project, with git's semantics across nested files.
 *
 * Every `.gitignore` from the root down is rewritten relative to the root and fed, parents
 * first, into ONE `ignore` instance. That keeps git's precedence (a deeper file's rules come later,
 * and the last matching rule wins) and git's "a file in an excluded folder cannot be
 * re-included", which matching each file level by level would get wrong.
 *
 * Files are read lazily, once per folder, the first time a path below that folder is asked
 * about: a burst of 10,000 files in two folders reads a handful of files. `invalidate()` drops
 * one file's cached text when the watcher sees it change.
 */
import { readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { relativeTo, trimSep } from './paths.js';

export const GITIGNORE = '.gitignore';

/** Reads a file's text, or null when it cannot be read (missing, a folder, no permission). */
export type ReadText = (file: string) => string | null;

export const readTextOrNull: ReadText = (file) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

// node-ignore caches every path it is asked about; rebuild now and then so a long session over a
// huge tree does not grow without bound.
const MAX_CHECKS_BEFORE_RESET = 200_000;

export class GitignoreRules {
  readonly root: string;
  private readonly readText: ReadText;
  /** Folder relative to root ('' for the root, posix separators) -> its .gitignore text or null. */
  private readonly texts = new Map<string, string | null>();
  private ig: Ignore;
  private checks = 0;
  /** Bumped whenever the rules change, so callers can drop derived caches. */
  generation = 0;

  constructor(root: string, readText: ReadText = readTextOrNull) {
    this.root = trimSep(root);
    this.readText = readText;
    this.ig = this.build();
  }

  /** Is `absPath` ignored by git? Paths outside the root never are. */
  ignores(absPath: string): boolean {
    const rel = this.relative(absPath);
    if (rel === undefined || rel === '') return false;
    this.probeAncestors(rel);
    if (++this.checks > MAX_CHECKS_BEFORE_RESET) this.ig = this.build();
    // Events do not say whether a path is a folder (a deleted one cannot be stat'ed), so test
    // both forms: otherwise `mkdir dist` would slip past a `dist/` rule.
    return this.ig.ignores(rel) || this.ig.ignores(`${rel}/`);
  }

  /** Reads the .gitignore files from the root down to each given folder now, not on first use. */
  preload(dirs: readonly string[]): void {
    for (const dir of dirs) {
      const rel = this.relative(dir);
      // probeAncestors() reads the folders above a path; a dummy child makes it include `dir`.
      if (rel !== undefined) this.probeAncestors(rel === '' ? '' : `${rel}/_`);
    }
  }

  /** Forgets a changed .gitignore. Returns false when the path is not one this object reads. */
  invalidate(file: string): boolean {
    if (!file.endsWith(sep + GITIGNORE)) return false;
    const rel = this.relative(file.slice(0, -(GITIGNORE.length + 1)));
    if (rel === undefined || !this.texts.has(rel)) return false;
    this.texts.delete(rel);
    this.probe(rel);
    this.ig = this.build();
    return true;
  }

  /** Relative posix path inside the root, '' for the root itself, undefined when outside. */
  private relative(absPath: string): string | undefined {
    return relativeTo(this.root, trimSep(absPath));
  }

  /** Reads the .gitignore of every folder above `rel` not read yet, parents first. */
  private probeAncestors(rel: string): void {
    let changed = this.probe('');
    for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) {
      if (this.probe(rel.slice(0, i))) changed = true;
    }
    if (changed) this.ig = this.build();
  }

  /** Reads one folder's .gitignore if not read yet. True when it added rules. */
  private probe(relDir: string): boolean {
    if (this.texts.has(relDir)) return false;
    const text = this.readText(join(this.root, relDir, GITIGNORE));
    this.texts.set(relDir, text);
    return text !== null && text.trim() !== '';
  }

  private build(): Ignore {
    this.checks = 0;
    this.generation++;
    const ig = ignore({ ignorecase: process.platform === 'darwin' || process.platform === 'win32' });
    const dirs = [...this.texts.keys()].sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : 1));
    for (const dir of dirs) {
      const text = this.texts.get(dir);
      if (text) ig.add(rebaseGitignore(text, dir));
    }
    return ig;
  }
}

/**
 * Rewrites the rules of the .gitignore in folder `dir` (relative to the root, posix) so they mean
 * the same thing when read from the root.
 */
export function rebaseGitignore(text: string, dir: string): string[] {
  const lines = text.split(/\r?\n/);
  if (dir === '') return lines;
  const prefix = escapeGlob(dir);
  const out: string[] = [];
  for (const line of lines) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    let body = negated ? line.slice(1) : line;
    // A slash anywhere but at the end anchors the pattern to its folder; otherwise it matches
    // at any depth below that folder.
    const anchored = body.replace(/\/+\s*$/, '').includes('/');
    if (anchored) body = body.replace(/^\/+/, '');
    out.push(`${negated ? '!' : ''}${prefix}/${anchored ? '' : '**/'}${body}`);
  }
  return out;
}

function escapeGlob(s: string): string {
  // `!` and `#` are special only as the first character of a rule.
  return s.replace(/[\\*?[\]]/g, (c) => `\\${c}`).replace(/^[!#]/, (c) => `\\${c}`);
}

function depth(rel: string): number {
  if (rel === '') return 0;
  let n = 1;
  for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) n++;
  return n;
}
