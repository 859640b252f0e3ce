/**
 * The plain line reporter: one line per event that matters, prefixed with the time and the
 * service. Used when stdout is not a TTY, in CI, and with `--no-tui`.
 */
import { styleText } from 'node:util';
import type { Action } from '../../core/store/actions.js';
import type { EngineState, LogLine } from '../../core/store/state.js';
import type { Reporter, StateSource } from '../shared/source.js';

export interface PlainReporterOptions {
  write(text: string): void;
  color?: boolean;
  /** Width of the service column; default the longest service name. */
  nameWidth?: number;
}

type Style = Parameters<typeof styleText>[0];
const PALETTE: Style[] = ['cyan', 'magenta', 'yellow', 'blue', 'green', 'redBright', 'cyanBright', 'magentaBright'];

export function createPlainReporter(source: StateSource, options: PlainReporterOptions): Reporter {
  const color = options.color ?? false;
  const paint = (style: Style, text: string) => (color ? styleText(style, text) : text);
  const colours = new Map<string, Style>();
  const colourOf = (svc: string) => {
    if (!colours.has(svc)) colours.set(svc, PALETTE[colours.size % PALETTE.length]);
    return colours.get(svc)!;
  };
  let width = options.nameWidth ?? 0;
  const widen = (state: EngineState) => {
    if (options.nameWidth) return;
    for (const n of state.order) width = Math.max(width, n.length);
  };
  widen(source.getState());

  const line = (time: number, service: string | undefined, text: string) => {
    // Milliseconds: an update takes a fraction of a second, and two lines a second apart or 50 ms
    // apart should not look the same.
    const ts = new Date(time).toISOString().slice(11, 23);
    const name = (service ?? 'devloop').padEnd(width);
    const tag = service ? paint(colourOf(service), name) : paint('dim', name);
    for (const part of text.split('\n')) options.write(`${paint('dim', ts)} ${tag} ${part}\n`);
  };

  // The last thing each service logged: a health or failure action that only repeats it (a crash
  // logged by the runtime, then reported as the service's health) is not printed twice.
  const lastLogged = new Map<string, string>();
  const onLog = (l: LogLine) => {
    if (l.service && l.level !== 'output') lastLogged.set(l.service, l.message);
    const text = l.level === 'error' ? paint('red', l.message) : l.level === 'warn' ? paint('yellow', l.message) : l.level === 'output' ? `${paint('dim', '│')} ${l.message}` : l.message;
    line(l.time, l.service, text);
  };

  const onAction = (state: EngineState, action: Action, prev: EngineState) => {
    const now = Date.now();
    switch (action.type) {
      case 'config/loaded':
        widen(state);
        return;
      case 'log':
        return onLog(action.line);
      case 'service/phase':
        if (action.waiting && action.waiting !== prev.services[action.service]?.waiting) line(now, action.service, paint('dim', action.waiting));
        return;
      case 'service/health': {
        const s = state.services[action.service];
        const before = prev.services[action.service];
        if (!s || before?.health === s.health) return;
        if (s.health === 'healthy') {
          const urls = s.endpoints.map((e) => e.url).join(' ');
          line(now, action.service, `${paint('green', '✔ healthy')}${urls ? `  ${urls}` : ''}`);
        } else if (s.health === 'unhealthy') {
          const said = action.message && action.message === lastLogged.get(action.service);
          line(now, action.service, paint('red', `✖ unhealthy${action.message && !said ? `: ${action.message}` : ''}`));
        }
        return;
      }
      case 'service/failed': {
        // Already in the log stream above, in full: printing it here too would say it twice.
        if (action.logged) return;
        const hint = action.error.hint ? `\n  try: ${action.error.hint}` : '';
        const [first, ...rest] = action.error.message.split('\n');
        const said = first === lastLogged.get(action.service);
        const text = said ? ['✖ failed (as above)', ...rest].join('\n') : `✖ failed: ${action.error.message}`;
        line(now, action.service, paint('red', text) + hint);
        return;
      }
      case 'config/error':
        line(now, undefined, paint('red', `Devfile error (still running the last good version):\n${action.error.message}`));
        return;
      case 'engine/stopping':
        line(now, undefined, `stopping (${action.reason})`);
        return;
      case 'engine/stopped':
        line(now, undefined, 'stopped');
        return;
      default:
        return;
    }
  };

  const unsubscribe = source.subscribe(onAction);
  return { close: unsubscribe };
}
