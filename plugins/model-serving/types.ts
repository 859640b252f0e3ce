/**
 * Shared shapes of the model server: tensors as the Open Inference Protocol v2 names them, and
 * the signature read from an ONNX model. onnxruntime's own types stay in session.ts, so the
 * protocol and batching code is pure and testable without the native binding.
 */

/** The protocol's tensor datatypes (KServe/Triton v2). */
export type V2Datatype = 'BOOL' | 'UINT8' | 'UINT16' | 'UINT32' | 'UINT64' | 'INT8' | 'INT16' | 'INT32' | 'INT64' | 'FP16' | 'FP32' | 'FP64' | 'BYTES';

/** onnxruntime's tensor type names, by protocol datatype. */
export const ORT_TYPE: Record<V2Datatype, string> = {
  BOOL: 'bool', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64', INT8: 'int8', INT16: 'int16', INT32: 'int32', INT64: 'int64',
  FP16: 'float16', FP32: 'float32', FP64: 'float64', BYTES: 'string',
};

/** Protocol datatype by onnxruntime type name; a type missing here is not servable. */
export const V2_TYPE: Record<string, V2Datatype> = Object.fromEntries(Object.entries(ORT_TYPE).map(([v2, ort]) => [ort, v2 as V2Datatype]));

/**
 * Element storage per datatype, as onnxruntime-node takes and gives it: BOOL as 0/1 bytes,
 * FP16 as raw IEEE half bits in a Uint16Array, INT64/UINT64 as BigInt arrays, BYTES as strings.
 */
export type TensorData =
  | Uint8Array | Int8Array | Uint16Array | Int16Array | Int32Array | Uint32Array
  | BigInt64Array | BigUint64Array | Float32Array | Float64Array | string[];

/** A tensor on the host: what a request carries in and a response carries out. */
export interface HostTensor {
  name: string;
  datatype: V2Datatype;
  /** Concrete dimensions. */
  shape: number[];
  /** Row-major elements; `data.length` is the product of `shape`. */
  data: TensorData;
}

/** An input or output as the model declares it. */
export interface TensorSpec {
  name: string;
  datatype: V2Datatype;
  /** Dimensions; `-1` where the model leaves one dynamic (a symbolic or unknown dimension). */
  shape: number[];
}

export interface ModelSignature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/** How a request asked for one output (v2 `outputs[]`). */
export interface RequestedOutput {
  name: string;
  /** Binary tensor extension: send this output's data as raw bytes after the JSON header. */
  binary: boolean;
}

/** A parsed, checked infer request. */
export interface InferRequest {
  id?: string;
  inputs: HostTensor[];
  /** The outputs asked for, in order; undefined: every output, as JSON unless `binaryOutputs`. */
  outputs?: RequestedOutput[];
  /** Request-level `parameters.binary_data_output`: every output as binary. */
  binaryOutputs: boolean;
  parameters?: Record<string, unknown>;
}

/** An error the protocol reports as `{"error": message}` with this HTTP status. */
export class ProtocolError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Runs one batch through a model: the seam between the batcher and onnxruntime. */
export type RunBatch = (inputs: HostTensor[]) => Promise<HostTensor[]>;
