/**
 * Reads Kubernetes manifests from files, folders and stdin (Kustomize or Helm output piped with
 * `-`): multi-document YAML or JSON, `kind: List` flattened. Each object keeps the file and line
 * it came from; a parse error is reported as `file:line:column: message`.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isCollection, isMap, isSeq, LineCounter, parseAllDocuments, type Node as YamlNode } from 'yaml';
import type { K8sObject } from './types.js';
import { fieldIssues, formatPath } from './validate.js';

export interface ManifestSource {
  /** As given (relative to cwd when inside it), or `<stdin>`. */
  file: string;
  line: number;
  column: number;
}

export interface ManifestObject {
  object: K8sObject;
  source: ManifestSource;
}

export class ManifestError extends Error {
  constructor(readonly file: string, readonly line: number, readonly column: number, readonly reason: string) {
    super(`${file}:${line}:${column}: ${reason}`);
    this.name = 'ManifestError';
  }
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
/** Kustomize's own config sits beside manifests but is not one. */
const NOT_MANIFESTS = new Set(['Kustomization', 'Component']);

export interface ReadOptions {
  cwd: string;
  /** What `-` reads: the text itself, or a stream (default: process.stdin). */
  stdin?: string | NodeJS.ReadableStream;
}

export async function readManifests(inputs: string[], opts: ReadOptions): Promise<ManifestObject[]> {
  const out: ManifestObject[] = [];
  for (const input of inputs) {
    if (input === '-') {
      out.push(...parseManifests(await readStdin(opts.stdin), '<stdin>'));
      continue;
    }
    const abs = path.resolve(opts.cwd, input);
    let stat;
    try { stat = statSync(abs); } catch { throw new ManifestError(input, 0, 0, 'no such file or directory'); }
    const files = stat.isDirectory() ? listDir(abs) : [abs];
    if (stat.isDirectory() && files.length === 0) throw new ManifestError(input, 0, 0, 'no .yaml, .yml or .json files in this folder');
    for (const file of files) out.push(...parseManifests(readFileSync(file, 'utf8'), display(file, opts.cwd)));
  }
  return out;
}

/** Parses one file's text. */
export function parseManifests(text: string, file: string): ManifestObject[] {
  const lines = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false });
  const at = (offset: number) => lines.linePos(offset);
  const out: ManifestObject[] = [];
  const invalid: Located[] = [];
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const err = doc.errors[0];
    if (err) {
      const { line, col } = at(err.pos[0]);
      throw new ManifestError(file, line, col, err.message.split('\n')[0]);
    }
    const contents = doc.contents as YamlNode | null;
    if (contents === null || (contents as { value?: unknown }).value === null) continue;
    const start = at(contents.range?.[0] ?? 0);
    if (!isMap(contents)) {
      throw new ManifestError(file, start.line, start.col, `expected a Kubernetes object (a mapping with apiVersion and kind), got ${isSeq(contents) ? 'a list' : 'a scalar'}`);
    }
    let value: K8sObject;
    try {
      // The yaml library refuses past 1000 expanded aliases ("billion laughs" files).
      value = doc.toJS({ maxAliasCount: 1000 }) as K8sObject;
    } catch (err) {
      if (!(err instanceof ReferenceError)) throw err;
      throw new ManifestError(file, start.line, start.col, 'this document expands to too many values through its aliases (*name); write the values out, or use fewer nested aliases');
    }
    if (typeof value.kind !== 'string' || value.kind === '') throw new ManifestError(file, start.line, start.col, 'object has no "kind"');
    if (NOT_MANIFESTS.has(value.kind)) continue;
    if (value.kind === 'List' || (value.kind.endsWith('List') && Array.isArray(value.items))) {
      const items = contents.get('items', true);
      const nodes = isSeq(items) ? items.items : [];
      (value.items as unknown[] ?? []).forEach((item, i) => {
        const pos = at((nodes[i] as YamlNode | undefined)?.range?.[0] ?? contents.range?.[0] ?? 0);
        if (typeof item !== 'object' || item === null || typeof (item as K8sObject).kind !== 'string') {
          throw new ManifestError(file, pos.line, pos.col, `items[${i}] is not a Kubernetes object`);
        }
        invalid.push(...checkFields(item as K8sObject, nodes[i], file, at));
        out.push({ object: item as K8sObject, source: { file, line: pos.line, column: pos.col } });
      });
      continue;
    }
    invalid.push(...checkFields(value, contents, file, at));
    out.push({ object: value, source: { file, line: start.line, column: start.col } });
  }
  if (invalid.length) {
    const [first, ...rest] = invalid;
    throw new ManifestError(file, first.line, first.col, `${first.text}${rest.map((r) => `\n${file}:${r.line}:${r.col}: ${r.text}`).join('')}`);
  }
  return out;
}

/** The API server's field validation (validate.ts), located at the offending field. */
function checkFields(object: K8sObject, node: unknown, file: string, at: (offset: number) => { line: number; col: number }): Located[] {
  return fieldIssues(object).map((issue) => {
    let found: unknown = node;
    // The nearest node the file has on the way down (a missing field sits under its parent).
    for (let depth = issue.path.length; depth > 0; depth--) {
      const n = isCollection(node) ? node.getIn(issue.path.slice(0, depth), true) : undefined;
      if (n !== undefined) { found = n; break; }
    }
    const { line, col } = at((found as YamlNode | undefined)?.range?.[0] ?? 0);
    return { line, col, text: `${formatPath(issue.path)}: ${issue.message}` };
  });
}

interface Located { line: number; col: number; text: string }

function listDir(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.') || name === 'node_modules') continue;
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listDir(p));
    else if (EXTENSIONS.has(path.extname(name))) out.push(p);
  }
  return out;
}

function display(file: string, cwd: string): string {
  const rel = path.relative(cwd, file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? file : rel;
}

async function readStdin(stdin: ReadOptions['stdin']): Promise<string> {
  if (typeof stdin === 'string') return stdin;
  const stream = stdin ?? process.stdin;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
