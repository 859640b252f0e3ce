/**
 * Fixes as a reviewable unified diff, and applying them.
 *
 * Every finding's fix is taken whole or not at all: an edit that overlaps an edit of a fix taken
 * before it (same file, intersecting ranges) leaves the later finding's fix out, with a note
 * naming the fix it collides with. Insertions at the same point do not collide; they keep finding
 * order. Edits are applied from the end of each file backwards, so earlier offsets stay valid.
 * The diff text comes from the `diff` package (jsdiff: well kept, no dependencies); the git
 * headers around it (`diff --git`, `new file mode`) are added here so `git apply` takes it.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { structuredPatch } from 'diff';
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

const where = (f: Finding) => `${f.ruleId} at ${f.file}:${f.line}:${f.column}`;
const overlaps = (a: TextEdit, b: TextEdit) => a.file === b.file && a.start < b.end && b.start < a.end || (a.file === b.file && a.start === b.start && a.end === b.end && a.start !== a.end);

export function planFixes(root: string, findings: Finding[]): FixPlan {
  const taken: Finding[] = [];
  const leftOut: FixPlan['leftOut'] = [];
  const accepted: { edit: TextEdit; by: Finding; order: number }[] = [];
  for (const f of findings) {
    if (!f.fix || !f.fix.edits.length) continue;
    const clash = f.fix.edits.map((e) => accepted.find((a) => overlaps(a.edit, e))).find(Boolean);
    if (clash) { leftOut.push({ finding: f, why: `its edit overlaps the fix of ${where(clash.by)}; run again after applying` }); continue; }
    for (const edit of f.fix.edits) accepted.push({ edit, by: f, order: accepted.length });
    taken.push(f);
  }
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
  return { taken, leftOut, changes, patch: changes.map(unifiedDiff).join('') };
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
