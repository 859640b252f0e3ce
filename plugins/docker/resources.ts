/**
 * `resources` as users write them, for Docker's limits. The same Devfile feeds Kubernetes and
 * Cloud Run, so Kubernetes quantities (`512Mi`, `1Gi`, `500m` CPU) must work, and so must
 * Docker's own (`512m`, `1g`).
 */
import { DevloopError } from '../../core/errors.js';

const BINARY: Record<string, number> = { ki: 2 ** 10, mi: 2 ** 20, gi: 2 ** 30, ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
// Docker's suffixes are binary whatever the case (`docker run -m 512m` is 512 MiB).
const DOCKER: Record<string, number> = { b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30, tb: 2 ** 40 };

/** Bytes, or throws a DevloopError naming the field. */
export function parseMemory(value: string | number, service: string): number {
  if (typeof value === 'number' && value > 0) return Math.floor(value);
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(String(value));
  const unit = m?.[2] ?? '';
  const factor = unitFactor(unit);
  if (!m || !factor) {
    throw new DevloopError(`services.${service}.resources.memory: cannot read "${value}" as an amount of memory`, {
      code: 'CONFIG_INVALID',
      service,
      hint: 'write it like "512Mi", "1Gi" or "256m"',
    });
  }
  return Math.floor(Number(m[1]) * factor);
}

function unitFactor(unit: string): number | undefined {
  if (unit === '') return 1;
  if (/^[kmgt]i$/i.test(unit)) return BINARY[unit.toLowerCase()];
  return DECIMAL[unit] ?? DOCKER[unit.toLowerCase()];
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
