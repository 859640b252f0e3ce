/**
 * The OpenAI-compatible `/v1/embeddings` for embedding-shaped models: token ids in (`[batch,
 * sequence]`, integers, with an optional `attention_mask` and `token_type_ids`), one float
 * vector per row out (`[batch, dim]`, or `[batch, sequence, dim]` mean-pooled over the tokens the
 * mask keeps, as sentence-transformers exports do).
 */
import { halfToFloat } from './protocol.js';
import type { Tokenizer } from './tokenizer.js';
import { ProtocolError, type HostTensor, type ModelSignature, type TensorSpec, type V2Datatype } from './types.js';

export interface EmbeddingShape {
  ids: TensorSpec;
  mask?: TensorSpec;
  typeIds?: TensorSpec;
  output: TensorSpec;
  /** `[batch, dim]`: the model pools; `[batch, seq, dim]`: pooled here. */
  pooled: boolean;
}

const INTEGER: V2Datatype[] = ['INT64', 'INT32'];
const FLOAT: V2Datatype[] = ['FP32', 'FP64', 'FP16'];

/** How an embedding request maps onto this model, or why it cannot. */
export function embeddingShape(sig: ModelSignature): EmbeddingShape | string {
  const mask = sig.inputs.find((t) => t.name === 'attention_mask');
  const typeIds = sig.inputs.find((t) => t.name === 'token_type_ids');
  const rest = sig.inputs.filter((t) => t !== mask && t !== typeIds);
  if (rest.length !== 1) return `it takes ${sig.inputs.length} inputs (${sig.inputs.map((t) => t.name).join(', ')}); an embedding model takes one input of token ids (plus optional attention_mask and token_type_ids)`;
  const ids = rest[0]!;
  if (!INTEGER.includes(ids.datatype) || ids.shape.length !== 2) return `its input "${ids.name}" is ${ids.datatype} [${ids.shape.join(',')}]; token ids are INT64 or INT32 [batch, sequence]`;
  const output = sig.outputs.find((t) => FLOAT.includes(t.datatype) && (t.shape.length === 2 || t.shape.length === 3));
  if (!output) return `no output is a float [batch, dim] or [batch, sequence, dim] tensor (outputs: ${sig.outputs.map((t) => `${t.name} ${t.datatype} [${t.shape.join(',')}]`).join(', ')})`;
  return { ids, mask, typeIds, output, pooled: output.shape.length === 2 };
}

/**
 * The `input` of an embeddings request as token id lists: token ids as given (an array of
 * integers, or of such arrays), or text (a string, or an array of strings) through the model's
 * tokenizer when it has one (tokenizer.ts).
 */
export function tokenLists(input: unknown, tokenizer?: Tokenizer, maxLength = 512): number[][] {
  const bad = (why: string): never => {
    throw new ProtocolError(400, `"input" ${why}`);
  };
  if (typeof input === 'string' || (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'string'))) {
    if (!tokenizer) bad('is text, and this model has no tokenizer (a BERT WordPiece vocab.txt beside model.onnx): send token ids instead, as an array of integers or an array of such arrays (OpenAI\'s API accepts both), or put the model\'s vocab.txt beside it');
    const texts = typeof input === 'string' ? [input] : (input as string[]);
    return texts.map((t, i) => {
      if (t.length === 0) bad(`[${i}] is an empty string`);
      return tokenizer!.encode(t, maxLength);
    });
  }
  if (Array.isArray(input) && input.some((x) => typeof x === 'string')) bad('mixes text and token ids: send one kind');
  if (!Array.isArray(input) || input.length === 0) bad('must be text, a non-empty array of token ids, or an array of such arrays');
  const lists = (input as unknown[]).every((x) => typeof x === 'number') ? [input as number[]] : (input as unknown[]);
  return lists.map((list, i) => {
    if (!Array.isArray(list) || list.length === 0) bad(`[${i}] must be a non-empty array of token ids`);
    for (const [j, id] of (list as unknown[]).entries()) if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) bad(`[${i}][${j}] must be a non-negative integer token id, got ${JSON.stringify(id)}`);
    return list as number[];
  });
}

/**
 * The model inputs for rows of token ids: padded to the longest with 0 when the model takes an
 * attention mask (which says which tokens are real), else rows must be of one length (a model
 * without a mask would average the padding in), so callers group by length first.
 */
export function embeddingInputs(shape: EmbeddingShape, rows: number[][]): HostTensor[] {
  const longest = Math.max(...rows.map((r) => r.length));
  // A model with a fixed sequence length takes exactly that many tokens, padded.
  const fixed = shape.ids.shape[1]!;
  if (fixed > 0 && longest > fixed) throw new ProtocolError(400, `"input" has ${longest} tokens in one row; model input "${shape.ids.name}" takes at most ${fixed}`);
  const seq = fixed > 0 ? fixed : longest;
  const n = rows.length;
  const ids = shape.ids.datatype === 'INT64' ? new BigInt64Array(n * seq) : new Int32Array(n * seq);
  const mask = shape.mask ? (shape.mask.datatype === 'INT32' ? new Int32Array(n * seq) : new BigInt64Array(n * seq)) : undefined;
  rows.forEach((row, i) => {
    row.forEach((id, j) => {
      if (ids instanceof BigInt64Array) ids[i * seq + j] = BigInt(id);
      else ids[i * seq + j] = id;
      if (mask instanceof BigInt64Array) mask[i * seq + j] = 1n;
      else if (mask) mask[i * seq + j] = 1;
    });
  });
  const out: HostTensor[] = [{ name: shape.ids.name, datatype: shape.ids.datatype, shape: [n, seq], data: ids }];
  if (shape.mask && mask) out.push({ name: shape.mask.name, datatype: shape.mask.datatype, shape: [n, seq], data: mask });
  if (shape.typeIds) {
    const data = shape.typeIds.datatype === 'INT32' ? new Int32Array(n * seq) : new BigInt64Array(n * seq);
    out.push({ name: shape.typeIds.name, datatype: shape.typeIds.datatype, shape: [n, seq], data });
  }
  return out;
}

/** One vector per row from the model's output (mean-pooled over real tokens when not pooled). */
export function embeddingVectors(shape: EmbeddingShape, outputs: HostTensor[], rows: number[][]): number[][] {
  const out = outputs.find((t) => t.name === shape.output.name);
  if (!out) throw new Error(`the model gave no output "${shape.output.name}"`);
  const data = out.data as ArrayLike<number>;
  const half = out.datatype === 'FP16';
  const value = (i: number): number => (half ? halfToFloat(data[i]!) : data[i]!);
  if (shape.pooled) {
    const dim = out.shape[1]!;
    return rows.map((_, i) => Array.from({ length: dim }, (_, k) => value(i * dim + k)));
  }
  const [, seq, dim] = out.shape as [number, number, number];
  return rows.map((row, i) => {
    const v = new Array<number>(dim).fill(0);
    for (let j = 0; j < row.length; j++) for (let k = 0; k < dim; k++) v[k]! += value((i * seq + j) * dim + k);
    return v.map((x) => x / row.length);
  });
}

/** `encoding_format: "base64"`: little-endian float32 bytes, as OpenAI sends them. */
export function base64Vector(v: number[]): string {
  return Buffer.from(Float32Array.from(v).buffer).toString('base64');
}
