import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStore } from '../store/store.js';
import { sessionActions } from './actions.js';

/** A store with two services and a record of what the actions asked the engine to do. */
function engine() {
  const store = createStore();
  store.dispatch({ type: 'config/loaded', file: '/p/Devfile.ts', services: ['api', 'db'].map((name) => ({ name, kind: 'none', target: 'process', triggerMode: 'auto' as const })) });
  const calls: string[] = [];
  return {
    calls,
    getState: store.getState,
    triggerManual: (s: string) => { calls.push(`trigger ${s}`); },
    setTriggerMode: (s: string, m: string) => { calls.push(`mode ${s} ${m}`); },
    debug: (s: string, p: number | undefined) => { calls.push(`debug ${s} ${p}`); },
  };
}

describe('session actions', () => {
  it('act on a known service and say what they did', () => {
    const e = engine();
    const picked: string[] = [];
    const a = sessionActions(e, { debugAnyPort: (s) => picked.push(s) });
    assert.deepEqual(a.rebuild('api'), { status: 202, body: { ok: true, message: 'rebuilding api' } });
    assert.equal(a.setTriggerMode('db', 'manual').status, 200);
    assert.equal(a.debug('api', '9230').status, 202);
    assert.equal(a.debug('db').status, 202);
    assert.deepEqual(e.calls, ['trigger api', 'mode db manual', 'debug api 9230']);
    assert.deepEqual(picked, ['db']);
  });

  it('refuse an unknown service, a bad mode or port, naming what is allowed, and do nothing', () => {
    const e = engine();
    const a = sessionActions(e);
    const unknown = a.rebuild('nope');
    assert.equal(unknown.status, 404);
    assert.match((unknown.body as { error: string }).error, /no service named "nope"; the session runs api, db/);
    assert.match((a.setTriggerMode('api', 'sometimes').body as { error: string }).error, /"auto" or "manual", got "sometimes"/);
    assert.equal(a.debug('api', '70000').status, 400);
    assert.equal(a.debug('api').status, 400, 'no port and no way to pick one');
    assert.deepEqual(e.calls, []);
  });
});
