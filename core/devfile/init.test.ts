import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import { convertGkeLocalYaml, renderDevfile } from './init.js';
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
