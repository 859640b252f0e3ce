/**
 * Model serving on a GPU (issue 16): p50 latency of one MatMul model (`y = x W + b`, W DIM x DIM,
 * default 2048, batch 32 rows, made by test/onnx-models.ts benchMatmul) run in-process on CPU and
 * then with `gpu: true` through the product's own loader (plugins/model-serving/instances.ts
 * loadModelFile), so the provider the product picks is the one measured. Prints whether the CUDA
 * execution provider was used (LoadedModel.provider) and, when it was not, the loader's own
 * warning. The GPU outputs must equal the CPU outputs within 1e-3 relative (see `compare`).
 * Both sides pass CPU tensors in and get CPU tensors out, as the server does: the GPU figure
 * includes the host/device copies.
 *
 * Run it on a GPU machine (Linux x64, an NVIDIA GPU, CUDA 12 and cuDNN 9 libraries):
 *   1. Reinstall onnxruntime-node with its CUDA build (GPU_INSTALL_HINT in plugins/model-serving/ort.ts):
 *        ONNXRUNTIME_NODE_INSTALL_CUDA=v12 npm install onnxruntime-node --foreground-scripts
 *      (npm 11 first needs `npm install-scripts approve onnxruntime-node`, so its postinstall may
 *      download the CUDA provider). Check that
 *      node_modules/onnxruntime-node/bin/napi-v<N>/linux/x64/libonnxruntime_providers_cuda.so exists.
 *   2. nvidia-smi shows the GPU; the CUDA/cuDNN libraries are on LD_LIBRARY_PATH.
 *   3. node scripts/bench.mjs model-serving-gpu
 * Without a CUDA build (or a GPU) it still runs: the GPU row is 0 with the note
 * "CUDA execution provider not available: <the loader's reason>".
 *
 * DEVLOOP_BENCH_GPU_DIM (default 2048), DEVLOOP_BENCH_GPU_BATCH (rows per run, default 32),
 * DEVLOOP_BENCH_GPU_SECONDS (timed runs per side, default 5).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadModelFile, type LoadedModel } from '../plugins/model-serving/instances.js';
import type { HostTensor } from '../plugins/model-serving/types.js';
import { benchMatmul, seeded, writeModel } from '../test/onnx-models.js';
import { median, percentile, type BenchResult } from './types.js';

const DIM = Number(process.env.DEVLOOP_BENCH_GPU_DIM ?? 2048);
const BATCH = Number(process.env.DEVLOOP_BENCH_GPU_BATCH ?? 32);
const SECONDS = Number(process.env.DEVLOOP_BENCH_GPU_SECONDS ?? 5);
/** Largest relative difference of a GPU output from the CPU one that still counts as equal. */
const TOLERANCE = 1e-3;

interface Timing { p50: number; p99: number; runs: number; output: Float32Array }

/** Warm-up runs (the first CUDA run also sets up kernels and memory), then timed runs for SECONDS (at least 10). */
async function time(model: LoadedModel, input: HostTensor): Promise<Timing> {
  let output: Float32Array = new Float32Array();
  for (let i = 0; i < 3; i++) output = (await model.run([input], 0))[0]!.data as Float32Array;
  const times: number[] = [];
  const end = performance.now() + SECONDS * 1000;
  while (times.length < 10 || performance.now() < end) {
    const t = performance.now();
    await model.run([input], 0);
    times.push(performance.now() - t);
  }
  return { p50: median(times), p99: percentile(times, 99), runs: times.length, output };
}

/**
 * The largest relative difference, each element against its CPU value, or against the output's
 * mean magnitude where the CPU value is smaller than that: a sum of 2048 products that lands near
 * zero would otherwise make any rounding (TF32 on the GPU, another summation order) look huge.
 */
export function compare(cpu: Float32Array, gpu: Float32Array): { maxRel: number; at: number } {
  if (cpu.length !== gpu.length) return { maxRel: Infinity, at: -1 };
  let mean = 0;
  for (const v of cpu) mean += Math.abs(v);
  mean /= cpu.length || 1;
  let maxRel = 0;
  let at = 0;
  for (let i = 0; i < cpu.length; i++) {
    const rel = Math.abs(gpu[i]! - cpu[i]!) / Math.max(Math.abs(cpu[i]!), mean, Number.MIN_VALUE);
    // A NaN on either side is no match at all.
    const r = Number.isNaN(rel) ? Infinity : rel;
    if (r > maxRel) { maxRel = r; at = i; }
  }
  return { maxRel, at };
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'devloop-bench-gpu-'));
  const warnings: string[] = [];
  const models: LoadedModel[] = [];
  try {
    const file = writeModel(path.join(dir, 'matmul.onnx'), benchMatmul(DIM, DIM));
    const input: HostTensor = { name: 'x', datatype: 'FP32', shape: [BATCH, DIM], data: Float32Array.from(seeded(3, BATCH * DIM)) };
    const warn = (m: string) => { warnings.push(m); };

    const cpuModel = await loadModelFile(file, { gpu: false, instances: 1, warn });
    models.push(cpuModel);
    const cpu = await time(cpuModel, input);
    console.error(`model-serving-gpu: MatMul ${DIM}x${DIM}, batch ${BATCH}: CPU p50 ${cpu.p50.toFixed(2)} ms, p99 ${cpu.p99.toFixed(2)} ms (${cpu.runs} runs)`);

    const gpuModel = await loadModelFile(file, { gpu: true, instances: 1, warn });
    models.push(gpuModel);
    const cudaUsed = gpuModel.provider === 'cuda';
    // The loader warns once, with the reason, whenever it falls back to CPU.
    const reason = warnings.join(' | ') || `the loader chose "${gpuModel.provider}" without saying why`;
    console.error(`model-serving-gpu: gpu: true -> provider "${gpuModel.provider}": ${cudaUsed ? 'the CUDA execution provider was used' : `CUDA execution provider NOT used: ${reason}`}`);

    const results: BenchResult[] = [
      { name: `CPU p50 (${DIM}x${DIM}, batch ${BATCH})`, value: cpu.p50, unit: 'ms', note: `p99 ${cpu.p99.toFixed(2)} ms, ${cpu.runs} runs` },
    ];
    if (!cudaUsed) {
      results.push({ name: `GPU p50 (${DIM}x${DIM}, batch ${BATCH})`, value: 0, unit: 'ms', note: `CUDA execution provider not available: ${reason}` });
      return results;
    }
    const gpu = await time(gpuModel, input);
    const { maxRel, at } = compare(cpu.output, gpu.output);
    const equal = maxRel <= TOLERANCE;
    console.error(`model-serving-gpu: CUDA p50 ${gpu.p50.toFixed(2)} ms, p99 ${gpu.p99.toFixed(2)} ms (${gpu.runs} runs), ${(cpu.p50 / gpu.p50).toFixed(1)}x CPU; `
      + `outputs ${equal ? 'equal' : 'DIFFER'} within ${TOLERANCE} relative (max ${maxRel.toExponential(2)} at element ${at}: CPU ${cpu.output[at]}, GPU ${gpu.output[at]})`);
    // A wrong answer is no speed-up: fail the bench (scripts/bench.mjs prints the lines above).
    if (!equal) throw new Error(`GPU outputs differ from CPU outputs by ${maxRel.toExponential(2)} relative (over ${TOLERANCE}) at element ${at}`);
    results.push(
      { name: `GPU (CUDA) p50 (${DIM}x${DIM}, batch ${BATCH})`, value: gpu.p50, unit: 'ms', baseline: { name: 'CPU p50', value: cpu.p50 }, note: `p99 ${gpu.p99.toFixed(2)} ms, ${(cpu.p50 / gpu.p50).toFixed(1)}x faster than CPU` },
      { name: 'GPU vs CPU outputs, max relative difference', value: maxRel * 1e6, unit: 'ppm', note: `equal within ${TOLERANCE * 1e6} ppm` },
    );
    return results;
  } finally {
    for (const m of models) await m.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
