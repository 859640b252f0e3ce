/**
 * The front end of a simulated Cloud Run service: an HTTP/1.1 server on 127.0.0.1 that does
 * what Google's front end and the queue in front of each instance do. For each request it picks
 * a revision (traffic split or tag), waits for a slot on one of its instances, forwards the
 * request with Cloud Run's headers added (X-Cloud-Trace-Context, traceparent, X-Forwarded-For,
 * X-Forwarded-Proto) and hop-by-hop headers removed, and streams both bodies through without
 * buffering (chunked responses and server-sent events arrive as they are written). WebSocket
 * upgrades are passed through and count as a request in flight for as long as they stay open,
 * bounded by the request timeout as on Cloud Run.
 *
 * Every request gets an answer: 429/500 when no instance could take it in time, 503 when its
 * instance crashed or never became ready, 504 when it ran past `timeoutSeconds` (which includes
 * the time spent waiting for an instance to start).
 */
import { randomFillSync } from 'node:crypto';
import http from 'node:http';
import http2 from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { NoInstance, type Instance, type Revision } from './revision.js';

/** Where a request goes, decided by the service (traffic split, tag URL, Host header). */
export interface Route {
  revision: Revision;
  timeoutMs: number;
}

export interface ProxyDeps {
  route(req: http.IncomingMessage): Route | { status: number; message: string };
  /** Every answered request: the revision (when one was chosen), the status and the latency. */
  finished(revision: Revision | undefined, status: number, seconds: number, req: http.IncomingMessage): void;
  /** A request the simulator itself answered with an error (429/500/503/504), and why. */
  rejected?(revision: Revision, status: number, req: http.IncomingMessage, message: string): void;
}

export interface Proxy {
  port: number;
  close(): Promise<void>;
}

/** Headers that describe one connection, not the request: never forwarded (RFC 9110 7.6.1). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

export async function startProxy(port: number, deps: ProxyDeps, host = '127.0.0.1'): Promise<Proxy> {
  const sockets = new Set<Duplex>();
  const track = (s: Duplex) => { sockets.add(s); s.once('close', () => sockets.delete(s)); };
  const h1 = http.createServer({ keepAliveTimeout: 620_000, requestTimeout: 0, headersTimeout: 60_000 });
  h1.on('request', (req, res) => { void handle(req, res, deps); });
  h1.on('upgrade', (req, socket, head) => { track(socket); void handleUpgrade(req, socket, head, deps); });
  h1.on('clientError', (_err, socket) => { if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n'); });
  // HTTP/2 with prior knowledge (h2c), as gRPC clients speak it; Google's front end takes HTTP/2 too.
  const h2 = http2.createServer({});
  h2.on('request', (req, res) => { void handle(req as unknown as http.IncomingMessage, res as unknown as http.ServerResponse, deps); });
  h2.on('sessionError', () => {});
  // One port for both: the first bytes of a connection say which protocol it speaks.
  const front = net.createServer({ noDelay: true }, (socket) => {
    track(socket);
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      socket.unshift(chunk);
      (chunk.length >= 3 && chunk.toString('latin1', 0, 3) === 'PRI' ? h2 : h1).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen({ port, host, exclusive: true }, () => { front.off('error', reject); resolve(); });
  });
  return {
    port: (front.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => {
      front.close(() => resolve());
      h1.close();
      h2.close();
      for (const s of sockets) s.destroy();
    }),
  };
}

/** Copies request headers for the instance: hop-by-hop ones out, Cloud Run's in. */
/** Header names a `Connection` header lists (beyond keep-alive/close/upgrade): hop-by-hop too. */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const text = String(value).toLowerCase();
  if (text === 'keep-alive' || text === 'close' || text === 'upgrade') return undefined;
  return new Set(text.split(',').map((t) => t.trim()).filter(Boolean));
}

export function forwardHeaders(req: http.IncomingMessage, keepUpgrade = false): http.OutgoingHttpHeaders {
  const listed = connectionTokens(req.headers.connection);
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(':')) continue;
    if ((HOP_BY_HOP.has(name) || listed?.has(name)) && !(keepUpgrade && (name === 'upgrade' || name === 'connection'))) continue;
    out[name] = value;
  }
  if (!out.host && req.headers[':authority']) out.host = String(req.headers[':authority']);
  if (keepUpgrade) { out.connection = 'Upgrade'; out.upgrade = req.headers.upgrade; }
  const client = req.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1';
  out['x-forwarded-for'] = req.headers['x-forwarded-for'] ? `${String(req.headers['x-forwarded-for'])}, ${client}` : client;
  out['x-forwarded-proto'] = 'http';
  Object.assign(out, traceHeaders(req.headers));
  return out;
}

/**
 * Cloud Run's trace headers: the incoming trace is continued (W3C `traceparent` first, then
 * `X-Cloud-Trace-Context`), else a new one starts; the front end's own span id is the parent the
 * instance sees, in both formats.
 */
export function traceHeaders(headers: http.IncomingHttpHeaders): { traceparent: string; 'x-cloud-trace-context': string } {
  let traceId: string | undefined;
  let sampled = true;
  const tp = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(String(headers.traceparent ?? '').trim());
  if (tp && !/^0+$/.test(tp[1])) {
    traceId = tp[1];
    sampled = (parseInt(tp[3], 16) & 1) === 1;
  } else {
    const xc = /^([0-9a-fA-F]{32})(?:\/(\d+))?(?:;o=([01]))?/.exec(String(headers['x-cloud-trace-context'] ?? '').trim());
    if (xc) {
      traceId = xc[1].toLowerCase();
      if (xc[3] !== undefined) sampled = xc[3] === '1';
    }
  }
  traceId ??= randomHex(16);
  let spanHex = randomHex(8);
  if (/^0+$/.test(spanHex)) spanHex = '0000000000000001';
  return {
    traceparent: `00-${traceId}-${spanHex}-${sampled ? '01' : '00'}`,
    'x-cloud-trace-context': `${traceId}/${BigInt(`0x${spanHex}`).toString()};o=${sampled ? 1 : 0}`,
  };
}

/**
 * Random ids for trace headers from a pool filled 64 KiB at a time: one `randomBytes` call per
 * request (two per request here) cost more than the rest of the header work together.
 */
const pool = Buffer.alloc(65_536);
let poolOffset = pool.length;
function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) { randomFillSync(pool); poolOffset = 0; }
  const hex = pool.toString('hex', poolOffset, poolOffset + bytes);
  poolOffset += bytes;
  return hex;
}

function responseHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const listed = connectionTokens(headers.connection);
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    out[name] = value;
  }
  return out;
}

const STATUS_TEXT: Record<number, string> = {
  429: 'Rate exceeded.',
  500: 'The request was aborted because there was no available instance.',
  503: 'Service Unavailable',
  504: 'upstream request timeout',
};

function answer(res: http.ServerResponse, status: number, message: string): void {
  if (res.headersSent) { res.destroy(); return; }
  const body = `${STATUS_TEXT[status] ?? http.STATUS_CODES[status] ?? 'Error'}\n${message && message !== STATUS_TEXT[status] ? `${message}\n` : ''}`;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-devloop-cloud-run': message.slice(0, 200).replace(/[^\x20-\x7e]/g, ' ') });
  res.end(body);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, deps: ProxyDeps): Promise<void> {
  const began = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - began) / 1e9;
  const route = deps.route(req);
  if (!('revision' in route)) {
    answer(res, route.status, route.message);
    deps.finished(undefined, route.status, seconds(), req);
    return;
  }
  const { revision } = route;
  let done = false;
  const finish = (status: number) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    deps.finished(revision, status, seconds(), req);
  };
  const fail = (status: 429 | 500 | 503 | 504, message: string) => {
    if (done) return;
    revision.countError(status);
    deps.rejected?.(revision, status, req, message);
    answer(res, status, message);
    finish(status);
  };

  // The request timeout counts from arrival, queueing and cold start included. The controller
  // that ends a wait in the queue is made only when the request has to wait.
  let waiting: AbortController | undefined;
  let upstream: http.ClientRequest | undefined;
  let upstreamStream: http2.ClientHttp2Stream | undefined;
  const timer = setTimeout(() => {
    waiting?.abort();
    upstream?.destroy(new Error('timeout'));
    upstreamStream?.close(http2.constants.NGHTTP2_CANCEL);
    fail(504, `the request exceeded the ${Math.round(route.timeoutMs / 1000)} s timeout (timeoutSeconds)`);
  }, route.timeoutMs);
  timer.unref();
  // The client gave up: stop waiting and stop the instance's work on it.
  res.once('close', () => {
    if (done) return;
    waiting?.abort();
    upstream?.destroy();
    upstreamStream?.close(http2.constants.NGHTTP2_CANCEL);
    finish(499);
  });

  let instance = revision.tryAcquire();
  if (!instance) {
    waiting = new AbortController();
    try {
      instance = await revision.acquire(waiting.signal);
    } catch (err) {
      if (err instanceof NoInstance) {
        if (!waiting.signal.aborted) fail(err.status, err.message);
      } else {
        fail(503, err instanceof Error ? err.message : String(err));
      }
      return;
    }
  }
  if (done || !instance.handle) {
    revision.release(instance);
    if (!done) fail(503, 'the instance went away');
    return;
  }

  const bodiless = !req.headers['transfer-encoding'] && (req.headers['content-length'] === undefined || req.headers['content-length'] === '0');
  const forward = (instance: Instance, attempt: number): void => {
    let released = false;
    const release = () => { if (!released) { released = true; revision.release(instance); } };
    const up = http.request({
      host: instance.handle!.host,
      port: instance.handle!.port,
      method: req.method,
      path: req.url,
      headers: forwardHeaders(req),
      agent: instance.agent,
    });
    upstream = up;
    up.on('response', (upRes) => {
      if (done) { upRes.resume(); release(); return; }
      writeHead(res, upRes.statusCode ?? 502, upRes.statusMessage, responseHeaders(upRes.headers));
      upRes.pipe(res);
      upRes.once('end', () => { release(); finish(upRes.statusCode ?? 502); });
      upRes.once('error', () => { release(); if (!done) { res.destroy(); finish(502); } });
      upRes.once('aborted', () => { release(); if (!done) { res.destroy(); finish(502); } });
    });
    up.once('error', (err: NodeJS.ErrnoException) => {
      release();
      if (done) return;
      // Refused: nothing listens any more (the instance died and its exit is not seen yet). A
      // reset on a reused keep-alive connection: the instance closed it as it was being reused.
      // Either way the request never reached the instance, so one retry on another is safe.
      const refused = err.code === 'ECONNREFUSED' || err.code === 'EHOSTUNREACH';
      const staleSocket = up.reusedSocket && err.code === 'ECONNRESET';
      if (refused) revision.broken(instance, `refused a connection (${err.code})`);
      else revision.suspect(instance);
      if ((refused || staleSocket) && attempt === 0 && bodiless) {
        (waiting ??= new AbortController(), revision.acquire(waiting.signal)).then((next) => {
          if (done || !next.handle) { revision.release(next); return; }
          forward(next, 1);
        }, (e: unknown) => {
          if (e instanceof NoInstance) { if (!waiting?.signal.aborted) fail(e.status, e.message); } else fail(503, String(e));
        });
        return;
      }
      // The instance crashed, or closed the connection without answering.
      fail(503, `the instance failed while handling the request (${err.code ?? err.message})`);
    });
    up.once('close', release);
    if (bodiless) up.end(); else req.pipe(up);
  };
  if (revision.template.port.name === 'h2c') forwardH2c(instance); else forward(instance, 0);

  /** To an instance that speaks HTTP/2 cleartext (port named h2c): one session per instance, a stream per request. */
  function forwardH2c(instance: Instance): void {
    let released = false;
    const release = () => { if (!released) { released = true; revision.release(instance); } };
    let session: http2.ClientHttp2Session;
    try {
      session = instance.h2Session();
    } catch (err) {
      release();
      fail(503, `cannot reach the instance over h2c (${err instanceof Error ? err.message : String(err)})`);
      return;
    }
    const headers: http2.OutgoingHttpHeaders = { ...forwardHeaders(req) };
    const authority = String(headers.host ?? `${instance.handle!.host}:${instance.handle!.port}`);
    delete headers.host;
    // gRPC needs `te: trailers`; it is the one value HTTP/2 allows.
    if (/\btrailers\b/i.test(String(req.headers.te ?? ''))) headers.te = 'trailers';
    const stream = session.request({ ...headers, ':method': req.method ?? 'GET', ':path': req.url ?? '/', ':authority': authority, ':scheme': 'http' }, { endStream: bodiless });
    upstreamStream = stream;
    stream.once('response', (h) => {
      if (done) { stream.close(); release(); return; }
      writeHead(res, Number(h[':status'] ?? 502), undefined, responseHeaders(h as http.IncomingHttpHeaders));
      stream.pipe(res);
    });
    stream.once('trailers', (t) => { if (!done) res.addTrailers(responseHeaders(t as http.IncomingHttpHeaders) as Record<string, string>); });
    stream.once('end', () => { release(); finish(res.statusCode); });
    stream.once('error', (err: NodeJS.ErrnoException) => {
      release();
      if (done) return;
      revision.suspect(instance);
      fail(503, `the instance failed while handling the request (${err.code ?? err.message})`);
    });
    stream.once('close', () => {
      release();
      if (!done && res.headersSent) { res.destroy(); finish(502); }
    });
    if (!bodiless) req.pipe(stream);
  }
}

/** HTTP/1 keeps the reason phrase; HTTP/2 has none. Headers go out at once (server-sent events). */
function writeHead(res: http.ServerResponse, status: number, message: string | undefined, headers: http.OutgoingHttpHeaders): void {
  if ((res.req as http.IncomingMessage | undefined)?.httpVersionMajor === 2 || message === undefined) res.writeHead(status, headers);
  else res.writeHead(status, message, headers);
  // A response of known length goes out with its first body chunk (one write, not two); one
  // that streams (chunked, server-sent events) shows its headers at once.
  if (headers['content-length'] === undefined || String(headers['content-type'] ?? '').startsWith('text/event-stream')) {
    (res as { flushHeaders?: () => void }).flushHeaders?.();
  }
}

async function handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, deps: ProxyDeps): Promise<void> {
  const began = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - began) / 1e9;
  const refuse = (status: number, message: string) => {
    if (socket.writable) socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(message) + 1}\r\nconnection: close\r\n\r\n${message}\n`);
  };
  const route = deps.route(req);
  if (!('revision' in route)) { refuse(route.status, route.message); deps.finished(undefined, route.status, seconds(), req); return; }
  const { revision } = route;
  const waiting = new AbortController();
  socket.once('close', () => waiting.abort());
  let instance: Instance;
  try {
    instance = await revision.acquire(waiting.signal);
  } catch (err) {
    const status = err instanceof NoInstance ? err.status : 503;
    if (!waiting.signal.aborted) { revision.countError(status as 503); refuse(status, err instanceof Error ? err.message : String(err)); }
    deps.finished(revision, status, seconds(), req);
    return;
  }
  let released = false;
  const release = () => { if (!released) { released = true; revision.release(instance); } };
  if (!instance.handle || socket.destroyed) { release(); socket.destroy(); return; }
  // A WebSocket is a request in flight for as long as it is open, and the timeout ends it.
  const timer = setTimeout(() => socket.destroy(), route.timeoutMs);
  timer.unref();
  socket.once('close', () => { clearTimeout(timer); release(); });
  const upstream = http.request({
    host: instance.handle.host, port: instance.handle.port, method: req.method, path: req.url,
    headers: forwardHeaders(req, true), agent: false,
  });
  upstream.once('upgrade', (up, upSocket, upHead) => {
    let lines = `HTTP/1.1 ${up.statusCode} ${up.statusMessage}\r\n`;
    for (let i = 0; i < up.rawHeaders.length; i += 2) lines += `${up.rawHeaders[i]}: ${up.rawHeaders[i + 1]}\r\n`;
    socket.write(`${lines}\r\n`);
    if (upHead.length) socket.write(upHead);
    if (head.length) upSocket.write(head);
    upSocket.pipe(socket);
    socket.pipe(upSocket);
    upSocket.once('close', () => socket.destroy());
    socket.once('close', () => upSocket.destroy());
    upSocket.once('error', () => socket.destroy());
    socket.once('error', () => upSocket.destroy());
    deps.finished(revision, 101, seconds(), req);
  });
  upstream.once('response', (up) => {
    // The instance declined the upgrade: relay its answer as is.
    let lines = `HTTP/1.1 ${up.statusCode} ${up.statusMessage}\r\n`;
    for (let i = 0; i < up.rawHeaders.length; i += 2) lines += `${up.rawHeaders[i]}: ${up.rawHeaders[i + 1]}\r\n`;
    socket.write(`${lines}\r\n`);
    up.pipe(socket);
    up.once('end', () => { release(); deps.finished(revision, up.statusCode ?? 502, seconds(), req); });
  });
  upstream.once('error', (err: NodeJS.ErrnoException) => {
    revision.suspect(instance);
    revision.countError(503);
    refuse(503, `the instance failed while handling the upgrade (${err.code ?? err.message})`);
    release();
    deps.finished(revision, 503, seconds(), req);
  });
  upstream.end();
}
