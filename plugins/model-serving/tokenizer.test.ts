import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { basicTokens, findTokenizer, wordPiece } from './tokenizer.js';

const VOCAB = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'hello', ',', 'world', '!', 'un', '##aff', '##able', 'cafe', 'a', '中', '国'];

test('basic tokens: lowercase, accents stripped, punctuation and CJK split, control characters dropped', () => {
  assert.deepEqual(basicTokens('Hello, World!', true), ['hello', ',', 'world', '!']);
  assert.deepEqual(basicTokens('Café\u0000 au\tlait', true), ['cafe', 'au', 'lait']);
  assert.deepEqual(basicTokens('中国 a$b', true), ['中', '国', 'a', '$', 'b']);
  assert.deepEqual(basicTokens('Hello', false), ['Hello']);
});

test('word pieces: greedy longest match with ## continuations, [UNK] for uncovered words, [CLS] ... [SEP]', () => {
  const t = wordPiece(VOCAB);
  assert.deepEqual(t.encode('Hello, world!'), [2, 4, 5, 6, 7, 3]);
  // "unaffable" -> un ##aff ##able (BERT's own example).
  assert.deepEqual(t.encode('unaffable'), [2, 8, 9, 10, 3]);
  assert.deepEqual(t.encode('Café unknownword'), [2, 11, 1, 3]);
  assert.deepEqual(t.encode('中国'), [2, 13, 14, 3]);
  // Cut to the model's length, [SEP] kept last.
  assert.deepEqual(t.encode('hello hello hello hello', 4), [2, 4, 4, 3]);
});

test('found beside the model, with do_lower_case from tokenizer_config.json; a vocabulary without [CLS] is refused', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'devloop-tok-'));
  writeFileSync(path.join(dir, 'vocab.txt'), [...VOCAB, 'Hello'].join('\n'));
  writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ do_lower_case: false }));
  const t = findTokenizer(path.join(dir, 'model.onnx'))!;
  assert.deepEqual(t.encode('Hello'), [2, 15, 3]);
  assert.equal(findTokenizer(path.join(os.tmpdir(), 'nowhere-xyz', 'model.onnx')), undefined);
  assert.throws(() => wordPiece(['a', 'b']), /has no \[CLS\] token/);
});
