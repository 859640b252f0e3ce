import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LogLine } from '../../core/store/state.js';
import { cleanLine, LogBuffer, MAX_LINE_CHARS } from './log-buffer.js';
import { Ring } from './ring.js';
import { indexOfSeq, selectLogView, topIndex } from './log-view.js';

const line = (service: string | undefined, message: string): LogLine => ({ time: 0, service, level: 'output', message });

describe('Ring', () => {
  it('keeps the newest items up to its capacity, oldest first', () => {
    const r = new Ring<number>(3);
    for (let i = 0; i < 10; i++) r.push(i);
    assert.equal(r.size, 3);
    assert.deepEqual([r.at(0), r.at(1), r.at(2)], [7, 8, 9]);
  });

  it('keeps the newest items when shrunk', () => {
    const r = new Ring<number>(5);
    for (let i = 0; i < 7; i++) r.push(i);
    r.resize(2);
    assert.deepEqual([r.size, r.at(0), r.at(1)], [2, 5, 6]);
    r.push(7);
    assert.deepEqual([r.at(0), r.at(1)], [6, 7]);
  });
});

describe('LogBuffer', () => {
  it('holds at most its caps after 50,000 lines from one service', () => {
    const b = new LogBuffer({ maxLines: 5000, maxLinesPerService: 1000 });
    for (let i = 0; i < 50_000; i++) b.push(line('api', `line ${i}`));
    assert.equal(b.seq, 50_000);
    assert.equal(b.all.size, 5000);
    assert.equal(b.service('api')!.size, 1000);
    assert.equal(b.retained(), 5000);
    assert.equal(b.all.at(b.all.size - 1).text, 'line 49999');
  });

  it('keeps a quiet service\'s lines while another floods the shared view', () => {
    const b = new LogBuffer({ maxLines: 5000 });
    b.push(line('db', 'ready to accept connections'));
    for (let i = 0; i < 50_000; i++) b.push(line('api', `line ${i}`));
    assert.equal(b.service('db')!.size, 1);
    assert.equal(b.service('db')!.at(0).text, 'ready to accept connections');
    assert.ok(!selectLogView(b, 'all', 'ready').count, 'pushed out of the interleaved view');
    assert.equal(selectLogView(b, { service: 'db' }, '').count, 1);
  });

  it('shares the per-service budget across many services, so the total stays bounded', () => {
    const b = new LogBuffer({ maxLines: 5000, maxLinesPerService: 1000, maxServiceLines: 20_000 });
    for (let i = 0; i < 200_000; i++) b.push(line(`svc-${i % 100}`, `line ${i}`));
    assert.equal(b.service('svc-7')!.capacity, 200);
    assert.ok(b.retained() <= 5000 + 20_000, `retained ${b.retained()}`);
  });

  it('drops a removed service\'s ring and gives its share back', () => {
    const b = new LogBuffer({ maxServiceLines: 2000, maxLinesPerService: 2000 });
    b.push(line('a', 'x'));
    b.push(line('b', 'y'));
    assert.equal(b.service('a')!.capacity, 1000);
    b.drop('b');
    assert.equal(b.service('b'), undefined);
    assert.equal(b.service('a')!.capacity, 2000);
  });

  it('splits multi-line messages into rows and keeps project lines in the shared view only', () => {
    const b = new LogBuffer();
    b.push(line(undefined, 'Devfile error:\n  services.api.port: expected number'));
    assert.equal(b.all.size, 2);
    assert.equal(b.all.at(1).text, '  services.api.port: expected number');
  });
});

describe('cleanLine', () => {
  it('shows the last frame of a carriage-return progress line', () => {
    assert.equal(cleanLine('downloading 10%\rdownloading 55%\r'), 'downloading 55%');
  });
  it('expands tabs and removes control bytes and cursor movement, keeping colours', () => {
    assert.equal(cleanLine('a\tb\x07c\x1b[2K\x1b[1Ad \x1b[31mred\x1b[0m'), 'a    bcd \x1b[31mred\x1b[0m');
  });
  it('cuts very long lines', () => {
    const t = cleanLine('x'.repeat(MAX_LINE_CHARS + 500));
    assert.ok(t.length < MAX_LINE_CHARS + 30);
    assert.match(t, /\(\+500 chars\)$/);
  });
});

describe('log view windowing', () => {
  it('follows the bottom, or stays on the anchored line while new lines arrive', () => {
    const b = new LogBuffer();
    for (let i = 0; i < 100; i++) b.push(line('api', `l${i}`));
    const v = selectLogView(b, 'all', '');
    assert.equal(topIndex(v, 10, true, 0), 90);
    const anchor = v.at(40).seq;
    for (let i = 100; i < 150; i++) b.push(line('api', `l${i}`));
    const v2 = selectLogView(b, 'all', '');
    assert.equal(v2.at(topIndex(v2, 10, false, anchor)).text, 'l40');
    assert.equal(indexOfSeq(v2, -5), 0);
  });

  it('filters with smart case on text and service name', () => {
    const b = new LogBuffer();
    b.push(line('api', 'GET /health 200'));
    b.push(line('api', 'get /items 500'));
    b.push(line('web', 'compiled'));
    assert.equal(selectLogView(b, 'all', 'get').count, 2);
    assert.equal(selectLogView(b, 'all', 'GET').count, 1);
    assert.equal(selectLogView(b, 'all', 'web').count, 1);
  });
});
