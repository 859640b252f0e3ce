/**
 * The Open Inference Protocol v2 (KServe / Triton) wire format: parsing and checking infer
 * requests against a model's signature, encoding responses, model metadata and error bodies.
 * Pure: no onnxruntime and no HTTP here, so every rule is unit-tested on plain buffers.
 *
 * Includes Triton's binary tensor data extension: with `Inference-Header-Content-Length: N` the
 * first N body bytes are the JSON header and the rest is the raw little-endian data of the
 * tensors that carry `parameters.binary_data_size`, in the order they appear. Raw data is copied
 * byte for byte into typed arrays, so this code assumes a little-endian host (every platform
 * Node ships for).
 */

import { ProtocolError } from './types.js';
import type { HostTensor, InferRequest, ModelSignature, RequestedOutput, TensorData, TensorSpec, V2Datatype } from './types.js';

/** Largest request body the server reads; above it the server answers 413. */
export const MAX_BODY_BYTES = 64 * 1024 * 1024;

const DATATYPES: readonly V2Datatype[] = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES'];

/** Bytes per element in the binary extension; BYTES elements are length-prefixed instead. */
const ELEMENT_BYTES: Record<V2Datatype, number> = {
  BOOL: 1, UINT8: 1, INT8: 1, UINT16: 2, INT16: 2, FP16: 2, UINT32: 4, INT32: 4, FP32: 4, UINT64: 8, INT64: 8, FP64: 8, BYTES: 0,
};

/** Inclusive ranges of the integer types JSON numbers can hold exactly. */
const INT_RANGE: Partial<Record<V2Datatype, [number, number]>> = {
  UINT8: [0, 0xff], UINT16: [0, 0xffff], UINT32: [0, 0xffffffff],
  INT8: [-0x80, 0x7f], INT16: [-0x8000, 0x7fff], INT32: [-0x80000000, 0x7fffffff],
};

const BIG_RANGE: Partial<Record<V2Datatype, [bigint, bigint]>> = {
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

const bad = (message: string): ProtocolError => new ProtocolError(400, message);

/** Number of elements of a shape (1 for a scalar `[]`). */
export function elementCount(shape: number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Empty storage for `n` elements of a datatype, in the form onnxruntime-node takes (see TensorData). */
function allocate(datatype: V2Datatype, n: number): TensorData {
  switch (datatype) {
    case 'BOOL': case 'UINT8': return new Uint8Array(n);
    case 'INT8': return new Int8Array(n);
    case 'UINT16': case 'FP16': return new Uint16Array(n);
    case 'INT16': return new Int16Array(n);
    case 'UINT32': return new Uint32Array(n);
    case 'INT32': return new Int32Array(n);
    case 'UINT64': return new BigUint64Array(n);
    case 'INT64': return new BigInt64Array(n);
    case 'FP32': return new Float32Array(n);
    case 'FP64': return new Float64Array(n);
    case 'BYTES': return new Array<string>(n).fill('');
  }
}

// ---- IEEE 754 half precision -------------------------------------------------------------

/** Rounds to the nearest integer, ties to even (IEEE's default rounding). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * The IEEE half bits nearest to `v`, ties to even. Rounds straight from the double (not via
 * float32) so no value is rounded twice. NaN becomes the quiet NaN 0x7E00.
 */
export function floatToHalf(v: number): number {
  if (Number.isNaN(v)) return 0x7e00;
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  // 65520 is halfway between the largest half (65504, odd mantissa) and 2^16: ties go to infinity.
  if (a >= 65520) return sign | 0x7c00;
  if (a < 2 ** -14) {
    // Subnormal: a = m * 2^-24. Scaling by a power of two is exact; m may round up to 1024,
    // which is exactly the smallest normal's bit pattern.
    return sign | roundHalfEven(a * 2 ** 24);
  }
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  let m = roundHalfEven(a * 2 ** (10 - e)); // in [1024, 2048]
  if (m === 2048) { m = 1024; e++; }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | (m - 1024);
}

/** The value of IEEE half bits. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1024 + mant) * 2 ** (exp - 25);
}

// ---- JSON elements in --------------------------------------------------------------------

function show(v: unknown): string {
  let text: string;
  try {
    text = typeof v === 'bigint' ? String(v) : v === undefined ? 'nothing' : JSON.stringify(v);
  } catch {
    text = String(v); // e.g. BigInts nested in values handed to tensorFromValues
  }
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

type Put = (v: unknown, i: number) => void;

/** A writer of JSON values into `data`, checking each against the datatype. */
function elementWriter(what: string, datatype: V2Datatype, data: TensorData): Put {
  const wrong = (v: unknown, i: number, expected: string): never => {
    throw bad(`${what}: element ${i} must be ${expected} for ${datatype}, got ${show(v)}`);
  };
  switch (datatype) {
    case 'BOOL': {
      const out = data as Uint8Array;
      return (v, i) => { if (typeof v !== 'boolean') wrong(v, i, 'true or false'); out[i] = v ? 1 : 0; };
    }
    case 'FP16': {
      const out = data as Uint16Array;
      return (v, i) => { if (typeof v !== 'number') wrong(v, i, 'a number'); out[i] = floatToHalf(v as number); };
    }
    case 'FP32': case 'FP64': {
      const out = data as Float32Array | Float64Array;
      return (v, i) => { if (typeof v !== 'number') wrong(v, i, 'a number'); out[i] = v as number; };
    }
    case 'BYTES': {
      const out = data as string[];
      return (v, i) => { if (typeof v !== 'string') wrong(v, i, 'a string'); out[i] = v as string; };
    }
    case 'INT64': case 'UINT64': {
      const out = data as BigInt64Array | BigUint64Array;
      const [lo, hi] = BIG_RANGE[datatype]!;
      return (v, i) => {
        let b: bigint;
        if (typeof v === 'bigint') b = v;
        else if (typeof v === 'string' && /^-?\d+$/.test(v)) b = BigInt(v);
        else if (typeof v === 'number' && Number.isInteger(v)) {
          // JSON.parse has already rounded anything past 2^53, so such a number cannot be trusted.
          if (!Number.isSafeInteger(v)) {
            throw bad(`${what}: element ${i} (${show(v)}) is beyond 2^53-1, where JSON numbers lose precision; send it as a string of digits, e.g. "9007199254740993"`);
          }
          b = BigInt(v);
        } else return wrong(v, i, 'an integer (a number, or a string of digits)');
        if (b < lo || b > hi) throw bad(`${what}: element ${i} (${b}) is out of range for ${datatype} [${lo}, ${hi}]`);
        out[i] = b;
      };
    }
    default: {
      const out = data as Uint8Array;
      const [lo, hi] = INT_RANGE[datatype]!;
      return (v, i) => {
        if (typeof v !== 'number' || !Number.isInteger(v)) wrong(v, i, 'an integer');
        if ((v as number) < lo || (v as number) > hi) throw bad(`${what}: element ${i} (${v}) is out of range for ${datatype} [${lo}, ${hi}]`);
        out[i] = v as number;
      };
    }
  }
}

const shapeText = (shape: number[]): string => `[${shape.join(',')}]`;

/**
 * Fills typed storage straight from a JSON `data` array: flat row-major, or nested arrays whose
 * nesting matches the shape exactly (as Triton accepts). No intermediate flat copy is made.
 */
function fromJson(what: string, datatype: V2Datatype, shape: number[], values: unknown[]): TensorData {
  const count = elementCount(shape);
  const nested = values.length > 0 && Array.isArray(values[0]);
  if (!nested && values.length !== count) {
    throw bad(`${what}: shape ${shapeText(shape)} needs ${count} elements, got ${values.length}`);
  }
  const data = allocate(datatype, count);
  const put = elementWriter(what, datatype, data);
  if (!nested) {
    for (let i = 0; i < count; i++) put(values[i], i);
    return data;
  }
  let k = 0;
  const walk = (arr: unknown, depth: number, path: string): void => {
    if (depth >= shape.length || !Array.isArray(arr) || arr.length !== shape[depth]) {
      const got = Array.isArray(arr) ? `${arr.length} elements` : depth >= shape.length ? 'an array' : show(arr);
      const expected = depth >= shape.length ? 'a value' : `${shape[depth]} elements`;
      throw bad(`${what}: nested data does not match shape ${shapeText(shape)}: data${path} should hold ${expected}, got ${got}`);
    }
    if (depth === shape.length - 1) {
      for (const v of arr) put(v, k++);
    } else {
      for (let j = 0; j < arr.length; j++) walk(arr[j], depth + 1, `${path}[${j}]`);
    }
  };
  walk(values, 0, '');
  return data;
}

/** Creates a tensor from plain JS values (flat row-major or nested); the same checks as JSON input. */
export function tensorFromValues(name: string, datatype: V2Datatype, shape: number[], values: unknown[]): HostTensor {
  return { name, datatype, shape: [...shape], data: fromJson(`tensor "${name}"`, datatype, shape, values) };
}

// ---- binary elements in ------------------------------------------------------------------

function fromBinary(what: string, datatype: V2Datatype, shape: number[], bytes: Buffer): TensorData {
  const count = elementCount(shape);
  if (datatype === 'BYTES') {
    const out: string[] = [];
    let at = 0;
    while (at < bytes.length) {
      if (at + 4 > bytes.length) throw bad(`${what}: BYTES element ${out.length} is cut off inside its 4-byte length`);
      const len = bytes.readUInt32LE(at);
      at += 4;
      if (at + len > bytes.length) throw bad(`${what}: BYTES element ${out.length} says ${len} bytes but only ${bytes.length - at} remain in its binary_data_size`);
      try {
        out.push(utf8.decode(bytes.subarray(at, at + len)));
      } catch {
        throw bad(`${what}: BYTES element ${out.length} is not valid UTF-8 (this server passes BYTES to the model as strings)`);
      }
      at += len;
    }
    if (out.length !== count) throw bad(`${what}: shape ${shapeText(shape)} needs ${count} elements, got ${out.length} in the binary data`);
    return out;
  }
  const need = count * ELEMENT_BYTES[datatype];
  if (bytes.length !== need) {
    throw bad(`${what}: binary_data_size is ${bytes.length} but shape ${shapeText(shape)} of ${datatype} needs ${need} bytes`);
  }
  const data = allocate(datatype, count) as Uint8Array;
  // Copy into fresh, aligned storage: the slice of the body may start at any offset.
  new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes);
  if (datatype === 'BOOL') {
    const i = data.findIndex((b) => b > 1);
    if (i >= 0) throw bad(`${what}: BOOL element ${i} is byte ${data[i]}; BOOL elements are one byte, 0 or 1`);
  }
  return data;
}

// ---- requests ----------------------------------------------------------------------------

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function specText(spec: TensorSpec): string {
  return `${spec.datatype} ${shapeText(spec.shape)}`;
}

function checkShape(what: string, spec: TensorSpec, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw bad(`${what}: "shape" must be an array of non-negative integers, got ${show(shape)}`);
  }
  const dims = shape as number[];
  const fits = dims.length === spec.shape.length && spec.shape.every((d, i) => d === -1 || d === dims[i]);
  if (!fits) {
    const dynamic = spec.shape.flatMap((d, i) => (d === -1 ? [i] : []));
    const note = dynamic.length === 0 ? '' : ` (any size for dimension${dynamic.length > 1 ? 's' : ''} ${dynamic.join(', ')})`;
    throw bad(`${what}: expected shape ${shapeText(spec.shape)}${note}, got ${shapeText(dims)}`);
  }
  return dims;
}

function parseHeader(body: Buffer, headerLength: number | undefined): { json: unknown; binary: Buffer | undefined } {
  let text = body;
  let binary: Buffer | undefined;
  if (headerLength !== undefined) {
    if (!Number.isSafeInteger(headerLength) || headerLength < 0) {
      throw bad(`Inference-Header-Content-Length must be a byte count, got ${headerLength}`);
    }
    if (headerLength > body.length) {
      throw bad(`Inference-Header-Content-Length is ${headerLength} but the body has only ${body.length} bytes`);
    }
    text = body.subarray(0, headerLength);
    binary = body.subarray(headerLength);
  }
  try {
    return { json: JSON.parse(text.toString('utf8')), binary };
  } catch (err) {
    throw bad(`request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Parses and checks a v2 infer request body against the model's signature. Throws ProtocolError(400, ...) on any problem. */
export function parseInferRequest(body: Buffer, headerLength: number | undefined, sig: ModelSignature, modelName: string): InferRequest {
  const { json, binary } = parseHeader(body, headerLength);
  if (!isObject(json)) throw bad(`request body must be a JSON object with "inputs", got ${show(json)}`);
  if (!Array.isArray(json.inputs)) throw bad(`request body needs "inputs": an array of {name, shape, datatype, data} for model "${modelName}"`);
  if (json.id !== undefined && typeof json.id !== 'string') throw bad(`"id" must be a string, got ${show(json.id)}`);
  if (json.parameters !== undefined && !isObject(json.parameters)) throw bad(`"parameters" must be an object, got ${show(json.parameters)}`);
  const parameters = json.parameters as Record<string, unknown> | undefined;

  const byName = new Map<string, HostTensor>();
  let at = 0; // read position in the binary section
  json.inputs.forEach((entry: unknown, index: number) => {
    if (!isObject(entry) || typeof entry.name !== 'string') throw bad(`inputs[${index}] must be an object with a string "name"`);
    const name = entry.name;
    const what = `input "${name}"`;
    const spec = sig.inputs.find((s) => s.name === name);
    if (!spec) throw bad(`unknown input "${name}"; the model takes ${sig.inputs.map((s) => s.name).join(', ')}`);
    if (byName.has(name)) throw bad(`${what} is given twice`);
    if (entry.datatype !== spec.datatype) {
      const got = typeof entry.datatype === 'string' ? entry.datatype : show(entry.datatype);
      throw bad(`${what}: expected datatype ${spec.datatype}, got ${got}${DATATYPES.includes(entry.datatype as V2Datatype) ? '' : ' (not a v2 datatype)'}`);
    }
    const shape = checkShape(what, spec, entry.shape);
    if (entry.parameters !== undefined && !isObject(entry.parameters)) throw bad(`${what}: "parameters" must be an object`);
    const size = (entry.parameters as Record<string, unknown> | undefined)?.binary_data_size;
    let data: TensorData;
    if (size !== undefined) {
      if (!Number.isSafeInteger(size) || (size as number) < 0) throw bad(`${what}: binary_data_size must be a byte count, got ${show(size)}`);
      if (entry.data !== undefined) throw bad(`${what}: give either "data" or parameters.binary_data_size, not both`);
      if (binary === undefined) throw bad(`${what} has binary_data_size but the request has no Inference-Header-Content-Length header to mark where the binary data starts`);
      const end = at + (size as number);
      if (end > binary.length) {
        throw bad(`${what}: binary_data_size ${size} runs past the end of the binary data (${binary.length - at} of ${binary.length} bytes left)`);
      }
      data = fromBinary(what, spec.datatype, shape, binary.subarray(at, end));
      at = end;
    } else {
      if (!Array.isArray(entry.data)) throw bad(`${what}: needs "data" (an array) or parameters.binary_data_size`);
      data = fromJson(what, spec.datatype, shape, entry.data);
    }
    byName.set(name, { name, datatype: spec.datatype, shape, data });
  });
  if (binary !== undefined && at !== binary.length) {
    throw bad(`the binary data after the JSON header is ${binary.length} bytes but the inputs' binary_data_size add up to ${at}`);
  }
  const missing = sig.inputs.filter((s) => !byName.has(s.name));
  if (missing.length > 0) {
    throw bad(`missing input${missing.length > 1 ? 's' : ''} ${missing.map((s) => `"${s.name}" (${specText(s)})`).join(', ')}`);
  }

  const binaryOutputs = parameters?.binary_data_output === true;
  const request: InferRequest = {
    // In signature order, so the runner can feed them without looking names up.
    inputs: sig.inputs.map((s) => byName.get(s.name)!),
    binaryOutputs,
  };
  if (json.id !== undefined) request.id = json.id as string;
  if (parameters !== undefined) request.parameters = parameters;
  const outputs = parseOutputs(json.outputs, sig, binaryOutputs);
  if (outputs !== undefined) request.outputs = outputs;
  return request;
}

/** `outputs[]`: which outputs, each binary or JSON. A per-output binary_data overrides the request-level binary_data_output (as in Triton). */
function parseOutputs(raw: unknown, sig: ModelSignature, binaryOutputs: boolean): RequestedOutput[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) throw bad(`"outputs" must be an array of {name, parameters?}, got ${show(raw)}`);
  if (raw.length === 0) return undefined; // nothing named: every output
  const seen = new Set<string>();
  return raw.map((entry: unknown, index: number) => {
    if (!isObject(entry) || typeof entry.name !== 'string') throw bad(`outputs[${index}] must be an object with a string "name"`);
    const name = entry.name;
    if (!sig.outputs.some((s) => s.name === name)) throw bad(`unknown output "${name}"; the model gives ${sig.outputs.map((s) => s.name).join(', ')}`);
    if (seen.has(name)) throw bad(`output "${name}" is requested twice`);
    seen.add(name);
    if (entry.parameters !== undefined && !isObject(entry.parameters)) throw bad(`output "${name}": "parameters" must be an object`);
    const params = entry.parameters ?? {};
    if (params.classification !== undefined) throw bad(`output "${name}": the classification extension is not supported; request the raw output`);
    const flag = params.binary_data;
    if (flag !== undefined && typeof flag !== 'boolean') throw bad(`output "${name}": binary_data must be true or false, got ${show(flag)}`);
    return { name, binary: flag ?? binaryOutputs };
  });
}

// ---- responses ---------------------------------------------------------------------------

/**
 * The JSON text of a tensor's elements. Integers are written from the typed arrays' own digits,
 * so INT64/UINT64 stay exact past 2^53. Non-finite floats are written as the bare tokens NaN,
 * Infinity and -Infinity, as Triton does (its writer sets rapidjson's kWriteNanAndInfFlag):
 * Python's json and Triton's clients read them back; strict JSON parsers (JS JSON.parse) do not,
 * and a client that needs them should ask for that output as binary.
 */
function jsonDataText(t: HostTensor): string {
  switch (t.datatype) {
    case 'BYTES': return JSON.stringify(t.data);
    case 'BOOL': return `[${Array.from(t.data as Uint8Array, (b) => (b ? 'true' : 'false')).join(',')}]`;
    case 'FP16': return `[${Array.from(t.data as Uint16Array, halfToFloat).join(',')}]`;
    case 'FP32': case 'FP64': {
      // JSON.stringify of a plain array formats floats about 30% faster than join; it would write
      // NaN and Infinity as null, so those (rare) tensors take join's path.
      const d = t.data as Float32Array | Float64Array;
      for (let i = 0; i < d.length; i++) if (!Number.isFinite(d[i]!)) return `[${d.join(',')}]`;
      return JSON.stringify(Array.from(d));
    }
    default: return `[${(t.data as Exclude<TensorData, string[]>).join(',')}]`;
  }
}

function binaryData(t: HostTensor): Buffer {
  if (t.datatype === 'BYTES') {
    const parts = (t.data as string[]).map((s) => Buffer.from(s, 'utf8'));
    const out = Buffer.allocUnsafe(parts.reduce((n, p) => n + 4 + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.writeUInt32LE(p.length, at);
      p.copy(out, at + 4);
      at += 4 + p.length;
    }
    return out;
  }
  const a = t.data as Exclude<TensorData, string[]>;
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength); // a view; the final concat copies once
}

/** Storage a datatype must come in; a mismatch is a bug in the runner, not the client's fault. */
const STORAGE: Record<V2Datatype, (d: TensorData) => boolean> = {
  BOOL: (d) => d instanceof Uint8Array, UINT8: (d) => d instanceof Uint8Array, INT8: (d) => d instanceof Int8Array,
  UINT16: (d) => d instanceof Uint16Array, FP16: (d) => d instanceof Uint16Array, INT16: (d) => d instanceof Int16Array,
  UINT32: (d) => d instanceof Uint32Array, INT32: (d) => d instanceof Int32Array, UINT64: (d) => d instanceof BigUint64Array,
  INT64: (d) => d instanceof BigInt64Array, FP32: (d) => d instanceof Float32Array, FP64: (d) => d instanceof Float64Array,
  BYTES: (d) => Array.isArray(d),
};

function checkOutput(t: HostTensor): void {
  if (!STORAGE[t.datatype](t.data)) throw new ProtocolError(500, `output "${t.name}": ${t.datatype} data came as ${t.data.constructor.name}`);
  if (t.data.length !== elementCount(t.shape)) {
    throw new ProtocolError(500, `output "${t.name}": shape ${shapeText(t.shape)} needs ${elementCount(t.shape)} elements, the model gave ${t.data.length}`);
  }
}

/** Encodes the response. outputs are the model's outputs (all of them, or the requested ones). */
export function encodeInferResponse(args: {
  modelName: string; modelVersion: string; id?: string; outputs: HostTensor[]; request: InferRequest; parameters?: Record<string, unknown>;
}): { body: Buffer; headerLength?: number } {
  const { request } = args;
  const chosen: Array<{ tensor: HostTensor; binary: boolean }> = request.outputs
    ? request.outputs.map((o) => {
      const tensor = args.outputs.find((t) => t.name === o.name);
      if (!tensor) throw new ProtocolError(500, `output "${o.name}" was requested but the model gave ${args.outputs.map((t) => t.name).join(', ') || 'nothing'}`);
      return { tensor, binary: o.binary };
    })
    : args.outputs.map((tensor) => ({ tensor, binary: request.binaryOutputs }));

  const chunks: Buffer[] = [];
  const entries = chosen.map(({ tensor, binary }) => {
    checkOutput(tensor);
    const head = `{"name":${JSON.stringify(tensor.name)},"datatype":"${tensor.datatype}","shape":${shapeText(tensor.shape)}`;
    if (!binary) return `${head},"data":${jsonDataText(tensor)}}`;
    const chunk = binaryData(tensor);
    chunks.push(chunk);
    return `${head},"parameters":{"binary_data_size":${chunk.length}}}`;
  });

  let text = `{"model_name":${JSON.stringify(args.modelName)},"model_version":${JSON.stringify(args.modelVersion)}`;
  if (args.id !== undefined) text += `,"id":${JSON.stringify(args.id)}`;
  if (args.parameters !== undefined) text += `,"parameters":${JSON.stringify(args.parameters)}`;
  text += `,"outputs":[${entries.join(',')}]}`;
  const header = Buffer.from(text, 'utf8');
  if (chunks.length === 0) return { body: header };
  return { body: Buffer.concat([header, ...chunks]), headerLength: header.length };
}

// ---- metadata and errors -----------------------------------------------------------------

/** The v2 model metadata object (GET /v2/models/{name}). */
export function modelMetadata(name: string, versions: string[], sig: ModelSignature): object {
  const spec = ({ name: n, datatype, shape }: TensorSpec) => ({ name: n, datatype, shape: [...shape] });
  return { name, versions: [...versions], platform: 'onnxruntime_onnx', inputs: sig.inputs.map(spec), outputs: sig.outputs.map(spec) };
}

/** The v2 error body: `{"error": message}`. */
export function errorBody(message: string): Buffer {
  return Buffer.from(JSON.stringify({ error: message }), 'utf8');
}
