/**
 * A real OpenAI-style chat completions server on 127.0.0.1 for tests of the model client and
 * `devloop agents run --explain`: `answer` decides each response from the request body ('hang':
 * never answers, until `close()`); `seen` keeps every request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest { method?: string; url?: string; authorization?: string; contentType?: string; body: any }
export type ModelAnswer = { status?: number; body: string } | 'hang';

export async function startModelServer(answer: (body: any) => ModelAnswer): Promise<{ baseUrl: string; port: number; seen: SeenRequest[]; close(): Promise<void> }> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { raw += c; });
    req.on('end', () => {
      let body: any;
      try { body = JSON.parse(raw); } catch { body = raw; }
      seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization, contentType: req.headers['content-type'], body });
      const a = answer(body);
      if (a === 'hang') return;
      res.writeHead(a.status ?? 200, { 'content-type': 'application/json' }).end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const close = () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); });
  return { baseUrl: `http://127.0.0.1:${port}/v1`, port, seen, close };
}
