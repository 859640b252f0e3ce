/**
 * Kubernetes resource quantities, parsed and printed the way the API server does
 * (k8s.io/apimachinery/pkg/api/resource/quantity.go), so a mutated manifest reads exactly like
 * the object `kubectl get -o yaml` returns after Autopilot rewrote it.
 *
 * Values are kept as an exact count of nano-units in a bigint: the API server keeps nano
 * precision (it rounds finer input up) and GPU-node memory (1,795Gi) times 10^9 is past 2^53.
 */

export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

export interface Quantity {
  /** The value in units of 10^-9 (nanocores for CPU, nanobytes for memory). */
  readonly nano: bigint;
  /** How the API server prints it; taken from the suffix the value was written with. */
  readonly format: QuantityFormat;
}

export class QuantityError extends Error {
  constructor(readonly input: string, reason: string) {
    super(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$' (${JSON.stringify(input)}: ${reason})`);
    this.name = 'QuantityError';
  }
}

const NANO = 1_000_000_000n;
const BINARY: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, '': 0, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const DECIMAL_SUFFIX: Record<number, string> = Object.fromEntries(Object.entries(DECIMAL).map(([s, e]) => [e, s]));
const BINARY_SUFFIX = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];
const PATTERN = /^([+-]?)(\d*)(?:\.(\d*))?(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/;

const pow10 = (n: number): bigint => 10n ** BigInt(n);
const ceilDiv = (a: bigint, b: bigint): bigint => (a >= 0n ? (a + b - 1n) / b : a / b);

/** Parses `500m`, `1.5Gi`, `2e3`, `128974848`, or a YAML number. Finer than nano rounds up, as the API server does. */
export function parseQuantity(input: string | number): Quantity {
  const text = typeof input === 'number' ? numberText(input) : input.trim();
  const m = PATTERN.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new QuantityError(String(input), 'not a number with an optional suffix');
  const [, sign, whole, frac = '', suffix, exponent] = m;
  const mantissa = BigInt(`${whole}${frac}` || '0') * (sign === '-' ? -1n : 1n);
  let nano: bigint;
  let format: QuantityFormat;
  if (suffix !== undefined && suffix in BINARY) {
    format = 'BinarySI';
    nano = ceilDiv(mantissa * 1024n ** BigInt(BINARY[suffix]) * NANO, pow10(frac.length));
  } else {
    format = exponent !== undefined ? 'DecimalExponent' : 'DecimalSI';
    const exp = exponent !== undefined ? Number(exponent) : DECIMAL[suffix ?? ''];
    const shift = exp + 9 - frac.length;
    nano = shift >= 0 ? mantissa * pow10(shift) : ceilDiv(mantissa, pow10(-shift));
  }
  return { nano, format };
}

/** A YAML number as the text a user meant (`1e3`, not `1000`; `0.5`). */
function numberText(n: number): string {
  if (!Number.isFinite(n)) throw new QuantityError(String(n), 'not a finite number');
  return String(n).replace('e+', 'e');
}

/** The API server's canonical text (`Quantity.String()`): `1000m` prints `1`, `2048Mi` prints `2Gi`. */
export function formatQuantity(q: Quantity): string {
  if (q.nano === 0n) return '0';
  let format = q.format;
  if (format === 'BinarySI') {
    // Small or fractional byte counts would need rounding in base 1024; the API server falls back to decimal.
    const small = q.nano > -1024n * NANO && q.nano < 1024n * NANO;
    if (small || q.nano % NANO !== 0n) format = 'DecimalSI';
  }
  if (format === 'BinarySI') {
    let amount = q.nano / NANO;
    let power = 0;
    while (power < BINARY_SUFFIX.length - 1 && amount % 1024n === 0n) { amount /= 1024n; power++; }
    return `${amount}${BINARY_SUFFIX[power]}`;
  }
  let amount = q.nano;
  let exp = -9;
  while (amount % 10n === 0n) { amount /= 10n; exp++; }
  // Go's `%` keeps the sign of the dividend, and so does JavaScript's: the same cases apply.
  switch (exp % 3) {
    case 1: case -2: amount *= 10n; exp -= 1; break;
    case 2: case -1: amount *= 100n; exp -= 2; break;
  }
  if (format === 'DecimalExponent') return exp === 0 ? `${amount}` : `${amount}e${exp}`;
  const suffix = DECIMAL_SUFFIX[exp];
  return suffix === undefined ? `${amount}e${exp}` : `${amount}${suffix}`;
}

/** `a + b` keeping `a`'s format unless `a` is zero or absent (`Quantity.Add`). */
export function addQuantity(a: Quantity | undefined, b: Quantity): Quantity {
  if (!a || a.nano === 0n) return { nano: (a?.nano ?? 0n) + b.nano, format: b.format };
  return { nano: a.nano + b.nano, format: a.format };
}

export function compareQuantity(a: Quantity, b: Quantity): number {
  return a.nano < b.nano ? -1 : a.nano > b.nano ? 1 : 0;
}

export const ZERO: Quantity = { nano: 0n, format: 'DecimalSI' };

export function cpuFromMilli(milli: number): Quantity {
  return { nano: BigInt(Math.ceil(milli)) * 1_000_000n, format: 'DecimalSI' };
}

export function bytesQuantity(bytes: number | bigint, format: QuantityFormat = 'BinarySI'): Quantity {
  return { nano: BigInt(bytes) * NANO, format };
}

/** Millicores, rounded up (CPU below a millicore still costs one). */
export function toMilli(q: Quantity): number {
  return Number(ceilDiv(q.nano, 1_000_000n));
}

/** Whole bytes, rounded up. */
export function toBytes(q: Quantity): number {
  return Number(ceilDiv(q.nano, NANO));
}

export function toNumber(q: Quantity): number {
  return Number(q.nano) / 1e9;
}

/** Canonical text of a raw value; throws `QuantityError` when it does not parse. */
export function canonical(input: string | number): string {
  return formatQuantity(parseQuantity(input));
}

export const GiB = 1024 ** 3;
export const MiB = 1024 ** 2;
