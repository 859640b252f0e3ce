/**
 * What a person can ask a running session to do, in one place for every way of asking: the TUI's
 * keys, the control socket (`devloop deploy`, `devloop debug` in another terminal) and the web
 * dashboard's buttons. Each answers with an HTTP-shaped result, so the servers only translate.
 */
import type { Engine } from '../engine/engine.js';

export interface ActionResult {
  status: number;
  body: { ok: true; message: string } | { error: string };
}

export interface SessionActions {
  /** `r`: run the pipeline now, with the files a manual service has pending. */
  rebuild(service: string): ActionResult;
  /** `t`: auto (a change builds) or manual (builds wait for rebuild). */
  setTriggerMode(service: string, mode: unknown): ActionResult;
  /** `d`: restart with the Node inspector; `port` as `devloop debug --port`, else one is chosen. */
  debug(service: string, port?: unknown): ActionResult;
}

export interface ActionOptions {
  /** Starts the inspector when no port is given (bin/commands/debug.ts, loaded on first use). */
  debugAnyPort?(service: string): void;
}

const ok = (status: number, message: string): ActionResult => ({ status, body: { ok: true, message } });
const fail = (status: number, error: string): ActionResult => ({ status, body: { error } });

export function sessionActions(engine: Pick<Engine, 'getState' | 'triggerManual' | 'setTriggerMode' | 'debug'>, options: ActionOptions = {}): SessionActions {
  const unknown = (service: string): ActionResult | undefined => {
    const state = engine.getState();
    if (state.services[service]) return undefined;
    return fail(404, `no service named "${service}"; the session runs ${state.order.length ? state.order.join(', ') : 'none'}`);
  };
  return {
    rebuild(service) {
      const missing = unknown(service);
      if (missing) return missing;
      const pending = engine.getState().services[service].pendingFiles.length;
      engine.triggerManual(service);
      return ok(202, `rebuilding ${service}${pending ? ` with ${pending} changed file${pending === 1 ? '' : 's'}` : ''}`);
    },
    setTriggerMode(service, mode) {
      const missing = unknown(service);
      if (missing) return missing;
      if (mode !== 'auto' && mode !== 'manual') return fail(400, `mode must be "auto" or "manual", got ${JSON.stringify(mode)}`);
      engine.setTriggerMode(service, mode);
      return ok(200, `${service} is in ${mode} trigger mode${mode === 'manual' ? ' (changes wait for a rebuild)' : ''}`);
    },
    debug(service, port) {
      const missing = unknown(service);
      if (missing) return missing;
      if (port === undefined || port === null || port === '') {
        if (!options.debugAnyPort) return fail(400, 'need a port for the inspector (?port=N)');
        options.debugAnyPort(service);
        return ok(202, `restarting ${service} with the Node inspector; its address follows in the log`);
      }
      const n = Number(port);
      if (!Number.isInteger(n) || n <= 0 || n > 65535) return fail(400, `port must be a whole number from 1 to 65535, got ${JSON.stringify(port)}`);
      engine.debug(service, n);
      return ok(202, `restarting ${service} with the Node inspector on 127.0.0.1:${n}`);
    },
  };
}
