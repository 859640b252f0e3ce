/**
 * What a workload costs per hour on Autopilot. Pod-billed classes pay for requests (vCPU, GiB of
 * memory, GiB of ephemeral storage) at the class's rate; Accelerator and Performance pods pay for
 * the node they get to themselves (VM price plus premium).
 */
import type { AdmissionResult, PodRequests } from './admission.js';
import { DEFAULT_REGION, GPUS, MACHINES, POD_PRICES, T4_GPU_HOUR, type PodRates } from './data.js';
import { familyFor, machineHourly, nodeBilledHourly, smallestFitting } from './machines.js';
import type { PodPlacement } from './placement.js';
import { GiB } from './quantity.js';

export interface Estimate {
  /** vCPU requested by all the object's pods. */
  vcpu: number;
  memoryGiB: number;
  usdPerHour: number;
  /** Pods counted (replicas, parallelism; 1 for a DaemonSet: the figure is per node). */
  pods: number;
  billing: 'pod' | 'node';
  /** The node shape priced, for node-billed pods. */
  machineType?: string;
  spot: boolean;
  /** Where the prices come from (us-central1 when the region has no table). */
  priceRegion: string;
}

/** Rounds away float noise ($ to a billionth) so sums print and compare exactly. */
export const usd = (n: number): number => Math.round(n * 1e9) / 1e9;

export function priceRegion(region: string): string {
  return POD_PRICES[region] ? region : DEFAULT_REGION;
}

export function podRates(placement: Pick<PodPlacement, 'priceClass' | 'spot'>, region: string): PodRates {
  const table = POD_PRICES[priceRegion(region)][placement.priceClass];
  return placement.spot ? table.spot : table.onDemand;
}

/** $/h of one pod with these requests. */
export function podHourly(requests: PodRequests, placement: PodPlacement, region: string): { usdPerHour: number; machineType?: string } {
  if (placement.billing === 'node') {
    const family = familyFor(placement);
    if (!MACHINES[family]) return { usdPerHour: 0 };
    const shape = smallestFitting(family, { cpuMilli: requests.cpuMilli, memoryBytes: requests.memoryBytes }, requests.gpus);
    if (!shape) return { usdPerHour: 0 };
    return { usdPerHour: usd(nodeBilledHourly(family, shape, placement.spot, requests.gpus)), machineType: shape.name };
  }
  const rates = podRates(placement, region);
  let price = (requests.cpuMilli / 1000) * rates.vcpu + (requests.memoryBytes / GiB) * rates.memoryGiB + (requests.ephemeralBytes / GiB) * rates.ephemeralGiB;
  // GPU pods on clusters without the Accelerator class: requests plus each GPU at its share of
  // the cheapest machine carrying one. *verify*
  if (requests.gpus > 0 && placement.gpu?.type && GPUS[placement.gpu.type]) price += requests.gpus * gpuHour(placement.gpu.type, placement.spot);
  return { usdPerHour: usd(price) };
}

function gpuHour(type: string, spot: boolean): number {
  const family = GPUS[type].family;
  if (family === 'n1') return T4_GPU_HOUR * (spot ? MACHINES.n1.spotFactor : 1);
  const one = MACHINES[family].shapes.filter((s) => s.gpus).sort((a, b) => machineHourly(family, a, false) / a.gpus! - machineHourly(family, b, false) / b.gpus!)[0];
  return machineHourly(family, one, spot) / one.gpus!;
}

/** The estimate for an admitted object running `pods` pods; undefined for objects without pods. */
export function estimate(result: AdmissionResult, pods: number, region: string): Estimate | undefined {
  if (!result.podRequests || !result.placement) return undefined;
  const one = podHourly(result.podRequests, result.placement, region);
  return {
    vcpu: (result.podRequests.cpuMilli * pods) / 1000,
    memoryGiB: (result.podRequests.memoryBytes * pods) / GiB,
    usdPerHour: usd(one.usdPerHour * pods),
    pods,
    billing: result.placement.billing,
    machineType: one.machineType,
    spot: result.placement.spot,
    priceRegion: priceRegion(region),
  };
}
