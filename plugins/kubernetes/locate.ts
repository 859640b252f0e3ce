/**
 * From the API server's answer to the manifest line: the server names a field path
 * (`spec.template.spec.containers[0].image`, or `.spec.replicas` from server-side apply's schema
 * check), and the manifest's YAML nodes know their offsets. A path the file does not spell out in
 * full (a field devloop adds, a missing required one) lands on its deepest ancestor that it does.
 * Pure but for reading the manifest again, so it is unit-tested without a cluster.
 */
import { readFileSync } from 'node:fs';
import { isMap, isSeq, parseAllDocuments, type Node } from 'yaml';

/** A step of a field path: a key, an index, or a list element picked by its keys' values (`[name="web"]`, `[containerPort=80,protocol="TCP"]`). */
export type PathStep = string | number | { match: Record<string, string> };

/** `spec.containers[0].image`, `.spec.replicas`, `metadata.labels[app.kubernetes.io/name]`, `containers[name="web"].image`. */
export function parseFieldPath(field: string): PathStep[] {
  const steps: PathStep[] = [];
  const re = /\.?([^.[\]]+)|\[([^\]]*)\]/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(field.trim()))) {
    if (m[1] !== undefined) { steps.push(m[1]); continue; }
    const inner = m[2];
    const pairs = [...inner.matchAll(/([^=,]+)=("(?:[^"\\]|\\.)*"|[^,]*)/g)];
    if (/^\d+$/.test(inner)) steps.push(Number(inner));
    else if (pairs.length) steps.push({ match: Object.fromEntries(pairs.map((p) => [p[1].trim(), p[2].replace(/^"|"$/g, '')])) });
    else steps.push(inner);
  }
  return steps;
}

/** Writes a path back the way Kubernetes messages do. */
export function formatFieldPath(steps: PathStep[]): string {
  return steps.map((s, i) => (typeof s === 'number' ? `[${s}]`
    : typeof s === 'object' ? `[${Object.entries(s.match).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(',')}]`
      : `${i ? '.' : ''}${s}`)).join('');
}

/**
 * The field paths an error message names: the Status causes' `field`s when the answer has them,
 * else the path before the first `: ` of each error in `... is invalid: a.b: Invalid value...,
 * c.d: Required value` or `failed to create typed patch object (...): .spec.x: expected ...`.
 */
export function fieldsFromError(message: string, causes: { field?: string }[] = []): string[] {
  const fromCauses = causes.map((c) => c.field).filter((f): f is string => !!f && f !== '<nil>');
  if (fromCauses.length) return [...new Set(fromCauses)];
  const found: string[] = [];
  const re = /(?:is invalid: \[?|typed patch object \([^)]*\): |, )(\.?[A-Za-z_$][\w$-]*(?:(?:\.[A-Za-z_$][\w$-]*)|\[[^\]]*\])*): /g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(message))) if (!found.includes(m[1])) found.push(m[1]);
  return found;
}

export interface FieldLocation {
  /** 1-based line and column of the deepest node of the path present in the document. */
  line: number;
  column: number;
  /** How much of the path the document holds (all of it when `found === steps.length`). */
  found: number;
}

/** The position of `steps` in the `docIndex`-th YAML document of `text` (counting empty ones). */
export function locateField(text: string, docIndex: number, steps: PathStep[]): FieldLocation | undefined {
  const doc = parseAllDocuments(text)[docIndex];
  if (!doc || !('contents' in doc) || !doc.contents) return undefined;
  let node: Node = doc.contents as Node;
  let at = node.range?.[0] ?? 0;
  let found = 0;
  for (const step of steps) {
    let next: Node | undefined;
    let keyAt: number | undefined;
    if (typeof step === 'string' && isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === step);
      if (pair) { next = pair.value as Node | undefined; keyAt = (pair.key as Node | null)?.range?.[0]; }
    } else if (typeof step === 'number' && isSeq(node)) {
      next = node.items[step] as Node | undefined;
    } else if (typeof step === 'object' && isSeq(node)) {
      // A key the file leaves out may be one the server defaulted (`protocol="TCP"`): only the keys written must match.
      const valueOf = (item: Node, k: string) => {
        const pair = isMap(item) ? item.items.find((p) => (p.key as { value?: unknown } | null)?.value === k) : undefined;
        return pair ? String((pair.value as { value?: unknown } | null)?.value) : undefined;
      };
      const matches = (item: unknown) => isMap(item)
        && Object.entries(step.match).every(([k, v]) => valueOf(item, k) === undefined || valueOf(item, k) === v)
        && Object.keys(step.match).some((k) => valueOf(item, k) !== undefined);
      next = node.items.find(matches) as Node | undefined;
    }
    if (!next && keyAt === undefined) break;
    // A key with no value (`replicas:`) still has a line: the key's.
    at = keyAt ?? next?.range?.[0] ?? at;
    found++;
    if (!next) break;
    node = next;
  }
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  return { line, column: at - before.lastIndexOf('\n'), found };
}

/** The Status an API error carries in its body, when it has one. */
function statusOf(err: unknown): { message?: string; details?: { causes?: { field?: string }[] } } | undefined {
  let body = (err as { body?: unknown } | undefined)?.body;
  if (typeof body === 'string') { try { body = JSON.parse(body); } catch { return undefined; } }
  return body && typeof body === 'object' ? body as never : undefined;
}

/**
 * `k8s/web.yaml:18` for an API error about a field of an object loaded from a file: the line of the
 * first field the error names; else the object's own `source`. The file is read again (the error
 * comes after the load; an edit since then only moves the line).
 */
export function locatedSource(err: unknown, loaded: { source: string; file?: string; doc?: number }, read: (file: string) => string = (f) => readFileSync(f, 'utf8')): { source: string; field?: string; line?: number; column?: number } {
  const status = statusOf(err);
  const message = status?.message ?? (err instanceof Error ? err.message : String(err));
  const fields = fieldsFromError(message, status?.details?.causes ?? []);
  if (!fields.length) return { source: loaded.source };
  const field = formatFieldPath(parseFieldPath(fields[0])).replace(/^\./, '');
  if (!loaded.file || loaded.doc === undefined) return { source: loaded.source, field };
  let at: FieldLocation | undefined;
  try { at = locateField(read(loaded.file), loaded.doc, parseFieldPath(fields[0])); } catch { /* gone since: the object's line */ }
  if (!at) return { source: loaded.source, field };
  return { source: `${loaded.source.replace(/:\d+$/, '')}:${at.line}`, field, line: at.line, column: at.column };
}
