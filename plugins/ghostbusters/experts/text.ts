/**
 * Small helpers the experts share: positions in text, secret-like names, Shannon entropy, and
 * TypeScript parsing. Pure functions, unit-tested through the experts' fixture tests.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import type { TextEdit } from '../types.js';

export interface Pos { line: number; column: number }

/** 1-based line and column of a 0-based offset. */
export function position(text: string, offset: number): Pos {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/** Names that hold credentials: password, secret, token, apiKey, private_key, ... (any case, any separator). */
const SECRET_NAME = /(pass(word|wd)?|secret|token|api[-_]?key|access[-_]?key|private[-_]?key|credential|auth[-_]?key|client[-_]?secret)$/i;
/** Names that look secret-like but hold no secret (a token's URL, its type). */
const NOT_SECRET = /(url|uri|endpoint|path|file|type|name|length|count|header|id_?field|ttl|expir\w*)$/i;

export function isSecretName(name: string): boolean {
  const plain = name.replace(/^['"]|['"]$/g, '');
  return SECRET_NAME.test(plain) && !NOT_SECRET.test(plain);
}

/** Shannon entropy in bits per character. */
export function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** Long enough and random enough to be a generated credential rather than a word or a placeholder. */
export function looksRandom(value: string): boolean {
  if (value.length < 20 || /\s/.test(value)) return false;
  if (/^(\$\{|\$\(|<|\{\{|process\.env|changeme|example|xxx|your[-_])/i.test(value)) return false;
  return entropy(value) >= 3.5;
}

/** `apiKey` -> `API_KEY`, `stripe-secret` -> `STRIPE_SECRET`. */
export function envName(name: string): string {
  return name.replace(/^['"]|['"]$/g, '').replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[^A-Za-z0-9]+/g, '_').replace(/^_+|_+$/g, '').toUpperCase() || 'SECRET';
}

const CODE = new Set(['.ts', '.tsx', '.mts', '.cts', '.js', '.jsx', '.mjs', '.cjs']);
export const isCode = (file: string): boolean => CODE.has(path.extname(file)) && !file.endsWith('.d.ts');
export const isYaml = (file: string): boolean => /\.ya?ml$/i.test(file);

export function parseSource(file: string, text: string): ts.SourceFile {
  const ext = path.extname(file);
  const kind = ext === '.tsx' ? ts.ScriptKind.TSX : ext === '.jsx' ? ts.ScriptKind.JSX : /\.[mc]?js$/.test(ext) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  return ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, kind);
}

/** The name a value is bound to: `const apiKey = ...`, `{ apiKey: ... }`, `this.apiKey = ...`. */
export function boundName(node: ts.Node): string | undefined {
  const p = node.parent;
  if (!p) return undefined;
  if ((ts.isVariableDeclaration(p) || ts.isPropertyDeclaration(p) || ts.isParameter(p)) && p.initializer === node) return p.name.getText();
  if (ts.isPropertyAssignment(p) && p.initializer === node) return p.name.getText();
  if (ts.isBinaryExpression(p) && p.right === node && p.operatorToken.kind === ts.SyntaxKind.EqualsToken) {
    return ts.isPropertyAccessExpression(p.left) ? p.left.name.text : p.left.getText();
  }
  return undefined;
}

/** A file's text, or undefined when it does not exist (files outside the view included). */
export function readIfExists(root: string, file: string): string | undefined {
  try { return readFileSync(path.join(root, file), 'utf8'); } catch { return undefined; }
}

/** Where to append a line to a file: create it, or add after its last line. */
export function appendLine(existing: string | undefined, file: string, line: string): TextEdit {
  if (existing === undefined) return { file, start: 0, end: 0, text: `${line}\n`, create: true };
  // A file without a final newline keeps none: each line goes before its own newline, so
  // several appends at the same point stay one a line.
  const text = existing === '' || existing.endsWith('\n') ? `${line}\n` : `\n${line}`;
  return { file, start: existing.length, end: existing.length, text };
}
