/**
 * Host-header checks for the HTTP endpoints devloop serves on loopback for itself (metrics, the
 * metadata server). Listening on 127.0.0.1 keeps other machines out but not a web page in the
 * user's browser: with DNS rebinding, `evil.example` resolves to 127.0.0.1 and the page's
 * scripts read the answers as same-origin. The browser still sends `Host: evil.example`, so
 * accepting only loopback names (and the few a server is addressed by on purpose) stops it.
 *
 * Not for a Cloud Run service's own front end: that serves the user's traffic, whose Host is the
 * user's business (tag routing reads `TAG---` Host names).
 */
import type http from 'node:http';

/** `localhost`, `127.x.x.x`, `[::1]` (and `::1`), each with or without a port. */
export function isLoopbackHost(host: string | undefined, extra: Iterable<string> = []): boolean {
  const name = hostName(host);
  if (name === undefined) return false;
  if (name === 'localhost' || name === '::1' || name === '0:0:0:0:0:0:0:1') return true;
  if (isLoopbackV4(name) || /^::ffff:/.test(name) && isLoopbackV4(name.slice(7))) return true;
  for (const e of extra) if (hostName(e) === name) return true;
  return false;
}

/** The lowercased name of a Host header without its port and brackets; undefined when malformed. */
function hostName(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const h = host.trim().toLowerCase();
  const v6 = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(h);
  if (v6) return v6[1];
  // A bare IPv6 address (no brackets) has more than one colon and no port.
  if ((h.match(/:/g) ?? []).length > 1) return /^[0-9a-f:.]+$/.test(h) ? h : undefined;
  const m = /^([a-z0-9.-]+)(?::\d{1,5})?$/.exec(h);
  return m ? m[1] : undefined;
}

function isLoopbackV4(name: string): boolean {
  const parts = name.split('.');
  return parts.length === 4 && parts[0] === '127' && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/**
 * Answers 403 and returns false when the request's Host is not a loopback name (or one of
 * `extra`). A request without Host (HTTP/1.0, curl --http1.0 -H 'Host:') comes from no browser
 * and is let through.
 */
export function checkLoopbackHost(req: http.IncomingMessage, res: http.ServerResponse, what: string, extra: Iterable<string> = []): boolean {
  const host = req.headers.host;
  if (host === undefined || host === '' || isLoopbackHost(host, extra)) return true;
  const names = ['localhost', '127.0.0.1', '[::1]', ...extra].join(', ');
  const body = `${what} only answers requests addressed to ${names} (this one was for Host: ${host.slice(0, 100).replace(/[^\x20-\x7e]/g, '?')}); `
    + 'it refuses other names so that a web page cannot reach it through DNS rebinding. Use one of those names in the URL.\n';
  res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
  return false;
}
