/**
 * Model serving (issue 16): requests/s and p50/p99 of the model server on a MatMul model
 * (`y = x W + b`, W DIM x DIM, default 1024, made by test/onnx-models.ts), compared in the same
 * run against
 * - onnxruntime-node called in-process (the floor: what the HTTP server adds on top), and
 * - a plain node:http server that parses the same JSON and runs the session once per request,
 *   without batching (what dynamic batching gains at concurrency 32).
 * Load comes from a child process: a sequential keep-alive client at concurrency 1 (sub-ms
 * timings), autocannon at 32 connections. Targets: HTTP overhead under 0.3 ms p50 at
 * concurrency 1; batching at concurrency 32 at least 3x the unbatched server's requests/s.
 * DEVLOOP_BENCH_MODEL_DIM (latency figures, default 1024), DEVLOOP_BENCH_MODEL_DIMS (concurrency-32
 * figures, default "1024,2048"), DEVLOOP_BENCH_MODEL_SECONDS (per load, default 5).
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { ModelServer } from '../plugins/model-serving/server.js';
import { benchMatmul, benchMlp, matmulAdd, seeded, SMALL_MATMUL } from '../test/onnx-models.js';
import { median, percentile, type BenchResult } from './types.js';

const DIM = Number(process.env.DEVLOOP_BENCH_MODEL_DIM ?? 1024);
/** Model sizes of the concurrency-32 comparison. */
const DIMS = (process.env.DEVLOOP_BENCH_MODEL_DIMS ?? '1024,2048').split(',').map(Number);
/** Hidden widths of the MLP (1024 in, 16 out) in the concurrency-32 comparison. */
const HIDDEN = (process.env.DEVLOOP_BENCH_MODEL_HIDDEN ?? '4096,16384').split(',').map(Number);
/** `c32`: only the concurrency-32 batching comparison (DEVLOOP_BENCH_MODEL_ONLY). */
const ONLY = process.env.DEVLOOP_BENCH_MODEL_ONLY;
const SECONDS = Number(process.env.DEVLOOP_BENCH_MODEL_SECONDS ?? 5);
const self = new URL(import.meta.url).pathname;

interface Figures { rps: number; p50: number; p99: number; failed: number }

/**
 * Child: sequential requests over one keep-alive connection for SECONDS. A raw socket with the
 * request bytes made once, so the figure is the server's time plus one loopback round trip, not
 * node:http's client work.
 */
async function sequential(url: string, bodyFile: string): Promise<Figures> {
  const body = readFileSync(bodyFile);
  const u = new URL(url);
  const meta = body.readUInt32LE(0);
  // Body files start with a 4-byte header length (0: plain JSON) for the binary extension.
  const payload = body.subarray(4);
  const head = `POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: ${meta ? 'application/octet-stream' : 'application/json'}\r\n`
    + (meta ? `Inference-Header-Content-Length: ${meta}\r\n` : '') + `Content-Length: ${payload.length}\r\n\r\n`;
  const request = Buffer.concat([Buffer.from(head), payload]);
  const socket = net.connect(Number(u.port), u.hostname);
  socket.setNoDelay(true);
  await new Promise((r) => socket.once('connect', r));
  let pending: ((status: number) => void) | undefined;
  let buf = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d;
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    const headers = buf.subarray(0, end).toString('latin1');
    const length = Number(/content-length: (\d+)/i.exec(headers)?.[1] ?? 0);
    if (buf.length < end + 4 + length) return;
    const status = Number(headers.slice(9, 12));
    buf = buf.subarray(end + 4 + length);
    const p = pending;
    pending = undefined;
    p?.(status);
  });
  const once = () => new Promise<number>((resolve) => {
    pending = resolve;
    socket.write(request);
  });
  for (let i = 0; i < 300; i++) await once();
  const times: number[] = [];
  let failed = 0;
  const end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    if ((await once()) !== 200) failed++;
    times.push(performance.now() - t);
  }
  socket.destroy();
  return { rps: times.length / SECONDS, p50: percentile(times, 50), p99: percentile(times, 99), failed };
}

/** Child: autocannon at `connections` for SECONDS. */
async function cannon(url: string, bodyFile: string, connections: number): Promise<Figures> {
  const autocannon = createRequire(import.meta.url)('autocannon') as (o: object) => PromiseLike<{ duration: number; non2xx: number; errors: number; requests: { total: number } }> & { on(e: string, f: (...a: any[]) => void): void };
  const body = readFileSync(bodyFile).subarray(4).toString('utf8');
  const times: number[] = [];
  const run = autocannon({ url, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections, duration: SECONDS, warmup: { connections, duration: 1 } });
  run.on('response', (_c: unknown, status: number, _b: number, ms: number) => { if (status === 200) times.push(ms); });
  const r = await run;
  return { rps: r.requests.total / r.duration, p50: percentile(times, 50), p99: percentile(times, 99), failed: r.non2xx + r.errors };
}

function load(mode: 'seq' | 'cannon', url: string, bodyFile: string, connections = 1): Promise<Figures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', self, '--load', mode, url, bodyFile, String(connections)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('@@LOAD@@'));
      if (!line) reject(new Error(`load child exited ${code} without figures:\n${out}`));
      else resolve(JSON.parse(line.slice(8)) as Figures);
    });
  });
}

/** A request body file: a 4-byte header length (0 for plain JSON), then the body. */
function writeBody(file: string, rows: number, dim: number, binary = false): string {
  const values = seeded(rows, rows * dim).map((v) => Math.round(v * 1000) / 1000);
  const prefix = Buffer.alloc(4);
  if (!binary) {
    writeFileSync(file, Buffer.concat([prefix, Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, dim], data: values }] }))]));
    return file;
  }
  const data = Buffer.from(Float32Array.from(values).buffer);
  const header = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [rows, dim], parameters: { binary_data_size: data.length } }], outputs: [{ name: 'y', parameters: { binary_data: true } }] }));
  prefix.writeUInt32LE(header.length);
  writeFileSync(file, Buffer.concat([prefix, header, data]));
  return file;
}

/** The unbatched baseline: node:http, JSON in and out, one session.run per request. */
async function plainServer(file: string): Promise<{ url: string; close(): Promise<void> }> {
  const session = await ort.InferenceSession.create(file);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { inputs: { shape: number[]; data: number[] }[] };
      const x = body.inputs[0]!;
      session.run({ x: new ort.Tensor('float32', Float32Array.from(x.data), x.shape) }).then((out) => {
        const y = out.y!;
        const text = JSON.stringify({ model_name: 'mm', model_version: '1', outputs: [{ name: 'y', datatype: 'FP32', shape: y.dims, data: Array.from(y.data as Float32Array) }] });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/models/mm/infer`,
    close: () => new Promise<void>((r) => { server.close(() => r()); server.closeAllConnections(); }).then(() => session.release()),
  };
}

/** In-process: session.run on the same rows, p50/p99 over SECONDS. */
async function inProcess(file: string, rows: number, dim: number): Promise<Figures> {
  const session = await ort.InferenceSession.create(file);
  const data = Float32Array.from(seeded(rows, rows * dim));
  const feeds = () => ({ x: new ort.Tensor('float32', data, [rows, dim]) });
  for (let i = 0; i < 100; i++) await session.run(feeds());
  const times: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    await session.run(feeds());
    times.push(performance.now() - t);
  }
  await session.release();
  return { rps: times.length / SECONDS, p50: median(times), p99: percentile(times, 99), failed: 0 };
}

const quiet = { log: () => undefined, warn: () => undefined, error: (l: string) => process.stderr.write(`${l}\n`) };

/** Concurrency 1: the server without batching against onnxruntime in-process, same rows. */
async function latency(dir: string, label: string, model: Uint8Array, dim: number, rows: number, binary: boolean): Promise<BenchResult> {
  const file = path.join(dir, `${label}.onnx`);
  writeFileSync(file, model);
  const server = new ModelServer({ models: [{ name: 'mm', path: file }], port: 0, ...quiet });
  const url = `${await server.start()}/v2/models/mm/infer`;
  try {
    const direct = await inProcess(file, rows, dim);
    const served = await load('seq', url, writeBody(path.join(dir, `${label}-${rows}-${binary}.body`), rows, dim, binary));
    const note = `+${(served.p50 - direct.p50).toFixed(3)} ms p50; p99 ${served.p99.toFixed(2)} vs ${direct.p99.toFixed(2)} ms; ${served.rps.toFixed(0)} vs ${direct.rps.toFixed(0)} req/s`;
    return { name: `c1 ${label} ${rows} row${rows > 1 ? 's' : ''} ${binary ? 'binary' : 'JSON'}: p50`, value: served.p50, unit: 'ms', baseline: { name: 'onnxruntime in-process', value: direct.p50 }, note: served.failed ? `${note}; ${served.failed} failed` : note };
  } finally {
    await server.close();
  }
}

/** Concurrency 32, one row per request: dynamic batching against the plain per-request server. */
async function throughput(dir: string, label: string, model: Uint8Array, dim: number): Promise<BenchResult[]> {
  const file = path.join(dir, `${label.replace(/\W+/g, '-')}.onnx`);
  writeFileSync(file, model);
  const body = writeBody(path.join(dir, `c32-${label.replace(/\W+/g, '-')}.body`), 1, dim);
  const batched = new ModelServer({ models: [{ name: 'mm', path: file, maxBatchSize: 32, maxBatchDelayMs: 2 }], port: 0, ...quiet });
  const withBatching = await load('cannon', `${await batched.start()}/v2/models/mm/infer`, body, 32);
  const text = await batched.metricsText();
  await batched.close();
  const unbatched = new ModelServer({ models: [{ name: 'mm', path: file }], port: 0, ...quiet });
  const without = await load('cannon', `${await unbatched.start()}/v2/models/mm/infer`, body, 32);
  await unbatched.close();
  const plain = await plainServer(file);
  const plainC32 = await load('cannon', plain.url, body, 32);
  await plain.close();
  const sum = Number(/devloop_model_batch_size_sum\{model="mm"\} (\S+)/.exec(text)?.[1]);
  const count = Number(/devloop_model_batch_size_count\{model="mm"\} (\S+)/.exec(text)?.[1]);
  return [
    {
      name: `c32 ${label}: req/s, batching 32 rows / 2 ms`, value: withBatching.rps, unit: 'req/s', baseline: { name: 'plain server, no batching', value: plainC32.rps },
      note: `${(withBatching.rps / plainC32.rps).toFixed(2)}x (target >= 3x); p50 ${withBatching.p50.toFixed(1)} vs ${plainC32.p50.toFixed(1)} ms, p99 ${withBatching.p99.toFixed(1)} vs ${plainC32.p99.toFixed(1)} ms; ${(sum / count).toFixed(1)} rows per batch${withBatching.failed ? `; ${withBatching.failed} failed` : ''}`,
    },
    {
      name: `c32 ${label}: req/s, devloop without batching`, value: without.rps, unit: 'req/s', baseline: { name: 'plain server, no batching', value: plainC32.rps },
      note: `p50 ${without.p50.toFixed(1)} ms, p99 ${without.p99.toFixed(1)} ms${without.failed ? `; ${without.failed} failed` : ''}`,
    },
  ];
}

/** Concurrency 32 with 32 rows in every request: nothing left to merge; devloop against the plain server. */
async function wholeBatches(dir: string, dim: number): Promise<BenchResult> {
  const file = path.join(dir, `whole${dim}.onnx`);
  writeFileSync(file, benchMatmul(dim, dim));
  const body = writeBody(path.join(dir, `c32-32-${dim}.body`), 32, dim);
  const server = new ModelServer({ models: [{ name: 'mm', path: file, maxBatchSize: 32, maxBatchDelayMs: 2 }], port: 0, ...quiet });
  const served = await load('cannon', `${await server.start()}/v2/models/mm/infer`, body, 32);
  await server.close();
  const plain = await plainServer(file);
  const plainC32 = await load('cannon', plain.url, body, 32);
  await plain.close();
  return {
    name: `c32 MatMul ${dim}x${dim}, 32 rows per request (JSON): req/s`, value: served.rps, unit: 'req/s', baseline: { name: 'plain server', value: plainC32.rps },
    note: `p50 ${served.p50.toFixed(1)} vs ${plainC32.p50.toFixed(1)} ms, p99 ${served.p99.toFixed(1)} vs ${plainC32.p99.toFixed(1)} ms${served.failed ? `; ${served.failed} failed` : ''}`,
  };
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'devloop-bench-models-'));
  const results: BenchResult[] = [];
  try {
    // HTTP overhead on a model whose run costs microseconds (3x2 MatMul): what the server adds.
    if (ONLY !== 'c32') {
    const tiny = await latency(dir, 'MatMul 3x2', matmulAdd(SMALL_MATMUL), 3, 1, false);
    results.push(tiny, { name: 'c1 HTTP overhead p50 (MatMul 3x2)', value: tiny.value - tiny.baseline!.value, unit: 'ms', note: 'target < 0.3 ms' });
    results.push(await latency(dir, `MatMul ${DIM}x${DIM}`, benchMatmul(DIM, DIM), DIM, 1, false));
    results.push(await latency(dir, `MatMul ${DIM}x${DIM}`, benchMatmul(DIM, DIM), DIM, 32, false));
    results.push(await latency(dir, `MatMul ${DIM}x${DIM}`, benchMatmul(DIM, DIM), DIM, 32, true));
    }
    // The answer's size matters as much as the model's: an MLP with 16 outputs measures batching;
    // square MatMuls answer DIM floats each, which JSON (and the load client) pay for.
    for (const hidden of HIDDEN) results.push(...await throughput(dir, `MLP 1024-${hidden}-16`, benchMlp(1024, hidden, 16), 1024));
    for (const dim of DIMS) results.push(...await throughput(dir, `MatMul ${dim}x${dim}`, benchMatmul(dim, dim), dim));
    if (ONLY !== 'c32') results.push(await wholeBatches(dir, DIM));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const r of results) process.stderr.write(`${r.name}: ${r.value.toFixed(3)} ${r.unit}${r.baseline ? ` (${r.baseline.name}: ${r.baseline.value.toFixed(3)})` : ''} ${r.note ?? ''}\n`);
  return results;
}

if (process.argv[2] === '--load') {
  const [, , , mode, url, bodyFile, connections] = process.argv;
  const figures = mode === 'seq' ? await sequential(url!, bodyFile!) : await cannon(url!, bodyFile!, Number(connections));
  process.stdout.write(`@@LOAD@@${JSON.stringify(figures)}\n`);
  process.exit(0);
}
