/**
 * The resource half of admission: defaults for what containers leave unset, the pod total raised
 * to the class minimum and ratio (the difference added to the first container), 250m steps and
 * limits = requests without bursting, and the maxima that deny. Mutates the spec it is given.
 *
 * The order follows [config-sync]'s model of the mutator: raise to minimums, fix the ratio (the
 * smaller side grows), round CPU to 250m, then make memory meet the 1:1 floor of the rounded CPU.
 */
import { ANTI_AFFINITY_MIN_CPU, CPU_INCREMENT, DAEMONSET, EPHEMERAL, MACHINES, memoryMiForRatio, SEPARATION_MIN, type CpuMemory } from './data.js';
import { CONSTRAINTS, MSG } from './messages.js';
import type { Denial, PodPlacement } from './placement.js';
import {
  addQuantity, bytesQuantity, compareQuantity, cpuFromMilli, formatQuantity, GiB, MiB, parseQuantity, QuantityError, ZERO,
  type Quantity,
} from './quantity.js';
import type { ResolvedSettings } from './settings.js';
import type { Container, PodSpec } from './types.js';

export const RESOURCES = ['cpu', 'memory', 'ephemeral-storage'] as const;
export type ResourceName = (typeof RESOURCES)[number];

/** One change admission made, with the reason in words (for humans; GKE itself only warns). */
export interface Adjustment {
  container: string;
  field: 'requests' | 'limits';
  resource: string;
  from?: string;
  to: string;
  reason: string;
}

export interface ResourceOutcome {
  /** Per container, the requests Autopilot filled in, in RESOURCES order. */
  defaulted: Map<string, ResourceName[]>;
  /** Containers whose missing limits were filled (counts as defaulting in the old warning). */
  filledLimits: Set<string>;
  /** Containers with a value raised or an existing limit changed. */
  adjusted: Set<string>;
  adjustments: Adjustment[];
  denials: Denial[];
  /** Pod totals after admission (regular containers plus native sidecars). */
  totals: Record<ResourceName, Quantity>;
}

interface Slot {
  c: Container;
  sidecar: boolean;
  init: boolean;
  req: Partial<Record<string, Quantity>>;
  lim: Partial<Record<string, Quantity>>;
}

export interface ResourceContext {
  placement: PodPlacement;
  settings: ResolvedSettings;
  daemonSet: boolean;
  /** Name used in the anti-affinity denial. */
  workloadName: string;
  /** Only validate (CronJobs on clusters that do not mutate them). */
  validateOnly: boolean;
  /** JSON-path-like prefix for API-server-style validation messages. */
  fieldPrefix: string;
  /**
   * Why the pod has the workload-separation / extended-duration minimums (SEPARATION_MIN), in
   * words for the change list; undefined when it has not.
   */
  separation?: string;
}

const FORMAT: Record<ResourceName, 'DecimalSI' | 'BinarySI'> = { cpu: 'DecimalSI', memory: 'BinarySI', 'ephemeral-storage': 'BinarySI' };

export function admitResources(spec: PodSpec, ctx: ResourceContext): ResourceOutcome {
  const out: ResourceOutcome = {
    defaulted: new Map(), filledLimits: new Set(), adjusted: new Set(), adjustments: [], denials: [],
    totals: { cpu: ZERO, memory: ZERO, 'ephemeral-storage': ZERO },
  };
  const slots = readSlots(spec, ctx.fieldPrefix, out.denials);
  if (out.denials.length) return out;
  const { placement, settings } = ctx;
  const rules = placement.rules;

  if (ctx.validateOnly) {
    validateCronJob(slots, out.denials);
    out.totals = totals(slots);
    checkMaxima(out, placement, settings);
    return out;
  }

  // The API server's own defaulting: a resource with only a limit requests that limit.
  for (const s of slots) for (const [k, v] of Object.entries(s.lim)) if (s.req[k] === undefined) s.req[k] = v;

  // ---- defaults
  const defaults = ctx.daemonSet ? DAEMONSET.defaults : placement.computeClass === 'Accelerator' ? undefined : rules.defaults;
  const defaultRatio = ctx.daemonSet || placement.gpu ? undefined : rules.ratio;
  for (const s of slots) {
    for (const r of RESOURCES) {
      if (s.req[r] !== undefined || !defaults) continue;
      let value = r === 'cpu' ? cpuFromMilli(defaults.cpu) : bytesQuantity(r === 'memory' ? defaults.memory : defaults.ephemeral);
      let reason = `unspecified; the ${ctx.daemonSet ? 'DaemonSet' : placement.computeClass} default`;
      // Only one of CPU and memory set: the other is the default brought inside the class's
      // ratio, so the value that was set is kept. [docs-res-zh] default requests: "If you set only
      // one of the requests and leave the other empty, GKE uses the CPU:memory ratio ... to set the
      // missing request to a value that complies with the ratio."
      const other = r === 'cpu' ? s.req.memory : r === 'memory' ? s.req.cpu : undefined;
      if (defaultRatio && other !== undefined && !(r === 'cpu' ? s.lim.cpu : s.lim.memory)) {
        const fitted = fitRatio(r, value, other, defaultRatio);
        // GKE reports this as defaulted and adjusted ([config-sync] models it as a default followed
        // by the ratio fix, which warns both ways).
        if (fitted) { value = fitted.value; reason = `unspecified; ${fitted.why}`; out.adjusted.add(s.c.name); }
      }
      s.req[r] = value;
      const list = out.defaulted.get(s.c.name) ?? [];
      list.push(r);
      out.defaulted.set(s.c.name, list);
      out.adjustments.push({ container: s.c.name, field: 'requests', resource: r, to: formatQuantity(value), reason });
    }
  }

  // ---- pod totals: minimums, ratio, 250m steps; the difference goes to the first container
  const first = slots.find((s) => !s.init);
  if (first) {
    const t = totals(slots);
    const raise = (r: ResourceName, target: Quantity, reason: string) => {
      if (compareQuantity(t[r], target) >= 0) return;
      const diff: Quantity = { nano: target.nano - t[r].nano, format: FORMAT[r] };
      const before = first.req[r];
      first.req[r] = addQuantity(before, diff);
      t[r] = target;
      out.adjusted.add(first.c.name);
      out.adjustments.push({ container: first.c.name, field: 'requests', resource: r, from: before && formatQuantity(before), to: formatQuantity(first.req[r]!), reason });
    };
    const min = minimums(ctx);
    const cls = ctx.daemonSet ? 'DaemonSet' : placement.gpu?.range ? `${placement.gpu.count} x ${placement.gpu.type}`
      : ctx.separation && placement.billing === 'pod' ? `${placement.computeClass} (${ctx.separation})` : placement.computeClass;
    raise('cpu', cpuFromMilli(min.cpu), `pod total cpu ${formatQuantity(t.cpu)} is below the ${cls} minimum ${formatQuantity(cpuFromMilli(min.cpu))}; the difference goes to the first container`);
    raise('memory', bytesQuantity(min.memory), `pod total memory ${formatQuantity(t.memory)} is below the ${cls} minimum ${formatQuantity(bytesQuantity(min.memory))}; the difference goes to the first container`);
    raise('ephemeral-storage', bytesQuantity(EPHEMERAL.min), `pod total ephemeral-storage ${formatQuantity(t['ephemeral-storage'])} is below the minimum ${formatQuantity(bytesQuantity(EPHEMERAL.min))}`);

    const ratio = placement.gpu ? undefined : rules.ratio;
    const ratioFloor = () => {
      if (!ratio) return;
      const needMi = memoryMiForRatio(milliOf(t.cpu), ratio.min);
      raise('memory', bytesQuantity(BigInt(needMi) * BigInt(MiB)), `memory must be at least ${ratio.min} GiB per vCPU for ${placement.computeClass} (${formatQuantity(t.cpu)} CPU needs ${needMi}Mi)`);
    };
    if (ratio) {
      const before = t.memory.nano;
      ratioFloor();
      if (t.memory.nano === before) {
        const memBytes = Number(t.memory.nano) / 1e9;
        const needMilli = Math.ceil(memBytes * 1000 / (GiB * ratio.max) - 1e-9);
        raise('cpu', cpuFromMilli(needMilli), `memory may be at most ${ratio.max} GiB per vCPU for ${placement.computeClass} (${formatQuantity(t.memory)} needs ${formatQuantity(cpuFromMilli(needMilli))} CPU)`);
      }
    }
    const steps = !settings.bursting && !placement.gpu && (ctx.daemonSet ? DAEMONSET.cpuIncrements : rules.cpuIncrements);
    if (steps) {
      const stepped = Math.ceil(milliOf(t.cpu) / CPU_INCREMENT - 1e-9) * CPU_INCREMENT;
      raise('cpu', cpuFromMilli(stepped), `without bursting, pod CPU is rounded up to a multiple of ${formatQuantity(cpuFromMilli(CPU_INCREMENT))}`);
      ratioFloor();
    }
    out.totals = t;
  }

  // ---- limits
  for (const s of slots) {
    for (const r of RESOURCES) {
      const req = s.req[r];
      if (req === undefined) continue;
      const lim = s.lim[r];
      const set = settings.bursting
        ? (lim !== undefined && compareQuantity(lim, req) < 0) || (lim === undefined && r === 'ephemeral-storage')
        : lim === undefined || compareQuantity(lim, req) !== 0;
      if (!set) continue;
      s.lim[r] = req;
      if (lim === undefined) out.filledLimits.add(s.c.name);
      else out.adjusted.add(s.c.name);
      out.adjustments.push({
        container: s.c.name, field: 'limits', resource: r, from: lim && formatQuantity(lim), to: formatQuantity(req),
        reason: settings.bursting ? (lim === undefined ? 'ephemeral-storage limit set to the request' : 'limit raised to the adjusted request')
          : `container '${s.c.name}' does not have resource==limits which is required in Autopilot clusters`,
      });
    }
  }

  checkMaxima(out, placement, settings);
  if (hasRequiredAntiAffinity(spec) && milliOf(out.totals.cpu) < ANTI_AFFINITY_MIN_CPU) {
    out.denials.push({ constraint: CONSTRAINTS.podLimits, message: MSG.antiAffinityCpu(ctx.workloadName, formatQuantity(out.totals.cpu), formatQuantity(cpuFromMilli(ANTI_AFFINITY_MIN_CPU))) });
  }
  writeSlots(slots);
  return out;
}

/** Parses every container's requests and limits; a value the API server would refuse is a denial. */
function readSlots(spec: PodSpec, fieldPrefix: string, denials: Denial[]): Slot[] {
  const slots: Slot[] = [];
  const read = (c: Container, init: boolean, index: number) => {
    const slot: Slot = { c, init, sidecar: init && c.restartPolicy === 'Always', req: {}, lim: {} };
    for (const field of ['requests', 'limits'] as const) {
      const list = c.resources?.[field];
      if (!list || typeof list !== 'object') continue;
      for (const [key, raw] of Object.entries(list)) {
        try {
          (field === 'requests' ? slot.req : slot.lim)[key] = parseQuantity(raw as string | number);
        } catch (err) {
          if (!(err instanceof QuantityError)) throw err;
          const where = `${fieldPrefix}.${init ? 'initContainers' : 'containers'}[${index}].resources.${field}[${key}]`;
          denials.push({ constraint: 'api-server-validation', message: `${where}: Invalid value: ${JSON.stringify(String(raw))}: ${err.message.replace(/ \(.*\)$/, '')}` });
        }
      }
    }
    slots.push(slot);
  };
  (spec.initContainers ?? []).forEach((c, i) => read(c, true, i));
  spec.containers.forEach((c, i) => read(c, false, i));
  return slots;
}

/** Writes every parsed value back in canonical form; keeps `resources` absent where nothing was set. */
function writeSlots(slots: Slot[]): void {
  for (const s of slots) {
    for (const field of ['requests', 'limits'] as const) {
      const values = field === 'requests' ? s.req : s.lim;
      const keys = Object.keys(values);
      if (!keys.length) continue;
      s.c.resources ??= {};
      const list = (s.c.resources[field] ??= {});
      for (const k of keys) list[k] = formatQuantity(values[k]!);
    }
  }
}

/**
 * What the pod asks the scheduler (and Autopilot's bill) for: the larger of the running total
 * and any one init container with the native sidecars started before it (Kubernetes' rule).
 */
export function effectiveRequests(spec: PodSpec): Record<ResourceName, Quantity> {
  const slots = readSlots(spec, '', []);
  const t = totals(slots);
  const sidecars: Record<ResourceName, bigint> = { cpu: 0n, memory: 0n, 'ephemeral-storage': 0n };
  for (const s of slots) {
    if (!s.init) continue;
    for (const r of RESOURCES) {
      const own = s.req[r]?.nano ?? 0n;
      if (s.sidecar) sidecars[r] += own;
      else if (own + sidecars[r] > t[r].nano) t[r] = { nano: own + sidecars[r], format: FORMAT[r] };
    }
  }
  return t;
}

function totals(slots: Slot[]): Record<ResourceName, Quantity> {
  const t: Record<ResourceName, Quantity> = { cpu: ZERO, memory: ZERO, 'ephemeral-storage': ZERO };
  for (const s of slots) {
    if (s.init && !s.sidecar) continue;
    for (const r of RESOURCES) if (s.req[r]) t[r] = { nano: t[r].nano + s.req[r]!.nano, format: FORMAT[r] };
  }
  return t;
}

function minimums(ctx: ResourceContext): CpuMemory {
  const { placement, settings } = ctx;
  if (ctx.daemonSet) return DAEMONSET.min;
  if (placement.gpu?.range) return { cpu: placement.gpu.range.cpu[0], memory: placement.gpu.range.memory[0] };
  const min = settings.bursting ? placement.rules.min.bursting : placement.rules.min.noBursting;
  if (!ctx.separation || placement.billing !== 'pod') return min;
  return { cpu: Math.max(min.cpu, SEPARATION_MIN.cpu), memory: Math.max(min.memory, SEPARATION_MIN.memory) };
}

/**
 * The default for an unset CPU (or memory) brought inside the class's GiB-per-vCPU ratio given
 * the memory (or CPU) that was set; undefined when the default already fits.
 */
function fitRatio(r: ResourceName, value: Quantity, other: Quantity, ratio: { min: number; max: number }): { value: Quantity; why: string } | undefined {
  if (r === 'cpu') {
    const memGiB = Number(other.nano) / 1e9 / GiB;
    // memory / cpu must lie in [min, max] GiB per vCPU: cpu in [mem / max, mem / min].
    const lo = Math.ceil((memGiB / ratio.max) * 1000 - 1e-9);
    const hi = Math.floor((memGiB / ratio.min) * 1000 + 1e-9);
    const cur = milliOf(value);
    const to = cur < lo ? lo : cur > hi ? Math.max(hi, 1) : undefined;
    if (to === undefined) return undefined;
    return { value: cpuFromMilli(to), why: `the default ${formatQuantity(value)} brought inside the 1:${ratio.min}..1:${ratio.max} CPU:memory ratio for the ${formatQuantity(other)} memory that was set` };
  }
  if (r !== 'memory') return undefined;
  const cpuMilli = milliOf(other);
  const loMi = memoryMiForRatio(cpuMilli, ratio.min);
  const hiMi = Math.floor(cpuMilli * 1.024 * ratio.max);
  const curMi = Number(value.nano) / 1e9 / MiB;
  const toMi = curMi < loMi ? loMi : curMi > hiMi ? hiMi : undefined;
  if (toMi === undefined) return undefined;
  return { value: bytesQuantity(BigInt(toMi) * BigInt(MiB)), why: `the default ${formatQuantity(value)} brought inside the 1:${ratio.min}..1:${ratio.max} CPU:memory ratio for the ${formatQuantity(other)} CPU that was set` };
}

/** The largest pod the class (or GPU shape, or machine family) admits. */
export function maximums(placement: PodPlacement): CpuMemory | undefined {
  if (placement.gpu) return placement.gpu.range ? { cpu: placement.gpu.range.cpu[1], memory: placement.gpu.range.memory[1] } : undefined;
  if (placement.computeClass === 'Performance') {
    const family = placement.machineFamily ? MACHINES[placement.machineFamily] : undefined;
    if (!family) return undefined;
    const biggest = family.shapes.reduce((a, b) => (b.vcpu > a.vcpu ? b : a));
    return { cpu: biggest.vcpu * 1000, memory: biggest.memoryGiB * GiB };
  }
  const max = placement.rules.max;
  return max && (placement.arch === 'arm64' ? max.arm ?? max.x86 : max.x86);
}

function checkMaxima(out: ResourceOutcome, placement: PodPlacement, settings: ResolvedSettings): void {
  const max = maximums(placement);
  const t = out.totals;
  if (max) {
    if (milliOf(t.cpu) > max.cpu) out.denials.push({ constraint: CONSTRAINTS.podLimits, message: MSG.totalAboveMax('cpu', formatQuantity(cpuFromMilli(max.cpu))) });
    if (Number(t.memory.nano) / 1e9 > max.memory) out.denials.push({ constraint: CONSTRAINTS.podLimits, message: MSG.totalAboveMax('memory', formatQuantity(bytesQuantity(max.memory))) });
  }
  const eph = ephemeralMaximum(placement, settings);
  if (Number(t['ephemeral-storage'].nano) / 1e9 > eph.bytes) {
    out.denials.push({ constraint: CONSTRAINTS.podLimits, message: MSG.totalAboveMax('ephemeral-storage', formatQuantity(bytesQuantity(eph.bytes)), eph.of) });
  }
}

/**
 * The largest pod-total ephemeral storage: 10Gi everywhere on old clusters; then the local-SSD
 * capacity of a GPU shape that has it (named `<type>-<count>` in the denial, as GKE does), else the
 * class's maximum (56Ti for Performance and Accelerator).
 */
export function ephemeralMaximum(placement: PodPlacement, settings: Pick<ResolvedSettings, 'largeEphemeral'>): { bytes: number; of?: string } {
  if (!settings.largeEphemeral) return { bytes: EPHEMERAL.max };
  const gpu = placement.gpu;
  if (gpu?.range?.ephemeralMax !== undefined) return { bytes: gpu.range.ephemeralMax, of: `${gpu.type}-${gpu.count}` };
  return { bytes: placement.gpu && placement.computeClass !== 'Accelerator' ? EPHEMERAL.max : placement.rules.ephemeralMax };
}

function validateCronJob(slots: Slot[], denials: Denial[]): void {
  for (const s of slots) {
    const missing = (['cpu', 'memory'] as const).some((r) => s.req[r] === undefined || s.lim[r] === undefined);
    if (missing) denials.push({ constraint: CONSTRAINTS.podLimits, message: MSG.cronJobMissing(s.c.name) });
    else if ((['cpu', 'memory'] as const).some((r) => compareQuantity(s.req[r]!, s.lim[r]!) !== 0)) {
      denials.push({ constraint: CONSTRAINTS.podLimits, message: MSG.cronJobNotEqual(s.c.name) });
    }
  }
}

/** Only required terms count: preferred anti-affinity is admitted at any CPU (see ANTI_AFFINITY_MIN_CPU). */
function hasRequiredAntiAffinity(spec: PodSpec): boolean {
  return (spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.length ?? 0) > 0;
}

/** Exact millicores as a number (may be fractional below a millicore). */
function milliOf(q: Quantity): number {
  return Number(q.nano) / 1e6;
}
