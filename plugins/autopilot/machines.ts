/**
 * Node shapes: which machine family backs a pod's placement, what a machine can hold once GKE's
 * reservation is taken out, which shape fits a demand, and what a node costs.
 */
import { CLASS_FAMILIES, GPUS, MACHINES, NODE_BILLED_PREMIUM, RESERVED, T4_GPU_HOUR, type MachineShape } from './data.js';
import type { PodPlacement } from './placement.js';
import { GiB, MiB } from './quantity.js';

export interface Capacity {
  cpuMilli: number;
  memoryBytes: number;
}

/** The family a new node for this placement comes from. */
export function familyFor(placement: Pick<PodPlacement, 'computeClass' | 'arch' | 'machineFamily' | 'gpu' | 'family'>): string {
  if (placement.gpu?.type && GPUS[placement.gpu.type]) return GPUS[placement.gpu.type].family;
  if (placement.family && MACHINES[placement.family]) return placement.family;
  if (placement.computeClass === 'Performance' && placement.machineFamily && MACHINES[placement.machineFamily]) return placement.machineFamily;
  if (placement.computeClass === 'Balanced') return CLASS_FAMILIES.Balanced;
  if (placement.computeClass === 'Scale-Out') return placement.arch === 'arm64' ? CLASS_FAMILIES['Scale-Out-arm'] : CLASS_FAMILIES['Scale-Out'];
  return CLASS_FAMILIES['general-purpose'];
}

const allocCache = new Map<string, Capacity>();

/** Capacity minus GKE's reserved CPU and memory and the eviction threshold ([docs-alloc]). */
export function allocatable(shape: MachineShape): Capacity {
  const hit = allocCache.get(shape.name);
  if (hit) return hit;
  const tiered = (total: number, tiers: [number, number][]) => {
    let left = total;
    let reserved = 0;
    for (const [size, share] of tiers) {
      const part = Math.min(left, size);
      reserved += part * share;
      left -= part;
      if (left <= 0) break;
    }
    return reserved;
  };
  const cpuMilli = Math.floor(shape.vcpu * 1000 - tiered(shape.vcpu, RESERVED.cpu) * 1000);
  const memoryBytes = Math.floor(shape.memoryGiB * GiB - tiered(shape.memoryGiB, RESERVED.memory) * GiB - RESERVED.evictionMiB * MiB);
  const cap = { cpuMilli, memoryBytes };
  allocCache.set(shape.name, cap);
  return cap;
}

/** Shapes of a family that can carry `gpus` GPUs, smallest first. */
export function shapesFor(family: string, gpus = 0): MachineShape[] {
  const f = MACHINES[family];
  if (!f) return [];
  const list = f.shapes.filter((s) => (s.gpus === undefined ? true : s.gpus === gpus));
  return [...list].sort((a, b) => a.vcpu - b.vcpu || a.memoryGiB - b.memoryGiB);
}

/** The smallest shape whose allocatable holds `need`, else undefined. */
export function smallestFitting(family: string, need: Capacity, gpus = 0): MachineShape | undefined {
  return shapesFor(family, gpus).find((s) => {
    const a = allocatable(s);
    return a.cpuMilli >= need.cpuMilli && a.memoryBytes >= need.memoryBytes;
  });
}

/** On-demand or Spot $/h of the VM itself. */
export function machineHourly(family: string, shape: MachineShape, spot: boolean): number {
  const f = MACHINES[family];
  let price = shape.hourly ?? shape.vcpu * f.vcpuHour + shape.memoryGiB * f.gibHour;
  if (family === 'n1') price += (shape.gpus ?? 0) * T4_GPU_HOUR;
  return spot ? price * f.spotFactor : price;
}

/** What Autopilot bills for a node-billed (Accelerator, Performance) node: the VM plus the premium. */
export function nodeBilledHourly(family: string, shape: MachineShape, spot: boolean, gpus = 0): number {
  const vm = machineHourly(family, family === 'n1' ? { ...shape, gpus } : shape, spot);
  return vm * (1 + NODE_BILLED_PREMIUM);
}
