/**
 * The TUI's own log memory. The store keeps only a short tail per service; the TUI wants more
 * scrollback, but a service printing 10,000 lines/s must not grow memory without bound, and one
 * chatty service must not push a quiet one's lines out of its own view. So there are two kinds
 * of ring, sharing line objects:
 * - one interleaved ring for the "all services" view, capped at `maxLines`;
 * - one ring per service; together they share `maxServiceLines`, each holding at most
 *   `maxLinesPerService` and at least `MIN_PER_SERVICE`.
 * Lines retained <= maxLines + max(maxServiceLines, MIN_PER_SERVICE x services), each at most
 * `MAX_LINE_CHARS` long.
 */
import type { LogLine } from '../../core/store/state.js';
import { keepSgr } from './ansi.js';
import { Ring, ServiceRings } from './ring.js';

export interface TuiLogLine {
  /** Position in the whole stream, increasing; a scrolled view anchors on it. */
  seq: number;
  time: number;
  service?: string;
  level: LogLine['level'];
  text: string;
}

export interface LogBufferOptions {
  maxLines?: number;
  maxLinesPerService?: number;
  maxServiceLines?: number;
}

export const MAX_LINE_CHARS = 2000;
const MIN_PER_SERVICE = 100;

export class LogBuffer {
  readonly all: Ring<TuiLogLine>;
  private readonly services: ServiceRings<TuiLogLine>;
  /** Lines ingested so far, after splitting multi-line messages. */
  seq = 0;

  constructor(options: LogBufferOptions = {}) {
    this.all = new Ring(options.maxLines ?? 5000);
    this.services = new ServiceRings(options.maxLinesPerService ?? 1000, options.maxServiceLines ?? 20_000, MIN_PER_SERVICE);
  }

  push(line: LogLine): void {
    const message = line.message.length > MAX_LINE_CHARS * 4 ? line.message.slice(0, MAX_LINE_CHARS * 4) : line.message;
    // A multi-line message becomes one entry per row, so windowing can count rows.
    for (const part of message.split('\n')) {
      const entry: TuiLogLine = { seq: this.seq++, time: line.time, service: line.service, level: line.level, text: cleanLine(part) };
      this.all.push(entry);
      if (line.service) this.services.of(line.service).push(entry);
    }
  }

  /** The service's own ring; undefined when it has logged nothing yet. */
  service(name: string): Ring<TuiLogLine> | undefined {
    return this.services.get(name);
  }

  /** Forgets a removed service's lines (they stay in the interleaved ring until pushed out). */
  drop(name: string): void {
    this.services.delete(name);
  }

  /** Distinct lines held, for tests and the bench. */
  retained(): number {
    const seen = new Set<number>();
    for (let i = 0; i < this.all.size; i++) seen.add(this.all.at(i).seq);
    for (const ring of this.services.values()) for (let i = 0; i < ring.size; i++) seen.add(ring.at(i).seq);
    return seen.size;
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1a\x1c-\x1f\x7f]/g;

/**
 * Makes a line safe to lay out in one row: a carriage return means the program redrew the line
 * (progress bars), so only the last frame counts; tabs would be measured as zero width; other
 * control bytes and escape sequences would move the cursor. Colour codes are kept.
 */
export function cleanLine(text: string): string {
  let t = text;
  if (t.includes('\r')) {
    const frames = t.split('\r').filter((f) => f.length > 0);
    t = frames.length ? frames[frames.length - 1] : '';
  }
  if (t.includes('\t')) t = t.replace(/\t/g, '    ');
  t = keepSgr(t.replace(CONTROL, ''));
  return t.length > MAX_LINE_CHARS ? `${t.slice(0, MAX_LINE_CHARS)}… (+${t.length - MAX_LINE_CHARS} chars)` : t;
}
