/**
 * A repository as the experts see it (RepoView): the text files git would track, read once.
 *
 * .gitignore files are honoured at every level (a nested one applies below its folder, as git does),
 * plus folders no expert should read: node_modules, .git, dist, .devloop. Binary files (a NUL byte
 * in the first 8 KiB, git's own test) and files over 1 MiB are left out with the reason in
 * `skipped`, so a vendored bundle or an image never slows a run or yields nonsense findings.
 * Symbolic links are not followed: a link to a parent folder would loop.
 */
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import ignore, { type Ignore } from 'ignore';
import { DevloopError } from '../../core/errors.js';
import type { RepoView } from './types.js';

export const ALWAYS_IGNORED = ['node_modules', '.git', 'dist', '.devloop'];
export const MAX_FILE_BYTES = 1024 * 1024;
const SNIFF_BYTES = 8192;

export interface OpenRepoOptions {
  /** More gitignore-style patterns, relative to the root. */
  ignore?: string[];
}

interface Rules { base: string; ig: Ignore }

export function openRepo(root: string, options: OpenRepoOptions = {}): RepoView {
  const abs = path.resolve(root);
  let isDir = false;
  try { isDir = statSync(abs).isDirectory(); } catch { /* reported below */ }
  if (!isDir) {
    throw new DevloopError(`repository path not found: ${root} (no such folder)`, {
      code: 'GHOSTBUSTERS_REPO_MISSING', exitCode: 2, hint: 'give the folder of a repository, e.g. devloop agents run .',
    });
  }
  const files: string[] = [];
  const skipped: RepoView['skipped'] = [];
  const top = ignore().add(ALWAYS_IGNORED.map((d) => `${d}/`)).add(options.ignore ?? []);
  walk(abs, '', [{ base: '', ig: top }], files, skipped);
  files.sort();
  const cache = new Map<string, string>();
  return {
    root: abs,
    files,
    skipped,
    read(file: string): string {
      let text = cache.get(file);
      if (text === undefined) {
        text = readFileSync(path.join(abs, file), 'utf8');
        cache.set(file, text);
      }
      return text;
    },
  };
}

function ignored(rules: Rules[], rel: string, dir: boolean): boolean {
  for (const r of rules) {
    const sub = r.base ? path.posix.relative(r.base, rel) : rel;
    if (r.ig.ignores(dir ? `${sub}/` : sub)) return true;
  }
  return false;
}

function walk(root: string, rel: string, rules: Rules[], files: string[], skipped: RepoView['skipped']): void {
  const dirAbs = path.join(root, rel);
  let entries;
  try { entries = readdirSync(dirAbs, { withFileTypes: true }); } catch (err) {
    skipped.push({ file: rel || '.', why: `unreadable folder: ${(err as Error).message}` });
    return;
  }
  let here = rules;
  if (entries.some((e) => e.name === '.gitignore' && e.isFile())) {
    try { here = [...rules, { base: rel, ig: ignore().add(readFileSync(path.join(dirAbs, '.gitignore'), 'utf8')) }]; } catch { /* unreadable: no rules */ }
  }
  for (const e of entries) {
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) {
      if (!ignored(here, child, true)) walk(root, child, here, files, skipped);
      continue;
    }
    if (!e.isFile() || ignored(here, child, false)) continue;
    const why = unreadableWhy(path.join(root, child));
    if (why) skipped.push({ file: child, why });
    else files.push(child);
  }
}

/** Why a file is left out (too large, binary, unreadable), or undefined to read it. */
function unreadableWhy(file: string): string | undefined {
  let fd: number | undefined;
  try {
    const size = statSync(file).size;
    if (size > MAX_FILE_BYTES) return `too large (${(size / MAX_FILE_BYTES).toFixed(1)} MiB; the limit is 1 MiB)`;
    fd = openSync(file, 'r');
    const buf = Buffer.alloc(Math.min(SNIFF_BYTES, size));
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (buf.subarray(0, n).includes(0)) return 'binary (a NUL byte in the first 8 KiB)';
    return undefined;
  } catch (err) {
    return `unreadable: ${(err as Error).message}`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
