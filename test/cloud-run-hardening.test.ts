// The Cloud Run front end under bad input (issue 9): one bad exchange fails one request and never
// the session; every front-end connection is timed out and their number capped; HTTP/2 request
// bodies stream whatever their framing; the loopback endpoints answer only loopback Host names.
// Real servers, real clients, real sockets; instances are local processes, so no Docker is needed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DevfileConfig, ServiceConfig } from '../core/devfile/types.js';
import { Engine } from '../core/engine/engine.js';
import { cloudRunPlugin } from '../plugins/cloud-run/index.js';
import { startMetadataServer } from '../plugins/cloud-run/metadata.js';
import { processPlugin } from '../plugins/local-process/index.js';
import { repoRoot, startCli, until, within } from './helpers.js';

/** The instance: HTTP/1 by default, h2c with H2C=1; bad answers on request, else a body report. */
const SERVER_JS = `
const http = require('node:http');
const http2 = require('node:http2');
const crypto = require('node:crypto');
function handler(req, res) {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/status700') { res.writeHead(700, { 'content-type': 'text/plain' }); res.end('odd status'); return; }
  if (url.pathname === '/h2-settings') { res.writeHead(200, { 'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA', 'content-type': 'text/plain' }); res.end('settings'); return; }
  if (url.pathname === '/conn-headers') { res.writeHead(200, { 'keep-alive': 'timeout=5', 'proxy-connection': 'keep-alive', upgrade: 'h2c', 'x-kept': 'yes' }); res.end('conn'); return; }
  const hash = crypto.createHash('sha256');
  let bytes = 0;
  const parts = [];
  req.on('data', (c) => { hash.update(c); bytes += c.length; if (url.pathname === '/echo') parts.push(c); });
  req.on('end', () => {
    if (url.pathname === '/echo') { res.writeHead(200, { 'content-type': 'application/octet-stream' }); res.end(Buffer.concat(parts)); return; }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ httpVersion: req.httpVersion, bytes, sha256: hash.digest('hex'), contentLength: req.headers['content-length'] ?? null, headers: req.headers }));
  });
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

const roots: string[] = [];
const engines: Engine[] = [];

function project(): string {
  const dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'devloop-cr-hardening-')));
  roots.push(dir);
  writeFileSync(path.join(dir, 'server.js'), SERVER_JS);
  writeFileSync(path.join(dir, 'grpc.yaml'), H2C_YAML);
  return dir;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

interface Started { engine: Engine; web: string; grpc: string; metricsPort: number }

/** Two services behind the simulator: `web` (HTTP/1 instance) and `grpc` (h2c instance). */
async function start(frontEnd?: Record<string, number>): Promise<Started> {
  const root = project();
  const metricsPort = await freePort();
  const devfile: DevfileConfig = {
    name: 'crharden',
    simulation: { cloudRun: { enabled: true, instances: 'process', metricsPort } as never },
    services: {
      web: { command: 'node server.js', port: await freePort(), cloudRun: { containerConcurrency: 20, maxScale: 2 } } as ServiceConfig,
      grpc: { port: await freePort(), cloudRun: { service: 'grpc.yaml' } } as ServiceConfig,
    },
  };
  const engine = new Engine({ root, devfile, plugins: [processPlugin(), cloudRunPlugin({ frontEnd } as never)] });
  engines.push(engine);
  await engine.start();
  await engine.idle();
  const s = engine.getState().services;
  for (const name of ['web', 'grpc']) assert.equal(s[name].phase, 'healthy', `${name}: ${s[name].error?.message ?? ''}\n${s[name].logTail.map((l) => l.message).join('\n')}`);
  return { engine, web: s.web.endpoints[0].url, grpc: s.grpc.endpoints[0].url, metricsPort };
}

function logText(engine: Engine, service: string): string {
  return engine.getState().services[service].logTail.map((l) => l.message).join('\n');
}

interface Reply { status: number; headers: Record<string, unknown>; body: Buffer; trailers?: Record<string, unknown> }
const text = (r: Reply) => r.body.toString('utf8');
const json = (r: Reply) => JSON.parse(text(r));

function h1(url: string, options: { path?: string; method?: string; headers?: http.OutgoingHttpHeaders; body?: Buffer | string } = {}): Promise<Reply> {
  return within(new Promise((resolve, reject) => {
    const req = http.request(`${url}${options.path ?? '/'}`, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  }), 10_000, `HTTP/1 ${options.path ?? '/'}`);
}

/** One HTTP/2 request on a new session; `chunks` are written `gapMs` apart (a streaming client). */
function h2(url: string, options: { path?: string; method?: string; headers?: http2.OutgoingHttpHeaders; chunks?: Buffer[]; gapMs?: number } = {}): Promise<Reply> {
  return within(new Promise((resolve, reject) => {
    const session = http2.connect(url);
    session.on('error', reject);
    const stream = session.request({ ':method': options.method ?? (options.chunks ? 'POST' : 'GET'), ':path': options.path ?? '/', ...options.headers }, { endStream: !options.chunks });
    const parts: Buffer[] = [];
    let headers: Record<string, unknown> = {};
    let trailers: Record<string, unknown> | undefined;
    stream.on('response', (h) => { headers = h; });
    stream.on('trailers', (t) => { trailers = t; });
    stream.on('data', (c: Buffer) => parts.push(c));
    stream.on('end', () => { session.close(); resolve({ status: Number(headers[':status']), headers, body: Buffer.concat(parts), trailers }); });
    stream.on('error', (err) => { session.destroy(); reject(err); });
    if (options.chunks) {
      const chunks = [...options.chunks];
      const next = () => {
        const c = chunks.shift();
        if (!c) { stream.end(); return; }
        stream.write(c);
        if (options.gapMs) setTimeout(next, options.gapMs); else next();
      };
      next();
    }
  }), 20_000, `HTTP/2 ${options.path ?? '/'}`);
}

/** A raw TCP connection; `closed` says when the server closed it and what it sent. */
function connect(url: string): Promise<{ socket: net.Socket; closed: Promise<{ ms: number; data: string }> }> {
  const { port } = new URL(url);
  return within(new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    const began = Date.now();
    let data = '';
    socket.on('data', (c) => { data += c.toString('latin1'); });
    const closed = new Promise<{ ms: number; data: string }>((r) => socket.once('close', () => r({ ms: Date.now() - began, data })));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  }), 5_000, 'connect');
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

after(async () => {
  await Promise.all(engines.map((e) => e.stop()));
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------- item 1

describe('cloud run front end: a bad exchange fails one request, never the session', () => {
  let s: Started;
  before(async () => { s = await start(); }, { timeout: 30_000 });

  it('an HTTP/1.1 request with an HTTP2-Settings header reaches an h2c instance without it', { timeout: 20_000 }, async () => {
    const r = await h1(s.grpc, { path: '/', headers: { 'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA' } });
    assert.equal(r.status, 200, text(r));
    assert.equal(json(r).headers['http2-settings'], undefined, 'the connection-specific header is not forwarded');
    assert.equal((await h1(s.grpc)).status, 200, 'the next request is served');
  });

  it('HTTP/2-forbidden request headers never reach an h2c instance, te: trailers does', { timeout: 20_000 }, async () => {
    const r = await h1(s.grpc, { path: '/', headers: { 'keep-alive': 'timeout=5', 'proxy-connection': 'keep-alive', te: 'trailers, deflate', 'x-kept': 'yes' } });
    assert.equal(r.status, 200, text(r));
    const seen = json(r).headers;
    for (const h of ['keep-alive', 'proxy-connection', 'connection', 'transfer-encoding', 'upgrade', 'http2-settings']) assert.equal(seen[h], undefined, h);
    assert.equal(seen.te, 'trailers');
    assert.equal(seen['x-kept'], 'yes');
  });

  it('an HTTP/2 client gets 502 with the reason when its HTTP/1 instance answers status 700', { timeout: 20_000 }, async () => {
    const r = await h2(s.web, { path: '/status700' });
    assert.equal(r.status, 502, text(r));
    assert.match(String(r.headers['x-devloop-cloud-run']), /status 700/);
    await until(() => /GET \/status700 -> 502 .*status 700/.test(logText(s.engine, 'web')), 5_000, 'the 502 and its reason in the log');
    assert.equal((await h2(s.web)).status, 200, 'the next request is served');
    // An HTTP/1 client can be given the status as is (HTTP/1 allows 3 digits).
    assert.equal((await h1(s.web, { path: '/status700' })).status, 700);
  });

  it('an instance\'s http2-settings and other connection-specific response headers are dropped for HTTP/2 clients', { timeout: 20_000 }, async () => {
    const r = await h2(s.web, { path: '/h2-settings' });
    assert.equal(r.status, 200, text(r));
    assert.equal(text(r), 'settings');
    assert.equal(r.headers['http2-settings'], undefined);
    const c = await h2(s.web, { path: '/conn-headers' });
    assert.equal(c.status, 200, text(c));
    for (const h of ['keep-alive', 'proxy-connection', 'upgrade']) assert.equal(c.headers[h], undefined, h);
    assert.equal(c.headers['x-kept'], 'yes');
    const one = await h1(s.web, { path: '/h2-settings' });
    assert.equal(one.headers['http2-settings'], undefined, 'not to HTTP/1 clients either: it describes one connection');
  });

  it('a 20 KB header gets 431, not 400', { timeout: 20_000 }, async () => {
    const r = await h1(s.web, { headers: { 'x-big': 'a'.repeat(20_000) } });
    assert.equal(r.status, 431);
    assert.equal((await h1(s.web)).status, 200);
  });

  it('an h2c client whose first segment is under 3 bytes is still taken as HTTP/2', { timeout: 20_000 }, async () => {
    const c = await connect(s.web);
    c.socket.setNoDelay(true);
    c.socket.write('PR');
    await new Promise((r) => setTimeout(r, 150));
    // The rest of the preface and an empty SETTINGS frame: an HTTP/2 server answers with its own
    // SETTINGS frame (type 4 in the 4th byte); an HTTP/1 parser would answer 400.
    const got = new Promise<Buffer>((resolve) => c.socket.once('data', (d: Buffer) => resolve(d)));
    c.socket.write(Buffer.concat([Buffer.from('I * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    const first = await within(got, 5_000, 'the server\'s first bytes');
    c.socket.destroy();
    assert.doesNotMatch(first.toString('latin1'), /^HTTP\/1/, 'not answered as HTTP/1');
    assert.equal(first[3], 4, 'a SETTINGS frame');
  });
});

// ---------------------------------------------------------------------------------- item 6

describe('cloud run front end: HTTP/2 request bodies stream whatever the framing', () => {
  let s: Started;
  before(async () => { s = await start(); }, { timeout: 30_000 });

  for (const target of ['web', 'grpc'] as const) {
    const label = target === 'web' ? 'h2 -> h1' : 'h2 -> h2c';
    it(`${label}: a body with and without content-length arrives whole`, { timeout: 20_000 }, async () => {
      const body = Buffer.from('hello body');
      const withLength = await h2(s[target], { path: '/report', headers: { 'content-length': String(body.length) }, chunks: [body] });
      assert.equal(withLength.status, 200, text(withLength));
      assert.equal(json(withLength).bytes, body.length);
      const without = await h2(s[target], { path: '/report', chunks: [body] });
      assert.equal(without.status, 200, text(without));
      assert.equal(json(without).bytes, body.length, 'the body without content-length is forwarded');
      assert.equal(json(without).sha256, sha(body));
    });

    it(`${label}: a 5 MiB body without content-length arrives whole`, { timeout: 30_000 }, async () => {
      const big = randomBytes(5 * 1024 * 1024);
      const chunks = Array.from({ length: 80 }, (_, i) => big.subarray(i * 65_536, (i + 1) * 65_536));
      const r = await h2(s[target], { path: '/report', chunks });
      assert.equal(r.status, 200, text(r));
      assert.equal(json(r).bytes, big.length);
      assert.equal(json(r).sha256, sha(big));
    });

    it(`${label}: gRPC-style client streaming (DATA frames over time, echoed after the end)`, { timeout: 20_000 }, async () => {
      const frames = Array.from({ length: 5 }, (_, i) => Buffer.concat([Buffer.from([0, 0, 0, 0, 5]), Buffer.from(`msg-${i}`)]));
      const r = await h2(s[target], { path: '/echo', headers: { 'content-type': 'application/grpc', te: 'trailers' }, chunks: frames, gapMs: 100 });
      assert.equal(r.status, 200, text(r));
      assert.deepEqual(r.body, Buffer.concat(frames));
    });
  }
});

// ---------------------------------------------------------------------------------- item 3

describe('cloud run front end: connection timeouts and a cap', () => {
  let s: Started;
  before(async () => { s = await start({ headersTimeoutMs: 1000, idleTimeoutMs: 1000, maxConnections: 500 }); }, { timeout: 30_000 });

  it('a connection that sends nothing is closed after the headers timeout', { timeout: 10_000 }, async () => {
    const c = await connect(s.web);
    const { ms } = await within(c.closed, 5_000, 'the silent connection closed');
    assert.ok(ms >= 800 && ms < 3_000, `closed after ${ms} ms`);
  });

  it('an h2c client stuck in the first bytes of its preface is closed', { timeout: 10_000 }, async () => {
    const c = await connect(s.web);
    c.socket.write('PRI * HT');
    const { ms } = await within(c.closed, 5_000, 'the half preface closed');
    assert.ok(ms < 3_000, `closed after ${ms} ms`);
  });

  it('slowloris: half-sent HTTP/1 headers, a byte at a time, are cut off after the headers timeout', { timeout: 10_000 }, async () => {
    const c = await connect(s.web);
    c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => { if (c.socket.writable) c.socket.write('X-A: b\r\n'); }, 200);
    try {
      const { ms, data } = await within(c.closed, 5_000, 'the slow connection closed');
      assert.ok(ms < 3_000, `closed after ${ms} ms`);
      assert.match(data, /^$|^HTTP\/1\.1 408/, 'a 408 or nothing');
    } finally {
      clearInterval(drip);
    }
  });

  it('slowloris after a first request on a keep-alive connection is cut off too', { timeout: 10_000 }, async () => {
    const c = await connect(s.web);
    c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => setTimeout(r, 300));
    c.socket.write('GET / HTTP/1.1\r\n');
    const drip = setInterval(() => { if (c.socket.writable) c.socket.write('X-A: b\r\n'); }, 200);
    try {
      const { ms, data } = await within(c.closed, 6_000, 'the slow connection closed');
      assert.match(data, /^HTTP\/1\.1 200/);
      assert.ok(ms < 4_000, `closed after ${ms} ms`);
    } finally {
      clearInterval(drip);
    }
  });

  it('an h2c preface with no request after it is closed after the headers timeout', { timeout: 10_000 }, async () => {
    const session = http2.connect(s.web);
    session.on('error', () => {});
    const began = Date.now();
    await within(new Promise((r) => session.once('close', r)), 5_000, 'the idle HTTP/2 session closed');
    assert.ok(Date.now() - began < 3_000);
  });

  it('idle keep-alive HTTP/1 connections and idle HTTP/2 sessions are closed after the idle timeout', { timeout: 15_000 }, async () => {
    const c = await connect(s.web);
    c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const h1Closed = await within(c.closed, 5_000, 'the idle keep-alive connection closed');
    assert.match(h1Closed.data, /^HTTP\/1\.1 200/);
    const session = http2.connect(s.grpc);
    session.on('error', () => {});
    const closed = new Promise((r) => session.once('close', r));
    await within(new Promise<void>((resolve, reject) => {
      const st = session.request({ ':path': '/' });
      st.on('error', reject);
      st.on('end', () => resolve());
      st.resume();
    }), 5_000, 'one HTTP/2 request');
    await within(closed, 5_000, 'the idle HTTP/2 session closed');
    // A request that takes longer than the idle timeout is not cut: idle means nothing in flight.
    const slow = await h2(s.grpc, { path: '/report', chunks: [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')], gapMs: 700 });
    assert.equal(json(slow).bytes, 3);
  });

  it('over the connection cap new connections are closed at once and counted, and the front end recovers', { timeout: 30_000 }, async () => {
    const capped = await start({ headersTimeoutMs: 20_000, idleTimeoutMs: 20_000, maxConnections: 5 });
    const held = await Promise.all(Array.from({ length: 5 }, () => connect(capped.web)));
    await new Promise((r) => setTimeout(r, 100));
    const extra = await connect(capped.web);
    const { ms } = await within(extra.closed, 3_000, 'the connection over the cap closed');
    assert.ok(ms < 1_000, `closed after ${ms} ms`);
    await until(() => capped.engine.getState().services.web.extra['cloud-run']?.frontEnd?.refused >= 1, 3_000, 'the refusal counted');
    for (const h of held) h.socket.destroy();
    await until(async () => (await h1(capped.web)).status === 200, 5_000, 'served again once connections close');
    assert.match(logText(capped.engine, 'web'), /connection cap|at most 5 connections/);
  });
});

// ---------------------------------------------------------------------------------- item 3: procfs

describe('supervision survives running out of file descriptors', () => {
  it('processTable() does not throw EMFILE', { timeout: 20_000 }, () => {
    const script = `
      const { processTable } = await import(${JSON.stringify(path.join(repoRoot, 'plugins', 'shared', 'procfs.ts'))});
      const fs = await import('node:fs');
      const before = processTable().length;
      const fds = [];
      try { for (;;) fds.push(fs.openSync('/dev/null', 'r')); } catch (e) { if (e.code !== 'EMFILE') throw e; }
      let out;
      try { out = processTable(); } catch (e) { console.log('THREW ' + e.code); process.exit(1); }
      console.log('OK ' + before + ' ' + out.length);
    `;
    const r = spawnSync('bash', ['-c', `ulimit -n 200 && exec "${process.execPath}" --import tsx --input-type=module -e "$0"`, script], { cwd: repoRoot, encoding: 'utf8', timeout: 15_000 });
    assert.match(r.stdout, /^OK \d+ \d+/, `${r.stdout}\n${r.stderr}`);
  });
});

// ---------------------------------------------------------------------------------- item 15

describe('loopback endpoints answer only loopback Host names (DNS rebinding)', () => {
  let s: Started;
  before(async () => { s = await start(); }, { timeout: 30_000 });

  it('/metrics: loopback names are served, any other Host gets 403 with the reason', { timeout: 20_000 }, async () => {
    const url = `http://127.0.0.1:${s.metricsPort}`;
    for (const host of ['localhost', `localhost:${s.metricsPort}`, `127.0.0.1:${s.metricsPort}`, '127.9.8.7', `[::1]:${s.metricsPort}`]) {
      assert.equal((await h1(url, { path: '/metrics', headers: { host } })).status, 200, host);
    }
    for (const host of ['evil.example', `evil.example:${s.metricsPort}`, 'localhost.evil.example', '127.0.0.1.evil.example', '0.0.0.0']) {
      const r = await h1(url, { path: '/metrics', headers: { host } });
      assert.equal(r.status, 403, host);
      assert.match(text(r), /only answers requests addressed to .*localhost/);
    }
  });

  it('the metadata server takes metadata.google.internal and its own addresses, not other names', { timeout: 20_000 }, async () => {
    const md = await startMetadataServer({ projectId: 'p', numericProjectId: '1', region: 'r', instanceId: 'i', service: 's', revision: 'r1', serviceAccountEmail: 'e@x' });
    try {
      const url = `http://127.0.0.1:${md.port}`;
      const get = (host: string) => h1(url, { path: '/computeMetadata/v1/project/project-id', headers: { host, 'metadata-flavor': 'Google' } });
      for (const host of ['metadata.google.internal', 'metadata.google.internal:80', `127.0.0.1:${md.port}`, 'localhost']) assert.equal((await get(host)).status, 200, host);
      const r = await get('evil.example');
      assert.equal(r.status, 403);
    } finally {
      await md.close();
    }
  });

  it('the service front end itself does not check Host (tag routing uses TAG--- names)', { timeout: 20_000 }, async () => {
    assert.equal((await h1(s.web, { headers: { host: 'anything.example' } })).status, 200);
  });
});

// ---------------------------------------------------------------------------------- item 1, through the CLI

describe('devloop up survives bad requests', () => {
  it('HTTP2-Settings to an h2c service and status 700 to an HTTP/2 client fail one request each; the next is served', { timeout: 60_000 }, async () => {
    const dir = project();
    const [web, grpc, metrics] = [await freePort(), await freePort(), await freePort()];
    writeFileSync(path.join(dir, 'Devfile.ts'), `import { defineDevfile } from 'devloop';
export default defineDevfile({
  name: 'crharden-cli',
  simulation: { cloudRun: { enabled: true, instances: 'process', metricsPort: ${metrics} } },
  services: {
    web: { command: 'node server.js', port: ${web}, cloudRun: { containerConcurrency: 10 } },
    grpc: { port: ${grpc}, cloudRun: { service: 'grpc.yaml' } },
  },
});
`);
    const up = startCli(['up', '--output', 'json'], { cwd: dir });
    try {
      // The URLs come from the session: a port taken meanwhile (another test) moves a service.
      const webUrl = (await up.waitFor((e) => e.type === 'service/health' && e.service === 'web' && e.health === 'healthy', 30_000, 'web healthy')).state.endpoints[0].url as string;
      const grpcUrl = (await up.waitFor((e) => e.type === 'service/health' && e.service === 'grpc' && e.health === 'healthy', 30_000, 'grpc healthy')).state.endpoints[0].url as string;
      await h1(grpcUrl, { headers: { 'http2-settings': 'AAMAAABkAARAAAAAAAIAAAAA' } }).catch(() => undefined);
      await h2(webUrl, { path: '/status700' }).catch(() => undefined);
      await h2(webUrl, { path: '/h2-settings' }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(up.child.exitCode, null, `devloop up is still running\n${up.stderr()}`);
      assert.equal((await h1(grpcUrl)).status, 200);
      assert.equal((await h2(webUrl)).status, 200);
      assert.equal((await h1(webUrl)).status, 200);
    } finally {
      up.child.kill('SIGINT');
    }
    assert.equal(await within(up.exited, 20_000, 'devloop up to exit'), 0, up.stderr());
  });
});
