/**
 * `resources` as users write them, for Docker's limits. The same Devfile feeds Kubernetes and
 * Cloud Run, so Kubernetes quantities (`512Mi`, `1Gi`, `500m` CPU) must work, and so must
 * Docker's own (`512m`, `1g`); memory is read by `core/devfile/quantity.ts`, as the Devfile check
 * reads it. Also the pure part of `resources.autoRaise`: its cap and the next limit after an OOM kill.
 */
import { formatQuantity, memoryBytes } from '../../core/devfile/quantity.js';
import type { ResourcesConfig } from '../../core/devfile/types.js';
import { DevloopError } from '../../core/errors.js';

/** Bytes, or throws a DevloopError naming the field. */
export function parseMemory(value: string | number, service: string, field = 'memory'): number {
  const bytes = memoryBytes(value);
  if (bytes === undefined) {
    throw new DevloopError(`services.${service}.resources.${field}: cannot read "${value}" as an amount of memory`, {
      code: 'CONFIG_INVALID',
      service,
      hint: 'write it like "512Mi", "1Gi" or "256m"',
    });
  }
  return bytes;
}

/** NanoCPUs (1e9 = one CPU) from "0.5", "2" or "500m". */
export function parseCpu(value: string | number, service: string): number {
  const s = String(value).trim();
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(s);
  if (!m || Number(m[1]) <= 0) {
    throw new DevloopError(`services.${service}.resources.cpu: cannot read "${value}" as a number of CPUs`, {
      code: 'CONFIG_INVALID',
      service,
      hint: 'write it like "0.5", "2" or "500m" (millicores)',
    });
  }
  const cores = m[2] ? Number(m[1]) / 1000 : Number(m[1]);
  return Math.round(cores * 1e9);
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30 && n % 2 ** 30 === 0) return `${n / 2 ** 30} GiB`;
  if (n >= 2 ** 20) return `${+(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${+(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}

/** A suggested next limit for an OOM message: double, in the unit users write. */
export function suggestMemory(bytes: number): string {
  const next = bytes * 2;
  return next >= 2 ** 30 && next % 2 ** 30 === 0 ? `${next / 2 ** 30}Gi` : `${Math.ceil(next / 2 ** 20)}Mi`;
}

/** `resources.autoRaise: true`: the cap is 4x the limit ... */
export const AUTO_RAISE_FACTOR = 4;
/** ... but at most 2 GiB (a limit already above it is not raised at all). */
export const AUTO_RAISE_DEFAULT_MAX = 2 ** 30 * 2;
/** `resources.autoRaise.step` when not given: the limit doubles. */
export const AUTO_RAISE_STEP = 2;

/** `resources.autoRaise` resolved against the Devfile's limit, in bytes. */
export interface AutoRaisePlan {
  /** The Devfile's `resources.memory`. */
  limit: number;
  /** The highest limit autoRaise may set (never below `limit`). */
  cap: number;
  /** Factor applied per OOM kill. */
  step: number;
}

/**
 * The plan for a service's `resources`, or undefined when autoRaise is not asked for (or there is
 * no memory limit to raise). Throws a DevloopError naming the field for an unreadable quantity;
 * the Devfile check reports those first, this is for configs made in code.
 */
export function autoRaisePlan(resources: ResourcesConfig | undefined, service: string): AutoRaisePlan | undefined {
  const raise = resources?.autoRaise;
  if (!raise || resources?.memory === undefined) return undefined;
  const limit = parseMemory(resources.memory, service);
  const step = raise === true || raise.step === undefined ? AUTO_RAISE_STEP : raise.step;
  const max = raise !== true && raise.max !== undefined
    ? parseMemory(raise.max, service, 'autoRaise.max')
    : Math.min(limit * AUTO_RAISE_FACTOR, AUTO_RAISE_DEFAULT_MAX);
  return { limit, cap: Math.max(limit, max), step: step > 1 ? step : AUTO_RAISE_STEP };
}

/**
 * The limit after an OOM kill at `current`: `current x step`, rounded up to a whole MiB, at most
 * `cap`; undefined when `current` is already at (or above) the cap.
 */
export function nextMemoryLimit(current: number, plan: Pick<AutoRaisePlan, 'cap' | 'step'>): number | undefined {
  if (current >= plan.cap) return undefined;
  const stepped = Math.ceil((current * plan.step) / 2 ** 20) * 2 ** 20;
  return Math.min(Math.max(stepped, current + 1), plan.cap);
}

/**
 * Why `resources.autoRaise` does not apply to this run, or undefined when it does: it is a dev
 * convenience, for `devloop up` (and the commands built on it) in the default `local`
 * environment. `devloop ci` and other environments must see the real limit fail.
 */
export function autoRaiseOff(ctx: { mode: string; command?: string }): string | undefined {
  if (ctx.command === 'ci') return 'under `devloop ci`';
  if (ctx.mode !== 'local') return `for --env ${ctx.mode} (it applies to \`devloop up\` in the local environment only)`;
  return undefined;
}

export { formatQuantity };
