/**
 * `.dockerignore` with Docker's semantics, which differ from git's: patterns are anchored at the
 * context root (`foo` means `./foo`, not any `foo`), a pattern that matches a folder excludes
 * everything in it, `!` re-includes, and the last matching pattern wins.
 */
import { join, sep } from 'node:path';
import picomatch from 'picomatch';
import { readTextOrNull, type ReadText } from './gitignore.js';

export const DOCKERIGNORE = '.dockerignore';

interface Rule {
  negated: boolean;
  match: (path: string) => boolean;
}

export class DockerignoreMatcher {
  private readonly rules: Rule[];

  constructor(text: string) {
    this.rules = parseDockerignore(text);
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** `rel`: posix path relative to the build context. */
  ignores(rel: string): boolean {
    // Docker sends these even when excluded, since it needs them; a change to them matters.
    if (rel === DOCKERIGNORE || rel === 'Dockerfile') return false;
    const prefixes: string[] = [];
    for (let i = rel.indexOf('/'); i >= 0; i = rel.indexOf('/', i + 1)) prefixes.push(rel.slice(0, i));
    prefixes.push(rel);
    let ignored = false;
    for (const rule of this.rules) {
      if (rule.negated === !ignored) continue; // cannot change the outcome
      if (prefixes.some((p) => rule.match(p))) ignored = !rule.negated;
    }
    return ignored;
  }
}

function parseDockerignore(text: string): Rule[] {
  const rules: Rule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const negated = line.startsWith('!');
    if (negated) line = line.slice(1).trim();
    const pattern = cleanPattern(line);
    if (pattern === '') continue;
    rules.push({ negated, match: picomatch(pattern, { dot: true }) });
  }
  return rules;
}

/** Go's filepath.Clean, as Docker applies it to every pattern. */
function cleanPattern(p: string): string {
  const parts: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return parts.join('/');
}

/** One matcher per build context, read on first use and dropped when its file changes. */
export class DockerignoreCache {
  private readonly byContext = new Map<string, DockerignoreMatcher | null>();
  constructor(private readonly readText: ReadText = readTextOrNull) {}

  get(contextDir: string): DockerignoreMatcher | null {
    if (!this.byContext.has(contextDir)) {
      const text = this.readText(join(contextDir, DOCKERIGNORE));
      const matcher = text === null ? null : new DockerignoreMatcher(text);
      this.byContext.set(contextDir, matcher && !matcher.empty ? matcher : null);
    }
    return this.byContext.get(contextDir) ?? null;
  }

  /** Returns true when `file` is the .dockerignore of a context in use. */
  invalidate(file: string): boolean {
    if (!file.endsWith(sep + DOCKERIGNORE)) return false;
    const dir = file.slice(0, -(DOCKERIGNORE.length + 1)) || sep;
    return this.byContext.delete(dir);
  }
}
