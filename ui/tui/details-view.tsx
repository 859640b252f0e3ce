/** Every field of the selected service, in place of the table (enter toggles). */
import type { Line } from './lines.js';
import { LinesView } from './lines-view.js';

export function DetailsView({ lines, height }: { lines: Line[]; height: number }) {
  return <LinesView lines={lines} height={height} gutter="cyan" />;
}
