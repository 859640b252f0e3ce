/**
 * `devloop debug <service>`: redeploys a Node service of the running session (a process or a
 * container) with the inspector on 127.0.0.1 and prints where to attach. Esbuild bundles carry linked source maps, so the
 * debugger shows the TypeScript sources.
 */
import { DevloopError } from '../../core/errors.js';
import { findSession, request, sessionState } from '../../core/session/client.js';
import { findFreePort } from '../../plugins/shared/ports.js';
import { EXIT, load, type GlobalOptions } from '../shared.js';

export async function debug(opts: GlobalOptions, service: string, requestedPort: number | undefined, timeoutMs = 60_000): Promise<number> {
  const loaded = await load(opts, 'debug');
  if (!loaded.config.services[service]) {
    throw new DevloopError(`no service named "${service}" in ${loaded.file}`, { code: 'UNKNOWN_SERVICE', exitCode: 2, hint: `services are: ${Object.keys(loaded.config.services).join(', ')}` });
  }
  const session = await findSession(loaded.dir);
  if (!session) {
    throw new DevloopError('no devloop session is running for this project', { code: 'NO_SESSION', hint: 'start one with "devloop up", then run "devloop debug" in another terminal' });
  }
  const before = (await sessionState(session)).services[service];
  if (before?.target !== 'process' && before?.target !== 'docker') {
    throw new DevloopError(`"devloop debug" supports services on the process and docker runtimes; ${service} runs on "${before?.target ?? 'unknown'}"`, {
      code: 'NOT_SUPPORTED', hint: `for now, set services.${service}.runtime to 'process' or 'docker' to debug it`,
    });
  }
  const port = requestedPort ?? await findFreePort();
  await request(session.socket, 'POST', `/debug?service=${encodeURIComponent(service)}&port=${port}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = (await sessionState(session)).services[service];
    if (s?.phase === 'failed') { process.stderr.write(`${service}: failed to restart with the inspector: ${s.error?.message}\n`); return EXIT.failed; }
    if (s?.phase === 'healthy' && s.endpoints.some((e) => e.name === 'inspector')) {
      const targets = await fetch(`http://127.0.0.1:${port}/json/list`).then((r) => r.json() as Promise<{ webSocketDebuggerUrl?: string; devtoolsFrontendUrl?: string }[]>).catch(() => []);
      const ws = targets[0]?.webSocketDebuggerUrl;
      if (ws) {
        process.stdout.write(`${service}: Node inspector on 127.0.0.1:${port}\n  ${ws}\n  open chrome://inspect in Chrome, "Configure..." add 127.0.0.1:${port}, then "inspect"\n  (run "devloop deploy ${service}" or edit code to keep debugging; the inspector stays on until devloop restarts)\n`);
        return EXIT.ok;
      }
    }
    if (Date.now() > deadline) { process.stderr.write(`${service}: the inspector did not answer on 127.0.0.1:${port} within ${timeoutMs} ms\n`); return EXIT.failed; }
    await new Promise((r) => setTimeout(r, 200));
  }
}
