import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admit, type AdmissionResult } from './admission.js';
import type { ClusterSettings } from './settings.js';
import type { Container, K8sObject, PodSpec } from './types.js';

// Cluster flavours. NEW: the default (2025) version, bursting on, new warning shape.
// OLD: before 1.30.2-gke.1394000, no bursting, old warning shape. NEW_NO_BURST: new control plane, no cgroup v2.
const NEW: ClusterSettings = {};
const OLD: ClusterSettings = { gkeVersion: '1.29.8-gke.1211000' };
const NEW_NO_BURST: ClusterSettings = { bursting: false };

const DEFAULTS_URL = '(see http://g.co/gke/autopilot-defaults)';
const RESOURCES_URL = '(see http://g.co/gke/autopilot-resources)';
const mutator = (object: string, text: string) => `autopilot-default-resources-mutator:Autopilot updated ${object}: ${text}`;
const WARDEN = 'admission webhook "warden-validating.common-webhooks.networking.gke.io" denied the request: GKE Warden rejected the request because it violates one or more constraints.\nViolations details: ';
const ALLOWED_CAPS = 'AUDIT_WRITE,CHOWN,DAC_OVERRIDE,FOWNER,FSETID,KILL,MKNOD,NET_BIND_SERVICE,NET_RAW,SETFCAP,SETGID,SETPCAP,SETUID,SYS_CHROOT,SYS_PTRACE';

function deployment(containers: Container[], spec: Partial<PodSpec> = {}, name = 'web'): K8sObject {
  return { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name }, spec: { replicas: 1, template: { metadata: { labels: { app: name } }, spec: { containers, ...spec } } } };
}
const c = (name: string, requests?: Record<string, string | number>, limits?: Record<string, string | number>): Container =>
  ({ name, image: 'nginx', ...(requests || limits ? { resources: { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) } } : {}) });
const app = (cpu?: string, memory?: string, extra: Record<string, string> = {}) =>
  c('app', { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}), ...extra });
const specOf = (r: AdmissionResult): PodSpec => (r.mutated.kind === 'Pod' ? r.mutated.spec : r.mutated.spec.template.spec);
const resourcesOf = (r: AdmissionResult) => [...(specOf(r).initContainers ?? []), ...specOf(r).containers].map((x) => x.resources);
const eph = (v: string) => ({ 'ephemeral-storage': v });

interface Case {
  name: string;
  settings: ClusterSettings;
  object: K8sObject;
  resources?: unknown[];
  warnings?: string[];
  denials?: { constraint: string; message: string }[];
}

function run(cases: Case[]) {
  for (const t of cases) {
    it(t.name, () => {
      const r = admit(t.object, t.settings);
      if (t.resources) assert.deepEqual(resourcesOf(r), t.resources);
      if (t.warnings) assert.deepEqual(r.warnings, t.warnings);
      assert.deepEqual(r.denials, t.denials ?? []);
      assert.equal(r.allowed, (t.denials ?? []).length === 0);
    });
  }
}

describe('admission: defaults', () => {
  run([
    {
      name: 'a container that sets nothing gets 500m / 2Gi / 1Gi; with bursting only ephemeral-storage gets a limit',
      settings: NEW, object: deployment([c('app')]),
      resources: [{ requests: { cpu: '500m', memory: '2Gi', ...eph('1Gi') }, limits: eph('1Gi') }],
      warnings: [mutator('Deployment default/web', `defaulted unspecified 'cpu' resource for containers [app] ${DEFAULTS_URL}.`)],
    },
    {
      name: 'without bursting the defaults are also the limits, and the old warning names no resource',
      settings: OLD, object: deployment([c('app')]),
      resources: [{ requests: { cpu: '500m', memory: '2Gi', ...eph('1Gi') }, limits: { cpu: '500m', memory: '2Gi', ...eph('1Gi') } }],
      warnings: [mutator('Deployment default/web', `defaulted unspecified resources for containers [app] ${DEFAULTS_URL}`)],
    },
    {
      name: 'only CPU set: memory takes the default when the ratio allows it',
      settings: NEW, object: deployment([app('1')]),
      resources: [{ requests: { cpu: '1', memory: '2Gi', ...eph('1Gi') }, limits: eph('1Gi') }],
      warnings: [mutator('Deployment default/web', `defaulted unspecified 'memory' resource for containers [app] ${DEFAULTS_URL}.`)],
    },
    {
      name: 'only CPU set (4): the default memory is raised to the 1:1 floor, 4Gi',
      settings: NEW, object: deployment([app('4')]),
      resources: [{ requests: { cpu: '4', memory: '4Gi', ...eph('1Gi') }, limits: eph('1Gi') }],
      warnings: [mutator('Deployment default/web', `defaulted unspecified 'memory' resource for containers [app] ${DEFAULTS_URL}, and adjusted resources to meet requirements for containers [app] ${RESOURCES_URL}.`)],
    },
    {
      name: 'only memory set (16Gi): the default CPU is raised to 16Gi / 6.5 = 2462m',
      settings: NEW, object: deployment([app(undefined, '16Gi')]),
      resources: [{ requests: { memory: '16Gi', cpu: '2462m', ...eph('1Gi') }, limits: eph('1Gi') }],
      warnings: [mutator('Deployment default/web', `defaulted unspecified 'cpu' resource for containers [app] ${DEFAULTS_URL}, and adjusted resources to meet requirements for containers [app] ${RESOURCES_URL}.`)],
    },
    {
      name: 'limits without requests: requests take the limits (API server defaulting), nothing to warn about',
      settings: NEW, object: deployment([c('app', undefined, { cpu: 1, memory: '1Gi' })]),
      resources: [{ limits: { cpu: '1', memory: '1Gi', ...eph('1Gi') }, requests: { cpu: '1', memory: '1Gi', ...eph('1Gi') } }],
      warnings: [],
    },
    {
      name: 'quantities come back in the API server canonical form',
      settings: NEW, object: deployment([app('0.5', '2048Mi', eph('1024Mi'))]),
      resources: [{ requests: { cpu: '500m', memory: '2Gi', ...eph('1Gi') }, limits: eph('1Gi') }],
      warnings: [],
    },
    {
      name: 'init containers are defaulted too and listed first, with ", " between names',
      settings: NEW, object: deployment([c('app')], { initContainers: [c('setup')] }),
      warnings: [mutator('Deployment default/web', `defaulted unspecified 'cpu' resource for containers [setup, app] ${DEFAULTS_URL}.`)],
    },
  ]);
});

describe('admission: minimums, ratios and 250m steps (pod total, difference on the first container)', () => {
  run([
    {
      name: 'with bursting, 10m / 10Mi is raised to 50m / 52Mi',
      settings: NEW, object: deployment([app('10m', '10Mi')]),
      resources: [{ requests: { cpu: '50m', memory: '52Mi', ...eph('1Gi') }, limits: eph('1Gi') }],
      warnings: [mutator('Deployment default/web', `adjusted resources to meet requirements for containers [app] ${RESOURCES_URL}.`)],
    },
    {
      name: 'without bursting, 100m / 100Mi is raised to 250m / 512Mi and limits = requests',
      settings: OLD, object: deployment([app('100m', '100Mi')]),
      resources: [{ requests: { cpu: '250m', memory: '512Mi', ...eph('1Gi') }, limits: { cpu: '250m', memory: '512Mi', ...eph('1Gi') } }],
      warnings: [mutator('Deployment default/web', `defaulted unspecified resources for containers [app] ${DEFAULTS_URL}, and adjusted resources to meet requirements for containers [app] ${RESOURCES_URL}`)],
    },
    {
      name: 'the pod total is raised and the difference goes to the first container only',
      settings: OLD, object: deployment([c('a', { cpu: '100m', memory: '256Mi' }), c('b', { cpu: '100m', memory: '128Mi' })]),
      resources: [
        { requests: { cpu: '150m', memory: '384Mi', ...eph('1Gi') }, limits: { cpu: '150m', memory: '384Mi', ...eph('1Gi') } },
        { requests: { cpu: '100m', memory: '128Mi', ...eph('1Gi') }, limits: { cpu: '100m', memory: '128Mi', ...eph('1Gi') } },
      ],
      warnings: [mutator('Deployment default/web', `defaulted unspecified resources for containers [a, b] ${DEFAULTS_URL}, and adjusted resources to meet requirements for containers [a] ${RESOURCES_URL}`)],
    },
    {
      name: 'ratio: 200m with 2Gi becomes 308m (2Gi / 6.5), the documented example',
      settings: NEW, object: deployment([app('200m', '2Gi')]),
      resources: [{ requests: { cpu: '308m', memory: '2Gi', ...eph('1Gi') }, limits: eph('1Gi') }],
      warnings: [mutator('Deployment default/web', `adjusted resources to meet requirements for containers [app] ${RESOURCES_URL}.`)],
    },
    {
      name: 'ratio then steps without bursting: 200m with 2Gi -> 308m -> 500m',
      settings: NEW_NO_BURST, object: deployment([app('200m', '2Gi')]),
      resources: [{ requests: { cpu: '500m', memory: '2Gi', ...eph('1Gi') }, limits: { cpu: '500m', memory: '2Gi', ...eph('1Gi') } }],
      warnings: [mutator('Deployment default/web', `adjusted resources to meet requirements for containers [app] ${RESOURCES_URL}.`)],
    },
    {
      name: 'ratio floor: 2 vCPU with 1Gi gets 2Gi (1 GiB per vCPU)',
      settings: NEW, object: deployment([app('2', '1Gi')]),
      resources: [{ requests: { cpu: '2', memory: '2Gi', ...eph('1Gi') }, limits: eph('1Gi') }],
    },
    {
      name: 'ratio floor rounds to the nearest MiB like config-sync: 300m with 100Mi -> 307Mi',
      settings: NEW, object: deployment([app('300m', '100Mi')]),
      resources: [{ requests: { cpu: '300m', memory: '307Mi', ...eph('1Gi') }, limits: eph('1Gi') }],
    },
    {
      name: '250m steps without bursting: 800m -> 1000m (the API server prints it "1")',
      settings: NEW_NO_BURST, object: deployment([app('800m', '1Gi')]),
      resources: [{ requests: { cpu: '1', memory: '1Gi', ...eph('1Gi') }, limits: { cpu: '1', memory: '1Gi', ...eph('1Gi') } }],
      warnings: [mutator('Deployment default/web', `adjusted resources to meet requirements for containers [app] ${RESOURCES_URL}.`)],
    },
    {
      name: 'with bursting 800m stays 800m and nothing is adjusted',
      settings: NEW, object: deployment([app('800m', '1Gi')]),
      resources: [{ requests: { cpu: '800m', memory: '1Gi', ...eph('1Gi') }, limits: eph('1Gi') }],
      warnings: [],
    },
    {
      name: 'steps apply to the pod total: 300m + 300m -> 750m, the first container gets 450m',
      settings: NEW_NO_BURST, object: deployment([c('a', { cpu: '300m', memory: '1Gi' }), c('b', { cpu: '300m', memory: '1Gi' })]),
      resources: [
        { requests: { cpu: '450m', memory: '1Gi', ...eph('1Gi') }, limits: { cpu: '450m', memory: '1Gi', ...eph('1Gi') } },
        { requests: { cpu: '300m', memory: '1Gi', ...eph('1Gi') }, limits: { cpu: '300m', memory: '1Gi', ...eph('1Gi') } },
      ],
      warnings: [mutator('Deployment default/web', `adjusted resources to meet requirements for containers [a] ${RESOURCES_URL}.`)],
    },
    {
      name: 'without bursting, limits above requests are brought down to the requests',
      settings: OLD, object: deployment([c('app', { cpu: '500m', memory: '2Gi', ...eph('1Gi') }, { cpu: '1', memory: '4Gi', ...eph('1Gi') })]),
      resources: [{ requests: { cpu: '500m', memory: '2Gi', ...eph('1Gi') }, limits: { cpu: '500m', memory: '2Gi', ...eph('1Gi') } }],
      warnings: [mutator('Deployment default/web', `adjusted resources to meet requirements for containers [app] ${RESOURCES_URL}`)],
    },
    {
      name: 'with bursting, limits above requests stay; a limit below a raised request is raised',
      settings: NEW, object: deployment([c('app', { cpu: '10m', memory: '256Mi' }, { cpu: '20m', memory: '4Gi' })]),
      resources: [{ requests: { cpu: '50m', memory: '256Mi', ...eph('1Gi') }, limits: { cpu: '50m', memory: '4Gi', ...eph('1Gi') } }],
    },
    {
      name: 'native sidecars count in the pod total: 200m with 2Gi needs 308m, the first app container gets 108m more',
      settings: NEW, object: deployment([app('100m', '1Gi')], { initContainers: [{ ...c('proxy', { cpu: '100m', memory: '1Gi', ...eph('1Gi') }), restartPolicy: 'Always' }] }),
      resources: [{ requests: { cpu: '100m', memory: '1Gi', ...eph('1Gi') }, limits: eph('1Gi') }, { requests: { cpu: '208m', memory: '1Gi', ...eph('1Gi') }, limits: eph('1Gi') }],
      warnings: [mutator('Deployment default/web', `adjusted resources to meet requirements for containers [app] ${RESOURCES_URL}.`)],
    },
  ]);
});

describe('admission: compute classes', () => {
  run([
    {
      name: 'Balanced allows 1:8: 250m with 2Gi is left alone',
      settings: NEW, object: deployment([app('250m', '2Gi', eph('1Gi'))], { nodeSelector: { 'cloud.google.com/compute-class': 'Balanced' } }),
      resources: [{ requests: { cpu: '250m', memory: '2Gi', ...eph('1Gi') }, limits: eph('1Gi') }], warnings: [],
    },
    {
      name: 'Balanced: 250m with 3Gi -> 375m (3Gi / 8)',
      settings: NEW, object: deployment([app('250m', '3Gi', eph('1Gi'))], { nodeSelector: { 'cloud.google.com/compute-class': 'Balanced' } }),
      resources: [{ requests: { cpu: '375m', memory: '3Gi', ...eph('1Gi') }, limits: eph('1Gi') }],
    },
    {
      name: 'Scale-Out is 1:4 exactly: 1 vCPU with 2Gi -> 4Gi',
      settings: NEW, object: deployment([app('1', '2Gi', eph('1Gi'))], { nodeSelector: { 'cloud.google.com/compute-class': 'Scale-Out' } }),
      resources: [{ requests: { cpu: '1', memory: '4Gi', ...eph('1Gi') }, limits: eph('1Gi') }],
    },
    {
      name: 'Scale-Out is 1:4 exactly: 500m with 4Gi -> 1 vCPU',
      settings: NEW, object: deployment([app('500m', '4Gi', eph('1Gi'))], { nodeSelector: { 'cloud.google.com/compute-class': 'Scale-Out' } }),
      resources: [{ requests: { cpu: '1', memory: '4Gi', ...eph('1Gi') }, limits: eph('1Gi') }],
    },
    {
      name: 'Performance has no ratio: 1 vCPU with 64Gi on c3 is left alone',
      settings: NEW, object: deployment([app('1', '64Gi', eph('1Gi'))], { nodeSelector: { 'cloud.google.com/compute-class': 'Performance', 'cloud.google.com/machine-family': 'c3' } }),
      resources: [{ requests: { cpu: '1', memory: '64Gi', ...eph('1Gi') }, limits: eph('1Gi') }], warnings: [],
    },
    {
      name: 'Performance is capped by the largest machine of the family (c3-standard-176)',
      settings: NEW, object: deployment([app('200', '700Gi', eph('1Gi'))], { nodeSelector: { 'cloud.google.com/compute-class': 'Performance', 'cloud.google.com/machine-family': 'c3' } }),
      denials: [{ constraint: 'autogke-pod-limit-constraints', message: "Total cpu requested by containers for workload is higher than the Autopilot maximum of '176'" }],
    },
    {
      name: 'Performance without a machine family is denied',
      settings: NEW, object: deployment([app('1', '4Gi')], { nodeSelector: { 'cloud.google.com/compute-class': 'Performance' } }),
      denials: [{ constraint: 'autogke-node-affinity-selector-limitation', message: "compute class 'Performance' requires the node selector 'cloud.google.com/machine-family' in Autopilot." }],
    },
    {
      name: 'Arm with Scale-Out is allowed and tolerates the Arm and class taints',
      settings: NEW, object: deployment([app('1', '4Gi', eph('1Gi'))], { nodeSelector: { 'cloud.google.com/compute-class': 'Scale-Out', 'kubernetes.io/arch': 'arm64' } }),
      resources: [{ requests: { cpu: '1', memory: '4Gi', ...eph('1Gi') }, limits: eph('1Gi') }],
    },
    {
      // Arm without a compute class is admitted (documented-rules.test.ts); Balanced has no Arm nodes.
      name: 'Arm with Balanced is denied',
      settings: NEW, object: deployment([app('1', '4Gi')], { nodeSelector: { 'cloud.google.com/compute-class': 'Balanced', 'kubernetes.io/arch': 'arm64' } }),
      denials: [{ constraint: 'autogke-node-affinity-selector-limitation', message: "node selector 'kubernetes.io/arch: arm64' is not supported with compute class 'Balanced' in Autopilot; use 'Scale-Out' or 'Performance', or no compute class." }],
    },
  ]);

  it('adds the toleration for the class taint (and Arm), without duplicating one already there', () => {
    const r = admit(deployment([app('1', '4Gi')], {
      nodeSelector: { 'cloud.google.com/compute-class': 'Scale-Out', 'kubernetes.io/arch': 'arm64' },
      tolerations: [{ key: 'kubernetes.io/arch', operator: 'Equal', value: 'arm64', effect: 'NoSchedule' }],
    }));
    assert.deepEqual(specOf(r).tolerations, [
      { key: 'kubernetes.io/arch', operator: 'Equal', value: 'arm64', effect: 'NoSchedule' },
      { key: 'cloud.google.com/compute-class', operator: 'Equal', value: 'Scale-Out', effect: 'NoSchedule' },
    ]);
  });

  it('reads the class from required node affinity too', () => {
    const r = admit(deployment([app('250m', '3Gi')], { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'cloud.google.com/compute-class', operator: 'In', values: ['Balanced'] }] }] } } } }));
    assert.equal(r.placement?.computeClass, 'Balanced');
    assert.equal(resourcesOf(r)[0]?.requests?.cpu, '375m');
  });

  it('a machine family alone selects Performance', () => {
    const r = admit(deployment([app('1', '4Gi')], { nodeSelector: { 'cloud.google.com/machine-family': 'c2' } }));
    assert.equal(r.placement?.computeClass, 'Performance');
    assert.equal(r.placement?.billing, 'node');
  });
});

describe('admission: maximums deny', () => {
  const max = (resource: string, value: string) => ({ constraint: 'autogke-pod-limit-constraints', message: `Total ${resource} requested by containers for workload is higher than the Autopilot maximum of '${value}'` });
  run([
    { name: 'general-purpose: 31 vCPU is above 30', settings: NEW, object: deployment([app('31', '64Gi')]), denials: [max('cpu', '30')] },
    { name: 'general-purpose: 111Gi is above 110Gi', settings: NEW, object: deployment([app('30', '111Gi')]), denials: [max('memory', '110Gi')] },
    { name: 'the maximum is on the pod total, not per container', settings: NEW, object: deployment([c('a', { cpu: '16', memory: '32Gi' }), c('b', { cpu: '16', memory: '32Gi' })]), denials: [max('cpu', '30')] },
    { name: 'Balanced: 200 vCPU / 800Gi is admitted', settings: NEW, object: deployment([app('200', '800Gi')], { nodeSelector: { 'cloud.google.com/compute-class': 'Balanced' } }) },
    { name: 'Balanced: 223 vCPU / 900Gi is above 222 / 851Gi', settings: NEW, object: deployment([app('223', '900Gi')], { nodeSelector: { 'cloud.google.com/compute-class': 'Balanced' } }), denials: [max('cpu', '222'), max('memory', '851Gi')] },
    {
      name: 'Scale-Out Arm: 44 vCPU (and the 176Gi the 1:4 ratio then needs) is above 43 / 172Gi',
      settings: NEW, object: deployment([app('44', '100Gi')], { nodeSelector: { 'cloud.google.com/compute-class': 'Scale-Out', 'kubernetes.io/arch': 'arm64' } }),
      denials: [max('cpu', '43'), max('memory', '172Gi')],
    },
    { name: 'Scale-Out x86: 54 vCPU / 216Gi is admitted', settings: NEW, object: deployment([app('54', '216Gi')], { nodeSelector: { 'cloud.google.com/compute-class': 'Scale-Out' } }) },
    { name: 'ephemeral storage above 10Gi is denied', settings: NEW, object: deployment([app('1', '2Gi', eph('11Gi'))]), denials: [max('ephemeral-storage', '10Gi')] },
    {
      name: 'ephemeral storage below 10Mi is raised',
      settings: NEW, object: deployment([app('1', '2Gi', eph('5Mi'))]),
      resources: [{ requests: { cpu: '1', memory: '2Gi', ...eph('10Mi') }, limits: eph('10Mi') }],
    },
  ]);
});

describe('admission: DaemonSets', () => {
  const ds = (containers: Container[]): K8sObject => ({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent', namespace: 'monitoring' }, spec: { template: { spec: { containers } } } });
  run([
    {
      name: 'DaemonSet containers default to 50m / 100Mi / 100Mi',
      settings: NEW, object: ds([c('agent')]),
      resources: [{ requests: { cpu: '50m', memory: '100Mi', ...eph('100Mi') }, limits: eph('100Mi') }],
      warnings: [mutator('DaemonSet monitoring/agent', `defaulted unspecified 'cpu' resource for containers [agent] ${DEFAULTS_URL}.`)],
    },
    {
      name: 'DaemonSets have lower minimums and no 250m steps: 5m / 5Mi -> 10m / 10Mi',
      settings: OLD, object: ds([c('agent', { cpu: '5m', memory: '5Mi' })]),
      resources: [{ requests: { cpu: '10m', memory: '10Mi', ...eph('100Mi') }, limits: { cpu: '10m', memory: '10Mi', ...eph('100Mi') } }],
      warnings: [mutator('DaemonSet monitoring/agent', `defaulted unspecified resources for containers [agent] ${DEFAULTS_URL}, and adjusted resources to meet requirements for containers [agent] ${RESOURCES_URL}`)],
    },
  ]);
});

describe('admission: GPUs', () => {
  const gpuPod = (type: string, count: number, requests: Record<string, string> = {}, extra: Partial<PodSpec> = {}) =>
    deployment([c('model', Object.keys(requests).length ? requests : undefined, { 'nvidia.com/gpu': count })], { nodeSelector: { 'cloud.google.com/gke-accelerator': type }, ...extra }, 'llm');
  const gpuDenial = (message: string) => ({ constraint: 'autogke-gpu-limitation', message });
  run([
    {
      name: '1 x A100 with nothing requested gets the per-count minimum, 9 vCPU / 60Gi (no defaults for Accelerator)',
      settings: NEW, object: gpuPod('nvidia-tesla-a100', 1),
      resources: [{ limits: { 'nvidia.com/gpu': '1', ...eph('10Mi') }, requests: { 'nvidia.com/gpu': '1', cpu: '9', memory: '60Gi', ...eph('10Mi') } }],
      warnings: [mutator('Deployment default/llm', `adjusted resources to meet requirements for containers [model] ${RESOURCES_URL}.`)],
    },
    { name: '1 x A100 at its caps, 11 vCPU / 74Gi, is admitted', settings: NEW, object: gpuPod('nvidia-tesla-a100', 1, { cpu: '11', memory: '74Gi' }) },
    {
      name: '1 x A100 is capped at 11 vCPU',
      settings: NEW, object: gpuPod('nvidia-tesla-a100', 1, { cpu: '12', memory: '74Gi' }),
      denials: [{ constraint: 'autogke-pod-limit-constraints', message: "Total cpu requested by containers for workload is higher than the Autopilot maximum of '11'" }],
    },
    {
      name: '1 x A100 is capped at 74Gi',
      settings: NEW, object: gpuPod('nvidia-tesla-a100', 1, { cpu: '10', memory: '75Gi' }),
      denials: [{ constraint: 'autogke-pod-limit-constraints', message: "Total memory requested by containers for workload is higher than the Autopilot maximum of '74Gi'" }],
    },
    { name: 'no CPU:memory ratio for GPU pods: 2 x L4 with 22 vCPU / 80Gi', settings: NEW, object: gpuPod('nvidia-l4', 2, { cpu: '22', memory: '80Gi' }) },
    { name: 'an unsupported count is denied', settings: NEW, object: gpuPod('nvidia-tesla-a100', 3), denials: [gpuDenial("3 x 'nvidia-tesla-a100' is not a supported GPU count in Autopilot; supported counts: 1, 2, 4, 8, 16.")] },
    { name: 'an unknown type is denied', settings: NEW, object: gpuPod('nvidia-rtx-4090', 1), denials: [gpuDenial("The requested GPU type 'nvidia-rtx-4090' is not supported in Autopilot; allowed values are: [nvidia-a100-80gb, nvidia-b200, nvidia-h100-80gb, nvidia-h100-mega-80gb, nvidia-h200-141gb, nvidia-l4, nvidia-tesla-a100, nvidia-tesla-t4].")] },
    {
      name: 'the nvidia.com/gpu Exists toleration without a GPU request is denied',
      settings: NEW, object: deployment([app('1', '2Gi')], { tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }] }),
      denials: [gpuDenial("The toleration with key 'nvidia.com/gpu' and operator 'Exists' cannot be specified if the pod does not request to use GPU in Autopilot.")],
    },
    {
      name: 'a GPU type selected without nvidia.com/gpu is denied',
      settings: NEW, object: deployment([app('1', '2Gi')], { nodeSelector: { 'cloud.google.com/gke-accelerator': 'nvidia-l4' } }),
      denials: [gpuDenial("pod selects 'cloud.google.com/gke-accelerator: nvidia-l4' but requests no 'nvidia.com/gpu' in its limits; Autopilot requires both.")],
    },
    {
      name: 'nvidia.com/gpu without a GPU type is denied',
      settings: NEW, object: deployment([c('model', undefined, { 'nvidia.com/gpu': 1 })]),
      denials: [gpuDenial("You must specify a GPU type with node selector 'cloud.google.com/gke-accelerator' when GPU is requested on Autopilot workloads; supported values are: [nvidia-a100-80gb, nvidia-b200, nvidia-h100-80gb, nvidia-h100-mega-80gb, nvidia-h200-141gb, nvidia-l4, nvidia-tesla-a100, nvidia-tesla-t4].")],
    },
  ]);

  it('adds the GPU toleration and bills by node', () => {
    const r = admit(gpuPod('nvidia-l4', 1, { cpu: '4', memory: '16Gi' }));
    assert.deepEqual(specOf(r).tolerations, [
      { key: 'cloud.google.com/compute-class', operator: 'Equal', value: 'Accelerator', effect: 'NoSchedule' },
      { key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' },
    ]);
    assert.equal(r.placement?.computeClass, 'Accelerator');
    assert.equal(r.placement?.billing, 'node');
    assert.deepEqual(r.podRequests, { cpuMilli: 4000, memoryBytes: 16 * 1024 ** 3, ephemeralBytes: 10 * 1024 ** 2, gpus: 1 });
  });

  it('the Accelerator class is implied from 1.29.4-gke.1427000, explicit from 1.28.9-gke.1069000, absent before', () => {
    const cls = (gkeVersion: string, explicit: boolean) => admit(gpuPod('nvidia-l4', 1, { cpu: '4', memory: '16Gi' }, explicit ? { nodeSelector: { 'cloud.google.com/gke-accelerator': 'nvidia-l4', 'cloud.google.com/compute-class': 'Accelerator' } } : {}), { gkeVersion }).placement;
    assert.equal(cls('1.29.4-gke.1427000', false)?.computeClass, 'Accelerator');
    assert.equal(cls('1.29.4-gke.1426999', false)?.computeClass, 'general-purpose');
    assert.equal(cls('1.29.4-gke.1426999', false)?.billing, 'pod');
    assert.equal(cls('1.28.9-gke.1069000', true)?.computeClass, 'Accelerator');
    assert.equal(cls('1.28.9-gke.1068999', true)?.computeClass, 'general-purpose');
    assert.equal(cls('1.28.8-gke.1000', true)?.computeClass, 'general-purpose');
  });
});

describe('admission: Spot', () => {
  it('rewrites gke-preemptible to gke-spot and adds the Spot toleration', () => {
    const r = admit(deployment([app('1', '2Gi')], { nodeSelector: { 'cloud.google.com/gke-preemptible': 'true' } }));
    assert.deepEqual(specOf(r).nodeSelector, { 'cloud.google.com/gke-spot': 'true' });
    assert.deepEqual(specOf(r).tolerations, [{ key: 'cloud.google.com/gke-spot', operator: 'Equal', value: 'true', effect: 'NoSchedule' }]);
    assert.equal(r.placement?.spot, true);
    assert.deepEqual(r.denials, []);
  });

  it('rewrites the key in node affinity too', () => {
    const r = admit(deployment([app('1', '2Gi')], { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'cloud.google.com/gke-preemptible', operator: 'In', values: ['true'] }] }] } } } }));
    assert.equal(specOf(r).affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms[0].matchExpressions?.[0].key, 'cloud.google.com/gke-spot');
  });

  it('does not add a second Spot toleration', () => {
    const tol = { key: 'cloud.google.com/gke-spot', operator: 'Equal' as const, value: 'true', effect: 'NoSchedule' as const };
    const r = admit(deployment([app('1', '2Gi')], { nodeSelector: { 'cloud.google.com/gke-spot': 'true' }, tolerations: [tol] }));
    assert.deepEqual(specOf(r).tolerations, [tol]);
  });
});

describe('admission: pod anti-affinity', () => {
  const anti = { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: { app: 'loki' } } }] } };
  const pod = (cpu: string): K8sObject => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'loki-0' }, spec: { containers: [app(cpu, '1Gi')], affinity: anti } });
  run([
    {
      name: 'below 500m in total is denied (as Warden told the loki chart)',
      settings: OLD, object: pod('100m'),
      denials: [{ constraint: 'autogke-pod-limit-constraints', message: "workload 'loki-0' cpu requests '250m' is lower than the Autopilot minimum required of '500m' for using pod anti affinity." }],
    },
    { name: '500m is enough', settings: NEW, object: pod('500m') },
  ]);
});

describe('admission: security constraints', () => {
  const pod = (spec: Partial<PodSpec>, containers: Container[] = [c('test')], name = 'privileged-test'): K8sObject =>
    ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers, ...spec } });

  it('a privileged container: the exact warning and denial a 2025 cluster printed', () => {
    const r = admit(pod({}, [{ name: 'test', image: 'busybox', command: ['sleep', '3600'], securityContext: { privileged: true } }]));
    assert.deepEqual(r.warnings, [mutator('Pod default/privileged-test', `defaulted unspecified 'cpu' resource for containers [test] ${DEFAULTS_URL}.`)]);
    assert.equal(r.message, `${WARDEN}{"[denied by autogke-disallow-privilege]":["container test is privileged; not allowed in Autopilot"]}`);
  });

  it('several constraints: ids sorted like the real response, messages in container order', () => {
    const r = admit({
      apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'steadybit-agent-extension-host', namespace: 'steadybit-agent' },
      spec: { template: { spec: { hostNetwork: true, hostPID: true, containers: [{
        name: 'extension-host', ports: [{ containerPort: 8080, hostPort: 8080 }],
        securityContext: { capabilities: { add: ['SYS_ADMIN', 'SYS_RESOURCE', 'SYS_BOOT', 'SYS_TIME', 'NET_ADMIN', 'NET_RAW'] } },
      }] } } },
    });
    assert.equal(r.message, `${WARDEN}{"[denied by autogke-default-linux-capabilities]":["linux capability 'SYS_ADMIN,SYS_RESOURCE,SYS_BOOT,SYS_TIME,NET_ADMIN' on container 'extension-host' not allowed; Autopilot only allows the capabilities: '${ALLOWED_CAPS}'."],` +
      '"[denied by autogke-disallow-hostnamespaces]":["enabling hostNetwork is not allowed in Autopilot.","enabling hostPID is not allowed in Autopilot."],' +
      '"[denied by autogke-no-host-port]":["container extension-host specifies host ports [8080], which are disallowed in Autopilot."]}');
  });

  run([
    { name: 'hostIPC', settings: NEW, object: pod({ hostIPC: true }), denials: [{ constraint: 'autogke-disallow-hostnamespaces', message: 'enabling hostIPC is not allowed in Autopilot.' }] },
    {
      name: 'hostPath outside /var/log/, read-only: the path is refused',
      settings: NEW, object: pod({ volumes: [{ name: 'proc', hostPath: { path: '/proc' } }] }, [{ name: 'install-cni', volumeMounts: [{ name: 'proc', mountPath: '/host/proc', readOnly: true }] }]),
      denials: [{ constraint: 'autogke-no-write-mode-hostpath', message: 'hostPath volume proc used in container install-cni uses path /proc which is not allowed in Autopilot. Allowed path prefixes for hostPath volumes are: [/var/log/].' }],
    },
    {
      name: 'hostPath mounted writable: refused as write mode, whatever the path',
      settings: NEW, object: pod({ volumes: [{ name: 'logs', hostPath: { path: '/var/log' } }, { name: 'sys-path', hostPath: { path: '/sys' } }] }, [{ name: 'chaos-daemon', volumeMounts: [{ name: 'logs', mountPath: '/logs' }, { name: 'sys-path', mountPath: '/sys' }] }]),
      denials: [
        { constraint: 'autogke-no-write-mode-hostpath', message: 'hostPath volume logs in container chaos-daemon is accessed in write mode; disallowed in Autopilot.' },
        { constraint: 'autogke-no-write-mode-hostpath', message: 'hostPath volume sys-path in container chaos-daemon is accessed in write mode; disallowed in Autopilot.' },
      ],
    },
    {
      name: 'hostPath under /var/log/, read-only, is allowed (and /var/log/../etc is not under it)',
      settings: NEW, object: pod({ volumes: [{ name: 'pods', hostPath: { path: '/var/log/pods' } }, { name: 'sneaky', hostPath: { path: '/var/log/../etc' } }] }, [{ name: 'promtail', volumeMounts: [{ name: 'pods', mountPath: '/var/log/pods', readOnly: true }, { name: 'sneaky', mountPath: '/etc2', readOnly: true }] }]),
      denials: [{ constraint: 'autogke-no-write-mode-hostpath', message: 'hostPath volume sneaky used in container promtail uses path /var/log/../etc which is not allowed in Autopilot. Allowed path prefixes for hostPath volumes are: [/var/log/].' }],
    },
    {
      name: 'several host ports print as a Go list',
      settings: NEW, object: pod({}, [{ name: 'ingress', ports: [{ containerPort: 80, hostPort: 80 }, { containerPort: 443, hostPort: 443 }, { containerPort: 9000 }] }]),
      denials: [{ constraint: 'autogke-no-host-port', message: 'container ingress specifies host ports [80 443], which are disallowed in Autopilot.' }],
    },
    {
      name: 'allowed capabilities pass; others are listed in the order written',
      settings: NEW, object: pod({}, [{ name: 'install-cni', securityContext: { capabilities: { add: ['NET_ADMIN', 'CHOWN', 'SYS_ADMIN'] } } }]),
      denials: [{ constraint: 'autogke-default-linux-capabilities', message: `linux capability 'NET_ADMIN,SYS_ADMIN' on container 'install-cni' not allowed; Autopilot only allows the capabilities: '${ALLOWED_CAPS}'.` }],
    },
    {
      name: 'restricted node selector keys, in nodeSelector and in node affinity',
      settings: NEW, object: pod({
        nodeSelector: { 'kubernetes.io/hostname': 'node-1' },
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'node.kubernetes.io/instance-type', operator: 'In', values: ['e2-standard-4'] }] }] } } },
      }),
      denials: [
        { constraint: 'autogke-node-affinity-selector-limitation', message: "Key 'kubernetes.io/hostname' is not allowed with node selector; Autopilot does not allow selecting nodes by this label." },
        { constraint: 'autogke-node-affinity-selector-limitation', message: "Key 'node.kubernetes.io/instance-type' is not allowed with node affinity; Autopilot does not allow selecting nodes by this label." },
      ],
    },
  ]);

  it('a managed namespace is refused by Warden authz before any mutation', () => {
    const r = admit({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x', namespace: 'kube-system' }, spec: { template: { spec: { containers: [c('app')] } } } });
    assert.equal(r.message, 'GKE Warden authz [denied by managed-namespaces-limitation]: the namespace "kube-system" is managed and the request verb "create" is denied');
    assert.deepEqual(r.warnings, []);
    assert.equal(r.mutated.spec.template.spec.containers[0].resources, undefined);
    const cm = admit({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'kube-system' } }, { verb: 'update' });
    assert.equal(cm.denials[0].message, 'the namespace "kube-system" is managed and the request verb "update" is denied');
  });
});

describe('admission: workload kinds', () => {
  const containers = [c('app')];
  const kinds: [string, K8sObject, (o: K8sObject) => Container][] = [
    ['Pod', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'w' }, spec: { containers } }, (o) => o.spec.containers[0]],
    ['Deployment', { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'w' }, spec: { template: { spec: { containers } } } }, (o) => o.spec.template.spec.containers[0]],
    ['StatefulSet', { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'w' }, spec: { template: { spec: { containers } } } }, (o) => o.spec.template.spec.containers[0]],
    ['ReplicaSet', { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'w' }, spec: { template: { spec: { containers } } } }, (o) => o.spec.template.spec.containers[0]],
    ['Job', { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'w' }, spec: { template: { spec: { containers, restartPolicy: 'Never' } } } }, (o) => o.spec.template.spec.containers[0]],
    ['CronJob', { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'w' }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: { containers } } } } } }, (o) => o.spec.jobTemplate.spec.template.spec.containers[0]],
  ];
  for (const [kind, obj, container] of kinds) {
    it(`${kind}: the pod template is mutated and the warning names the kind`, () => {
      const r = admit(obj);
      assert.deepEqual(container(r.mutated).resources?.requests, { cpu: '500m', memory: '2Gi', ...eph('1Gi') });
      assert.deepEqual(r.warnings, [mutator(`${kind} default/w`, `defaulted unspecified 'cpu' resource for containers [app] ${DEFAULTS_URL}.`)]);
      assert.equal(container(obj).resources, undefined, 'the input is left alone');
    });
  }

  it('before bursting clusters, CronJobs are validated, not mutated', () => {
    const cron = (requests?: Record<string, string>, limits?: Record<string, string>): K8sObject =>
      ({ apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'nightly' }, spec: { jobTemplate: { spec: { template: { spec: { containers: [c('job', requests, limits)] } } } } } });
    const missing = admit(cron(), OLD);
    assert.deepEqual(missing.denials, [{ constraint: 'autogke-pod-limit-constraints', message: "container 'job' does not have resources/limits defined for all resources which is required in Autopilot clusters." }]);
    assert.deepEqual(missing.warnings, []);
    const unequal = admit(cron({ cpu: '500m', memory: '1Gi' }, { cpu: '1', memory: '1Gi' }), OLD);
    assert.deepEqual(unequal.denials, [{ constraint: 'autogke-pod-limit-constraints', message: "container 'job' does not have resource==limits which is required in Autopilot clusters." }]);
    const ok = admit(cron({ cpu: '500m', memory: '1Gi' }, { cpu: '500m', memory: '1Gi' }), OLD);
    assert.equal(ok.allowed, true);
    assert.deepEqual(ok.mutated, cron({ cpu: '500m', memory: '1Gi' }, { cpu: '500m', memory: '1Gi' }));
  });

  it('objects without pods pass through untouched', () => {
    const svc = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: [{ port: 80 }] } };
    const r = admit(svc);
    assert.deepEqual(r, { allowed: true, mutated: svc, warnings: [], denials: [], adjustments: [], hints: [] });
    assert.notEqual(r.mutated, svc);
  });

  it('a quantity the API server cannot parse is its validation error, not Warden', () => {
    const r = admit(deployment([app('lots', '1Gi')]));
    assert.equal(r.allowed, false);
    assert.equal(r.message, `The Deployment "web" is invalid: spec.template.spec.containers[0].resources.requests[cpu]: Invalid value: "lots": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`);
  });

  it('is deterministic and leaves its input alone', () => {
    const obj = deployment([app('200m', '2Gi')], { nodeSelector: { 'cloud.google.com/gke-preemptible': 'true' } });
    const before = structuredClone(obj);
    assert.deepEqual(admit(obj), admit(obj));
    assert.deepEqual(obj, before);
  });

  it('explains each change', () => {
    const r = admit(deployment([app('200m', '2Gi')]));
    assert.deepEqual(r.adjustments.map((a) => `${a.field}.${a.resource}: ${a.from ?? '-'} -> ${a.to}`), ['requests.ephemeral-storage: - -> 1Gi', 'requests.cpu: 200m -> 308m', 'limits.ephemeral-storage: - -> 1Gi']);
    assert.match(r.adjustments[1].reason, /at most 6.5 GiB per vCPU/);
  });
});
