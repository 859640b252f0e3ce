/**
 * `devloop ci`: the same pipeline as `up`, once, without watching. Exits 0 when every service
 * is healthy, 1 at the first failure or on timeout (naming who was still waiting and why), and
 * tears everything down unless `--keep`.
 */
import type { Engine } from '../../core/engine/engine.js';
import type { EngineState } from '../../core/store/state.js';
import { createProjectEngine, createReporter, EXIT, load, type GlobalOptions } from '../shared.js';

export interface CiOptions {
  services: string[];
  timeoutMs: number;
  keep: boolean;
}

export async function ci(opts: GlobalOptions, ciOpts: CiOptions): Promise<number> {
  const loaded = await load(opts, 'ci');
  const engine = await createProjectEngine(loaded, opts, ciOpts.services);
  const reporter = createReporter(engine, opts);
  const onSignal = () => void engine.stop('interrupted');
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let code: number;
  try {
    await engine.start();
    const verdict = await waitForVerdict(engine, ciOpts.timeoutMs);
    code = verdict.ok ? EXIT.ok : EXIT.failed;
    const summary = verdict.ok ? `ci: all ${engine.serviceNames().length} services healthy` : `ci: FAILED: ${verdict.reason}`;
    engine.logger()[verdict.ok ? 'info' : 'error'](summary);
  } finally {
    if (!ciOpts.keep) await engine.stop('ci finished');
    reporter.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return code;
}

export interface Verdict { ok: boolean; reason?: string }

/** Resolves when every service is healthy, any has failed, the engine stopped, or time is up. */
export function waitForVerdict(engine: Engine, timeoutMs: number): Promise<Verdict> {
  const names = engine.serviceNames();
  return new Promise((resolve) => {
    const judge = (state: EngineState): Verdict | undefined => {
      const failed = names.map((n) => state.services[n]).find((s) => s?.phase === 'failed');
      if (failed) return { ok: false, reason: `${failed.name} failed: ${failed.error?.message ?? 'unknown error'}` };
      if (state.status === 'stopping' || state.status === 'stopped') return { ok: false, reason: 'interrupted' };
      if (names.every((n) => state.services[n]?.phase === 'healthy')) return { ok: true };
      return undefined;
    };
    const finish = (v: Verdict) => { clearTimeout(timer); unsubscribe(); resolve(v); };
    const timer = setTimeout(() => {
      const state = engine.getState();
      const waiting = names.map((n) => state.services[n]).filter((s) => s && s.phase !== 'healthy')
        .map((s) => `${s!.name} (${s!.phase}${s!.waiting ? `: ${s!.waiting}` : ''})`);
      finish({ ok: false, reason: `timed out after ${timeoutMs} ms; still waiting: ${waiting.join('; ')}` });
    }, timeoutMs);
    const unsubscribe = engine.subscribe((state) => { const v = judge(state); if (v) finish(v); });
    const now = judge(engine.getState());
    if (now) finish(now);
  });
}
