/**
 * Live-update planning, pure: from a service's `liveUpdate` steps and the files that changed,
 * decide whether the change can be applied in place, and how. The rules follow Tilt:
 *
 * - `fallBackOn`: a changed file matching one of these forces a full rebuild;
 * - `sync`: every changed file must be covered by a sync rule, or the change rebuilds (a silent
 *   partial sync is worse than a slow rebuild: the user would run code that is not on disk);
 * - `run`: commands run after the sync, in order, when a changed file matches their `trigger`
 *   globs, or always when they have none;
 * - `restart`: the process restarts after the commands.
 *
 * Paths are relative to the project root, with `/` separators. A pattern without glob
 * characters names a file or a folder (everything under it); one with them is a picomatch glob.
 */
import path from 'node:path';
import picomatch from 'picomatch';
import type { LiveUpdateStep } from '../../core/devfile/types.js';
import { isWithin } from '../../core/watch/paths.js';

export interface LiveUpdateCopy {
  /** Changed file, relative to the project root. */
  from: string;
  /** Destination as the sync rule names it: relative to the process cwd (or container workdir), or absolute. */
  to: string;
}

export type LiveUpdatePlan =
  | { action: 'rebuild'; reason: string; file?: string }
  | { action: 'update'; copies: LiveUpdateCopy[]; runs: string[]; restart: boolean };

export function planLiveUpdate(steps: readonly LiveUpdateStep[] | undefined, changedFiles: readonly string[]): LiveUpdatePlan {
  if (!steps || steps.length === 0) return { action: 'rebuild', reason: 'the service has no liveUpdate rules' };
  const files = changedFiles.map(normalize);
  const syncs = steps.flatMap((s) => ('sync' in s ? [s.sync] : []));

  for (const step of steps) {
    if (!('fallBackOn' in step)) continue;
    const patterns = toArray(step.fallBackOn);
    for (const file of files) {
      const hit = patterns.find((p) => matches(file, p));
      if (hit !== undefined) return { action: 'rebuild', reason: `${file} matches fallBackOn "${hit}"`, file };
    }
  }

  const copies: LiveUpdateCopy[] = [];
  for (const file of files) {
    const rules = syncs.filter((s) => matches(file, s.from));
    if (rules.length === 0) {
      return {
        action: 'rebuild',
        reason: syncs.length ? `${file} is not covered by any sync rule` : `${file} changed and the liveUpdate rules have no sync step`,
        file,
      };
    }
    for (const rule of rules) copies.push({ from: file, to: destination(file, rule) });
  }

  const runs = steps.flatMap((s) => {
    if (!('run' in s)) return [];
    const triggers = s.trigger === undefined ? [] : toArray(s.trigger);
    return triggers.length === 0 || files.some((f) => triggers.some((t) => matches(f, t))) ? [s.run] : [];
  });
  const restart = steps.some((s) => 'restart' in s && s.restart === true);
  return { action: 'update', copies, runs, restart };
}

/**
 * Steps out of Tilt's order (fallBackOn, sync, run, restart) still work here, but a reader of
 * the Devfile would expect them to run as written; this names the ones that are out of place.
 */
export function liveUpdateOrderProblems(steps: readonly LiveUpdateStep[]): string[] {
  const rank = (s: LiveUpdateStep) => ('fallBackOn' in s ? 0 : 'sync' in s ? 1 : 'run' in s ? 2 : 3);
  const names = ['fallBackOn', 'sync', 'run', 'restart'];
  const problems: string[] = [];
  let highest = 0;
  steps.forEach((s, i) => {
    const r = rank(s);
    if (r < highest) problems.push(`liveUpdate[${i}] (${names[r]}) comes after a ${names[highest]} step; steps apply as fallBackOn, sync, run, restart`);
    highest = Math.max(highest, r);
  });
  return problems;
}

/** A sync rule whose target does not stay inside the folder it is relative to. */
export interface SyncTargetIssue {
  /** Index of the step in `liveUpdate`. */
  index: number;
  to: string;
  /** Absolute targets are container paths; a relative one that climbs out is a mistake anywhere. */
  kind: 'absolute' | 'escaping';
}

/**
 * The sync rules that would write outside `dir` (a process's folder: its `to` targets are
 * relative to it). Such a rule is never applied on the host: `to: '/app/public'` written for a
 * container would otherwise land in the host's /app/public, and a deletion remove it there.
 */
export function syncTargetIssues(steps: readonly LiveUpdateStep[], dir: string): SyncTargetIssue[] {
  const issues: SyncTargetIssue[] = [];
  steps.forEach((step, index) => {
    if (!('sync' in step)) return;
    const to = step.sync.to;
    if (path.isAbsolute(to)) issues.push({ index, to, kind: 'absolute' });
    else if (!isWithin(path.resolve(dir, to), path.resolve(dir))) issues.push({ index, to, kind: 'escaping' });
  });
  return issues;
}

/** Whether a root-relative file matches a path (file or folder) or a glob. */
export function matches(file: string, pattern: string): boolean {
  const p = normalize(pattern);
  if (picomatch.scan(p).isGlob) return picomatch(p, { dot: true })(file);
  return p === '' || p === '.' || file === p || file.startsWith(`${p}/`);
}

function destination(file: string, rule: { from: string; to: string }): string {
  const from = normalize(rule.from);
  if (picomatch.scan(from).isGlob) {
    // A glob has no folder to be relative to except its static prefix: `src/**/*.css` -> `src`.
    const base = picomatch.scan(from).base;
    return path.posix.join(rule.to, path.posix.relative(base, file));
  }
  if (file === from) return rule.to.endsWith('/') || rule.to === '.' ? path.posix.join(rule.to, path.posix.basename(file)) : rule.to;
  const rel = from === '' || from === '.' ? file : path.posix.relative(from, file);
  return path.posix.join(rule.to, rel);
}

function normalize(p: string): string {
  let s = p.replace(/\\/g, '/');
  while (s.startsWith('./')) s = s.slice(2);
  if (s.length > 1 && s.endsWith('/')) s = s.slice(0, -1);
  return s;
}

function toArray<T>(v: T | T[]): T[] {
  return Array.isArray(v) ? v : [v];
}

/**
 * Runs live updates one at a time per service: two overlapping syncs could restart a process
 * mid-copy. A failed run does not block the next one.
 */
export class PerServiceQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(service: string, fn: () => Promise<T>): Promise<T> {
    const next = (this.tails.get(service) ?? Promise.resolve()).catch(() => {}).then(fn);
    this.tails.set(service, next);
    return next;
  }

  /** Settles when the service's queued runs have (whatever their outcome). */
  idle(service: string): Promise<void> {
    return (this.tails.get(service) ?? Promise.resolve()).then(() => {}, () => {});
  }
}
