/**
 * What kind of node a pod asks for (compute class, Spot, Arm, GPU, machine family), the denials
 * that follow from that alone, and the scheduling fields Autopilot rewrites: the
 * gke-preemptible -> gke-spot rename and the tolerations for the taints its nodes carry.
 */
import {
  ARM_GENERAL_PURPOSE_FAMILY, CLASSES, DEFAULT_CLASS, GPU_RESOURCE, GPUS, LABELS, PERFORMANCE_FAMILIES,
  type ClassRules, type GpuCount, type KnownClass, type PriceClass,
} from './data.js';
import { CONSTRAINTS, MSG } from './messages.js';
import { parseQuantity, toNumber } from './quantity.js';
import type { ResolvedSettings } from './settings.js';
import type { Container, PodSpec, Toleration } from './types.js';

export interface Denial {
  constraint: string;
  message: string;
}

export interface PodPlacement {
  /** `general-purpose`, a built-in class, or a custom class name (ruled like general-purpose). */
  computeClass: string;
  rules: ClassRules;
  spot: boolean;
  arch: 'amd64' | 'arm64';
  machineFamily?: string;
  /** The machine series the pod's nodes come from when the class alone does not say (general-purpose Arm). */
  family?: string;
  gpu?: { type?: string; count: number; range?: GpuCount };
  billing: 'pod' | 'node';
  /** The pod price table to use when billing is `pod`. */
  priceClass: PriceClass;
}

const BUILTIN = new Set<string>(Object.keys(CLASSES));
/**
 * GKE's built-in ComputeClass objects that stand for the default class. `autopilot` and
 * `autopilot-arm` (Arm, from AUTOPILOT_ARM_CLASS_VERSION; below it the name is an ordinary custom
 * class): [docs-res-zh-tw-s3ns] heads the general-purpose row of the default-requests table with both
 * names, and [docs-arm] names the `autopilot-arm` ComputeClass. `autopilot-spot`: *verify*.
 */
const CLASS_ALIASES: Record<string, { cls: string; spot?: boolean; arm?: boolean }> = {
  autopilot: { cls: DEFAULT_CLASS },
  'autopilot-spot': { cls: DEFAULT_CLASS, spot: true },
  'autopilot-arm': { cls: DEFAULT_CLASS, arm: true },
};

/** The value a pod requires for a node label: a nodeSelector entry, or a single-valued `In` in required node affinity. */
export function requiredLabel(spec: PodSpec, key: string): string | undefined {
  const sel = spec.nodeSelector?.[key];
  if (sel !== undefined && sel !== null) return String(sel);
  for (const term of spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []) {
    for (const e of term.matchExpressions ?? []) if (e.key === key && e.operator === 'In' && e.values?.length === 1) return e.values[0];
  }
  return undefined;
}

export function gpuCount(spec: PodSpec): number {
  let total = 0;
  for (const c of spec.containers) total += gpuOf(c);
  let init = 0;
  for (const c of spec.initContainers ?? []) init = Math.max(init, gpuOf(c));
  return Math.max(total, init);
}

function gpuOf(c: Container): number {
  const v = c.resources?.limits?.[GPU_RESOURCE] ?? c.resources?.requests?.[GPU_RESOURCE];
  if (v === undefined) return 0;
  try { return toNumber(parseQuantity(v)); } catch { return 0; }
}

/** Reads the placement. Pure; `denials` collects what is wrong with it. */
export function readPlacement(spec: PodSpec, settings: ResolvedSettings, denials: Denial[]): PodPlacement {
  const named = requiredLabel(spec, LABELS.computeClass);
  const known = named !== undefined ? CLASS_ALIASES[named] : undefined;
  const alias = known?.arm && !settings.autopilotArmClass ? undefined : known;
  const spot = alias?.spot === true || requiredLabel(spec, LABELS.spot) === 'true' || requiredLabel(spec, LABELS.preemptible) === 'true';
  const arch = alias?.arm === true || requiredLabel(spec, LABELS.arch) === 'arm64' ? 'arm64' : 'amd64';
  const machineFamily = requiredLabel(spec, LABELS.machineFamily);
  const accelerator = requiredLabel(spec, LABELS.accelerator);
  const count = gpuCount(spec);

  let computeClass = alias?.cls ?? named ?? DEFAULT_CLASS;
  const wantsGpu = count > 0 || accelerator !== undefined;
  if (wantsGpu && (settings.acceleratorImplied || (named === 'Accelerator' && settings.acceleratorClass))) computeClass = 'Accelerator';
  else if (named === undefined && machineFamily !== undefined) computeClass = 'Performance';
  // Below 1.28.9 there is no Accelerator class: a GPU pod is a general-purpose pod with GPU ranges.
  else if (named === 'Accelerator' && !settings.acceleratorClass) computeClass = DEFAULT_CLASS;

  const rules = BUILTIN.has(computeClass) ? CLASSES[computeClass as KnownClass] : CLASSES[DEFAULT_CLASS];
  const placement: PodPlacement = {
    computeClass, rules, spot, arch, machineFamily, billing: rules.billing,
    priceClass: computeClass === 'Balanced' ? 'Balanced' : computeClass === 'Scale-Out' ? (arch === 'arm64' ? 'Scale-Out-arm' : 'Scale-Out') : 'general-purpose',
  };
  // General-purpose (and custom-class) Arm pods: C4A or T2A nodes by version [docs-arm].
  if (arch === 'arm64' && rules === CLASSES[DEFAULT_CLASS]) placement.family = settings.armC4a ? ARM_GENERAL_PURPOSE_FAMILY.fromC4a : ARM_GENERAL_PURPOSE_FAMILY.before;

  const tolerations = spec.tolerations ?? [];
  if (count === 0 && tolerations.some((t) => t.key === GPU_RESOURCE && t.operator === 'Exists')) {
    denials.push({ constraint: CONSTRAINTS.gpu, message: MSG.gpuToleration() });
  }
  if (wantsGpu) {
    placement.gpu = { type: accelerator, count };
    if (accelerator === undefined) denials.push({ constraint: CONSTRAINTS.gpu, message: MSG.gpuWithoutSelector(Object.keys(GPUS)) });
    else if (count === 0) denials.push({ constraint: CONSTRAINTS.gpu, message: MSG.selectorWithoutGpu(accelerator) });
    else if (!GPUS[accelerator]) denials.push({ constraint: CONSTRAINTS.gpu, message: MSG.unknownGpu(accelerator, Object.keys(GPUS)) });
    else {
      const range = GPUS[accelerator].counts.find((r) => r.count === count);
      if (!range) denials.push({ constraint: CONSTRAINTS.gpu, message: MSG.gpuCount(accelerator, count, GPUS[accelerator].counts.map((r) => r.count)) });
      placement.gpu.range = range;
    }
  } else if (computeClass === 'Accelerator') {
    denials.push({ constraint: CONSTRAINTS.gpu, message: MSG.acceleratorWithoutGpu() });
  }
  if (computeClass === 'Performance') {
    if (machineFamily === undefined) denials.push({ constraint: CONSTRAINTS.nodeSelector, message: MSG.performanceFamily() });
    else if (!PERFORMANCE_FAMILIES.includes(machineFamily)) denials.push({ constraint: CONSTRAINTS.nodeSelector, message: MSG.unknownFamily(machineFamily, PERFORMANCE_FAMILIES) });
  }
  if (arch === 'arm64' && !rules.arm) denials.push({ constraint: CONSTRAINTS.nodeSelector, message: MSG.armClass(computeClass) });
  if (requiredLabel(spec, LABELS.os) === 'windows') denials.push({ constraint: CONSTRAINTS.nodeSelector, message: MSG.windows() });
  return placement;
}

/**
 * Rewrites gke-preemptible to gke-spot and adds the tolerations for the taints Autopilot puts on
 * the node this pod needs ([docs-cc], [docs-gpu], Spot and Arm docs). Mutates `spec`; returns
 * whether anything changed.
 */
export function applyPlacement(spec: PodSpec, placement: PodPlacement): boolean {
  let changed = false;
  if (spec.nodeSelector && LABELS.preemptible in spec.nodeSelector) {
    const value = spec.nodeSelector[LABELS.preemptible];
    delete spec.nodeSelector[LABELS.preemptible];
    spec.nodeSelector[LABELS.spot] = value;
    changed = true;
  }
  const affinity = spec.affinity?.nodeAffinity;
  const terms = [
    ...(affinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? []),
    ...(affinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map((p) => p.preference),
  ];
  for (const term of terms) {
    for (const e of term?.matchExpressions ?? []) if (e.key === LABELS.preemptible) { e.key = LABELS.spot; changed = true; }
  }
  const wanted: Toleration[] = [];
  if (placement.spot) wanted.push({ key: LABELS.spot, operator: 'Equal', value: 'true', effect: 'NoSchedule' });
  if (placement.computeClass !== DEFAULT_CLASS) wanted.push({ key: LABELS.computeClass, operator: 'Equal', value: placement.computeClass, effect: 'NoSchedule' });
  if (placement.arch === 'arm64') wanted.push({ key: LABELS.arch, operator: 'Equal', value: 'arm64', effect: 'NoSchedule' });
  if (placement.gpu && placement.gpu.count > 0) wanted.push({ key: GPU_RESOURCE, operator: 'Exists', effect: 'NoSchedule' });
  for (const t of wanted) {
    const present = (spec.tolerations ?? []).some((x) => x.key === t.key && (x.operator === 'Exists' || x.value === t.value) && (!x.effect || x.effect === t.effect));
    if (!present) { (spec.tolerations ??= []).push(t); changed = true; }
  }
  return changed;
}
