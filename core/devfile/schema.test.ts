import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateDevfile } from './schema.js';

/** The issues as `path [key]: message` lines, the way they are easiest to compare. */
function problems(value: unknown): string[] {
  const result = validateDevfile(value);
  return result.ok ? [] : result.issues.map((i) => `${i.path}${i.key === undefined ? '' : ` [${i.key}]`}: ${i.message}`);
}

test('a full, valid config passes and comes back equal', () => {
  const plugin = { name: 'inline', apply() {} };
  const config = {
    name: 'shop',
    services: {
      api: {
        src: ['src'], build: { type: 'esbuild', entry: 'src/server.ts', format: 'esm' }, runtime: 'cloud-run', port: 8080,
        ports: [{ name: 'debug', containerPort: 9229, hostPort: 9229, protocol: 'tcp' }],
        env: { LOG_LEVEL: 'debug', _X1: '' }, envByEnvironment: { prod: { LOG_LEVEL: 'info' } },
        health: { http: '/healthz', expectStatus: 200 }, dependsOn: ['db'],
        liveUpdate: [{ fallBackOn: ['package.json'] }, { sync: { from: 'src', to: '/app/src' } }, { run: 'npm i', trigger: 'package.json' }, { restart: true }],
        cloudRun: { minScale: 0, maxScale: 3, containerConcurrency: 80 }, autopilot: { computeClass: 'Balanced', gpu: { type: 'nvidia-l4', count: 1 } },
        resources: { cpu: '1', memory: '512Mi' }, restart: 'always', extensions: { 'my-plugin': { anything: [1] } },
      },
      db: { image: 'postgres:16', ports: [{ containerPort: 5432 }], health: { tcp: 5432 } },
      worker: { build: { type: 'command', command: 'make', outputs: ['out'] }, runtime: 'process', command: ['node', 'out/w.js'], health: { exec: 'true' } },
      site: { build: { type: 'docker', context: 'site', args: { A: 'b' } }, k8s: { manifests: 'k8s/*.yaml' }, triggerMode: 'manual' },
    },
    environments: { prod: { kubeContext: 'gke_x', allowKubeContexts: ['gke_x'], runtime: 'kubernetes', env: { X: '1' } } },
    plugins: [plugin, 'devloop-plugin-foo', ['./plugins/mine.ts', { level: 2 }]],
    ignore: ['*.log'], parallelism: 2, triggerMode: 'auto', watch: { debounceMs: 50, maxWaitMs: 1000 },
    cluster: { name: 'c', version: '1.31', nodes: 3, provider: 'kind' },
    simulation: { cloudRun: { enabled: true, scaleToZero: false, coldStartDelay: '2s', preset: 'parity' }, autopilot: { enabled: true, provisioning: 'fast' } },
    monitoring: { prometheus: true, grafana: { port: 3000 }, jaeger: false },
    ai: { modelServing: { models: [{ name: 'gemma', path: 'models/gemma.onnx', versionPolicy: { latest: 2 }, gpu: true, maxBatchSize: 8, maxBatchDelayMs: 5, instances: 2, maxQueue: 64, port: 8600, runtime: 'kubernetes', image: 'registry.example/model-server:1', containerModelPath: '/models/g.onnx', accelerator: 'nvidia-tesla-t4', resources: { cpu: '2', memory: '8Gi' } }] }, ghostbusters: { layers: [{ from: 'core/**', notImport: ['ui/**'] }], model: { baseUrl: 'http://127.0.0.1:8000/v1', model: 'm', apiKeyEnv: 'KEY' } }, gpuSupport: false },
    tests: [{ name: 'e2e', command: 'npm test', services: ['api'], timeoutMs: 60000 }],
  };
  const result = validateDevfile(config);
  assert.equal(result.ok, true, JSON.stringify(problems(config)));
  assert.ok(result.ok);
  assert.deepEqual(result.config, config);
  assert.equal(result.config.plugins?.[0], plugin, 'inline plugins keep their identity');
});

test('an empty services object is valid (a converted gke-local.yaml has none)', () => {
  assert.deepEqual(validateDevfile({ services: {} }), { ok: true, config: { services: {} } });
});

test('wrong types say what was expected and what was found', () => {
  assert.deepEqual(problems({ services: { api: { port: '80a', src: 5, env: { B: 2 }, health: { tcp: 'x' } } }, parallelism: 1.5 }), [
    'services.api.src: expected a string or an array, got a number (5)',
    'services.api.port: expected a number, got "80a"',
    'services.api.env.B: expected a string, got a number (2)',
    'services.api.health.tcp: expected a number or true, got "x"',
    'parallelism: expected an integer, got a number (1.5)',
  ]);
  assert.deepEqual(problems(5), [': expected an object, got a number (5)']);
  assert.deepEqual(problems({}), ['services: missing required field (expected an object)']);
});

test('unknown fields are errors, with a suggestion when one is close', () => {
  assert.deepEqual(problems({ servces: {}, services: { api: { prot: 1, zzz: 2 } } }), [
    'services.api [prot]: unknown field "prot" (did you mean "port"?)',
    'services.api [zzz]: unknown field "zzz"',
    ' [servces]: unknown field "servces" (did you mean "services"?)',
  ]);
});

test('build.type is discriminated and lists the choices', () => {
  assert.deepEqual(problems({ services: { a: { build: { type: 'dockr' } }, b: { build: {} }, c: { build: { type: 'esbuild' } } } }), [
    'services.a.build.type: expected one of "docker" | "esbuild" | "command", got "dockr"',
    'services.b.build.type: missing required field (expected one of "docker" | "esbuild" | "command")',
    'services.c.build.entry: missing required field (expected a string)',
  ]);
});

test('enums list their values', () => {
  assert.deepEqual(problems({ services: { a: { restart: 'sometimes' } }, triggerMode: 'auto ' }), [
    'services.a.restart: expected one of "always" | "on-failure" | "never", got "sometimes"',
    'triggerMode: expected one of "auto" | "manual", got "auto "',
  ]);
});

test('service names must be DNS-1123 labels of at most 63 characters', () => {
  const long = `a${'b'.repeat(63)}`;
  assert.deepEqual(problems({ services: { Api: {}, 'api-': {}, '1api': {}, [long]: {}, 'ok-1': {} } }), [
    'services [Api]: invalid service name "Api": use lowercase letters, digits and "-", starting with a letter and not ending with "-"',
    'services [api-]: invalid service name "api-": use lowercase letters, digits and "-", starting with a letter and not ending with "-"',
    'services [1api]: invalid service name "1api": use lowercase letters, digits and "-", starting with a letter and not ending with "-"',
    `services [${long}]: invalid service name "${long}": at most 63 characters`,
  ]);
});

test('ports are integers from 1 to 65535', () => {
  assert.deepEqual(problems({ services: { a: { port: 0 }, b: { port: 65536 }, c: { port: 80.5 }, d: { ports: [{ containerPort: 70000 }] }, e: { port: 65535 } } }), [
    'services.a.port: expected a port from 1 to 65535, got 0',
    'services.b.port: expected a port from 1 to 65535, got 65536',
    'services.c.port: expected a port from 1 to 65535, got 80.5',
    'services.d.ports.0.containerPort: expected a port from 1 to 65535, got 70000',
  ]);
});

test('env keys must be variable names and values strings', () => {
  assert.deepEqual(problems({ services: { a: { env: { '1A': 'x', 'A-B': 'y', OK: 'z', N: 1 } } } }), [
    'services.a.env [1A]: invalid environment variable name "1A": use letters, digits and "_", not starting with a digit',
    'services.a.env [A-B]: invalid environment variable name "A-B": use letters, digits and "_", not starting with a digit',
    'services.a.env.N: expected a string, got a number (1)',
  ]);
});

test('dependsOn must name known services and must not form a cycle', () => {
  assert.deepEqual(problems({ services: { api: { dependsOn: ['db', 'apii'] }, db: { dependsOn: ['cache'] }, cache: { dependsOn: ['api'] }, solo: { dependsOn: ['solo'] } } }), [
    'services.api.dependsOn.1: unknown service "apii" (did you mean "api"?)',
    'services.cache.dependsOn.0: dependency cycle: api -> db -> cache -> api',
    'services.solo.dependsOn.0: dependency cycle: solo -> solo',
  ]);
  assert.deepEqual(problems({ services: { a: { dependsOn: ['b'] }, b: { dependsOn: ['a'] } } }), ['services.b.dependsOn.0: dependency cycle: a -> b -> a']);
});

test('each live-update step has exactly one kind, in the order fallBackOn, sync, run, restart', () => {
  assert.deepEqual(problems({ services: { a: { liveUpdate: [{ sync: { from: 'a', to: 'b' }, run: 'x' }, {}, { sync: { from: 'a' } }] } } }), [
    'services.a.liveUpdate.0: a live-update step takes exactly one of "fallBackOn", "sync", "run", "restart", got "sync" and "run"',
    'services.a.liveUpdate.1: a live-update step needs one of "fallBackOn", "sync", "run", "restart"',
    'services.a.liveUpdate.2.sync.to: missing required field (expected a string)',
  ]);
  assert.deepEqual(problems({ services: { a: { liveUpdate: [{ run: 'x' }, { sync: { from: 'a', to: 'b' } }, { fallBackOn: 'p' }] } } }), [
    'services.a.liveUpdate.1: a "sync" step must come before any "run" step',
    'services.a.liveUpdate.2: a "fallBackOn" step must come before any "run" step',
  ]);
  assert.deepEqual(problems({ services: { a: { liveUpdate: [{ restart: true }, { run: 'x' }] } } }), [
    'services.a.liveUpdate.1: "restart" must be the last live-update step, but "run" follows it',
  ]);
  assert.deepEqual(problems({ services: { a: { liveUpdate: [{ restart: false }] } } }), ['services.a.liveUpdate.0.restart: expected true, got a boolean (false)']);
});

test('a health check names its kind once, and its unknown fields are reported', () => {
  assert.deepEqual(problems({ services: { a: { health: { http: '/', prot: 1 } }, b: { health: { tcp: true, exec: 'x' } } } }), [
    'services.a.health [prot]: unknown field "prot" (did you mean "port"?)',
    'services.b.health: a health check takes exactly one of "http", "tcp", "exec", got "tcp" and "exec"',
  ]);
});

test('a fixed host port may be claimed once', () => {
  assert.deepEqual(problems({
    services: { a: { ports: [{ containerPort: 80, hostPort: 8080 }] }, b: { ports: [{ containerPort: 81, hostPort: 8080 }] } },
    monitoring: { grafana: { port: 8080 } },
  }), [
    'services.b.ports.0.hostPort: host port 8080 is already used by services.a.ports.0.hostPort',
    'monitoring.grafana.port: host port 8080 is already used by services.a.ports.0.hostPort',
  ]);
});

test('the dashboard is on/off or { enabled, port, host }, and its port is a host port like the others', () => {
  assert.deepEqual(problems({ services: {}, dashboard: true }), []);
  assert.deepEqual(problems({ services: {}, dashboard: { port: 10351, host: '127.0.0.1', enabled: true } }), []);
  assert.deepEqual(problems({
    services: { a: { ports: [{ containerPort: 80, hostPort: 10350 }] } },
    dashboard: { port: 10350, hots: 'x' },
  }), [
    'dashboard [hots]: unknown field "hots" (did you mean "host"?)',
    'dashboard.port: host port 10350 is already used by services.a.ports.0.hostPort',
  ]);
  assert.deepEqual(problems({ services: {}, dashboard: { port: 70000 } }).length, 1);
});

test('plugins are inline objects with name and apply, names or paths, or [name, options]', () => {
  assert.deepEqual(problems({ services: {}, plugins: [5, { name: 'x' }, ['p', 5], '', { name: 'ok', apply: () => {} }] }), [
    'plugins.0: expected a plugin (an object, a package name or path, or [name, options]), got a number (5)',
    'plugins.1: an inline plugin is an object with "name" (a string) and "apply" (a function)',
    'plugins.2.1: expected an object, got a number (5)',
    'plugins.3: expected a non-empty string, got an empty string',
  ]);
});

test('tests may only name known services', () => {
  assert.deepEqual(problems({ services: { api: {} }, tests: [{ name: 't', command: 'x', services: ['apx'] }] }), [
    'tests.0.services.0: unknown service "apx" (did you mean "api"?)',
  ]);
});

test('resources.autoRaise: true or { max, step }; the quantities must read and the cap must not be below the limit (item 18)', () => {
  const svc = (resources: unknown) => ({ services: { web: { image: 'x', resources } } });
  for (const ok of [
    { memory: '64Mi', autoRaise: true },
    { memory: '64Mi', autoRaise: false },
    { memory: '64Mi', autoRaise: { max: '256Mi' } },
    { memory: '64Mi', autoRaise: { max: '64Mi', step: 1.5 } },
    { memory: '256m', autoRaise: { max: '1g' } },
    { memory: '64Mi', autoRaise: {} },
  ]) assert.deepEqual(problems(svc(ok)), [], JSON.stringify(ok));
  assert.deepEqual(problems(svc({ memory: '256Mi', autoRaise: { max: '128Mi' } })), [
    'services.web.resources.autoRaise.max: the cap "128Mi" is below resources.memory ("256Mi"): autoRaise only raises; make max at least the limit',
  ]);
  assert.deepEqual(problems(svc({ memory: '64Mi', autoRaise: { max: 'lots' } })), [
    'services.web.resources.autoRaise.max: cannot read "lots" as an amount of memory: write it like "512Mi", "1Gi" or "256m"',
  ]);
  assert.deepEqual(problems(svc({ memory: 'much', autoRaise: true })), [
    'services.web.resources.memory: cannot read "much" as an amount of memory: write it like "512Mi", "1Gi" or "256m"',
  ]);
  assert.deepEqual(problems(svc({ autoRaise: { max: '1Gi' } })), [
    'services.web.resources.autoRaise: resources.autoRaise raises resources.memory, which is not set: give the service a memory limit (for example memory: "256Mi")',
  ]);
  assert.deepEqual(problems(svc({ memory: '64Mi', autoRaise: { max: '1Gi', step: 1 } })), [
    'services.web.resources.autoRaise.step: autoRaise.step is the factor per raise: expected a number above 1, got 1',
  ]);
  assert.deepEqual(problems(svc({ memory: '64Mi', autoRaise: { cap: '1Gi' } })).length, 1, 'unknown fields are errors');
  assert.deepEqual(problems(svc({ memory: '64Mi', autoRaise: 'yes' })).length, 1);
  // Without autoRaise, memory is read by the runtime as before (no new errors for existing Devfiles).
  assert.deepEqual(problems(svc({ memory: 'much' })), []);
});

test('a cloudRun block beside a runtime that never reads it is an error at that runtime', () => {
  const lines = problems({ services: {
    a: { runtime: 'process', cloudRun: { maxScale: 2 } },
    b: { runtime: 'docker', cloudRun: {} },
    c: { runtime: 'cloud-run', cloudRun: { maxScale: 2 } },
    d: { cloudRun: { maxScale: 2 } },
  }, environments: { ci: { runtime: 'process' } } });
  assert.equal(lines.length, 2, lines.join('\n'));
  assert.match(lines[0], /^services\.a\.runtime: runtime "process" ignores this service's cloudRun block: .* Remove runtime to serve the service behind the simulator \(its instances are then local processes.*or remove cloudRun to run it as a plain process service$/);
  assert.match(lines[1], /^services\.b\.runtime: runtime "docker" ignores .*containers/);
});

test('cpu, memory and cpuThrottling beside cloudRun.service are errors: the file sets them', () => {
  assert.deepEqual(problems({ services: { a: { cloudRun: { service: 'service.yaml', cpu: '2', memory: '1Gi', maxScale: 3 } } } }), [
    'services.a.cloudRun.cpu: has no effect beside cloudRun.service, which sets cpu itself (only containerConcurrency, timeoutSeconds, minScale and maxScale override the file): set it in service.yaml, or remove it here',
    'services.a.cloudRun.memory: has no effect beside cloudRun.service, which sets memory itself (only containerConcurrency, timeoutSeconds, minScale and maxScale override the file): set it in service.yaml, or remove it here',
  ]);
});

test('ai.modelServing models: each field is checked against its documented range', () => {
  const models = (...list: unknown[]) => ({ services: {}, ai: { modelServing: { models: list } } });
  assert.deepEqual(problems({ services: {}, ai: { modelServing: true } }), []);
  assert.deepEqual(problems(models({ name: 'm', path: 'm.onnx', versionPolicy: { all: true } }, { name: 'n', path: 'n', versionPolicy: { specific: [1, 3] }, maxBatchDelayMs: 0 })), []);
  assert.deepEqual(problems({ services: {}, ai: { modelServing: { models: ['gemma'] } } }), ['ai.modelServing.models.0: expected an object, got "gemma"']);
  assert.deepEqual(problems({ services: {}, ai: { modelServing: {} } }), ['ai.modelServing.models: missing required field (expected an array)']);
  assert.deepEqual(problems(models(
    { name: 'Gemma', path: '' },
    { name: 'b', path: 'b.onnx', maxBatchSize: 0, maxBatchDelayMs: -1, instances: 0, maxQueue: 0, port: 70000, runtime: 'docker', gpus: 1 },
    { name: 'c', path: 'c', versionPolicy: { latest: 1, all: true } },
    { name: 'd', path: 'd', versionPolicy: { specific: [] }, containerModelPath: 'models/d.onnx' },
    { name: 'e', path: 'e', maxBatchDelayMs: 2.5 },
  )), [
    'ai.modelServing.models.0.name: invalid service name "Gemma": use lowercase letters, digits and "-", starting with a letter and not ending with "-"',
    'ai.modelServing.models.0.path: expected a non-empty string, got an empty string',
    'ai.modelServing.models.1.maxBatchSize: expected a number >= 1, got 0',
    'ai.modelServing.models.1.maxBatchDelayMs: expected a number >= 0, got -1',
    'ai.modelServing.models.1.instances: expected a number >= 1, got 0',
    'ai.modelServing.models.1.maxQueue: expected a number >= 1, got 0',
    'ai.modelServing.models.1.port: expected a port from 1 to 65535, got 70000',
    'ai.modelServing.models.1.runtime: expected one of "process" | "kubernetes", got "docker"',
    'ai.modelServing.models.1 [gpus]: unknown field "gpus" (did you mean "gpu"?)',
    'ai.modelServing.models.2.versionPolicy: a version policy takes exactly one of "latest", "all", "specific", got "latest" and "all"',
    'ai.modelServing.models.3.versionPolicy.specific: expected at least one version number',
    'ai.modelServing.models.3.containerModelPath: expected an absolute path inside the image, like "/models/gemma/model.onnx"',
    'ai.modelServing.models.4.maxBatchDelayMs: expected an integer, got a number (2.5)',
  ]);
});

test('a model is served as a service of its name: a clash with a service or another model is an error at the name', () => {
  assert.deepEqual(problems({
    services: { api: { dependsOn: ['gemma'] } },
    ai: { modelServing: { models: [{ name: 'api', path: 'a.onnx' }, { name: 'gemma', path: 'g.onnx' }, { name: 'gemma', path: 'g2.onnx' }] } },
    tests: [{ name: 't', command: 'x', services: ['gemma', 'gema'] }],
  }), [
    'ai.modelServing.models.0.name: "api" is already the name of a service (services.api); a model is served as a service of its own name: rename the model or the service',
    'ai.modelServing.models.2.name: "gemma" is already the name of ai.modelServing.models.1: each model needs its own name',
    'tests.0.services.1: unknown service "gema" (did you mean "gemma"?)',
  ]);
});

test('a model on runtime kubernetes needs an image: the error is at its image field and says what to give', () => {
  assert.deepEqual(problems({ services: {}, ai: { modelServing: { models: [{ name: 'gemma', path: 'g.onnx', runtime: 'kubernetes' }] } } }), [
    'ai.modelServing.models.0.image: runtime "kubernetes" runs the model from an image, and none is set: give the model-server image with the model in it (image: \'registry.example/model-server:1\', the model at containerModelPath, default /models/gemma/model.onnx), or remove runtime to serve it as a local process',
  ]);
});
