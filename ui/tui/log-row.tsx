/** One log line: time, service (in the all-services view), message; filter matches highlighted. */
import { memo } from 'react';
import type { Segment } from './ansi.js';
import type { TuiLogLine } from './log-buffer.js';
import { stripAnsi } from './log-view.js';
import { clock, fit } from './format.js';
import { Line } from './line.js';
import { LEVEL_COLOUR, serviceColour } from './theme.js';

export interface LogRowProps {
  line: TuiLogLine;
  width: number;
  /** Width of the service column; 0 hides it (one service's view). */
  nameWidth: number;
  filter: string;
}

const MARK = { output: '│ ', info: '› ', warn: '▲ ', error: '✖ ' } as const;

function Row({ line, width, nameWidth, filter }: LogRowProps) {
  const segments: Segment[] = [{ text: `${clock(line.time)} `, dim: true }];
  if (nameWidth) segments.push({ text: `${fit(line.service ?? 'devloop', nameWidth)} `, colour: line.service ? serviceColour(line.service) : 'gray' });
  segments.push({ text: MARK[line.level], colour: LEVEL_COLOUR[line.level], dim: line.level === 'output' });
  const colour = line.level === 'warn' || line.level === 'error' ? LEVEL_COLOUR[line.level] : undefined;
  segments.push(...highlight(line.text, filter, colour));
  return <Line segments={segments} width={width} sig={`${line.seq}\u0000${nameWidth}\u0000${filter}`} />;
}

/** Inverts each match of the filter (smart case, like the filter itself). */
function highlight(text: string, filter: string, colour: Segment['colour']): Segment[] {
  if (!filter) return [{ text, colour }];
  // Matching positions in a line with colour codes would need mapping through them; such lines
  // are shown plain, with the matches marked.
  const plain = text.includes('\x1b') ? stripAnsi(text) : text;
  const sensitive = filter !== filter.toLowerCase();
  const hay = sensitive ? plain : plain.toLowerCase();
  const needle = sensitive ? filter : filter.toLowerCase();
  const out: Segment[] = [];
  let from = 0;
  for (let at = hay.indexOf(needle); at >= 0 && out.length < 80; at = hay.indexOf(needle, from)) {
    if (at > from) out.push({ text: plain.slice(from, at), colour });
    out.push({ text: plain.slice(at, at + needle.length), colour, inverse: true });
    from = at + needle.length;
  }
  if (!out.length) return [{ text, colour }];
  out.push({ text: plain.slice(from), colour });
  return out;
}

export const LogRow = memo(Row, (a, b) => a.line === b.line && a.width === b.width && a.nameWidth === b.nameWidth && a.filter === b.filter);
