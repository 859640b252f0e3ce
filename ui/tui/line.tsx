/**
 * One pre-rendered row. Ink caches the measured size of every distinct string a <Text> ever
 * held, in module-level maps it never empties; fed log lines at 10,000 lines/s that is a leak of
 * about a megabyte every few seconds. So rows whose text keeps changing hand Ink a constant
 * one-character placeholder to measure and lay out, and swap in the real, already styled and
 * cut-to-width text through <Transform> when Ink writes the frame.
 */
import { Transform } from 'ink';
import { createContext, memo, useContext } from 'react';
import { cut, paint, type Segment } from './ansi.js';
import { stripAnsi } from './log-view.js';

/** Whether to emit colour codes: from the output stream (NO_COLOR, FORCE_COLOR, TERM=dumb). */
export const ColourContext = createContext(true);

export interface LineProps {
  segments: Segment[];
  width: number;
  /** Equal keys render identically (memo); omit to compare segments by content. */
  sig?: string;
}

export function renderLine(segments: Segment[], width: number, colour: boolean): string {
  let out = '';
  let left = width;
  for (const s of segments) {
    if (left <= 0) break;
    // Without colour, a program's own colour codes would print as garbage.
    const c = cut(colour ? s.text : stripAnsi(s.text), left);
    left -= c.width;
    out += paint({ ...s, text: c.text }, colour);
  }
  return out;
}

function LineView({ segments, width }: LineProps) {
  const colour = useContext(ColourContext);
  const text = renderLine(segments, width, colour);
  return <Transform transform={() => text}>{" "}</Transform>;
}

const signature = (p: LineProps) => p.sig ?? p.segments.map((s) => `${s.text}\u0000${s.colour ?? ''}${s.dim ? 1 : 0}${s.bold ? 1 : 0}${s.inverse ? 1 : 0}`).join('\u0001');

export const Line = memo(LineView, (a, b) => a.width === b.width && signature(a) === signature(b));
