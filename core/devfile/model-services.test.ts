import assert from 'node:assert/strict';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { modelObjects } from '../../plugins/model-serving/kubernetes.js';
import { watchTargets } from '../engine/watch-targets.js';
import { ConfigError } from '../errors.js';
import { loadDevfile } from './load.js';
import { modelServices } from './model-services.js';
import type { DevfileConfig, ModelConfig } from './types.js';

const ROOT = '/project';
const withModels = (models: ModelConfig[], services: DevfileConfig['services'] = {}): DevfileConfig => ({ services, ai: { modelServing: { models } } });

/** The server's own arguments: what follows `node <main.js>` (or, from the sources, `node --import tsx <main.ts>`). */
function serverArgs(command: unknown): string[] {
  assert.ok(Array.isArray(command));
  assert.equal(command[0], process.execPath);
  const at = command.indexOf('--name');
  assert.match(command[at - 1], /[\\/]plugins[\\/]model-serving[\\/]main\.(js|ts)$/);
  return command.slice(at);
}

async function project(t: { after(fn: () => Promise<void>): void }, devfile: string, files: Record<string, string> = {}): Promise<string> {
  const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'devloop-models-')));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [rel, text] of Object.entries({ 'Devfile.ts': devfile, ...files })) {
    await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await writeFile(path.join(dir, rel), text);
  }
  return dir;
}

test('a process model is a process service running the model server on the absolute model path, ready on /v2/health/ready', () => {
  const services = modelServices(withModels([{ name: 'gemma', path: 'models/gemma.onnx' }]), ROOT);
  assert.deepEqual(Object.keys(services), ['gemma']);
  const { command, ...rest } = services.gemma;
  assert.deepEqual(serverArgs(command), ['--name', 'gemma', '--model', path.resolve(ROOT, 'models/gemma.onnx')]);
  assert.deepEqual(rest, {
    runtime: 'process', port: 8500, health: { http: '/v2/health/ready' }, restart: 'on-failure', src: ['models/gemma.onnx'],
    extensions: { 'devloop:model-serving': { model: 'gemma' } },
  });
});

test('flags are passed only for the fields set; the port defaults to 8500 + index; resources pass through', () => {
  const services = modelServices(withModels([
    { name: 'a', path: 'a.onnx' },
    { name: 'b', path: 'repo', gpu: true, maxBatchSize: 8, maxBatchDelayMs: 0, instances: 2, maxQueue: 16, versionPolicy: { specific: [1, 3] }, resources: { cpu: '2', memory: '4Gi' } },
    { name: 'c', path: 'c.onnx', port: 9100, gpu: false },
  ]), ROOT);
  assert.deepEqual(serverArgs(services.b.command), [
    '--name', 'b', '--model', path.resolve(ROOT, 'repo'), '--gpu', '--max-batch-size', '8', '--max-batch-delay-ms', '0',
    '--instances', '2', '--max-queue', '16', '--version-policy', '{"specific":[1,3]}',
  ]);
  assert.deepEqual(serverArgs(services.c.command), ['--name', 'c', '--model', path.resolve(ROOT, 'c.onnx')]);
  assert.deepEqual([services.a.port, services.b.port, services.c.port], [8500, 8501, 9100]);
  assert.deepEqual(services.b.resources, { cpu: '2', memory: '4Gi' });
  assert.equal(services.a.resources, undefined);
  // No --port: the process runtime passes PORT, which may be another port when the wanted one is taken.
  assert.ok(!(services.a.command as string[]).includes('--port'));
});

test('a kubernetes model is a kubernetes service whose k8s.objects are its Deployment and Service', () => {
  const model: ModelConfig = { name: 'gemma', path: 'g.onnx', runtime: 'kubernetes', image: 'registry.example/model-server:1', gpu: true };
  assert.deepEqual(modelServices(withModels([model]), ROOT), {
    gemma: { runtime: 'kubernetes', image: 'registry.example/model-server:1', k8s: { objects: modelObjects(model) } },
  });
});

test('modelServing true, or absent, adds no service', () => {
  assert.deepEqual(modelServices({ services: {}, ai: { modelServing: true } }, ROOT), {});
  assert.deepEqual(modelServices({ services: {} }, ROOT), {});
});

test('a model service watches only its model file (the devloop:model-serving plugin decides reload or restart)', () => {
  const config = withModels([{ name: 'gemma', path: 'models/gemma.onnx' }], { api: { src: ['src'] } });
  config.services = { ...config.services, ...modelServices(config, ROOT) };
  const targets = watchTargets(config, ROOT, []);
  assert.deepEqual(targets.map((t) => [t.name, t.paths]), [['api', [path.join(ROOT, 'src')]], ['gemma', [path.join(ROOT, 'models/gemma.onnx')]]]);
});

test('loading a Devfile merges the models into services; a clash with a service is refused at the model name', { timeout: 60_000 }, async (t) => {
  const dir = await project(t, `export default { services: { api: { runtime: 'process', command: 'node x.js', src: ['src'], dependsOn: ['gemma'] } }, ai: { modelServing: { models: [{ name: 'gemma', path: 'models/gemma.onnx', maxBatchSize: 4 }] } } };\n`);
  const loaded = await loadDevfile({ cwd: dir });
  assert.deepEqual(Object.keys(loaded.config.services), ['api', 'gemma']);
  assert.deepEqual(serverArgs(loaded.config.services.gemma.command), ['--name', 'gemma', '--model', path.join(dir, 'models/gemma.onnx'), '--max-batch-size', '4']);
  assert.deepEqual(loaded.config.ai?.modelServing, { models: [{ name: 'gemma', path: 'models/gemma.onnx', maxBatchSize: 4 }] });

  const clash = await project(t, `export default {\n  services: { api: { command: 'x' } },\n  ai: { modelServing: { models: [{ name: 'api', path: 'a.onnx' }] } },\n};\n`);
  const err = await loadDevfile({ cwd: clash }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof ConfigError, String(err));
  assert.equal(err.code, 'DEVFILE_INVALID');
  assert.equal(err.issues.length, 1);
  assert.equal(err.issues[0].path, 'ai.modelServing.models.0.name');
  assert.equal(err.issues[0].location?.line, 3);
  assert.match(err.message, /"api" is already the name of a service \(services\.api\); a model is served as a service of its own name: rename the model or the service/);
});
