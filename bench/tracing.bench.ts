/**
 * What tracing costs the Cloud Run front end (issue 14: under 10% at concurrency 64): two
 * simulated services, the same trivial process instance (minScale 1), one in a session whose
 * `monitoring.jaeger` is on (requests sampled as the `dev` preset does, trace-sampling.ts, become
 * spans exported over OTLP/HTTP to a real Jaeger, test/infra/jaeger.sh) and one without monitoring,
 * loaded in turns by autocannon at 64 connections from a child process (rounds interleaved, order
 * reversed every other round, so drift on this shared VM hits both alike). Prints requests/s and
 * p99 of both. DEVLOOP_BENCH_TRACING_SECONDS (per round, default 5) and _ROUNDS (default 4).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type { DevfileConfig } from '../core/devfile/types.js';
import { Engine } from '../core/engine/engine.js';
import { cloudRunPlugin } from '../plugins/cloud-run/index.js';
import { processPlugin } from '../plugins/local-process/index.js';
import { monitoringPlugin } from '../plugins/monitoring/plugin.js';
import { findFreePort } from '../plugins/shared/ports.js';
import { percentile, type BenchResult } from './types.js';

const SECONDS = Number(process.env.DEVLOOP_BENCH_TRACING_SECONDS ?? 5);
const ROUNDS = Number(process.env.DEVLOOP_BENCH_TRACING_ROUNDS ?? 4);
const CONNECTIONS = 64;
const self = new URL(import.meta.url).pathname;

interface Figures { rps: number; p99: number; non2xx: number }

/** In the child: loads each URL in turn, prints the figures per URL. */
async function loadMain(urls: string[]): Promise<void> {
  const autocannon = createRequire(import.meta.url)('autocannon') as (o: object) => PromiseLike<{ duration: number; non2xx: number; errors: number; requests: { total: number } }> & { on(e: string, f: (...a: any[]) => void): void };
  const acc = urls.map(() => ({ latencies: [] as number[], requests: 0, seconds: 0, non2xx: 0 }));
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [...urls.keys()].reverse() : [...urls.keys()];
    for (const i of order) {
      const run = autocannon({ url: urls[i], connections: CONNECTIONS, duration: SECONDS, warmup: { connections: CONNECTIONS, duration: 1 } });
      run.on('response', (_c: unknown, status: number, _b: number, ms: number) => { if (status < 300) acc[i].latencies.push(ms); });
      const r = await run;
      acc[i].requests += r.requests.total;
      acc[i].seconds += r.duration;
      acc[i].non2xx += r.non2xx + r.errors;
    }
  }
  process.stdout.write(`@@LOAD@@${JSON.stringify(acc.map((a) => ({ rps: a.requests / a.seconds, p99: percentile(a.latencies, 99), non2xx: a.non2xx })))}\n`);
}

function load(urls: string[]): Promise<Figures[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', self, '--load', JSON.stringify(urls)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.once('exit', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('@@LOAD@@'));
      if (!line) reject(new Error(`the load generator exited ${code} without figures`)); else resolve(JSON.parse(line.slice(8)) as Figures[]);
    });
  });
}

async function session(traced: boolean): Promise<{ engine: Engine; url: string; root: string }> {
  const root = mkdtempSync(path.join(os.tmpdir(), `devloop-bench-tracing-${traced ? 'on' : 'off'}-`));
  writeFileSync(path.join(root, 'server.js'), 'require("node:http").createServer((q, s) => s.end("ok")).listen(Number(process.env.PORT));\n');
  const port = await findFreePort();
  const devfile: DevfileConfig = {
    name: `bench-tracing-${traced ? 'on' : 'off'}`,
    simulation: { cloudRun: { instances: 'process' } },
    services: { web: { runtime: 'cloud-run', command: ['node', 'server.js'], port, cloudRun: { minScale: 1 } } },
    ...(traced ? { monitoring: { metrics: false, jaeger: true } } : {}),
  };
  const engine = new Engine({ root, devfile, plugins: [processPlugin(), cloudRunPlugin({ metrics: false }), ...(traced ? [monitoringPlugin()] : [])] });
  await engine.start();
  const deadline = Date.now() + 60_000;
  while (engine.getState().services.web?.phase !== 'healthy') {
    if (Date.now() > deadline) throw new Error(`web not healthy: ${engine.getState().services.web?.error?.message}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (traced) {
    while (!engine.tracing.sink) {
      const notes = (engine.getState().extra['devloop:monitoring'] as { notes?: string[] } | undefined)?.notes ?? [];
      if (notes.length) throw new Error(`Jaeger did not start: ${notes.join('; ')}`);
      if (Date.now() > deadline) throw new Error('Jaeger did not start within 60 s');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return { engine, url: `http://127.0.0.1:${port}/`, root };
}

export async function run(): Promise<BenchResult[]> {
  const on = await session(true);
  const off = await session(false);
  try {
    const [traced, plain] = await load([on.url, off.url]);
    const note = `${CONNECTIONS} connections, ${ROUNDS} rounds x ${SECONDS} s each, interleaved; non-2xx ${traced.non2xx}/${plain.non2xx}`;
    return [
      { name: 'Cloud Run front end, requests/s with tracing to Jaeger on (dev sampling)', value: traced.rps, unit: 'req/s', baseline: { name: 'no tracing', value: plain.rps }, note: `${(100 * (1 - traced.rps / plain.rps)).toFixed(1)}% fewer; ${note}` },
      { name: 'Cloud Run front end, p99 latency traced', value: traced.p99, unit: 'ms', baseline: { name: 'no tracing', value: plain.p99 } },
    ];
  } finally {
    for (const s of [on, off]) { await s.engine.stop('bench over'); rmSync(s.root, { recursive: true, force: true }); }
  }
}

if (process.argv.includes('--load')) await loadMain(JSON.parse(process.argv[process.argv.indexOf('--load') + 1]) as string[]);
