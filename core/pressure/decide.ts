/**
 * The pure half of the resource-pressure watcher: from one set of readings, the thresholds and
 * what was already announced, which pressures start and which end. Nothing here reads the
 * machine or logs, so every rule (thresholds, saying it once, clearing, coming back) is testable
 * with plain numbers.
 */
import type { ResourcePressureConfig } from '../devfile/types.js';
import { parseDurationMs } from '../time.js';

/** What a watched filesystem holds; a tap frees only what lives on the full disk. */
export type DiskRole = 'devloop' | 'docker';

export interface MemoryReading { availableBytes: number; totalBytes: number }
export interface DiskReading { usedBytes: number; totalBytes: number }

/** One filesystem: the first path watched on it names it in messages. */
export interface DiskTarget { path: string; holds: DiskRole[] }

export interface Readings {
  /** Absent when memory could not be read this time: the state is kept as it was. */
  memory?: MemoryReading;
  disks: Array<DiskTarget & { reading: DiskReading }>;
}

export interface PressureSettings {
  enabled: boolean;
  /** Fractions (0.15 for `'15%'`). */
  memoryAvailableBelow: number;
  diskUsedAbove: number;
  intervalMs: number;
  keepImages: number;
}

export const PRESSURE_DEFAULTS: PressureSettings = {
  enabled: true, memoryAvailableBelow: 0.15, diskUsedAbove: 0.9, intervalMs: 5_000, keepImages: 3,
};

/**
 * A pressure ends only this far (2 points) on the safe side of its threshold: freeing memory
 * lifts the reading just past the line, and without the margin a reading hovering there would
 * announce (and act) on every other tick.
 */
export const HYSTERESIS = 0.02;

/** Which pressures are on: the memory one, and one per disk (keyed by its path). */
export interface PressureState {
  memory: boolean;
  disks: Record<string, boolean>;
}

export const NO_PRESSURE: PressureState = { memory: false, disks: {} };

export type PressureEvent =
  | { kind: 'memory'; change: 'enter' | 'clear'; reason: string; reading: MemoryReading }
  | { kind: 'disk'; change: 'enter' | 'clear'; reason: string; reading: DiskReading; path: string; holds: DiskRole[] };

/** Readings + thresholds + what was on before -> what is on now, and the changes to act on and say. */
export function decide(readings: Readings, settings: Pick<PressureSettings, 'memoryAvailableBelow' | 'diskUsedAbove'>, previous: PressureState): { state: PressureState; events: PressureEvent[] } {
  const state: PressureState = { memory: previous.memory, disks: { ...previous.disks } };
  const events: PressureEvent[] = [];
  const mem = readings.memory;
  if (mem && mem.totalBytes > 0) {
    const available = mem.availableBytes / mem.totalBytes;
    const limit = settings.memoryAvailableBelow;
    if (!previous.memory && available < limit) {
      state.memory = true;
      events.push({ kind: 'memory', change: 'enter', reading: mem, reason: `memory pressure (available ${percent(available, 'down', limit)} < ${percent(limit)})` });
    } else if (previous.memory && available >= limit + HYSTERESIS) {
      state.memory = false;
      events.push({ kind: 'memory', change: 'clear', reading: mem, reason: `memory pressure cleared (available ${percent(available, 'down', limit)} >= ${percent(limit + HYSTERESIS)})` });
    }
  }
  for (const disk of readings.disks) {
    if (disk.reading.totalBytes <= 0) continue;
    const used = disk.reading.usedBytes / disk.reading.totalBytes;
    const limit = settings.diskUsedAbove;
    const was = previous.disks[disk.path] ?? false;
    const where = `on ${disk.path}, holding ${describeHolds(disk.holds)}`;
    if (!was && used > limit) {
      state.disks[disk.path] = true;
      events.push({ kind: 'disk', change: 'enter', reading: disk.reading, path: disk.path, holds: disk.holds, reason: `disk pressure (used ${percent(used, 'up', limit)} > ${percent(limit)} ${where})` });
    } else if (was && used <= limit - HYSTERESIS) {
      state.disks[disk.path] = false;
      events.push({ kind: 'disk', change: 'clear', reading: disk.reading, path: disk.path, holds: disk.holds, reason: `disk pressure cleared (used ${percent(used, 'up', limit)} <= ${percent(limit - HYSTERESIS)} ${where})` });
    }
  }
  return { state, events };
}

function describeHolds(holds: DiskRole[]): string {
  const names = holds.map((h) => (h === 'devloop' ? '.devloop/' : "Docker's data"));
  return names.length ? names.join(' and ') : 'nothing devloop watches';
}

/**
 * A fraction as a percent for messages. A reading is rounded towards the side it is on, so a
 * message never reads "available 15% < 15%"; whole percents unless the threshold has a decimal.
 */
export function percent(fraction: number, round?: 'up' | 'down', threshold?: number): string {
  const decimals = threshold !== undefined && !isWhole(threshold * 100) ? 1 : isWhole(fraction * 100) || round ? 0 : 1;
  const scale = 10 ** decimals;
  const value = fraction * 100 * scale;
  const rounded = round === 'up' ? Math.ceil(value - 1e-9) : round === 'down' ? Math.floor(value + 1e-9) : Math.round(value);
  return `${rounded / scale}%`;
}

function isWhole(n: number): boolean {
  return Math.abs(n - Math.round(n)) < 1e-9;
}

/** The Devfile's `resourcePressure` block with defaults filled in. The schema has checked the shapes. */
export function pressureSettings(config: ResourcePressureConfig | undefined): PressureSettings {
  const c = config ?? {};
  return {
    enabled: c.enabled ?? PRESSURE_DEFAULTS.enabled,
    memoryAvailableBelow: c.memoryAvailableBelow === undefined ? PRESSURE_DEFAULTS.memoryAvailableBelow : parsePercent(c.memoryAvailableBelow, 'resourcePressure.memoryAvailableBelow'),
    diskUsedAbove: c.diskUsedAbove === undefined ? PRESSURE_DEFAULTS.diskUsedAbove : parsePercent(c.diskUsedAbove, 'resourcePressure.diskUsedAbove'),
    intervalMs: c.interval === undefined ? PRESSURE_DEFAULTS.intervalMs : parseInterval(c.interval),
    keepImages: c.keepImages ?? PRESSURE_DEFAULTS.keepImages,
  };
}

/** `'15%'` or 15 -> 0.15. */
export function parsePercent(value: string | number, field: string): number {
  const n = typeof value === 'number' ? value : /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value)?.[1];
  const pct = Number(n);
  if (n === undefined || !Number.isFinite(pct) || pct < 0 || pct > 100) {
    throw new Error(`${field}: expected a percent like "15%" (0 to 100), got ${JSON.stringify(value)}`);
  }
  return pct / 100;
}

/** `'5s'`, `'500ms'`, `'1m'`, or a number of ms. */
function parseInterval(value: string | number): number {
  if (typeof value === 'number') return value;
  const ms = parseDurationMs(value);
  if (ms === undefined) throw new Error(`resourcePressure.interval: expected a duration like "5s" or "500ms", got ${JSON.stringify(value)}`);
  return ms;
}
