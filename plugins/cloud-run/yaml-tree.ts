/**
 * A Cloud Run YAML file as a tree of values with their line:column, and the Reader that walks it:
 * typed accessors that record a located issue instead of throwing, "did you mean" for unknown
 * keys, and the list of fields read but not simulated. Used by `spec.ts`.
 */
import { isAlias, isMap, isScalar, isSeq, type Document } from 'yaml';
import { codeFrame } from '../../core/devfile/frame.js';
import { closest, describeValue } from '../../core/devfile/issues.js';
import type { ConfigIssue, SourceLocation } from '../../core/errors.js';
import type { SpecNote } from './types.js';

// ---------------------------------------------------------------------------------------------
// The YAML as a tree with positions

export interface Pos { line: number; column: number }

export type Value = MapValue | SeqValue | ScalarValue;
export interface MapValue { kind: 'map'; entries: Entry[]; pos: Pos }
export interface SeqValue { kind: 'seq'; items: Value[]; pos: Pos }
export interface ScalarValue {
  kind: 'scalar';
  value: unknown;
  pos: Pos;
  /** The text as written (`1.10`, not the number 1.1), for messages. */
  source?: string;
}
export interface Entry { key: string; keyPos: Pos; value: Value }

/**
 * How many nodes a file may expand to. Aliases make a small file a huge tree (a "billion laughs"
 * file of 627 bytes expands to billions of nodes); a real service.yaml has a few hundred.
 */
export const MAX_NODES = 100_000;

/** A file whose aliases expand past MAX_NODES; `pos` is the alias being expanded then. */
export class AliasBomb extends Error {
  constructor(readonly pos: Pos) {
    super(`the file expands to more than ${MAX_NODES.toLocaleString('en-US')} values through its aliases (*name); write the values out, or use fewer nested aliases`);
  }
}

export function toValue(node: unknown, fallback: Pos, doc: Document, at: (o?: number) => Pos, text: string, depth: number, budget: { left: number; alias?: Pos } = { left: MAX_NODES }): Value {
  if (depth > 64) return { kind: 'scalar', value: null, pos: fallback };
  if (--budget.left < 0) throw new AliasBomb(budget.alias ?? fallback);
  const pos = (n: { range?: [number, number, number] | null }) => (n.range ? at(n.range[0]) : fallback);
  if (isAlias(node)) {
    // The error names the outermost alias: the one written where the expansion starts.
    const outer = budget.alias === undefined;
    if (outer) budget.alias = pos(node);
    try {
      return toValue(node.resolve(doc), pos(node), doc, at, text, depth + 1, budget);
    } finally {
      if (outer) budget.alias = undefined;
    }
  }
  if (isMap(node)) {
    const entries = node.items.map((pair): Entry => {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const keyPos = isScalar(pair.key) ? pos(pair.key) : fallback;
      return { key, keyPos, value: toValue(pair.value, keyPos, doc, at, text, depth + 1, budget) };
    });
    return { kind: 'map', entries, pos: pos(node) };
  }
  if (isSeq(node)) {
    const p = pos(node);
    return { kind: 'seq', items: node.items.map((item) => toValue(item, p, doc, at, text, depth + 1, budget)), pos: p };
  }
  if (isScalar(node)) {
    const source = node.range ? text.slice(node.range[0], node.range[1]).trim() : undefined;
    return { kind: 'scalar', value: node.value, pos: pos(node), source };
  }
  return { kind: 'scalar', value: null, pos: fallback };
}

export const isNull = (v: Value): boolean => v.kind === 'scalar' && (v.value === null || v.value === undefined);

export function describe(v: Value): string {
  if (v.kind === 'map') return 'a mapping';
  if (v.kind === 'seq') return 'a list';
  return describeValue(v.value);
}

/** `a.b` for plain keys, `a['run.googleapis.com/x']` for keys with dots or slashes. */
export function child(path: string, key: string): string {
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}['${key}']`;
}

/** The path one level up: `a.b[2]` -> `a.b`, `a['x.y']` -> `a`. */
export function parent(path: string): string {
  if (path.endsWith("']")) return path.slice(0, path.lastIndexOf("['"));
  if (path.endsWith(']')) return path.slice(0, path.lastIndexOf('['));
  const dot = path.lastIndexOf('.');
  return dot < 0 ? '' : path.slice(0, dot);
}

// ---------------------------------------------------------------------------------------------
// Collecting problems

export class Reader {
  readonly issues: ConfigIssue[] = [];
  readonly notes: SpecNote[] = [];
  /** Fields already reported: rules involving them are skipped, so one mistake is one message. */
  readonly failed = new Set<string>();
  /** Where each field read sits: its value for a scalar, its key for a mapping or list. */
  readonly positions = new Map<string, Pos>();
  /** Where each mapping key sits, for problems with the key itself (unknown, misplaced). */
  readonly keys = new Map<string, Pos>();

  constructor(readonly file: string | undefined, readonly source: string | undefined) {}

  error(path: string, message: string, pos?: Pos): void {
    this.failed.add(path);
    this.issues.push({ path, message, location: this.location(pos) });
  }

  note(path: string, message: string, pos?: Pos): void {
    this.notes.push({ path, message, ...(pos ? { line: pos.line, column: pos.column } : {}) });
  }

  location(pos: Pos | undefined): SourceLocation | undefined {
    if (!pos || this.file === undefined || this.source === undefined) return undefined;
    return { file: this.file, line: pos.line, column: pos.column, frame: codeFrame(this.source, pos.line, pos.column) };
  }

  /** The position of `path`, or of its nearest ancestor that the file has. */
  find(path: string): Pos | undefined {
    for (let p = path; ; p = parent(p)) {
      const pos = this.positions.get(p);
      if (pos) return pos;
      if (p === '') return undefined;
    }
  }

  /** Gives an issue from `checkSpec` its place in the file. */
  locate(issue: ConfigIssue): ConfigIssue {
    return { ...issue, location: this.location(this.find(issue.path) ?? { line: 1, column: 1 }) };
  }

  sortedIssues(): ConfigIssue[] {
    return stableSort(this.issues, (i) => i.location);
  }

  sortedNotes(): SpecNote[] {
    return stableSort(this.notes, (n) => (n.line === undefined ? undefined : { line: n.line, column: n.column ?? 1 }));
  }
}

/** Source order; items without a position keep their order, after the rest. */
export function stableSort<T>(items: T[], pos: (t: T) => Pos | undefined): T[] {
  return items
    .map((item, i) => ({ item, i, p: pos(item) }))
    .sort((a, b) => {
      if (!a.p || !b.p) return a.p ? -1 : b.p ? 1 : a.i - b.i;
      return a.p.line - b.p.line || a.p.column - b.p.column || a.i - b.i;
    })
    .map((x) => x.item);
}

// ---------------------------------------------------------------------------------------------
// Reading fields by shape

export interface Shape {
  /** Simulated fields: the handler reads the value (never null: a null field counts as absent). */
  read?: Record<string, (v: Value, path: string) => void>;
  /** Printed by gcloud, no effect locally: taken silently. */
  accept?: readonly string[];
  /** Real Cloud Run fields that are not simulated, with why. */
  unsupported?: Record<string, string>;
  /** Fields Cloud Run's schema has but refuses: an error with this message. */
  refused?: Record<string, string>;
}

/** Every ObjectMeta field gcloud may print besides name, namespace, labels, annotations. */
export const OBJECT_META_ACCEPT = [
  'generateName', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp', 'deletionTimestamp',
  'deletionGracePeriodSeconds', 'ownerReferences', 'finalizers', 'clusterName', 'managedFields',
];

export function walk(r: Reader, v: Value, path: string, shape: Shape): void {
  if (!isMapValue(r, v, path)) return;
  const known = [...Object.keys(shape.read ?? {}), ...(shape.accept ?? []), ...Object.keys(shape.unsupported ?? {}), ...Object.keys(shape.refused ?? {})];
  for (const e of v.entries) {
    const p = child(path, e.key);
    r.positions.set(p, e.value.kind === 'scalar' ? e.value.pos : e.keyPos);
    r.keys.set(p, e.keyPos);
    const read = shape.read?.[e.key];
    if (read) {
      if (!isNull(e.value)) read(e.value, p);
    } else if (shape.accept?.includes(e.key)) {
      // printed by gcloud, no local effect
    } else if (shape.unsupported?.[e.key] !== undefined) {
      if (!isNull(e.value)) r.note(p, shape.unsupported[e.key], e.keyPos);
    } else if (shape.refused?.[e.key] !== undefined) {
      r.error(p, shape.refused[e.key], e.keyPos);
    } else {
      const guess = closest(e.key, known);
      r.error(p, guess ? `unknown field (did you mean "${guess}"?)` : `unknown field; known fields here: ${known.join(', ')}`, e.keyPos);
    }
  }
}

export function isMapValue(r: Reader, v: Value, path: string): v is MapValue {
  if (v.kind === 'map') return true;
  r.error(path, `expected a mapping, got ${describe(v)}`, v.pos);
  return false;
}

export function list(r: Reader, v: Value, path: string): Value[] {
  if (v.kind === 'seq') {
    v.items.forEach((item, i) => r.positions.set(`${path}[${i}]`, item.pos));
    return v.items;
  }
  r.error(path, `expected a list, got ${describe(v)}`, v.pos);
  return [];
}

/** A string; a number or boolean where a string belongs says how to quote it. */
export function str(r: Reader, v: Value, path: string): string | undefined {
  if (v.kind === 'scalar' && typeof v.value === 'string') return v.value;
  const hint = v.kind === 'scalar' && (typeof v.value === 'number' || typeof v.value === 'boolean') ? `; quote it: "${v.source ?? String(v.value)}"` : '';
  r.error(path, `expected a string, got ${describe(v)}${hint}`, v.pos);
  return undefined;
}

export function num(r: Reader, v: Value, path: string): number | undefined {
  if (v.kind === 'scalar' && typeof v.value === 'number') return v.value;
  r.error(path, `expected a whole number, got ${describe(v)}`, v.pos);
  return undefined;
}

export function bool(r: Reader, v: Value, path: string): boolean | undefined {
  if (v.kind === 'scalar' && typeof v.value === 'boolean') return v.value;
  r.error(path, `expected true or false, got ${describe(v)}`, v.pos);
  return undefined;
}

export function strList(r: Reader, v: Value, path: string): string[] | undefined {
  const out: string[] = [];
  let ok = true;
  list(r, v, path).forEach((item, i) => {
    const s = str(r, item, `${path}[${i}]`);
    if (s === undefined) ok = false;
    else out.push(s);
  });
  return ok && v.kind === 'seq' ? out : undefined;
}

/** Labels and annotations: string to string, as Kubernetes requires. */
export function strMap(r: Reader, v: Value, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isMapValue(r, v, path)) return out;
  for (const e of v.entries) {
    const p = child(path, e.key);
    r.positions.set(p, e.value.kind === 'scalar' ? e.value.pos : e.keyPos);
    r.keys.set(p, e.keyPos);
    const s = str(r, e.value, p);
    if (s !== undefined) out[e.key] = s;
  }
  return out;
}
