/**
 * Reads Kubernetes manifests from files, folders and stdin (Kustomize or Helm output piped with
 * `-`): multi-document YAML or JSON, `kind: List` flattened. Each object keeps the file and line
 * it came from.
 *
 * `loadManifests` reads a folder as `kubectl apply -f DIR` does: every file is read, whatever
 * fails in one does not stop the others. Three outcomes besides objects:
 * - errors (`file:line:column: message`): a YAML syntax error (that file yields no objects), a
 *   document that expands through too many aliases, an object the API server's field validation
 *   (validate.ts) refuses (that object is left out, the file's others are kept), a missing input;
 * - skipped: YAML that is not a Kubernetes object: a list, a scalar, or a mapping without
 *   `apiVersion`/`kind` (Helm values.yaml, docker-compose.yaml, a CI workflow). One entry for a
 *   file that holds no Kubernetes object at all, else one per such document, with its line.
 *   Empty documents (or comments only) and Kustomize's own config are passed over silently;
 * - notes: the yaml library's warnings on a Kubernetes object (an unknown tag such as `!vault`,
 *   a key that is a list or mapping and becomes a string), located. The library never prints
 *   them itself (`logLevel: 'error'`).
 * `readManifests`/`parseManifests` are the strict forms: they throw the errors as one
 * ManifestError and drop the skipped documents.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { isCollection, isMap, isPair, isSeq, LineCounter, parseAllDocuments, visit, type Document, type Node as YamlNode } from 'yaml';
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
  /**
   * `line` 0 means the error is about the whole file (missing, unreadable, an empty folder): the
   * message then carries no position, since there is none to give.
   */
  constructor(readonly file: string, readonly line: number, readonly column: number, readonly reason: string, message?: string) {
    super(message ?? (line > 0 ? `${file}:${line}:${column}: ${reason}` : `${file}: ${reason}`));
    this.name = 'ManifestError';
  }
}

/** A file (no line) or a document in a file (with its line) that is not a Kubernetes object. */
export interface SkippedInput {
  file: string;
  line?: number;
  column?: number;
  reason: string;
}

/** Something the yaml library warned about in a Kubernetes object, located. */
export interface ManifestNote {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface ManifestSet {
  objects: ManifestObject[];
  errors: ManifestError[];
  skipped: SkippedInput[];
  notes: ManifestNote[];
}

const EXTENSIONS = new Set(['.yaml', '.yml', '.json']);
/** Kustomize's own config sits beside manifests but is not one. */
const NOT_MANIFESTS = new Set(['Kustomization', 'Component']);
/** Kustomize's config files, which may leave out apiVersion and kind. */
const KUSTOMIZATION = new Set(['kustomization.yaml', 'kustomization.yml', 'Kustomization']);

export interface ReadOptions {
  cwd: string;
  /** What `-` reads: the text itself, or a stream (default: process.stdin). */
  stdin?: string | NodeJS.ReadableStream;
}

/** Reads every input; nothing in one file stops the others (see the header). */
export async function loadManifests(inputs: string[], opts: ReadOptions): Promise<ManifestSet> {
  const set: ManifestSet = { objects: [], errors: [], skipped: [], notes: [] };
  const add = (s: ManifestSet) => {
    set.objects.push(...s.objects);
    set.errors.push(...s.errors);
    set.skipped.push(...s.skipped);
    set.notes.push(...s.notes);
  };
  for (const input of inputs) {
    if (input === '-') {
      add(scanManifests(await readStdin(opts.stdin), '<stdin>'));
      continue;
    }
    const abs = path.resolve(opts.cwd, input);
    let stat;
    try { stat = statSync(abs); } catch { set.errors.push(new ManifestError(input, 0, 0, 'file not found', `file not found: ${input}`)); continue; }
    const files = stat.isDirectory() ? listDir(abs) : [abs];
    if (stat.isDirectory() && files.length === 0) { set.errors.push(new ManifestError(input, 0, 0, 'no .yaml, .yml or .json files in this folder')); continue; }
    for (const file of files) {
      let text: string;
      try { text = readFileSync(file, 'utf8'); } catch (err) { set.errors.push(new ManifestError(display(file, opts.cwd), 0, 0, (err as Error).message)); continue; }
      add(scanManifests(text, display(file, opts.cwd)));
    }
  }
  return set;
}

/** Strict: the objects of every input, or a ManifestError naming every error. */
export async function readManifests(inputs: string[], opts: ReadOptions): Promise<ManifestObject[]> {
  return strict(await loadManifests(inputs, opts));
}

/** Strict: one file's objects, or a ManifestError naming every error in it. */
export function parseManifests(text: string, file: string): ManifestObject[] {
  return strict(scanManifests(text, file));
}

function strict(set: ManifestSet): ManifestObject[] {
  if (!set.errors.length) return set.objects;
  const [first, ...rest] = set.errors;
  const more = rest.map((r) => `\n${r.message}`).join('');
  throw new ManifestError(first.file, first.line, first.column, `${first.reason}${more}`, first.line > 0 ? undefined : `${first.message}${more}`);
}

const NOT_K8S = 'not a Kubernetes object';
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isName = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** Parses one file's text: its objects, errors, skipped documents and notes (see the header). */
export function scanManifests(text: string, file: string): ManifestSet {
  const lines = new LineCounter();
  // logLevel 'error': the library keeps its warnings in doc.warnings instead of printing them
  // (process.emitWarning), here and in toJS.
  const docs = parseAllDocuments(text, { lineCounter: lines, prettyErrors: false, logLevel: 'error' });
  const at = (offset: number) => lines.linePos(offset);
  const set: ManifestSet = { objects: [], errors: [], skipped: [], notes: [] };
  const list = Array.isArray(docs) ? docs : [docs];
  // A syntax error anywhere makes the file's documents unreliable: report, read nothing from it.
  for (const doc of list) {
    const err = doc.errors[0];
    if (!err) continue;
    const { line, col } = at(err.pos[0]);
    set.errors.push(new ManifestError(file, line, col, err.message.split('\n')[0]));
  }
  if (set.errors.length) return set;

  const skipped: (SkippedInput & { line: number; column: number })[] = [];
  let kubernetes = 0;
  for (const doc of list) {
    const contents = doc.contents as YamlNode | null;
    if (contents === null || (contents as { value?: unknown }).value === null) continue;
    const start = at(contents.range?.[0] ?? 0);
    const skip = (shape: string) => skipped.push({ file, line: start.line, column: start.col, reason: `${NOT_K8S} (${shape})` });
    if (!isMap(contents)) { skip(isSeq(contents) ? 'a list, not a mapping with apiVersion/kind' : 'a scalar, not a mapping with apiVersion/kind'); continue; }
    let value: K8sObject;
    try {
      // The yaml library refuses past 1000 expanded aliases ("billion laughs" files).
      value = doc.toJS({ maxAliasCount: 1000 }) as K8sObject;
    } catch (err) {
      if (!(err instanceof ReferenceError)) throw err;
      kubernetes++;
      set.errors.push(new ManifestError(file, start.line, start.col, /excessive alias count/i.test(err.message)
        ? 'this document expands to too many values through its aliases (*name); write the values out, or use fewer nested aliases'
        : err.message.split('\n')[0]));
      continue;
    }
    const kind = isName(value.kind) ? value.kind : undefined;
    const hasApi = isName(value.apiVersion);
    const hasMeta = isObject(value.metadata);
    if (kind !== undefined && NOT_MANIFESTS.has(kind)) continue;
    // kubectl wants both; an object that lacks one but has metadata is a Kubernetes object with a
    // mistake (no kind: an error; no apiVersion: read, as before), anything else is other YAML.
    if (kind === undefined ? !(hasApi && hasMeta) : !(hasApi || hasMeta)) {
      if (!KUSTOMIZATION.has(path.basename(file))) skip('no apiVersion/kind');
      continue;
    }
    kubernetes++;
    if (kind === undefined) { set.errors.push(new ManifestError(file, start.line, start.col, 'object has no "kind"')); continue; }
    set.notes.push(...warningsOf(doc, text, file, at));
    if (kind === 'List' || (kind.endsWith('List') && Array.isArray(value.items))) {
      const items = contents.get('items', true);
      const nodes = isSeq(items) ? items.items : [];
      (value.items as unknown[] ?? []).forEach((item, i) => {
        const pos = at((nodes[i] as YamlNode | undefined)?.range?.[0] ?? contents.range?.[0] ?? 0);
        if (typeof item !== 'object' || item === null || typeof (item as K8sObject).kind !== 'string') {
          set.errors.push(new ManifestError(file, pos.line, pos.col, `items[${i}] is not a Kubernetes object`));
          return;
        }
        const issues = checkFields(item as K8sObject, nodes[i], file, at);
        if (issues.length) set.errors.push(...issues);
        else set.objects.push({ object: item as K8sObject, source: { file, line: pos.line, column: pos.col } });
      });
      continue;
    }
    const issues = checkFields(value, contents, file, at);
    if (issues.length) set.errors.push(...issues);
    else set.objects.push({ object: value, source: { file, line: start.line, column: start.col } });
  }
  if (skipped.length && !kubernetes) set.skipped.push({ file, reason: skipped[0].reason });
  else set.skipped.push(...skipped);
  return set;
}

/** The yaml library's warnings on one document, and keys it turns into strings, as notes. */
function warningsOf(doc: Document.Parsed, text: string, file: string, at: (offset: number) => { line: number; col: number }): ManifestNote[] {
  const notes: ManifestNote[] = [];
  for (const w of doc.warnings) {
    const { line, col } = at(w.pos[0]);
    const message = w.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    notes.push({ file, line, column: col, message: w.code === 'TAG_RESOLVE_FAILED' ? `${message}; the value is read as if it had no tag` : message });
  }
  visit(doc, {
    Pair(_, pair) {
      if (!isPair(pair) || !isCollection(pair.key)) return;
      const range = (pair.key as YamlNode).range;
      if (!range) return;
      const { line, col } = at(range[0]);
      const key = text.slice(range[0], range[1]).trim();
      notes.push({ file, line, column: col, message: `the key ${key} is a ${isSeq(pair.key) ? 'list' : 'mapping'}, which Kubernetes does not allow (keys are strings); it is read as a string` });
    },
  });
  return notes.sort((a, b) => a.line - b.line || a.column - b.column);
}

/** The API server's field validation (validate.ts), located at the offending field. */
function checkFields(object: K8sObject, node: unknown, file: string, at: (offset: number) => { line: number; col: number }): ManifestError[] {
  return fieldIssues(object).map((issue) => {
    let found: unknown = node;
    // The nearest node the file has on the way down (a missing field sits under its parent).
    for (let depth = issue.path.length; depth > 0; depth--) {
      const n = isCollection(node) ? node.getIn(issue.path.slice(0, depth), true) : undefined;
      if (n !== undefined) { found = n; break; }
    }
    const { line, col } = at((found as YamlNode | undefined)?.range?.[0] ?? 0);
    return new ManifestError(file, line, col, `${formatPath(issue.path)}: ${issue.message}`);
  });
}

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
