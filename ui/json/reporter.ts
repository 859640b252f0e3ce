/**
 * `--output json`: one JSON object per line for every action, with a timestamp. Consumers
 * rebuild any view from this stream; `state` events carry the full service state on change.
 */
import type { Reporter, StateSource } from '../shared/source.js';

export interface JsonReporterOptions {
  write(text: string): void;
}

export function createJsonReporter(source: StateSource, options: JsonReporterOptions): Reporter {
  const unsubscribe = source.subscribe((state, action) => {
    const event: Record<string, unknown> = { time: new Date().toISOString(), ...action };
    if ('service' in action && typeof action.service === 'string' && state.services[action.service]) {
      const { logTail: _omit, ...service } = state.services[action.service];
      event.state = service;
    }
    options.write(`${JSON.stringify(event)}\n`);
  });
  return { close: unsubscribe };
}
