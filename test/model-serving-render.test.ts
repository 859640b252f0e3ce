// `devloop render` on a project serving a model on a cluster: the real CLI (bin/devloop.js, which
// runs dist/: build first) prints the model's Deployment and Service as the kubernetes runtime
// would apply them, with no cluster needed.
import assert from 'node:assert/strict';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { repoRoot, runCli } from './helpers.js';

const DEVFILE = `export default {
  services: {},
  ai: {
    modelServing: {
      models: [
        { name: 'gemma', path: 'models/gemma.onnx', runtime: 'kubernetes', image: 'registry.example/model-server:1', gpu: true, maxBatchSize: 4 },
        { name: 'tiny', path: 'models/tiny.onnx' },
      ],
    },
  },
};
`;

function project(t: { after(fn: () => void): void }): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-model-render-')));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, 'Devfile.ts'), DEVFILE);
  return dir;
}

// No kube context: objects get the namespace "default", and nothing reaches for a cluster.
const env = { KUBECONFIG: path.join(os.tmpdir(), 'devloop-no-kubeconfig') };

test('devloop render prints a GPU model\'s Deployment with nvidia.com/gpu and the accelerator selector, and its Service', { timeout: 120_000 }, async (t) => {
  const dir = project(t);
  const r = await runCli(['render'], { cwd: dir, env, timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stderr);
  const objects = parseAllDocuments(r.stdout).map((d) => d.toJS()).filter(Boolean);
  assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata.name}`), ['Service/gemma', 'Deployment/gemma'], r.stdout);
  const deployment = objects.find((o) => o.kind === 'Deployment');
  assert.equal(deployment.metadata.namespace, 'default');
  assert.equal(deployment.metadata.labels['app.kubernetes.io/managed-by'], 'devloop');
  const spec = deployment.spec.template.spec;
  assert.deepEqual(spec.nodeSelector, { 'cloud.google.com/gke-accelerator': 'nvidia-l4' });
  const [c] = spec.containers;
  assert.equal(c.image, 'registry.example/model-server:1');
  assert.deepEqual(c.resources.limits, { cpu: '1', memory: '2Gi', 'nvidia.com/gpu': '1' });
  assert.deepEqual(c.resources.requests, { cpu: '1', memory: '2Gi', 'nvidia.com/gpu': '1' });
  assert.deepEqual(c.args, ['--name', 'gemma', '--model', '/models/gemma/model.onnx', '--port', '8080', '--host', '0.0.0.0', '--gpu', '--max-batch-size', '4']);
  assert.match(r.stdout, /^ +nvidia\.com\/gpu: "1"$/m);
  assert.match(r.stdout, /^ +cloud\.google\.com\/gke-accelerator: nvidia-l4$/m);
});

test('devloop render --devfile shows each model as a service; a process model runs dist\'s model server', { timeout: 120_000 }, async (t) => {
  const dir = project(t);
  const r = await runCli(['render', '--devfile', '-o', 'json'], { cwd: dir, env, timeoutMs: 90_000 });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(doc.services), ['gemma', 'tiny']);
  assert.equal(doc.services.gemma.runtime, 'kubernetes');
  assert.deepEqual({ ...doc.services.tiny, env: undefined }, {
    runtime: 'process',
    command: [process.execPath, path.join(repoRoot, 'dist/plugins/model-serving/main.js'), '--name', 'tiny', '--model', path.join(dir, 'models/tiny.onnx')],
    port: 8501, health: { http: '/v2/health/ready' }, restart: 'on-failure', src: ['models/tiny.onnx'], env: undefined,
    extensions: { 'devloop:model-serving': { model: 'tiny' } },
  });
});
