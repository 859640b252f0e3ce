/** The selected service's current error and the Devfile's, kept on screen while they last. */
import type { Line } from './lines.js';
import { LinesView } from './lines-view.js';

export function ErrorPanel({ lines, height }: { lines: Line[]; height: number }) {
  return <LinesView lines={lines} height={height} gutter="red" more="enter shows details, l the service's logs" />;
}
