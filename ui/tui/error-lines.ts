/**
 * The error panel's content: the selected service's error and the Devfile's, each with the
 * "try:" line the error taxonomy promises, the plugin and hook it came from, and its causes.
 */
import type { ErrorJSON } from '../../core/errors.js';
import type { EngineState, ServiceState } from '../../core/store/state.js';
import { textLines, type Line } from './lines.js';

export function errorLines(state: EngineState, service: ServiceState | undefined): Line[] {
  const lines: Line[] = [];
  const config = state.config.error;
  if (config) {
    lines.push({ text: 'Devfile error: still running the last good version', colour: 'red', bold: true });
    lines.push(...describe(config));
  }
  if (service?.error) {
    lines.push({ text: `${service.name} ${service.phase === 'failed' ? 'failed' : 'error'}`, colour: 'red', bold: true });
    lines.push(...describe(service.error));
  }
  // Alerts firing in the Prometheus devloop started (devloop:monitoring): every service's, as they
  // are about the session, not the row under the cursor.
  for (const a of firingAlerts(state)) {
    lines.push({ text: `alert ${a.name}${a.service ? ` [${a.service}]` : ''}${a.severity ? ` (${a.severity})` : ''} firing`, colour: 'red', bold: true });
    lines.push(...textLines(a.summary, { colour: 'red' }, '  '));
  }
  if (lines.length) {
    const others = state.order.filter((n) => n !== service?.name && state.services[n]?.phase === 'failed');
    if (others.length) {
      const list = others.length > 5 ? `${others.slice(0, 5).join(', ')} +${others.length - 5}` : others.join(', ');
      lines.push({ text: `also failed: ${list}`, dim: true });
    }
  }
  return lines;
}

function describe(err: ErrorJSON): Line[] {
  const lines: Line[] = textLines(err.message, { colour: 'red' }, '  ');
  if (err.location?.frame) lines.push(...textLines(err.location.frame, { dim: true }, '  '));
  if (err.hint) lines.push(...textLines(err.hint, { label: '  try: ', colour: 'yellow' }));
  const origin = [err.plugin && `plugin ${err.plugin}`, err.hook && `hook ${err.hook}`, err.code && `code ${err.code}`].filter(Boolean);
  if (origin.length) lines.push({ text: `  ${origin.join(' · ')}`, dim: true });
  // Plugin errors wrap the real failure; its message is usually what the user needs to read.
  let cause = err.cause;
  for (let depth = 0; cause && depth < 3; depth++, cause = cause.cause) {
    if (err.message.includes(cause.message)) continue;
    lines.push(...textLines(cause.message, { label: '  caused by: ', dim: true }));
  }
  return lines;
}

/** `since`: when it started firing (ISO 8601, from Alertmanager). */
export interface FiringAlert { name: string; service?: string; severity?: string; summary: string; since?: string }

/** What devloop:monitoring publishes as firing (plugins/monitoring/runtime.ts), read defensively: plugin data is untyped. */
export function firingAlerts(state: Pick<EngineState, 'extra'>): FiringAlert[] {
  const alerts = state.extra?.['devloop:monitoring']?.alerts;
  return Array.isArray(alerts) ? alerts.filter((a): a is FiringAlert => !!a && typeof a.name === 'string' && typeof a.summary === 'string') : [];
}
