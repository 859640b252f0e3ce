/**
 * One HTTP server shape for every `/metrics` devloop serves (the Cloud Run simulator's, the
 * Autopilot controller's, the session's): GET /metrics on 127.0.0.1, anything else 404 unless
 * the caller handles it. Only requests addressed to a loopback name (or the host it was told to
 * listen on) are answered: a web page could otherwise read it through DNS rebinding.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkLoopbackHost } from './loopback-host.js';

export interface MetricsEndpoint {
  port: number;
  /** `http://HOST:PORT/metrics` */
  url: string;
  close(): Promise<void>;
}

export interface MetricsEndpointOptions {
  /** What it is, for the refusal a non-loopback Host gets ("The devloop metrics endpoint"). */
  what: string;
  collect(): Promise<string>;
  contentType: string;
  host?: string;
  /** 0 or absent: any free port. */
  port?: number;
  /** Other routes; return true when the request was answered. */
  handle?(req: http.IncomingMessage, res: http.ServerResponse, path: string): boolean;
}

export function serveMetricsEndpoint(options: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  const host = options.host ?? '127.0.0.1';
  const server = http.createServer((req, res) => {
    if (!checkLoopbackHost(req, res, options.what, host === '127.0.0.1' ? [] : [host])) return;
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/metrics') {
      options.collect().then(
        (text) => {
          res.writeHead(200, { 'Content-Type': options.contentType, 'Content-Length': Buffer.byteLength(text) });
          res.end(text);
        },
        (err: unknown) => {
          res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
          res.end(`cannot collect metrics: ${err instanceof Error ? err.message : String(err)}\n`);
        },
      );
      return;
    }
    if (options.handle?.(req, res, path)) return;
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      const port = (server.address() as AddressInfo).port;
      const hostPart = host.includes(':') ? `[${host}]` : host;
      resolve({
        port,
        url: `http://${hostPart}:${port}/metrics`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
