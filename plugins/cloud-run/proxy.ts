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
 * the time spent waiting for an instance to start), 502 when the exchange cannot be carried from
 * one protocol to the other (an instance's status or header HTTP/2 forbids, a header Node
 * refuses). A bad exchange fails that one request, never the front end or the session.
 *
 * While the session keeps traces, each request is also a span whose id is the parent the
 * instance sees in its traceparent (request-span.ts).
 *
 * Connections (accept, protocol sniffing, timeouts, the cap) are `front-door.ts`'s.
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { defaultLimits, openFrontDoor, type FrontDoorLimits, type FrontDoorStats } from './front-door.js';
import { forwardHeaders, responseHeaders } from './headers.js';
import { requestSpan, type RequestTracing } from './request-span.js';
import { NoInstance, type Instance, type Revision } from './revision.js';

/** Where a request goes, decided by the service (traffic split, tag URL, Host header). */
export interface Route {
  revision: Revision;
  timeoutMs: number;
}

type Routed = Route | { status: number; message: string };

export interface ProxyDeps {
  /** A promise when the request must wait for a revision to be ready first (the service's first one). */
  route(req: http.IncomingMessage): Routed | Promise<Routed>;
  /** Every answered request: the revision (when one was chosen), the status and the latency. */
  finished(revision: Revision | undefined, status: number, seconds: number, req: http.IncomingMessage): void;
  /**
   * A request the simulator itself answered with an error (429/500/502/503/504), and why. No
   * revision when the failure came before one was chosen.
   */
  rejected?(revision: Revision | undefined, status: number, req: http.IncomingMessage, message: string): void;
  /** A connection was closed at once because the front end had `maxConnections` open. */
  refused?(limits: FrontDoorLimits): void;
  /** Where the front end's span of each request goes, while something keeps traces (request-span.ts). */
  tracing?: RequestTracing;
}

export interface Proxy {
  port: number;
  stats(): FrontDoorStats;
  close(): Promise<void>;
}

export async function startProxy(port: number, deps: ProxyDeps, host = '127.0.0.1', limits: Partial<FrontDoorLimits> = {}): Promise<Proxy> {
  const wanted = { ...defaultLimits(), ...limits };
  // Timeouts are the front door's (this server is never listen()ed, so its own never run).
  const h1 = http.createServer({ keepAliveTimeout: wanted.idleTimeoutMs, requestTimeout: 0, headersTimeout: wanted.headersTimeoutMs });
  h1.on('request', (req, res) => { void handle(req, res, deps).catch((err: unknown) => lastResort(req, res, err, deps)); });
  h1.on('upgrade', (req, socket, head) => {
    void handleUpgrade(req, socket, head, deps).catch((err: unknown) => {
      socket.destroy();
      deps.rejected?.(undefined, 502, req, `the upgrade failed in the simulator: ${describe(err)}`);
    });
  });
  h1.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    if (socket.writable && !(socket as { _httpMessage?: http.ServerResponse })._httpMessage?.headersSent) {
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    } else {
      socket.destroy();
    }
  });
  // HTTP/2 with prior knowledge (h2c), as gRPC clients speak it; Google's front end takes HTTP/2 too.
  const h2 = http2.createServer({});
  h2.on('request', (req, res) => {
    const r = req as unknown as http.IncomingMessage;
    const s = res as unknown as http.ServerResponse;
    void handle(r, s, deps).catch((err: unknown) => lastResort(r, s, err, deps));
  });
  h2.on('sessionError', () => {});
  const door = openFrontDoor(h1, h2, wanted, { refused: deps.refused });
  const front = door.server;
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen({ port, host, exclusive: true }, () => { front.off('error', reject); resolve(); });
  });
  return {
    port: (front.address() as AddressInfo).port,
    stats: door.stats,
    close: () => new Promise<void>((resolve) => {
      front.close(() => resolve());
      h1.close();
      h2.close();
      door.destroyAll();
    }),
  };
}

function describe(err: unknown): string {
  return err instanceof Error ? `${(err as NodeJS.ErrnoException).code ? `${(err as NodeJS.ErrnoException).code}: ` : ''}${err.message}` : String(err);
}

/** A bug in `handle` fails its request with 502 and says why; it never reaches the process. */
function lastResort(req: http.IncomingMessage, res: http.ServerResponse, err: unknown, deps: ProxyDeps): void {
  const message = `the simulator failed while proxying the request (${describe(err)})`;
  deps.rejected?.(undefined, 502, req, message);
  answer(res, 502, message);
}

const STATUS_TEXT: Record<number, string> = {
  429: 'Rate exceeded.',
  500: 'The request was aborted because there was no available instance.',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'upstream request timeout',
};

function answer(res: http.ServerResponse, status: number, message: string): void {
  if (res.headersSent) { res.destroy(); return; }
  const body = `${STATUS_TEXT[status] ?? http.STATUS_CODES[status] ?? 'Error'}\n${message && message !== STATUS_TEXT[status] ? `${message}\n` : ''}`;
  try {
    // Headers an instance's answer left behind before it was refused must not go out with ours.
    for (const name of res.getHeaderNames()) res.removeHeader(name);
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-devloop-cloud-run': message.slice(0, 200).replace(/[^\x20-\x7e]/g, ' ') });
    res.end(body);
  } catch {
    res.destroy();
  }
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse, deps: ProxyDeps): Promise<void> {
  const began = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - began) / 1e9;
  const span = requestSpan(deps.tracing, req);
  const routed = deps.route(req);
  // Waiting for the first revision to serve is queueing too (and usually a cold start).
  let waited = routed instanceof Promise ? span?.queued() : undefined;
  let route: Routed;
  if (routed instanceof Promise) {
    // Held until a revision serves: a client that leaves meanwhile is not sent on afterwards.
    let gone = false;
    const leave = () => { gone = true; };
    res.once('close', leave);
    route = await routed;
    res.off('close', leave);
    if (gone) { span?.end(499, undefined); deps.finished(undefined, 499, seconds(), req); return; }
  } else {
    route = routed;
  }
  if (!('revision' in route)) {
    answer(res, route.status, route.message);
    span?.end(route.status, undefined);
    deps.finished(undefined, route.status, seconds(), req);
    return;
  }
  const { revision } = route;
  let done = false;
  const finish = (status: number) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    span?.end(status, revision);
    deps.finished(revision, status, seconds(), req);
  };
  const fail = (status: 429 | 500 | 503 | 504, message: string) => {
    if (done) return;
    revision.countError(status);
    deps.rejected?.(revision, status, req, message);
    answer(res, status, message);
    finish(status);
  };
  // The exchange cannot be carried to the client (or to the instance): this request fails, the
  // instance is not to blame and stays in rotation.
  const badGateway = (message: string) => {
    if (done) return;
    deps.rejected?.(revision, 502, req, message);
    answer(res, 502, message);
    finish(502);
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
    waited ??= span?.queued();
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
  waited?.(instance);
  if (done || !instance.handle) {
    revision.release(instance);
    if (!done) fail(503, 'the instance went away');
    return;
  }

  const bodiless = hasNoBody(req);
  const forward = (instance: Instance, attempt: number): void => {
    let released = false;
    const release = () => { if (!released) { released = true; revision.release(instance); } };
    const headers = forwardHeaders(req, false, span?.trace);
    // A body of unknown length (chunked HTTP/1, or HTTP/2 without content-length) goes chunked:
    // Node sends a GET's body unframed otherwise.
    if (!bodiless && headers['content-length'] === undefined) headers['transfer-encoding'] = 'chunked';
    let up: http.ClientRequest;
    try {
      up = http.request({ host: instance.handle!.host, port: instance.handle!.port, method: req.method, path: req.url, headers, agent: instance.agent });
    } catch (err) {
      release();
      badGateway(`the request cannot be forwarded to the instance (${describe(err)})`);
      return;
    }
    upstream = up;
    up.on('response', (upRes) => {
      if (done) { upRes.resume(); release(); return; }
      const refused = sendHead(res, upRes.statusCode ?? 502, upRes.statusMessage, responseHeaders(upRes.headers));
      if (refused) {
        upRes.resume();
        release();
        badGateway(refused);
        return;
      }
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
    const headers: http2.OutgoingHttpHeaders = { ...forwardHeaders(req, false, span?.trace) };
    const authority = String(headers.host ?? `${instance.handle!.host}:${instance.handle!.port}`);
    delete headers.host;
    // gRPC needs `te: trailers`; it is the one value HTTP/2 allows.
    if (/\btrailers\b/i.test(String(req.headers.te ?? ''))) headers.te = 'trailers';
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({ ...headers, ':method': req.method ?? 'GET', ':path': req.url ?? '/', ':authority': authority, ':scheme': 'http' }, { endStream: bodiless });
    } catch (err) {
      release();
      badGateway(`the request cannot be forwarded to the instance over h2c (${describe(err)})`);
      return;
    }
    upstreamStream = stream;
    stream.once('response', (h) => {
      if (done) { stream.close(); release(); return; }
      const refused = sendHead(res, Number(h[':status'] ?? 502), undefined, responseHeaders(h as http.IncomingHttpHeaders));
      if (refused) {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        release();
        badGateway(refused);
        return;
      }
      stream.pipe(res);
    });
    stream.once('trailers', (t) => {
      if (done) return;
      try {
        res.addTrailers(responseHeaders(t as http.IncomingHttpHeaders) as Record<string, string>);
      } catch {
        // A trailer the client's protocol refuses is dropped; the body already went out.
      }
    });
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

/**
 * Whether a request has no body to forward. HTTP/1 says so in its headers; an HTTP/2 request has
 * one unless its HEADERS frame ended the stream, whatever content-length says (gRPC sends none).
 */
function hasNoBody(req: http.IncomingMessage): boolean {
  if (req.httpVersionMajor === 2) return (req as unknown as http2.Http2ServerRequest).stream?.endAfterHeaders ?? req.readableEnded;
  return !req.headers['transfer-encoding'] && (req.headers['content-length'] === undefined || req.headers['content-length'] === '0');
}

/**
 * The instance's status and headers to the client: HTTP/1 keeps the reason phrase; HTTP/2 has
 * none. Headers go out at once (server-sent events). Returns why when the client's protocol
 * cannot carry them (HTTP/2 takes statuses 200..599 only), having sent nothing.
 */
function sendHead(res: http.ServerResponse, status: number, message: string | undefined, headers: http.OutgoingHttpHeaders): string | undefined {
  const h2 = (res.req as http.IncomingMessage | undefined)?.httpVersionMajor === 2;
  if (h2 && !(status >= 200 && status <= 599)) return `the instance answered status ${status}, which HTTP/2 cannot carry (200..599)`;
  try {
    if (h2 || message === undefined) res.writeHead(status, headers);
    else res.writeHead(status, message, headers);
  } catch (err) {
    return `the instance's answer (status ${status}) cannot be passed on: ${describe(err)}`;
  }
  // A response of known length goes out with its first body chunk (one write, not two); one
  // that streams (chunked, server-sent events) shows its headers at once.
  if (headers['content-length'] === undefined || String(headers['content-type'] ?? '').startsWith('text/event-stream')) {
    (res as { flushHeaders?: () => void }).flushHeaders?.();
  }
  return undefined;
}

async function handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, deps: ProxyDeps): Promise<void> {
  const began = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - began) / 1e9;
  const refuse = (status: number, message: string) => {
    if (socket.writable) socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(message) + 1}\r\nconnection: close\r\n\r\n${message}\n`);
  };
  const routed = deps.route(req);
  const route = routed instanceof Promise ? await routed : routed;
  if (socket.destroyed) { deps.finished(undefined, 499, seconds(), req); return; }
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
