/** The page's two memories, without a browser: chart history and log rings stay bounded and right. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogStore } from './log-store.js';
import { SeriesStore } from './series.js';

test('series: a tick appends, a service missing from it gets a gap, history is trimmed to the cap', () => {
  const s = new SeriesStore();
  s.reset({ intervalMs: 1000, source: 'devloop', t: [1000, 2000], services: { api: { rps: [1, 2] } } });
  s.push({ t: 3000, points: { api: { rps: 3, cpu: 0.5 }, web: { cpu: 0.25 } } });
  assert.deepEqual(s.t, [1, 2, 3]);
  assert.deepEqual(s.services.get('api')!.rps, [1, 2, 3]);
  assert.deepEqual(s.services.get('api')!.cpu, [null, null, 0.5]);
  assert.deepEqual(s.services.get('web')!.cpu, [null, null, 0.25]);
  s.push({ t: 4000, points: { web: { cpu: 1 } } });
  assert.deepEqual(s.services.get('api')!.rps, [1, 2, 3, null]);
  for (let i = 0; i < 400; i++) s.push({ t: 5000 + i * 1000, points: { api: { rps: i } } });
  assert.equal(s.t.length, 300);
  assert.equal(s.services.get('api')!.rps.length, 300);
  assert.equal(s.services.get('api')!.rps[299], 399);
});

test('series: all services sums figures and takes the worst latency', () => {
  const s = new SeriesStore();
  s.reset({ intervalMs: 1000, source: 'devloop', t: [1000], services: {} });
  s.push({ t: 2000, points: { a: { rps: 2, p99Ms: 100, ready: 1 }, b: { rps: 3, p99Ms: 250 }, c: {} } });
  const all = s.aggregate();
  assert.deepEqual(all.rps, [null, 5]);
  assert.deepEqual(all.p99Ms, [null, 250]);
  assert.deepEqual(all.ready, [null, 1]);
  assert.deepEqual(all.cpu, [null, null]);
});

test('logs: bounded like the TUI (5000 interleaved, 1000 per service, 20,000 shared), server seq kept, lines cleaned', () => {
  const logs = new LogStore();
  let seq = 0;
  for (let i = 0; i < 30_000; i++) logs.push({ seq: seq++, time: i, service: `s${i % 50}`, level: 'output', text: `line ${i}\r\x1b[2Kdone ${i}\t!` });
  assert.equal(logs.all.size, 5000);
  assert.equal(logs.all.at(4999).seq, 29_999);
  assert.equal(logs.all.at(4999).text, 'done 29999    !');
  // 50 services share 20,000: 400 each.
  assert.equal(logs.service('s0')!.size, 400);
  for (let i = 0; i < 2000; i++) logs.push({ seq: seq++, time: i, service: 'solo', level: 'info', text: 'x' });
  assert.equal(logs.service('solo')!.size, Math.floor(20_000 / 51));
  logs.drop('solo');
  assert.equal(logs.service('solo'), undefined);
});
