/**
 * The listening socket of a Cloud Run front end: accepts connections (up to a cap), tells HTTP/1
 * from HTTP/2 by the first bytes, hands each to the right server, and times out connections that
 * send too little. Without this a client could hold descriptors forever (an idle or half-sent
 * connection is never timed out otherwise: the HTTP/1 server is never `listen()`ed, so Node's own
 * headers/request timeout checker never runs for it), and once devloop runs out of descriptors
 * everything else it does fails (logs, watchers, /proc reads).
 *
 * Timeouts, each with a Cloud Run-like default, all configurable (tests use 1 s):
 * - `headersTimeoutMs` (60 s, Node's own headersTimeout default): from accept until the protocol is
 *   known (24 bytes of the HTTP/2 preface, or anything else) and the first request's headers are
 *   complete (HTTP/1), or the first stream opens (HTTP/2). A 408 answers an HTTP/1 client.
 * - `idleTimeoutMs` (620 s, the Google front end's keep-alive timeout): a connection with no
 *   request in flight is closed after it; for HTTP/1 the next request's headers must also be
 *   complete by then (its bytes are read by Node's parser, out of sight of this file). A request
 *   in flight is bounded by the revision's timeoutSeconds instead.
 * - `maxConnections`: open connections per front end; over it a new one is closed at once and
 *   counted. Default: a quarter of the process's descriptor limit (a proxied request holds one on
 *   each side, and the session needs the rest for logs, watchers and instances), 256..10,000.
 */
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type http2 from 'node:http2';
import net from 'node:net';

export interface FrontDoorLimits {
  headersTimeoutMs: number;
  idleTimeoutMs: number;
  maxConnections: number;
}

export interface FrontDoorStats {
  /** Connections open now. */
  open: number;
  /** Connections closed at once because `maxConnections` were open. */
  refused: number;
  /** Connections closed by a timeout: before the protocol was known, before the first request, idle. */
  timedOut: { protocol: number; headers: number; idle: number };
}

export interface FrontDoorEvents {
  /** A connection was refused at the cap (called for each; the caller rate-limits what it says). */
  refused?(limits: FrontDoorLimits): void;
}

export interface FrontDoor {
  server: net.Server;
  stats(): FrontDoorStats;
  /** Destroys every connection still open. */
  destroyAll(): void;
}

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** `h2` once the whole HTTP/2 preface is there, `h1` as soon as the bytes differ from it, else undefined (wait). */
export function sniffProtocol(head: Buffer): 'h1' | 'h2' | undefined {
  const n = Math.min(head.length, PREFACE.length);
  if (!head.subarray(0, n).equals(PREFACE.subarray(0, n))) return 'h1';
  return head.length >= PREFACE.length ? 'h2' : undefined;
}

export function defaultLimits(): FrontDoorLimits {
  return { headersTimeoutMs: 60_000, idleTimeoutMs: 620_000, maxConnections: Math.max(256, Math.min(10_000, Math.floor(descriptorLimit() / 4))) };
}

function descriptorLimit(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) return Number(m[1]);
  } catch { /* not Linux */ }
  return 1024;
}

/** Per-connection timer; `arm` replaces the running one. */
class Deadline {
  private timer?: NodeJS.Timeout;
  arm(ms: number, fire: () => void): void {
    this.clear();
    this.timer = setTimeout(fire, ms);
    this.timer.unref();
  }
  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

export function openFrontDoor(h1: http.Server, h2: http2.Http2Server, limits: FrontDoorLimits, events: FrontDoorEvents = {}): FrontDoor {
  const sockets = new Set<net.Socket>();
  const deadlines = new WeakMap<object, Deadline>();
  const counts: FrontDoorStats = { open: 0, refused: 0, timedOut: { protocol: 0, headers: 0, idle: 0 } };
  const inFlight = new WeakMap<object, number>();

  // HTTP/1: the first request's headers within headersTimeoutMs of the hand-off; between requests
  // the idle timeout (which also bounds the next request's headers).
  h1.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const socket = req.socket;
    deadlines.get(socket)?.clear();
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const n = (inFlight.get(socket) ?? 1) - 1;
      inFlight.set(socket, n);
      if (n === 0 && !socket.destroyed) {
        deadlines.get(socket)?.arm(limits.idleTimeoutMs, () => { counts.timedOut.idle++; socket.destroy(); });
      }
    });
  });
  // A WebSocket is bounded by the request timeout in the proxy, not by these.
  h1.prependListener('upgrade', (req: http.IncomingMessage) => deadlines.get(req.socket)?.clear());

  // HTTP/2: the first stream within headersTimeoutMs; a session with no stream open is closed
  // (GOAWAY) after the idle timeout.
  h2.on('session', (session: http2.ServerHttp2Session) => {
    const deadline = new Deadline();
    let open = 0;
    const closeIdle = (kind: 'headers' | 'idle') => () => {
      if (session.closed || session.destroyed) return;
      counts.timedOut[kind]++;
      session.close();
      // A client that never reads would keep a graceful close waiting.
      setTimeout(() => session.destroy(), 1000).unref();
    };
    deadline.arm(limits.headersTimeoutMs, closeIdle('headers'));
    session.on('stream', (stream: http2.ServerHttp2Stream) => {
      open++;
      deadline.clear();
      stream.once('close', () => {
        if (--open === 0 && !session.closed && !session.destroyed) deadline.arm(limits.idleTimeoutMs, closeIdle('idle'));
      });
    });
    session.once('close', () => deadline.clear());
  });

  const server = net.createServer({ noDelay: true }, (socket) => {
    sockets.add(socket);
    counts.open++;
    const deadline = new Deadline();
    deadlines.set(socket, deadline);
    socket.once('close', () => { sockets.delete(socket); counts.open--; deadline.clear(); });
    socket.on('error', () => {});

    // One port for both protocols: wait until the bytes match the HTTP/2 preface whole, or differ
    // from it (a first segment of "P" or "PR" proves nothing yet).
    let head: Buffer = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = head.length ? Buffer.concat([head, chunk]) : chunk;
      const protocol = sniffProtocol(head);
      if (!protocol) return;
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      socket.unshift(head);
      if (protocol === 'h1') {
        deadline.arm(limits.headersTimeoutMs, () => { counts.timedOut.headers++; requestTimeout(socket); });
        h1.emit('connection', socket);
      } else {
        deadline.clear();
        h2.emit('connection', socket);
      }
      process.nextTick(() => socket.resume());
    };
    const onEnd = () => socket.destroy();
    socket.on('data', onData);
    socket.once('end', onEnd);
    deadline.arm(limits.headersTimeoutMs, () => { counts.timedOut.protocol++; socket.destroy(); });
  });
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => { counts.refused++; events.refused?.(limits); });

  return {
    server,
    stats: () => ({ ...counts, timedOut: { ...counts.timedOut } }),
    destroyAll: () => { for (const s of sockets) s.destroy(); },
  };
}

/** What Node answers when its own headers timeout fires, then the connection goes. */
function requestTimeout(socket: net.Socket): void {
  if (socket.destroyed) return;
  if (socket.writable) socket.end('HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  setTimeout(() => socket.destroy(), 1000).unref();
}
