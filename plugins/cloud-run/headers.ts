/**
 * The headers the Cloud Run front end changes on the way through: hop-by-hop ones (and every
 * header HTTP/2 forbids) removed in both directions, Cloud Run's own added to requests
 * (X-Forwarded-For, X-Forwarded-Proto, X-Cloud-Trace-Context and traceparent).
 */
import { randomFillSync } from 'node:crypto';
import type http from 'node:http';

/**
 * Headers that describe one connection, not the request: never forwarded (RFC 9110 7.6.1).
 * They include every header HTTP/2 forbids (RFC 9113 8.2.2: connection-specific ones, and
 * `http2-settings` of the HTTP/1 upgrade) so that nothing crosses from one protocol to the other
 * that the other refuses; `te: trailers` is put back for h2c instances (gRPC needs it).
 */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings']);

/** Header names a `Connection` header lists (beyond keep-alive/close/upgrade): hop-by-hop too. */
function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const text = String(value).toLowerCase();
  if (text === 'keep-alive' || text === 'close' || text === 'upgrade') return undefined;
  return new Set(text.split(',').map((t) => t.trim()).filter(Boolean));
}

/**
 * Copies request headers for the instance: hop-by-hop ones out, Cloud Run's in. `trace` is the
 * request's context when the front end records a span for it (its span id is the parent the
 * instance sees); otherwise one is made here.
 */
export function forwardHeaders(req: http.IncomingMessage, keepUpgrade = false, trace?: TraceContext): http.OutgoingHttpHeaders {
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
  Object.assign(out, traceHeaders(req.headers, trace));
  return out;
}

/** The front end's place in a request's trace: the trace, the caller's span, its own span. */
export interface TraceContext {
  traceId: string;
  /** The caller's span (16 hex digits), when the request came with a trace. */
  parentSpanId?: string;
  /** The front end's span: the parent the instance sees. */
  spanId: string;
  sampled: boolean;
}

/**
 * The incoming trace is continued (W3C `traceparent` first, then `X-Cloud-Trace-Context`), else a
 * new one starts; the front end's span gets a new id.
 */
export function traceContext(headers: http.IncomingHttpHeaders): TraceContext {
  let traceId: string | undefined;
  let parentSpanId: string | undefined;
  let sampled = true;
  const tp = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(String(headers.traceparent ?? '').trim());
  if (tp && !/^0+$/.test(tp[1])) {
    traceId = tp[1];
    if (!/^0+$/.test(tp[2])) parentSpanId = tp[2];
    sampled = (parseInt(tp[3], 16) & 1) === 1;
  } else {
    const xc = /^([0-9a-fA-F]{32})(?:\/(\d+))?(?:;o=([01]))?/.exec(String(headers['x-cloud-trace-context'] ?? '').trim());
    if (xc) {
      traceId = xc[1].toLowerCase();
      const id = xc[2] !== undefined ? BigInt(xc[2]) : 0n;
      if (id > 0n && id < 1n << 64n) parentSpanId = id.toString(16).padStart(16, '0');
      if (xc[3] !== undefined) sampled = xc[3] === '1';
    }
  }
  traceId ??= randomHex(16);
  let spanId = randomHex(8);
  if (/^0+$/.test(spanId)) spanId = '0000000000000001';
  return { traceId, parentSpanId, spanId, sampled };
}

/** Cloud Run's trace headers: the front end's span id is the parent the instance sees, in both formats. */
export function traceHeaders(headers: http.IncomingHttpHeaders, trace = traceContext(headers)): { traceparent: string; 'x-cloud-trace-context': string } {
  const { traceId, spanId, sampled } = trace;
  return {
    traceparent: `00-${traceId}-${spanId}-${sampled ? '01' : '00'}`,
    'x-cloud-trace-context': `${traceId}/${BigInt(`0x${spanId}`).toString()};o=${sampled ? 1 : 0}`,
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

/** The instance's response headers (or trailers) for the client: hop-by-hop ones out. */
export function responseHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const listed = connectionTokens(headers.connection);
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || name.startsWith(':') || HOP_BY_HOP.has(name) || listed?.has(name)) continue;
    out[name] = value;
  }
  return out;
}
