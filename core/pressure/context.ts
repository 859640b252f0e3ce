/** What taps of the `pressure` hook receive. */
import type { BaseContext } from '../engine/contexts.js';
import type { DiskReading, DiskRole, MemoryReading } from './decide.js';

interface PressureContextBase extends BaseContext {
  /** Why, ready to start a message: `memory pressure (available 12% < 15%)`. */
  reason: string;
  /** Under disk pressure, the newest devloop images kept per service (`resourcePressure.keepImages`). */
  keepImages: number;
  /**
   * Says what the tap freed, e.g. `retired 3 idle instances of web`. The watcher logs each report
   * once, after the reason; a tap that freed nothing reports nothing.
   */
  report(what: string): void;
  /** Fires when the engine stops. */
  signal: AbortSignal;
}

export interface MemoryPressureContext extends PressureContextBase {
  kind: 'memory';
  reading: MemoryReading;
}

export interface DiskPressureContext extends PressureContextBase {
  kind: 'disk';
  reading: DiskReading;
  /** The full filesystem (the first watched path on it). */
  path: string;
  /** What lives on it: free only what does (pruning images does not help a full `.devloop/`). */
  holds: DiskRole[];
}

export type PressureContext = MemoryPressureContext | DiskPressureContext;
