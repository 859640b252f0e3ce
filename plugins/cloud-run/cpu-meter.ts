/**
 * CPU utilisation of a revision, Cloud Run's second scaling driver: vCPU used by its ready
 * instances (read from cgroup files or /proc through each instance's handle), sampled at every
 * autoscaler tick and averaged over the stable window.
 */
import type { InstanceHandle } from './instances.js';

export interface MeteredInstance {
  id: string;
  handle?: Pick<InstanceHandle, 'cpuSeconds'>;
}

export class CpuMeter {
  private readonly seen = new Map<string, { t: number; s: number }>();
  private readonly samples: Array<{ t: number; used: number }> = [];
  /** vCPU used, averaged over the window (0 until measured). */
  used = 0;

  constructor(private readonly windowMs: number) {}

  /** Samples the instances at `now` and returns the window's average vCPU, or 0 when nothing can be read. */
  sample(now: number, instances: Iterable<MeteredInstance>): number {
    let used = 0;
    let measured = false;
    const live = new Set<string>();
    for (const inst of instances) {
      live.add(inst.id);
      const seconds = inst.handle?.cpuSeconds?.();
      if (seconds === undefined) continue;
      const prev = this.seen.get(inst.id);
      this.seen.set(inst.id, { t: now, s: seconds });
      if (prev && now > prev.t) { used += (seconds - prev.s) / ((now - prev.t) / 1000); measured = true; }
    }
    for (const id of this.seen.keys()) if (!live.has(id)) this.seen.delete(id);
    if (measured) this.samples.push({ t: now, used });
    while (this.samples.length && this.samples[0].t < now - this.windowMs) this.samples.shift();
    this.used = this.samples.length ? this.samples.reduce((n, x) => n + x.used, 0) / this.samples.length : 0;
    return this.used;
  }
}

/** Instances the measured CPU asks for: used vCPU / (each instance's limit x target utilisation). */
export function cpuDesired(usedVcpu: number, cpuPerInstance: number, targetUtilization: number): number {
  if (usedVcpu < 0.01) return 0;
  return Math.ceil(usedVcpu / (cpuPerInstance * targetUtilization) - 1e-9);
}
