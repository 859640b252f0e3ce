/**
 * Web dashboard cost under the TUI bench's load (bench/load.ts: 100 services, 10,000 log lines/s
 * for 3 s, builds finishing and plugin data changing). The load generator and the dashboard
 * server run in this process, as in `devloop up`; Chromium is its own processes, as in real life.
 *
 * Scenarios, all in one run on the same action stream:
 *   (a) the bare store, no reporter: the engine's own cost, the baseline;
 *   (b) the dashboard server with no page connected;
 *   (c) the dashboard server with one Chromium page open and streaming;
 *   (d) the TUI reporter, all-services view, into a fake 200x50 terminal (tui.bench.ts's setup).
 *
 * The page is measured from inside it: an injected requestAnimationFrame counter (the frames a
 * person sees), the page's own paint counter (`__devloopPage.frames`), long tasks and samples of
 * its counters, all timestamped on the wall clock the bench also reads. Puppeteer is disconnected
 * during the measured window, so its DevTools traffic (which would copy every SSE message into
 * this process) costs neither side anything; Chromium's CPU comes from /proc.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Writable, PassThrough } from 'node:stream';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { createStore, type Store } from '../core/store/store.js';
import { startDashboardServer } from '../ui/web/server.js';
import { LINES_PER_SECOND, SECONDS, SERVICES, setup, tick, TICK_MS } from './load.js';
import type { BenchResult } from './types.js';

const COLUMNS = 200;
const ROWS = 50;
const IDLE_MS = 1000;
const CHROMIUM = process.env.DEVLOOP_CHROMIUM ?? '/usr/bin/chromium';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Measure {
  cpuMsPerSecond: number;
  loopDelayP99Ms: number;
  /** Whole window, the 100 ms tail included (as tui.bench.ts measures). */
  wallS: number;
  /** Wall-clock ms (Date.now) when the first tick was sent and when the last one was. */
  start: number;
  loadEnd: number;
}

/** The same pacing and measurement as tui.bench.ts's drive(). */
async function drive(store: Store): Promise<Measure> {
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const start = Date.now();
  const ticks = (SECONDS * 1000) / TICK_MS;
  for (let n = 0; n < ticks; n++) {
    tick(store, n);
    const due = t0 + (n + 1) * TICK_MS;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
  }
  const loadEnd = Date.now();
  await new Promise((r) => setTimeout(r, 100));
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  loop.disable();
  return { cpuMsPerSecond: (cpu.user + cpu.system) / 1000 / wallS, loopDelayP99Ms: loop.percentile(99) / 1e6, wallS, start, loadEnd };
}

function freshStore(): Store {
  const s = createStore();
  setup(s);
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- Chromium's CPU, from /proc: utime + stime of the browser process and all its descendants.

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface ProcCpu { ms: number; renderer: boolean }

function chromiumCpu(rootPid: number): Map<number, ProcCpu> {
  const parent = new Map<number, number>();
  const cpu = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name, which may hold spaces: state ppid ... utime(14) stime(15).
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(entry), Number(f[1]));
      cpu.set(Number(entry), ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK);
    } catch { /* the process ended while we looked */ }
  }
  const out = new Map<number, ProcCpu>();
  for (const [pid, ms] of cpu) {
    let p: number | undefined = pid;
    while (p && p !== rootPid && p !== 1) p = parent.get(p);
    if (p !== rootPid) continue;
    let renderer = false;
    try { renderer = readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer'); } catch { /* ended */ }
    out.set(pid, { ms, renderer });
  }
  return out;
}

function cpuDelta(before: Map<number, ProcCpu>, after: Map<number, ProcCpu>): { total: number; renderer: number } {
  let total = 0;
  let renderer = 0;
  for (const [pid, a] of after) {
    const d = a.ms - (before.get(pid)?.ms ?? 0);
    total += d;
    if (a.renderer) renderer += d;
  }
  return { total, renderer };
}

// ---- What runs inside the page before its own script: counters stamped with Date.now().

const PAGE_PROBE = `(() => {
  const raf = [], longs = [], samples = [];
  // resumeAt: the counter can be held off until then, to see what Chromium costs without it.
  const bench = window.__bench = { raf, longs, samples, resumeAt: 0 };
  const loop = () => {
    if (Date.now() < bench.resumeAt) { setTimeout(loop, 5); return; }
    raf.push(Date.now());
    requestAnimationFrame(loop);
  };
  requestAnimationFrame(loop);
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) longs.push([performance.timeOrigin + e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch {}
  setInterval(() => {
    const c = window.__devloopPage;
    if (c) samples.push([Date.now(), c.frames, c.logLines, c.hello, c.events]);
  }, 50);
})();`;

interface Probe {
  raf: number[];
  longs: [number, number][];
  /** [time, frames, logLines, hello, events] */
  samples: [number, number, number, number, number][];
}

async function probe(page: Page): Promise<Probe> {
  return page.evaluate('window.__bench') as Promise<Probe>;
}

async function jsHeapMiB(page: Page): Promise<number> {
  return ((await page.metrics()).JSHeapUsedSize ?? NaN) / 2 ** 20;
}

/** The last sample taken at or before `t`. */
function sampleAt(samples: Probe['samples'], t: number): Probe['samples'][number] {
  let at = samples[0];
  for (const s of samples) if (s[0] <= t) at = s;
  return at;
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error(`dashboard bench: ${what} did not happen within ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function pageRun() {
  const store = freshStore();
  const dash = await startDashboardServer({ source: store, project: 'bench', version: 'bench', port: 0 });
  let browser: Browser | undefined;
  const launched = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--headless=new', '--disable-dev-shm-usage'],
    defaultViewport: { width: 1400, height: 900 },
  });
  browser = launched;
  const proc = launched.process();
  const rootPid = proc?.pid;
  if (!rootPid) throw new Error('dashboard bench: Chromium was launched but puppeteer gives no pid');
  try {
    let page = await launched.newPage();
    await page.evaluateOnNewDocument(PAGE_PROBE);
    await page.goto(dash.url, { waitUntil: 'load' });
    await waitFor('the page streaming (#connection "live", 100 service rows)', () => page.evaluate(`
      document.querySelector('#connection')?.textContent?.trim() === 'live'
      && document.querySelectorAll('#services tr[data-service]').length === ${SERVICES}
      && window.__devloopPage?.hello >= 1`) as Promise<boolean>, 15_000);
    await sleep(300);
    const heapBefore = await jsHeapMiB(page);
    // Two idle seconds (the page open, streaming nothing but chart samples): the first without
    // the frame counter (its own requestAnimationFrame loop keeps Chromium drawing), the second with it.
    const resumeAt = Date.now() + 300 + IDLE_MS;
    await page.evaluate(`window.__bench.resumeAt = ${resumeAt}`);
    const ws = launched.wsEndpoint();
    await launched.disconnect();
    browser = undefined;
    await sleep(Math.max(0, resumeAt - IDLE_MS - Date.now()));
    const bareCpu0 = chromiumCpu(rootPid);
    const bareStart = Date.now();
    await sleep(Math.max(0, resumeAt - Date.now()));
    const idleCpu0 = chromiumCpu(rootPid);
    const bareEnd = Date.now();
    const idleStart = Date.now();
    await sleep(IDLE_MS);
    const idleEnd = Date.now();
    const cpu0 = chromiumCpu(rootPid);
    const hub0 = { ...dash.hub.stats };
    gc();
    const m = await drive(store);
    const cpu1 = chromiumCpu(rootPid);
    const hub1 = { ...dash.hub.stats };

    browser = await puppeteer.connect({ browserWSEndpoint: ws, defaultViewport: null });
    const pages = await browser.pages();
    page = pages.find((p) => p.url().startsWith(dash.url)) ?? pages[0];
    const sent = SECONDS * LINES_PER_SECOND;
    const dropped = hub1.dropped - hub0.dropped;
    // Wait for the page to have every line the server sent it (or give up and say how many came).
    const caughtUp = await waitFor('the page reading the stream', async () => {
      const c = await page.evaluate('window.__devloopPage') as { logLines: number };
      return c.logLines >= sent - dropped || Date.now() > m.loadEnd + 15_000 ? c : undefined;
    }, 20_000);
    const heapAfter = await jsHeapMiB(page);
    const p = await probe(page);
    const domRows = await page.evaluate(`document.querySelectorAll('.log-row').length`) as number;
    const logCount = await page.evaluate(`document.querySelector('#log-count')?.textContent ?? ''`) as string;

    const windowMs = m.loadEnd - m.start;
    const inWindow = (t: number, a: number, b: number) => t >= a && t < b;
    const rafIn = p.raf.filter((t) => inWindow(t, m.start, m.loadEnd));
    let gap = 0;
    for (let i = 1; i < rafIn.length; i++) gap = Math.max(gap, rafIn[i] - rafIn[i - 1]);
    const fps = (rafIn.length * 1000) / windowMs;
    const idleFps = (p.raf.filter((t) => inWindow(t, idleStart, idleEnd)).length * 1000) / (idleEnd - idleStart);
    const longs = p.longs.filter(([t]) => inWindow(t, m.start, m.loadEnd));
    const s0 = sampleAt(p.samples, m.start);
    const s1 = sampleAt(p.samples, m.loadEnd);
    const paints = ((s1[1] - s0[1]) * 1000) / Math.max(1, s1[0] - s0[0]);
    const done = p.samples.find((s) => s[2] >= Math.min(caughtUp.logLines, sent - dropped));
    const chrome = cpuDelta(cpu0, cpu1);
    const chromeIdle = cpuDelta(idleCpu0, cpu0);
    const chromeBare = cpuDelta(bareCpu0, idleCpu0);
    const longest = longs.reduce((a, l) => (l[1] > a[1] ? l : a), [m.start, 0]);
    return {
      m,
      fps, idleFps, gapMs: gap, paints,
      longMs: longs.reduce((a, [, d]) => a + d, 0), longCount: longs.length, longMax: longest[1], longAtMs: longest[0] - m.start,
      heapBefore, heapAfter,
      sent, received: caughtUp.logLines, dropped, resyncs: hub1.resyncs - hub0.resyncs, hellos: (p.samples.at(-1)?.[3] ?? 0),
      catchUpMs: done ? done[0] - m.loadEnd : NaN,
      kibPerSecond: (hub1.bytes - hub0.bytes) / 1024 / m.wallS,
      flushesPerSecond: (hub1.flushes - hub0.flushes) / m.wallS,
      chromeMsPerSecond: chrome.total / m.wallS, rendererMsPerSecond: chrome.renderer / m.wallS,
      chromeIdleMsPerSecond: chromeIdle.total / ((idleEnd - idleStart) / 1000),
      chromeBareMsPerSecond: chromeBare.total / ((bareEnd - bareStart) / 1000),
      domRows, logCount,
    };
  } finally {
    try {
      browser ??= await puppeteer.connect({ browserWSEndpoint: launched.wsEndpoint(), defaultViewport: null });
      await browser.close();
    } catch { /* killed below */ }
    if (proc && proc.exitCode === null) proc.kill('SIGKILL');
    await dash.close();
  }
}

function fakeTerminal(): { stream: NodeJS.WriteStream; bytes: () => number } {
  let bytes = 0;
  const stream = new Writable({ write(chunk: Buffer | string, _enc, cb) { bytes += chunk.length; cb(); } });
  Object.assign(stream, { columns: COLUMNS, rows: ROWS, isTTY: true });
  return { stream: stream as unknown as NodeJS.WriteStream, bytes: () => bytes };
}

type CreateTui = Awaited<ReturnType<typeof import('../ui/tui/index.js').loadTuiReporter>>;

/** As tui.bench.ts's tuiRun(…, 'all'): the figures the dashboard is set beside. */
async function tuiRun(createTuiReporter: CreateTui) {
  const store = freshStore();
  const term = fakeTerminal();
  let renders = 0;
  const stdin = new PassThrough() as unknown as NodeJS.ReadStream;
  const source = Object.assign(store, { triggerManual: () => undefined, setTriggerMode: () => undefined });
  const tui = createTuiReporter(source, { stdout: term.stream, stdin, onQuit: () => undefined, altScreen: false, logScope: 'all', onRender: () => { renders++; } });
  await sleep(200);
  const before = renders;
  const bytes0 = term.bytes();
  gc();
  const m = await drive(store);
  const frames = (renders - before) / m.wallS;
  const kibPerSecond = (term.bytes() - bytes0) / 1024 / m.wallS;
  tui.close();
  return { m, frames, kibPerSecond };
}

export async function run(): Promise<BenchResult[]> {
  if (!existsSync(CHROMIUM)) throw new Error(`dashboard bench: no Chromium at ${CHROMIUM}; install it (apt-get install chromium) or set DEVLOOP_CHROMIUM to its path`);
  if (!existsSync(new URL('../dist/web/app.js', import.meta.url))) throw new Error('dashboard bench: dist/web/app.js is missing, so the page would be blank; run "node scripts/build-web.mjs" first');
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  const createTuiReporter = await (await import('../ui/tui/index.js')).loadTuiReporter();
  { const s = createStore(); setup(s); for (let n = 0; n < 50; n++) tick(s, n); }

  gc();
  const bare = await drive(freshStore());

  const noPageStore = freshStore();
  const noPage = await startDashboardServer({ source: noPageStore, project: 'bench', version: 'bench', port: 0 });
  gc();
  const server = await drive(noPageStore);
  await noPage.close();

  const web = await pageRun();
  const tui = await tuiRun(createTuiReporter);

  const load = `${SERVICES} services, ${LINES_PER_SECOND} lines/s for ${SECONDS}s`;
  const f1 = (x: number) => x.toFixed(1);
  const cpuNote = `dashboard, no page: ${f1(server.cpuMsPerSecond)} ms/s; TUI all-services: ${f1(tui.m.cpuMsPerSecond)} ms/s`;
  const loopNote = `dashboard, no page: ${f1(server.loopDelayP99Ms)} ms; TUI all-services: ${f1(tui.m.loopDelayP99Ms)} ms`;
  return [
    { name: 'Chromium frames/s during the load (rAF callbacks)', value: web.fps, unit: 'frames/s', baseline: { name: 'same page, idle second before', value: web.idleFps }, note: `${load}, 1400x900; longest gap between frames ${web.gapMs.toFixed(0)} ms` },
    { name: 'page paints/s (__devloopPage.frames)', value: web.paints, unit: 'frames/s', baseline: { name: 'TUI frames/s, all-services view', value: tui.frames }, note: 'paints happen only when something changed, at most one per frame' },
    { name: 'page long tasks during the load', value: web.longMs, unit: 'ms', note: `${web.longCount} tasks over 50 ms in ${f1((web.m.loadEnd - web.m.start) / 1000)} s, longest ${web.longMax.toFixed(0)} ms at +${web.longAtMs.toFixed(0)} ms` },
    { name: 'page JS heap after the load', value: web.heapAfter, unit: 'MiB', baseline: { name: 'after hello, before the load', value: web.heapBefore }, note: `${web.domRows} .log-row elements; #log-count "${web.logCount}"` },
    { name: 'log lines the page received', value: web.received, unit: 'lines', baseline: { name: 'lines sent', value: web.sent }, note: `hub dropped ${web.dropped}, resyncs ${web.resyncs}, hellos ${web.hellos}; last line in the page ${web.catchUpMs.toFixed(0)} ms after the load ended` },
    { name: 'SSE stream to the page', value: web.kibPerSecond, unit: 'KiB/s', baseline: { name: 'TUI terminal output', value: tui.kibPerSecond }, note: `${f1(web.flushesPerSecond)} flushes/s` },
    { name: 'server CPU per wall second, page streaming', value: web.m.cpuMsPerSecond, unit: 'ms/s', baseline: { name: 'bare store, no reporter', value: bare.cpuMsPerSecond }, note: cpuNote },
    { name: 'server CPU per wall second, no page', value: server.cpuMsPerSecond, unit: 'ms/s', baseline: { name: 'bare store, no reporter', value: bare.cpuMsPerSecond } },
    { name: 'event-loop delay p99, page streaming', value: web.m.loopDelayP99Ms, unit: 'ms', baseline: { name: 'bare store, no reporter', value: bare.loopDelayP99Ms }, note: loopNote },
    { name: 'Chromium CPU per wall second, all its processes', value: web.chromeMsPerSecond, unit: 'ms/s', baseline: { name: 'same page, idle second before', value: web.chromeIdleMsPerSecond }, note: `renderer ${f1(web.rendererMsPerSecond)} ms/s; idle without the frame counter ${f1(web.chromeBareMsPerSecond)} ms/s; /proc utime+stime` },
    { name: 'CPU per wall second, TUI all-services view (same stream)', value: tui.m.cpuMsPerSecond, unit: 'ms/s', baseline: { name: 'bare store, no reporter', value: bare.cpuMsPerSecond }, note: `TUI ${f1(tui.frames)} frames/s, 200x50` },
  ];
}
