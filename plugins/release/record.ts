/**
 * Release records: one JSON file per release under `.devloop/releases/<time>-<env>.json`, written
 * when the release ends (whatever its outcome), read by `release history` and `release rollback`.
 * The file name sorts in time order, so the newest is last.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DevloopError } from '../../core/errors.js';
import type { Color, Strategy } from './plan.js';

export interface GateResult {
  passed: boolean;
  /** Why it failed, in words. */
  reason?: string;
  readyPods: number;
  restarts: number;
  requests: number;
  errors: number;
  ratio: number;
  path: string;
  /** The canary pods the burst went to: admitted to the Service when the gate passed. */
  pods?: string[];
}

export interface StepRecord {
  /** Percent of the stable count (canary), `rollout` / `rollback` / `promote`, or blue-green's `prepare` / `new-side` / `switch` / `retire` (bluegreen.ts). */
  step: number | 'rollout' | 'rollback' | 'promote' | 'prepare' | 'new-side' | 'switch' | 'retire';
  replicas?: number;
  startedAt: string;
  ms: number;
  gate?: GateResult;
  error?: string;
}

export interface ServiceRecord {
  name: string;
  namespace: string;
  image: string;
  /** What the Deployment ran before, when it existed. */
  previousImage?: string;
  /** Its pod template then: a rollback re-applies it. */
  previousTemplate?: unknown;
  outcome: Outcome;
  steps: StepRecord[];
  reason?: string;
  /**
   * Blue-green: the color that served before (absent on a first install or a Service not colored
   * yet), the color released to, and the Deployment of each. The Service selects `to` after a
   * success and still `from` after a failure.
   */
  colors?: { from?: Color; to: Color; fromDeployment?: string; toDeployment: string };
}

export type Outcome = 'succeeded' | 'rolled-back' | 'failed' | 'not-started';

export interface ReleaseRecord {
  id: string;
  env: string;
  context: string;
  strategy: Strategy;
  steps?: number[];
  maxErrorRatio?: number;
  /** The release whose images a `release rollback` re-applied. */
  rollbackOf?: string;
  startedAt: string;
  finishedAt: string;
  ms: number;
  outcome: Outcome;
  reason?: string;
  services: ServiceRecord[];
}

export const releasesDir = (projectDir: string) => path.join(projectDir, '.devloop', 'releases');

/** `2026-12-04T19-30-01-123Z-staging`: sortable, a valid file name everywhere. */
export function releaseId(startedAt: Date, env: string): string {
  return `${startedAt.toISOString().replace(/[:.]/g, '-')}-${env}`;
}

export function writeRecord(projectDir: string, record: ReleaseRecord): string {
  const dir = releasesDir(projectDir);
  const file = path.join(dir, `${record.id}.json`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  } catch (err) {
    throw new DevloopError(`cannot write the release record ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { code: 'RELEASE_RECORD_WRITE', cause: err, hint: 'make .devloop/ in the project writable; the release itself has finished (see its output)' });
  }
  return file;
}

/** Every record, oldest first; `env` keeps only that environment's. A file that does not parse is reported, not skipped. */
export function readRecords(projectDir: string, env?: string): ReleaseRecord[] {
  const dir = releasesDir(projectDir);
  if (!existsSync(dir)) return [];
  const out: ReleaseRecord[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    let r: ReleaseRecord;
    try {
      r = JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as ReleaseRecord;
    } catch (err) {
      throw new DevloopError(`release record ${path.join(dir, f)} is not valid JSON: ${err instanceof Error ? err.message : String(err)}`, { code: 'RELEASE_RECORD_INVALID', hint: 'fix or delete that file' });
    }
    if (!env || r.env === env) out.push(r);
  }
  return out;
}
