import assert from 'node:assert/strict';
import { test } from 'node:test';
import { admit } from '../autopilot/admission.js';
import type { K8sObject, PodSpec } from '../autopilot/types.js';
import type { ModelConfig } from '../../core/devfile/types.js';
import { modelObjects } from './kubernetes.js';

const IMAGE = 'registry.example/model-server:1';
const gemma = (extra: Partial<ModelConfig> = {}): ModelConfig => ({ name: 'gemma', path: 'models/gemma.onnx', runtime: 'kubernetes', image: IMAGE, ...extra });
const podSpec = (o: K8sObject): PodSpec => o.spec.template.spec;

test('a CPU model is one Deployment running the image with the server flags, and a ClusterIP Service on 8080', () => {
  const [deployment, service] = modelObjects(gemma({ maxBatchSize: 8, maxBatchDelayMs: 2, instances: 2, maxQueue: 64, versionPolicy: { latest: 2 } }), 'models') as K8sObject[];
  const labels = { 'app.kubernetes.io/name': 'gemma', 'app.kubernetes.io/component': 'model-server' };
  assert.deepEqual(deployment.metadata, { name: 'gemma', namespace: 'models', labels });
  assert.deepEqual(deployment.spec.selector, { matchLabels: { 'app.kubernetes.io/name': 'gemma' } });
  assert.deepEqual(deployment.spec.template.metadata.labels, labels);
  const spec = podSpec(deployment);
  assert.equal(spec.nodeSelector, undefined);
  assert.equal(spec.containers.length, 1);
  const [c] = spec.containers as any[];
  assert.equal(c.image, IMAGE);
  assert.deepEqual(c.args, [
    '--name', 'gemma', '--model', '/models/gemma/model.onnx', '--port', '8080', '--host', '0.0.0.0',
    '--max-batch-size', '8', '--max-batch-delay-ms', '2', '--instances', '2', '--max-queue', '64', '--version-policy', '{"latest":2}',
  ]);
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/v2/health/ready', port: 'http' });
  assert.deepEqual(c.livenessProbe.httpGet, { path: '/v2/health/live', port: 'http' });
  assert.deepEqual(c.ports, [{ name: 'http', containerPort: 8080 }]);
  assert.deepEqual(c.resources, { requests: { cpu: '1', memory: '2Gi' }, limits: { cpu: '1', memory: '2Gi' } });
  assert.equal(service.kind, 'Service');
  assert.deepEqual(service.spec, { type: 'ClusterIP', selector: { 'app.kubernetes.io/name': 'gemma' }, ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }] });
  // Without a namespace the objects name none: the kubernetes runtime gives them k8s.namespace or the context's.
  assert.equal((modelObjects(gemma())[0] as K8sObject).metadata?.namespace, undefined);
});

test('a GPU model requests and limits one nvidia.com/gpu and selects the accelerator (nvidia-l4 unless set)', () => {
  const [deployment] = modelObjects(gemma({ gpu: true, resources: { cpu: '4', memory: '16Gi' }, containerModelPath: '/srv/m.onnx' })) as K8sObject[];
  const [c] = podSpec(deployment).containers as any[];
  assert.deepEqual(c.args, ['--name', 'gemma', '--model', '/srv/m.onnx', '--port', '8080', '--host', '0.0.0.0', '--gpu']);
  const want = { cpu: '4', memory: '16Gi', 'nvidia.com/gpu': '1' };
  assert.deepEqual(c.resources, { requests: want, limits: want });
  assert.deepEqual(podSpec(deployment).nodeSelector, { 'cloud.google.com/gke-accelerator': 'nvidia-l4' });
  const [t4] = modelObjects(gemma({ gpu: true, accelerator: 'nvidia-tesla-t4' })) as K8sObject[];
  assert.deepEqual(podSpec(t4).nodeSelector, { 'cloud.google.com/gke-accelerator': 'nvidia-tesla-t4' });
});

test('Autopilot admits the GPU Deployment on the Accelerator class, adds the GPU toleration and raises it to the L4 minimum', () => {
  const [deployment] = modelObjects(gemma({ gpu: true }));
  const r = admit(deployment);
  assert.equal(r.allowed, true, r.message);
  assert.deepEqual(r.denials, []);
  assert.equal(r.placement?.computeClass, 'Accelerator');
  assert.equal(r.placement?.billing, 'node');
  assert.deepEqual(r.placement?.gpu && { type: r.placement.gpu.type, count: r.placement.gpu.count }, { type: 'nvidia-l4', count: 1 });
  assert.deepEqual(podSpec(r.mutated).tolerations, [
    { key: 'cloud.google.com/compute-class', operator: 'Equal', value: 'Accelerator', effect: 'NoSchedule' },
    { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
  ]);
  // The default 1 CPU / 2Gi is below what GKE gives one L4: raised, and said so (types.ts documents it).
  assert.deepEqual(r.podRequests, { cpuMilli: 2000, memoryBytes: 7 * 1024 ** 3, ephemeralBytes: 10 * 1024 ** 2, gpus: 1 });
  assert.deepEqual(r.warnings, ['autopilot-default-resources-mutator:Autopilot updated Deployment default/gemma: adjusted resources to meet requirements for containers [model-server] (see http://g.co/gke/autopilot-resources).']);
  // The Service has no pod template: admitted untouched.
  const [, service] = modelObjects(gemma({ gpu: true }));
  assert.deepEqual(admit(service), { allowed: true, mutated: service, warnings: [], denials: [], adjustments: [], hints: [] });
});

test('Autopilot keeps the CPU and memory of a GPU model at the accelerator minimum (only ephemeral-storage is set)', () => {
  const r = admit(modelObjects(gemma({ gpu: true, resources: { cpu: '2', memory: '7Gi' } }))[0]);
  assert.equal(r.allowed, true, r.message);
  assert.deepEqual(r.adjustments.map((a) => a.resource), ['ephemeral-storage', 'ephemeral-storage']);
  assert.deepEqual(r.podRequests, { cpuMilli: 2000, memoryBytes: 7 * 1024 ** 3, ephemeralBytes: 10 * 1024 ** 2, gpus: 1 });
});

test('Autopilot admits a CPU model as general-purpose, its 1 CPU / 2Gi kept and no GPU toleration added', () => {
  const r = admit(modelObjects(gemma())[0]);
  assert.equal(r.allowed, true, r.message);
  assert.deepEqual(r.warnings, []);
  assert.equal(r.placement?.computeClass, 'general-purpose');
  assert.equal(r.placement?.billing, 'pod');
  assert.equal(r.placement?.gpu, undefined);
  assert.equal(podSpec(r.mutated).tolerations, undefined);
  assert.deepEqual(r.podRequests, { cpuMilli: 1000, memoryBytes: 2 * 1024 ** 3, ephemeralBytes: 1024 ** 3, gpus: 0 });
});
