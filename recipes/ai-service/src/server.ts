/**
 * Cloud Run's contract: listen on $PORT (on $HOST when given: devloop gives a local instance
 * 127.0.0.1; unset in a container, where it listens on every interface). On SIGTERM (Cloud Run
 * sends it before stopping an instance, then waits 10 s): stop accepting, let in-flight requests
 * and background coordinations finish, exit 0.
 */
import { serve } from '@hono/node-server';
import { createFramework } from './agents.js';
import { createApp } from './app.js';
import { log } from './log.js';
import { VERSION } from './version.js';

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST;
const timeoutMs = Number(process.env.AGENT_TIMEOUT_MS ?? 30_000);
const root = process.env.AGENTS_REPO_ROOT ?? process.cwd();
/** Under Cloud Run's 10 s between SIGTERM and SIGKILL. */
const DRAIN_MS = 8_000;

const framework = createFramework({ root, timeoutMs, log: (agent, message) => log('DEBUG', message, { agent }) });
const { app, pending } = createApp({ framework, timeoutMs, version: () => process.env.SERVICE_VERSION ?? VERSION });

const server = serve({ fetch: app.fetch, port, hostname: host }, (info) => {
  log('INFO', `ai-service ${VERSION} listening on ${info.address}:${info.port} with ${framework.agents.length} agents`, { agents: framework.agents.map((a) => a.id), repoRoot: root });
});

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  log('INFO', `SIGTERM: draining (${pending.size} coordinations in flight)`);
  // close() stops accepting and calls back once the in-flight requests have answered.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  if ('closeIdleConnections' in server) server.closeIdleConnections();
  const drained = Promise.all([closed, Promise.allSettled([...pending])]);
  const late = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), DRAIN_MS).unref());
  void Promise.race([drained, late]).then((r) => {
    if (r === 'late') log('WARNING', `SIGTERM: still busy after ${DRAIN_MS} ms; exiting`);
    else log('INFO', 'SIGTERM: drained, exiting');
    process.exit(0);
  });
});
