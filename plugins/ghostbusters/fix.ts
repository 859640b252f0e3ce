/**
 * Fixes as a reviewable unified diff, and applying them.
 *
 * Which fixes go together is chosen by `chooseFixes` (triage.ts, the pipeline's plan step): each
 * taken whole or not at all, most severe first, one that overlaps a fix already taken left out
 * with a note naming it. This file only turns the chosen fixes into file changes: insertions at
 * one point keep plan order, and edits are applied from the end of each file backwards, so
 * earlier offsets stay valid.
 * The diff text comes from the `diff` package (jsdiff: well kept, no dependencies); the git
 * headers around it (`diff --git`, `new file mode`) are added here so `git apply` takes it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { structuredPatch } from 'diff';
import { chooseFixes } from './triage.js';
import type { Finding, TextEdit } from './types.js';

export interface FileChange {
  file: string;
  before: string;
  after: string;
  created: boolean;
}

export interface FixPlan {
  /** Findings whose fixes are in the plan, in finding order. */
  taken: Finding[];
  /** Findings whose fixes were left out, and why. */
  leftOut: { finding: Finding; why: string }[];
  changes: FileChange[];
  /** Unified diff of every change (empty when there is none). */
  patch: string;
}

/** Chooses the fixes that go together (`chooseFixes`) and makes their file changes. */
export function planFixes(root: string, findings: Finding[]): FixPlan {
  const { plan, deferred } = chooseFixes(findings);
  return { ...planChanges(root, plan), leftOut: deferred.map((d) => ({ finding: d.finding, why: d.why })) };
}

/** The file changes of fixes already chosen to go together (the pipeline's plan), in their order. */
export function planChanges(root: string, taken: Finding[]): FixPlan {
  const accepted = taken.flatMap((f) => f.fix?.edits ?? []).map((edit, order) => ({ edit, order }));
  const byFile = new Map<string, typeof accepted>();
  for (const a of accepted) byFile.set(a.edit.file, [...(byFile.get(a.edit.file) ?? []), a]);
  const changes: FileChange[] = [];
  for (const [file, edits] of [...byFile].sort(([a], [b]) => a.localeCompare(b))) {
    let before: string | undefined;
    try { before = readFileSync(path.join(root, file), 'utf8'); } catch { /* a new file */ }
    const created = before === undefined;
    let after = before ?? '';
    // From the end backwards; at one point, the later edit first so the earlier one ends up first.
    for (const { edit } of [...edits].sort((a, b) => b.edit.start - a.edit.start || b.order - a.order)) {
      after = after.slice(0, edit.start) + edit.text + after.slice(edit.end);
    }
    changes.push({ file, before: before ?? '', after, created });
  }
  return { taken, leftOut: [], changes, patch: changes.map(unifiedDiff).join('') };
}

function unifiedDiff(c: FileChange): string {
  const p = structuredPatch(`a/${c.file}`, `b/${c.file}`, c.before, c.after, undefined, undefined, { context: 3 });
  const head = [`diff --git a/${c.file} b/${c.file}`, ...(c.created ? ['new file mode 100644', '--- /dev/null'] : [`--- a/${c.file}`]), `+++ b/${c.file}`];
  const body = p.hunks.flatMap((h) => [`@@ -${h.oldLines === 0 ? h.oldStart - (c.created ? 1 : 0) : h.oldStart}${h.oldLines === 1 ? '' : `,${h.oldLines}`} +${h.newStart}${h.newLines === 1 ? '' : `,${h.newLines}`} @@`, ...h.lines]);
  return `${[...head, ...body].join('\n')}\n`;
}

/** Writes the plan's patch to `.devloop/agents/fixes-<time>.patch` under root; returns its path. */
export function writePatch(root: string, plan: FixPlan, now = new Date()): string {
  const dir = path.join(root, '.devloop', 'agents');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `fixes-${now.toISOString().replace(/[:.]/g, '-')}.patch`);
  writeFileSync(file, plan.patch);
  return file;
}

/** Writes every changed file. */
export function applyPlan(root: string, plan: FixPlan): void {
  for (const c of plan.changes) {
    const abs = path.join(root, c.file);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, c.after);
  }
}
