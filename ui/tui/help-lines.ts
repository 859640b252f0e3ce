/** The key bindings, as shown by `?`. Kept beside `ui-state.ts`, which implements them. */
import type { Line } from './lines.js';

const KEYS: [string, string][] = [
  ['↑ ↓  j k', 'select a service (scroll the logs when they have focus)'],
  ['enter', 'details of the selected service'],
  ['r', 'rebuild the selected service now'],
  ['t', 'switch its trigger mode: auto (rebuild on change) / manual (wait for r)'],
  ['l', 'show its logs and focus the log pane'],
  ['a', 'logs of all services / of the selected one'],
  ['tab', 'move focus between the table and the logs'],
  ['/', 'filter the logs (enter applies, esc clears; capitals make it case-sensitive)'],
  ['PgUp PgDn', 'scroll the logs a page (also Ctrl-U Ctrl-D); stops following, reaching the end resumes'],
  ['g  f G End', 'oldest line / follow the newest lines'],
  ['d', 'debug the selected service'],
  ['esc', 'clear the filter, close a view, leave the logs'],
  ['q  Ctrl-C', 'stop everything and quit (twice: quit without waiting)'],
  ['?', 'this help'],
];

export function helpLines(): Line[] {
  return [{ text: 'Keys  (? or esc to close)', bold: true }, ...KEYS.map(([k, what]) => ({ label: `  ${k.padEnd(12)}`, labelColour: 'cyan' as const, text: what }))];
}
