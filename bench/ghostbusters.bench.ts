/**
 * The Ghostbusters quality, tests and architecture experts on this repository, against the bare
 * tools underneath them, measured in the same run and interleaved so machine load hits both alike:
 * - quality: spawn-to-exit wall time and peak RSS of a Node process running the expert (one
 *   TypeScript Program, diagnostics, lint walk) against `tsc -p tsconfig.json --noEmit`. The
 *   issue's target is under 2x. The expert's process also loads tsx to run devloop from source,
 *   which the built CLI does not: the ratio is an upper bound.
 * - tests and architecture: time in this process against parsing every code file once with
 *   ts.createSourceFile, the floor for any analysis that reads syntax trees.
 * Rounds: GHOSTBUSTERS_BENCH_ROUNDS (default 3); the figures are medians.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import ts from 'typescript';
import { architectureExpert } from '../plugins/ghostbusters/experts/architecture.js';
import { testsExpert } from '../plugins/ghostbusters/experts/tests.js';
import { openRepo } from '../plugins/ghostbusters/repo.js';
import type { Finding } from '../plugins/ghostbusters/types.js';
import { median, type BenchResult } from './types.js';

const root = path.resolve(new URL('..', import.meta.url).pathname);
const ROUNDS = Number(process.env.GHOSTBUSTERS_BENCH_ROUNDS) || 3;
const tsc = path.join(path.dirname(createRequire(import.meta.url).resolve('typescript')), 'tsc.js');
// Written by the child as it exits: its own peak RSS, which the parent cannot read after the fact.
const RSS_ON_EXIT = `data:text/javascript,process.on('exit',()=>process.stderr.write('\\n@@RSS@@'+process.resourceUsage().maxRSS+'\\n'))`;

interface ChildRun { ms: number; rssMb: number; stdout: string }

function timed(args: string[]): ChildRun {
  const t0 = performance.now();
  const res = spawnSync(process.execPath, ['--import', RSS_ON_EXIT, ...args], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - t0;
  const rss = /@@RSS@@(\d+)/.exec(res.stderr ?? '');
  if (!rss) throw new Error(`bench child ${args.join(' ')} exited ${res.status} without its RSS:\n${res.stderr}`);
  return { ms, rssMb: Number(rss[1]) / 1024, stdout: res.stdout };
}

const QUALITY_CHILD = `
  const { openRepo } = await import(${JSON.stringify(path.join(root, 'plugins/ghostbusters/repo.ts'))});
  const { qualityExpert } = await import(${JSON.stringify(path.join(root, 'plugins/ghostbusters/experts/quality.ts'))});
  const found = await qualityExpert.detect(openRepo(${JSON.stringify(root)}), new AbortController().signal);
  const counts = {};
  for (const f of found) counts[f.ruleId] = (counts[f.ruleId] ?? 0) + 1;
  process.stdout.write('@@COUNTS@@' + JSON.stringify(counts) + '\\n');
`;

function countsOf(found: Finding[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of found) counts[f.ruleId] = (counts[f.ruleId] ?? 0) + 1;
  return counts;
}

const show = (counts: Record<string, number>) => Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';

export async function run(): Promise<BenchResult[]> {
  const expert: ChildRun[] = [];
  const bare: ChildRun[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    expert.push(timed(['--import', 'tsx', '--input-type=module', '-e', QUALITY_CHILD]));
    bare.push(timed([tsc, '-p', 'tsconfig.json', '--noEmit']));
  }
  const qualityCounts = JSON.parse(/@@COUNTS@@(.*)/.exec(expert[0].stdout)?.[1] ?? '{}') as Record<string, number>;

  const repo = openRepo(root);
  const signal = new AbortController().signal;
  const parseMs: number[] = [];
  const testsMs: number[] = [];
  const archMs: number[] = [];
  let testsCounts: Record<string, number> = {};
  let archCounts: Record<string, number> = {};
  for (let i = 0; i < ROUNDS; i++) {
    let t = performance.now();
    for (const f of repo.files) if (/\.[cm]?[jt]sx?$/.test(f) && !f.includes('/fixtures/')) ts.createSourceFile(f, repo.read(f), ts.ScriptTarget.Latest, true);
    parseMs.push(performance.now() - t);
    t = performance.now();
    testsCounts = countsOf(await testsExpert.detect(repo, signal));
    testsMs.push(performance.now() - t);
    t = performance.now();
    archCounts = countsOf(await architectureExpert.detect(repo, signal));
    archMs.push(performance.now() - t);
  }
  const parseFloor = { name: 'parse every code file (ts.createSourceFile)', value: median(parseMs) };
  return [
    { name: 'quality expert on this repo, spawn to exit', value: median(expert.map((r) => r.ms)), unit: 'ms', baseline: { name: 'tsc -p tsconfig.json --noEmit', value: median(bare.map((r) => r.ms)) }, note: `findings: ${show(qualityCounts)}` },
    { name: 'quality expert peak RSS', value: median(expert.map((r) => r.rssMb)), unit: 'MB', baseline: { name: 'tsc --noEmit peak RSS', value: median(bare.map((r) => r.rssMb)) } },
    { name: 'tests expert on this repo', value: median(testsMs), unit: 'ms', baseline: parseFloor, note: `findings: ${show(testsCounts)}` },
    { name: 'architecture expert on this repo (no Devfile: cycles only)', value: median(archMs), unit: 'ms', baseline: parseFloor, note: `findings: ${show(archCounts)}` },
  ];
}
