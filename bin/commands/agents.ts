/**
 * `devloop agents run [PATH]`: the Ghostbusters expert crew over a repository.
 *
 *   --agent a,b           only these experts (an unknown id: exit 2, naming the known ones)
 *   --output text|json|sarif
 *   --fix                 write every safe fix as .devloop/agents/fixes-<time>.patch (nothing else changes)
 *   --apply               apply them, then run the experts again: each fixed finding must be gone
 *   --fail-on error|warning|note   (default error)
 *
 * Exit codes: 0 nothing at or above --fail-on remains; 1 something does, an expert failed, or a
 * fix did not remove its finding; 2 bad input (unknown agent, missing path, bad flag value).
 * Text output goes to stdout, per expert with counts; problems of the run itself go to stderr.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DevloopError, UsageError } from '../../core/errors.js';
import { runExperts, SEVERITY_RANK, type CrewRun } from '../../plugins/ghostbusters/crew.js';
import { experts as crew } from '../../plugins/ghostbusters/experts/index.js';
import { applyPlan, planFixes, writePatch, type FixPlan } from '../../plugins/ghostbusters/fix.js';
import { openRepo } from '../../plugins/ghostbusters/repo.js';
import { toSarif } from '../../plugins/ghostbusters/sarif.js';
import { sameProblem } from '../../plugins/ghostbusters/triage.js';
import type { Expert, Finding, RepoView, Severity } from '../../plugins/ghostbusters/types.js';

export interface AgentsOptions {
  cwd: string;
  path?: string;
  /** Comma-separated expert ids. */
  agent?: string;
  output?: string;
  fix?: boolean;
  apply?: boolean;
  failOn?: string;
  /** Write the framework's run record (every expert's step: input, output, duration, error) as JSON here. */
  record?: string;
  /** The experts to choose from (tests pass their own); default the crew. */
  experts?: Expert[];
  write?: (text: string) => void;
  writeError?: (text: string) => void;
}

const OUTPUTS = ['text', 'json', 'sarif'];
const SEVERITIES: Severity[] = ['error', 'warning', 'note'];

export async function agents(o: AgentsOptions): Promise<number> {
  const out = o.write ?? ((t: string) => process.stdout.write(t));
  const err = o.writeError ?? ((t: string) => process.stderr.write(t));
  try {
    return await run(o, out, err);
  } catch (e) {
    if (!(e instanceof DevloopError)) throw e;
    err(`error: ${e.message}\n${e.hint ? `try: ${e.hint}\n` : ''}`);
    return e.exitCode;
  }
}

async function run(o: AgentsOptions, out: (t: string) => void, err: (t: string) => void): Promise<number> {
  const output = o.output ?? 'text';
  if (!OUTPUTS.includes(output)) throw new UsageError(`--output: expected ${OUTPUTS.join(', ')}, got "${output}"`, { code: 'AGENTS_USAGE', hint: 'devloop agents run --output sarif' });
  const failOn = (o.failOn ?? 'error') as Severity;
  if (!SEVERITIES.includes(failOn)) throw new UsageError(`--fail-on: expected ${SEVERITIES.join(', ')}, got "${o.failOn}"`, { code: 'AGENTS_USAGE', hint: 'devloop agents run --fail-on warning' });
  const chosen = choose(o.experts ?? crew, o.agent);
  const root = path.resolve(o.cwd, o.path ?? '.');
  const repo = openRepo(root);
  const signal = new AbortController().signal;
  const first = await runExperts(repo, chosen, signal);
  for (const f of first.failures) err(`expert ${f.expert} failed: ${f.message}\n`);
  if (o.record) {
    const file = path.resolve(o.cwd, o.record);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(first.record, null, 2)}\n`);
    err(`run record written to ${file}\n`);
  }

  let plan: FixPlan | undefined;
  let patchFile: string | undefined;
  let recheck: { gone: Finding[]; still: Finding[]; after: CrewRun } | undefined;
  if (o.fix || o.apply) {
    plan = planFixes(root, first.findings);
    if (plan.changes.length) patchFile = writePatch(root, plan);
    if (o.apply && plan.changes.length) {
      applyPlan(root, plan);
      const after = await runExperts(openRepo(root), chosen, signal);
      const gone = plan.taken.filter((f) => !after.findings.some((a) => sameProblem(a, f)));
      const still = plan.taken.filter((f) => after.findings.some((a) => sameProblem(a, f)));
      recheck = { gone, still, after };
      for (const f of still) err(`error: the fix for ${f.ruleId} at ${f.file}:${f.line}:${f.column} was applied, but the re-check still finds it: ${f.message}\n`);
      for (const f of after.failures) err(`expert ${f.expert} failed on the re-check: ${f.message}\n`);
    }
  }
  const remaining = recheck?.after.findings ?? first.findings;
  const failures = recheck?.after.failures ?? first.failures;

  if (output === 'sarif') out(`${JSON.stringify(toSarif(root, chosen, remaining, failures), null, 2)}\n`);
  else if (output === 'json') {
    out(`${JSON.stringify({
      root, experts: chosen.map((e) => ({ id: e.id, findings: first.findings.filter((f) => f.expert === e.id).length, failed: first.failures.find((f) => f.expert === e.id)?.message })),
      findings: first.findings, failures: first.failures, skipped: repo.skipped,
      fix: plan && { patch: patchFile ?? null, taken: plan.taken.length, leftOut: plan.leftOut.map((l) => ({ ruleId: l.finding.ruleId, file: l.finding.file, line: l.finding.line, column: l.finding.column, why: l.why })) },
      recheck: recheck && { gone: recheck.gone, stillThere: recheck.still, remaining: recheck.after.findings },
    }, null, 2)}\n`);
  } else out(text(chosen, first, repo, plan, patchFile, recheck));

  const blocking = remaining.filter((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[failOn]).length;
  return blocking || failures.length || recheck?.still.length ? 1 : 0;
}

function choose(all: Expert[], list: string | undefined): Expert[] {
  if (!list) return all;
  const ids = list.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = ids.filter((id) => !all.some((e) => e.id === id));
  if (unknown.length) {
    throw new UsageError(`unknown agent${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')}; known agents: ${all.map((e) => e.id).join(', ')}`, { code: 'AGENTS_UNKNOWN', hint: `devloop agents run --agent ${all[0]?.id ?? 'security'}` });
  }
  if (!ids.length) throw new UsageError('--agent names no agent', { code: 'AGENTS_USAGE', hint: `devloop agents run --agent ${all.map((e) => e.id).join(',')}` });
  return all.filter((e) => ids.includes(e.id));
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function counts(list: Finding[]): string {
  const parts = SEVERITIES.map((s) => [s, list.filter((f) => f.severity === s).length] as const).filter(([, n]) => n).map(([s, n]) => `${n} ${s}`);
  return `${plural(list.length, 'finding')}${parts.length ? ` (${parts.join(', ')})` : ''}`;
}

const line = (f: Finding) => `${f.file}:${f.line}:${f.column} ${f.severity} ${f.ruleId} ${f.message} [${f.confidence}]`;

function text(chosen: Expert[], first: CrewRun, repo: RepoView, plan: FixPlan | undefined, patchFile: string | undefined, recheck: { gone: Finding[]; still: Finding[]; after: CrewRun } | undefined): string {
  const lines: string[] = [];
  for (const e of chosen) {
    const failed = first.failures.find((f) => f.expert === e.id);
    const mine = first.findings.filter((f) => f.expert === e.id);
    lines.push(`${e.id}: ${failed ? `failed: ${failed.message}` : counts(mine)}`);
    for (const f of mine) {
      lines.push(`  ${line(f)}`);
      if (f.fix) lines.push(`      fix: ${f.fix.description}`);
    }
  }
  lines.push('', `${counts(first.findings)} from ${plural(chosen.length, 'expert')} in ${plural(repo.files.length, 'file')}${repo.skipped.length ? ` (${repo.skipped.length} skipped: ${repo.skipped.slice(0, 3).map((s) => `${s.file} ${s.why}`).join('; ')}${repo.skipped.length > 3 ? '; ...' : ''})` : ''}.`);
  if (plan) {
    lines.push(patchFile ? `fixes for ${plural(plan.taken.length, 'finding')} written to ${patchFile}` : 'no fix to write: no finding has a safe fix');
    for (const l of plan.leftOut) lines.push(`  left out: ${l.finding.ruleId} at ${l.finding.file}:${l.finding.line}:${l.finding.column}: ${l.why}`);
  }
  if (recheck) {
    lines.push(`applied; re-check: ${plural(recheck.gone.length, 'fixed finding')} gone, ${recheck.still.length} still there, ${counts(recheck.after.findings)} remaining`);
    for (const f of recheck.gone) lines.push(`  gone: ${f.file}:${f.line}:${f.column} ${f.ruleId}`);
    for (const f of recheck.still) lines.push(`  STILL THERE: ${line(f)}`);
  }
  return `${lines.join('\n')}\n`;
}
