/**
 * THE table: every number and list the Autopilot simulator reproduces, each with where it comes
 * from. Change a value here and admission, estimates, scheduling and the tests follow.
 *
 * Sources, cited below by their tag:
 * - [ref]       /work/shared/reference/autopilot.md (gathered from GKE docs and real error output).
 * - [docs-res]  https://cloud.google.com/kubernetes-engine/docs/concepts/autopilot-resource-requests
 * - [docs-gpu]  https://cloud.google.com/kubernetes-engine/docs/how-to/autopilot-gpus
 * - [docs-cc]   https://cloud.google.com/kubernetes-engine/docs/concepts/autopilot-compute-classes
 * - [docs-alloc] https://cloud.google.com/kubernetes-engine/docs/concepts/plan-node-sizes (reserved resources)
 * - [pricing]   https://cloud.google.com/kubernetes-engine/pricing and https://cloud.google.com/compute/vm-instance-pricing
 * - [config-sync] GoogleContainerTools/kpt-config-sync e2e `simulateAutopilotResourceAdjustment`
 *                 (Google's own model of the mutator, run against real Autopilot clusters).
 * - [seen]      real `kubectl` output quoted in public issues and blog posts (cited per entry).
 * - [docs-res-zh] the zh-CN edition of [docs-res] (`?hl=zh-cn`), whose opening sections (default
 *                 requests) are the part of the page the stored copy holds in full.
 * - [docs-partner] https://cloud.google.com/kubernetes-engine/docs/how-to/run-autopilot-partner-workloads
 *                 ("Run privileged workloads from GKE Autopilot partners").
 * - [docs-arm]  https://cloud.google.com/kubernetes-engine/docs/how-to/autopilot-arm-workloads
 *                 ("Deploy Autopilot workloads on Arm architecture"); stored copies read: `?authuser=6&hl=en`
 *                 and `?hl=zh-cn` (last updated 2025-09-03) for "How to request Arm nodes", and
 *                 docs.cloud.google.com `?authuser=44` for the newer "Requirements" section.
 * - [docs-res-zh-tw-s3ns] documentation.s3ns.fr/kubernetes-engine/docs/concepts/autopilot-resource-requests?authuser=0&hl=zh-tw,
 *                 the newest stored edition of [docs-res]'s default-requests table (its first row).
 * - [docs-gpu-2026] [docs-gpu] as docs.cloud.google.com/kubernetes-engine/docs/how-to/autopilot-gpus
 *                 ("Deploy GPU workloads in Autopilot", last updated 2026-04-10), read in full from a
 *                 crawled copy in the public code index (GPU type list, "Supported GPU quantities").
 * - [gke-ca]    GoogleCloudPlatform/cluster-autoscaler, GKE's own cluster autoscaler (Go module
 *                 k8s.io/gke-autoscaling/cluster-autoscaler, files "Copyright 2026 Google LLC"):
 *                 pkg/cloudprovider/gke/machinetypes/compute_classes.go (machine families per compute
 *                 class), .../machinetypes/deprecated_machine_types_gpu_config.go (vCPUs per GPU count,
 *                 machine family per GPU), pkg/computeclass/rules/pod_family.go (general-purpose
 *                 families), pkg/cloudprovider/gke/gke_manager.go (autopilotMaxPodsPerNode).
 * - [ap-calc]   GoogleCloudPlatform/autopilot-cost-calculator (Google's Autopilot cost estimator):
 *                 config.ini at f508541f, `[limits]` and `[ratios]` under "# https://cloud.google.com/
 *                 kubernetes-engine/docs/concepts/autopilot-resource-requests", and calculator/calculator.go.
 *
 * `*verify*` marks a value found only in secondary sources or chosen by this simulator where no
 * source was found. Such a value is a best guess: correct it here when a real cluster disagrees.
 */
import { parseQuantity, toBytes, toMilli } from './quantity.js';

const milli = (q: string): number => toMilli(parseQuantity(q));
const bytes = (q: string): number => toBytes(parseQuantity(q));

// ---------------------------------------------------------------------------------------------
// GKE versions where behaviour changes

/** Bursting (limits above requests, no 250m steps) needs this control plane and cgroup v2. [ref] */
export const BURSTING_MIN_VERSION = '1.30.2-gke.1394000';
/** From here a GPU selector alone implies the Accelerator class. [ref] */
export const ACCELERATOR_IMPLIED_VERSION = '1.29.4-gke.1427000';
/**
 * From here to ACCELERATOR_IMPLIED_VERSION, the Accelerator class must be named explicitly.
 * [docs-gpu-2026]: the Accelerator compute class needs "1.28.9-gke.1069000 and later".
 */
export const ACCELERATOR_CLASS_MIN_VERSION = '1.28.9-gke.1069000';
/**
 * The mutator's warning text changed: clusters at or above this version print the
 * `defaulted unspecified 'cpu' resource ... (see ...).` form with a trailing period, older ones
 * `defaulted unspecified resources ... (see ...)` without one. [seen] both forms on real clusters
 * (argoproj install on a 2025 cluster; hello-server/ingress-nginx in 2022-2023). Tying the switch
 * to the bursting release is a *verify* guess: it is the one control-plane change between them.
 */
export const NEW_WARNING_FORMAT_VERSION = BURSTING_MIN_VERSION;
/**
 * Below this version CronJob templates are not mutated; Warden instead denies a CronJob whose
 * containers lack requests/limits or have limits != requests. [seen] (zenn.dev, August 2024, with
 * the exact messages). Newer clusters mutate CronJobs like any workload ([seen] harness delegate
 * install: "Autopilot updated CronJob ..."). Same *verify* version guess as above.
 */
export const CRONJOB_MUTATION_VERSION = BURSTING_MIN_VERSION;
/**
 * From here Performance and Accelerator pods may request far more ephemeral storage than the
 * 10Gi other classes allow (up to 56Ti, or the local SSD capacity on hardware that has it).
 * [seen] harbor-gke-ext troubleshooting notes, which quote [docs-res] #min-max-requests:
 * "up to 56 TiB for Performance and accelerator Pods on GKE 1.29.3-gke.1038000 or later".
 */
export const LARGE_EPHEMERAL_VERSION = '1.29.3-gke.1038000';
/**
 * From here a pod that asks for Arm with `kubernetes.io/arch: arm64` alone gets a C4A node; on
 * earlier versions a T2A one. [docs-arm] "kubernetes.io/arch: arm64. GKE places Pods on C4A machine
 * types by default for clusters running version 1.31.3-gke.1056000 and later. If the cluster is
 * running an earlier version, GKE places Pods on T2A machine types."
 */
export const ARM_C4A_VERSION = '1.31.3-gke.1056000';
/**
 * From here the built-in `autopilot-arm` ComputeClass exists: general-purpose pods on Arm nodes.
 * [docs-arm] (docs.cloud.google.com, `?authuser=44`) "Requirements: To use the autopilot-arm
 * ComputeClass, ensure that your cluster is running GKE version 1.35.3-gke.1389000 or later."
 */
export const AUTOPILOT_ARM_CLASS_VERSION = '1.35.3-gke.1389000';
/** The version assumed when none is given: a 2025 Regular-channel release. *verify* */
export const DEFAULT_GKE_VERSION = '1.33.5-gke.1080000';

// ---------------------------------------------------------------------------------------------
// Resource rules per compute class

export interface CpuMemory {
  /** Millicores. */
  cpu: number;
  /** Bytes. */
  memory: number;
}

export interface ClassRules {
  /** How Autopilot bills it: by pod requests, or by the node the pod gets to itself. */
  billing: 'pod' | 'node';
  /** Allowed GiB of memory per vCPU, on the pod total. Absent: not enforced. */
  ratio?: { min: number; max: number };
  /** Below these the pod total is raised. */
  min: { bursting: CpuMemory; noBursting: CpuMemory };
  /** Above these the pod is denied. Absent: from the machine family (Performance) or GPU table. */
  max?: { x86: CpuMemory; arm?: CpuMemory };
  /** What a container that sets nothing gets. Absent: no defaults (the minimum still applies). */
  defaults?: CpuMemory & { ephemeral: number };
  /**
   * Largest pod-total ephemeral storage, bytes, from LARGE_EPHEMERAL_VERSION (10Gi before it for
   * every class). A GPU shape with local SSD sets its own (GpuCount.ephemeralMax).
   */
  ephemeralMax: number;
  /** Whether a cluster without bursting rounds the pod's CPU up to CPU_INCREMENT. */
  cpuIncrements: boolean;
  /** Whether arm64 pods may use the class. */
  arm: boolean;
}

export const DEFAULT_CLASS = 'general-purpose';
export type KnownClass = 'general-purpose' | 'Balanced' | 'Scale-Out' | 'Performance' | 'Accelerator';

/**
 * [docs-res-zh] default-requests table: general-purpose "CPU 0.5 vCPU, memory 2 GiB"; every
 * non-DaemonSet container "ephemeral storage: 1 GiB" whatever the class or hardware.
 */
const GP_DEFAULTS = { cpu: milli('500m'), memory: bytes('2Gi'), ephemeral: bytes('1Gi') };
/** Ephemeral storage maxima. [seen] harbor-gke-ext quoting [docs-res] #min-max-requests: "10 GiB for general-purpose, Balanced, and Scale-Out Pods; up to 56 TiB for Performance and accelerator Pods". */
const EPHEMERAL_10G = bytes('10Gi');
const EPHEMERAL_56T = bytes('56Ti');

export const CLASSES: Record<KnownClass, ClassRules> = {
  // [ref] 1:1..1:6.5, 50m/52Mi with bursting, 250m/512Mi without, max 30 vCPU / 110Gi. [ap-calc]
  // agrees: "generalpurpose_mcpu_min = 50", "generalpurpose_memory_min = 52", "generalpurpose_mcpu_max
  // = 30000", "generalpurpose_memory_max = 110000", "generalpurpose_min = 1", "generalpurpose_max = 6.5".
  'general-purpose': {
    billing: 'pod',
    ratio: { min: 1, max: 6.5 },
    min: { bursting: { cpu: milli('50m'), memory: bytes('52Mi') }, noBursting: { cpu: milli('250m'), memory: bytes('512Mi') } },
    max: { x86: { cpu: milli('30'), memory: bytes('110Gi') } },
    defaults: GP_DEFAULTS,
    ephemeralMax: EPHEMERAL_10G,
    cpuIncrements: true,
    // Arm without a compute class: [docs-arm] "To tell Autopilot to run your Pods on Arm nodes,
    // specify one of the following labels in a nodeSelector or node affinity rule:
    // kubernetes.io/arch: arm64 ..." (C4A or T2A, ARM_C4A_VERSION), and the `autopilot-arm`
    // ComputeClass, which [docs-res-zh-tw-s3ns] lists in the general-purpose row of the
    // default-requests table (stored as "一般用途 (預設 autopilotautopilot-arm)", the two names run
    // together: general-purpose (default, autopilot, autopilot-arm)), so both take these rules.
    // An older edition of [docs-arm] (stored as `?hl=tr`) required a compute class that supports
    // Arm as well; the version where that changed is in no stored source, so every version admits
    // it here. *verify* for old clusters.
    arm: true,
  },
  // [ref] 1:1..1:8, 250m / 0.5Gi, max 222 vCPU / 851Gi ([ap-calc]: "balanced_mcpu_max = 222000",
  // "balanced_memory_max = 851000", "balanced_min = 1", "balanced_max = 8"). Defaults: the default-requests table of
  // [docs-res] in its zh-TW edition (`?hl=zh-tw`) reads "Balanced: CPU 0.5 vCPU", confirmed; the
  // stored copy ends before the memory cell, so 2 GiB (as general-purpose) stays *verify*.
  Balanced: {
    billing: 'pod',
    ratio: { min: 1, max: 8 },
    min: { bursting: { cpu: milli('250m'), memory: bytes('512Mi') }, noBursting: { cpu: milli('250m'), memory: bytes('512Mi') } },
    max: { x86: { cpu: milli('222'), memory: bytes('851Gi') } },
    defaults: GP_DEFAULTS,
    ephemeralMax: EPHEMERAL_10G,
    cpuIncrements: true,
    arm: false,
  },
  // [ref] fixed 1:4, max 54 vCPU / 216Gi x86, 43 vCPU / 172Gi Arm; [ap-calc] agrees ("scaleout_min =
  // 4", "scaleout_max = 4", "scaleout_mcpu_max = 54000", "scaleout_memory_max = 216000",
  // "scaleout_arm_mcpu_max = 43000", "scaleout_arm_memory_max = 172000"). Minimum memory 1Gi:
  // [ap-calc] calculator.go, "Minumum memory request, however it's 1G for Scaleout". Minimum CPU
  // 250m: no class-specific source (only the all-class 250m of [ref] and an older [ap-calc]
  // "mcpu_min = 250"), *verify*.
  'Scale-Out': {
    billing: 'pod',
    ratio: { min: 4, max: 4 },
    min: { bursting: { cpu: milli('250m'), memory: bytes('1Gi') }, noBursting: { cpu: milli('250m'), memory: bytes('1Gi') } },
    max: { x86: { cpu: milli('54'), memory: bytes('216Gi') }, arm: { cpu: milli('43'), memory: bytes('172Gi') } },
    defaults: GP_DEFAULTS,
    ephemeralMax: EPHEMERAL_10G,
    cpuIncrements: true,
    arm: true,
  },
  // [ref] no ratio ([docs-res-zh]: the ratio is not enforced for GPU pods and Performance pods),
  // sizes from the machine family (PERFORMANCE_FAMILIES). Minimum with bursting 1m / 1Mi:
  // [ap-calc] "performance_mcpu_min = 1", "performance_memory_min = 1" (its units: millicores and
  // the MiB-sized unit of "generalpurpose_memory_min = 52"); it was 50m / 52Mi, copied from
  // general-purpose. Minimum without bursting and the defaults: no source, *verify*.
  Performance: {
    billing: 'node',
    min: { bursting: { cpu: milli('1m'), memory: bytes('1Mi') }, noBursting: { cpu: milli('50m'), memory: bytes('52Mi') } },
    defaults: GP_DEFAULTS,
    ephemeralMax: EPHEMERAL_56T,
    cpuIncrements: false,
    arm: true,
  },
  // [ref] ratio not enforced, ranges per GPU type and count (GPUS). No defaults: [docs-res-zh]
  // default-requests table, Accelerator row: "no default requests are enforced".
  Accelerator: {
    billing: 'node',
    min: { bursting: { cpu: 0, memory: 0 }, noBursting: { cpu: 0, memory: 0 } },
    ephemeralMax: EPHEMERAL_56T,
    cpuIncrements: false,
    arm: false,
  },
};

/** Step the pod's CPU is rounded up to without bursting (800m -> 1000m). [ref], [config-sync] */
export const CPU_INCREMENT = milli('250m');

/**
 * The memory one vCPU needs for a ratio of `r` GiB per vCPU, in MiB, from millicores:
 * Math.round(milli * 1.024 * r). [config-sync] computes the 1:1 floor exactly this way
 * (rounding to the nearest MiB, so 308m needs 315Mi, not 316Mi).
 */
export const memoryMiForRatio = (cpuMilli: number, ratio: number): number => Math.round(cpuMilli * 1.024 * ratio);

/**
 * DaemonSet containers: defaults 50m / 100MiB / 100MiB ephemeral, "whatever the compute class or
 * hardware" ([docs-res-zh] default-requests list). Minimums 10m / 10Mi, no 250m steps *verify*.
 */
export const DAEMONSET = {
  defaults: { cpu: milli('50m'), memory: bytes('100Mi'), ephemeral: bytes('100Mi') },
  min: { cpu: milli('10m'), memory: bytes('10Mi') },
  cpuIncrements: false,
};

/**
 * Ephemeral storage on the pod total: raised to `min`; denied above the class's `ephemeralMax`
 * (or the GPU shape's), and above `max` for every class before LARGE_EPHEMERAL_VERSION. [ref]
 */
export const EPHEMERAL = { min: bytes('10Mi'), max: EPHEMERAL_10G };

/**
 * Pods with *required* pod anti-affinity need this much CPU in total, or Warden denies them under
 * autogke-pod-limit-constraints ("workload 'loki-0' cpu requests '250m' is lower than the
 * Autopilot minimum required of '500m' for using pod anti affinity."). [ref], [seen]
 * Qovery/engine (loki chart, 2023). Preferred anti-affinity is admitted as it is: [seen] a 2025
 * server-side dry-run on GKE Autopilot (momens-server write-up) denied required anti-affinity at
 * 250m and admitted the same pod with preferred anti-affinity ("admission은 통과했지만", "admission
 * passed"). [docs-res] lists pod anti-affinity under "workload separation" requests, where it is the
 * one method that is rejected rather than raised. Topology spread constraints have no minimum
 * in any source found, so none is applied.
 */
export const ANTI_AFFINITY_MIN_CPU = milli('500m');

/**
 * Pods that separate themselves from others (a toleration plus a node selector or required node
 * affinity on a label outside GKE's own) or ask for extended duration (annotation
 * `cluster-autoscaler.kubernetes.io/safe-to-evict: "false"`) have their own defaults and minimums
 * ([docs-res] overview, in the stored copy: "Autopilot has different default values and different
 * minimum values for workloads that you separate from each other, or for Pods that get extended
 * protection from GKE-initiated eviction"). The CPU minimum, 500m: [seen] agones-dev/agones#2876
 * (2022-12-16, by a GKE engineer, citing [docs-res] #compute-class-min-max and #workload-separation):
 * "Workload separation on Autopilot requires 0.5 vCPU per pod vs the 0.25 vCPU per pod normally
 * required". The 512Mi memory minimum and that the pod is raised rather than denied are from the
 * same page's table, which no stored copy holds: *verify*.
 */
export const SEPARATION_MIN: CpuMemory = { cpu: milli('500m'), memory: bytes('512Mi') };
export const SAFE_TO_EVICT = 'cluster-autoscaler.kubernetes.io/safe-to-evict';

// ---------------------------------------------------------------------------------------------
// GPUs

export interface GpuCount {
  count: number;
  /** vCPU range, in millicores. */
  cpu: [number, number];
  /** Memory range, in bytes. */
  memory: [number, number];
  /**
   * Largest pod-total ephemeral storage, bytes, where the machine has local SSD that backs it.
   * Absent: the Accelerator class's (56Ti from LARGE_EPHEMERAL_VERSION).
   */
  ephemeralMax?: number;
}

export interface GpuType {
  /** Machine family the nodes come from (node selection and prices in MACHINES). */
  family: string;
  counts: GpuCount[];
}

const gpu = (count: number, cpu: [string, string], memory: [string, string], ephemeralMax?: string): GpuCount =>
  ({ count, cpu: [milli(cpu[0]), milli(cpu[1])], memory: [bytes(memory[0]), bytes(memory[1])], ...(ephemeralMax ? { ephemeralMax: bytes(ephemeralMax) } : {}) });

/**
 * Per type and count CPU/memory ranges ([docs-res] "Minimum and maximum for the Accelerator class").
 * What is confirmed, and where from:
 * - the type names: [seen] a real autogke-gpu-limitation denial (May 2025) lists the allowed values
 *   "[nvidia-a100-80gb, nvidia-h100-80gb, nvidia-h100-mega-80gb, nvidia-h200-141gb, nvidia-l4,
 *   nvidia-tesla-a100, nvidia-tesla-p100, nvidia-tesla-p4, nvidia-tesla-t4, nvidia-tesla-v100]";
 *   nvidia-b200, not in that list, is in [docs-gpu-2026]'s "Allowed values": "nvidia-b200 : NVIDIA
 *   B200 (180GB)" (from 1.32.2-gke.1422000), and [gke-ca] maps it to A4 ("NvidiaB200.name: A4");
 * - the GPU counts per type: [docs-gpu-2026] "Supported GPU quantities": B200, H200 and H100 Mega
 *   "8"; H100 80GB, A100 80GB and L4 "1, 2, 4, 8"; A100 40GB "1, 2, 4, 8, 16"; T4 "1, 2, 4" ("If
 *   you request a GPU quantity that isn't supported for that type, Autopilot rejects your Pod");
 * - the machine series per type: [gke-ca] machineFamilyForGPU (T4: N1, A100 40/80GB: A2, L4: G2,
 *   H100, H100 Mega, H200: A3, B200: A4);
 * - the aggregate ranges [ref] (T4 0.5-94 vCPU; L4 2-95 vCPU, 7-363Gi; A100 9-94 vCPU, 60-1264Gi),
 *   the same in [ap-calc] ("gpupod_t4_mcpu_min = 500", "gpupod_t4_mcpu_max = 94000",
 *   "gpupod_l4_mcpu_min = 2000", "gpupod_l4_mcpu_max = 95000", "gpupod_l4_memory_min = 7000",
 *   "gpupod_l4_memory_max = 363000", "gpupod_a100_40_mcpu_min = 9000", "gpupod_a100_40_mcpu_max =
 *   94000", "gpupod_a100_40_memory_min = 60000", "gpupod_a100_40_memory_max = 1264000");
 * - an upper bound on every CPU maximum: the machine's vCPUs per GPU count in [gke-ca] maxCpuCount
 *   (T4 1: 48, 2: 48, 4: 96; L4 1: 32, 2: 24, 4: 48, 8: 96; A100 40GB 1: 12 .. 8 and 16: 96; A100
 *   80GB 1: 12, 2: 24, 4: 48, 8: 96; H100 1: 26, 2: 52, 4: 104, 8: 208; H100 Mega 8: 208; H200 and
 *   B200 8: 224). Every row below is under it (1 x A100 80GB only just: 12 of 12);
 * - the T4 minimum, 500m / 512Mi: [seen] GoogleCloudPlatform/kubernetes-engine-samples#405
 *   (2022-12-09, review of batch/kueue-intro/team-b-job.yaml on nvidia-tesla-t4): cpu "500m" and
 *   memory "512Mi", each "Autopilot min for T4";
 * - 1 x nvidia-tesla-a100 at most 11 vCPU / 74Gi: [ref] and [seen] argoproj/argo-workflows#13073
 *   ("higher than the Autopilot maximum of '11'" / "'74Gi'");
 * - 1 x nvidia-h100-80gb at most 588Gi ephemeral storage: [seen] harbor-gke-ext ("higher than the
 *   nvidia-h100-80gb-1 maximum of '588Gi'"). A100 80GB and H100 80GB always use local SSD for
 *   ephemeral storage ([docs-gpu-2026]: "The NVIDIA H100 (80GB) GPUs and NVIDIA A100 (80GB) GPUs
 *   always use Local SSDs for ephemeral storage"). Every other local-SSD maximum (all
 *   nvidia-a100-80gb rows; H100 at 2, 4 and 8) is an estimate from the SSDs the machine carries
 *   (a2-ultragpu-Ng: N x 375GB; a3-highgpu-Ng: 2N x 375GB) less GKE's overhead, *verify*.
 * Every other per-count range is *verify*: no stored copy of [docs-res] reaches its hardware table.
 * The 8-GPU-only types (H100 Mega, H200, B200) allow up to the machine's allocatable, *verify*.
 */
export const GPUS: Record<string, GpuType> = {
  'nvidia-tesla-t4': { family: 'n1', counts: [
    gpu(1, ['500m', '46'], ['512Mi', '287Gi']), gpu(2, ['500m', '46'], ['512Mi', '287Gi']), gpu(4, ['500m', '94'], ['512Mi', '587Gi']),
  ] },
  'nvidia-l4': { family: 'g2', counts: [
    gpu(1, ['2', '31'], ['7Gi', '115Gi']), gpu(2, ['22', '23'], ['78Gi', '86Gi']), gpu(4, ['46', '47'], ['170Gi', '182Gi']), gpu(8, ['94', '95'], ['355Gi', '363Gi']),
  ] },
  'nvidia-tesla-a100': { family: 'a2', counts: [
    gpu(1, ['9', '11'], ['60Gi', '74Gi']), gpu(2, ['20', '23'], ['134Gi', '148Gi']), gpu(4, ['44', '47'], ['296Gi', '310Gi']),
    gpu(8, ['92', '94'], ['618Gi', '632Gi']), gpu(16, ['92', '94'], ['1250Gi', '1264Gi']),
  ] },
  'nvidia-a100-80gb': { family: 'a2-ultra', counts: [
    gpu(1, ['11', '12'], ['148Gi', '158Gi'], '280Gi'), gpu(2, ['23', '24'], ['310Gi', '320Gi'], '585Gi'),
    gpu(4, ['47', '48'], ['635Gi', '645Gi'], '1220Gi'), gpu(8, ['94', '95'], ['1270Gi', '1290Gi'], '2540Gi'),
  ] },
  'nvidia-h100-80gb': { family: 'a3', counts: [
    gpu(1, ['500m', '25'], ['1Gi', '225Gi'], '588Gi'), gpu(2, ['500m', '50'], ['1Gi', '450Gi'], '1176Gi'),
    gpu(4, ['500m', '100'], ['1Gi', '900Gi'], '2352Gi'), gpu(8, ['500m', '206'], ['1Gi', '1795Gi'], '5250Gi'),
  ] },
  'nvidia-h100-mega-80gb': { family: 'a3-mega', counts: [gpu(8, ['500m', '206'], ['1Gi', '1795Gi'], '5250Gi')] },
  'nvidia-h200-141gb': { family: 'a3-ultra', counts: [gpu(8, ['500m', '220'], ['1Gi', '2800Gi'], '10940Gi')] },
  'nvidia-b200': { family: 'a4', counts: [gpu(8, ['500m', '220'], ['1Gi', '3700Gi'], '10940Gi')] },
};

/** The toleration Autopilot puts on GPU pods (GPU nodes carry `nvidia.com/gpu=present:NoSchedule`). [docs-gpu] */
export const GPU_RESOURCE = 'nvidia.com/gpu';

// ---------------------------------------------------------------------------------------------
// Node labels and taints Autopilot reads and writes

export const LABELS = {
  computeClass: 'cloud.google.com/compute-class',
  accelerator: 'cloud.google.com/gke-accelerator',
  acceleratorCount: 'cloud.google.com/gke-accelerator-count',
  spot: 'cloud.google.com/gke-spot',
  /** Rewritten to `spot` at admission. [ref] */
  preemptible: 'cloud.google.com/gke-preemptible',
  machineFamily: 'cloud.google.com/machine-family',
  arch: 'kubernetes.io/arch',
  os: 'kubernetes.io/os',
  zone: 'topology.kubernetes.io/zone',
  hostname: 'kubernetes.io/hostname',
  instanceType: 'node.kubernetes.io/instance-type',
} as const;

/** Pod spec keys GKE owns: a nodeSelector on any other key is workload separation. */
export const GKE_NODE_LABEL_PREFIXES = ['cloud.google.com/', 'kubernetes.io/', 'node.kubernetes.io/', 'topology.kubernetes.io/', 'beta.kubernetes.io/', 'failure-domain.beta.kubernetes.io/'];

/**
 * Keys Warden refuses in nodeSelector and node affinity (autogke-node-affinity-selector-limitation).
 * kubernetes.io/hostname is named in the WorkloadAllowlist docs; node.kubernetes.io/instance-type
 * needs the same exemption ([seen] kubescape gke-allowlist notes). The others *verify*.
 */
export const RESTRICTED_NODE_SELECTOR_KEYS = [
  'kubernetes.io/hostname',
  'node.kubernetes.io/instance-type',
  'beta.kubernetes.io/instance-type',
  'cloud.google.com/gke-nodepool',
];

/** Capabilities a container may add. [ref], [seen] identical in every real denial found. */
export const ALLOWED_CAPABILITIES = [
  'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD', 'NET_BIND_SERVICE',
  'NET_RAW', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT', 'SYS_PTRACE',
];

/** hostPath volumes must live under these, mounted read-only. [ref] */
export const ALLOWED_HOSTPATH_PREFIXES = ['/var/log/'];

/**
 * Namespaces GKE manages: any create there is denied by Warden's authorizer. kube-system [ref];
 * the rest are the GKE-created namespaces listed on a 2025 Autopilot cluster ([seen]) *verify*.
 */
export const MANAGED_NAMESPACES = [
  'kube-system', 'gke-gmp-system', 'gke-managed-cim', 'gke-managed-filestorecsi', 'gke-managed-networking-dra-driver',
  'gke-managed-parallelstorecsi', 'gke-managed-system', 'gke-managed-volumepopulator', 'gmp-system',
];

/** Seconds a Spot pod gets between the preemption notice and SIGKILL. [ref] */
export const SPOT_GRACE_SECONDS = 25;

// ---------------------------------------------------------------------------------------------
// Machines (scheduler and node-billed estimates)

export interface MachineFamily {
  arch: 'amd64' | 'arm64';
  /** us-central1 on-demand $/h per vCPU and per GiB. [pricing] *verify* */
  vcpuHour: number;
  gibHour: number;
  /** Spot price as a share of on-demand. *verify* */
  spotFactor: number;
  shapes: MachineShape[];
}

export interface MachineShape {
  name: string;
  vcpu: number;
  memoryGiB: number;
  /** GPUs attached (GPU machine types). */
  gpus?: number;
  /** Whole-machine on-demand $/h when it is not vCPU x rate + GiB x rate (GPU machines). *verify* */
  hourly?: number;
}

const standard = (family: string, sizes: number[], gibPerVcpu = 4): MachineShape[] =>
  sizes.map((n) => ({ name: `${family}-standard-${n}`, vcpu: n, memoryGiB: n * gibPerVcpu }));

/** Shapes from the Compute Engine machine-type pages; prices [pricing] us-central1, all *verify*. */
export const MACHINES: Record<string, MachineFamily> = {
  e2: { arch: 'amd64', vcpuHour: 0.021811, gibHour: 0.002923, spotFactor: 0.3, shapes: standard('e2', [2, 4, 8, 16, 32]) },
  n2: { arch: 'amd64', vcpuHour: 0.031611, gibHour: 0.004237, spotFactor: 0.3, shapes: standard('n2', [2, 4, 8, 16, 32, 48, 64, 80, 96, 128]) },
  n2d: { arch: 'amd64', vcpuHour: 0.027502, gibHour: 0.003686, spotFactor: 0.3, shapes: standard('n2d', [2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224]) },
  t2d: { arch: 'amd64', vcpuHour: 0.027502, gibHour: 0.003686, spotFactor: 0.3, shapes: standard('t2d', [1, 2, 4, 8, 16, 32, 48, 60]) },
  t2a: { arch: 'arm64', vcpuHour: 0.0308, gibHour: 0.00385, spotFactor: 0.3, shapes: standard('t2a', [1, 2, 4, 8, 16, 32, 48]) },
  // Arm general-purpose nodes from ARM_C4A_VERSION ([docs-arm]); standard shapes 1..72 vCPU at 4 GiB
  // per vCPU, prices *verify* like the rest.
  c4a: { arch: 'arm64', vcpuHour: 0.03585, gibHour: 0.00391, spotFactor: 0.3, shapes: standard('c4a', [1, 2, 4, 8, 16, 32, 48, 64, 72]) },
  c3: { arch: 'amd64', vcpuHour: 0.03465, gibHour: 0.003938, spotFactor: 0.3, shapes: standard('c3', [4, 8, 22, 44, 88, 176]) },
  c2: { arch: 'amd64', vcpuHour: 0.03398, gibHour: 0.00455, spotFactor: 0.3, shapes: standard('c2', [4, 8, 16, 30, 60]) },
  // T4s attach to N1; the machine price is N1's plus $0.35 per T4 (added in estimate via gpuHour). *verify*
  n1: { arch: 'amd64', vcpuHour: 0.031611, gibHour: 0.004237, spotFactor: 0.3, shapes: standard('n1', [4, 8, 16, 32, 64, 96], 3.75) },
  g2: { arch: 'amd64', vcpuHour: 0, gibHour: 0, spotFactor: 0.4, shapes: [
    { name: 'g2-standard-4', vcpu: 4, memoryGiB: 16, gpus: 1, hourly: 0.70683 }, { name: 'g2-standard-8', vcpu: 8, memoryGiB: 32, gpus: 1, hourly: 0.85369 },
    { name: 'g2-standard-12', vcpu: 12, memoryGiB: 48, gpus: 1, hourly: 1.00054 }, { name: 'g2-standard-16', vcpu: 16, memoryGiB: 64, gpus: 1, hourly: 1.14739 },
    { name: 'g2-standard-32', vcpu: 32, memoryGiB: 128, gpus: 1, hourly: 1.73479 }, { name: 'g2-standard-24', vcpu: 24, memoryGiB: 96, gpus: 2, hourly: 2.00107 },
    { name: 'g2-standard-48', vcpu: 48, memoryGiB: 192, gpus: 4, hourly: 4.00214 }, { name: 'g2-standard-96', vcpu: 96, memoryGiB: 384, gpus: 8, hourly: 8.00428 },
  ] },
  a2: { arch: 'amd64', vcpuHour: 0, gibHour: 0, spotFactor: 0.3, shapes: [
    { name: 'a2-highgpu-1g', vcpu: 12, memoryGiB: 85, gpus: 1, hourly: 3.6733 }, { name: 'a2-highgpu-2g', vcpu: 24, memoryGiB: 170, gpus: 2, hourly: 7.3466 },
    { name: 'a2-highgpu-4g', vcpu: 48, memoryGiB: 340, gpus: 4, hourly: 14.6933 }, { name: 'a2-highgpu-8g', vcpu: 96, memoryGiB: 680, gpus: 8, hourly: 29.3866 },
    { name: 'a2-megagpu-16g', vcpu: 96, memoryGiB: 1360, gpus: 16, hourly: 55.7395 },
  ] },
  'a2-ultra': { arch: 'amd64', vcpuHour: 0, gibHour: 0, spotFactor: 0.3, shapes: [
    { name: 'a2-ultragpu-1g', vcpu: 12, memoryGiB: 170, gpus: 1, hourly: 5.0688 }, { name: 'a2-ultragpu-2g', vcpu: 24, memoryGiB: 340, gpus: 2, hourly: 10.1376 },
    { name: 'a2-ultragpu-4g', vcpu: 48, memoryGiB: 680, gpus: 4, hourly: 20.2752 }, { name: 'a2-ultragpu-8g', vcpu: 96, memoryGiB: 1360, gpus: 8, hourly: 40.5504 },
  ] },
  a3: { arch: 'amd64', vcpuHour: 0, gibHour: 0, spotFactor: 0.3, shapes: [
    { name: 'a3-highgpu-1g', vcpu: 26, memoryGiB: 234, gpus: 1, hourly: 11.0612 }, { name: 'a3-highgpu-2g', vcpu: 52, memoryGiB: 468, gpus: 2, hourly: 22.1225 },
    { name: 'a3-highgpu-4g', vcpu: 104, memoryGiB: 936, gpus: 4, hourly: 44.245 }, { name: 'a3-highgpu-8g', vcpu: 208, memoryGiB: 1872, gpus: 8, hourly: 88.49 },
  ] },
  // The 8-GPU-only machines behind H100 Mega, H200 and B200: shapes from the Compute Engine
  // accelerator-optimized page; hourly prices *verify*.
  'a3-mega': { arch: 'amd64', vcpuHour: 0, gibHour: 0, spotFactor: 0.3, shapes: [{ name: 'a3-megagpu-8g', vcpu: 208, memoryGiB: 1872, gpus: 8, hourly: 92.7 }] },
  'a3-ultra': { arch: 'amd64', vcpuHour: 0, gibHour: 0, spotFactor: 0.3, shapes: [{ name: 'a3-ultragpu-8g', vcpu: 224, memoryGiB: 2952, gpus: 8, hourly: 84.81 }] },
  a4: { arch: 'amd64', vcpuHour: 0, gibHour: 0, spotFactor: 0.3, shapes: [{ name: 'a4-highgpu-8g', vcpu: 224, memoryGiB: 3968, gpus: 8, hourly: 106.2 }] },
};

/** Per-T4 $/h on top of the N1 machine. [pricing] *verify* */
export const T4_GPU_HOUR = 0.35;

/**
 * The Arm series a general-purpose arm64 pod gets: C4A from ARM_C4A_VERSION, T2A before. [docs-arm]
 * [gke-ca] pod_family.go today: "GeneralPurposeArmPodFamily: {machinetypes.E4A, machinetypes.N4A,
 * machinetypes.C4A}" (C4A is the one of them with a MACHINES table here).
 * The bill is the general-purpose pod price: no stored source has an Arm general-purpose rate. *verify*
 */
export const ARM_GENERAL_PURPOSE_FAMILY = { fromC4a: 'c4a', before: 't2a' } as const;

/**
 * Which families back the pod-billed classes (the node shape does not change the bill). [gke-ca]:
 * pod_family.go "GeneralPurposePodFamily: {machinetypes.E2, machinetypes.EK, machinetypes.E4}";
 * compute_classes.go `BalancedClass` "machineFamilies: []MachineFamily{N2, N2D}" and `ScaleOutClass`
 * "machineFamilies: []MachineFamily{T2A, T2D}" (T2A the Arm one). One family per class is kept here.
 */
export const CLASS_FAMILIES: Record<'general-purpose' | 'Balanced' | 'Scale-Out' | 'Scale-Out-arm', string> = {
  'general-purpose': 'e2',
  Balanced: 'n2d',
  'Scale-Out': 't2d',
  'Scale-Out-arm': 't2a',
};

/**
 * Families a Performance pod may name with cloud.google.com/machine-family: each is in [gke-ca]
 * compute_classes.go `PerformanceClass` "machineFamilies: []MachineFamily{C4, C4A, C4D, C3, C3D, C2,
 * C2D, H3, H4D, E2, M4, N1, N2, N2D, N4, N4A, N4D, T2D, T2A, Z3, Z4D}". The list here is only those
 * with a MACHINES table (shapes and prices): a pod naming another of GKE's families is denied here
 * although GKE admits it.
 */
export const PERFORMANCE_FAMILIES = ['c3', 'c2', 'n2', 'n2d', 't2d', 't2a'];

/**
 * Node allocatable = capacity minus GKE's reservation: memory 25% of the first 4 GiB, 20% of the
 * next 4, 10% of the next 8, 6% of the next 112, 2% above 128, plus a 100Mi eviction threshold;
 * CPU 6% of the first core, 1% of the next, 0.5% of the next 2, 0.25% above 4. [docs-alloc]
 */
export const RESERVED = {
  memory: [[4, 0.25], [4, 0.2], [8, 0.1], [112, 0.06], [Infinity, 0.02]] as [number, number][],
  evictionMiB: 100,
  cpu: [[1, 0.06], [1, 0.01], [2, 0.005], [Infinity, 0.0025]] as [number, number][],
};

/**
 * Pods per Autopilot node. [gke-ca] gke_manager.go "autopilotMaxPodsPerNode = int64(32)"; [seen] the
 * GKE API's answer to a client that sent another default (pulumi/pulumi#8638, 2021-12-27): "Max pods
 * constraint on node pools for Autopilot clusters should be 32."
 */
export const MAX_PODS_PER_NODE = 32;

/** Node provisioning, in seconds. realistic: GKE docs say 80-120 s per node [ref]; GPU "minutes" (300 s *verify*). */
export const PROVISIONING = {
  realistic: { scanIntervalS: 10, nodeBootS: 100, gpuNodeBootS: 300, scaleDownDelayS: 600 },
  fast: { scanIntervalS: 1, nodeBootS: 2, gpuNodeBootS: 5, scaleDownDelayS: 10 },
} as const;

/**
 * The cluster autoscaler removes a node whose requested CPU and memory (DaemonSet pods left out)
 * are each below this share of allocatable for the scale-down delay, when its pods can all move
 * to other nodes (scale-down-utilization-threshold, 0.5 upstream; GKE's value *verify*).
 */
export const SCALE_DOWN_UTILIZATION_THRESHOLD = 0.5;

/** Autopilot does not evict extended-duration pods (safe-to-evict: "false") for scale-down for up to 7 days after they start. [ref] */
export const EXTENDED_DURATION_S = 7 * 24 * 3600;

/** Zones per region (node placement and topology spread). Unknown regions get `<region>-a/b/c`. */
export const ZONES: Record<string, string[]> = {
  'us-central1': ['a', 'b', 'c', 'f'], 'us-east1': ['b', 'c', 'd'], 'us-east4': ['a', 'b', 'c'], 'us-west1': ['a', 'b', 'c'],
  'europe-west1': ['b', 'c', 'd'], 'europe-west4': ['a', 'b', 'c'], 'asia-east1': ['a', 'b', 'c'], 'asia-southeast1': ['a', 'b', 'c'],
};

// ---------------------------------------------------------------------------------------------
// Prices

export interface PodRates {
  /** $/h per vCPU, per GiB of memory, per GiB of ephemeral storage requested. */
  vcpu: number;
  memoryGiB: number;
  ephemeralGiB: number;
}

/** Pod-billed price keys: the class, with the Arm variant of Scale-Out priced apart. */
export type PriceClass = 'general-purpose' | 'Balanced' | 'Scale-Out' | 'Scale-Out-arm';

export const DEFAULT_REGION = 'us-central1';

/**
 * Pod request prices. us-central1 general-purpose vCPU and memory: [ref]. Ephemeral storage
 * ($0.0000548/GiB-h) and every Balanced / Scale-Out figure: [pricing] *verify*. Regions without a
 * table fall back to us-central1 (and say so in the estimate).
 */
export const POD_PRICES: Record<string, Record<PriceClass, { onDemand: PodRates; spot: PodRates }>> = {
  'us-central1': {
    'general-purpose': { onDemand: { vcpu: 0.0445, memoryGiB: 0.0049225, ephemeralGiB: 0.0000548 }, spot: { vcpu: 0.0133, memoryGiB: 0.0014767, ephemeralGiB: 0.0000548 } },
    Balanced: { onDemand: { vcpu: 0.0561, memoryGiB: 0.0062023, ephemeralGiB: 0.0000548 }, spot: { vcpu: 0.0168, memoryGiB: 0.0018607, ephemeralGiB: 0.0000548 } },
    'Scale-Out': { onDemand: { vcpu: 0.0527, memoryGiB: 0.0058286, ephemeralGiB: 0.0000548 }, spot: { vcpu: 0.0158, memoryGiB: 0.0017486, ephemeralGiB: 0.0000548 } },
    'Scale-Out-arm': { onDemand: { vcpu: 0.0422, memoryGiB: 0.0046628, ephemeralGiB: 0.0000548 }, spot: { vcpu: 0.0127, memoryGiB: 0.0013988, ephemeralGiB: 0.0000548 } },
  },
};

/** Node-billed pods (Accelerator, Performance) pay the VM plus this share of it. [ref] "VM price + premium"; the share *verify*. */
export const NODE_BILLED_PREMIUM = 0.1;

/** Flat cluster management fee, $/h. [ref] */
export const CLUSTER_FEE_HOUR = 0.1;
/** Monthly free-tier credit against the fee, $. [ref] */
export const FREE_TIER_MONTHLY = 74.4;
/** Committed-use discounts. [ref] */
export const COMMITTED_USE_DISCOUNT = { oneYear: 0.2, threeYears: 0.45 };
