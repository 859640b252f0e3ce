/**
 * `devloop agents run [PATH]`: the Ghostbusters expert crew over a repository.
 *
 *   --agent a,b           only these experts (an unknown id: exit 2, naming the known ones)
 *   --output text|json|sarif
 *   --fix                 write every safe fix as .devloop/agents/fixes-<time>.patch (nothing else changes)
 *   --apply               apply them, then run the experts again: each fixed finding must be gone
 *   --fail-on error|warning|note   (default error)
 *   --explain             one short explanation per finding from the Devfile's ai.ghostbusters.model
 *   --token-budget N      model tokens --explain may spend (default 20000)
 *
 * Detect, validate, plan, fix and re-check run as `crewPipeline` (graph.ts), one fix round; this
 * file only plugs the experts and the patch writer into it and prints its report. The model only
 * annotates: it never adds or removes a finding, and a model that fails is one warning.
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
import { findingId } from '../../plugins/ghostbusters/finding-id.js';
import { applyPlan, planChanges, writePatch } from '../../plugins/ghostbusters/fix.js';
import { AgentFramework } from '../../plugins/ghostbusters/framework.js';
import { crewPipeline, PipelineError, type CrewState, type TraceEntry } from '../../plugins/ghostbusters/graph.js';
import { createModelClient, explainFindings } from '../../plugins/ghostbusters/model.js';
import { devfileModel } from '../../plugins/ghostbusters/model-config.js';
import { RECORD_VERSION, type StepRecord } from '../../plugins/ghostbusters/record.js';
import { openRepo } from '../../plugins/ghostbusters/repo.js';
import { toSarif } from '../../plugins/ghostbusters/sarif.js';
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
  /** Write the run record (every framework step: input, output, duration, error; and the pipeline trace) as JSON here. */
  record?: string;
  /** Explain each finding with the Devfile's `ai.ghostbusters.model`. */
  explain?: boolean;
  /** Model tokens --explain may spend (default 20000). */
  tokenBudget?: number | string;
  /** The experts to choose from (tests pass their own); default the crew. */
  experts?: Expert[];
  write?: (text: string) => void;
  writeError?: (text: string) => void;
}

const OUTPUTS = ['text', 'json', 'sarif'];
const SEVERITIES: Severity[] = ['error', 'warning', 'note'];
const DEFAULT_TOKEN_BUDGET = 20_000;
const MODEL_FIELD = 'ai.ghostbusters.model: { baseUrl, model, apiKeyEnv? }';

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

/** What the pipeline's parts leave beside its state: the framework runs, for failures and the record. */
interface Runs {
  first?: CrewRun;
  recheck?: CrewRun;
  /** The experts the re-check ran. */
  rechecked?: Set<string>;
  explain?: StepRecord[];
  patchFile?: string;
}

async function run(o: AgentsOptions, out: (t: string) => void, err: (t: string) => void): Promise<number> {
  const output = o.output ?? 'text';
  if (!OUTPUTS.includes(output)) throw new UsageError(`--output: expected ${OUTPUTS.join(', ')}, got "${output}"`, { code: 'AGENTS_USAGE', hint: 'devloop agents run --output sarif' });
  const failOn = (o.failOn ?? 'error') as Severity;
  if (!SEVERITIES.includes(failOn)) throw new UsageError(`--fail-on: expected ${SEVERITIES.join(', ')}, got "${o.failOn}"`, { code: 'AGENTS_USAGE', hint: 'devloop agents run --fail-on warning' });
  const tokenBudget = o.tokenBudget === undefined ? DEFAULT_TOKEN_BUDGET : Number(o.tokenBudget);
  if (!Number.isInteger(tokenBudget) || tokenBudget < 1) throw new UsageError(`--token-budget: expected a whole number of tokens from 1, got "${o.tokenBudget}"`, { code: 'AGENTS_USAGE', hint: 'devloop agents run --explain --token-budget 5000' });
  const chosen = choose(o.experts ?? crew, o.agent);
  const root = path.resolve(o.cwd, o.path ?? '.');
  const repo = openRepo(root);
  // Checked before any expert runs: a missing model is the user's to fix, not a warning.
  const model = o.explain ? await devfileModel(root) : undefined;
  if (o.explain && !model) {
    throw new UsageError(`--explain needs a model: ${path.join(root, 'Devfile.ts')} sets no ${MODEL_FIELD}`, { code: 'AGENTS_USAGE', hint: "add ai: { ghostbusters: { model: { baseUrl: 'http://127.0.0.1:8000/v1', model: 'NAME' } } } to Devfile.ts, or run without --explain" });
  }

  const runs: Runs = {};
  const signal = new AbortController().signal;
  const pipeline = crewPipeline({
    detect: async (s) => { runs.first = await runExperts(repo, chosen, s); return runs.first.findings; },
    fix: async (plan) => {
      const changes = planChanges(root, plan);
      runs.patchFile = writePatch(root, changes);
      if (o.apply) applyPlan(root, changes);
      return { applied: plan, failed: [], patch: changes.patch };
    },
    // Only the experts whose findings were fixed run again; the others' findings stand.
    recheck: async (s, fixed, before) => {
      const again = chosen.filter((e) => fixed.some((f) => f.expert === e.id));
      runs.recheck = await runExperts(openRepo(root), again, s);
      const ids = runs.rechecked = new Set(again.map((e) => e.id));
      const order = new Map(chosen.map((e, i) => [e.id, i]));
      return [...before.filter((f) => !ids.has(f.expert)), ...runs.recheck.findings].sort((a, b) => order.get(a.expert)! - order.get(b.expert)!);
    },
  }, { maxFixRounds: 1, detectOnly: !o.fix && !o.apply, recheck: Boolean(o.apply) });

  let state: CrewState;
  let trace: TraceEntry[];
  try {
    ({ state, trace } = await pipeline.run({ signal }));
  } catch (e) {
    // The steps that did run are what a failed run's record is for.
    if (o.record && e instanceof PipelineError) writeRecord(path.resolve(o.cwd, o.record), runs, e.trace, err);
    throw e;
  }
  const first = runs.first!;
  const report = state.report!;
  for (const f of first.failures) err(`expert ${f.expert} failed: ${f.message}\n`);
  for (const d of state.dropped) err(`warning: ${d.what === 'finding' ? 'finding' : 'the fix of'} ${d.id} left out: ${d.why}\n`);

  const explanations = model ? await explain(model, tokenBudget, state.found, runs, err) : {};
  if (o.record) writeRecord(path.resolve(o.cwd, o.record), runs, trace, err);

  const rechecked = state.rechecked ? { gone: report.fixed, still: report.notFixed, remaining: report.findings } : undefined;
  if (rechecked) {
    for (const f of rechecked.still) err(`error: the fix for ${f.ruleId} at ${f.file}:${f.line}:${f.column} was applied, but the re-check still finds it: ${f.message}\n`);
    for (const f of runs.recheck?.failures ?? []) err(`expert ${f.expert} failed on the re-check: ${f.message}\n`);
  }
  const failures = [...first.failures.filter((f) => !runs.rechecked?.has(f.expert)), ...(runs.recheck?.failures ?? [])];
  const remaining = report.findings;
  const fixing = o.fix || o.apply ? { taken: state.plan, leftOut: state.deferred, patchFile: runs.patchFile } : undefined;
  const withExplanation = (f: Finding) => (explanations[findingId(f)] ? { ...f, explanation: explanations[findingId(f)] } : f);

  if (output === 'sarif') out(`${JSON.stringify(toSarif(root, chosen, remaining, failures, explanations), null, 2)}\n`);
  else if (output === 'json') {
    out(`${JSON.stringify({
      root, experts: chosen.map((e) => ({ id: e.id, findings: state.found.filter((f) => f.expert === e.id).length, failed: first.failures.find((f) => f.expert === e.id)?.message })),
      findings: state.found.map(withExplanation), failures: first.failures, skipped: repo.skipped,
      fix: fixing && { patch: fixing.patchFile ?? null, taken: fixing.taken.length, leftOut: fixing.leftOut.map((l) => ({ ruleId: l.finding.ruleId, file: l.finding.file, line: l.finding.line, column: l.finding.column, why: l.why })) },
      recheck: rechecked && { gone: rechecked.gone, stillThere: rechecked.still, remaining: rechecked.remaining },
    }, null, 2)}\n`);
  } else out(text(chosen, state.found, first, repo, fixing, rechecked, explanations));

  const blocking = remaining.filter((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[failOn]).length;
  return blocking || failures.length || rechecked?.still.length ? 1 : 0;
}

/**
 * One explanation per finding, as a framework agent (so its step, tokens included, is in the
 * record) with the run's token budget. Any failure of the model is one warning: the findings
 * stand without explanations and the exit code does not change.
 */
async function explain(config: NonNullable<Awaited<ReturnType<typeof devfileModel>>>, tokenBudget: number, findings: Finding[], runs: Runs, err: (t: string) => void): Promise<Record<string, string>> {
  if (!findings.length) return {};
  try {
    const framework = new AgentFramework({ model: createModelClient(config), tokenBudget, timeoutMs: (config.timeoutMs ?? 30_000) + 5_000 });
    framework.register({ id: 'explain', description: 'explains findings with the model', capabilities: ['explain'], execute: (task: Finding[], ctx) => explainFindings(ctx.model!, task, { signal: ctx.signal }) });
    try {
      return await framework.execute<Record<string, string>>('explain', findings);
    } finally {
      runs.explain = framework.record().steps;
    }
  } catch (e) {
    const inner = e instanceof DevloopError && e.cause instanceof Error ? e.cause.message : e instanceof Error ? e.message : String(e);
    err(`warning: --explain: ${inner}; the findings are shown without explanations\n`);
    return {};
  }
}

/** The framework's steps of every run (detect, explain, re-check; numbered in that order) and the pipeline trace, with which steps each pipeline step ran. */
function writeRecord(file: string, runs: Runs, trace: TraceEntry[], err: (t: string) => void): void {
  const groups = { detect: runs.first?.record.steps ?? [], explain: runs.explain ?? [], recheck: runs.recheck?.record.steps ?? [] };
  let seq = 0;
  const numbered = Object.fromEntries(Object.entries(groups).map(([k, steps]) => [k, steps.map((s) => ({ ...s, seq: ++seq }))])) as Record<keyof typeof groups, StepRecord[]>;
  const pipeline = trace.map((t) => ({ ...t, ...(t.step === 'detect' || t.step === 'recheck' ? { agentSteps: numbered[t.step].map((s) => s.seq) } : {}) }));
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ version: RECORD_VERSION, steps: [...numbered.detect, ...numbered.explain, ...numbered.recheck], pipeline }, null, 2)}\n`);
  err(`run record written to ${file}\n`);
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

function text(
  chosen: Expert[], found: Finding[], first: CrewRun, repo: RepoView,
  fixing: { taken: Finding[]; leftOut: { finding: Finding; why: string }[]; patchFile?: string } | undefined,
  recheck: { gone: Finding[]; still: Finding[]; remaining: Finding[] } | undefined,
  explanations: Record<string, string>,
): string {
  const lines: string[] = [];
  for (const e of chosen) {
    const failed = first.failures.find((f) => f.expert === e.id);
    const mine = found.filter((f) => f.expert === e.id);
    lines.push(`${e.id}: ${failed ? `failed: ${failed.message}` : counts(mine)}`);
    for (const f of mine) {
      lines.push(`  ${line(f)}`);
      if (f.fix) lines.push(`      fix: ${f.fix.description}`);
      const why = explanations[findingId(f)];
      if (why) lines.push(`      explain: ${why}`);
    }
  }
  lines.push('', `${counts(found)} from ${plural(chosen.length, 'expert')} in ${plural(repo.files.length, 'file')}${repo.skipped.length ? ` (${repo.skipped.length} skipped: ${repo.skipped.slice(0, 3).map((s) => `${s.file} ${s.why}`).join('; ')}${repo.skipped.length > 3 ? '; ...' : ''})` : ''}.`);
  if (fixing) {
    lines.push(fixing.patchFile ? `fixes for ${plural(fixing.taken.length, 'finding')} written to ${fixing.patchFile}` : 'no fix to write: no finding has a safe fix');
    for (const l of fixing.leftOut) lines.push(`  left out: ${l.finding.ruleId} at ${l.finding.file}:${l.finding.line}:${l.finding.column}: ${l.why}`);
  }
  if (recheck) {
    lines.push(`applied; re-check: ${plural(recheck.gone.length, 'fixed finding')} gone, ${recheck.still.length} still there, ${counts(recheck.remaining)} remaining`);
    for (const f of recheck.gone) lines.push(`  gone: ${f.file}:${f.line}:${f.column} ${f.ruleId}`);
    for (const f of recheck.still) lines.push(`  STILL THERE: ${line(f)}`);
  }
  return `${lines.join('\n')}\n`;
}
