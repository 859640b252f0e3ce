/**
 * The pure middle of the crew pipeline: which findings are well-formed (validate) and which fixes
 * can be applied together (plan). No I/O, so the rules are unit-tested directly; the pipeline in
 * graph.ts only feeds them.
 *
 * A fix is trusted as little as a finding: its edits must stay inside the repository (relative,
 * no `..`) and must not overlap each other, or a patch made from them would not apply.
 */
import { findingId } from './finding-id.js';
import type { Finding, Severity, TextEdit } from './types.js';

export interface Dropped {
  id: string;
  /** `finding`: left out of the run; `fix`: the finding stays, without its fix. */
  what: 'finding' | 'fix';
  why: string;
}

const SEVERITIES: Severity[] = ['error', 'warning', 'note'];
const CONFIDENCES = ['high', 'medium', 'low'];

export function validateFindings(findings: Finding[]): { valid: Finding[]; dropped: Dropped[] } {
  const valid: Finding[] = [];
  const dropped: Dropped[] = [];
  const seen = new Set<string>();
  for (const f of findings) {
    const id = safeId(f);
    const problem = findingProblem(f);
    if (problem) { dropped.push({ id, what: 'finding', why: problem }); continue; }
    // Same rule, place and message: one rule may say two different things at one place
    // (package.json lacking both a start and a test script).
    const key = `${id}\n${f.message}`;
    if (seen.has(key)) { dropped.push({ id, what: 'finding', why: 'duplicate: the same rule at the same place was already reported' }); continue; }
    seen.add(key);
    const fixProblem = f.fix ? fixProblemOf(f.fix.edits) : undefined;
    if (fixProblem) {
      dropped.push({ id, what: 'fix', why: fixProblem });
      const { fix: _dropped, ...rest } = f;
      valid.push(rest);
    } else {
      valid.push(f);
    }
  }
  return { valid, dropped };
}

/** A fix left for a later round (or a later run), with the finding it belongs to. */
export interface Deferred extends Dropped {
  finding: Finding;
}

/**
 * The fixes to apply this round: most severe and most confident first, each taken whole unless
 * one of its edits overlaps an edit already taken. The only fix selection there is: `planFixes`
 * (fix.ts) turns what this picks into file changes. Deferred ones come back on the next round,
 * re-detected against the fixed files.
 */
export function chooseFixes(findings: Finding[]): { plan: Finding[]; deferred: Deferred[] } {
  const candidates = findings.filter((f) => f.fix && f.fix.edits.length > 0).sort(byPriority);
  const plan: Finding[] = [];
  const deferred: Deferred[] = [];
  const taken: { edit: TextEdit; by: Finding }[] = [];
  for (const f of candidates) {
    const clash = taken.find((t) => f.fix!.edits.some((e) => overlaps(e, t.edit)));
    if (clash) {
      const by = clash.by;
      deferred.push({ id: findingId(f), what: 'fix', why: `its edit overlaps the fix of ${by.ruleId} at ${by.file}:${by.line}:${by.column}; left for the next round (run again after applying)`, finding: f });
      continue;
    }
    plan.push(f);
    for (const edit of f.fix!.edits) taken.push({ edit, by: f });
  }
  return { plan, deferred };
}

/** How findings are matched across a re-check: line numbers move when a fix edits the file. */
export function sameProblem(a: Finding, b: Finding): boolean {
  return a.ruleId === b.ruleId && a.file === b.file && a.message === b.message;
}

function byPriority(a: Finding, b: Finding): number {
  return SEVERITIES.indexOf(a.severity) - SEVERITIES.indexOf(b.severity)
    || CONFIDENCES.indexOf(a.confidence) - CONFIDENCES.indexOf(b.confidence)
    || a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column;
}

function findingProblem(f: Finding): string | undefined {
  if (!f || typeof f !== 'object') return 'not an object';
  for (const key of ['ruleId', 'expert', 'message', 'file'] as const) {
    if (typeof f[key] !== 'string' || !f[key]) return `"${key}" is missing`;
  }
  const path = pathProblem(f.file);
  if (path) return `file ${path}`;
  if (!isCount(f.line) || !isCount(f.column)) return `line/column must be whole numbers from 1, got ${f.line}:${f.column}`;
  if (!SEVERITIES.includes(f.severity)) return `severity "${f.severity}" is not one of ${SEVERITIES.join(', ')}`;
  if (!CONFIDENCES.includes(f.confidence)) return `confidence "${f.confidence}" is not one of ${CONFIDENCES.join(', ')}`;
  return undefined;
}

function fixProblemOf(edits: TextEdit[]): string | undefined {
  if (!Array.isArray(edits) || edits.length === 0) return 'the fix has no edits';
  for (const e of edits) {
    const path = pathProblem(e.file);
    if (path) return `an edit's file ${path}`;
    if (!Number.isInteger(e.start) || !Number.isInteger(e.end) || e.start < 0 || e.end < e.start) return `edit ${e.file} [${e.start}, ${e.end}) is not a valid range`;
    if (e.create && (e.start !== 0 || e.end !== 0)) return `edit creating ${e.file} must have start = end = 0`;
    if (typeof e.text !== 'string') return `edit ${e.file} has no text`;
  }
  for (let i = 0; i < edits.length; i++) {
    for (let j = i + 1; j < edits.length; j++) {
      if (overlaps(edits[i], edits[j])) return `two of its edits overlap in ${edits[i].file}`;
    }
  }
  return undefined;
}

/**
 * Same file and intersecting ranges, or the same replaced range twice. Inserts at one point do
 * not collide, new files included: fix.ts applies them in plan order, so two secrets each adding
 * a line to a new `.env.example` give a file with both lines.
 */
export function overlaps(a: TextEdit, b: TextEdit): boolean {
  if (a.file !== b.file) return false;
  return (a.start < b.end && b.start < a.end) || (a.start === b.start && a.end === b.end && a.start !== a.end);
}

function pathProblem(file: string): string | undefined {
  if (typeof file !== 'string' || !file) return 'is missing';
  if (file.startsWith('/') || /^[a-zA-Z]:/.test(file) || file.includes('\\')) return `"${file}" must be relative with forward slashes`;
  if (file.split('/').includes('..')) return `"${file}" leaves the repository`;
  return undefined;
}

function isCount(n: unknown): boolean {
  return Number.isInteger(n) && (n as number) >= 1;
}

function safeId(f: Finding): string {
  try { return findingId(f); } catch { return '(unreadable finding)'; }
}
