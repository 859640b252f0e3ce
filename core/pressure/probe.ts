/**
 * How the pressure watcher reads the machine. The watcher only ever goes through
 * `PressureProbe`, so a test hands it a low memory figure (or a full disk) through the very
 * interface the real readings come through.
 */
import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import type { DiskReading, MemoryReading } from './decide.js';

export interface PressureProbe {
  /** The machine's memory: what could be given to programs without swapping, and the total. */
  memory(): Promise<MemoryReading>;
  /** The filesystem holding `path`: bytes used and its size as an unprivileged user sees it (`df`). */
  disk(path: string): Promise<DiskReading>;
}

export const systemProbe: PressureProbe = {
  async memory() {
    try {
      return parseMeminfo(await readFile('/proc/meminfo', 'utf8'));
    } catch {
      // No /proc (macOS): os.freemem() undercounts reclaimable cache, so this errs towards pressure.
      return { availableBytes: os.freemem(), totalBytes: os.totalmem() };
    }
  },
  async disk(path) {
    const s = await statfs(path);
    // As df computes Use%: blocks reserved for root count neither as used nor as available.
    const used = (s.blocks - s.bfree) * s.bsize;
    return { usedBytes: used, totalBytes: used + s.bavail * s.bsize };
  },
};

/** MemAvailable and MemTotal of /proc/meminfo (kB) in bytes; kernels before 3.14 lack MemAvailable. */
export function parseMeminfo(text: string): MemoryReading {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const total = field('MemTotal');
  if (total === undefined) throw new Error('/proc/meminfo has no MemTotal');
  const available = field('MemAvailable') ?? (field('MemFree') ?? 0) + (field('Cached') ?? 0) + (field('Buffers') ?? 0);
  return { availableBytes: available, totalBytes: total };
}
