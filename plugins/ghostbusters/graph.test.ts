import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DevloopError, isCancelled } from '../../core/errors.js';
import { until } from '../../test/helpers.js';
import { crewPipeline, END, runPipeline, type CrewParts, type PipelineError, type PipelineStep } from './graph.js';
import type { Finding } from './types.js';

const rootUser: Finding = {
  ruleId: 'build/dockerfile-root-user', expert: 'build', message: 'the image runs as root', severity: 'warning',
  confidence: 'high', file: 'Dockerfile', line: 3, column: 1,
  fix: { description: 'add a non-root USER', edits: [{ file: 'Dockerfile', start: 40, end: 40, text: 'USER node\n' }] },
};
const noTests: Finding = {
  ruleId: 'tests/untested-file', expert: 'tests', message: 'src/a.ts has no test', severity: 'note',
  confidence: 'medium', file: 'src/a.ts', line: 1, column: 1,
};

/** Parts over an in-memory "repository": the set of problems present; fixing removes them unless `stubborn`. */
function repo(initial: Finding[], options: { stubborn?: boolean } = {}) {
  const present = [...initial];
  const calls: string[] = [];
  const parts: CrewParts = {
    detect: async () => { calls.push('detect'); return [...present]; },
    fix: async (plan) => {
      calls.push(`fix:${plan.length}`);
      if (!options.stubborn) for (const f of plan) present.splice(present.indexOf(present.find((p) => p.ruleId === f.ruleId)!), 1);
      return { applied: plan, failed: [], patch: `--- ${plan.length} fixes` };
    },
    recheck: async () => { calls.push('recheck'); return [...present]; },
  };
  return { parts, calls };
}

describe('runPipeline', () => {
  it('runs steps in order, merging each partial state', async () => {
    type S = { log: string[]; n: number };
    const step = (name: string): PipelineStep<S> => ({ name, run: (s) => ({ log: [...s.log, name], n: s.n + 1 }) });
    const { state, trace } = await runPipeline([step('a'), step('b'), step('c')], { log: [], n: 0 });
    assert.deepEqual(state, { log: ['a', 'b', 'c'], n: 3 });
    assert.deepEqual(trace.map((t) => t.step), ['a', 'b', 'c']);
    assert.deepEqual(trace[0].changed, ['log', 'n']);
  });

  it('follows conditional edges and stops a loop at maxSteps', async () => {
    type S = { n: number };
    const looping: PipelineStep<S>[] = [
      { name: 'inc', run: (s) => ({ n: s.n + 1 }) },
      { name: 'check', run: () => ({}), next: (s) => (s.n >= 3 ? END : 'inc') },
    ];
    assert.deepEqual((await runPipeline(looping, { n: 0 })).state, { n: 3 });
    await assert.rejects(runPipeline([{ name: 'again', run: () => ({}), next: 'again' }], { n: 0 }, { maxSteps: 5 }), (err: PipelineError) =>
      err.code === 'PIPELINE_LOOP' && /ran 5 steps without reaching the end; last step "again"/.test(err.message));
  });

  it('rejects edges to unknown steps and names the failing step', async () => {
    await assert.rejects(runPipeline([{ name: 'a', run: () => ({}), next: 'b' }], {}), /step "a" leads to "b", which is not a step/);
    await assert.rejects(runPipeline([{ name: 'a', run: () => ({}), next: () => 'zz' }], {}), /step "a" routed to "zz"/);
    await assert.rejects(runPipeline<{ ok: boolean }>([
      { name: 'good', run: () => ({ ok: true }) },
      { name: 'bad', run: () => { throw new Error('disk full'); } },
    ], { ok: false }), (err: PipelineError<{ ok: boolean }>) =>
      err.code === 'PIPELINE_STEP_FAILED' && err.message === 'pipeline step "bad" failed: disk full' && err.step === 'bad' && err.state.ok === true);
  });

  it('stops when cancelled, without merging the running step', async () => {
    const controller = new AbortController();
    let inSlow = false;
    let after = false;
    const run = runPipeline<{ v: number }>([
      { name: 'slow', run: (_s, { signal }) => new Promise((resolve) => { inSlow = true; signal.addEventListener('abort', () => resolve({ v: 1 })); }) },
      { name: 'after', run: () => { after = true; return {}; } },
    ], { v: 0 }, { signal: controller.signal });
    await until(() => inSlow, 2_000, 'slow step start');
    controller.abort();
    await assert.rejects(run, (err: Error) => isCancelled(err) && err.message === 'pipeline cancelled in step "slow"');
    assert.equal(after, false);
  });
});

describe('crewPipeline', () => {
  it('goes detect -> validate -> plan -> fix -> recheck -> report and reports what it fixed', async () => {
    const { parts, calls } = repo([rootUser, noTests]);
    const { state, trace } = await crewPipeline(parts).run();
    assert.deepEqual(trace.map((t) => t.step), ['detect', 'validate', 'plan', 'fix', 'recheck', 'report']);
    assert.deepEqual(calls, ['detect', 'fix:1', 'recheck']);
    assert.deepEqual(state.report?.fixed, [rootUser]);
    assert.deepEqual(state.report?.findings, [noTests]);
    assert.deepEqual(state.patches, ['--- 1 fixes']);
    assert.equal(state.rounds, 1);
  });

  it('skips fix and recheck when no finding has a fix', async () => {
    const { parts, calls } = repo([noTests]);
    const { state, trace } = await crewPipeline(parts).run();
    assert.deepEqual(trace.map((t) => t.step), ['detect', 'validate', 'plan', 'report']);
    assert.deepEqual(calls, ['detect']);
    assert.deepEqual(state.report, { findings: [noTests], fixed: [], notFixed: [], failed: [], dropped: [], rounds: 0 });
  });

  it('loops from recheck at most once when a fix does not take', async () => {
    const { parts, calls } = repo([rootUser], { stubborn: true });
    const { state, trace } = await crewPipeline(parts).run();
    assert.deepEqual(trace.map((t) => t.step), ['detect', 'validate', 'plan', 'fix', 'recheck', 'validate', 'plan', 'fix', 'recheck', 'report']);
    assert.deepEqual(calls, ['detect', 'fix:1', 'recheck', 'fix:1', 'recheck']);
    assert.equal(state.rounds, 2);
    assert.equal(state.report?.notFixed.length, 2);
    assert.deepEqual(state.report?.fixed, []);
  });

  it('drops malformed findings and unsafe fixes before planning', async () => {
    const escaping: Finding = { ...rootUser, line: 9, fix: { description: 'x', edits: [{ file: '../etc/passwd', start: 0, end: 0, text: '' }] } };
    const broken = { ...noTests, line: 0 };
    const { parts, calls } = repo([escaping, broken, noTests, noTests]);
    const { state } = await crewPipeline(parts).run();
    assert.deepEqual(calls, ['detect'], 'the only fix was unsafe, so nothing was fixed');
    assert.deepEqual(state.dropped.map((d) => `${d.what}: ${d.why}`), [
      'fix: an edit\'s file "../etc/passwd" leaves the repository',
      'finding: line/column must be whole numbers from 1, got 0:1',
      'finding: duplicate: the same rule at the same place was already reported',
    ]);
    assert.equal(state.report?.findings.length, 2);
  });

  it('defers a fix that overlaps another and picks it up on the next round', async () => {
    const replace = (start: number, end: number) => ({ description: 'rewrite', edits: [{ file: 'Dockerfile', start, end, text: 'x' }] });
    const first: Finding = { ...rootUser, fix: replace(10, 20) };
    const second: Finding = { ...rootUser, ruleId: 'build/dockerfile-other', message: 'other', severity: 'note', fix: replace(15, 25) };
    const third: Finding = { ...rootUser, ruleId: 'build/dockerfile-third', message: 'third', severity: 'note', fix: replace(40, 40) };
    const fourth: Finding = { ...third, ruleId: 'build/dockerfile-fourth', message: 'fourth' };
    const { parts, calls } = repo([second, first, third, fourth]);
    const { state } = await crewPipeline(parts).run();
    // Two inserts at one point do not collide; the replaced ranges 10-20 and 15-25 do.
    assert.deepEqual(calls, ['detect', 'fix:3', 'recheck', 'fix:1', 'recheck']);
    assert.deepEqual(state.deferred, []);
    assert.deepEqual(state.report?.fixed.map((f) => f.ruleId), ['build/dockerfile-root-user', 'build/dockerfile-third', 'build/dockerfile-fourth', 'build/dockerfile-other']);
    assert.deepEqual(state.report?.findings, []);
  });

  it('with recheck off (a patch only), goes fix -> report; the re-check gets the fixed findings and the set they came from', async () => {
    const { parts, calls } = repo([rootUser, noTests]);
    const { state, trace } = await crewPipeline(parts, { recheck: false }).run();
    assert.deepEqual(trace.map((t) => t.step), ['detect', 'validate', 'plan', 'fix', 'report']);
    assert.deepEqual(calls, ['detect', 'fix:1']);
    assert.deepEqual(state.found, [rootUser, noTests]);
    assert.deepEqual(state.report?.findings, [rootUser, noTests], 'nothing changed, so everything is still there');

    let given: Finding[][] = [];
    const seeing = repo([rootUser, noTests]);
    await crewPipeline({ ...seeing.parts, recheck: async (_s, fixed, before) => { given = [fixed, before]; return [noTests]; } }).run();
    assert.deepEqual(given, [[rootUser], [rootUser, noTests]]);
  });

  it('does not fix in detect-only mode, and passes cancellation to the experts', async () => {
    const { parts, calls } = repo([rootUser]);
    const { trace } = await crewPipeline(parts, { detectOnly: true }).run();
    assert.deepEqual(trace.map((t) => t.step), ['detect', 'validate', 'plan', 'report']);
    assert.deepEqual(calls, ['detect']);

    const controller = new AbortController();
    let detecting = false;
    const hanging = crewPipeline({ ...parts, detect: (signal) => new Promise((_, reject) => { detecting = true; signal.addEventListener('abort', () => reject(new Error('aborted'))); }) });
    const run = hanging.run({ signal: controller.signal });
    await until(() => detecting, 2_000, 'detect start');
    controller.abort();
    await assert.rejects(run, (err: Error) => isCancelled(err) && /cancelled in step "detect"/.test(err.message));
    assert.ok(!(await run.catch((e) => e) instanceof DevloopError), 'cancellation is not reported as a failure');
  });
});
