import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flattenObjects, parityDifferences, parityReport, type ParityDifference } from './parity.js';

/** A rendered Deployment as devloop writes it: defaults left out. */
function deployment(over: { env?: object[]; memory?: string; readinessPath?: string; image?: string; command?: string[] } = {}): object {
  return {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'api', labels: { app: 'api' } },
    spec: {
      selector: { matchLabels: { app: 'api' } },
      template: {
        metadata: { labels: { app: 'api' } },
        spec: {
          containers: [{
            name: 'api', image: over.image ?? 'europe-docker.pkg.dev/p/r/api@sha256:aaa',
            ...(over.command ? { command: over.command } : {}),
            ports: [{ name: 'http', containerPort: 8080 }],
            env: over.env ?? [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
            resources: { requests: { cpu: '0.5', memory: over.memory ?? '512Mi' }, limits: { memory: over.memory ?? '512Mi' } },
            readinessProbe: { httpGet: { path: over.readinessPath ?? '/ready', port: 'http' } },
          }],
        },
      },
    },
  };
}

const hpa = (max = 5): object => ({
  apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'api' },
  spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'api' }, minReplicas: 2, maxReplicas: max, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }] },
});

/** The same Deployment as `kubectl get -o yaml` returns it: server fields, defaults written out. */
function exported(d: object): object {
  const o = structuredClone(d) as any;
  o.metadata = { ...o.metadata, namespace: 'default', uid: '1f0e', resourceVersion: '9912', generation: 4, creationTimestamp: '2026-11-02T10:00:00Z',
    annotations: { 'deployment.kubernetes.io/revision': '7', 'kubectl.kubernetes.io/last-applied-configuration': '{}' }, managedFields: [{ manager: 'kubectl', operation: 'Apply' }] };
  o.spec.replicas = 4; // what the HPA set last: not behaviour
  o.spec.progressDeadlineSeconds = 600;
  const pod = o.spec.template.spec;
  Object.assign(pod, { restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler', securityContext: {} });
  for (const c of pod.containers) {
    c.imagePullPolicy = 'IfNotPresent';
    c.terminationMessagePath = '/dev/termination-log';
    c.ports = c.ports.map((p: object) => ({ ...p, protocol: 'TCP' }));
    c.resources.requests.cpu = '500m';
    c.resources.requests.memory = c.resources.requests.memory === '512Mi' ? '0.5Gi' : c.resources.requests.memory;
    c.readinessProbe = { ...c.readinessProbe, httpGet: { ...c.readinessProbe.httpGet, scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10, successThreshold: 1, failureThreshold: 3 };
  }
  o.status = { replicas: 4, readyReplicas: 4, observedGeneration: 4 };
  return o;
}

const whats = (ds: ParityDifference[]): string[] => ds.map((d) => d.what).sort();

describe('parity: Kubernetes workloads', () => {
  it('finds nothing between a render and its export (server fields, defaults written out, current replicas, 0.5 vs 500m, 512Mi vs 0.5Gi)', () => {
    assert.deepEqual(parityDifferences([deployment(), hpa()], [exported(deployment()), hpa()]), []);
  });

  it('reports an env var, memory, a readiness probe path and the HPA bound, with both paths', () => {
    const prod = exported(deployment({ env: [{ name: 'LOG_LEVEL', value: 'debug' }, { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }], memory: '1Gi', readinessPath: '/healthz' }));
    const ds = parityDifferences([deployment(), hpa(5)], [prod, hpa(10)]);
    assert.deepEqual(whats(ds), ['env var LOG_LEVEL', 'max replicas', 'memory limit', 'memory request', 'readiness probe path']);
    const env = ds.find((d) => d.what === 'env var LOG_LEVEL')!;
    assert.deepEqual(env, { workload: 'Deployment/api', what: 'env var LOG_LEVEL', localPath: 'spec.template.spec.containers[name=api].env[name=LOG_LEVEL].value', prodPath: 'spec.template.spec.containers[name=api].env[name=LOG_LEVEL].value', local: 'info', prod: 'debug' });
    const max = ds.find((d) => d.what === 'max replicas')!;
    assert.equal(max.localPath, 'HorizontalPodAutoscaler/api:spec.maxReplicas');
    assert.deepEqual([max.local, max.prod], [5, 10]);
    assert.equal(ds.find((d) => d.what === 'memory limit')!.prod, '1Gi');
  });

  it('compares quantities, not text: 1Gi is 1024Mi', () => {
    assert.deepEqual(parityDifferences([deployment({ memory: '1Gi' })], [deployment({ memory: '1024Mi' })]), []);
  });

  it('names a secret by its reference, never a value, and reports a different key', () => {
    const env = (key: string) => [{ name: 'LOG_LEVEL', value: 'info' }, { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key } } }];
    const [d] = parityDifferences([deployment({ env: env('password') })], [deployment({ env: env('password-v2') })]);
    assert.equal(d.what, 'env var DB_PASSWORD');
    assert.deepEqual([d.local, d.prod], [{ secret: { key: 'password', name: 'db' } }, { secret: { key: 'password-v2', name: 'db' } }]);
    assert.equal(d.prodPath, 'spec.template.spec.containers[name=api].env[name=DB_PASSWORD].valueFrom.secretKeyRef');
  });

  it('reports a var set on one side only at the path it would have on the other', () => {
    const [d] = parityDifferences([deployment()], [deployment({ env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] })]);
    assert.deepEqual([d.what, d.local, d.prod, d.prodPath], ['env var LOG_LEVEL', 'info', undefined, 'spec.template.spec.containers[name=api].env[name=LOG_LEVEL].value']);
  });

  it('a fixed replica count against an HPA: the bounds and the kind of scaling differ, not each metric', () => {
    const fixed = { ...(deployment() as any), spec: { ...(deployment() as any).spec, replicas: 2 } };
    const ds = parityDifferences([fixed], [deployment(), hpa(5)]);
    assert.deepEqual(whats(ds), ['autoscaling', 'max replicas']);
    const max = ds.find((d) => d.what === 'max replicas')!;
    assert.deepEqual([max.localPath, max.local, max.prodPath, max.prod], ['spec.replicas', 2, 'HorizontalPodAutoscaler/api:spec.maxReplicas', 5]);
  });

  it('a probe that is missing is one difference, not one per field', () => {
    const none = deployment() as any;
    delete none.spec.template.spec.containers[0].readinessProbe;
    const ds = parityDifferences([none], [deployment()]);
    assert.deepEqual(ds.map((d) => [d.what, d.local, d.prod]), [['readiness probe', undefined, 'httpGet']]);
  });

  it('the entrypoint: a command set on one side overrides the image\'s', () => {
    const [d] = parityDifferences([deployment({ command: ['node', 'server.js'] })], [deployment()]);
    assert.deepEqual([d.what, d.local, d.prod], ['entrypoint command', ['node', 'server.js'], undefined]);
  });

  it('a workload on one side only; a controller-owned ReplicaSet in a `get all` export is not one', () => {
    const worker = { ...(deployment() as any), metadata: { name: 'worker' } };
    const rs = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'api-7d9f', ownerReferences: [{ kind: 'Deployment', name: 'api' }] }, spec: (deployment() as any).spec };
    const ds = parityDifferences([deployment(), worker], [deployment(), rs, { ...(deployment() as any), metadata: { name: 'cron' } }]);
    assert.deepEqual(ds.map((d) => [d.workload, d.what]), [['Deployment/worker', 'missing in production'], ['Deployment/cron', 'only in production']]);
  });

  it('images: another digest of the same repository is a note, another repository a difference, a never-pushed name a note', () => {
    const digest = parityReport([deployment()], [deployment({ image: 'europe-docker.pkg.dev/p/r/api@sha256:bbb' })]);
    assert.deepEqual([digest.differences, digest.notes.map((n) => n.what)], [[], ['image tag or digest']]);
    const repo = parityReport([deployment()], [deployment({ image: 'europe-docker.pkg.dev/p/other/api:v2' })]);
    assert.deepEqual(repo.differences.map((d) => [d.what, d.localPath]), [['image repository', 'spec.template.spec.containers[name=api].image']]);
    const bare = parityReport([deployment({ image: 'api' })], [deployment()]);
    assert.deepEqual([bare.differences, bare.notes.length], [[], 1]);
  });

  it('an autoscaling/v1 HPA with the default target equals a v2 one at 80% CPU; another target differs', () => {
    const v1 = (target?: number) => ({ apiVersion: 'autoscaling/v1', kind: 'HorizontalPodAutoscaler', metadata: { name: 'api-hpa' },
      spec: { scaleTargetRef: { kind: 'Deployment', name: 'api' }, minReplicas: 2, maxReplicas: 5, ...(target ? { targetCPUUtilizationPercentage: target } : {}) } });
    assert.deepEqual(parityDifferences([deployment(), hpa()], [deployment(), v1()]), []);
    const [d] = parityDifferences([deployment(), hpa()], [deployment(), v1(50)]);
    assert.deepEqual([d.what, d.local, d.prod, d.prodPath], ['autoscaling target cpu', '80% utilization', '50% utilization', 'HorizontalPodAutoscaler/api-hpa:spec.targetCPUUtilizationPercentage']);
  });

  it('flattens kind: List and drops empty documents', () => {
    assert.equal(flattenObjects([{ apiVersion: 'v1', kind: 'List', items: [deployment(), hpa()] }, null]).length, 2);
  });
});

/** A Knative Service as devloop renders it for Cloud Run: defaults left out. */
function knative(over: { concurrency?: number; timeout?: number; maxScale?: string; version?: string } = {}): object {
  return {
    apiVersion: 'serving.knative.dev/v1', kind: 'Service', metadata: { name: 'web' },
    spec: {
      template: {
        metadata: { annotations: { 'autoscaling.knative.dev/maxScale': over.maxScale ?? '10' } },
        spec: {
          ...(over.concurrency ? { containerConcurrency: over.concurrency } : {}),
          ...(over.timeout ? { timeoutSeconds: over.timeout } : {}),
          containers: [{ name: 'web', image: 'europe-docker.pkg.dev/p/r/web:dev', env: [{ name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'api-key', key: over.version ?? 'latest' } } }] }],
        },
      },
    },
  };
}

/** What `gcloud run services describe --format export` prints for it: defaults written out, server annotations, no container name. */
function knativeExport(over: Parameters<typeof knative>[0] = {}): object {
  const o = structuredClone(knative(over)) as any;
  o.metadata = { name: 'web', namespace: '123456789', labels: { 'cloud.googleapis.com/location': 'europe-west1' },
    annotations: { 'run.googleapis.com/operation-id': 'abc', 'serving.knative.dev/creator': 'me@example.com', 'serving.knative.dev/lastModifier': 'me@example.com', 'run.googleapis.com/ingress': 'all' } };
  const t = o.spec.template;
  t.metadata.annotations['run.googleapis.com/client-name'] = 'gcloud';
  t.metadata.labels = { 'run.googleapis.com/startupProbeType': 'Default' };
  t.spec.containerConcurrency ??= 80;
  t.spec.timeoutSeconds ??= 300;
  t.spec.serviceAccountName = '123456789-compute@developer.gserviceaccount.com';
  const c = t.spec.containers[0];
  delete c.name;
  Object.assign(c, { ports: [{ name: 'http1', containerPort: 8080 }], resources: { limits: { cpu: '1000m', memory: '512Mi' } },
    startupProbe: { timeoutSeconds: 240, periodSeconds: 240, failureThreshold: 1, tcpSocket: { port: 8080 } } });
  o.spec.traffic = [{ percent: 100, latestRevision: true }];
  return o;
}

describe('parity: Cloud Run services', () => {
  it('finds nothing between a render and its export (Cloud Run\'s defaults written out, server annotations, unnamed container)', () => {
    assert.deepEqual(parityReport([knative()], [knativeExport()]).differences, []);
  });

  it('reports concurrency, timeout, max instances and the secret version with their paths', () => {
    const ds = parityDifferences([knative({ concurrency: 10 })], [knativeExport({ timeout: 60, maxScale: '3', version: '4' })]);
    assert.deepEqual(whats(ds), ['concurrency', 'env var API_KEY', 'max instances', 'request timeout']);
    const t = ds.find((d) => d.what === 'request timeout')!;
    assert.deepEqual([t.local, t.defaulted, t.localPath, t.prod, t.prodPath], [300, { local: true }, 'spec.template.spec.timeoutSeconds', 60, 'spec.template.spec.timeoutSeconds']);
    const c = ds.find((d) => d.what === 'concurrency')!;
    assert.deepEqual([c.local, c.prod], [10, 80]);
    assert.equal(ds.find((d) => d.what === 'max instances')!.prodPath, 'spec.template.metadata.annotations["autoscaling.knative.dev/maxScale"]');
  });

  it('concurrency defaults to 1 below one CPU', () => {
    const small = (cc?: number) => {
      const o = knative({ concurrency: cc }) as any;
      o.spec.template.spec.containers[0].resources = { limits: { cpu: '0.5', memory: '512Mi' } };
      return o;
    };
    assert.deepEqual(parityDifferences([small()], [small(1)]), []);
    assert.deepEqual(whats(parityDifferences([small()], [small(80)])), ['concurrency']);
  });
});
