/**
 * The web dashboard of a session: started by `devloop up` beside the TUI, or later by
 * `devloop dashboard` (which asks the running session to start it, and prints its URL).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DashboardConfig } from '../../core/devfile/types.js';
import type { Engine } from '../../core/engine/engine.js';
import { DevloopError } from '../../core/errors.js';
import type { SessionActions } from '../../core/session/actions.js';
import { findSession, request } from '../../core/session/client.js';
import type { Dashboard } from '../../ui/web/server.js';
import { EXIT, loadOrSession, type GlobalOptions } from '../shared.js';

/** Tilt's port: someone moving from Tilt finds the page where they expect it. */
export const DEFAULT_DASHBOARD_PORT = 10350;
/** What the TUI header, `devloop status` and `devloop dashboard` read. */
export const DASHBOARD_PLUGIN = 'devloop:dashboard';
const MAX_TRIES = 50;

/** The Devfile's `dashboard`, with defaults; undefined when it is turned off. */
export function dashboardSettings(value: boolean | DashboardConfig | undefined): DashboardConfig | undefined {
  if (value === false) return undefined;
  const cfg = value === true || value === undefined ? {} : value;
  return cfg.enabled === false ? undefined : cfg;
}

/**
 * Starts the dashboard for the engine's session; undefined (with a warning in the log) when it
 * cannot: a dashboard is never a reason for the session itself to fail.
 */
export async function startDashboard(engine: Engine, actions: SessionActions, settings: DashboardConfig): Promise<Dashboard | undefined> {
  const log = engine.logger();
  const [{ startDashboardServer }, { prometheusHistory }] = await Promise.all([import('../../ui/web/server.js'), import('../../ui/web/prometheus-history.js')]);
  const host = settings.host ?? '127.0.0.1';
  const options = {
    source: engine,
    actions,
    metrics: () => engine.metrics.collect(),
    usage: (service: string) => engine.deployment(service)?.usage?.(),
    prometheus: async () => {
      const url = (engine.getState().extra['devloop:monitoring']?.urls as Record<string, string> | undefined)?.prometheus;
      return url ? prometheusHistory(url) : undefined;
    },
    project: engine.devfile.name ?? path.basename(engine.root),
    version: version(),
    host,
  };
  let dashboard: Dashboard | undefined;
  // The port is taken by trying it (no check-then-listen race with another session starting).
  for (let i = 0; !dashboard && i < (settings.port ? 1 : MAX_TRIES); i++) {
    const port = settings.port ?? DEFAULT_DASHBOARD_PORT + i;
    try {
      dashboard = await startDashboardServer({ ...options, port });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE' && !settings.port) continue;
      const why = code === 'EADDRINUSE'
        ? `dashboard.port: port ${port} is in use; set dashboard.port to a free port, or remove it to take the next free one after ${DEFAULT_DASHBOARD_PORT}`
        : `${err instanceof Error ? err.message : String(err)}`;
      log.warn(`dashboard not started: ${why}`);
      return undefined;
    }
  }
  if (!dashboard) {
    log.warn(`dashboard not started: ports ${DEFAULT_DASHBOARD_PORT}-${DEFAULT_DASHBOARD_PORT + MAX_TRIES - 1} are all in use; set dashboard.port`);
    return undefined;
  }
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '::1') log.warn(`dashboard listens on ${host}: whoever reaches it sees this session's logs and state (actions still need the page's token)`);
  log.info(`dashboard at ${dashboard.url}`);
  engine.dispatch({ type: 'session/extra', plugin: DASHBOARD_PLUGIN, data: { url: dashboard.url } });
  return dashboard;
}

/** `devloop dashboard`: the running session's dashboard URL, started if it was off. */
export async function dashboardCommand(opts: GlobalOptions): Promise<number> {
  const loaded = await loadOrSession(opts, 'dashboard');
  const session = await findSession(loaded.dir);
  if (!session) {
    throw new DevloopError('no devloop session runs for this project', {
      code: 'NO_SESSION', exitCode: EXIT.usage, hint: '"devloop up" starts one, with its dashboard (the URL is in its header)',
    });
  }
  const res = await request(session.socket, 'POST', '/dashboard', 15_000);
  if (res.status !== 200) {
    throw new DevloopError(`the session could not start its dashboard: ${res.body?.error ?? `status ${res.status}`}`, {
      code: 'DASHBOARD_FAILED', exitCode: EXIT.failed, hint: 'see the session\'s log (devloop logs) for why; a port taken by another program is the usual cause (set dashboard.port)',
    });
  }
  const url = res.body.url as string;
  if (opts.output === 'json') process.stdout.write(`${JSON.stringify({ dashboard: url, pid: session.pid })}\n`);
  else process.stdout.write(`${url}\n`);
  return EXIT.ok;
}

let cachedVersion: string | undefined;
function version(): string {
  if (cachedVersion) return cachedVersion;
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      cachedVersion = (JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string }).version;
      return cachedVersion;
    } catch { /* next */ }
  }
  return 'dev';
}
