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
  // `of` names the hardware when the maximum is a GPU shape's ([seen] harbor-gke-ext: "is higher
  // than the nvidia-h100-80gb-1 maximum of '588Gi'").
  totalAboveMax: (resource: 'cpu' | 'memory' | 'ephemeral-storage', max: string, of = 'Autopilot') =>
    `Total ${resource} requested by containers for workload is higher than the ${of} maximum of '${max}'`,
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
  // [seen] substratusai/helm#8 (2023): "You must specify a GPU type with node selector
  // 'cloud.google.com/gke-accelerator' when GPU is requested on Autopilot workloads; supported
  // values are: [nvidia-a100-80gb, nvidia-tesla-a100, nvidia-tesla-t4]." GKE does not default the
  // type: it denies. The list is sorted, as in every real denial.
  gpuWithoutSelector: (known: string[]) =>
    `You must specify a GPU type with node selector 'cloud.google.com/gke-accelerator' when GPU is requested on Autopilot workloads; supported values are: [${[...known].sort().join(', ')}].`,
  selectorWithoutGpu: (type: string) =>
    `pod selects 'cloud.google.com/gke-accelerator: ${type}' but requests no 'nvidia.com/gpu' in its limits; Autopilot requires both.`,
  // [seen] pastebin cVrwvR2j (May 2025): "The requested GPU type 'nvidia-h100' is not supported in
  // Autopilot; allowed values are: [nvidia-a100-80gb, nvidia-h100-80gb, ...]."
  unknownGpu: (type: string, known: string[]) => `The requested GPU type '${type}' is not supported in Autopilot; allowed values are: [${[...known].sort().join(', ')}].`,
  // *verify*: the simulator's words; no real text found.
  gpuCount: (type: string, count: number, allowed: number[]) =>
    `${count} x '${type}' is not a supported GPU count in Autopilot; supported counts: ${allowed.join(', ')}.`,
  acceleratorWithoutGpu: () => `compute class 'Accelerator' requires the pod to request 'nvidia.com/gpu' in Autopilot.`,
  // *verify*: the simulator's words. The remedy lists what [docs-arm] documents for Arm: Scale-Out,
  // Performance, or no compute class at all.
  armClass: (cls: string) => `node selector 'kubernetes.io/arch: arm64' is not supported with compute class '${cls}' in Autopilot; use 'Scale-Out' or 'Performance', or no compute class.`,
  // *verify*: the simulator's words. That Autopilot has no Windows nodes is documented ("Windows
  // Server node images and containers aren't available in GKE Autopilot mode.", "Windows Server
  // containers on GKE", https://cloud.google.com/kubernetes-engine/docs/concepts/windows-server-gke);
  // that admission (rather than the autoscaler) refuses such a pod is not.
  windows: () => `node selector 'kubernetes.io/os: windows' is not supported in Autopilot; Windows Server node images and containers aren't available in Autopilot mode.`,
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

/**
 * devloop's own advice printed under a denial (GKE returns none). Privileged containers, host
 * namespaces, hostPath, host ports and extra capabilities are what GKE's allowlists exist for:
 * "These privileged workloads can bypass some of the security constraints that Autopilot enforces.
 * For example, a partner might need to run a workload that uses specific Linux capabilities or
 * requires a privileged container." ([docs-partner], "About privileged partner workloads").
 */
export const HINTS = {
  allowlist: () =>
    'GKE denies this by default. It admits such a workload only when it matches an allowlist installed in the cluster: ' +
    'an AllowlistSynchronizer (GKE 1.32 or later) installs WorkloadAllowlist objects for Autopilot partner and approved open-source workloads ' +
    '(https://cloud.google.com/kubernetes-engine/docs/how-to/run-autopilot-partner-workloads). devloop does not model allowlists: ' +
    'if this is a partner workload, install its allowlist with an AllowlistSynchronizer and deploy the partner\'s exact manifest; ' +
    'otherwise remove the privileged settings, or run it on GKE Standard.',
};

/** The constraints an installed WorkloadAllowlist can lift (see HINTS.allowlist). */
export const ALLOWLISTABLE = new Set<string>([CONSTRAINTS.privilege, CONSTRAINTS.hostNamespaces, CONSTRAINTS.hostPath, CONSTRAINTS.hostPort, CONSTRAINTS.capabilities]);
