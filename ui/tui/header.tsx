/** One line: engine status, how many services are in which state, the Devfile. */
import { Text } from 'ink';
import path from 'node:path';
import type { EngineState } from '../../core/store/state.js';
import { firingAlerts } from './error-lines.js';
import { BUSY_PHASES } from './theme.js';

export interface HeaderProps {
  state: EngineState;
  quitting: boolean;
  /** First and last visible table rows (1-based) when the table does not show every service. */
  window?: [number, number];
}

const STATUS = { idle: ['starting', 'gray'], running: ['running', 'green'], stopping: ['stopping…', 'yellow'], stopped: ['stopped', 'gray'] } as const;

export function Header({ state, quitting, window }: HeaderProps) {
  let healthy = 0, busy = 0, failed = 0, waiting = 0;
  for (const name of state.order) {
    const p = state.services[name]?.phase;
    if (!p) continue;
    if (p === 'healthy') healthy++;
    else if (p === 'failed' || p === 'unhealthy') failed++;
    else if (BUSY_PHASES.has(p)) busy++;
    else if (p === 'queued' || p === 'pending') waiting++;
  }
  const [label, colour] = quitting && state.status === 'running' ? (['stopping…', 'yellow'] as const) : STATUS[state.status];
  const n = state.order.length;
  const alerts = firingAlerts(state).length;
  // The web dashboard's URL (bin/commands/dashboard.ts), for a terminal that makes it a link.
  const url = state.extra['devloop:dashboard']?.url;
  const dashboard = typeof url === 'string' ? url : undefined;
  return (
    <Text wrap="truncate-end">
      <Text bold>devloop</Text>
      <Text color={colour}> ● {label}</Text>
      <Text>  {n} service{n === 1 ? '' : 's'}{window ? ` (${window[0]}–${window[1]} shown)` : ''}: </Text>
      <Text color="green">{healthy} healthy</Text>
      {busy ? <Text color="yellow"> · {busy} updating</Text> : null}
      {waiting ? <Text color="gray"> · {waiting} waiting</Text> : null}
      {failed ? <Text color="red"> · {failed} failing</Text> : null}
      {state.config.file ? <Text dimColor>  {path.basename(state.config.file)} v{state.config.version}</Text> : null}
      {state.config.error ? <Text color="red" bold>  ✖ Devfile error</Text> : null}
      {alerts ? <Text color="red" bold>  ⚠ {alerts} alert{alerts === 1 ? '' : 's'} firing</Text> : null}
      {dashboard ? <Text color="blue">  {dashboard}</Text> : null}
      <Text dimColor>  ? keys</Text>
    </Text>
  );
}
