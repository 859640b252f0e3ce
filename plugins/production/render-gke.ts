/**
 * A service on GKE Autopilot in production, from its Devfile entry and its production settings:
 *
 * | object | when | why this shape |
 * | --- | --- | --- |
 * | Deployment | always | requests = limits (Autopilot bills requests; Guaranteed pods); replicas left out when an HPA owns them, so `kubectl apply` does not fight it; `PORT` set as Cloud Run and devloop set it |
 * | Service (ClusterIP) | the service has a port | other services reach it by name; exposing it outside is the user's Ingress/Gateway |
 * | HorizontalPodAutoscaler (autoscaling/v2) | scaling.max > min | CPU utilization target, default 80% |
 * | PodDisruptionBudget | min replicas > 1 | `maxUnavailable: 1`: drains and upgrades move one pod at a time whatever the HPA scaled to (a `minAvailable: 1` would let all but one go at once); none with one replica, where any PDB blocks node drains |
 * | NetworkPolicy | the service has a port | ingress only to its declared ports, from any source (an Ingress or a dependent may call it); other ports closed. Narrowing the sources is left to the user |
 *
 * Everything then goes through the product's Autopilot admission (plugins/autopilot/admission.ts)
 * and the admitted objects are what is written: production's admission then has nothing to change.
 * Probes come from `health`: http -> httpGet, tcp -> tcpSocket, exec -> exec; none: TCP on the port
 * (devloop's own default). The image's entrypoint runs: `command` is the process runtime's, not
 * the container's.
 */
import type { DevfileConfig, HealthCheckConfig, ServiceConfig } from '../../core/devfile/types.js';
import { DevloopError } from '../../core/errors.js';
import { admit } from '../autopilot/admission.js';
import { servicePod, extensionOf } from '../autopilot/service-pod.js';
import type { ClusterSettings } from '../autopilot/settings.js';
import type { K8sObject } from '../autopilot/types.js';
import { k8sMemory, type ProductionSettings } from './render-settings.js';

export const DEFAULT_CPU_TARGET = 80;

export interface GkeContext {
  project: string;
  namespace: string;
  image: string;
  settings: ClusterSettings;
}

export function gkeObjects(name: string, svc: ServiceConfig, ps: ProductionSettings, ctx: GkeContext): object[] {
  const labels = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': ctx.project, 'app.kubernetes.io/managed-by': 'devloop' };
  const selector = { 'app.kubernetes.io/name': name, 'app.kubernetes.io/part-of': ctx.project };
  const metadata = () => ({ name, namespace: ctx.namespace, labels: { ...labels } });
  const min = ps.scaling.min ?? ps.replicas ?? 1;
  const max = ps.scaling.max ?? min;
  if (max < min) {
    throw new DevloopError(`services.${name}: scaling.max (${max}) is below the fewest replicas (${min})`, {
      code: 'PRODUCTION_SCALING', exitCode: 2, service: name, hint: `raise scaling.max or lower scaling.min / replicas in environments of services.${name} or the environment`,
    });
  }
  const ports = servicePorts(svc);
  const main = ports[0];

  const pod = servicePod(name, { ...svc, resources: undefined, port: undefined, ports: undefined }, { image: ctx.image });
  const base = pod.spec.containers[0];
  const env: object[] = [];
  const plain = { ...(svc.port !== undefined ? { PORT: String(svc.port) } : {}), ...ps.env };
  for (const key of Object.keys({ ...plain, ...ps.secrets }).sort()) {
    const ref = ps.secrets[key];
    env.push(ref ? { name: key, valueFrom: { secretKeyRef: { name: ref.secret, key: ref.key ?? key } } } : { name: key, value: plain[key as keyof typeof plain] });
  }
  const quantities: Record<string, string | number> = {};
  const cpu = ps.resources.cpu ?? svc.resources?.cpu;
  const memory = ps.resources.memory ?? svc.resources?.memory;
  if (cpu !== undefined) quantities.cpu = cpu;
  if (memory !== undefined) quantities.memory = k8sMemory(memory);
  const ext = extensionOf(svc);
  if (ext.ephemeralStorage) quantities['ephemeral-storage'] = ext.ephemeralStorage;
  if (svc.autopilot?.gpu) quantities['nvidia.com/gpu'] = svc.autopilot.gpu.count;
  const probe = probeOf(svc.health, main?.containerPort);
  const container = {
    name,
    image: ctx.image,
    ...(ports.length ? { ports: ports.map((p) => ({ name: p.name, containerPort: p.containerPort, protocol: p.protocol })) } : {}),
    ...(env.length ? { env } : {}),
    ...(Object.keys(quantities).length ? { resources: { requests: { ...quantities }, limits: { ...quantities } } } : {}),
    ...(probe ? { readinessProbe: probe, livenessProbe: structuredClone(probe) } : {}),
    ...(base.securityContext ? { securityContext: base.securityContext } : {}),
    ...(base.volumeMounts ? { volumeMounts: base.volumeMounts } : {}),
  };
  const { containers: _, ...podRest } = pod.spec;
  const hpa = max > min;
  const objects: object[] = [{
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: metadata(),
    spec: {
      ...(hpa ? {} : { replicas: min }),
      selector: { matchLabels: selector },
      template: { metadata: { labels: { ...labels } }, spec: { containers: [container], ...podRest } },
    },
  }];
  if (ports.length) {
    objects.push({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: metadata(),
      spec: { type: 'ClusterIP', selector: { ...selector }, ports: ports.map((p) => ({ name: p.name, port: p.containerPort, targetPort: p.name, protocol: p.protocol })) },
    });
  }
  if (hpa) {
    objects.push({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: metadata(),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
        minReplicas: min,
        maxReplicas: max,
        metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: ps.scaling.targetCpuUtilization ?? DEFAULT_CPU_TARGET } } }],
      },
    });
  }
  if (min > 1) {
    objects.push({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: metadata(), spec: { maxUnavailable: 1, selector: { matchLabels: { ...selector } } } });
  }
  if (ports.length) {
    objects.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: metadata(),
      spec: { podSelector: { matchLabels: { ...selector } }, policyTypes: ['Ingress'], ingress: [{ ports: ports.map((p) => ({ protocol: p.protocol, port: p.containerPort })) }] },
    });
  }
  return objects;
}

/**
 * Every object through Autopilot admission; the admitted copies are returned, with admission's
 * warnings as notes. A denial is an error naming the service: production would refuse it too.
 */
export function admitAll(name: string, objects: object[], settings: ClusterSettings): { objects: object[]; notes: string[] } {
  const out: object[] = [];
  const notes: string[] = [];
  for (const object of objects) {
    const r = admit(object, settings);
    if (!r.allowed) {
      throw new DevloopError(`services.${name}: GKE Autopilot would refuse its ${String((object as K8sObject).kind)}:\n${r.message ?? r.denials.map((d) => d.message).join('\n')}`, {
        code: 'PRODUCTION_AUTOPILOT_DENIED', exitCode: 2, service: name,
        hint: r.hints[0] ?? `change services.${name} (its autopilot block or extensions['devloop:autopilot']) so Autopilot admits it; "devloop autopilot check" shows the same verdict`,
      });
    }
    for (const w of r.warnings) notes.push(`${name}: ${w}`);
    out.push(r.mutated);
  }
  return { objects: out, notes };
}

interface NamedPort { name: string; containerPort: number; protocol: 'TCP' | 'UDP' }

function servicePorts(svc: ServiceConfig): NamedPort[] {
  const ports: NamedPort[] = [];
  if (svc.port !== undefined) ports.push({ name: 'http', containerPort: svc.port, protocol: 'TCP' });
  for (const p of svc.ports ?? []) {
    if (ports.some((q) => q.containerPort === p.containerPort)) continue;
    ports.push({ name: p.name ?? `port-${p.containerPort}`, containerPort: p.containerPort, protocol: p.protocol === 'udp' ? 'UDP' : 'TCP' });
  }
  return ports;
}

function probeOf(health: HealthCheckConfig | undefined, port: number | undefined): object | undefined {
  const timing = (h: { intervalMs?: number; timeoutMs?: number }) => ({
    ...(h.intervalMs !== undefined ? { periodSeconds: Math.max(1, Math.ceil(h.intervalMs / 1000)) } : {}),
    ...(h.timeoutMs !== undefined ? { timeoutSeconds: Math.max(1, Math.ceil(h.timeoutMs / 1000)) } : {}),
  });
  if (!health) return port === undefined ? undefined : { tcpSocket: { port } };
  if ('http' in health) {
    const p = health.port ?? port;
    return p === undefined ? undefined : { httpGet: { path: health.http, port: p }, ...timing(health) };
  }
  if ('tcp' in health) {
    const p = health.tcp === true ? port : health.tcp;
    return p === undefined ? undefined : { tcpSocket: { port: p }, ...timing(health) };
  }
  return { exec: { command: typeof health.exec === 'string' ? ['sh', '-c', health.exec] : health.exec }, ...timing(health) };
}

/** The namespace of a service's objects: its own (`extensions['devloop:autopilot'].namespace`, `k8s.namespace`), else the project's. */
export function namespaceOf(svc: ServiceConfig, projectNamespace: string): string {
  return extensionOf(svc).namespace ?? svc.k8s?.namespace ?? projectNamespace;
}

/** As `devloop render --monitoring` picks it (bin/commands/render-monitoring.ts): `kubernetes.namespace`, else the one `k8s.namespace` all services name, else `default`. */
export function projectNamespace(cfg: DevfileConfig): string {
  const top = (cfg.kubernetes as { namespace?: unknown } | undefined)?.namespace;
  if (typeof top === 'string' && top) return top;
  const named = new Set(Object.values(cfg.services).map((s) => s.k8s?.namespace).filter((n): n is string => !!n));
  return named.size === 1 ? [...named][0] : 'default';
}
