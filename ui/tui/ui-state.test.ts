import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Key } from 'ink';
import { newService } from '../../core/store/reducer.js';
import { initialUi, onKey, type KeyContext, type UiState } from './ui-state.js';

const key = (over: Partial<Key> = {}): Key => ({
  upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
  return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
  super: false, hyper: false, capsLock: false, numLock: false, ...over,
});

const ctx = (over: Partial<KeyContext['log']> = {}): KeyContext => ({
  order: ['api', 'web', 'db'],
  services: { api: newService('api', 'esbuild', 'process', 'auto'), web: newService('web', 'docker', 'docker', 'manual'), db: newService('db', 'none', 'docker', 'auto') },
  log: { count: 100, height: 20, seqAt: (i) => 1000 + i, topOf: (ui) => (ui.follow ? Math.max(0, 100 - 20) : ui.anchor - 1000), ...over },
  canDebug: true,
  now: 0,
});

const press = (ui: UiState, input: string, k: Partial<Key> = {}, c = ctx()) => onKey(ui, input, key(k), c);

describe('keys', () => {
  it('j/k and arrows move the selection within bounds', () => {
    let ui = press(initialUi, 'j').ui;
    assert.equal(ui.selected, 'web');
    ui = press(ui, '', { downArrow: true }).ui;
    ui = press(ui, 'j').ui;
    assert.equal(ui.selected, 'db');
    ui = press(ui, 'k').ui;
    assert.equal(ui.selected, 'web');
  });

  it('r and t act on the selected service', () => {
    const ui = press(initialUi, 'j').ui;
    assert.deepEqual(press(ui, 'r').effects, [{ type: 'trigger', service: 'web' }]);
    assert.deepEqual(press(ui, 't').effects, [{ type: 'mode', service: 'web', mode: 'auto' }]);
    assert.deepEqual(press(initialUi, 't').effects, [{ type: 'mode', service: 'api', mode: 'manual' }]);
  });

  it('q quits, and a second q while stopping forces it', () => {
    const first = press(initialUi, 'q');
    assert.deepEqual(first.effects, [{ type: 'quit' }]);
    assert.deepEqual(press(first.ui, '', { ctrl: true }).effects, [], 'ctrl alone is nothing');
    assert.deepEqual(onKey(first.ui, 'c', key({ ctrl: true }), ctx()).effects, [{ type: 'forceQuit' }]);
  });

  it('PgUp stops following at the line a page up; PgDn back to the end resumes it', () => {
    const up = press(initialUi, '', { pageUp: true }).ui;
    assert.equal(up.follow, false);
    assert.equal(up.anchor, 1000 + 61);
    const down = press(up, '', { pageDown: true }).ui;
    assert.equal(down.follow, true);
    assert.equal(press(up, 'f').ui.follow, true);
    assert.equal(press(up, '', { end: true }).ui.follow, true);
  });

  it('PgUp keeps following when everything fits on screen', () => {
    assert.equal(press(initialUi, '', { pageUp: true }, ctx({ count: 5, topOf: () => 0 })).ui.follow, true);
  });

  it('/ opens the filter input; typing, backspace, enter applies, esc clears', () => {
    let ui = press(initialUi, '/').ui;
    for (const ch of 'errx') ui = press(ui, ch).ui;
    ui = press(ui, '', { backspace: true }).ui;
    assert.equal(ui.draft, 'err');
    ui = press(ui, '', { return: true }).ui;
    assert.deepEqual([ui.filter, ui.draft], ['err', undefined]);
    assert.equal(press(ui, '', { escape: true }).ui.filter, '');
  });

  it('typing q into the filter does not quit', () => {
    const ui = press(initialUi, '/').ui;
    const r = press(ui, 'q');
    assert.deepEqual(r.effects, []);
    assert.equal(r.ui.draft, 'q');
  });

  it('l shows the selected service\'s logs with focus; up/down then scroll them', () => {
    const ui = press({ ...initialUi, scope: 'all' }, 'l').ui;
    assert.deepEqual([ui.scope, ui.focus], ['selected', 'logs']);
    const scrolled = press(ui, 'k').ui;
    assert.equal(scrolled.follow, false);
    assert.equal(scrolled.selected, undefined, 'selection unchanged');
  });

  it('d without a debugger says so instead of failing', () => {
    const r = onKey(initialUi, 'd', key(), { ...ctx(), canDebug: false });
    assert.deepEqual(r.effects, []);
    assert.match(r.ui.flash!.text, /not available/);
  });
});
