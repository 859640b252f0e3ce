import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../core/errors.js';
import { cpuForMemory, MEMORY_PER_CPU, rowForCpu, SCALING_PRESETS } from './data.js';
import { parseServiceYaml, specFromInline, validateSpec } from './spec.js';
import type { CloudRunSpec } from './types.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../test/fixtures/cloud-run');
const fixture = (name: string) => readFileSync(path.join(FIXTURES, name), 'utf8');

/** Lines joined, so a test reads its own line numbers: y(...)[n] is line n + 1. */
const y = (...lines: string[]): string => `${lines.join('\n')}\n`;
/** Lines 1-6 of most tests: a Service named api, up to `spec.template:`. */
const HEAD = ['apiVersion: serving.knative.dev/v1', 'kind: Service', 'metadata:', '  name: api', 'spec:', '  template:'];
/** A Service whose revision spec (line 7 on) is `lines`, indented under `spec.template.spec`. */
const revision = (...lines: string[]): string => y(...HEAD, '    spec:', ...lines.map((l) => `      ${l}`));
/** A Service whose only container (line 9 on) has `lines` after its image. */
const container = (...lines: string[]): string =>
  revision('containers:', '- image: devloop-test/node:20', ...lines.map((l) => `  ${l}`));

/** The problems a file is rejected with, one formatted line each. */
function problems(text: string, file = 'service.yaml'): string[] {
  try {
    parseServiceYaml(text, file);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.message.split('\n');
  }
  assert.fail('expected the file to be rejected');
}

function inlineProblems(options: Parameters<typeof specFromInline>[1], name = 'api'): string[] {
  try {
    specFromInline(name, options, 'services.api.cloudRun');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.message.split('\n');
  }
  assert.fail('expected the options to be rejected');
}

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

/** What a Service that sets nothing gets. */
function defaults(name: string): CloudRunSpec {
  return {
    name,
    labels: {},
    annotations: {},
    template: {
      containerConcurrency: 80,
      timeoutSeconds: 300,
      minScale: 0,
      maxScale: 100,
      cpu: 1,
      memoryBytes: 512 * MiB,
      cpuText: '1',
      memoryText: '512Mi',
      cpuThrottling: true,
      startupCpuBoost: false,
      port: { containerPort: 8080, name: 'http1' },
      env: [],
      startupProbe: { kind: 'tcp', port: 8080, initialDelaySeconds: 0, timeoutSeconds: 240, periodSeconds: 240, failureThreshold: 1 },
      labels: {},
      annotations: {},
    },
    traffic: [{ latestRevision: true, percent: 100 }],
    unsupported: [],
  };
}

// What `gcloud run services describe api --format yaml` prints (with status; `--format export`
// prints the same without status and the server-set metadata).
const EXPORT = y(
  'apiVersion: serving.knative.dev/v1', //                                            1
  'kind: Service',
  'metadata:',
  '  annotations:',
  '    run.googleapis.com/client-name: gcloud', //                                    5
  '    run.googleapis.com/client-version: 502.0.0',
  '    run.googleapis.com/ingress: all',
  '    run.googleapis.com/ingress-status: all',
  '    run.googleapis.com/launch-stage: GA',
  '    run.googleapis.com/operation-id: 0d5c3f9e-8c2b-4a4e-9f5e-2b7f1c9d3a11', //     10
  `    run.googleapis.com/urls: '["https://api-123456789012.us-central1.run.app","https://api-x7k2mq4pza-uc.a.run.app"]'`,
  "    run.googleapis.com/minScale: '1'",
  '    serving.knative.dev/creator: dev@example.com',
  '    serving.knative.dev/lastModifier: dev@example.com',
  "  creationTimestamp: '2025-03-02T10:15:30.123456Z'", //                            15
  '  generation: 7',
  '  labels:',
  '    cloud.googleapis.com/location: us-central1',
  '    team: payments',
  '  name: api', //                                                                  20
  "  namespace: '123456789012'",
  '  resourceVersion: AAYvP2Zb4dE',
  '  selfLink: /apis/serving.knative.dev/v1/namespaces/123456789012/services/api',
  '  uid: 5a3c1e2b-7d4f-4b8a-9c6e-1f2a3b4c5d6e',
  'spec:', //                                                                        25
  '  template:',
  '    metadata:',
  '      annotations:',
  "        autoscaling.knative.dev/maxScale: '20'",
  '        run.googleapis.com/client-name: gcloud', //                                30
  '        run.googleapis.com/client-version: 502.0.0',
  "        run.googleapis.com/cpu-throttling: 'false'",
  '        run.googleapis.com/execution-environment: gen2',
  "        run.googleapis.com/startup-cpu-boost: 'true'",
  '      labels:', //                                                                 35
  '        client.knative.dev/nonce: qwerty',
  '        run.googleapis.com/startupProbeType: Custom',
  '      name: api-00007-xyz',
  '    spec:',
  '      containerConcurrency: 50', //                                                40
  '      containers:',
  '      - image: us-central1-docker.pkg.dev/acme/apps/api:v7',
  '        name: api-1',
  '        args:',
  '        - --mode=server', //                                                       45
  '        env:',
  '        - name: LOG_LEVEL',
  '          value: info',
  '        - name: DB_PASSWORD',
  '          valueFrom:', //                                                          50
  '            secretKeyRef:',
  '              key: latest',
  '              name: db-password',
  '        ports:',
  '        - containerPort: 3000', //                                                 55
  '          name: http1',
  '        resources:',
  '          limits:',
  '            cpu: 2000m',
  '            memory: 1Gi', //                                                       60
  '        startupProbe:',
  '          failureThreshold: 3',
  '          httpGet:',
  '            path: /ready',
  '            port: 3000', //                                                        65
  '          periodSeconds: 5',
  '          timeoutSeconds: 2',
  '        livenessProbe:',
  '          httpGet:',
  '            path: /healthz', //                                                    70
  '            httpHeaders:',
  '            - name: X-Probe',
  '              value: liveness',
  '          periodSeconds: 30',
  '        terminationMessagePolicy: FallbackToLogsOnError', //                       75
  '      serviceAccountName: api@acme.iam.gserviceaccount.com',
  '      timeoutSeconds: 120',
  '  traffic:',
  '  - latestRevision: true',
  '    percent: 90', //                                                               80
  '  - percent: 10',
  '    revisionName: api-00006-abc',
  '    tag: previous',
  'status:',
  '  address:', //                                                                   85
  '    url: https://api-x7k2mq4pza-uc.a.run.app',
  '  conditions:',
  "  - lastTransitionTime: '2025-03-02T10:16:02.123456Z'",
  "    status: 'True'",
  '    type: Ready', //                                                               90
  '  latestCreatedRevisionName: api-00007-xyz',
  '  latestReadyRevisionName: api-00007-xyz',
  '  observedGeneration: 7',
  '  traffic:',
  '  - latestRevision: true', //                                                     95
  '    percent: 90',
  '    revisionName: api-00007-xyz',
  '  url: https://api-x7k2mq4pza-uc.a.run.app',
);

describe('parseServiceYaml: valid files', () => {
  it('reads what gcloud prints, status and server fields included, without notes', () => {
    const spec = parseServiceYaml(EXPORT, 'service.yaml');
    assert.deepEqual(spec, {
      name: 'api',
      namespace: '123456789012',
      labels: { 'cloud.googleapis.com/location': 'us-central1', team: 'payments' },
      annotations: {
        'run.googleapis.com/client-name': 'gcloud',
        'run.googleapis.com/client-version': '502.0.0',
        'run.googleapis.com/ingress': 'all',
        'run.googleapis.com/ingress-status': 'all',
        'run.googleapis.com/launch-stage': 'GA',
        'run.googleapis.com/operation-id': '0d5c3f9e-8c2b-4a4e-9f5e-2b7f1c9d3a11',
        'run.googleapis.com/urls': '["https://api-123456789012.us-central1.run.app","https://api-x7k2mq4pza-uc.a.run.app"]',
        'run.googleapis.com/minScale': '1',
        'serving.knative.dev/creator': 'dev@example.com',
        'serving.knative.dev/lastModifier': 'dev@example.com',
      },
      region: 'us-central1',
      template: {
        name: 'api-00007-xyz',
        image: 'us-central1-docker.pkg.dev/acme/apps/api:v7',
        args: ['--mode=server'],
        containerConcurrency: 50,
        timeoutSeconds: 120,
        minScale: 1, // from the service-level run.googleapis.com/minScale
        maxScale: 20,
        cpu: 2,
        memoryBytes: GiB,
        cpuText: '2000m',
        memoryText: '1Gi',
        cpuThrottling: false,
        startupCpuBoost: true,
        executionEnvironment: 'gen2',
        port: { containerPort: 3000, name: 'http1' },
        env: [
          { name: 'LOG_LEVEL', value: 'info' },
          { name: 'DB_PASSWORD', secretKeyRef: { name: 'db-password', key: 'latest' } },
        ],
        startupProbe: { kind: 'http', path: '/ready', port: 3000, initialDelaySeconds: 0, periodSeconds: 5, timeoutSeconds: 2, failureThreshold: 3 },
        livenessProbe: {
          kind: 'http', path: '/healthz', port: 3000, headers: { 'X-Probe': 'liveness' },
          initialDelaySeconds: 0, periodSeconds: 30, timeoutSeconds: 1, failureThreshold: 3,
        },
        labels: { 'client.knative.dev/nonce': 'qwerty', 'run.googleapis.com/startupProbeType': 'Custom' },
        annotations: {
          'autoscaling.knative.dev/maxScale': '20',
          'run.googleapis.com/client-name': 'gcloud',
          'run.googleapis.com/client-version': '502.0.0',
          'run.googleapis.com/cpu-throttling': 'false',
          'run.googleapis.com/execution-environment': 'gen2',
          'run.googleapis.com/startup-cpu-boost': 'true',
        },
        serviceAccountName: 'api@acme.iam.gserviceaccount.com',
      },
      traffic: [
        { latestRevision: true, percent: 90 },
        { revisionName: 'api-00006-abc', percent: 10, tag: 'previous' },
      ],
      unsupported: [],
    });
  });

  it('fills every default of a minimal service (the service.yaml fixture)', () => {
    const spec = parseServiceYaml(fixture('service.yaml'), 'service.yaml');
    const want = defaults('hello');
    want.template.image = 'devloop-test/node:20';
    assert.deepEqual(spec, want);
  });

  it('defaults concurrency to 1 below 1 CPU, and takes fractional CPU in steps of 0.001', () => {
    const spec = parseServiceYaml(container('resources:', '  limits:', '    cpu: 0.333', '    memory: 256Mi'), 's.yaml');
    assert.equal(spec.template.cpu, 0.333);
    assert.equal(spec.template.cpuText, '0.333');
    assert.equal(spec.template.containerConcurrency, 1);
    assert.equal(spec.template.memoryBytes, 256 * MiB);
  });

  it('allows up to 1Gi from 0.5 CPU and up to 512Mi below it (the row at or below the CPU)', () => {
    assert.equal(parseServiceYaml(container('resources:', '  limits:', '    cpu: 750m', '    memory: 1Gi'), 's.yaml').template.memoryBytes, GiB);
    assert.equal(parseServiceYaml(container('resources:', '  limits:', '    cpu: 0.4', '    memory: 512Mi'), 's.yaml').template.memoryBytes, 512 * MiB);
    assert.equal(parseServiceYaml(container('resources:', '  limits:', "    cpu: '4'", '    memory: 2Gi'), 's.yaml').template.cpu, 4);
    assert.equal(parseServiceYaml(container('resources:', '  limits:', '    cpu: 8', '    memory: 32Gi'), 's.yaml').template.memoryBytes, 32 * GiB);
  });

  it('fills probe fields a probe leaves out, and a probe without a handler is TCP on the container port', () => {
    const spec = parseServiceYaml(container(
      'ports:', '- containerPort: 9000', '  name: h2c',
      'startupProbe:', '  initialDelaySeconds: 2',
      'livenessProbe:', '  grpc: {}',
    ), 's.yaml');
    assert.deepEqual(spec.template.port, { containerPort: 9000, name: 'h2c' });
    assert.deepEqual(spec.template.startupProbe, { kind: 'tcp', port: 9000, initialDelaySeconds: 2, periodSeconds: 10, timeoutSeconds: 1, failureThreshold: 3 });
    assert.deepEqual(spec.template.livenessProbe, { kind: 'grpc', port: 9000, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, failureThreshold: 3 });
    const http = parseServiceYaml(container('startupProbe:', '  httpGet: {}'), 's.yaml');
    assert.deepEqual(http.template.startupProbe, { kind: 'http', path: '/', port: 8080, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, failureThreshold: 3 });
  });

  it('lets template-level scale bounds win over service-level ones', () => {
    const spec = parseServiceYaml(y(
      'apiVersion: serving.knative.dev/v1', 'kind: Service', 'metadata:', '  name: api', '  annotations:',
      "    run.googleapis.com/minScale: '2'", "    run.googleapis.com/maxScale: '50'",
      'spec:', '  template:', '    metadata:', '      annotations:', "        autoscaling.knative.dev/minScale: '3'",
    ), 's.yaml');
    assert.equal(spec.template.minScale, 3);
    assert.equal(spec.template.maxScale, 50);
  });

  it('takes a file without containers (the Devfile build gives the image) and env without a value as empty', () => {
    assert.deepEqual(parseServiceYaml(y('apiVersion: serving.knative.dev/v1', 'kind: Service', 'metadata:', '  name: api'), 's.yaml'), defaults('api'));
    assert.deepEqual(parseServiceYaml(container('env:', '- name: EMPTY'), 's.yaml').template.env, [{ name: 'EMPTY', value: '' }]);
  });

  it('picks the container with ports as the ingress container and notes the sidecars', () => {
    const spec = parseServiceYaml(revision(
      'containers:', //                                  8
      '- image: otel/collector', //                      9
      '  name: collector',
      '- image: devloop-test/node:20', //                11
      '  ports:',
      '  - containerPort: 3000',
    ), 's.yaml');
    assert.equal(spec.template.image, 'devloop-test/node:20');
    assert.equal(spec.template.port.containerPort, 3000);
    assert.deepEqual(spec.unsupported, [{
      path: 'spec.template.spec.containers[0]',
      message: 'sidecar containers are not simulated; only the ingress container (containers[1]) runs',
      line: 9, column: 9,
    }]);
  });
});

describe('parseServiceYaml: unsupported fields are listed with their paths', () => {
  it('lists volumes, mounts, VPC, Cloud SQL, secrets aliases, session affinity and unknown Google annotations', () => {
    const spec = parseServiceYaml(y(
      'apiVersion: serving.knative.dev/v1', //                                         1
      'kind: Service',
      'metadata:',
      '  name: api',
      '  annotations:', //                                                             5
      '    run.googleapis.com/binary-authorization: default',
      'spec:',
      '  template:',
      '    metadata:',
      '      annotations:', //                                                         10
      '        run.googleapis.com/vpc-access-connector: projects/p/locations/r/connectors/c',
      '        run.googleapis.com/vpc-access-egress: private-ranges-only',
      '        run.googleapis.com/network-interfaces: \'[{"network":"default"}]\'',
      '        run.googleapis.com/cloudsql-instances: p:us-central1:db',
      '        run.googleapis.com/secrets: key:projects/1/secrets/key', //                15
      "        run.googleapis.com/sessionAffinity: 'true'",
      '        run.googleapis.com/some-future-setting: on',
      '        example.com/owner: me',
      '    spec:',
      '      containers:', //                                                          20
      '      - image: devloop-test/node:20',
      '        volumeMounts:',
      '        - name: cfg',
      '          mountPath: /etc/cfg',
      '        readinessProbe:', //                                                    25
      '          httpGet: {path: /ready}',
      '      volumes:',
      '      - name: cfg',
      '        secret: {secretName: cfg}',
    ), 's.yaml');
    const VPC = 'VPC networking is not simulated; the container reaches the network through the host';
    assert.deepEqual(spec.unsupported.map((n) => `${n.line}:${n.column} ${n.path}: ${n.message}`), [
      "6:5 metadata.annotations['run.googleapis.com/binary-authorization']: Binary Authorization is not enforced locally",
      `11:9 spec.template.metadata.annotations['run.googleapis.com/vpc-access-connector']: ${VPC}`,
      `12:9 spec.template.metadata.annotations['run.googleapis.com/vpc-access-egress']: ${VPC}`,
      `13:9 spec.template.metadata.annotations['run.googleapis.com/network-interfaces']: ${VPC}`,
      "14:9 spec.template.metadata.annotations['run.googleapis.com/cloudsql-instances']: Cloud SQL connections are not simulated; run the Cloud SQL Auth Proxy locally and point the service at it",
      "15:9 spec.template.metadata.annotations['run.googleapis.com/secrets']: secret aliases are not simulated; secretKeyRef names are resolved locally as written",
      "16:9 spec.template.metadata.annotations['run.googleapis.com/sessionAffinity']: session affinity is not simulated; each request goes to any instance with room",
      "17:9 spec.template.metadata.annotations['run.googleapis.com/some-future-setting']: not an annotation devloop knows; it has no effect locally",
      '22:9 spec.template.spec.containers[0].volumeMounts: volume mounts are not simulated; nothing is mounted at these paths',
      '25:9 spec.template.spec.containers[0].readinessProbe: readiness probes are not simulated; an instance serves once its startup probe passes',
      '27:7 spec.template.spec.volumes: volumes are not simulated; nothing is mounted from secrets, emptyDir or Cloud Storage',
    ]);
    // Annotations are kept as given, the user's own included.
    assert.equal(spec.template.annotations['example.com/owner'], 'me');
  });
});

describe('parseServiceYaml: errors', () => {
  it('rejects a volume mount naming a volume the revision does not declare, listing those it does', () => {
    assert.deepEqual(problems(revision(
      'containers:', //                         8
      '- image: devloop-test/node:20',
      '  volumeMounts:', //                     10
      '  - name: config',
      '    mountPath: /etc/config',
      '  - name: secrts',
      '    mountPath: /etc/secrets',
      'volumes:', //                            15
      '- name: config',
      '  secret: {secretName: config}',
      '- name: secrets',
      '  emptyDir: {}',
    )), [
      'service.yaml:13:17 spec.template.spec.containers[0].volumeMounts[1].name: no volume named "secrts": the volumes in spec.template.spec.volumes are "config", "secrets" (did you mean "secrets"?)',
    ]);
    assert.deepEqual(problems(container('volumeMounts:', '- name: data', '  mountPath: /data')), [
      'service.yaml:11:17 spec.template.spec.containers[0].volumeMounts[0].name: no volume named "data": spec.template.spec.volumes declares none',
    ]);
  });

  it('names the field, its line:column, what is wrong and what to do (containerConcurrency)', () => {
    assert.deepEqual(problems(revision('containerConcurrency: 2000')), [
      'service.yaml:8:29 spec.template.spec.containerConcurrency: must be from 1 to 1000, got 2000',
    ]);
    assert.deepEqual(problems(revision('containerConcurrency: 0')), [
      'service.yaml:8:29 spec.template.spec.containerConcurrency: must be from 1 to 1000, got 0',
    ]);
    assert.deepEqual(problems(revision('containerConcurrency: 2.5')), [
      'service.yaml:8:29 spec.template.spec.containerConcurrency: must be a whole number, got 2.5',
    ]);
    assert.deepEqual(problems(revision("containerConcurrency: '80'")), [
      'service.yaml:8:29 spec.template.spec.containerConcurrency: expected a whole number, got "80"',
    ]);
  });

  it('keeps timeoutSeconds from 1 to 3600', () => {
    assert.deepEqual(problems(revision('timeoutSeconds: 3601')), [
      'service.yaml:8:23 spec.template.spec.timeoutSeconds: must be from 1 to 3600 seconds, got 3601',
    ]);
    assert.deepEqual(problems(revision('timeoutSeconds: 0')), [
      'service.yaml:8:23 spec.template.spec.timeoutSeconds: must be from 1 to 3600 seconds, got 0',
    ]);
  });

  it('takes CPU from 0.08 to 1 in steps of 0.001, or 2, 4, 6, 8', () => {
    const cpu = (value: string) => problems(container('resources:', '  limits:', `    cpu: ${value}`));
    const at = 'service.yaml:12:18 spec.template.spec.containers[0].resources.limits.cpu';
    const allowed = 'must be from 0.08 to 1 (in steps of 0.001), or 2, 4, 6 or 8';
    assert.deepEqual(cpu('3'), [`${at}: ${allowed}, got 3`]);
    assert.deepEqual(cpu('50m'), [`${at}: ${allowed}, got 50m`]);
    assert.deepEqual(cpu('0.0805'), [`${at}: ${allowed}, got 0.0805`]);
    assert.deepEqual(cpu('16'), [`${at}: ${allowed}, got 16`]);
    assert.deepEqual(cpu('two'), [`${at}: "two" is not a CPU amount; write vCPUs such as 1, 2 or 500m`]);
  });

  it('checks memory: its form, 32Gi at most, 128Mi (gen1) or 512Mi (gen2) at least', () => {
    const memory = (value: string, ...annotations: string[]) => problems(y(
      ...HEAD,
      ...(annotations.length ? ['    metadata:', '      annotations:', ...annotations.map((a) => `        ${a}`)] : []),
      '    spec:', '      containers:', '      - image: devloop-test/node:20', '        resources:', '          limits:', `            memory: ${value}`,
    ));
    const at = 'service.yaml:12:21 spec.template.spec.containers[0].resources.limits.memory';
    assert.deepEqual(memory('512MB'), [`${at}: "512MB" is not a memory amount; write it with Mi or Gi, such as 512Mi or 2Gi`]);
    assert.deepEqual(memory('64Gi'), [`${at}: must be at most 32Gi, got 64Gi`]);
    assert.deepEqual(memory('64Mi'), [`${at}: must be at least 128Mi, got 64Mi`]);
    assert.deepEqual(memory('256Mi', 'run.googleapis.com/execution-environment: gen2'), [
      'service.yaml:15:21 spec.template.spec.containers[0].resources.limits.memory: must be at least 512Mi with the gen2 execution environment, got 256Mi; raise it or use gen1',
    ]);
  });

  it('checks memory against the CPU: most memory per CPU, and the least for 4, 6 and 8 CPU', () => {
    const pair = (cpu: string, memory: string) => problems(container('resources:', '  limits:', `    cpu: ${cpu}`, `    memory: ${memory}`));
    const at = 'service.yaml:13:21 spec.template.spec.containers[0].resources.limits.memory';
    assert.deepEqual(pair('0.25', '1Gi'), [`${at}: 1Gi needs at least 0.5 CPU, but cpu is 0.25 (at most 512Mi); raise cpu to 0.5 or lower memory to 512Mi`]);
    assert.deepEqual(pair('1', '8Gi'), [`${at}: 8Gi needs at least 2 CPU, but cpu is 1 (at most 4Gi); raise cpu to 2 or lower memory to 4Gi`]);
    assert.deepEqual(pair('4', '1Gi'), [`${at}: 4 CPU needs at least 2Gi of memory, got 1Gi; raise memory to 2Gi or lower cpu`]);
    assert.deepEqual(pair('6', '2Gi'), [`${at}: 6 CPU needs at least 4Gi of memory, got 2Gi; raise memory to 4Gi or lower cpu`]);
  });

  it('below 1 CPU requires concurrency 1, CPU throttling and gen1 (the bad-cpu-memory fixture)', () => {
    assert.deepEqual(problems(fixture('bad-cpu-memory.yaml'), 'bad-cpu-memory.yaml'), [
      "bad-cpu-memory.yaml:11:44 spec.template.metadata.annotations['run.googleapis.com/cpu-throttling']: CPU must be allocated only during requests when cpu is below 1 (cpu is 500m); remove this setting or set cpu to 1 or more",
      'bad-cpu-memory.yaml:13:29 spec.template.spec.containerConcurrency: must be 1 when cpu is below 1 (cpu is 500m), got 80; set containerConcurrency to 1 or cpu to 1',
      'bad-cpu-memory.yaml:19:21 spec.template.spec.containers[0].resources.limits.memory: 2Gi needs at least 1 CPU, but cpu is 500m (at most 1Gi); raise cpu to 1 or lower memory to 1Gi',
    ]);
    assert.deepEqual(problems(y(
      ...HEAD, '    metadata:', '      annotations:', '        run.googleapis.com/execution-environment: gen2',
      '    spec:', '      containers:', '      - image: devloop-test/node:20', '        resources:', '          limits:', '            cpu: 0.5',
    )), [
      "service.yaml:9:51 spec.template.metadata.annotations['run.googleapis.com/execution-environment']: cpu below 1 needs the gen1 execution environment (cpu is 0.5); use gen1 or set cpu to 1 or more",
    ]);
  });

  it('checks the scale annotations: whole numbers, maxScale at least 1, minScale <= maxScale', () => {
    const scales = (...annotations: string[]) => problems(y(...HEAD, '    metadata:', '      annotations:', ...annotations.map((a) => `        ${a}`)));
    assert.deepEqual(scales("autoscaling.knative.dev/minScale: 'ten'"), [
      `service.yaml:9:43 spec.template.metadata.annotations['autoscaling.knative.dev/minScale']: must be a whole number of instances (0 or more), got "ten"`,
    ]);
    assert.deepEqual(scales("autoscaling.knative.dev/maxScale: '0'"), [
      `service.yaml:9:43 spec.template.metadata.annotations['autoscaling.knative.dev/maxScale']: must be a whole number of instances, at least 1, got 0`,
    ]);
    assert.deepEqual(scales("autoscaling.knative.dev/minScale: '5'", "autoscaling.knative.dev/maxScale: '2'"), [
      `service.yaml:9:43 spec.template.metadata.annotations['autoscaling.knative.dev/minScale']: is 5, more than maxScale (2); lower minScale or raise maxScale`,
    ]);
    assert.deepEqual(scales("autoscaling.knative.dev/minScale: '200'"), [
      `service.yaml:9:43 spec.template.metadata.annotations['autoscaling.knative.dev/minScale']: is 200, more than the default maxScale (100); lower minScale or raise maxScale`,
    ]);
    assert.deepEqual(scales('autoscaling.knative.dev/minScale: 1'), [
      `service.yaml:9:43 spec.template.metadata.annotations['autoscaling.knative.dev/minScale']: expected a string, got a number (1); quote it: "1"`,
    ]);
  });

  it('says where a scale annotation belongs when it is on the wrong object, and catches annotation typos', () => {
    assert.deepEqual(problems(y(
      'apiVersion: serving.knative.dev/v1', 'kind: Service', 'metadata:', '  name: api', '  annotations:',
      "    autoscaling.knative.dev/maxScale: '3'", //                                                       6
      'spec:', '  template:', '    metadata:', '      annotations:',
      "        run.googleapis.com/minScale: '1'", //                                                        11
      "        autoscaling.knative.dev/maxscale: '4'",
      "        run.googleapis.com/cpu-throttle: 'false'",
    )), [
      "service.yaml:6:5 metadata.annotations['autoscaling.knative.dev/maxScale']: belongs on spec.template.metadata.annotations (the revision template); move it there, or use run.googleapis.com/maxScale there for a service-wide bound",
      "service.yaml:11:9 spec.template.metadata.annotations['run.googleapis.com/minScale']: belongs on metadata.annotations (the Service); move it there, or use autoscaling.knative.dev/minScale there for this revision",
      `service.yaml:12:9 spec.template.metadata.annotations['autoscaling.knative.dev/maxscale']: unknown annotation (did you mean "autoscaling.knative.dev/maxScale"?)`,
      `service.yaml:13:9 spec.template.metadata.annotations['run.googleapis.com/cpu-throttle']: unknown annotation (did you mean "run.googleapis.com/cpu-throttling"?)`,
    ]);
  });

  it('checks boolean and enum annotations', () => {
    assert.deepEqual(problems(y(
      ...HEAD, '    metadata:', '      annotations:',
      "        run.googleapis.com/startup-cpu-boost: 'yes'",
      '        run.googleapis.com/execution-environment: gen3',
    )), [
      `service.yaml:9:47 spec.template.metadata.annotations['run.googleapis.com/startup-cpu-boost']: must be "true" or "false", got "yes"`,
      `service.yaml:10:51 spec.template.metadata.annotations['run.googleapis.com/execution-environment']: must be "gen1" or "gen2", got "gen3"`,
    ]);
  });

  it('checks the port: one only, named http1 or h2c, 1..65535, TCP (the bad-port-env fixture for port and env together)', () => {
    assert.deepEqual(problems(fixture('bad-port-env.yaml'), 'bad-port-env.yaml'), [
      'bad-port-env.yaml:13:17 spec.template.spec.containers[0].ports[0].name: must be "http1" (HTTP/1) or "h2c" (end-to-end HTTP/2), got "http"',
      'bad-port-env.yaml:15:11 spec.template.spec.containers[0].ports[1]: Cloud Run allows one container port, got 2; keep only the port the server listens on',
      'bad-port-env.yaml:18:17 spec.template.spec.containers[0].env[0].name: PORT is set by Cloud Run from the container port; remove it and set ports[0].containerPort instead',
      'bad-port-env.yaml:22:17 spec.template.spec.containers[0].env[2].name: "LOG_LEVEL" is set twice (also at spec.template.spec.containers[0].env[1].name); remove one',
    ]);
    assert.deepEqual(problems(container('ports:', '- containerPort: 70000', '  protocol: UDP')), [
      'service.yaml:11:26 spec.template.spec.containers[0].ports[0].containerPort: must be from 1 to 65535, got 70000',
      'service.yaml:12:21 spec.template.spec.containers[0].ports[0].protocol: must be "TCP", got "UDP"; Cloud Run serves HTTP over TCP only',
    ]);
  });

  it('checks env: reserved names, empty or "=" names, value and valueFrom together, secret references', () => {
    assert.deepEqual(problems(container(
      'env:', //                                   10
      '- name: K_SERVICE',
      '  value: x',
      "- name: ''",
      '  value: x',
      '- name: A=B', //                            15
      '- name: BOTH',
      '  value: x',
      '  valueFrom:',
      '    secretKeyRef: {name: s, key: latest}',
      '- name: SECRET', //                         20
      '  valueFrom:',
      '    secretKeyRef:',
      '      name: db',
      '- value: orphan',
    )), [
      'service.yaml:11:17 spec.template.spec.containers[0].env[0].name: K_SERVICE is set by Cloud Run; remove it',
      'service.yaml:13:17 spec.template.spec.containers[0].env[1].name: must not be empty',
      'service.yaml:15:17 spec.template.spec.containers[0].env[2].name: must not contain "=", got "A=B"',
      'service.yaml:16:11 spec.template.spec.containers[0].env[3]: set value or valueFrom, not both',
      'service.yaml:22:13 spec.template.spec.containers[0].env[4].valueFrom.secretKeyRef.key: missing; name the secret version, such as "latest"',
      'service.yaml:24:11 spec.template.spec.containers[0].env[5].name: missing; every env var needs a name',
    ]);
  });

  it('allows at most 1000 env vars', () => {
    const vars = Array.from({ length: 1001 }, (_, i) => [`- name: V${i}`, '  value: x']).flat();
    assert.deepEqual(problems(container('env:', ...vars)), [
      'service.yaml:10:9 spec.template.spec.containers[0].env: has 1001 variables; Cloud Run allows at most 1000',
    ]);
  });

  it('checks traffic: percents summing to 100, one target per entry, tags (the bad-traffic fixture)', () => {
    assert.deepEqual(problems(fixture('bad-traffic.yaml'), 'bad-traffic.yaml'), [
      'bad-traffic.yaml:12:3 spec.traffic: percents add up to 110; they must add up to exactly 100',
      'bad-traffic.yaml:15:5 spec.traffic[1]: set exactly one of revisionName or latestRevision: true',
      'bad-traffic.yaml:18:10 spec.traffic[1].tag: must use only lowercase letters, digits and dashes, start with a letter and not end with a dash, got "Blue"',
    ]);
    assert.deepEqual(problems(y(
      ...HEAD.slice(0, 5),
      '  traffic:', //                        6
      '  - percent: 50.5',
      '    latestRevision: true',
      '    tag: blue',
      '  - percent: 101', //                  10
      '    revisionName: web-00001-abc',
      '    tag: blue',
      '  - percent: 0',
      '    latestRevision: false',
    )), [
      'service.yaml:7:14 spec.traffic[0].percent: must be a whole number from 0 to 100, got 50.5',
      'service.yaml:10:14 spec.traffic[1].percent: must be a whole number from 0 to 100, got 101',
      'service.yaml:11:19 spec.traffic[1].revisionName: must start with the service name and a dash ("api-"), got "web-00001-abc"',
      'service.yaml:12:10 spec.traffic[1].tag: tag "blue" is used twice (also at spec.traffic[0].tag); tags must be unique',
      'service.yaml:13:5 spec.traffic[2]: set exactly one of revisionName or latestRevision: true',
    ]);
  });

  it('checks the service and revision names', () => {
    const named = (name: string, revisionName?: string) => problems(y(
      'apiVersion: serving.knative.dev/v1', 'kind: Service', 'metadata:', `  name: ${name}`,
      ...(revisionName ? ['spec:', '  template:', '    metadata:', `      name: ${revisionName}`] : []),
    ));
    assert.deepEqual(named('My_Api'), [
      'service.yaml:4:9 metadata.name: must use only lowercase letters, digits and dashes, start with a letter and not end with a dash, got "My_Api"',
    ]);
    assert.deepEqual(named('a'.repeat(50)), ['service.yaml:4:9 metadata.name: must be at most 49 characters, got 50']);
    assert.deepEqual(named('api', 'v2'), ['service.yaml:8:13 spec.template.metadata.name: must start with the service name and a dash ("api-"), got "v2"']);
    assert.deepEqual(named('api', 'api-V2'), [
      'service.yaml:8:13 spec.template.metadata.name: must use only lowercase letters, digits and dashes, start with a letter and not end with a dash, got "api-V2"',
    ]);
    assert.deepEqual(problems(y('apiVersion: serving.knative.dev/v1', 'kind: Service', 'metadata:', '  labels: {a: b}')), [
      'service.yaml:3:1 metadata.name: missing; name the service',
    ]);
  });

  it('checks probes: liveness is HTTP or gRPC, times within Cloud Run limits, one handler, no exec', () => {
    assert.deepEqual(problems(container(
      'startupProbe:', //                       10
      '  periodSeconds: 300',
      '  timeoutSeconds: 5',
      '  httpGet:',
      '    path: ready',
      '  tcpSocket: {port: 8080}', //           15
      'livenessProbe:',
      '  tcpSocket: {}',
      '  periodSeconds: 10',
      '  timeoutSeconds: 20',
      '  failureThreshold: 0', //               20
      '  exec: {command: [true]}',
    )), [
      'service.yaml:10:9 spec.template.spec.containers[0].startupProbe: set only one of tcpSocket, httpGet or grpc; this probe sets httpGet and tcpSocket',
      'service.yaml:16:9 spec.template.spec.containers[0].livenessProbe: liveness probes use httpGet or grpc on Cloud Run; tcpSocket is for startup probes',
      'service.yaml:19:27 spec.template.spec.containers[0].livenessProbe.timeoutSeconds: must not be more than periodSeconds (10), got 20',
      'service.yaml:20:29 spec.template.spec.containers[0].livenessProbe.failureThreshold: must be a whole number, at least 1, got 0',
      'service.yaml:21:11 spec.template.spec.containers[0].livenessProbe.exec: exec probes are not supported by Cloud Run; use tcpSocket, httpGet or grpc',
    ]);
    assert.deepEqual(problems(container('startupProbe:', '  periodSeconds: 300', '  httpGet:', '    path: ready')), [
      'service.yaml:11:26 spec.template.spec.containers[0].startupProbe.periodSeconds: must be a whole number from 1 to 240, got 300',
      'service.yaml:13:19 spec.template.spec.containers[0].startupProbe.httpGet.path: must start with "/", got "ready"',
    ]);
  });

  it('rejects a field that is not part of a Service, with "did you mean" when one is close', () => {
    assert.deepEqual(problems(revision('containerConcurency: 10', 'timeoutSecs: 10', 'foo: 1')), [
      'service.yaml:8:7 spec.template.spec.containerConcurency: unknown field (did you mean "containerConcurrency"?)',
      'service.yaml:9:7 spec.template.spec.timeoutSecs: unknown field (did you mean "timeoutSeconds"?)',
      'service.yaml:10:7 spec.template.spec.foo: unknown field; known fields here: containerConcurrency, timeoutSeconds, serviceAccountName, containers, volumes, enableServiceLinks, nodeSelector, imagePullSecrets, runtimeClassName',
    ]);
    assert.deepEqual(problems(container('resources:', '  limit:', '    cpu: 1')), [
      'service.yaml:11:11 spec.template.spec.containers[0].resources.limit: unknown field (did you mean "limits"?)',
    ]);
  });

  it('reports every problem of a file at once, in source order', () => {
    const found = problems(y(
      'apiVersion: serving.knative.dev/v1', //       1
      'kind: Service',
      'metadata:',
      '  name: api',
      'spec:', //                                    5
      '  template:',
      '    spec:',
      '      containerConcurrency: 2000',
      '      timeoutSeconds: 9999',
      '      containers:', //                        10
      '      - image: devloop-test/node:20',
      '        imagePulPolicy: Always',
      '        env:',
      '        - name: PORT',
      "          value: '1'", //                     15
      '  traffic:',
      '  - percent: 40',
      '    latestRevision: true',
    ));
    assert.deepEqual(found, [
      'service.yaml:8:29 spec.template.spec.containerConcurrency: must be from 1 to 1000, got 2000',
      'service.yaml:9:23 spec.template.spec.timeoutSeconds: must be from 1 to 3600 seconds, got 9999',
      'service.yaml:12:9 spec.template.spec.containers[0].imagePulPolicy: unknown field (did you mean "imagePullPolicy"?)',
      'service.yaml:14:17 spec.template.spec.containers[0].env[0].name: PORT is set by Cloud Run from the container port; remove it and set ports[0].containerPort instead',
      'service.yaml:16:3 spec.traffic: percents add up to 40; they must add up to exactly 100',
    ]);
  });

  it('carries the issues with locations and a code frame on the ConfigError', () => {
    try {
      parseServiceYaml(revision('containerConcurrency: 2000'), 'service.yaml');
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.code, 'CLOUD_RUN_SPEC_INVALID');
      assert.equal(err.exitCode, 2);
      assert.equal(err.issues.length, 1);
      const [issue] = err.issues;
      assert.equal(issue.path, 'spec.template.spec.containerConcurrency');
      assert.deepEqual({ ...issue.location, frame: undefined }, { file: 'service.yaml', line: 8, column: 29, frame: undefined });
      assert.match(issue.location?.frame ?? '', />\s+8 \|\s+containerConcurrency: 2000\n\s+\|\s+\^/);
    }
  });

  it('asks for string values to be quoted where Kubernetes wants strings', () => {
    assert.deepEqual(problems(y(
      'apiVersion: serving.knative.dev/v1', 'kind: Service', 'metadata:', '  name: api', '  labels:', '    version: 1.10',
    )), ['service.yaml:6:14 metadata.labels.version: expected a string, got a number (1.1); quote it: "1.10"']);
  });
});

describe('parseServiceYaml: files that are not a Service', () => {
  it('gives the YAML library\'s message and position for a syntax error', () => {
    assert.deepEqual(problems('apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata:\n  name: a: b\n'), [
      'service.yaml:4:9 Nested mappings are not allowed in compact mappings',
    ]);
    assert.throws(() => parseServiceYaml('a: [1\n', 's.yaml'), (err: unknown) => err instanceof ConfigError && err.code === 'CLOUD_RUN_YAML_SYNTAX');
  });

  it('says when the file is another kind of object, a list, empty, or holds several documents', () => {
    assert.deepEqual(problems(y('apiVersion: apps/v1', 'kind: Deployment', 'metadata: {name: api}')), [
      'service.yaml:1:13 apiVersion: expected "serving.knative.dev/v1", got "apps/v1"; this file is not a Cloud Run service',
      'service.yaml:2:7 kind: expected "Service", got "Deployment"; this file is not a Cloud Run service',
    ]);
    assert.deepEqual(problems(y('apiVersion: run.googleapis.com/v1', 'kind: Job', 'metadata: {name: nightly}')), [
      'service.yaml:1:13 apiVersion: expected "serving.knative.dev/v1", got "run.googleapis.com/v1"; this file is not a Cloud Run service',
      'service.yaml:2:7 kind: expected "Service", got "Job"; Cloud Run jobs are not simulated, only services',
    ]);
    assert.deepEqual(problems(y('metadata: {name: api}')), [
      'service.yaml:1:1 apiVersion: missing; a Cloud Run service file has apiVersion: serving.knative.dev/v1 and kind: Service',
      'service.yaml:1:1 kind: missing; a Cloud Run service file has apiVersion: serving.knative.dev/v1 and kind: Service',
    ]);
    assert.deepEqual(problems('- a\n- b\n'), [
      'service.yaml:1:1 expected a Cloud Run Service (a mapping with apiVersion: serving.knative.dev/v1 and kind: Service), got a list',
    ]);
    assert.deepEqual(problems('# nothing\n'), [
      'service.yaml:1:1 the file is empty; expected a Cloud Run Service (apiVersion: serving.knative.dev/v1, kind: Service)',
    ]);
    assert.deepEqual(problems(`${fixture('service.yaml')}---\n${fixture('service.yaml')}`), [
      'service.yaml:15:1 expected one Service per file, but another document starts here; put it in a file of its own',
    ]);
  });
});

describe('specFromInline', () => {
  it('gives the same defaults as a YAML that sets nothing', () => {
    assert.deepEqual(specFromInline('api', {}, 'services.api.cloudRun'), defaults('api'));
  });

  it('normalises the Devfile options like the YAML fields', () => {
    const spec = specFromInline('api', {
      cpu: '2', memory: '1Gi', containerConcurrency: 10, timeoutSeconds: 60, minScale: 1, maxScale: 5, cpuThrottling: false,
      port: 3000, env: { LOG_LEVEL: 'debug' }, service: 'ignored.yaml',
    }, 'services.api.cloudRun');
    const want = defaults('api');
    Object.assign(want.template, {
      cpu: 2, cpuText: '2', memoryBytes: GiB, memoryText: '1Gi', containerConcurrency: 10, timeoutSeconds: 60, minScale: 1, maxScale: 5,
      cpuThrottling: false, port: { containerPort: 3000, name: 'http1' }, env: [{ name: 'LOG_LEVEL', value: 'debug' }],
      startupProbe: { ...want.template.startupProbe, port: 3000 },
    });
    assert.deepEqual(spec, want);
    assert.equal(specFromInline('api', { cpu: '500m' }, 'services.api.cloudRun').template.containerConcurrency, 1);
  });

  it('reports every problem with the Devfile path and no file position', () => {
    assert.deepEqual(inlineProblems({
      cpu: '0.5', memory: '2Gi', containerConcurrency: 2000, cpuThrottling: false, minScale: 3, maxScale: 2, port: 3000,
      env: { PORT: '3000', K_REVISION: 'x' },
    }), [
      'services.api.cloudRun.containerConcurrency: must be from 1 to 1000, got 2000',
      'services.api.cloudRun.memory: 2Gi needs at least 1 CPU, but cpu is 0.5 (at most 1Gi); raise cpu to 1 or lower memory to 1Gi',
      'services.api.cloudRun.cpuThrottling: CPU must be allocated only during requests when cpu is below 1 (cpu is 0.5); remove this setting or set cpu to 1 or more',
      'services.api.cloudRun.minScale: is 3, more than maxScale (2); lower minScale or raise maxScale',
      'services.api.env.PORT: PORT is set by Cloud Run from the container port; remove it and set port instead',
      'services.api.env.K_REVISION: K_REVISION is set by Cloud Run; remove it',
    ]);
    assert.deepEqual(inlineProblems({ cpu: 'lots', timeoutSeconds: '60' as unknown as number, memory: '16Gi' }), [
      'services.api.cloudRun.timeoutSeconds: expected a whole number, got "60"',
      'services.api.cloudRun.cpu: "lots" is not a CPU amount; write vCPUs such as 1, 2 or 500m',
    ]);
    assert.deepEqual(inlineProblems({ cpu: '1', memory: '16Gi', minScale: 200 }), [
      'services.api.cloudRun.memory: 16Gi needs at least 4 CPU, but cpu is 1 (at most 4Gi); raise cpu to 4 or lower memory to 4Gi',
      'services.api.cloudRun.minScale: is 200, more than the default maxScale (100); lower minScale or raise maxScale',
    ]);
    assert.deepEqual(inlineProblems({}, 'My_Api'), [
      'services.api: must use only lowercase letters, digits and dashes, start with a letter and not end with a dash, got "My_Api"',
    ]);
  });
});

describe('validateSpec', () => {
  it('checks a spec built or changed elsewhere, with the YAML paths', () => {
    const spec = parseServiceYaml(fixture('service.yaml'), 'service.yaml');
    assert.deepEqual(validateSpec(spec), []);
    spec.template.containerConcurrency = 0;
    spec.traffic = [{ latestRevision: true, percent: 50 }];
    assert.deepEqual(validateSpec(spec), [
      { path: 'spec.template.spec.containerConcurrency', message: 'must be from 1 to 1000, got 0' },
      { path: 'spec.traffic', message: 'percents add up to 50; they must add up to exactly 100' },
    ]);
  });
});

describe('data', () => {
  it('looks memory limits up by the CPU row at or below the value', () => {
    assert.equal(rowForCpu(0.08).max, 512 * MiB);
    assert.equal(rowForCpu(0.3).max, 512 * MiB);
    assert.equal(rowForCpu(0.5).max, GiB);
    assert.equal(rowForCpu(0.999).max, GiB);
    assert.equal(rowForCpu(1).max, 4 * GiB);
    assert.deepEqual(rowForCpu(4), { cpu: 4, max: 16 * GiB, min: 2 * GiB });
    assert.deepEqual(MEMORY_PER_CPU.map((r) => r.cpu), [0.08, 0.5, 1, 2, 4, 6, 8]);
    assert.equal(cpuForMemory(5 * GiB), 2);
    assert.equal(cpuForMemory(33 * GiB), undefined);
  });

  it('has the parity and dev scaling presets', () => {
    assert.deepEqual(SCALING_PRESETS.parity, {
      targetUtilization: 0.6, stableWindowMs: 60_000, panicWindowMs: 6_000, panicThreshold: 2, tickMs: 2_000, idleTimeoutMs: 900_000,
      scaleToZeroAfterMs: 90_000, queueWaitMinMs: 10_000, queueWaitStartupFactor: 3.5, shutdownGraceSeconds: 10,
    });
    assert.deepEqual(SCALING_PRESETS.dev, {
      targetUtilization: 0.6, stableWindowMs: 6_000, panicWindowMs: 1_000, panicThreshold: 2, tickMs: 500, idleTimeoutMs: 30_000,
      scaleToZeroAfterMs: 30_000, queueWaitMinMs: 10_000, queueWaitStartupFactor: 3.5, shutdownGraceSeconds: 10,
    });
  });
});
