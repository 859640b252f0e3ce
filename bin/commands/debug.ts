/**
 * `devloop debug <service>`: redeploys a Node service of the running session (a process or a
 * container) with the inspector on 127.0.0.1 and prints where to attach. Esbuild bundles carry linked source maps, so the
 * debugger shows the TypeScript sources. The TUI's `d` key does the same inside `devloop up`
 * (debugFromTui): one restart-and-wait (startInspector) serves both.
 */
import type { Engine } from '../../core/engine/engine.js';
import { DevloopError } from '../../core/errors.js';
import { findSession, request, sessionState } from '../../core/session/client.js';
import type { EngineState } from '../../core/store/state.js';
import { findFreePort } from '../../plugins/shared/ports.js';
import { EXIT, loadOrSession, type GlobalOptions } from '../shared.js';

export async function debug(opts: GlobalOptions, service: string, requestedPort: number | undefined, timeoutMs = 60_000): Promise<number> {
  // The running session knows its services: the Devfile is not evaluated (about 0.4 s) for this.
  const loaded = await loadOrSession(opts, 'debug');
  if (!loaded.config.services[service]) {
    throw new DevloopError(`no service named "${service}" in ${loaded.file}`, { code: 'UNKNOWN_SERVICE', exitCode: 2, hint: `services are: ${Object.keys(loaded.config.services).join(', ')}` });
  }
  const session = await findSession(loaded.dir);
  if (!session) {
    throw new DevloopError('no devloop session is running for this project', { code: 'NO_SESSION', hint: 'start one with "devloop up", then run "devloop debug" in another terminal' });
  }
  const outcome = await startInspector({
    state: () => sessionState(session),
    restart: async (port) => { await request(session.socket, 'POST', `/debug?service=${encodeURIComponent(service)}&port=${port}`); },
  }, service, requestedPort, timeoutMs);
  if (!outcome.ok) { process.stderr.write(`${outcome.message}\n`); return EXIT.failed; }
  process.stdout.write(`${attachHelp(service, outcome.port, outcome.ws).join('\n')}\n`);
  return EXIT.ok;
}

/** How startInspector reaches the session: over its socket (`devloop debug`) or in the process (the TUI). */
export interface DebugControl {
  state(): Promise<EngineState>;
  /** Redeploys the service with the inspector on this port (the session's `POST /debug`). */
  restart(port: number): Promise<void>;
}

export type InspectorOutcome = { ok: true; port: number; ws: string } | { ok: false; message: string };

/**
 * Restarts `service` with the Node inspector on 127.0.0.1 (`requestedPort`, else a free one)
 * and waits until the service is healthy again and the inspector lists a target. Throws for a
 * service whose runtime cannot be debugged; a restart that fails or never answers is an outcome.
 */
export async function startInspector(control: DebugControl, service: string, requestedPort: number | undefined, timeoutMs: number): Promise<InspectorOutcome> {
  const before = (await control.state()).services[service];
  if (before?.target !== 'process' && before?.target !== 'docker') {
    throw new DevloopError(`"devloop debug" supports services on the process and docker runtimes; ${service} runs on "${before?.target ?? 'unknown'}"`, {
      code: 'NOT_SUPPORTED', hint: `for now, set services.${service}.runtime to 'process' or 'docker' to debug it`,
    });
  }
  const port = requestedPort ?? await findFreePort();
  await control.restart(port);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = (await control.state()).services[service];
    if (s?.phase === 'failed') return { ok: false, message: `${service}: failed to restart with the inspector: ${s.error?.message}` };
    if (s?.phase === 'healthy' && s.endpoints.some((e) => e.name === 'inspector' && (e.url === `http://127.0.0.1:${port}` || e.url.startsWith(`http://127.0.0.1:${port}/`)))) {
      const targets = await fetch(`http://127.0.0.1:${port}/json/list`).then((r) => r.json() as Promise<{ webSocketDebuggerUrl?: string; devtoolsFrontendUrl?: string }[]>).catch(() => []);
      const ws = targets[0]?.webSocketDebuggerUrl;
      if (ws) return { ok: true, port, ws };
    }
    if (Date.now() > deadline) return { ok: false, message: `${service}: the inspector did not answer on 127.0.0.1:${port} within ${timeoutMs} ms` };
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Where and how to attach, as `devloop debug` prints it and the TUI logs it. */
export function attachHelp(service: string, port: number, ws: string): string[] {
  return [
    `${service}: Node inspector on 127.0.0.1:${port}`,
    `  ${ws}`,
    `  open chrome://inspect in Chrome, "Configure..." add 127.0.0.1:${port}, then "inspect"`,
    `  (run "devloop deploy ${service}" or edit code to keep debugging; the inspector stays on until devloop restarts)`,
  ];
}

const debugging = new Set<string>();

/**
 * The TUI's `d` key: `devloop debug <service>` inside the running `up`. What happens goes to the
 * service's log (the pane the user is looking at): the restart, then where the inspector listens,
 * or why it did not start.
 */
export async function debugFromTui(engine: Engine, service: string, timeoutMs = 60_000): Promise<void> {
  const log = engine.logger(service);
  if (debugging.has(service)) { log.info('the inspector is already being started; wait for its address'); return; }
  debugging.add(service);
  try {
    log.info('restarting with the Node inspector (d)');
    const outcome = await startInspector({
      state: async () => engine.getState(),
      restart: async (port) => { engine.debug(service, port); },
    }, service, undefined, timeoutMs);
    if (outcome.ok) for (const line of attachHelp(service, outcome.port, outcome.ws)) log.info(line);
    else log.error(outcome.message);
  } catch (err) {
    log.error(err instanceof DevloopError ? `${err.message}${err.hint ? ` (try: ${err.hint})` : ''}` : `debugging failed: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    debugging.delete(service);
  }
}
