/**
 * The log pane: a title saying what is shown and whether it follows, then exactly the lines
 * that fit. The view is read by index, so a 5,000-line buffer costs the same as a 40-line one.
 */
import { Box, Text } from 'ink';
import type { LogView } from './log-view.js';
import { LogRow } from './log-row.js';

export interface LogPaneProps {
  view: LogView;
  /** First visible index. */
  top: number;
  /** Rows including the title. */
  height: number;
  /** `all services`, or the service name. */
  label: string;
  width: number;
  showService: boolean;
  nameWidth: number;
  follow: boolean;
  filter: string;
  focused: boolean;
}

export function LogPane({ view, top, height, label, width, showService, nameWidth, follow, filter, focused }: LogPaneProps) {
  if (height <= 0) return null;
  const rows = height - 1;
  const end = Math.min(view.count, top + rows);
  const lines = [];
  for (let i = top; i < end; i++) lines.push(view.at(i));
  const newer = view.count - end;
  return (
    <Box flexDirection="column" height={height}>
      <Text wrap="truncate-end">
        <Text color={focused ? 'cyan' : undefined} bold>{focused ? '▶ ' : '─ '}logs: {label}</Text>
        <Text dimColor>{showService ? '' : ' (a: all services)'}</Text>
        {filter ? <Text color="yellow">  filter “{filter}”: {view.count} match{view.count === 1 ? '' : 'es'} (esc clears)</Text> : null}
        {follow
          ? <Text dimColor>  following</Text>
          : <Text color="yellow">  paused{newer ? ` · ${newer} newer line${newer === 1 ? '' : 's'}` : ''} · f to follow</Text>}
      </Text>
      {view.count === 0 ? <Text dimColor>  {filter ? 'no line matches the filter' : 'no logs yet'}</Text> : null}
      {lines.map((line) => <LogRow key={line.seq} line={line} width={width} nameWidth={showService ? nameWidth : 0} filter={filter} />)}
    </Box>
  );
}
