/**
 * Watcher latency and burst handling, against raw @parcel/watcher measured in the same run.
 *
 * - edit -> onBatch latency, median and p95 of 20 edits, with the default 100 ms quiet window
 *   and with 0 ms (which shows what devloop's own filtering and coalescing cost);
 * - the baseline: subscribe to @parcel/watcher directly and time write -> callback;
 * - a 10,000-file burst over two folders: time until every file has been delivered (every file
 *   is read and hashed before delivery, see contents.ts);
 * - the content ledger: the baseline scan of a 10,000-file tree and the comparison of 10,000
 *   changed files, against lstat of the same files.
 */
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { lstat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import parcel from '@parcel/watcher';
import { createWatcher } from '../core/watch/watcher.js';
import { mapChangesToTargets } from '../core/watch/targets.js';
import { ContentLedger } from '../core/watch/contents.js';
import type { WatchBatch } from '../core/watch/types.js';
import { median, percentile, type BenchResult } from './types.js';

export type { BenchResult };

const EDITS = 20;
const BURST_FILES = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function project(): string {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'devloop-bench-watch-')));
  for (const dir of ['api/src', 'api/pkg/one', 'api/pkg/two', 'web/src']) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, '.gitignore'), 'node_modules/\ndist/\n*.log\n');
  writeFileSync(join(root, 'api/src/index.ts'), 'export {};\n');
  return root;
}

function stats(samples: number[]): { median: number; p95: number } {
  return { median: round(median(samples)), p95: round(percentile(samples, 95)) };
}
const round = (n: number) => Math.round(n * 10) / 10;

/** Times `EDITS` edits of one file, each from the write to `arrived()` resolving. */
async function timeEdits(file: string, arrived: () => Promise<void>, settleMs: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < EDITS + 2; i++) {
    const done = arrived();
    const t0 = performance.now();
    writeFileSync(file, `export const v = ${i};\n`);
    await done;
    if (i >= 2) samples.push(performance.now() - t0); // the first two warm caches and the JIT
    await sleep(settleMs); // let trailing events drain so the next edit starts from idle
  }
  return samples;
}

async function rawParcelLatency(root: string): Promise<number[]> {
  let notify: (() => void) | undefined;
  const sub = await parcel.subscribe(root, () => { notify?.(); notify = undefined; }, { ignore: ['**/.git', '**/node_modules'] });
  try {
    return await timeEdits(join(root, 'api/src/index.ts'), () => new Promise<void>((r) => { notify = r; }), 150);
  } finally {
    await sub.unsubscribe();
  }
}

async function devloopLatency(root: string, debounceMs: number): Promise<number[]> {
  let notify: (() => void) | undefined;
  const watcher = await createWatcher({
    root,
    debounceMs,
    targets: [{ name: 'api', paths: [join(root, 'api')] }, { name: 'web', paths: [join(root, 'web')] }],
    files: [join(root, 'Devfile.ts')],
    onBatch: () => { notify?.(); notify = undefined; },
    onError: (e) => { throw e; },
  });
  try {
    return await timeEdits(join(root, 'api/src/index.ts'), () => new Promise<void>((r) => { notify = r; }), debounceMs + 150);
  } finally {
    await watcher.close();
  }
}

async function burst(root: string, maxWaitMs?: number): Promise<{ writeMs: number; deliveredMs: number; batches: number }> {
  const files = Array.from({ length: BURST_FILES }, (_, i) => join(root, i % 2 ? 'api/pkg/one' : 'api/pkg/two', `f${i}-${maxWaitMs ?? 0}.ts`));
  const seen = new Set<string>();
  let batches = 0;
  let complete: () => void = () => {};
  const done = new Promise<void>((r) => { complete = r; });
  const watcher = await createWatcher({
    root,
    maxWaitMs,
    targets: [{ name: 'api', paths: [join(root, 'api')] }, { name: 'web', paths: [join(root, 'web')] }],
    onBatch: (b: WatchBatch) => {
      batches++;
      for (const p of b.byTarget.get('api') ?? []) seen.add(p);
      if (files.every((f) => seen.has(f))) complete();
    },
    onError: (e) => { throw e; },
  });
  try {
    const t0 = performance.now();
    for (let i = 0; i < files.length; i += 500) await Promise.all(files.slice(i, i + 500).map((f) => writeFile(f, 'export {};\n')));
    const writeMs = performance.now() - t0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((r) => { timer = setTimeout(r, 30_000); })]);
    clearTimeout(timer);
    return { writeMs: round(writeMs), deliveredMs: round(performance.now() - t0), batches };
  } finally {
    await watcher.close();
  }
}

function mappingCost(): number {
  const none = { ignores: () => false };
  const targets = Array.from({ length: 50 }, (_, i) => ({ name: `svc${i}`, paths: [`/repo/services/svc${i}`, `/repo/libs/lib${i % 5}`], ignore: none }));
  const files = Array.from({ length: 10_000 }, (_, i) => `/repo/services/svc${i % 60}/src/a/b/file${i}.ts`);
  mapChangesToTargets(files, targets);
  const t0 = performance.now();
  for (let i = 0; i < 10; i++) mapChangesToTargets(files, targets);
  return round((performance.now() - t0) / 10);
}

/** The ledger on `BURST_FILES` small files: scan, then compare them all unchanged. */
async function ledgerCost(): Promise<{ scanMs: number; compareMs: number; statMs: number }> {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'devloop-bench-ledger-')));
  try {
    const dirs = Array.from({ length: 20 }, (_, i) => join(root, `d${i}`));
    for (const d of dirs) mkdirSync(d);
    const files = Array.from({ length: BURST_FILES }, (_, i) => join(dirs[i % dirs.length], `f${i}.ts`));
    for (const f of files) writeFileSync(f, `export const v = ${f.length};\n`.repeat(20));
    await sleep(200); // past the ctime margin, so the scan trusts every file
    let t0 = performance.now();
    for (let i = 0; i < files.length; i += 32) await Promise.all(files.slice(i, i + 32).map((f) => lstat(f)));
    const statMs = performance.now() - t0;
    const ledger = new ContentLedger();
    t0 = performance.now();
    await ledger.scan({ path: root, relevant: () => true, skipDirs: [] }, Date.now());
    const scanMs = performance.now() - t0;
    t0 = performance.now();
    const changed = await ledger.changed(files);
    const compareMs = performance.now() - t0;
    if (changed.length !== 0) throw new Error(`${changed.length} files reported changed`);
    return { scanMs: round(scanMs), compareMs: round(compareMs), statMs: round(statMs) };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchResult[]> {
  const root = project();
  try {
    const raw = stats(await rawParcelLatency(root));
    const zero = stats(await devloopLatency(root, 0));
    const dflt = stats(await devloopLatency(root, 100));
    const b1 = await burst(root);
    const b2 = await burst(root, 60_000);
    const ledger = await ledgerCost();
    const statBase = { name: 'lstat of the same files', value: ledger.statMs };
    const rawBase = (v: number) => ({ name: 'raw @parcel/watcher', value: v });
    return [
      { name: 'watch: edit -> batch, debounce 0, median', value: zero.median, unit: 'ms', baseline: rawBase(raw.median), note: 'devloop filtering + coalescing on top of the raw callback' },
      { name: 'watch: edit -> batch, debounce 0, p95', value: zero.p95, unit: 'ms', baseline: rawBase(raw.p95) },
      { name: 'watch: edit -> batch, debounce 100, median', value: dflt.median, unit: 'ms', baseline: rawBase(raw.median), note: 'includes the 100 ms quiet window' },
      { name: 'watch: edit -> batch, debounce 100, p95', value: dflt.p95, unit: 'ms', baseline: rawBase(raw.p95) },
      { name: 'watch: 10k-file burst, all delivered (maxWait 2 s)', value: b1.deliveredMs, unit: 'ms', baseline: { name: 'writing the files', value: b1.writeMs }, note: `${b1.batches} batch(es)` },
      { name: 'watch: 10k-file burst, all delivered (maxWait 60 s)', value: b2.deliveredMs, unit: 'ms', baseline: { name: 'writing the files', value: b2.writeMs }, note: `${b2.batches} batch(es)` },
      { name: 'watch: map 10k files x 50 targets', value: mappingCost(), unit: 'ms' },
      { name: 'watch: baseline scan of a 10k-file tree', value: ledger.scanMs, unit: 'ms', baseline: statBase, note: 'beside the first build; the watch is live meanwhile' },
      { name: 'watch: compare 10k saved-unchanged files', value: ledger.compareMs, unit: 'ms', baseline: statBase, note: 'read + sha1 before a batch is delivered' },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

// Run directly: `node --import tsx bench/watch.bench.ts`.
if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of await run()) console.log(JSON.stringify(r));
}
