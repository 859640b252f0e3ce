/**
 * Finding onnxruntime-node and talking to it. It is an optional peer dependency (about 300 MB
 * with every platform's binaries), so it is looked up from the project first, then beside
 * devloop, and a missing one is a clear error with the install line rather than a stack.
 */
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { DevloopError } from '../../core/errors.js';
import { ORT_TYPE, V2_TYPE, type HostTensor, type ModelSignature, type TensorData, type TensorSpec } from './types.js';

export type OrtModule = typeof Ort;

let cached: OrtModule | undefined;
/** The require that found it, to locate its files. */
let requireOrt: NodeJS.Require = createRequire(import.meta.url);

export const GPU_INSTALL_HINT = 'on a Linux x64 machine with CUDA 12 and cuDNN 9, reinstall it with its CUDA build: '
  + '`ONNXRUNTIME_NODE_INSTALL_CUDA=v12 npm install onnxruntime-node --foreground-scripts` '
  + '(npm 11 also needs `npm install-scripts approve onnxruntime-node` so its postinstall may download the CUDA provider)';

/** Loads onnxruntime-node, from `projectDir`'s node_modules first. */
export function loadOrt(projectDir = process.cwd()): OrtModule {
  if (cached) return cached;
  const tried: string[] = [];
  for (const from of [path.join(projectDir, 'package.json'), import.meta.url]) {
    try {
      const req = createRequire(from);
      cached = req('onnxruntime-node') as OrtModule;
      requireOrt = req;
      return cached;
    } catch (err) {
      tried.push(`${from.startsWith('file:') ? 'devloop' : projectDir}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new DevloopError(`model serving needs onnxruntime-node, which is not installed (${tried.join('; ')})`, {
    code: 'ORT_MISSING',
    hint: 'run `ONNXRUNTIME_NODE_INSTALL_CUDA=skip npm install onnxruntime-node` in the project (CPU); for a GPU, ' + GPU_INSTALL_HINT,
  });
}

/**
 * The CUDA execution provider's library in the installed onnxruntime-node, or undefined. The npm
 * package lists `cuda` as a backend either way; only the CUDA build's postinstall puts the
 * provider library beside the binding, and asking for the provider without it logs native errors.
 */
export function cudaProviderFile(ort: OrtModule): string | undefined {
  const found = bindingDir(ort);
  if (!found) return undefined;
  const file = path.join(found, 'libonnxruntime_providers_cuda.so');
  return existsSync(file) ? file : undefined;
}

function bindingDir(_ort: OrtModule): string | undefined {
  let root: string;
  try {
    root = path.dirname(path.dirname(requireOrt.resolve('onnxruntime-node')));
  } catch {
    return undefined;
  }
  const base = path.join(root, 'bin');
  if (!existsSync(base)) return undefined;
  for (const napi of readdirSync(base).sort().reverse()) {
    const dir = path.join(base, napi, process.platform, process.arch);
    if (existsSync(path.join(dir, 'onnxruntime_binding.node'))) return dir;
  }
  return undefined;
}

export function signatureOf(session: Ort.InferenceSession): ModelSignature {
  const spec = (m: Ort.InferenceSession.ValueMetadata, kind: string): TensorSpec => {
    if (!m.isTensor) throw new DevloopError(`${kind} "${m.name}" is not a tensor (a sequence or map); the Open Inference Protocol serves tensors only`, { code: 'MODEL_UNSUPPORTED' });
    const datatype = V2_TYPE[m.type];
    if (!datatype) throw new DevloopError(`${kind} "${m.name}" has type ${m.type}, which the Open Inference Protocol has no datatype for`, { code: 'MODEL_UNSUPPORTED' });
    return { name: m.name, datatype, shape: m.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
  };
  return { inputs: session.inputMetadata.map((m) => spec(m, 'input')), outputs: session.outputMetadata.map((m) => spec(m, 'output')) };
}

export function toOrt(ort: OrtModule, t: HostTensor): Ort.Tensor {
  return new ort.Tensor(ORT_TYPE[t.datatype] as 'float32', t.data as Float32Array, t.shape);
}

export function fromOrt(name: string, t: Ort.Tensor): HostTensor {
  const datatype = V2_TYPE[t.type];
  if (!datatype) throw new Error(`output "${name}" has type ${t.type}, which the Open Inference Protocol has no datatype for`);
  return { name, datatype, shape: [...t.dims], data: t.data as TensorData };
}

/** One run of a session on host tensors: what both the in-thread instance and a worker do. */
export async function runSession(ort: OrtModule, session: Ort.InferenceSession, inputs: HostTensor[]): Promise<HostTensor[]> {
  const feeds: Record<string, Ort.Tensor> = {};
  for (const t of inputs) feeds[t.name] = toOrt(ort, t);
  const out = await session.run(feeds);
  return Object.entries(out).map(([name, t]) => fromOrt(name, t as Ort.Tensor));
}
