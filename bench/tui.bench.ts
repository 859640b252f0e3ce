/**
 * TUI cost under load: 100 services and a busy log (10,000 lines/s for 3 s, 90% from one
 * chatty service, with builds finishing and plugin data changing meanwhile) rendered into a
 * fake 200x50 terminal. Baselines in the same run: the same action stream into the store with
 * no reporter (the engine's own cost), and the plain line reporter writing to a null sink.
 *
 * Figures: frames written per second, CPU time per wall second, event-loop delay p99 (how
 * late a key press would be handled), peak heap growth, and lines the TUI keeps.
 */
import { Writable } from 'node:stream';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createStore, type Store } from '../core/store/store.js';
import { createPlainReporter } from '../ui/plain/reporter.js';
import { LINES_PER_SECOND, SECONDS, SERVICES, setup, tick, TICK_MS } from './load.js';
import { median, percentile, type BenchResult } from './types.js';

const COLUMNS = 200;
const ROWS = 50;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Measure {
  cpuMsPerSecond: number;
  loopDelayP99Ms: number;
  heapGrowthMiB: number;
  wallS: number;
}

async function drive(store: Store, heap0 = (gc(), process.memoryUsage().heapUsed), rate = LINES_PER_SECOND): Promise<Measure> {
  let peak = heap0;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().heapUsed); }, 25);
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const ticks = (SECONDS * 1000) / TICK_MS;
  for (let n = 0; n < ticks; n++) {
    tick(store, n, rate);
    // Paced on the wall clock, like a real process's output; timers (the TUI throttle) run between.
    const due = t0 + (n + 1) * TICK_MS;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  }
  await new Promise((r) => setTimeout(r, 100));
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  return { cpuMsPerSecond: (cpu.user + cpu.system) / 1000 / wallS, loopDelayP99Ms: loop.percentile(99) / 1e6, heapGrowthMiB: (peak - heap0) / 2 ** 20, wallS };
}

function fakeTerminal(): { stream: NodeJS.WriteStream; bytes: () => number } {
  let bytes = 0;
  const stream = new Writable({ write(chunk: Buffer | string, _enc, cb) { bytes += chunk.length; cb(); } });
  Object.assign(stream, { columns: COLUMNS, rows: ROWS, isTTY: true });
  return { stream: stream as unknown as NodeJS.WriteStream, bytes: () => bytes };
}

export async function run(): Promise<BenchResult[]> {
  // Ink renders only the last frame under CI; the bench must see what a terminal user sees.
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  const createTuiReporter = await (await import('../ui/tui/index.js')).loadTuiReporter();
  // Warm-up: JIT and module caches, so the first measured scenario is not penalised.
  { const s = createStore(); setup(s); for (let n = 0; n < 50; n++) tick(s, n); }

  const bare = createStore();
  gc();
  const bareHeap0 = process.memoryUsage().heapUsed;
  setup(bare);
  const base = { ...(await drive(bare, bareHeap0)), retainedMiB: 0 };
  gc();
  base.retainedMiB = (process.memoryUsage().heapUsed - bareHeap0) / 2 ** 20;

  const plainStore = createStore();
  setup(plainStore);
  let plainBytes = 0;
  const plain = createPlainReporter(plainStore, { write: (t) => { plainBytes += t.length; } });
  const plainM = await drive(plainStore);
  plain.close();

  const all = await tuiRun(createTuiReporter, 'all');
  const one = await tuiRun(createTuiReporter, 'selected');
  const calm = await tuiRun(createTuiReporter, 'all', 100);
  const calmBase = await drive((() => { const s = createStore(); setup(s); return s; })(), undefined, 100);

  const total = SECONDS * LINES_PER_SECOND;
  const note = `${SERVICES} services, ${LINES_PER_SECOND} lines/s for ${SECONDS}s (${total} lines), ${COLUMNS}x${ROWS}`;
  return [
    { name: 'TUI frames/s, all-services log view', value: all.frames, unit: 'frames/s', note: `${note}; cap 20, lowered when frames are slow` },
    { name: 'TUI frames/s, one quiet service shown', value: one.frames, unit: 'frames/s', note: 'the chatty service is not on screen' },
    { name: 'TUI frame time (Ink layout + output), median', value: median(all.renderTimes), unit: 'ms', note: `p95 ${percentile(all.renderTimes, 95).toFixed(1)} ms, all-services view` },
    { name: 'CPU per wall second, TUI all-services view', value: all.m.cpuMsPerSecond, unit: 'ms/s', baseline: { name: 'store only, no reporter', value: base.cpuMsPerSecond }, note: `plain reporter: ${plainM.cpuMsPerSecond.toFixed(0)} ms/s` },
    { name: 'CPU per wall second, TUI one quiet service', value: one.m.cpuMsPerSecond, unit: 'ms/s', baseline: { name: 'store only, no reporter', value: base.cpuMsPerSecond } },
    { name: 'CPU per wall second, TUI at 100 lines/s (all-services view)', value: calm.m.cpuMsPerSecond, unit: 'ms/s', baseline: { name: 'store only, no reporter', value: calmBase.cpuMsPerSecond }, note: `${calm.frames.toFixed(1)} frames/s; a build finishing every 100 ms` },
    { name: 'event-loop delay p99, TUI all-services view', value: all.m.loopDelayP99Ms, unit: 'ms', baseline: { name: 'store only, no reporter', value: base.loopDelayP99Ms }, note: `plain reporter: ${plainM.loopDelayP99Ms.toFixed(1)} ms; bounds key-press latency` },
    { name: 'peak heap growth, TUI all-services view', value: all.m.heapGrowthMiB, unit: 'MiB', baseline: { name: 'store only, no reporter', value: base.heapGrowthMiB }, note: `plain reporter: ${plainM.heapGrowthMiB.toFixed(1)} MiB; garbage included` },
    { name: 'heap retained after GC, TUI all-services view', value: all.retainedMiB, unit: 'MiB', baseline: { name: 'store only, no reporter', value: base.retainedMiB }, note: `TUI keeps ${all.lines} log lines` },
    { name: 'terminal output, TUI all-services view', value: all.kibPerSecond, unit: 'KiB/s', baseline: { name: 'plain reporter', value: plainBytes / 1024 / plainM.wallS } },
  ];
}

type CreateTui = Awaited<ReturnType<typeof import('../ui/tui/index.js').loadTuiReporter>>;

async function tuiRun(createTuiReporter: CreateTui, logScope: 'all' | 'selected', rate = LINES_PER_SECOND) {
  const { PassThrough } = await import('node:stream');
  const store = createStore();
  setup(store);
  const term = fakeTerminal();
  const renderTimes: number[] = [];
  const stdin = new PassThrough() as unknown as NodeJS.ReadStream; // not a TTY: no raw mode, as under a pipe
  const source = Object.assign(store, { triggerManual: () => undefined, setTriggerMode: () => undefined });
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const tui = createTuiReporter(source, { stdout: term.stream, stdin, onQuit: () => undefined, altScreen: false, logScope, onRender: (ms) => renderTimes.push(ms) });
  await new Promise((r) => setTimeout(r, 200));
  const before = renderTimes.length;
  const bytes0 = term.bytes();
  const m = await drive(store, heap0, rate);
  const frames = (renderTimes.length - before) / m.wallS;
  const kibPerSecond = (term.bytes() - bytes0) / 1024 / m.wallS;
  gc();
  const retainedMiB = (process.memoryUsage().heapUsed - heap0) / 2 ** 20;
  const lines = tui.stats().logLinesKept;
  tui.close();
  return { m, frames, renderTimes: renderTimes.slice(before), kibPerSecond, retainedMiB, lines };
}

