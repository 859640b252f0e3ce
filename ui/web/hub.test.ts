import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { createStore, type Store } from '../../core/store/store.js';
import { Hub } from './hub.js';
import type { Hello, LogBatch, StatePatch } from './protocol.js';

interface Event { event: string; data: unknown }

/** A real HTTP server whose only route is the hub's stream, and an SSE reader collecting events. */
async function serve(store: Store, maxBuffered?: number) {
  const hub = new Hub(store, { series: () => ({ intervalMs: 1000, source: 'devloop', t: [], services: {} }), flushMs: 10, maxBuffered });
  const server = http.createServer((req, res) => void hub.attach(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    hub, port,
    async close() { hub.close(); server.closeAllConnections(); await new Promise((r) => server.close(r)); },
  };
}

function read(port: number): { events: Event[]; close(): void; until(pred: (e: Event[]) => boolean): Promise<void> } {
  const events: Event[] = [];
  let buf = '';
  const req = http.get({ host: '127.0.0.1', port, path: '/' }, (res) => {
    res.setEncoding('utf8');
    res.on('data', (d: string) => {
      buf += d;
      let at;
      while ((at = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
    });
  });
  req.on('error', () => undefined);
  return {
    events,
    close: () => req.destroy(),
    async until(pred) {
      const end = Date.now() + 5000;
      while (!pred(events)) {
        if (Date.now() > end) throw new Error(`timed out; events: ${events.map((e) => e.event).join(',')}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

function project(): Store {
  const store = createStore();
  store.dispatch({ type: 'config/loaded', file: '/p/Devfile.ts', services: ['api', 'db'].map((name) => ({ name, kind: 'none', target: 'process', triggerMode: 'auto' as const })) });
  store.dispatch({ type: 'engine/started' });
  store.dispatch({ type: 'log', line: { time: 1, service: 'api', level: 'output', message: 'before the page\nsecond row' } });
  return store;
}

describe('dashboard hub', () => {
  const closers: Array<() => Promise<void> | void> = [];
  after(async () => { for (const c of closers.reverse()) await c(); });

  it('says hello with every service (no log tail) and the log backlog, then only what changed', async () => {
    const store = project();
    const s = await serve(store);
    closers.push(s.close);
    const page = read(s.port);
    closers.push(page.close);
    await page.until((e) => e.some((x) => x.event === 'hello'));
    const hello = page.events[0].data as Hello;
    assert.deepEqual(Object.keys(hello.services), ['api', 'db']);
    assert.deepEqual(hello.services.api.logTail, []);
    assert.deepEqual(hello.logs.map((l) => l.text), ['before the page', 'second row']);

    // A log line changes api's logTail only: a logs event, no state event.
    store.dispatch({ type: 'log', line: { time: 2, service: 'api', level: 'output', message: '\x1b[31mred\x1b[0m line' } });
    await page.until((e) => e.some((x) => x.event === 'logs'));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(page.events.filter((x) => x.event === 'state').length, 0);
    const batch = page.events.find((x) => x.event === 'logs')!.data as LogBatch;
    assert.deepEqual(batch.lines.map((l) => [l.service, l.text, l.seq]), [['api', '\x1b[31mred\x1b[0m line', 2]]);

    // A phase change sends that service alone; a removal names it.
    store.dispatch({ type: 'service/phase', service: 'db', phase: 'building' });
    await page.until((e) => e.some((x) => x.event === 'state'));
    const patch = page.events.find((x) => x.event === 'state')!.data as StatePatch;
    assert.deepEqual(Object.keys(patch.services ?? {}), ['db']);
    assert.equal(patch.services!.db.phase, 'building');
    store.dispatch({ type: 'service/removed', service: 'db' });
    await page.until((e) => e.some((x) => x.event === 'state' && ((x.data as StatePatch).removed ?? []).includes('db')));
  });

  it('skips a page that stopped reading, then starts it over with a fresh hello', async () => {
    const store = project();
    const s = await serve(store, 64 * 1024);
    closers.push(s.close);
    // A raw socket that reads the hello, then stops reading.
    const socket = net.connect(s.port, '127.0.0.1');
    closers.push(() => { socket.destroy(); });
    let received = '';
    socket.setEncoding('utf8');
    const onData = (d: string) => { received += d; };
    socket.on('data', onData);
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const deadline = Date.now() + 5000;
    while (!received.includes('event: hello')) {
      if (Date.now() > deadline) throw new Error('no hello');
      await new Promise((r) => setTimeout(r, 5));
    }
    socket.pause();
    // Far more than the kernel's socket buffers hold: the hub's buffer for this page passes 64 KiB.
    for (let batch = 0; batch < 40 && s.hub.stats.skipped === 0; batch++) {
      for (let i = 0; i < 2000; i++) store.dispatch({ type: 'log', line: { time: 3, service: 'api', level: 'output', message: `line ${batch}-${i} ${'x'.repeat(100)}` } });
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(s.hub.stats.skipped > 0, 'the page that stopped reading was skipped');
    store.dispatch({ type: 'log', line: { time: 4, service: 'api', level: 'output', message: 'the last line' } });
    socket.resume();
    // Caught up: a fresh hello, and the last line reached the page (in that hello's backlog or after it).
    const end = Date.now() + 15_000;
    while (!(s.hub.stats.resyncs > 0 && received.lastIndexOf('event: hello') > 0 && received.includes('the last line'))) {
      if (Date.now() > end) throw new Error(`not caught up (resyncs ${s.hub.stats.resyncs}, skipped ${s.hub.stats.skipped})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  });
});
