/**
 * The control server of a running `devloop up`: a small HTTP API on a unix socket in
 * `.devloop/`, so `devloop status`, `deploy` and `down` in another terminal act on the live
 * session. A unix socket (mode 0600) rather than a TCP port: nothing else on the machine can
 * reach it, and no port is taken.
 */
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { Engine } from '../engine/engine.js';
import { sessionActions, type ActionResult, type SessionActions } from './actions.js';
import { ensureSessionDir, PRIVATE_FILE_MODE, sessionPaths } from './paths.js';

export interface SessionInfo {
  pid: number;
  startedAt: number;
  socket: string;
  devfile: string;
  command: string;
}

/** What POST /autopilot/preempt needs of a deployment's node provisioner (plugins/autopilot/provisioner.ts). */
interface Preempter {
  readonly preemptible: string[];
  preempt(node: string): Promise<{ node: string; pods: string[]; graceS: number }>;
}

export interface SessionServer {
  close(): Promise<void>;
}

export interface SessionOptions {
  devfile: string;
  command: string;
  /** Called on `POST /stop` (from `devloop down`). */
  onStop(): void;
  /** The session's actions (shared with the TUI and the dashboard); default: the engine's, with no port-less debug. */
  actions?: SessionActions;
  /** `POST /dashboard` (`devloop dashboard`): starts the session's web dashboard if it does not run, answers its URL. */
  dashboard?(): Promise<string>;
}

export async function startSessionServer(engine: Engine, options: SessionOptions): Promise<SessionServer> {
  const paths = sessionPaths(engine.root);
  ensureSessionDir(engine.root);
  rmSync(paths.socket, { force: true });
  const actions = options.actions ?? sessionActions(engine);
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://devloop');
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const service = url.searchParams.get('service') ?? '';
    if (req.method === 'GET' && url.pathname === '/state') return send(200, engine.getState());
    const reply = (r: ActionResult) => send(r.status, r.body);
    if (req.method === 'POST' && url.pathname === '/trigger') return reply(actions.rebuild(service));
    if (req.method === 'POST' && url.pathname === '/debug') return reply(actions.debug(service, url.searchParams.get('port') ?? ''));
    if (req.method === 'POST' && url.pathname === '/trigger-mode') return reply(actions.setTriggerMode(service, url.searchParams.get('mode')));
    // A plugin's own command (`devloop cloudrun update-traffic`): the JSON body becomes a
    // `plugin/custom` action; the plugin answers through the store.
    if (req.method === 'POST' && url.pathname === '/plugin') {
      const plugin = url.searchParams.get('plugin');
      const name = url.searchParams.get('name');
      if (!plugin || !name) return send(400, { error: 'need ?plugin=ID&name=ACTION' });
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => { body += d; });
      req.on('end', () => {
        let payload: unknown;
        try { payload = body ? JSON.parse(body) : undefined; } catch { return send(400, { error: 'the body is not JSON' }); }
        engine.dispatch({ type: 'plugin/custom', plugin, name, payload });
        send(202, { dispatched: name });
      });
      return;
    }
    // `devloop autopilot preempt NODE`: the Kubernetes runtime's node provisioner of any deployed
    // service (one per context) preempts a Spot node it made; 404 names the nodes it could.
    if (req.method === 'POST' && url.pathname === '/autopilot/preempt') {
      const node = url.searchParams.get('node') ?? '';
      if (!node) return send(400, { error: 'need ?node=NAME' });
      const provisioners = new Set<Preempter>();
      for (const name of engine.serviceNames()) {
        const p = (engine.deployment(name) as { provisioner?: Preempter } | undefined)?.provisioner;
        if (p && typeof p.preempt === 'function') provisioners.add(p);
      }
      if (!provisioners.size) return send(404, { error: 'no Autopilot node provisioner runs in this session (simulation.autopilot.enabled and a Kubernetes service are needed)', preemptible: [] });
      const owner = [...provisioners].find((p) => p.preemptible.includes(node)) ?? [...provisioners][0];
      owner.preempt(node).then((r) => send(200, r), (err: Error & { preemptible?: string[] }) => {
        send(err.preemptible ? 404 : 500, { error: err.message, preemptible: [...provisioners].flatMap((p) => p.preemptible) });
      });
      return;
    }
    if (req.method === 'POST' && url.pathname === '/dashboard') {
      if (!options.dashboard) return send(404, { error: 'this session serves no dashboard' });
      options.dashboard().then((dashboardUrl) => send(200, { url: dashboardUrl }), (err: Error) => send(500, { error: err.message }));
      return;
    }
    if (req.method === 'POST' && url.pathname === '/stop') {
      send(202, { stopping: true });
      options.onStop();
      return;
    }
    send(404, { error: `unknown endpoint ${req.method} ${url.pathname}` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(paths.socket, () => resolve());
  });
  chmodSync(paths.socket, 0o600);
  const info: SessionInfo = { pid: process.pid, startedAt: Date.now(), socket: paths.socket, devfile: options.devfile, command: options.command };
  writeFileSync(paths.sessionFile, JSON.stringify(info, null, 2), { mode: PRIVATE_FILE_MODE });
  chmodSync(paths.sessionFile, PRIVATE_FILE_MODE);
  return {
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(paths.socket, { force: true });
      rmSync(paths.sessionFile, { force: true });
    },
  };
}

