/** What the TUI needs from the engine: the store to read, and the two controls its keys drive. */
import type { StateSource } from '../shared/source.js';

export interface TuiSource extends StateSource {
  /** `r`: rebuild now, with the files changed while in manual mode. */
  triggerManual(service: string): void;
  /** `t`: auto rebuilds on change; manual waits for `r`. */
  setTriggerMode(service: string, mode: 'auto' | 'manual'): void;
}

export interface TuiCallbacks {
  /** `q` / Ctrl-C: the caller stops the engine; the TUI shows "stopping…" until it has. */
  onQuit(): void;
  /** `q` / Ctrl-C again while stopping. Defaults to calling `onQuit` again. */
  onForceQuit?(): void;
  /** `d`: attach a debugger to the service. Without it, `d` says debugging is unavailable. */
  onDebug?(service: string): void;
}
