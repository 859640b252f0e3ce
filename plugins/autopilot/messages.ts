/**
 * Every text Autopilot returns, as templates. Shapes marked [seen] are copied from real
 * responses quoted in public issues; *verify* ones were not found anywhere and follow the nearest
 * real shape (they are the simulator's words, to be replaced when a real cluster shows its own).
 */
import { ALLOWED_CAPABILITIES, ALLOWED_HOSTPATH_PREFIXES } from './data.js';

export const CONSTRAINTS = {
  privilege: 'autogke-disallow-privilege',
  hostNamespaces: 'autogke-disallow-hostnamespaces',
  hostPath: 'autogke-no-write-mode-hostpath',
  hostPort: 'autogke-no-host-port',
  capabilities: 'autogke-default-linux-capabilities',
  podLimits: 'autogke-pod-limit-constraints',
  nodeSelector: 'autogke-node-affinity-selector-limitation',
  gpu: 'autogke-gpu-limitation',
  managedNamespaces: 'managed-namespaces-limitation',
} as const;

/** Go prints a []string with %v as `[a b]`; GKE joins container names with ", " ([seen] "[copyutil, dex]"). */
const names = (list: string[]) => `[${list.join(', ')}]`;
/** Ports are printed with Go's %v of []int32: space-separated. *verify* (only single ports seen). */
const goList = (list: (string | number)[]) => `[${list.join(' ')}]`;

export const MSG = {
  // ---- Warden denials [ref], [seen]
  privileged: (c: string) => `container ${c} is privileged; not allowed in Autopilot`,
  hostNamespace: (field: 'hostNetwork' | 'hostPID' | 'hostIPC') => `enabling ${field} is not allowed in Autopilot.`,
  hostPathWrite: (volume: string, c: string) => `hostPath volume ${volume} in container ${c} is accessed in write mode; disallowed in Autopilot.`,
  hostPathPrefix: (volume: string, c: string, p: string) =>
    `hostPath volume ${volume} used in container ${c} uses path ${p} which is not allowed in Autopilot. Allowed path prefixes for hostPath volumes are: [${ALLOWED_HOSTPATH_PREFIXES.join(', ')}].`,
  hostPorts: (c: string, ports: number[]) => `container ${c} specifies host ports ${goList(ports)}, which are disallowed in Autopilot.`,
  capabilities: (caps: string[], c: string) =>
    `linux capability '${caps.join(',')}' on container '${c}' not allowed; Autopilot only allows the capabilities: '${ALLOWED_CAPABILITIES.join(',')}'.`,
  totalAboveMax: (resource: 'cpu' | 'memory' | 'ephemeral-storage', max: string) =>
    `Total ${resource} requested by containers for workload is higher than the Autopilot maximum of '${max}'`,
  antiAffinityCpu: (workload: string, cpu: string, min: string) =>
    `workload '${workload}' cpu requests '${cpu}' is lower than the Autopilot minimum required of '${min}' for using pod anti affinity.`,
  gpuToleration: () => `The toleration with key 'nvidia.com/gpu' and operator 'Exists' cannot be specified if the pod does not request to use GPU in Autopilot.`,
  managedNamespace: (ns: string, verb: string) => `the namespace "${ns}" is managed and the request verb "${verb}" is denied`,
  // [seen] zenn.dev (2024): CronJobs on clusters that validate rather than mutate them.
  cronJobMissing: (c: string) => `container '${c}' does not have resources/limits defined for all resources which is required in Autopilot clusters.`,
  cronJobNotEqual: (c: string) => `container '${c}' does not have resource==limits which is required in Autopilot clusters.`,
  // *verify*: shape borrowed from the real ccc-node-affinity-selector-limitation denial
  // ("Key 'cloud.google.com/machine-family' is not allowed with node affinity; ...").
  restrictedKey: (key: string, where: 'node selector' | 'node affinity') =>
    `Key '${key}' is not allowed with ${where}; Autopilot does not allow selecting nodes by this label.`,
  // *verify*: the simulator's words; no real text found.
  gpuWithoutSelector: (count: number) =>
    `pod requests ${count} 'nvidia.com/gpu' but selects no GPU type; Autopilot requires the node selector 'cloud.google.com/gke-accelerator'.`,
  selectorWithoutGpu: (type: string) =>
    `pod selects 'cloud.google.com/gke-accelerator: ${type}' but requests no 'nvidia.com/gpu' in its limits; Autopilot requires both.`,
  unknownGpu: (type: string, known: string[]) => `GPU type '${type}' is not supported in Autopilot; supported types: ${known.join(', ')}.`,
  gpuCount: (type: string, count: number, allowed: number[]) =>
    `${count} x '${type}' is not a supported GPU count in Autopilot; supported counts: ${allowed.join(', ')}.`,
  acceleratorWithoutGpu: () => `compute class 'Accelerator' requires the pod to request 'nvidia.com/gpu' in Autopilot.`,
  armClass: (cls: string) => `node selector 'kubernetes.io/arch: arm64' is not supported with compute class '${cls}' in Autopilot; use 'Scale-Out' or 'Performance'.`,
  performanceFamily: () => `compute class 'Performance' requires the node selector 'cloud.google.com/machine-family' in Autopilot.`,
  unknownFamily: (family: string, known: string[]) =>
    `machine family '${family}' is not supported for compute class 'Performance' in Autopilot; supported families: ${known.join(', ')}.`,
};

/** The mutator's warning (autopilot-default-resources-mutator). [ref], [seen] */
export const WARNING = {
  prefix: (object: string) => `autopilot-default-resources-mutator:Autopilot updated ${object}: `,
  /** Old clusters: any defaulting. [seen] "defaulted unspecified resources for containers [hello-app] (see ...)" */
  defaultedAll: (containers: string[]) => `defaulted unspecified resources for containers ${names(containers)} (see http://g.co/gke/autopilot-defaults)`,
  /** New clusters name the resource. [seen] "defaulted unspecified 'cpu' resource for containers [copyutil, dex] (see ...)." */
  defaultedOne: (resource: string, containers: string[]) =>
    `defaulted unspecified '${resource}' resource for containers ${names(containers)} (see http://g.co/gke/autopilot-defaults)`,
  adjusted: (containers: string[]) => `adjusted resources to meet requirements for containers ${names(containers)} (see http://g.co/gke/autopilot-resources)`,
  /** [seen] jenkins chart: "... (see http://g.co/gke/autopilot-defaults), and adjusted resources ..." */
  join: ', and ',
};
