import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { LineSplitter, LineTail, pipeLines } from './lines.js';

describe('LineSplitter', () => {
  it('joins lines cut across chunks and keeps the unterminated last line', () => {
    const out: string[] = [];
    const s = new LineSplitter((l) => out.push(l));
    s.push('hel');
    s.push('lo\nwor');
    s.push('ld\r\nlast words');
    assert.deepEqual(out, ['hello', 'world']);
    s.end();
    assert.deepEqual(out, ['hello', 'world', 'last words']);
    s.end();
    assert.equal(out.length, 3, 'end is idempotent');
  });

  it('does not split a multi-byte character cut between chunks', () => {
    const out: string[] = [];
    const s = new LineSplitter((l) => out.push(l));
    const bytes = Buffer.from('héllo ✓\n');
    for (const b of bytes) s.push(Buffer.from([b]));
    assert.deepEqual(out, ['héllo ✓']);
  });

  it('keeps empty lines and emits nothing for a trailing newline', () => {
    const out: string[] = [];
    const s = new LineSplitter((l) => out.push(l));
    s.push('a\n\nb\n');
    s.end();
    assert.deepEqual(out, ['a', '', 'b']);
  });

  it('cuts a runaway line at the limit instead of buffering forever', () => {
    const out: string[] = [];
    const s = new LineSplitter((l) => out.push(l), 4);
    s.push('abcdefghij');
    assert.deepEqual(out, ['abcd', 'efgh']);
    s.end();
    assert.deepEqual(out, ['abcd', 'efgh', 'ij']);
  });
});

describe('pipeLines', () => {
  it('resolves after the stream ends, with the partial line flushed', async () => {
    const stream = new PassThrough();
    const out: string[] = [];
    const done = pipeLines(stream, (l) => out.push(l));
    stream.write('one\ntw');
    stream.end('o');
    await done;
    assert.deepEqual(out, ['one', 'two']);
  });
});

describe('LineTail', () => {
  it('keeps the last n lines', () => {
    const t = new LineTail(2);
    for (const l of ['a', 'b', 'c']) t.push(l);
    assert.deepEqual(t.lines(), ['b', 'c']);
    assert.equal(t.format('> '), '> b\n> c');
    assert.equal(new LineTail().format(), '');
  });
});
