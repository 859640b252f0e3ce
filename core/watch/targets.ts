/**
 * Maps changed files to the targets that own them. Pure: all file-system knowledge is already in
 * each target's `Ignorer`.
 *
 * Instead of testing every file against every target path (10,000 x 50 x paths string
 * compares, and prefix traps like `/src2` under `/src`), the target paths go into a map and
 * each file looks up its own ancestors: cost is files x depth, independent of the target count.
 */
import { sep } from 'node:path';
import { trimSep } from './paths.js';
import type { WatchTarget } from './types.js';

export type TargetIndex = Map<string, number[]>;

/** Target path (normalized) -> indexes of the targets that list it. Build once per target set. */
export function indexTargets(targets: readonly WatchTarget[]): TargetIndex {
  const index: TargetIndex = new Map();
  targets.forEach((target, i) => {
    for (const raw of target.paths) {
      const p = trimSep(raw);
      const list = index.get(p);
      if (!list) index.set(p, [i]);
      else if (!list.includes(i)) list.push(i);
    }
  });
  return index;
}

/** Indexes of the targets with a path equal to or containing `file`, ignore rules not applied. */
export function candidateTargets(file: string, index: TargetIndex, out: number[] = []): number[] {
  out.length = 0;
  let p = trimSep(file);
  for (;;) {
    const hit = index.get(p);
    if (hit) for (const i of hit) if (!out.includes(i)) out.push(i);
    const cut = p.lastIndexOf(sep);
    if (cut < 0) break;
    if (cut === 0) {
      if (p.length > 1) { p = sep; continue; }
      break;
    }
    p = p.slice(0, cut);
  }
  return out;
}

/**
 * Target name -> its changed files, in input order. A file lands in every target that contains
 * it and does not ignore it; targets with no files are absent.
 */
export function mapChangesToTargets(
  files: readonly string[],
  targets: readonly WatchTarget[],
  index: TargetIndex = indexTargets(targets),
): Map<string, string[]> {
  const byIndex: (string[] | undefined)[] = new Array(targets.length);
  const seen = new Set<string>();
  const candidates: number[] = [];
  for (const file of files) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const i of candidateTargets(file, index, candidates)) {
      if (targets[i].ignore.ignores(file)) continue;
      (byIndex[i] ??= []).push(file);
    }
  }
  const result = new Map<string, string[]>();
  targets.forEach((target, i) => {
    const list = byIndex[i];
    if (!list) return;
    // Two specs may share a name (a service split over entries); merge rather than overwrite.
    const existing = result.get(target.name);
    if (existing) {
      const have = new Set(existing);
      for (const f of list) if (!have.has(f)) existing.push(f);
    }
    else result.set(target.name, list);
  });
  return result;
}
