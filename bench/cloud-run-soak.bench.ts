/**
 * Soak of the Cloud Run front end (issue 9): 25 s of good traffic mixed with hostile traffic,
 * then whether devloop's open file descriptors and RSS come back to where they were before it
 * (the baseline, measured in the same run after a warm-up). Bounded: about 50 s in all.
 *
 * devloop side (this process): an Engine with two services on process instances, `web` (an
 * HTTP/1 instance) and `grpc` (an h2c instance), front ends with short limits so hostile
 * connections are reaped within the settle time (headers 2 s, idle 3 s, cap 300 connections).
 *
 * Load side (this file with `--load`, a child process, so its sockets and memory are not
 * counted as devloop's):
 * - good: 8 HTTP/1 keep-alive clients on web, 2 HTTP/2 sessions on grpc and web, back to back;
 * - slowloris: 20 connections dripping a header line every 500 ms (reopened when cut);
 * - idle: 20 connections that send nothing (reopened when cut);
 * - oversized: 20 KB header (431 expected);
 * - HTTP2-Settings: an HTTP/1.1 request with that header to the h2c service (200 expected);
 * - bad status: an HTTP/2 client to an instance answering 700 (502 expected);
 * - h2 bodies: POSTs without content-length over HTTP/2 to both (the byte count checked);
 * - resets: HTTP/1 requests dropped mid-response, HTTP/2 streams cancelled mid-body;
 * - flood: every 8 s, 400 connections at once (over the cap: the rest closed at once).
 *
 * Figures: requests served, errors by kind, front-end counters, open fds and RSS at the start
 * and the end, and whether each came back (fds within +4, RSS within +20% or +15 MB).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { DevfileConfig, ServiceConfig } from '../core/devfile/types.js';
import { Engine } from '../core/engine/engine.js';
import { cloudRunPlugin } from '../plugins/cloud-run/index.js';
import { processPlugin } from '../plugins/local-process/index.js';
import { findFreePort } from '../plugins/shared/ports.js';
import { sleep } from '../plugins/shared/time.js';
import type { BenchResult } from './types.js';

const self = fileURLToPath(import.meta.url);
const repo = path.resolve(path.dirname(self), '..');
const TRAFFIC_MS = 25_000;
const LIMITS = { headersTimeoutMs: 2_000, idleTimeoutMs: 3_000, maxConnections: 300 };

const SERVER_JS = `
const http = require('node:http');
const http2 = require('node:http2');
function handler(req, res) {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/status700') { res.writeHead(700); res.end('odd'); return; }
  if (url.pathname === '/slow') { const t = setTimeout(() => res.end('slow'), 300); res.on('close', () => clearTimeout(t)); return; }
  let bytes = 0;
  req.on('data', (c) => { bytes += c.length; });
  req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end(JSON.stringify({ bytes })); });
}
const server = process.env.H2C ? http2.createServer(handler) : http.createServer(handler);
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;

const H2C_YAML = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: grpc
spec:
  template:
    spec:
      containers:
        - image: unused
          command: ["node", "server.js"]
          env:
            - name: H2C
              value: "1"
          ports:
            - name: h2c
              containerPort: 8080
`;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

async function measure(): Promise<{ fds: number; rssMb: number }> {
  gc();
  await sleep(100);
  gc();
  return { fds: openFds(), rssMb: process.memoryUsage().rss / 1024 / 1024 };
}

type Counts = Record<string, number>;

function runLoad(web: string, grpc: string, ms: number): Promise<Counts> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', self, '--load', web, grpc, String(ms)], { cwd: repo, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('the load generator ran past its time')); }, ms + 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').at(-1) ?? '';
      try { resolve(JSON.parse(line) as Counts); } catch { reject(new Error(`the load generator exited ${code} without figures: ${out.slice(-500)}`)); }
    });
  });
}

export async function run(): Promise<BenchResult[]> {
  const root = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-soak-')));
  writeFileSync(path.join(root, 'server.js'), SERVER_JS);
  writeFileSync(path.join(root, 'grpc.yaml'), H2C_YAML);
  const devfile: DevfileConfig = {
    name: 'bench-soak',
    simulation: { cloudRun: { enabled: true, instances: 'process', metricsPort: await findFreePort() } as never },
    services: {
      web: { command: 'node server.js', port: await findFreePort(), cloudRun: { containerConcurrency: 80, maxScale: 2 } } as ServiceConfig,
      grpc: { port: await findFreePort(), cloudRun: { service: 'grpc.yaml', maxScale: 2 } } as ServiceConfig,
    },
  };
  const engine = new Engine({ root, devfile, plugins: [processPlugin(), cloudRunPlugin({ frontEnd: LIMITS, scaling: { idleTimeoutMs: 120_000, scaleToZeroAfterMs: 120_000 } })] });
  try {
    await engine.start();
    await engine.idle();
    const state = engine.getState().services;
    for (const s of ['web', 'grpc']) if (state[s].phase !== 'healthy') throw new Error(`${s} is ${state[s].phase}: ${state[s].error?.message ?? ''}`);
    const web = state.web.endpoints[0].url;
    const grpc = state.grpc.endpoints[0].url;

    // Warm-up with good traffic only, so the baseline has the instances, pools and JIT in it.
    await runLoad(web, grpc, -3_000);
    await sleep(LIMITS.idleTimeoutMs + 1_500);
    const start = await measure();
    const counts = await runLoad(web, grpc, TRAFFIC_MS);
    // Settle: every hostile connection left is cut by a timeout within idle + headers time.
    await sleep(LIMITS.idleTimeoutMs + LIMITS.headersTimeoutMs + 1_500);
    const end = await measure();
    const frontEnd = (s: string) => (engine.getState().services[s].extra['cloud-run'] as { frontEnd?: { refused: number; timedOut: number } } | undefined)?.frontEnd ?? { refused: 0, timedOut: 0 };
    const alive = engine.getState().services.web.phase === 'healthy' && engine.getState().services.grpc.phase === 'healthy';

    const fdsBack = end.fds <= start.fds + 4;
    const rssBack = end.rssMb <= Math.max(start.rssMb * 1.2, start.rssMb + 15);
    const lines = [
      `soak: ${TRAFFIC_MS / 1000} s of mixed traffic; front-end limits ${JSON.stringify(LIMITS)}`,
      ...Object.entries(counts).sort().map(([k, v]) => `  ${k.padEnd(34)} ${v}`),
      `  front end web: refused ${frontEnd('web').refused}, timed out ${frontEnd('web').timedOut}; grpc: refused ${frontEnd('grpc').refused}, timed out ${frontEnd('grpc').timedOut}`,
      `  open fds: start ${start.fds}, end ${end.fds} -> ${fdsBack ? 'back to the start level' : 'NOT back'}`,
      `  RSS: start ${start.rssMb.toFixed(1)} MB, end ${end.rssMb.toFixed(1)} MB -> ${rssBack ? 'back to the start level' : 'NOT back'}`,
      `  services still healthy: ${alive ? 'yes' : 'NO'}`,
    ];
    console.error(lines.join('\n'));
    const served = Object.entries(counts).filter(([k]) => k.startsWith('served ')).reduce((n, [, v]) => n + v, 0);
    const errors = Object.entries(counts).filter(([k]) => k.startsWith('error ')).reduce((n, [, v]) => n + v, 0);
    return [
      { name: 'requests served (good and expected refusals)', value: served, unit: 'req', note: `in ${TRAFFIC_MS / 1000} s` },
      { name: 'unexpected errors', value: errors, unit: '', note: Object.entries(counts).filter(([k]) => k.startsWith('error ')).map(([k, v]) => `${k.slice(6)}: ${v}`).join(', ') || 'none' },
      { name: 'connections refused at the cap', value: frontEnd('web').refused + frontEnd('grpc').refused, unit: 'conn' },
      { name: 'connections cut by timeouts', value: frontEnd('web').timedOut + frontEnd('grpc').timedOut, unit: 'conn' },
      { name: 'open fds after soak + settle', value: end.fds, unit: 'fds', baseline: { name: 'before', value: start.fds }, note: fdsBack ? 'back to start' : 'NOT back' },
      { name: 'RSS after soak + settle', value: end.rssMb, unit: 'MB', baseline: { name: 'before', value: start.rssMb }, note: rssBack ? 'back to start' : 'NOT back' },
    ];
  } finally {
    await engine.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------ load generator

/** Runs for |ms|; a negative ms runs the good traffic only (warm-up). */
async function loadMain(web: string, grpc: string, ms: number): Promise<void> {
  const counts: Counts = {};
  const add = (k: string, n = 1) => { counts[k] = (counts[k] ?? 0) + n; };
  const until = Date.now() + Math.abs(ms);
  const live = () => Date.now() < until;
  const port = (u: string) => Number(new URL(u).port);
  const hostile = ms > 0;
  const sockets = new Set<net.Socket>();

  const h1 = (url: string, opts: http.RequestOptions & { body?: string } = {}) => new Promise<number>((resolve, reject) => {
    const req = http.request(url, { ...opts, timeout: 10_000 }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); res.on('error', reject); });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
  const h2 = (session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer[]) => new Promise<{ status: number; text: string }>((resolve, reject) => {
    const st = session.request(headers, { endStream: !body });
    let status = 0;
    let text = '';
    st.setTimeout(10_000, () => st.close(http2.constants.NGHTTP2_CANCEL));
    st.on('response', (h) => { status = Number(h[':status']); });
    st.setEncoding('utf8');
    st.on('data', (c: string) => { text += c; });
    st.on('end', () => resolve({ status, text }));
    st.on('error', reject);
    if (body) { for (const b of body) st.write(b); st.end(); }
  });
  const session = (url: string) => { const s = http2.connect(url); s.on('error', () => {}); return s; };
  const loop = async (kind: string, fn: () => Promise<void>) => {
    while (live()) {
      try { await fn(); } catch (err) { add(`error ${kind}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`); await new Promise((r) => setTimeout(r, 20)); }
    }
  };
  const raw = (url: string, onOpen: (s: net.Socket) => void) => new Promise<void>((resolve) => {
    const s = net.connect(port(url), '127.0.0.1');
    sockets.add(s);
    s.on('error', () => {});
    s.once('connect', () => onOpen(s));
    s.once('close', () => { sockets.delete(s); resolve(); });
  });

  const tasks: Promise<void>[] = [];
  // Good traffic.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  for (let i = 0; i < 8; i++) tasks.push(loop('good h1', async () => add((await h1(web, { agent })) === 200 ? 'served good h1' : 'error good h1 status')));
  for (const url of [grpc, web]) {
    tasks.push((async () => {
      let s = session(url);
      await loop('good h2', async () => {
        if (s.closed || s.destroyed) s = session(url);
        add((await h2(s, { ':path': '/' })).status === 200 ? 'served good h2' : 'error good h2 status');
      });
      s.close();
    })());
  }
  if (hostile) {
    for (let i = 0; i < 20; i++) {
      tasks.push(loop('slowloris', () => raw(web, (s) => {
        s.write('GET / HTTP/1.1\r\nHost: x\r\n');
        const drip = setInterval(() => { if (s.writable) s.write('X-Slow: 1\r\n'); }, 500);
        s.once('close', () => { clearInterval(drip); add('hostile slowloris cut'); });
        setTimeout(() => s.destroy(), Math.max(0, until - Date.now()));
      })));
      tasks.push(loop('idle', () => raw(i % 2 ? web : grpc, (s) => {
        s.once('close', () => add('hostile idle cut'));
        setTimeout(() => s.destroy(), Math.max(0, until - Date.now()));
      })));
    }
    tasks.push(loop('oversized header', async () => { const st = await h1(web, { agent: false, headers: { 'x-big': 'a'.repeat(20_000) } }); add(st === 431 ? 'served oversized header 431' : `error oversized header ${st}`); }));
    tasks.push(loop('HTTP2-Settings', async () => { const st = await h1(grpc, { agent: false, headers: { 'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA' } }); add(st === 200 ? 'served HTTP2-Settings to h2c' : `error HTTP2-Settings ${st}`); }));
    tasks.push((async () => {
      let s = session(web);
      await loop('bad status', async () => {
        if (s.closed || s.destroyed) s = session(web);
        const r = await h2(s, { ':path': '/status700' });
        add(r.status === 502 ? 'served bad status 502' : `error bad status ${r.status}`);
      });
      s.close();
    })());
    for (const url of [web, grpc]) {
      tasks.push((async () => {
        let s = session(url);
        const chunks = Array.from({ length: 4 }, () => Buffer.alloc(16_384, 7));
        await loop('h2 body', async () => {
          if (s.closed || s.destroyed) s = session(url);
          const r = await h2(s, { ':method': 'POST', ':path': '/report' }, chunks);
          add(r.status === 200 && JSON.parse(r.text).bytes === 65_536 ? 'served h2 body without length' : `error h2 body ${r.status} ${r.text.slice(0, 40)}`);
        });
        s.close();
      })());
    }
    tasks.push(loop('h1 reset', () => new Promise<void>((resolve) => {
      const req = http.request(`${web}/slow`, { agent: false });
      req.on('error', () => {});
      req.end();
      setTimeout(() => { req.destroy(); add('hostile h1 reset'); resolve(); }, 20);
    })));
    tasks.push((async () => {
      let s = session(grpc);
      await loop('h2 reset', async () => {
        if (s.closed || s.destroyed) s = session(grpc);
        const st = s.request({ ':method': 'POST', ':path': '/report' });
        st.on('error', () => {});
        st.write(Buffer.alloc(1000));
        await new Promise((r) => setTimeout(r, 20));
        st.close(http2.constants.NGHTTP2_CANCEL);
        add('hostile h2 reset');
      });
      s.close();
    })());
    tasks.push((async () => {
      while (Date.now() + 2_000 < until) {
        const flood = Array.from({ length: 400 }, () => new Promise<'refused' | 'held'>((resolve) => {
          const s = net.connect(port(web), '127.0.0.1');
          sockets.add(s);
          s.on('error', () => {});
          let at = 0;
          s.once('connect', () => { at = Date.now(); });
          s.once('close', () => { sockets.delete(s); resolve(at && Date.now() - at < 400 ? 'refused' : 'held'); });
          setTimeout(() => s.destroy(), 500);
        }));
        for (const r of await Promise.all(flood)) add(r === 'refused' ? 'hostile flood refused' : 'hostile flood held');
        await new Promise((r) => setTimeout(r, 7_500));
      }
    })());
  }
  await Promise.all(tasks);
  for (const s of sockets) s.destroy();
  agent.destroy();
  process.stdout.write(`${JSON.stringify(counts)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === self && process.argv[2] === '--load') {
  loadMain(process.argv[3], process.argv[4], Number(process.argv[5])).then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
}
