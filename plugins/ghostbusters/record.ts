/**
 * The run record: every step the framework ran (agent, input, output or error, timing, logs),
 * as plain JSON. Inputs and outputs are copied through JSON when the step is recorded, so a later
 * mutation by an agent cannot rewrite history and what `record()` returns is exactly what a file
 * holds. `replay` re-runs each step on its recorded input and checks the outputs match: a test
 * pins an agent's behaviour with a record instead of hand-written expectations.
 */
import { isDeepStrictEqual } from 'node:util';
import { DevloopError, type ErrorJSON } from '../../core/errors.js';

export const RECORD_VERSION = 1;

export interface StepRecord {
  /** Order the steps started in, from 1. */
  seq: number;
  agent: string;
  input: unknown;
  output?: unknown;
  error?: ErrorJSON;
  /** The bus message that started it, for steps run by `coordinateAgents`. */
  trigger?: { kind: string; from: string };
  /** ISO 8601. */
  startedAt: string;
  endedAt: string;
  durationMs: number;
  /** Tokens the step spent on the model, when it used one. */
  tokens?: number;
  logs: string[];
}

export interface RunRecord {
  version: typeof RECORD_VERSION;
  steps: StepRecord[];
}

/** A JSON copy, or a marker saying why there is none (functions, cycles, BigInt). */
export function snapshot(value: unknown): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(JSON.stringify(value));
  } catch (err) {
    return { unserializable: err instanceof Error ? err.message : String(err) };
  }
}

/** Reads a record written by `JSON.stringify(framework.record())`, saying what is wrong on a bad one. */
export function parseRunRecord(text: string, source = 'run record'): RunRecord {
  let json: any;
  try { json = JSON.parse(text); } catch (err) {
    throw new DevloopError(`${source} is not JSON: ${(err as Error).message}`, { code: 'BAD_RUN_RECORD', hint: 'Write records with JSON.stringify(framework.record()).' });
  }
  if (json?.version !== RECORD_VERSION || !Array.isArray(json.steps)) {
    throw new DevloopError(`${source} is not a version ${RECORD_VERSION} run record (expected { version: ${RECORD_VERSION}, steps: [...] })`, { code: 'BAD_RUN_RECORD', hint: 'Record it again with this version of devloop.' });
  }
  json.steps.forEach((s: any, i: number) => {
    if (typeof s?.agent !== 'string' || typeof s?.seq !== 'number') {
      throw new DevloopError(`${source} steps[${i}] has no agent or seq`, { code: 'BAD_RUN_RECORD', hint: 'Record it again; do not edit records by hand.' });
    }
  });
  return json as RunRecord;
}

export interface Replayable {
  execute(agentId: string, task: unknown, options?: { timeoutMs?: number }): Promise<unknown>;
}

export interface ReplayMismatch {
  seq: number;
  agent: string;
  expected: unknown;
  actual: unknown;
}

/**
 * Runs every recorded step again, one after another, on its recorded input and compares: outputs
 * as JSON, errors by code. Throws a REPLAY_MISMATCH naming each differing step; returns the
 * number of steps checked.
 */
export async function replay(framework: Replayable, record: RunRecord, options: { timeoutMs?: number } = {}): Promise<number> {
  const mismatches: ReplayMismatch[] = [];
  for (const step of record.steps) {
    let actual: unknown;
    try {
      actual = { output: snapshot(await framework.execute(step.agent, step.input, options)) };
    } catch (err) {
      actual = { error: (err as { code?: string }).code ?? 'ERROR' };
    }
    const expected = step.error ? { error: step.error.code } : { output: step.output };
    if (!isDeepStrictEqual(actual, expected)) mismatches.push({ seq: step.seq, agent: step.agent, expected, actual });
  }
  if (mismatches.length) {
    const lines = mismatches.slice(0, 5).map((m) => `  step ${m.seq} (${m.agent}): expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.actual)}`);
    throw new DevloopError(`replay: ${mismatches.length} of ${record.steps.length} steps differ from the record\n${lines.join('\n')}`, {
      code: 'REPLAY_MISMATCH', hint: 'An agent changed behaviour: fix it, or record the run again if the change is intended.',
    });
  }
  return record.steps.length;
}
