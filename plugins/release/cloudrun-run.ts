/**
 * One Cloud Run service released by revisions and traffic (the order is in cloudrun.ts's comment),
 * through either runner (cloudrun-runners.ts). The gate is a burst of requests to the candidate's
 * tag URL, before any user traffic and again after each step: users see the new revision only
 * once it answered its burst, and never again after a burst it failed.
 */
import type { Logger } from '../../core/engine/contexts.js';
import { DevloopError } from '../../core/errors.js';
import { sleep } from '../shared/time.js';
import { BURST_REQUESTS } from './gate.js';
import { CANDIDATE_TAG, candidateService, stepSplit, type Split } from './cloudrun.js';
import type { CloudRunRunner } from './cloudrun-runners.js';
import type { GateResult, Outcome, ServiceRecord, StepRecord } from './record.js';

const CONCURRENCY = 4;
const REQUEST_TIMEOUT_MS = 5_000;

export interface CloudRunRelease {
  runner: CloudRunRunner;
  service: string;
  image: string;
  /** The production render's Service object. */
  rendered: object;
  revision: string;
  steps: number[];
  /** How long each step's split holds before its gate. */
  stepWaitMs: number;
  maxErrorRatio: number;
  gatePath: string;
  timeoutMs: number;
  log: (line: string) => void;
}

export type CloudRunServiceRecord = ServiceRecord & { revision: string; previousRevision?: string };

export async function releaseCloudRunService(x: CloudRunRelease): Promise<CloudRunServiceRecord> {
  const previous = await x.runner.serving();
  const rec: CloudRunServiceRecord = { name: x.service, namespace: x.runner.where, image: x.image, revision: x.revision, ...(previous ? { previousRevision: previous } : {}), outcome: 'failed', steps: [] };
  const step = async (name: StepRecord['step'], fn: () => Promise<GateResult | void>): Promise<StepRecord> => {
    const started = Date.now();
    const s: StepRecord = { step: name, startedAt: new Date(started).toISOString(), ms: 0 };
    rec.steps.push(s);
    try {
      const gate = await fn();
      if (gate) s.gate = gate;
    } catch (err) {
      s.error = err instanceof Error ? err.message : String(err);
    }
    s.ms = Date.now() - started;
    return s;
  };
  const failed = (s: StepRecord) => s.error ?? (s.gate && !s.gate.passed ? s.gate.reason : undefined);
  const rollback = async (reason: string, outcome: Outcome): Promise<CloudRunServiceRecord> => {
    x.log(`${x.service}: ${reason}`);
    if (previous) {
      x.log(`${x.service}: rolling back: 100% to ${previous}`);
      const back = await step('rollback', () => x.runner.setTraffic([{ revision: previous, percent: 100 }], { removeTag: true }));
      if (back.error) return { ...rec, outcome: 'failed', reason: `${reason}; the rollback failed too: ${back.error}` };
      return { ...rec, outcome, reason };
    }
    return { ...rec, outcome: 'failed', reason: `${reason}; no earlier revision to go back to (a first release)` };
  };

  x.log(`${x.service}: revision ${x.revision} (${x.image})${previous ? `, tagged ${CANDIDATE_TAG} with no traffic; ${previous} keeps 100%` : ', the first: it gets 100%'}`);
  const deployed = await step('rollout', async () => {
    await x.runner.replace(candidateService(x.rendered, x.revision, previous), x.revision, x.timeoutMs);
    return gate(await x.runner.tagUrl(), x);
  });
  const why = failed(deployed);
  if (why) return rollback(why, 'rolled-back');
  x.log(`${x.service}: gate passed on the tag (${deployed.gate!.errors}/${deployed.gate!.requests} errors)`);
  if (previous) {
    for (const percent of x.steps) {
      const split: Split[] = stepSplit(x.revision, previous, percent);
      const s = await step(percent, async () => {
        await x.runner.setTraffic(split, { removeTag: false });
        if (x.stepWaitMs > 0) await sleep(x.stepWaitMs);
        return gate(await x.runner.tagUrl(), x);
      });
      const bad = failed(s);
      if (bad) return rollback(`step ${percent}%: ${bad}`, 'rolled-back');
      x.log(`${x.service}: ${percent}% on ${x.revision}, gate passed (${s.gate!.errors}/${s.gate!.requests} errors)`);
    }
  }
  const done = await step('promote', () => x.runner.setTraffic([{ revision: x.revision, percent: 100 }], { removeTag: true }));
  if (done.error) return rollback(`promote: ${done.error}`, 'rolled-back');
  x.log(`${x.service}: 100% on ${x.revision}`);
  return { ...rec, outcome: 'succeeded' };
}

/** A burst of BURST_REQUESTS to the tag URL; stops as soon as the ratio cannot be met any more. */
export async function gate(url: string, t: { gatePath: string; maxErrorRatio: number }): Promise<GateResult> {
  const allowed = Math.floor(t.maxErrorRatio * BURST_REQUESTS);
  let sent = 0;
  let errors = 0;
  let lastError = '';
  const target = `${url.replace(/\/$/, '')}${t.gatePath}`;
  const worker = async () => {
    while (sent < BURST_REQUESTS && errors <= allowed) {
      sent++;
      try {
        const res = await fetch(target, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
        await res.arrayBuffer();
        if (res.status < 200 || res.status >= 300) { errors++; lastError = `HTTP ${res.status}`; }
      } catch (err) {
        errors++;
        lastError = err instanceof Error ? err.message : String(err);
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  // Over the whole burst: a gate stopped early has failed whatever the rest would have answered.
  const ratio = errors / BURST_REQUESTS;
  const base = { readyPods: 1, restarts: 0, requests: sent, errors, ratio, path: t.gatePath };
  if (ratio > t.maxErrorRatio) {
    return { ...base, passed: false, reason: `${errors} of ${sent} requests to ${target} failed (last: ${lastError}): more than --max-error-ratio ${t.maxErrorRatio} allows (${allowed} of ${BURST_REQUESTS})` };
  }
  return { ...base, passed: true };
}

export function assertGcloudTarget(service: string, env: string, e: { project?: string; region?: string } | undefined): { project: string; region: string } {
  if (!e?.project || !e.region) {
    throw new DevloopError(`environment ${env} names no ${!e?.project ? 'project' : 'region'}: gcloud needs both to release ${service}`, { code: 'RELEASE_NO_PROJECT', exitCode: 2, hint: `add environments: { ${env}: { project: 'my-project', region: 'europe-west1' } } to the Devfile` });
  }
  return { project: e.project, region: e.region };
}
