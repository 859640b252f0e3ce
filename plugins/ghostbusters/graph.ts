/**
 * The crew pipeline as a graph of steps with state passed between them:
 *
 *   detect -> validate -> plan -> fix -> recheck -> report
 *                           \______________________/^      (no fix to apply: straight to report)
 *             ^-------------------- recheck ---------'     (fixable findings left: one more round)
 *
 * Why our own graph and not `@langchain/langgraph` (checked 2026-12, langgraph 1.7.3 with its
 * peer @langchain/core 1.4.0 on Node 20.20): it installs and runs on Node 20, but it brings 22
 * packages and 67 MB (js-tiktoken 22 MB, langsmith 8 MB, its own zod) and takes ~0.6 s to
 * import on the dev machine, against a benchmark target of under 2x the bare tools for
 * `devloop agents run`. What it would buy (checkpointers, interrupts, streaming, `Send`
 * fan-out, LangSmith tracing) this pipeline does not use: it has six nodes, one conditional skip
 * and one loop bounded by a counter. The runner below is that much and no more, with the same
 * shape as LangGraph's (nodes are `(state) => Partial<state>`, conditional edges are functions
 * of the state returning the next node or END, a step limit like `recursionLimit`), so moving to
 * LangGraph later is a rewrite of this file, not of the experts.
 *
 * State merges shallowly: a node returns whole values for the keys it changes (no per-key
 * reducers), which keeps every step's effect readable in the trace.
 */
import { CancelledError, DevloopError } from '../../core/errors.js';
import { chooseFixes, sameProblem, validateFindings, type Deferred, type Dropped } from './triage.js';
import type { Finding } from './types.js';

export const END = '__end__';

export interface StepContext {
  signal: AbortSignal;
  /** How many times this step has run before, in this run. */
  visits: number;
}

export interface PipelineStep<S> {
  name: string;
  run(state: S, ctx: StepContext): Partial<S> | Promise<Partial<S>>;
  /** The next step: a name, END, or a function of the state after this step. Default: the next in the list. */
  next?: string | ((state: S) => string);
}

export interface TraceEntry {
  step: string;
  /** ms since the epoch. */
  startedAt: number;
  durationMs: number;
  /** The keys the step changed. */
  changed: string[];
}

export interface PipelineResult<S> {
  state: S;
  trace: TraceEntry[];
}

export interface RunPipelineOptions {
  signal?: AbortSignal;
  /** Steps run in all before the run is stopped as a loop (default 4 per declared step). */
  maxSteps?: number;
}

/** A step failed or routed nowhere. Carries the state so far and the trace, for the report. */
export class PipelineError<S = unknown> extends DevloopError {
  constructor(message: string, readonly step: string, readonly state: S, readonly trace: TraceEntry[], code: string, cause?: unknown, hint?: string) {
    super(message, { code, cause, hint: hint ?? `The pipeline stopped in step "${step}"; the steps before it completed.` });
    this.name = 'PipelineError';
  }
}

export async function runPipeline<S extends object>(steps: PipelineStep<S>[], initialState: S, options: RunPipelineOptions = {}): Promise<PipelineResult<S>> {
  const byName = new Map<string, { step: PipelineStep<S>; index: number }>();
  steps.forEach((step, index) => {
    if (byName.has(step.name) || step.name === END) throw new DevloopError(`pipeline step name "${step.name}" is used twice or reserved`, { code: 'PIPELINE_INVALID', hint: 'Give each step its own name.' });
    byName.set(step.name, { step, index });
  });
  for (const step of steps) {
    if (typeof step.next === 'string' && step.next !== END && !byName.has(step.next)) {
      throw new DevloopError(`pipeline step "${step.name}" leads to "${step.next}", which is not a step`, { code: 'PIPELINE_INVALID', hint: `Steps: ${[...byName.keys()].join(', ')}.` });
    }
  }
  const maxSteps = options.maxSteps ?? steps.length * 4;
  const trace: TraceEntry[] = [];
  const visits = new Map<string, number>();
  let state = initialState;
  let current: string = steps.length ? steps[0].name : END;

  while (current !== END) {
    const { step, index } = byName.get(current)!;
    if (options.signal?.aborted) throw new CancelledError(`pipeline cancelled before step "${step.name}"`);
    if (trace.length >= maxSteps) {
      throw new PipelineError(`pipeline ran ${maxSteps} steps without reaching the end; last step "${step.name}"`, step.name, state, trace, 'PIPELINE_LOOP', undefined, 'A conditional edge keeps looping: bound it with a counter in the state.');
    }
    const seen = visits.get(step.name) ?? 0;
    visits.set(step.name, seen + 1);
    const startedAt = Date.now();
    let patch: Partial<S>;
    try {
      patch = (await step.run(state, { signal: options.signal ?? new AbortController().signal, visits: seen })) ?? {};
    } catch (err) {
      if (options.signal?.aborted) throw new CancelledError(`pipeline cancelled in step "${step.name}"`);
      throw new PipelineError(`pipeline step "${step.name}" failed: ${err instanceof Error ? err.message : String(err)}`, step.name, state, trace, 'PIPELINE_STEP_FAILED', err);
    }
    // A step that finished after cancellation does not get its result into the state.
    if (options.signal?.aborted) throw new CancelledError(`pipeline cancelled in step "${step.name}"`);
    state = { ...state, ...patch };
    trace.push({ step: step.name, startedAt, durationMs: Date.now() - startedAt, changed: Object.keys(patch) });

    const next = typeof step.next === 'function' ? step.next(state) : step.next ?? steps[index + 1]?.name ?? END;
    if (next !== END && !byName.has(next)) {
      throw new PipelineError(`pipeline step "${step.name}" routed to "${next}", which is not a step`, step.name, state, trace, 'PIPELINE_INVALID', undefined, `Steps: ${[...byName.keys()].join(', ')}.`);
    }
    current = next;
  }
  return { state, trace };
}

// ---- the crew ----

export interface FixOutcome {
  applied: Finding[];
  failed: { finding: Finding; error: string }[];
  /** The unified diff written, when the fixer makes one. */
  patch?: string;
}

/** The parts the experts plug in; everything between them is the pipeline's own. */
export interface CrewParts {
  detect(signal: AbortSignal): Promise<Finding[]>;
  fix(plan: Finding[], signal: AbortSignal): Promise<FixOutcome>;
  /**
   * Detects again after a fix (usually `detect` on the fixed tree), given the findings whose fixes
   * were just made and the working set they were chosen from: a caller may re-run only the experts
   * those fixes concern and keep the rest of `before`.
   */
  recheck(signal: AbortSignal, fixed: Finding[], before: Finding[]): Promise<Finding[]>;
}

export interface CrewState {
  /** What the first detect found, as reported. */
  detected: Finding[];
  /** The first validate's output: what the run reports as found. */
  found: Finding[];
  /** The working set: validated findings, then what a re-check still finds. */
  current: Finding[];
  dropped: Dropped[];
  plan: Finding[];
  deferred: Deferred[];
  /** Findings whose fixes were made (applied, or written as a patch when `recheck` is off). */
  applied: Finding[];
  failed: FixOutcome['failed'];
  patches: string[];
  /** Fix rounds done. */
  rounds: number;
  rechecked: boolean;
  report?: CrewReport;
}

export interface CrewReport {
  /** What is left: after the last re-check, or as detected when nothing was fixed. */
  findings: Finding[];
  /** Applied and gone on re-check. */
  fixed: Finding[];
  /** Applied, yet the re-check still finds them. */
  notFixed: Finding[];
  failed: FixOutcome['failed'];
  dropped: Dropped[];
  rounds: number;
}

export function initialCrewState(): CrewState {
  return { detected: [], found: [], current: [], dropped: [], plan: [], deferred: [], applied: [], failed: [], patches: [], rounds: 0, rechecked: false };
}

export interface CrewOptions {
  /** Fix rounds at most (default 2: the re-check loops back once). */
  maxFixRounds?: number;
  /** Skip fix and re-check even when fixes exist (`devloop agents run` without --fix/--apply). */
  detectOnly?: boolean;
  /** false: the fix step only writes a patch and the tree is unchanged, so fix goes straight to report (`--fix`). */
  recheck?: boolean;
}

export function crewPipeline(parts: CrewParts, options: CrewOptions = {}): {
  steps: PipelineStep<CrewState>[];
  run(runOptions?: RunPipelineOptions): Promise<PipelineResult<CrewState>>;
} {
  const maxRounds = options.maxFixRounds ?? 2;
  const steps: PipelineStep<CrewState>[] = [
    { name: 'detect', run: async (_s, { signal }) => { const found = await parts.detect(signal); return { detected: found, current: found }; } },
    {
      name: 'validate',
      run: (s) => {
        const { valid, dropped } = validateFindings(s.current);
        return { current: valid, dropped: [...s.dropped, ...dropped], ...(s.rounds === 0 ? { found: valid } : {}) };
      },
    },
    {
      name: 'plan',
      run: (s) => { const { plan, deferred } = chooseFixes(s.current); return { plan, deferred }; },
      next: (s) => (s.plan.length > 0 && !options.detectOnly ? 'fix' : 'report'),
    },
    {
      name: 'fix',
      run: async (s, { signal }) => {
        const out = await parts.fix(s.plan, signal);
        return { applied: [...s.applied, ...out.applied], failed: [...s.failed, ...out.failed], patches: out.patch ? [...s.patches, out.patch] : s.patches, rounds: s.rounds + 1 };
      },
      next: options.recheck === false ? 'report' : 'recheck',
    },
    {
      name: 'recheck',
      run: async (s, { signal }) => ({ current: await parts.recheck(signal, s.plan.filter((f) => s.applied.includes(f)), s.current), rechecked: true }),
      // Loop back only while rounds remain and something fixable is left: a fix that does not
      // remove its finding would otherwise be retried for ever.
      next: (s) => (s.rounds < maxRounds && s.current.some((f) => f.fix) ? 'validate' : 'report'),
    },
    { name: 'report', run: (s) => ({ report: buildReport(s) }), next: END },
  ];
  return { steps, run: (runOptions) => runPipeline(steps, initialCrewState(), runOptions) };
}

function buildReport(s: CrewState): CrewReport {
  const still = (f: Finding) => s.current.some((c) => sameProblem(c, f));
  return {
    findings: s.current,
    fixed: s.rechecked ? s.applied.filter((f) => !still(f)) : [],
    notFixed: s.rechecked ? s.applied.filter(still) : s.applied,
    failed: s.failed,
    dropped: s.dropped,
    rounds: s.rounds,
  };
}
