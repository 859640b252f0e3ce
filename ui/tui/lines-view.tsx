/** Renders pre-built lines into a fixed number of rows, saying how many did not fit. */
import { Box, Text } from 'ink';
import type { Line } from './lines.js';
import type { Colour } from './theme.js';

export interface LinesViewProps {
  lines: Line[];
  height: number;
  /** A coloured bar before every line, to set a panel apart without spending rows on a border. */
  gutter?: Colour;
  /** Said after "… N more lines" when lines are cut. */
  more?: string;
}

export function LinesView({ lines, height, gutter, more }: LinesViewProps) {
  if (height <= 0) return null;
  const cut = lines.length > height;
  const shown = cut ? lines.slice(0, height - 1) : lines;
  return (
    <Box flexDirection="column" height={height}>
      {shown.map((l, i) => (
        <Text key={i} wrap="truncate-end">
          {gutter ? <Text color={gutter}>┃ </Text> : null}
          {l.label ? <Text color={l.labelColour} dimColor={!l.labelColour}>{l.label}</Text> : null}
          <Text color={l.colour} dimColor={l.dim} bold={l.bold}>{l.text}</Text>
        </Text>
      ))}
      {cut ? (
        <Text wrap="truncate-end" dimColor>
          {gutter ? <Text color={gutter}>┃ </Text> : null}… {lines.length - shown.length} more lines{more ? ` · ${more}` : ''}
        </Text>
      ) : null}
    </Box>
  );
}
