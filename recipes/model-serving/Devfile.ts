import { defineDevfile } from 'devloop';

// Two ONNX models served on this machine by devloop's model server (onnxruntime-node, CPU), each
// as its own service: `matmul` (y = x W + b) at http://127.0.0.1:8500 with dynamic batching
// (requests arriving within 2 ms of each other run as one batch of up to 8 rows), and `embed`
// (token ids -> the mean of their vectors) at http://127.0.0.1:8501, which also answers
// OpenAI's /v1/embeddings. A taken port moves to the next free one, with a warning. Saving a new
// models/*.onnx reloads it in place. The models are made by make-models.ts; README.md has the
// requests to try and their answers.
export default defineDevfile({
  name: 'model-serving',
  // No services of your own: each model below becomes one (`devloop logs matmul`, `dependsOn: ['embed']`).
  services: {},
  ai: {
    modelServing: {
      models: [
        { name: 'matmul', path: 'models/matmul.onnx', port: 8500, maxBatchSize: 8, maxBatchDelayMs: 2 },
        { name: 'embed', path: 'models/embed.onnx', port: 8501 },
      ],
    },
  },
  // DEVLOOP_URL_MATMUL / DEVLOOP_URL_EMBED are where devloop serves them (another port when one was taken).
  tests: [
    { name: 'matmul answers', command: 'node scripts/check-matmul.mjs' },
    { name: 'embed answers', command: 'node scripts/check-embed.mjs' },
  ],
});
