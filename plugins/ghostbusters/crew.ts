/**
 * Running experts over one repository: all at once (each is independent analysis), each one's
 * failure caught and reported so the others' findings still count.
 */
import { AgentError, AgentFramework } from './framework.js';
import type { RunRecord } from './record.js';
import type { Expert, Finding, RepoView, Severity } from './types.js';

export interface CrewRun {
  findings: Finding[];
  failures: { expert: string; message: string }[];
  /** Every expert's step (input, output, duration, error), as the framework records it. */
  record: RunRecord;
}

/** An expert that has not answered by then is reported as failed; the others' findings count. */
const EXPERT_TIMEOUT_MS = 120_000;

export const SEVERITY_RANK: Record<Severity, number> = { error: 3, warning: 2, note: 1 };

export async function runExperts(repo: RepoView, experts: Expert[], signal: AbortSignal, options: { timeoutMs?: number } = {}): Promise<CrewRun> {
  // Each expert is an agent of the framework: its timeout, its cancellation and its step in the
  // run record come from there; the repository stays in the closure (the record keeps plain data).
  const framework = new AgentFramework({ timeoutMs: options.timeoutMs ?? EXPERT_TIMEOUT_MS });
  for (const e of experts) {
    framework.register({ id: e.id, description: e.description, capabilities: ['detect', ...Object.keys(e.rules)], execute: (_task, ctx) => e.detect(repo, ctx.signal) });
  }
  const task = { root: repo.root, files: repo.files.length };
  const results = await Promise.allSettled(experts.map((e) => framework.execute<Finding[]>(e.id, task, { signal })));
  const findings: Finding[] = [];
  const failures: CrewRun['failures'] = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') findings.push(...r.value);
    // "expert X failed: " is said by the caller: the framework's own "agent X failed: " wrapper would repeat it.
    else failures.push({ expert: experts[i].id, message: r.reason instanceof AgentError && r.reason.cause instanceof Error ? r.reason.cause.message : r.reason instanceof Error ? r.reason.message : String(r.reason) });
  });
  const order = new Map(experts.map((e, i) => [e.id, i]));
  findings.sort((a, b) => (order.get(a.expert) ?? 99) - (order.get(b.expert) ?? 99) || a.file.localeCompare(b.file) || a.line - b.line || a.column - b.column || a.ruleId.localeCompare(b.ruleId));
  return { findings, failures, record: framework.record() };
}
