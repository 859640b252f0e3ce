/**
 * Writes the recipe's two models into models/ (committed, so the recipe runs without this
 * script; run it again after changing a model here): `npx tsx recipes/model-serving/make-models.ts`
 * (an argument writes them to that folder instead: the recipe's test checks the committed files
 * are what this script makes).
 * Both are made by devloop's test helpers (onnx-proto), small enough that every answer can be
 * worked out by hand (README.md).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { embedding, matmulAdd, writeModel } from '../../test/onnx-models.js';

const models = process.argv[2] ? path.resolve(process.argv[2]) : path.join(path.dirname(fileURLToPath(import.meta.url)), 'models');

/** `y = x W + b`: x FP32 [batch, 3], y FP32 [batch, 2]; W = [[1,2],[3,4],[5,6]], b = [0.5, -1]. */
const MATMUL = { weights: [1, 2, 3, 4, 5, 6], inDim: 3, outDim: 2, bias: [0.5, -1] };

/** 10 tokens, dim 3: token t's vector is [t, 10 t, -t]; a row of ids gives the mean of their vectors. */
const EMBED = { vocab: 10, dim: 3, table: Array.from({ length: 10 }, (_, t) => [t, 10 * t, -t]).flat() };

for (const [file, bytes] of [['matmul.onnx', matmulAdd(MATMUL)], ['embed.onnx', embedding(EMBED)]] as const) {
  console.log(`wrote ${path.relative(process.cwd(), writeModel(path.join(models, file), bytes))} (${bytes.length} bytes)`);
}
