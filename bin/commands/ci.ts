/**
 * `devloop ci`: the same pipeline as `up`, once, without watching. Waits until every service is
 * healthy, runs the Devfile's declared tests against them, exits 0; exits 1 at the first failure
 * that outlasts the grace period, when a service is not ready within the readiness timeout, or at
 * the global timeout, naming the service and what it was waiting on. Tears everything down
 * unless `--keep`; writes a JSON snapshot and a JUnit report when asked.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Engine } from '../../core/engine/engine.js';
import { judge, newMemory, type Verdict, type VerdictOptions } from '../ci/verdict.js';
import { junitXml, type JunitCase } from '../ci/junit.js';
import { runTest, type TestOutcome } from '../ci/tests.js';
import { ensureSessionDir } from '../../core/session/paths.js';
import { onInterrupt } from '../interrupts.js';
import { createProjectEngine, createReporter, EXIT, load, preloadEngine, type GlobalOptions } from '../shared.js';

export interface CiOptions {
  services: string[];
  timeoutMs: number;
  readinessTimeoutMs: number;
  graceMs: number;
  keep: boolean;
  snapshot?: string;
  junit?: string;
}

export async function ci(opts: GlobalOptions, ciOpts: CiOptions): Promise<number> {
  const loaded = await load(opts, 'ci', preloadEngine);
  const engine = await createProjectEngine(loaded, opts, ciOpts.services, 'ci');
  // Before any plugin makes `.devloop/` with the umask's mode: what is written there is private.
  // A read-only checkout has none to make, and ci needs none: carry on without it.
  try { ensureSessionDir(engine.root); } catch { /* read-only project folder */ }
  const reporter = await createReporter(engine, opts);
  const startedAt = Date.now();
  const readyAt: Record<string, number> = {};
  engine.subscribe((_s, a) => { if (a.type === 'service/health' && a.health === 'healthy' && readyAt[a.service] === undefined) readyAt[a.service] = Date.now(); });
  const interrupt = new AbortController();
  onInterrupt({
    signals: ['SIGINT', 'SIGTERM'],
    stop: () => { interrupt.abort(); void engine.stop('interrupted'); },
    force: () => {
      process.stderr.write('devloop: second interrupt, exiting without waiting for cleanup; run "devloop down" to remove leftovers\n');
      process.exit(EXIT.interrupted);
    },
  });
  let verdict: Verdict & { done: true } = { done: true, ok: false, reason: 'not started' };
  const tests: TestOutcome[] = [];
  try {
    await engine.start();
    const names = engine.serviceNames();
    verdict = await waitForVerdict(engine, { services: names, startedAt, timeoutMs: ciOpts.timeoutMs, readinessTimeoutMs: ciOpts.readinessTimeoutMs, graceMs: ciOpts.graceMs });
    if (verdict.ok) {
      for (const test of engine.devfile.tests ?? []) {
        const log = engine.logger();
        log.info(`test ${test.name}: ${test.command}`);
        const outcome = await runTest(test, engine.root, engine.getState(), (l) => log.output(`[${test.name}] ${l}`), interrupt.signal);
        tests.push(outcome);
        if (outcome.ok) log.info(`test ${test.name} passed in ${outcome.durationMs} ms`);
        else { log.error(`test ${test.name} failed: ${outcome.reason}`); verdict = { done: true, ok: false, reason: `test ${test.name} failed: ${outcome.reason}` }; break; }
      }
    }
    const summary = verdict.ok
      ? `ci: ${names.length === 1 ? 'the service is healthy' : `all ${names.length} services healthy`}${tests.length ? `, ${tests.length === 1 ? '1 test' : `${tests.length} tests`} passed` : ''}`
      // The failure was printed in full where it happened: its first line names it, and no more.
      : `ci: FAILED: ${verdict.reason.includes('\n') ? `${verdict.reason.slice(0, verdict.reason.indexOf('\n'))} (in full above)` : verdict.reason}`;
    engine.logger()[verdict.ok ? 'info' : 'error'](summary);
  } catch (err) {
    // Thrown errors leave through the CLI's error printer, outside the store: redact them here.
    throw engine.redactor.redactError(err);
  } finally {
    const finalState = engine.getState();
    if (ciOpts.snapshot) writeSnapshot(path.resolve(opts.cwd, ciOpts.snapshot), engine, verdict, tests, startedAt);
    if (ciOpts.junit) writeJunit(path.resolve(opts.cwd, ciOpts.junit), engine, finalState, verdict, tests, startedAt, readyAt);
    if (!ciOpts.keep) await engine.stop('ci finished');
    reporter.close();
    // The interrupt handlers stay until the process exits (see up.ts).
  }
  return verdict.ok ? EXIT.ok : EXIT.failed;
}

/** Re-judges on every action and on a 250 ms tick (time-based rules need the clock to move). */
export function waitForVerdict(engine: Engine, options: VerdictOptions): Promise<Verdict & { done: true }> {
  const memory = newMemory();
  return new Promise((resolve) => {
    const check = () => {
      const v = judge(engine.getState(), Date.now(), options, memory);
      if (!v.done) return;
      clearInterval(tick);
      unsubscribe();
      resolve(v);
    };
    const tick = setInterval(check, 250);
    const unsubscribe = engine.subscribe((_s, action) => { if (action.type !== 'log') check(); });
    check();
  });
}

function writeSnapshot(file: string, engine: Engine, verdict: Verdict & { done: true }, tests: TestOutcome[], startedAt: number): void {
  const state = engine.getState();
  const services = Object.fromEntries(state.order.map((n) => {
    const { logTail, ...rest } = state.services[n];
    return [n, { ...rest, lastLogLines: logTail.slice(-20).map((l) => l.message) }];
  }));
  const doc = {
    devloop: 'ci-snapshot/v1',
    startedAt: new Date(startedAt).toISOString(),
    finishedAt: new Date().toISOString(),
    ok: verdict.ok,
    reason: verdict.ok ? undefined : verdict.reason,
    failedService: verdict.ok ? undefined : verdict.service,
    configError: state.config.error,
    services,
    tests: tests.map(({ output, ...t }) => ({ ...t, outputTail: output.slice(-4000) })),
  };
  mkdirSync(path.dirname(file), { recursive: true });
  // State is redacted already; test output and the verdict's reason come from outside the store.
  writeFileSync(file, `${JSON.stringify(engine.redactor.redactDeep(doc), null, 2)}\n`);
}

function writeJunit(file: string, engine: Engine, state: ReturnType<Engine['getState']>, verdict: Verdict & { done: true }, tests: TestOutcome[], startedAt: number, readyAt: Record<string, number>): void {
  const cases: JunitCase[] = engine.serviceNames().map((n) => {
    const s = state.services[n];
    const ready = readyAt[n];
    const failed = !ready || (!verdict.ok && verdict.service === n);
    const why = !verdict.ok && verdict.service === n ? verdict.reason : s?.error?.message ?? `${n} never became ready (${s?.phase ?? 'unknown'}${s?.waiting ? `: ${s.waiting}` : ''})`;
    return {
      name: `${n} ready`,
      classname: 'devloop.services',
      timeSeconds: ((ready ?? Date.now()) - startedAt) / 1000,
      failure: failed ? { message: why, details: [why, s?.error?.hint ? `try: ${s.error.hint}` : '', ...(s?.logTail.slice(-20).map((l) => l.message) ?? [])].filter(Boolean).join('\n') } : undefined,
    };
  });
  for (const t of tests) {
    cases.push({ name: t.name, classname: 'devloop.tests', timeSeconds: t.durationMs / 1000, failure: t.ok ? undefined : { message: t.reason ?? 'failed', details: t.output.slice(-8000) }, systemOut: t.output.slice(-8000) });
  }
  mkdirSync(path.dirname(file), { recursive: true });
  // Before XML escaping: an escaped secret (`&quot;`) would no longer match.
  writeFileSync(file, junitXml('devloop ci', engine.redactor.redactDeep(cases), new Date(startedAt)));
}
