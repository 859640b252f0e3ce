/**
 * BERT's WordPiece tokenizer, for `/v1/embeddings` with text input: most ONNX embedding models
 * (sentence-transformers exports: all-MiniLM, bge, e5) ship a `vocab.txt` beside `model.onnx`.
 * What it does, as BERT's reference tokenizer: clean control characters, put spaces around CJK
 * characters, lowercase and strip accents (unless `tokenizer_config.json` says
 * `do_lower_case: false`), split on whitespace and punctuation, then greedy longest-match-first
 * word pieces (`##` continuations, `[UNK]` for a word it cannot cover), wrapped in `[CLS]` ...
 * `[SEP]` and cut to the model's length.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface Tokenizer {
  /** Token ids of one text, `[CLS]` first and `[SEP]` last, at most `maxLength` of them. */
  encode(text: string, maxLength?: number): number[];
  /** Where the vocabulary came from (for messages). */
  file: string;
}

const MAX_WORD_CHARS = 100;

/** The tokenizer beside a model (`vocab.txt` in its folder or the folder above), or undefined. */
export function findTokenizer(modelFile: string): Tokenizer | undefined {
  for (const dir of [path.dirname(modelFile), path.dirname(path.dirname(modelFile))]) {
    const vocab = path.join(dir, 'vocab.txt');
    if (!existsSync(vocab)) continue;
    let lower = true;
    const config = path.join(dir, 'tokenizer_config.json');
    if (existsSync(config)) {
      try {
        const c = JSON.parse(readFileSync(config, 'utf8')) as { do_lower_case?: unknown };
        if (c.do_lower_case === false) lower = false;
      } catch { /* an unreadable config: BERT's default (lowercase) */ }
    }
    return wordPiece(readFileSync(vocab, 'utf8').split(/\r?\n/), { lower, file: vocab });
  }
  return undefined;
}

/** A WordPiece tokenizer over a vocabulary (one token per line; the line number is its id). */
export function wordPiece(lines: string[], opts: { lower?: boolean; file?: string } = {}): Tokenizer {
  const vocab = new Map<string, number>();
  lines.forEach((token, id) => {
    if (token !== '' && !vocab.has(token)) vocab.set(token, id);
  });
  const special = (name: string): number => {
    const id = vocab.get(name);
    if (id === undefined) throw new Error(`${opts.file ?? 'the vocabulary'} has no ${name} token; is it a BERT WordPiece vocab.txt?`);
    return id;
  };
  const cls = special('[CLS]');
  const sep = special('[SEP]');
  const unk = special('[UNK]');
  const lower = opts.lower ?? true;

  const pieces = (word: string): number[] => {
    const chars = [...word];
    if (chars.length > MAX_WORD_CHARS) return [unk];
    const out: number[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: number | undefined;
      while (start < end) {
        const piece = (start > 0 ? '##' : '') + chars.slice(start, end).join('');
        found = vocab.get(piece);
        if (found !== undefined) break;
        end--;
      }
      if (found === undefined) return [unk];
      out.push(found);
      start = end;
    }
    return out;
  };

  return {
    file: opts.file ?? '(vocabulary)',
    encode(text, maxLength = 512) {
      const ids = [cls];
      for (const word of basicTokens(text, lower)) {
        ids.push(...pieces(word));
        if (ids.length >= maxLength - 1) break;
      }
      return [...ids.slice(0, Math.max(1, maxLength - 1)), sep];
    },
  };
}

/** BERT's basic tokenizer: words and single punctuation marks. */
export function basicTokens(text: string, lower: boolean): string[] {
  let cleaned = '';
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || (isControl(ch) && !/\s/.test(ch))) continue;
    cleaned += isCjk(cp) ? ` ${ch} ` : /\s/.test(ch) ? ' ' : ch;
  }
  const words: string[] = [];
  for (let word of cleaned.split(' ')) {
    if (word === '') continue;
    if (lower) word = word.toLowerCase().normalize('NFD').replace(/\p{Mn}/gu, '');
    let current = '';
    for (const ch of word) {
      if (isPunctuation(ch)) {
        if (current) words.push(current);
        words.push(ch);
        current = '';
      } else {
        current += ch;
      }
    }
    if (current) words.push(current);
  }
  return words;
}

function isControl(ch: string): boolean {
  return /\p{Cc}|\p{Cf}/u.test(ch);
}

/** ASCII symbols count as punctuation too (BERT splits `$`, `^`, `` ` ``). */
function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0)!;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /\p{P}/u.test(ch);
}

function isCjk(cp: number): boolean {
  return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf) || (cp >= 0x20000 && cp <= 0x2a6df) || (cp >= 0x2a700 && cp <= 0x2b73f)
    || (cp >= 0x2b740 && cp <= 0x2b81f) || (cp >= 0x2b820 && cp <= 0x2ceaf) || (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0x2f800 && cp <= 0x2fa1f);
}
