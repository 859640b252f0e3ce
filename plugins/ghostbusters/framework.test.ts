import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DevloopError, isCancelled } from '../../core/errors.js';
import { until } from '../../test/helpers.js';
import { AgentError, AgentFramework, type Agent } from './framework.js';
import { parseRunRecord, replay } from './record.js';
import type { Finding } from './types.js';

const agent = <I, O>(id: string, execute: Agent<I, O>['execute'], more: Partial<Agent<I, O>> = {}): Agent<I, O> =>
  ({ id, description: `${id} agent`, capabilities: [id], execute, ...more });

const finding: Finding = {
  ruleId: 'build/dockerfile-root-user', expert: 'build', message: 'the image runs as root', severity: 'warning',
  confidence: 'high', file: 'Dockerfile', line: 1, column: 1,
};

/** finding -> plan -> fix -> re-check, each agent subscribed to the previous one's kind. */
function crew(): AgentFramework {
  return new AgentFramework()
    .register(agent('finder', async (_task: { root: string }) => [finding], { produces: 'finding' }))
    .register(agent('planner', async (findings: Finding[]) => findings.map((f) => ({ rule: f.ruleId, action: 'add USER node' })), { subscribes: ['finding'], produces: 'plan' }))
    .register(agent('fixer', async (plan: { rule: string; action: string }[]) => ({ patched: plan.map((p) => p.rule) }), { subscribes: ['plan'], produces: 'fix' }))
    .register(agent('rechecker', async (fix: { patched: string[] }) => ({ gone: fix.patched }), { subscribes: ['fix'] }));
}

describe('AgentFramework registry', () => {
  it('refuses a second agent with the same id', () => {
    const fw = new AgentFramework().register(agent('a', async () => 1));
    assert.throws(() => fw.register(agent('a', async () => 2)), (err: DevloopError) => err.code === 'DUPLICATE_AGENT' && /"a" is already registered/.test(err.message));
    assert.deepEqual(fw.agents.map((a) => a.id), ['a']);
  });

  it('names the known agents when an id is unknown', async () => {
    const fw = crew();
    assert.throws(() => fw.getAgent('plumber'), (err: DevloopError) =>
      err instanceof DevloopError && err.code === 'UNKNOWN_AGENT' && err.message === 'unknown agent "plumber"; known agents: finder, planner, fixer, rechecker');
    await assert.rejects(fw.execute('plumber', {}), (err: DevloopError) => err.code === 'UNKNOWN_AGENT');
    assert.throws(() => new AgentFramework().getAgent('x'), /known agents: \(none registered\)/);
  });
});

describe('AgentFramework.execute', () => {
  it('abandons an agent that hangs past its timeout, naming it, and keeps working', async () => {
    const fw = new AgentFramework()
      .register(agent('sleeper', () => new Promise(() => {})))
      .register(agent('echo', async (t: string) => t));
    const started = Date.now();
    await assert.rejects(fw.execute('sleeper', {}, { timeoutMs: 50 }), (err: DevloopError) =>
      err.code === 'AGENT_TIMEOUT' && err.message === 'agent "sleeper" did not finish within 50 ms');
    assert.ok(Date.now() - started < 2_000, 'the timeout ended the wait');
    assert.equal(await fw.execute('echo', 'still here'), 'still here');
    const [hung] = fw.record().steps;
    assert.equal(hung.error?.code, 'AGENT_TIMEOUT');
    assert.ok(hung.durationMs >= 45, `step lasted ${hung.durationMs} ms`);
  });

  it('aborts ctx.signal on timeout and drops what the agent does afterwards', async () => {
    const seen: string[] = [];
    let aborted = false;
    let late: (() => void) | undefined;
    const fw = new AgentFramework().register(agent('slow', (_t, ctx) => new Promise((resolve) => {
      ctx.signal.addEventListener('abort', () => { aborted = true; late = () => { ctx.emit('late', 1); ctx.log('late'); resolve(1); }; });
    })));
    fw.on('late', () => seen.push('late'));
    await assert.rejects(fw.execute('slow', null, { timeoutMs: 30 }), /did not finish within 30 ms/);
    assert.ok(aborted, 'the agent saw its signal abort');
    late!();
    assert.deepEqual(seen, []);
    assert.deepEqual(fw.record().steps[0].logs, []);
  });

  it('cancels through the caller signal', async () => {
    let started = false;
    const fw = new AgentFramework().register(agent('waiter', (_t, ctx) => new Promise((_, reject) => {
      started = true;
      ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
    })));
    const controller = new AbortController();
    const run = fw.execute('waiter', 'task', { signal: controller.signal });
    await until(() => started, 2_000, 'agent start');
    controller.abort();
    await assert.rejects(run, (err: Error) => isCancelled(err) && err.message === 'agent "waiter" cancelled');
    assert.equal(fw.record().steps[0].error?.code, 'CANCELLED');
    await assert.rejects(fw.execute('waiter', 'task', { signal: controller.signal }), /cancelled/);
  });

  it('wraps an agent that throws, with its name and cause, without taking the framework down', async () => {
    const fw = new AgentFramework()
      .register(agent('broken', async () => { throw new TypeError('cannot read "x" of undefined'); }))
      .register(agent('sync-broken', (() => { throw new Error('thrown before any await'); }) as unknown as Agent['execute']))
      .register(agent('fine', async () => 'ok'));
    await assert.rejects(fw.execute('broken', {}), (err: AgentError) =>
      err instanceof AgentError && err.agent === 'broken' && err.code === 'AGENT_FAILED' &&
      err.message === 'agent "broken" failed: cannot read "x" of undefined' && err.cause instanceof TypeError);
    await assert.rejects(fw.execute('sync-broken', {}), /agent "sync-broken" failed: thrown before any await/);
    assert.equal(await fw.execute('fine', {}), 'ok');
    assert.equal(fw.record().steps[0].error?.message, 'agent "broken" failed: cannot read "x" of undefined');
  });

  it('passes log, emit and the budget deadline to the agent', async () => {
    const events: unknown[] = [];
    const lines: string[] = [];
    const fw = new AgentFramework({ log: (a, m) => lines.push(`${a}: ${m}`) })
      .register(agent('talker', async (_t, ctx) => { ctx.log('looking'); ctx.emit('progress', { done: 1 }); return ctx.budget.deadline; }));
    fw.on('progress', (payload, msg) => events.push({ payload, from: msg.from }));
    const before = Date.now();
    const deadline = await fw.execute<number>('talker', {}, { timeoutMs: 5_000 });
    assert.ok(deadline >= before + 5_000 && deadline <= Date.now() + 5_000);
    assert.deepEqual(events, [{ payload: { done: 1 }, from: 'talker' }]);
    assert.deepEqual(lines, ['talker: looking']);
  });
});

describe('AgentFramework.coordinateAgents', () => {
  it('turns a finding into a plan, and the plan into a fix, over the bus', async () => {
    const fw = crew();
    const bus: string[] = [];
    fw.on('*', (_p, m) => bus.push(`${m.from}->${m.kind}`));
    const found = await fw.execute<Finding[]>('finder', { root: '.' });
    const [plan] = await fw.coordinateAgents('finder', found);
    assert.deepEqual(plan, { agent: 'planner', kind: 'finding', from: 'finder', depth: 1, output: [{ rule: finding.ruleId, action: 'add USER node' }] });
    const [fix] = await fw.coordinateAgents('planner', plan.output);
    assert.deepEqual(fix.output, { patched: [finding.ruleId] });
    assert.deepEqual(bus, ['finder->finding', 'planner->plan']);
  });

  it('follows the chain to the given depth', async () => {
    const fw = crew();
    const results = await fw.coordinateAgents('finder', [finding], { depth: 5 });
    assert.deepEqual(results.map((r) => `${r.depth}:${r.from}->${r.agent}`), ['1:finder->planner', '2:planner->fixer', '3:fixer->rechecker']);
    assert.deepEqual(results[2].output, { gone: [finding.ruleId] });
    assert.equal(results[2].kind, 'fix');
    // rechecker declares no kind: its result goes out as `rechecker.result`.
    const kinds: string[] = [];
    fw.on('rechecker.result', (_p, m) => kinds.push(m.kind));
    await fw.coordinateAgents('rechecker', { gone: [] });
    assert.deepEqual(kinds, ['rechecker.result']);
  });

  it('runs subscribers at most `concurrency` at a time, and one failing does not stop the rest', async () => {
    let active = 0;
    let peak = 0;
    const fw = new AgentFramework({ concurrency: 2 }).register(agent('source', async () => 0));
    for (let i = 0; i < 5; i++) {
      fw.register(agent(`worker${i}`, async (n: number) => {
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 20)); // the work itself, so runs can overlap
        active--;
        if (i === 3) throw new Error('worker3 broke');
        return n + i;
      }, { subscribes: ['source.result'] }));
    }
    const results = await fw.coordinateAgents('source', 10);
    assert.equal(peak, 2);
    assert.deepEqual(results.map((r) => r.output ?? r.error?.message), [10, 11, 12, 'agent "worker3" failed: worker3 broke', 14]);
    assert.throws(() => new AgentFramework({ concurrency: 0 }), /concurrency must be a whole number of at least 1, got 0/);
  });

  it('times out a hanging subscriber and still returns the others', async () => {
    const fw = new AgentFramework({ timeoutMs: 40 })
      .register(agent('src', async () => 'x'))
      .register(agent('hangs', () => new Promise(() => {}), { subscribes: ['src.result'] }))
      .register(agent('works', async (x: string) => `${x}!`, { subscribes: ['src.result'] }));
    const results = await fw.coordinateAgents('src', 'x');
    assert.equal((results[0].error as DevloopError).code, 'AGENT_TIMEOUT');
    assert.equal(results[1].output, 'x!');
  });
});

describe('run record', () => {
  it('round-trips through JSON and replays to the same outputs', async () => {
    const fw = crew();
    const found = await fw.execute('finder', { root: '.' });
    await fw.coordinateAgents('finder', found, { depth: 3 });
    const json = JSON.stringify(fw.record());
    const record = parseRunRecord(json);
    assert.deepEqual(record.steps.map((s) => s.agent), ['finder', 'planner', 'fixer', 'rechecker']);
    assert.deepEqual(record.steps[1].trigger, { kind: 'finding', from: 'finder' });
    assert.deepEqual(record.steps[1].input, [finding]);
    for (const s of record.steps) assert.ok(s.durationMs >= 0 && Date.parse(s.endedAt) >= Date.parse(s.startedAt));
    assert.equal(await replay(crew(), record), 4);
  });

  it('replay names the step whose output changed', async () => {
    const fw = crew();
    await fw.execute('finder', { root: '.' });
    const record = parseRunRecord(JSON.stringify(fw.record()));
    const changed = new AgentFramework().register(agent('finder', async () => [], { produces: 'finding' }));
    await assert.rejects(replay(changed, record), (err: DevloopError) =>
      err.code === 'REPLAY_MISMATCH' && /step 1 \(finder\): expected \{"output":\[\{"ruleId"/.test(err.message) && /got \{"output":\[\]\}/.test(err.message));
  });

  it('keeps the input as it was when the step ran', async () => {
    const fw = new AgentFramework().register(agent('mutator', async (t: { n: number }) => { t.n = 99; return t.n; }));
    await fw.execute('mutator', { n: 1 });
    assert.deepEqual(fw.record().steps[0].input, { n: 1 });
    assert.throws(() => parseRunRecord('{"version":1}'), /not a version 1 run record/);
    assert.throws(() => parseRunRecord('nope', 'run.json'), /run.json is not JSON/);
  });
});
