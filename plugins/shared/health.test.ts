import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { DevloopError } from '../../core/errors.js';
import { describeProbe, probeOnce, resolveHealthProbe, waitHealthy } from './health.js';
import { findFreePort } from './ports.js';

describe('resolveHealthProbe', () => {
  it('defaults to TCP on the service port, else the process running', () => {
    assert.deepEqual(resolveHealthProbe(undefined, 8080), { kind: 'tcp', host: '127.0.0.1', port: 8080 });
    assert.deepEqual(resolveHealthProbe(undefined, undefined), { kind: 'running' });
  });
  it('builds the http URL from the path and the service or health port', () => {
    assert.deepEqual(resolveHealthProbe({ http: '/healthz' }, 8080), { kind: 'http', url: 'http://127.0.0.1:8080/healthz', expectStatus: undefined });
    assert.deepEqual(resolveHealthProbe({ http: 'ready', port: 9090, expectStatus: 204 }, 8080), { kind: 'http', url: 'http://127.0.0.1:9090/ready', expectStatus: 204 });
    assert.equal(resolveHealthProbe({ http: 'http://localhost:1/x' }, undefined).kind, 'http');
  });
  it('rejects an http or tcp:true check without a port, with a hint', () => {
    assert.throws(() => resolveHealthProbe({ http: '/healthz' }, undefined), (e: unknown) => e instanceof DevloopError && e.code === 'HEALTH_CONFIG' && !!e.hint);
    assert.throws(() => resolveHealthProbe({ tcp: true }, undefined), /no port/);
  });
  it('describes probes in words', () => {
    assert.equal(describeProbe({ kind: 'exec', command: ['pg_isready', '-q'] }), '`pg_isready -q`');
  });
});

describe('probes', () => {
  const closers: Array<() => void> = [];
  after(() => { for (const c of closers) c(); });

  it('http: 2xx/3xx pass, others fail, expectStatus overrides', async () => {
    let status = 503;
    const server = http.createServer((_req, res) => { res.statusCode = status; res.end(); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => server.close());
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/healthz`;
    assert.deepEqual(await probeOnce({ kind: 'http', url }), { ok: false, status: 503, message: 'HTTP 503' });
    status = 302;
    assert.equal((await probeOnce({ kind: 'http', url })).ok, true);
    status = 200;
    assert.deepEqual(await probeOnce({ kind: 'http', url, expectStatus: 204 }), { ok: false, status: 200, message: 'HTTP 200 (expected 204)' });
  });

  it('tcp: refused until something listens', async () => {
    const port = await findFreePort();
    assert.deepEqual(await probeOnce({ kind: 'tcp', host: '127.0.0.1', port }), { ok: false, message: 'connection refused' });
    const server = net.createServer().listen(port, '127.0.0.1');
    closers.push(() => server.close());
    await new Promise((r) => server.once('listening', r));
    assert.equal((await probeOnce({ kind: 'tcp', host: '127.0.0.1', port })).ok, true);
  });

  it('http: a server that never answers fails the attempt at its timeout', async () => {
    const server = http.createServer(() => { /* never answers */ });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => { server.closeAllConnections(); server.close(); });
    const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`;
    const r = await probeOnce({ kind: 'http', url }, {}, undefined, 100);
    assert.deepEqual(r, { ok: false, message: 'no answer within 100 ms' });
  });

  it('exec is delegated to the runtime', async () => {
    const seen: unknown[] = [];
    const r = await probeOnce({ kind: 'exec', command: 'true' }, { exec: async (c) => { seen.push(c); return false; } });
    assert.deepEqual(seen, ['true']);
    assert.equal(r.ok, false);
    assert.equal((await probeOnce({ kind: 'exec', command: 'x' })).ok, false, 'no exec support is a failure, not a crash');
  });
});

describe('waitHealthy', () => {
  // How soon after listening the wait resolves is a figure in bench/process.bench.ts ("waitHealthy:
  // TCP service listening -> wait resolved"); a < 1 s bound here failed on a loaded machine. What
  // is checked instead: the first probe that sees the service up ends the wait, and while the
  // service is down it is polled briskly (every 20 ms, not every intervalMs) for the first 2 s.
  it('resolves on the first probe that sees the service up, polling briskly before that', { timeout: 30_000 }, async () => {
    const port = await findFreePort();
    const server = net.createServer((s) => s.destroy());
    const probes: Array<{ ok: boolean; listening: boolean }> = [];
    let listening = false;
    await waitHealthy({ kind: 'tcp', host: '127.0.0.1', port }, {
      intervalMs: 1_000, timeoutMs: 60_000,
      onProbe: (r) => {
        probes.push({ ok: r.ok, listening });
        // listen() on an IP literal binds before the next probe can run (its lookup is a nextTick).
        if (!r.ok && probes.length === 3) { listening = true; server.listen(port, '127.0.0.1'); }
      },
    });
    // Three refusals while nothing listened, then the next probe, the first after listen(), saw it and ended the wait.
    assert.deepEqual(probes, [
      { ok: false, listening: false }, { ok: false, listening: false }, { ok: false, listening: false },
      { ok: true, listening: true },
    ]);
    server.close();
  });

  it('polls every 20 ms during the first 2 s rather than every intervalMs', { timeout: 30_000 }, async () => {
    // With intervalMs 5 s, 500 ms of a refused port gives exactly one probe at the interval and
    // about 25 at the brisk rate. Only a lower bound: a loaded machine gives fewer, not more, so
    // the bound is loose (3, an eighth of the expected count) and more than 1 needs the brisk rate.
    const port = await findFreePort();
    const ac = new AbortController();
    let n = 0;
    const wait = waitHealthy({ kind: 'tcp', host: '127.0.0.1', port }, { intervalMs: 5_000, timeoutMs: 60_000, signal: ac.signal, onProbe: () => { n++; } });
    await new Promise((r) => setTimeout(r, 500));
    ac.abort();
    await assert.rejects(wait);
    assert.ok(n >= 3, `${n} probes in 500 ms`);
  });

  it('fails past the deadline naming the probe and what it saw', async () => {
    const port = await findFreePort();
    await assert.rejects(
      waitHealthy({ kind: 'tcp', host: '127.0.0.1', port }, { intervalMs: 20, timeoutMs: 150 }),
      (e: unknown) => e instanceof DevloopError && e.code === 'HEALTH_TIMEOUT' && e.message === `not healthy after 150 ms: TCP 127.0.0.1:${port}: connection refused`,
    );
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    const seen: string[] = [];
    const wait = waitHealthy({ kind: 'running' }, { isRunning: () => false, signal: ac.signal, timeoutMs: Infinity, onProbe: (r) => seen.push(r.message) });
    setTimeout(() => ac.abort(new Error('stop')), 50);
    await assert.rejects(wait, /stop/);
    assert.ok(seen.length >= 1 && seen.every((m) => m === 'not running'));
  });
});

describe('waitHealthy and a 4xx from the health path', () => {
  const servers: http.Server[] = [];
  after(() => { for (const s of servers) { s.closeAllConnections(); s.close(); } });
  async function serve(status: () => number): Promise<string> {
    const server = http.createServer((_req, res) => { res.statusCode = status(); res.end(); });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  }

  it('404: fails at once naming the path, not after the timeout', { timeout: 10_000 }, async () => {
    const url = await serve(() => 404);
    const started = Date.now();
    await assert.rejects(
      waitHealthy({ kind: 'http', url: `${url}/healthz` }, { timeoutMs: 30_000 }),
      (e: unknown) => e instanceof DevloopError && e.code === 'HEALTH_HTTP_4XX'
        && e.message === 'GET /healthz answered 404: set health.http to a path your service serves'
        && /does not serve \/healthz/.test(e.hint ?? '') && !/\$PORT/.test(e.hint ?? ''),
    );
    assert.ok(Date.now() - started < 2_000, `failed after ${Date.now() - started} ms, not at the 30 s timeout`);
  });

  it('401 and 403: the path needs auth; say to use one without', { timeout: 10_000 }, async () => {
    for (const status of [401, 403]) {
      const url = await serve(() => status);
      const started = Date.now();
      await assert.rejects(
        waitHealthy({ kind: 'http', url: `${url}/admin/health?x=1` }, { timeoutMs: 30_000 }),
        (e: unknown) => e instanceof DevloopError && e.code === 'HEALTH_HTTP_4XX'
          && e.message === `GET /admin/health?x=1 answered ${status}: the path needs authentication; set health.http to a path your service serves without it`,
      );
      assert.ok(Date.now() - started < 2_000);
    }
  });

  it('503 then 200: keeps waiting (a starting service may answer 503) and succeeds', { timeout: 10_000 }, async () => {
    let n = 0;
    const url = await serve(() => (++n <= 3 ? 503 : 200));
    const seen: string[] = [];
    await waitHealthy({ kind: 'http', url: `${url}/healthz` }, { timeoutMs: 5_000, onProbe: (r) => seen.push(r.message) });
    assert.deepEqual(seen, ['HTTP 503', 'HTTP 503', 'HTTP 503', 'HTTP 200']);
  });

  it('429 and 408 are transient (busy, slow), not a wrong path: keeps waiting', { timeout: 10_000 }, async () => {
    let n = 0;
    const url = await serve(() => (++n === 1 ? 429 : n === 2 ? 408 : 204));
    await waitHealthy({ kind: 'http', url: `${url}/healthz` }, { timeoutMs: 5_000 });
    assert.equal(n, 3);
  });
});
