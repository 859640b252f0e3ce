/** Colours and glyphs, in one place so every component agrees on what "failed" looks like. */
import type { HealthState, LogLine, Phase } from '../../core/store/state.js';

/** Ink colour names (chalk). */
export type Colour = 'red' | 'green' | 'yellow' | 'blue' | 'magenta' | 'cyan' | 'gray' | 'white' | 'redBright' | 'greenBright' | 'yellowBright' | 'cyanBright' | 'magentaBright' | 'blueBright';

export const BUSY_PHASES: ReadonlySet<Phase> = new Set(['building', 'pushing', 'deploying', 'starting']);

export const PHASE_COLOUR: Record<Phase, Colour | undefined> = {
  pending: 'gray',
  queued: 'gray',
  building: 'yellow',
  pushing: 'yellow',
  deploying: 'cyan',
  starting: 'cyan',
  healthy: 'green',
  unhealthy: 'red',
  failed: 'red',
  stopped: 'gray',
};

export const PHASE_GLYPH: Partial<Record<Phase, string>> = {
  pending: '○', queued: '◌', healthy: '●', unhealthy: '▲', failed: '✖', stopped: '■',
};

export const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** One spinner step; also how often a busy HUD repaints when nothing else changes (frames cost CPU). */
export const SPINNER_MS = 150;

export function phaseGlyph(phase: Phase, now: number): string {
  if (BUSY_PHASES.has(phase)) return SPINNER[Math.floor(now / SPINNER_MS) % SPINNER.length];
  return PHASE_GLYPH[phase] ?? '·';
}

export const HEALTH: Record<HealthState, { text: string; colour?: Colour }> = {
  healthy: { text: '✔ ok', colour: 'green' },
  unhealthy: { text: '✖ failing', colour: 'red' },
  unknown: { text: '–' },
};

export const LEVEL_COLOUR: Record<LogLine['level'], Colour | undefined> = {
  error: 'red', warn: 'yellow', info: 'blue', output: undefined,
};

const PALETTE: Colour[] = ['cyan', 'magenta', 'yellow', 'blue', 'green', 'redBright', 'cyanBright', 'magentaBright'];

/** A stable colour per service name, so a service keeps its colour across reloads and views. */
export function serviceColour(name: string): Colour {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return PALETTE[h % PALETTE.length];
}
