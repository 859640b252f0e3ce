import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createStore } from '../../core/store/store.js';
import type { Action } from '../../core/store/actions.js';
import { judge, newMemory, type VerdictOptions } from './verdict.js';

function setup(actions: Action[]) {
  const store = createStore();
  store.dispatch({ type: 'engine/started' });
  store.dispatch({ type: 'config/loaded', file: 'Devfile.ts', services: [{ name: 'api', kind: 'none', target: 'process', triggerMode: 'auto' }, { name: 'web', kind: 'none', target: 'process', triggerMode: 'auto' }] });
  for (const a of actions) store.dispatch(a);
  return store;
}

const opts: VerdictOptions = { services: ['api', 'web'], startedAt: 0, timeoutMs: 60_000, readinessTimeoutMs: 10_000, graceMs: 0 };
const healthy = (service: string): Action[] => [{ type: 'service/phase', service, phase: 'starting' }, { type: 'service/health', service, health: 'healthy' }];

it('passes when every service is healthy, not before', () => {
  const mem = newMemory();
  const store = setup(healthy('api'));
  assert.deepEqual(judge(store.getState(), 1000, opts, mem), { done: false });
  for (const a of healthy('web')) store.dispatch(a);
  assert.deepEqual(judge(store.getState(), 1000, opts, mem), { done: true, ok: true });
});

it('fails at once on a failed service with grace 0, naming it', () => {
  const store = setup([...healthy('api'), { type: 'service/failed', service: 'web', error: { name: 'DevloopError', code: 'BUILD_FAILED', message: 'exit 2' } }]);
  assert.deepEqual(judge(store.getState(), 5, opts, newMemory()), { done: true, ok: false, service: 'web', reason: 'web failed: exit 2' });
});

it('treats a crash restart as a failure when the service is not healthy again after the grace period', () => {
  const mem = newMemory();
  const crash: Action[] = [{ type: 'service/health', service: 'web', health: 'unhealthy', message: 'exited with code 1' }, { type: 'service/restarted', service: 'web', reason: 'exit 1' }];
  const store = setup([...healthy('api'), ...healthy('web'), ...crash]);
  const graceful = { ...opts, graceMs: 2000 };
  assert.deepEqual(judge(store.getState(), 1000, graceful, mem), { done: false });
  assert.deepEqual(judge(store.getState(), 3000, graceful, mem), { done: true, ok: false, service: 'web', reason: 'web crashed and was restarted 1 time (exited with code 1)' });
  // With no grace at all, the crash fails ci at once.
  assert.deepEqual(judge(store.getState(), 1000, opts, newMemory()), { done: true, ok: false, service: 'web', reason: 'web crashed and was restarted 1 time (exited with code 1)' });
});

it('forgives a crash the service recovered from within the grace period', () => {
  const mem = newMemory();
  const store = setup([...healthy('api'), ...healthy('web'), { type: 'service/health', service: 'web', health: 'unhealthy' }, { type: 'service/restarted', service: 'web', reason: 'exit 1' }]);
  const graceful = { ...opts, graceMs: 2000 };
  assert.deepEqual(judge(store.getState(), 1000, graceful, mem), { done: false });
  store.dispatch({ type: 'service/health', service: 'web', health: 'healthy' });
  assert.deepEqual(judge(store.getState(), 1500, graceful, mem), { done: false }, 'still inside the grace window');
  assert.deepEqual(judge(store.getState(), 3000, graceful, mem), { done: true, ok: true });
});

it('fails a service not ready within the readiness timeout after its deploy, saying what it waits on', () => {
  const mem = newMemory();
  const store = setup([...healthy('api'), { type: 'service/phase', service: 'web', phase: 'starting', waiting: 'waiting to become healthy' }, { type: 'service/health', service: 'web', health: 'unknown', message: 'GET /healthz: connection refused' }]);
  assert.deepEqual(judge(store.getState(), 1000, opts, mem), { done: false });
  const v = judge(store.getState(), 11_001, opts, mem);
  assert.deepEqual(v, { done: true, ok: false, service: 'web', reason: 'web was not ready 10s after it was deployed (starting: waiting to become healthy; health: GET /healthz: connection refused)' });
});

it('does not count time spent waiting for dependencies against readiness', () => {
  const mem = newMemory();
  const store = setup([{ type: 'service/phase', service: 'web', phase: 'queued', waiting: 'waiting for api to become healthy' }]);
  assert.deepEqual(judge(store.getState(), 50_000, opts, mem), { done: false });
});

it('fails at the global timeout listing who still waits', () => {
  const store = setup([...healthy('api'), { type: 'service/phase', service: 'web', phase: 'queued', waiting: 'waiting for db' }]);
  const v = judge(store.getState(), 60_000, opts, newMemory());
  assert.deepEqual(v, { done: true, ok: false, service: 'web', reason: 'timed out after 1m; still waiting: web (queued: waiting for db)' });
});
