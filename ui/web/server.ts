/**
 * The web dashboard's HTTP server: the page, its assets, the live stream and the actions.
 *
 * Security, as the issue asks and as Tilt's own web UI does not: it listens on 127.0.0.1; every
 * request must be addressed to a loopback name (DNS rebinding: a page on evil.example resolved to
 * 127.0.0.1 still sends `Host: evil.example`); state-changing requests need the session's token,
 * which only the page itself gets (in its HTML, unreadable across origins), a JSON content type
 * (a form on another site cannot send one without a CORS preflight, which this server never
 * grants) and, when the browser says where it comes from, an Origin of this server. Everything
 * sent is the store's state, which the engine has already redacted (core/engine/redact.ts).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { checkLoopbackHost, isLoopbackHost } from '../../plugins/shared/loopback-host.js';
import type { ActionResult, SessionActions } from '../../core/session/actions.js';
import type { StateSource } from '../shared/source.js';
import { Hub } from './hub.js';
import { API, BOOT_ELEMENT_ID, TOKEN_HEADER, type Boot, type SeriesSnapshot } from './protocol.js';
import { SeriesSampler, type SeriesInputs } from './series.js';

export interface DashboardOptions {
  source: StateSource;
  actions?: SessionActions;
  /** In-process series for the charts (series.ts). */
  metrics?: SeriesInputs['metrics'];
  usage?: SeriesInputs['usage'];
  /** The monitoring plugin's Prometheus, when it runs: the charts' history comes from it. */
  prometheus?(): Promise<SeriesSnapshot | undefined>;
  project: string;
  version: string;
  host?: string;
  /** 0: any free port. */
  port: number;
  /** Chart sample interval; default 1000 ms. */
  intervalMs?: number;
  flushMs?: number;
}

export interface Dashboard {
  url: string;
  token: string;
  hub: Hub;
  close(): Promise<void>;
}

const WHAT = 'the devloop dashboard';
const MAX_BODY = 64 * 1024;
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
};

export async function startDashboardServer(options: DashboardOptions): Promise<Dashboard> {
  const host = options.host ?? '127.0.0.1';
  const token = randomBytes(24).toString('base64url');
  const assets = loadAssets();
  const sampler = new SeriesSampler({ getState: () => options.source.getState(), metrics: options.metrics, usage: options.usage }, options.intervalMs ?? 1000);
  const history = async (): Promise<SeriesSnapshot> => {
    try {
      const fromPrometheus = await options.prometheus?.();
      if (fromPrometheus) return fromPrometheus;
    } catch { /* the in-process history stands in */ }
    return sampler.snapshot();
  };
  const hub = new Hub(options.source, { series: history, flushMs: options.flushMs });
  let sampling = false;
  const ticker = setInterval(() => {
    if (sampling) return;
    sampling = true;
    sampler.sample().then((tick) => hub.series(tick), () => undefined).finally(() => { sampling = false; });
  }, sampler.intervalMs);
  ticker.unref();
  // A non-loopback host was asked for on purpose (dashboard.host): requests naming that address
  // are let in; for a wildcard, any of this machine's addresses. Addresses, never names: a name
  // is what DNS rebinding controls.
  const extraHosts = isLoopbackHost(host) ? [] : wildcard(host) ? machineAddresses() : [host];
  const boot = (): Boot => ({ token, project: options.project, version: options.version, pid: process.pid, startedAt });
  const startedAt = Date.now();

  const server = http.createServer((req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    if (!checkLoopbackHost(req, res, WHAT, extraHosts)) return;
    const url = new URL(req.url ?? '/', 'http://dashboard');
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (url.pathname === '/' || url.pathname === '/index.html') return sendText(res, 200, 'text/html; charset=utf-8', page(boot(), options.project));
      const asset = assets.get(url.pathname);
      if (asset) return sendText(res, 200, asset.type, asset.body, 'no-cache');
      if (url.pathname.startsWith('/assets/')) return sendText(res, 404, 'text/plain; charset=utf-8', `${url.pathname} is not built: run "npm run build" in devloop's folder (it bundles the page into dist/web)\n`);
      if (url.pathname === API.events) { void hub.attach(req, res); return; }
      if (url.pathname === API.state) return send(200, options.source.getState());
      if (url.pathname === API.series) { void history().then((s) => send(200, s)); return; }
      return send(404, { error: `no page at ${url.pathname}` });
    }
    if (req.method === 'POST' && url.pathname.startsWith(`${API.actions}/`)) {
      const refused = refuse(req, token);
      if (refused) return send(403, { error: refused });
      return readJson(req, (err, body) => {
        if (err) return send(400, { error: err });
        const r = act(options.actions, url.pathname.slice(API.actions.length + 1), body as Record<string, unknown>);
        send(r.status, r.body);
      });
    }
    res.setHeader('allow', 'GET, HEAD, POST');
    return send(405, { error: `${req.method} is not answered here` });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: options.port, exclusive: true }, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const shown = wildcard(host) ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/`,
    token,
    hub,
    async close() {
      clearInterval(ticker);
      hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Why a state-changing request is refused; undefined when it may go on. */
function refuse(req: http.IncomingMessage, token: string): string | undefined {
  const given = req.headers[TOKEN_HEADER];
  if (typeof given !== 'string' || !given) return `missing the ${TOKEN_HEADER} header: actions need the session token the dashboard page carries (open the page and use its buttons)`;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  if (a.length !== b.length || !timingSafeEqual(a, b)) return `wrong ${TOKEN_HEADER}: the token belongs to another devloop session (reload the page)`;
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) return 'actions take a JSON body (content-type: application/json)';
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${req.headers.host}`) return `requests from ${origin.slice(0, 100)} may not act on this session`;
  return undefined;
}

function act(actions: SessionActions | undefined, name: string, body: Record<string, unknown>): ActionResult {
  if (!actions) return { status: 503, body: { error: 'this dashboard is read-only (no session actions)' } };
  const service = typeof body?.service === 'string' ? body.service : '';
  if (!service) return { status: 400, body: { error: 'the body needs "service": the name of a service' } };
  switch (name) {
    case 'rebuild': return actions.rebuild(service);
    case 'trigger-mode': return actions.setTriggerMode(service, body.mode);
    case 'debug': return actions.debug(service, body.port);
    default: return { status: 404, body: { error: `no action "${name}" (rebuild, trigger-mode, debug)` } };
  }
}

function readJson(req: http.IncomingMessage, done: (err: string | undefined, body?: unknown) => void): void {
  let size = 0;
  const chunks: Buffer[] = [];
  let failed = false;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_BODY && !failed) { failed = true; done(`body over ${MAX_BODY} bytes`); req.resume(); return; }
    if (!failed) chunks.push(c);
  });
  req.on('end', () => {
    if (failed) return;
    try { done(undefined, JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}')); } catch { done('the body is not JSON'); }
  });
}

function sendText(res: http.ServerResponse, status: number, type: string, body: string | Buffer, cache = 'no-store'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': cache, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** The page: the bundle does the rest. The boot JSON is escaped so no value can close the script element. */
function page(boot: Boot, project: string): string {
  const json = JSON.stringify(boot).replace(/</g, '\\u003c');
  const title = project.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>devloop · ${title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/app.css">
</head>
<body>
<div id="app"></div>
<script id="${BOOT_ELEMENT_ID}" type="application/json">${json}</script>
<script src="/assets/app.js"></script>
</body>
</html>
`;
}

/**
 * The bundle scripts/build-web.mjs writes into dist/web, read once. From dist/ui/web/server.js
 * that is ../../web; from the sources (tests under tsx) it is ../../dist/web.
 */
function loadAssets(): Map<string, { type: string; body: Buffer }> {
  const out = new Map<string, { type: string; body: Buffer }>();
  for (const dir of ['../../web/', '../../dist/web/']) {
    for (const [file, type] of [['app.js', 'text/javascript; charset=utf-8'], ['app.css', 'text/css; charset=utf-8']] as const) {
      if (out.has(`/assets/${file}`)) continue;
      try { out.set(`/assets/${file}`, { type, body: readFileSync(new URL(`${dir}${file}`, import.meta.url)) }); } catch { /* not built here */ }
    }
  }
  return out;
}

const wildcard = (host: string) => host === '0.0.0.0' || host === '::';

/** Every address of this machine's interfaces, as a Host header names them (IPv6 in brackets). */
function machineAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((a) => (a.family === 'IPv6' ? `[${a.address}]` : a.address)));
}
