/**
 * The reporter as `bin/` uses it: real Ink on a fake terminal. Ink writes only the last frame
 * when CI is set, so assertions look at what was written by the time the reporter closed.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { Action } from '../../core/store/actions.js';
import { createStore } from '../../core/store/store.js';
import { createFeed } from './feed.js';
import { stripAnsi } from './log-view.js';
import { createTuiReporter } from './reporter.js';

const settle = (ms = 40) => new Promise((r) => setTimeout(r, ms));

function terminal(columns = 120, rows = 30) {
  let out = '';
  const stream = new Writable({ write(chunk: Buffer | string, _enc, cb) { out += chunk.toString(); cb(); } });
  Object.assign(stream, { columns, rows, isTTY: true });
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => out };
}

/** A stdin that is a TTY: raw mode "works" and written bytes arrive as key presses. */
function ttyStdin() {
  const e = new EventEmitter() as EventEmitter & Record<string, unknown>;
  let pending: string | null = null;
  Object.assign(e, {
    isTTY: true,
    setRawMode: () => e, setEncoding: () => e, resume: () => e, pause: () => e, ref: () => e, unref: () => e,
    read: () => { const d = pending; pending = null; return d; },
    press: (d: string) => { pending = d; e.emit('readable'); },
  });
  return e as unknown as NodeJS.ReadStream & { press(d: string): void };
}

function source(actions: Action[] = []) {
  const store = createStore();
  const calls: string[] = [];
  store.dispatch({ type: 'config/loaded', file: '/p/Devfile.ts', services: [{ name: 'api', kind: 'esbuild', target: 'process', triggerMode: 'auto' }] });
  for (const a of actions) store.dispatch(a);
  return {
    store, calls,
    src: Object.assign(store, { triggerManual: (s: string) => { calls.push(`trigger ${s}`); }, setTriggerMode: () => undefined }),
  };
}

describe('createTuiReporter', () => {
  it('renders without keys when stdin is not a terminal, instead of failing on raw mode', async () => {
    const term = terminal();
    const { src, store } = source();
    const tui = createTuiReporter(src, { stdout: term.stream, stdin: new PassThrough() as unknown as NodeJS.ReadStream, onQuit: () => undefined, altScreen: false, captureConsole: false });
    store.dispatch({ type: 'log', line: { time: 0, service: 'api', level: 'output', message: 'listening on :8080' } });
    await settle();
    tui.close();
    const text = stripAnsi(term.text());
    assert.match(text, /▶ api/);
    assert.match(text, /listening on :8080/);
    assert.match(text, /keys are off: stdin is not a terminal/);
  });

  it('reads keys from a terminal stdin: r rebuilds, q quits', async () => {
    const term = terminal();
    const { src, calls } = source();
    const stdin = ttyStdin();
    let quits = 0;
    const tui = createTuiReporter(src, { stdout: term.stream, stdin, onQuit: () => { quits++; }, altScreen: false, captureConsole: false });
    await settle();
    stdin.press('r');
    await settle();
    stdin.press('q');
    await settle();
    tui.close();
    assert.deepEqual(calls, ['trigger api']);
    assert.equal(quits, 1);
    assert.match(stripAnsi(term.text()), /stopping…/);
  });

  it('draws on the alternate screen and gives the shell its screen back on close', async () => {
    const term = terminal();
    const tui = createTuiReporter(source().src, { stdout: term.stream, stdin: new PassThrough() as unknown as NodeJS.ReadStream, onQuit: () => undefined, captureConsole: false });
    await settle();
    tui.close();
    tui.close();
    assert.ok(term.text().startsWith('\x1b[?1049h'));
    assert.ok(term.text().endsWith('\x1b[?1049l'));
    assert.equal(term.text().split('\x1b[?1049l').length, 2, 'left once');
  });

  it('puts console output in the log pane instead of over the frame, and restores console on close', async () => {
    const term = terminal();
    const original = console.log;
    const tui = createTuiReporter(source().src, { stdout: term.stream, stdin: new PassThrough() as unknown as NodeJS.ReadStream, onQuit: () => undefined, altScreen: false, logScope: 'all' });
    console.log('a plugin says %s', 'hello');
    await settle();
    tui.close();
    assert.equal(console.log, original);
    assert.match(stripAnsi(term.text()), /devloop\s+› a plugin says hello/);
  });

  it('keeps the frame within the terminal: rows - 1 lines, no line wider than the columns', async () => {
    const term = terminal(80, 20);
    const long = 'x'.repeat(300);
    const { src } = source([
      { type: 'service/failed', service: 'api', error: { name: 'E', code: 'E', message: `${long}\n${long}\n${long}\n${long}\n${long}\n${long}`, hint: long } },
      ...Array.from({ length: 50 }, (_, i): Action => ({ type: 'log', line: { time: 0, service: 'api', level: 'error', message: `${i} ${long}` } })),
    ]);
    const tui = createTuiReporter(src, { stdout: term.stream, stdin: new PassThrough() as unknown as NodeJS.ReadStream, onQuit: () => undefined, altScreen: false, captureConsole: false });
    await settle();
    tui.close();
    const frames = stripAnsi(term.text()).split(/\x1b\[\d*[A-Za-z]|\x1b\[\?\d+[hl]/);
    const last = frames.filter((f) => f.includes('devloop')).pop()!;
    const lines = last.replace(/\n$/, '').split('\n');
    assert.ok(lines.length <= 19 && lines.length >= 15, `${lines.length} lines`);
    assert.match(lines[0], /^devloop/);
    for (const l of lines) assert.ok([...l].length <= 80, `too wide: ${l.length}`);
  });

  it('lays the frame out again for a resized terminal, on a cleared screen', async () => {
    const term = terminal(120, 30);
    const tui = createTuiReporter(source().src, { stdout: term.stream, stdin: new PassThrough() as unknown as NodeJS.ReadStream, onQuit: () => undefined, captureConsole: false });
    await settle();
    Object.assign(term.stream, { columns: 50, rows: 12 });
    term.stream.emit('resize');
    await settle();
    tui.close();
    const text = term.text();
    assert.ok(text.includes('\x1b[2J\x1b[H'), 'screen cleared');
    const last = stripAnsi(text).split(/\x1b\[\d*[A-Za-z]|\x1b\[\?\d+[hl]/).filter((f) => f.includes('devloop')).pop()!;
    const lines = last.replace(/\n$/, '').split('\n');
    assert.ok(lines.length <= 11, `${lines.length} lines`);
    for (const l of lines) assert.ok([...l].length <= 50, `too wide: ${l}`);
  });
});

describe('feed', () => {
  it('coalesces a burst of actions into one snapshot', async () => {
    const { store } = source();
    const feed = createFeed(store, { intervalMs: 50 });
    let publishes = 0;
    feed.subscribe(() => { publishes++; });
    for (let i = 0; i < 10_000; i++) store.dispatch({ type: 'log', line: { time: 0, service: 'api', level: 'output', message: `l${i}` } });
    await settle(80);
    assert.equal(publishes, 1);
    assert.equal(feed.getSnapshot().logs.all.at(feed.getSnapshot().logs.all.size - 1).text, 'l9999');
    feed.close();
  });

  it('does not repaint for lines of a service that is not on screen', async () => {
    const { store } = source();
    const feed = createFeed(store, { intervalMs: 5 });
    feed.showLogs({ service: 'web' });
    let publishes = 0;
    feed.subscribe(() => { publishes++; });
    store.dispatch({ type: 'log', line: { time: 0, service: 'api', level: 'output', message: 'hidden' } });
    await settle(30);
    assert.equal(publishes, 0);
    assert.equal(feed.getSnapshot().logSeq, 0, 'snapshot not republished');
    store.dispatch({ type: 'service/phase', service: 'api', phase: 'building' });
    await settle(30);
    assert.equal(publishes, 1);
    assert.equal(feed.getSnapshot().logs.service('api')!.size, 1, 'the line was kept meanwhile');
    feed.close();
  });

  it('spaces frames out when they are slow, to stay within its CPU budget', async () => {
    const { store } = source();
    const feed = createFeed(store, { intervalMs: 10, cpuBudget: 0.5 });
    const times: number[] = [];
    feed.subscribe(() => {
      times.push(performance.now());
      const until = performance.now() + 20; // a 20 ms frame
      while (performance.now() < until) { /* render */ }
      feed.frameRendered();
    });
    const stop = setInterval(() => store.dispatch({ type: 'service/waiting', service: 'api', waiting: String(Math.random()) }), 2);
    await settle(600);
    clearInterval(stop);
    feed.close();
    const gaps = times.slice(3).map((t, i) => t - times[i + 2]);
    const avg = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    assert.ok(avg >= 35, `frames every ${avg.toFixed(1)} ms; 20 ms frames at a 50% budget need >= 40`);
  });
});
