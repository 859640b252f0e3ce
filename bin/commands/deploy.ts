/** `devloop deploy <service>`: rebuilds and redeploys one service in the running session, and waits for the result. */
import { DevloopError } from '../../core/errors.js';
import { findSession, request, sessionState } from '../../core/session/client.js';
import { EXIT, loadOrSession, type GlobalOptions } from '../shared.js';

export async function deploy(opts: GlobalOptions, service: string, timeoutMs: number): Promise<number> {
  const loaded = await loadOrSession(opts, 'deploy');
  if (!loaded.config.services[service]) {
    throw new DevloopError(`no service named "${service}" in ${loaded.file}`, { code: 'UNKNOWN_SERVICE', exitCode: 2, hint: `services are: ${Object.keys(loaded.config.services).join(', ') || '(none)'}` });
  }
  const session = await findSession(loaded.dir);
  if (!session) {
    throw new DevloopError('no devloop session is running for this project', {
      code: 'NO_SESSION', hint: '"devloop deploy" rebuilds a service inside a running "devloop up"; start one first. One-shot deploys to a cluster come with the Kubernetes plugin.',
    });
  }
  // A run is followed by its count, not by builds: a service without a build (or with unchanged
  // inputs) is redeployed without one.
  const before = (await sessionState(session)).services[service]?.runCount ?? 0;
  await request(session.socket, 'POST', `/trigger?service=${encodeURIComponent(service)}`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = (await sessionState(session)).services[service];
    if (s && s.runCount > before) {
      if (s.failedRun === s.runCount) { process.stderr.write(`${service}: failed: ${s.error?.message}\n`); return EXIT.failed; }
      if (s.deployedRun === s.runCount && s.phase === 'healthy') { process.stdout.write(`${service}: healthy ${s.endpoints.map((e) => e.url).join(' ')}\n`); return EXIT.ok; }
    }
    if (Date.now() > deadline) { process.stderr.write(`${service}: still ${s?.phase ?? 'unknown'} after ${timeoutMs} ms${s?.waiting ? ` (${s.waiting})` : ''}\n`); return EXIT.failed; }
    await new Promise((r) => setTimeout(r, 200));
  }
}
