/** A pre-rendered line for panels that are built as text first and cut to fit afterwards. */
import type { Colour } from './theme.js';

export interface Line {
  text: string;
  colour?: Colour;
  dim?: boolean;
  bold?: boolean;
  /** Printed before `text`: dimmed, or in `labelColour`. */
  label?: string;
  labelColour?: Colour;
}

/** Splits a multi-line text into lines sharing one style. */
export function textLines(text: string, style: Omit<Line, 'text'> = {}, indent = ''): Line[] {
  return text.split('\n').map((t, i) => ({ ...style, text: `${indent}${t}`, label: i === 0 ? style.label : style.label ? ' '.repeat(style.label.length) : undefined }));
}
