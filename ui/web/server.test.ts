import assert from 'node:assert/strict';
import http from 'node:http';
import os from 'node:os';
import { after, describe, it } from 'node:test';
import { sessionActions } from '../../core/session/actions.js';
import { createStore } from '../../core/store/store.js';
import { startDashboardServer, type Dashboard } from './server.js';

function request(port: number, options: { method?: string; path?: string; host?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: options.method ?? 'GET', path: options.path ?? '/', agent: false, headers: { host: options.host ?? `127.0.0.1:${port}`, ...options.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

function session() {
  const store = createStore();
  store.dispatch({ type: 'config/loaded', file: '/p/Devfile.ts', services: [{ name: 'api', kind: 'none', target: 'process', triggerMode: 'auto' }] });
  const calls: string[] = [];
  const actions = sessionActions({ getState: store.getState, triggerManual: (s) => calls.push(`rebuild ${s}`), setTriggerMode: () => undefined, debug: () => undefined });
  return { store, calls, actions };
}

describe('dashboard server', () => {
  const open: Dashboard[] = [];
  after(async () => { for (const d of open) await d.close(); });

  it('escapes the boot data so no project name can end its script element', async () => {
    const { store } = session();
    const d = await startDashboardServer({ source: store, project: '</script><script>alert(1)</script>', version: 't', port: 0 });
    open.push(d);
    const port = Number(new URL(d.url).port);
    const html = (await request(port, {})).body;
    assert.equal(html.match(/<\/script>/g)?.length, 2, 'only the page\'s own two script elements end');
    assert.match(html, /<title>devloop · &#60;\/script&#62;/);
    const boot = JSON.parse(/<script id="devloop-boot" type="application\/json">(.*?)<\/script>/s.exec(html)![1]);
    assert.equal(boot.project, '</script><script>alert(1)</script>');
  });

  it('answers actions only with the token and a JSON body, and names what it does not know', async () => {
    const { store, calls, actions } = session();
    const d = await startDashboardServer({ source: store, actions, project: 'p', version: 't', port: 0 });
    open.push(d);
    const port = Number(new URL(d.url).port);
    const json = { 'content-type': 'application/json', 'x-devloop-token': d.token };
    assert.equal((await request(port, { method: 'PUT', path: '/api/actions/rebuild' })).status, 405);
    const unknown = await request(port, { method: 'POST', path: '/api/actions/explode', headers: json, body: '{"service":"api"}' });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body, /rebuild, trigger-mode, debug/);
    assert.equal((await request(port, { method: 'POST', path: '/api/actions/rebuild', headers: json, body: 'not json' })).status, 400);
    assert.equal((await request(port, { method: 'POST', path: '/api/actions/rebuild', headers: json, body: 'x'.repeat(70_000) })).status, 400);
    assert.equal((await request(port, { method: 'POST', path: '/api/actions/rebuild', headers: { ...json, 'x-devloop-token': `${d.token}x` }, body: '{"service":"api"}' })).status, 403);
    assert.deepEqual(calls, []);
    const ok = await request(port, { method: 'POST', path: '/api/actions/rebuild', headers: json, body: '{"service":"api"}' });
    assert.equal(ok.status, 202, ok.body);
    assert.deepEqual(calls, ['rebuild api']);
  });

  it('on a wildcard address, lets in this machine\'s addresses as Host and still refuses names', async () => {
    const { store } = session();
    const d = await startDashboardServer({ source: store, project: 'p', version: 't', port: 0, host: '0.0.0.0' });
    open.push(d);
    const port = Number(new URL(d.url).port);
    assert.match(d.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const address = Object.values(os.networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (address) assert.equal((await request(port, { path: '/api/state', host: `${address}:${port}` })).status, 200, `Host ${address}`);
    assert.equal((await request(port, { path: '/api/state', host: `evil.example:${port}` })).status, 403);
    assert.equal((await request(port, { path: '/api/state' })).status, 200);
  });
});
