/**
 * One service's row. Memoised on the row's rendered signature, not on the service object: the
 * reducer replaces a service's object on every log line it prints (its log tail), and a row
 * whose cells read the same must not re-render for that.
 */
import { memo } from 'react';
import type { Segment } from './ansi.js';
import type { RowModel } from './columns.js';
import { Line } from './line.js';

export interface ResourceRowProps {
  row: RowModel;
  width: number;
  selected: boolean;
  /** The table has the keyboard (not the logs): the marker is bright. */
  focused: boolean;
}

const GAP = '  ';

function Row({ row, width, selected, focused }: ResourceRowProps) {
  const last = row.cells.length - 1;
  const segments: Segment[] = [{ text: selected ? '▶ ' : '  ', colour: selected ? (focused ? 'cyan' : 'gray') : undefined, bold: selected }];
  row.cells.forEach((c, i) => segments.push({ ...c, bold: selected && i === 0, text: i === last ? c.text.trimEnd() : c.text + GAP }));
  return <Line segments={segments} width={width} sig={`${row.sig}${selected ? 's' : ''}${focused ? 'f' : ''}`} />;
}

export const ResourceRow = memo(Row, (a, b) => a.row.sig === b.row.sig && a.width === b.width && a.selected === b.selected && a.focused === b.focused);
