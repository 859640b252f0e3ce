import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStore } from '../../core/store/store.js';
import { createPlainReporter } from './reporter.js';

function setup() {
  const store = createStore();
  let out = '';
  createPlainReporter(store, { write: (t) => { out += t; } });
  store.dispatch({ type: 'config/loaded', file: 'Devfile.ts', services: [{ name: 'api', kind: 'docker', target: 'docker', triggerMode: 'auto' }] });
  return { store, out: () => out };
}

describe('plain reporter', () => {
  it('stamps each line with milliseconds', () => {
    const { store, out } = setup();
    store.dispatch({ type: 'log', line: { time: Date.UTC(2026, 0, 1, 12, 0, 1, 234), service: 'api', level: 'info', message: 'built in 12 ms' } });
    assert.equal(out(), '12:00:01.234 api built in 12 ms\n');
  });

  it('does not print a failure the log already carries, nor repeat a line just logged', () => {
    const { store, out } = setup();
    const error = { name: 'DevloopError', code: 'X', message: 'api exited with code 1; restarting in 1 s\n  last output:\n    boom', hint: 'fix it and save' };
    store.dispatch({ type: 'service/failed', service: 'api', error, logged: true });
    assert.equal(out(), '', 'logged: the pipeline said it in full');
    store.dispatch({ type: 'log', line: { time: 0, service: 'api', level: 'error', message: 'api exited with code 1; restarting in 1 s' } });
    store.dispatch({ type: 'service/failed', service: 'api', error });
    const lines = out().split('\n').map((l) => l.slice(13));
    assert.deepEqual(lines, ['api api exited with code 1; restarting in 1 s', 'api ✖ failed (as above)', 'api   last output:', 'api     boom', 'api   try: fix it and save', '']);
  });
});
