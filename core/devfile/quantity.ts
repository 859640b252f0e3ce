/**
 * Memory quantities as a Devfile's `resources.memory` (and `resources.autoRaise.max`) are written.
 * The same Devfile feeds Kubernetes and Cloud Run, so Kubernetes quantities (`512Mi`, `1Gi`,
 * `500M`) must work, and so must Docker's own (`512m`, `1g`: binary whatever the case, as
 * `docker run -m 512m` is 512 MiB). One reader for the schema and for the Docker runtime, so a
 * value the Devfile check accepts is the value the container gets.
 */

const BINARY: Record<string, number> = { ki: 2 ** 10, mi: 2 ** 20, gi: 2 ** 30, ti: 2 ** 40 };
const DECIMAL: Record<string, number> = { K: 1e3, M: 1e6, G: 1e9, T: 1e12 };
const DOCKER: Record<string, number> = { b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30, tb: 2 ** 40 };

/** Bytes (a whole, positive number), or undefined when the value is not an amount of memory. */
export function memoryBytes(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 1 ? Math.floor(value) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  if (!m) return undefined;
  const factor = unitFactor(m[2]);
  if (!factor) return undefined;
  const bytes = Math.floor(Number(m[1]) * factor);
  return bytes >= 1 ? bytes : undefined;
}

function unitFactor(unit: string): number | undefined {
  if (unit === '') return 1;
  if (/^[kmgt]i$/i.test(unit)) return BINARY[unit.toLowerCase()];
  return DECIMAL[unit] ?? DOCKER[unit.toLowerCase()];
}

/** Bytes in the unit Devfile authors write: `64Mi`, `1Gi`, `1.5Gi`, `97.5Mi`. */
export function formatQuantity(bytes: number): string {
  if (bytes >= 2 ** 30 && (bytes / 2 ** 30) * 10 === Math.round((bytes / 2 ** 30) * 10)) return `${bytes / 2 ** 30}Gi`;
  if (bytes >= 2 ** 20) return `${+(bytes / 2 ** 20).toFixed(1)}Mi`;
  if (bytes >= 2 ** 10) return `${+(bytes / 2 ** 10).toFixed(1)}Ki`;
  return String(bytes);
}
