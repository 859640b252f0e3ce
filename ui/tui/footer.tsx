/** The bottom line: the filter input while typing, a short confirmation after a key, the key hints, or shutdown progress. */
import { Text } from 'ink';
import type { EngineState } from '../../core/store/state.js';
import type { UiState } from './ui-state.js';

export interface FooterProps {
  ui: UiState;
  status: EngineState['status'];
  keys: boolean;
}

export function Footer({ ui, status, keys }: FooterProps) {
  if (status === 'stopped') return <Text color="gray" wrap="truncate-end">stopped</Text>;
  if (ui.quitting || status === 'stopping') {
    return <Text color="yellow" wrap="truncate-end">stopping… (cleaning up what devloop started{ui.quitting ? '; q again quits without waiting' : ''})</Text>;
  }
  if (ui.draft !== undefined) {
    return (
      <Text wrap="truncate-end">
        <Text color="cyan">/</Text>{ui.draft}<Text inverse> </Text>
        <Text dimColor>  enter applies · esc clears</Text>
      </Text>
    );
  }
  if (!keys) return <Text dimColor wrap="truncate-end">keys are off: stdin is not a terminal (Ctrl-C stops devloop)</Text>;
  if (ui.flash) return <Text color="cyan" wrap="truncate-end">{ui.flash.text}</Text>;
  const hints = ui.focus === 'logs'
    ? '↑↓ scroll · PgUp/PgDn page · g oldest · f follow · / filter · a all · tab/esc table · q quit · ? keys'
    : '↑↓ select · enter details · r rebuild · t auto/manual · l logs · a all · / filter · d debug · q quit · ? keys';
  return <Text dimColor wrap="truncate-end">{hints}</Text>;
}
