import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import { convertGkeLocalYaml, mergeTsconfig, planInit, renderDevfile, renderTsconfig, renderTypesShim } from './init.js';
import { loadDevfile } from './load.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const gkeLocal = path.resolve(here, '../../test/fixtures/devfile-gke-local/gke-local.yaml');

async function loadSource(t: { after(fn: () => Promise<void>): void }, source: string) {
  const dir = await mkdtemp(path.join(tmpdir(), 'devloop-init-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'Devfile.ts'), source);
  return loadDevfile({ cwd: dir });
}

function convertError(text: string): ConfigError {
  try {
    convertGkeLocalYaml(text, 'gke-local.yaml', 'x');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('the starter Devfile imports defineDevfile from devloop and loads with one example service', async (t) => {
  const source = renderDevfile({ name: "shop's" });
  assert.match(source, /^import \{ defineDevfile \} from 'devloop';/);
  const loaded = await loadSource(t, source);
  assert.equal(loaded.config.name, "shop's");
  assert.deepEqual(Object.keys(loaded.config.services), ['api']);
  assert.equal(loaded.config.services.api.port, 8080);
});

test('gke-local.yaml converts to camelCase fields and the result loads', async (t) => {
  const source = convertGkeLocalYaml(await readFile(gkeLocal, 'utf8'), 'gke-local.yaml', 'shop');
  // model_serving was a switch naming no model file: it stays `true` (serving nothing), with a note on how to list models.
  assert.match(source, /\n {2}\/\/ modelServing: true serves no model yet\. .*\n {2}\/\/ {3}modelServing: \{ models: \[\{ name: 'gemma', path: 'models\/gemma\.onnx' \}\] \},\n {2}ai: \{ modelServing: true,/);
  const loaded = await loadSource(t, source);
  assert.deepEqual(loaded.config, {
    name: 'shop',
    services: {},
    cluster: { name: 'gke-local', version: '1.30', nodes: 3 },
    simulation: {
      cloudRun: { enabled: true, scaleToZero: true, coldStartDelay: '2s' },
      autopilot: { enabled: true, nodeAutoProvisioning: true, resourceOptimization: false },
    },
    monitoring: { prometheus: true, grafana: true, jaeger: false },
    ai: { modelServing: true, ghostbusters: true, gpuSupport: false },
  });
});

test('the project name defaults to the folder holding gke-local.yaml', () => {
  assert.match(convertGkeLocalYaml('cluster:\n  nodes: 1\n', '/somewhere/shop/gke-local.yaml'), /name: 'shop',/);
});

test('an empty gke-local.yaml, or empty sections, convert to a Devfile with no services', async (t) => {
  assert.doesNotMatch(convertGkeLocalYaml('services:\n  ai:\n    model_serving: false\n', 'gke-local.yaml', 'x'), /serves no model yet/);
  const loaded = await loadSource(t, convertGkeLocalYaml('simulation:\nservices:\n  ai:\n', 'gke-local.yaml', 'x'));
  assert.deepEqual(loaded.config, { name: 'x', services: {} });
  assert.match(convertGkeLocalYaml('', 'gke-local.yaml', 'x'), /services: \{/);
});

test('unknown keys in gke-local.yaml name the file, line, column and path', () => {
  const err = convertError('cluster:\n  name: dev\n  nmae: x\nservices:\n  ai:\n    gpu: true\n');
  assert.equal(err.code, 'GKE_LOCAL_INVALID');
  assert.equal(err.message, [
    'gke-local.yaml:3:3 cluster: unknown field "nmae" (did you mean "name"?)',
    'gke-local.yaml:6:5 services.ai: unknown field "gpu"',
  ].join('\n'));
  assert.equal(err.issues[0].location?.frame?.split('\n')[3], '    |   ^');
});

test('wrong types in gke-local.yaml are reported at the value', () => {
  const err = convertError('cluster:\n  nodes: three\nsimulation:\n  cloud_run:\n    enabled: yes\n');
  assert.equal(err.message, [
    'gke-local.yaml:2:10 cluster.nodes: expected a number, got "three"',
    'gke-local.yaml:5:14 simulation.cloud_run.enabled: expected a boolean, got "yes"',
  ].join('\n'));
});

test('YAML syntax errors are reported with their line and column', () => {
  const err = convertError('cluster:\n  name: dev\n   nodes: 3\n');
  assert.equal(err.code, 'GKE_LOCAL_SYNTAX');
  assert.match(err.message, /^gke-local\.yaml:\d+:\d+ /);
  const dup = convertError('cluster: {}\ncluster: {}\n');
  assert.equal(dup.message, 'gke-local.yaml:2:1 Map keys must be unique');
});

test('init in a folder with a Dockerfile builds it with docker on the port EXPOSE names (8080 without)', { timeout: 60_000 }, async (t) => {
  const plan = planInit('shop', { files: ['Dockerfile', 'package.json'], dockerfile: 'FROM node:20\nEXPOSE 3000/tcp\nCMD ["node", "server.js"]\n', packageJson: '{"scripts":{"start":"node server.js"}}' });
  assert.equal(plan.detected, 'Dockerfile');
  assert.deepEqual(plan.files, {});
  const loaded = await loadSource(t, plan.devfile);
  assert.deepEqual(loaded.config.services, { app: { build: { type: 'docker', context: '.' }, port: 3000, runtime: 'docker' } });
  assert.match(planInit('shop', { files: ['Dockerfile'], dockerfile: 'FROM scratch\n' }).devfile, /port: 8080,/);
});

test('init in a folder with service.yaml serves it on the Cloud Run simulator, named as the yaml names it', { timeout: 60_000 }, async (t) => {
  const yaml = 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: hello\nspec:\n  template:\n    spec:\n      containers:\n        - image: us-docker.pkg.dev/cloudrun/container/hello\n';
  const plain = planInit('shop', { files: ['service.yaml'], serviceYaml: yaml });
  assert.equal(plain.detected, 'service.yaml');
  const loaded = await loadSource(t, plain.devfile);
  assert.equal(loaded.config.simulation?.cloudRun?.enabled, true);
  assert.deepEqual(loaded.config.services, { hello: { cloudRun: { service: 'service.yaml' } } });
  const built = planInit('shop', { files: ['service.yaml', 'Dockerfile'], serviceYaml: yaml, dockerfile: 'EXPOSE 9000\n' });
  assert.deepEqual((await loadSource(t, built.devfile)).config.services.hello, { cloudRun: { service: 'service.yaml' }, build: { type: 'docker', context: '.' }, port: 9000 });
});

test('init in a folder with package.json runs its start script, else node <main>, as a process', { timeout: 60_000 }, async (t) => {
  const start = planInit('shop', { files: ['package.json', 'server.js'], packageJson: '{"name":"@acme/My_App","main":"x.js","scripts":{"start":"node server.js"}}' });
  assert.equal(start.detected, 'package.json');
  assert.deepEqual((await loadSource(t, start.devfile)).config.services, { 'my-app': { runtime: 'process', command: 'npm start', port: 8080 } });
  const main = planInit('shop', { files: ['package.json'], packageJson: '{"main":"index.js"}' });
  assert.deepEqual((await loadSource(t, main.devfile)).config.services, { app: { runtime: 'process', command: 'node index.js', port: 8080 } });
  // A package.json with neither (or not JSON) is not a runnable service: the starter is written.
  assert.equal(planInit('shop', { files: ['package.json'], packageJson: '{"scripts":{"test":"x"}}' }).detected, 'starter');
  assert.equal(planInit('shop', { files: ['package.json'], packageJson: '{' }).detected, 'starter');
});

test('init in an empty folder writes a starter service that the Devfile builds', { timeout: 60_000 }, async (t) => {
  const plan = planInit('shop', { files: [] });
  assert.equal(plan.detected, 'starter');
  assert.deepEqual(Object.keys(plan.files), ['src/server.js']);
  assert.match(plan.files['src/server.js'], /process\.env\.PORT/);
  assert.match(plan.files['src/server.js'], /process\.env\.HOST/);
  assert.deepEqual((await loadSource(t, plan.devfile)).config.services.api.build, { type: 'esbuild', entry: 'src/server.js' });
});

test('editor types: a new tsconfig maps devloop to the shim; an existing one is merged only when safe', () => {
  assert.equal(renderTypesShim('/opt/devloop/dist/core/index.d.ts'), renderTypesShim('/opt/devloop/dist/core/index.d.ts'));
  assert.match(renderTypesShim('/opt/devloop/dist/core/index.d.ts'), /^export \* from "\/opt\/devloop\/dist\/core\/index\.js";$/m);
  assert.deepEqual(JSON.parse(renderTsconfig()).compilerOptions.paths, { devloop: ['./.devloop/types/devloop.d.ts'] });
  const merged = mergeTsconfig('{\n    "compilerOptions": { "strict": true, "paths": { "@/*": ["src/*"] } },\n    "include": ["src"]\n}\n');
  assert.deepEqual(JSON.parse(merged.text!), { compilerOptions: { strict: true, paths: { '@/*': ['src/*'], devloop: ['./.devloop/types/devloop.d.ts'] } }, include: ['src'] });
  assert.match(merged.text!, /^ {4}"compilerOptions"/m);
  assert.deepEqual(mergeTsconfig(merged.text!), {});
  assert.equal(mergeTsconfig('{ // comment\n}').text, undefined);
  assert.match(mergeTsconfig('{ // comment\n}').note!, /not plain JSON; add .*"devloop"/);
  assert.match(mergeTsconfig('{"extends":"./base.json"}').note!, /extends or baseUrl/);
});
