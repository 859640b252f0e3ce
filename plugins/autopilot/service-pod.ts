/**
 * The pod a devloop service would be on GKE, built from its Devfile entry: image, env, ports,
 * `resources` as requests, `autopilot` as node selectors, and the pod-level settings a Devfile
 * has no field for (security context, host namespaces, volumes) from
 * `extensions['devloop:autopilot']`.
 */
import type { AutopilotServiceConfig, ServiceConfig } from '../../core/devfile/types.js';
import { GPU_RESOURCE, LABELS } from './data.js';
import type { Affinity, Container, K8sObject, SecurityContext, Toleration, Volume, VolumeMount } from './types.js';

export const EXTENSION_KEY = 'devloop:autopilot';

/** `services.<name>.extensions['devloop:autopilot']`: what the pod has beyond the Devfile's own fields. */
export interface AutopilotExtension {
  namespace?: string;
  securityContext?: SecurityContext;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  volumes?: Volume[];
  volumeMounts?: VolumeMount[];
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  affinity?: Affinity;
  /** ephemeral-storage request, e.g. `2Gi`. */
  ephemeralStorage?: string;
  /** Limits above the requests (only meaningful with bursting). */
  limits?: { cpu?: string; memory?: string };
}

export function extensionOf(config: ServiceConfig): AutopilotExtension {
  const ext = config.extensions?.[EXTENSION_KEY];
  return typeof ext === 'object' && ext !== null ? (ext as AutopilotExtension) : {};
}

/** Node selectors for the Devfile's `autopilot` block. */
export function autopilotSelectors(ap: AutopilotServiceConfig | undefined): Record<string, string> {
  const sel: Record<string, string> = {};
  if (!ap) return sel;
  if (ap.computeClass) sel[LABELS.computeClass] = ap.computeClass;
  if (ap.spot) sel[LABELS.spot] = 'true';
  if (ap.arm) sel[LABELS.arch] = 'arm64';
  if (ap.gpu) sel[LABELS.accelerator] = ap.gpu.type;
  return sel;
}

export function servicePod(service: string, config: ServiceConfig, opts: { image?: string; env?: Record<string, string> }): K8sObject {
  const ext = extensionOf(config);
  const requests: Record<string, string> = {};
  if (config.resources?.cpu) requests.cpu = config.resources.cpu;
  if (config.resources?.memory) requests.memory = config.resources.memory;
  if (ext.ephemeralStorage) requests['ephemeral-storage'] = ext.ephemeralStorage;
  const limits: Record<string, string | number> = { ...ext.limits };
  if (config.autopilot?.gpu) limits[GPU_RESOURCE] = config.autopilot.gpu.count;
  const ports = [...new Set([config.port, ...(config.ports ?? []).map((p) => p.containerPort)].filter((p): p is number => typeof p === 'number'))];
  const container: Container = {
    name: service,
    image: opts.image ?? config.image ?? service,
    ...(opts.env && Object.keys(opts.env).length ? { env: Object.entries(opts.env).map(([name, value]) => ({ name, value })) } : {}),
    ...(ports.length ? { ports: ports.map((containerPort) => ({ containerPort })) } : {}),
    ...(Object.keys(requests).length || Object.keys(limits).length
      ? { resources: { ...(Object.keys(requests).length ? { requests } : {}), ...(Object.keys(limits).length ? { limits } : {}) } }
      : {}),
    ...(ext.securityContext ? { securityContext: ext.securityContext } : {}),
    ...(ext.volumeMounts ? { volumeMounts: ext.volumeMounts } : {}),
  };
  const nodeSelector = { ...autopilotSelectors(config.autopilot), ...ext.nodeSelector };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: service, namespace: ext.namespace ?? 'default', labels: { app: service } },
    spec: {
      containers: [container],
      ...(Object.keys(nodeSelector).length ? { nodeSelector } : {}),
      ...(ext.tolerations ? { tolerations: ext.tolerations } : {}),
      ...(ext.affinity ? { affinity: ext.affinity } : {}),
      ...(ext.volumes ? { volumes: ext.volumes } : {}),
      ...(ext.hostNetwork !== undefined ? { hostNetwork: ext.hostNetwork } : {}),
      ...(ext.hostPID !== undefined ? { hostPID: ext.hostPID } : {}),
      ...(ext.hostIPC !== undefined ? { hostIPC: ext.hostIPC } : {}),
    },
  };
}
