/**
 * The resource list. Only the rows that fit are rendered; the window follows the selection
 * without jumping (it moves only when the selection would leave it).
 */
import { Box, Text } from 'ink';
import { useRef } from 'react';
import type { EngineState } from '../../core/store/state.js';
import { fit } from './format.js';
import { GAP, rowModel, type Layout } from './columns.js';
import { ResourceRow } from './resource-row.js';

export interface ResourceTableProps {
  state: EngineState;
  layout: Layout;
  width: number;
  height: number;
  /** First visible service, from `useWindow`. */
  start: number;
  selected?: string;
  focused: boolean;
  now: number;
}

export function ResourceTable({ state, layout, width, height, start, selected, focused, now }: ResourceTableProps) {
  const rows = Math.max(0, height - 1);
  if (height <= 0) return null;
  const names = state.order.slice(start, start + rows);
  const header = layout.columns.map((c, i) => fit(c.header, layout.widths[i], c.align)).join(' '.repeat(GAP)).trimEnd();
  return (
    <Box flexDirection="column" height={height}>
      <Text wrap="truncate-end" dimColor bold>{`  ${header}`}</Text>
      {state.order.length === 0 ? <Text dimColor>  no services yet: loading the Devfile…</Text> : null}
      {names.map((name) => {
        const s = state.services[name];
        return s ? <ResourceRow key={name} row={rowModel(s, layout, now)} width={width} selected={name === selected} focused={focused} /> : null;
      })}
    </Box>
  );
}

/** Index of the first visible row, kept across renders. */
export function useWindow(total: number, rows: number, selected: number): number {
  const start = useRef(0);
  start.current = scrollWindow(start.current, total, rows, selected);
  return start.current;
}

export function scrollWindow(start: number, total: number, rows: number, selected: number): number {
  if (rows <= 0 || total <= rows) return 0;
  let s = Math.min(start, total - rows);
  if (selected >= 0 && selected < s) s = selected;
  if (selected >= s + rows) s = selected - rows + 1;
  return Math.max(0, s);
}
